"""formats.gpt: byte-identical to sgdisk, sgdisk -v clean, deterministic GUIDs, checks."""

from __future__ import annotations

import mmap
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from formats import gpt, mbr
from formats.errors import FormatError
from formats.sparse import SparseImage
from tests.disk_helpers import need, run, write

MIB, GIB = 1 << 20, 1 << 30
DISK_GUID = uuid.UUID("11111111-2222-3333-4444-555555555555")
PART_GUID = uuid.UUID("66666666-7777-8888-9999-aaaaaaaaaaaa")


def test_guid_from_seed_is_rfc9562_v8_sha256():
    # RFC 9562 Appendix B.2: UUIDv8 name-based with SHA-256, namespace DNS, "www.example.com".
    g = gpt.guid_from_seed(b"www.example.com", namespace=uuid.NAMESPACE_DNS)
    assert g == uuid.UUID("5c146b14-3c52-8afd-938a-375d0df1fbf6")
    assert g.version == 8 and g.variant == uuid.RFC_4122
    assert gpt.guid_from_seed(1700000000, "disk") == gpt.guid_from_seed("1700000000", "disk")
    assert gpt.guid_from_seed(1, "disk") != gpt.guid_from_seed(2, "disk") != gpt.guid_from_seed(1, "partition", 1)


@pytest.mark.parametrize("disk_size", [64 * MIB, GIB, 3 << 40])
def test_byte_identical_to_sgdisk(tmp_path, disk_size):
    """sgdisk -n 1:0:0 -t 1:EF00 with the same GUIDs writes the same disk, protective MBR
    included (a 3 TiB disk: SizeInLBA 0xFFFFFFFF, EndingCHS FF FF FF)."""
    sgdisk = need("sgdisk")
    ref = tmp_path / "ref.img"
    with open(ref, "wb") as f:
        f.truncate(disk_size)
    run(sgdisk, "-n", "1:0:0", "-t", "1:EF00", "-c", "1:EFI system partition", "-U", str(DISK_GUID),
        "-u", f"1:{PART_GUID}", ref)
    (first, last), = gpt.plan(disk_size, [None])
    disk = gpt.build(disk_size, [gpt.GptPartition("esp", first, last, "EFI system partition", guid=PART_GUID)],
                     seed=0, disk_guid=DISK_GUID)
    with open(ref, "rb") as f:
        for offset, length in [(0, 34 * 512), (disk_size - 33 * 512, 33 * 512)]:
            f.seek(offset)
            assert f.read(length) == disk.read(offset, length), hex(offset)
    n = disk_size // 512
    assert [o for o, _ in disk.data_ranges()] == [0, (n - 33) * 512, (n - 1) * 512]
    parsed = gpt.parse(disk)
    assert not parsed.problems and parsed.partitions[0].guid == PART_GUID and parsed.disk_guid == DISK_GUID


def esp_disk(size: int, seed="1700000000", sizes=(8 * MIB, 16 * MIB, None), **kw) -> SparseImage:
    spans = gpt.plan(size, list(sizes))
    parts = [gpt.GptPartition(t, a, b, n) for (a, b), (t, n) in
             zip(spans, [("esp", "EFI system partition"), ("basic-data", "data"), ("linux", "root \u00e9")])]
    return gpt.build(size, parts, seed=seed, contents=[b"ESP!", None, SparseImage(4096, [(10, b"root")])], **kw)


@pytest.mark.parametrize("disk_size", [40 * MIB, GIB, 2 * GIB])
def test_sgdisk_finds_no_problem(tmp_path, disk_size):
    sgdisk = need("sgdisk")
    img = write(esp_disk(disk_size), tmp_path / "disk.img")
    out = run(sgdisk, "-v", img).stdout
    assert "No problems found" in out, out
    listing = run(sgdisk, "-p", img).stdout
    assert "EF00  EFI system partition" in listing and "0700  data" in listing and "8300  root" in listing
    info = run(sgdisk, "-i", "1", img).stdout
    assert str(gpt.guid_from_seed("1700000000", "partition", 1)).upper() in info
    # the backup header sits in the disk's last sector; the file has holes
    with open(img, "rb") as f:
        f.seek(disk_size - 512)
        assert f.read(8) == b"EFI PART"
        g = gpt.parse(mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ))
    assert not g.problems and g.backup.my_lba == disk_size // 512 - 1
    assert img.stat().st_blocks * 512 < 4 * MIB


def test_round_trip_and_determinism():
    a, b = esp_disk(GIB), esp_disk(GIB)
    assert a == b and a.extents == b.extents
    g = gpt.parse(a)
    assert not g.problems and g.disk_sectors == GIB // 512
    assert [p.type for p in g.partitions] == [gpt.TYPE_EFI_SYSTEM, gpt.TYPE_BASIC_DATA, gpt.TYPE_LINUX_FILESYSTEM]
    assert [p.name for p in g.partitions] == ["EFI system partition", "data", "root \u00e9"]
    assert g.primary.first_usable_lba == 34 and g.primary.last_usable_lba == GIB // 512 - 34
    assert g.backup.my_lba == GIB // 512 - 1 and g.backup.partition_entry_lba == GIB // 512 - 33
    assert a.read(g.partitions[0].first_lba * 512, 4) == b"ESP!"
    rebuilt = gpt.build(GIB, g.partitions, seed="other", disk_guid=g.disk_guid,
                        contents=[b"ESP!", None, SparseImage(4096, [(10, b"root")])])
    assert rebuilt == a
    other = esp_disk(GIB, seed="1700000001")
    diff = [o for o in range(0, 34 * 512) if a.read(o, 1) != other.read(o, 1)]
    # only GUIDs and the CRCs over them change: header 16..20 (CRC), 56..72 (DiskGUID), 88..92 (array CRC),
    # and each entry's UniquePartitionGUID (bytes 16..32)
    allowed = set(range(512 + 16, 512 + 20)) | set(range(512 + 56, 512 + 72)) | set(range(512 + 88, 512 + 92))
    for i in range(3):
        allowed |= set(range(1024 + 128 * i + 16, 1024 + 128 * i + 32))
    assert diff and set(diff) <= allowed


def test_4k_sectors():
    spans = gpt.plan(64 * MIB, [None], sector_size=4096)
    disk = gpt.build(64 * MIB, [gpt.GptPartition("esp", *spans[0])], seed=1, sector_size=4096)
    g = gpt.parse(disk, sector_size=4096)
    assert not g.problems and g.primary.first_usable_lba == 6 and spans[0][0] == 256


def corrupt(disk: SparseImage, offset: int, data: bytes) -> bytes:
    raw = bytearray(disk.to_bytes())
    raw[offset:offset + len(data)] = data
    return bytes(raw)


def test_problems_are_precise():
    disk = esp_disk(40 * MIB)
    n = 40 * MIB // 512
    cases = {
        "primary GPT header HeaderCRC32": (512 + 16, b"\0\0\0\0"),
        "primary GPT header PartitionEntryArrayCRC32": (1024 + 130, b"X"),
        "backup GPT header HeaderCRC32": ((n - 1) * 512 + 60, b"\xff"),
        "backup GPT header PartitionEntryArrayCRC32": ((n - 33) * 512 + 5, b"\x01"),
        "primary GPT header Signature": (512, b"EFI TRAP"),
        "protective MBR": (0x1C2, b"\x0c"),
    }
    for fld, (offset, data) in cases.items():
        g = gpt.parse(corrupt(disk, offset, data))
        assert [p.field for p in g.problems] == [fld], (fld, g.problems)
        assert g.problems[0].offset is not None
        assert [p.name for p in g.partitions] == ["EFI system partition", "data", "root \u00e9"]
    # a disk grown after the GPT was written: the backup is no longer at the end
    grown = disk.to_bytes() + bytes(MIB)
    g = gpt.parse(grown)
    assert [p.field for p in g.problems] == ["primary GPT header AlternateLBA"]
    assert "not at the end" in str(g.problems[0])
    with pytest.raises(FormatError, match="backup GPT header Signature"):
        gpt.parse(bytes(40 * MIB))


def test_build_errors():
    with pytest.raises(FormatError, match="outside the usable"):
        gpt.build(40 * MIB, [gpt.GptPartition("esp", 33, 100)], seed=1)
    with pytest.raises(FormatError, match="overlaps"):
        gpt.build(40 * MIB, [gpt.GptPartition("esp", 2048, 4096), gpt.GptPartition("linux", 4096, 5000)], seed=1)
    with pytest.raises(FormatError, match="36 UTF-16"):
        gpt.build(40 * MIB, [gpt.GptPartition("esp", 2048, 4096, "n" * 37)], seed=1)
    with pytest.raises(FormatError, match="unknown partition type"):
        gpt.GptPartition("fat", 2048, 4096)
    with pytest.raises(FormatError, match="does not fit"):
        gpt.plan(2 * MIB, [MIB, MIB])
    assert gpt.partition_type("EF00") == gpt.partition_type("c12a7328-f81f-11d2-ba4b-00a0c93ec93b")


SMALL = esp_disk(4 * MIB, sizes=(MIB, 512, None)).to_bytes()


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_parse_of_mutated_disks_raises_only_format_errors(data):
    raw = bytearray(SMALL)
    for _ in range(data.draw(st.integers(1, 8))):
        where = data.draw(st.sampled_from([0x1BE, 512, 1024, len(raw) - 512, len(raw) - 33 * 512]))
        off = where + data.draw(st.integers(0, 200))
        raw[off:off + 8] = data.draw(st.binary(min_size=8, max_size=8))
    if data.draw(st.booleans()):  # make the mutated header's CRC right again, to reach deeper checks
        hdr = bytes(raw[512:512 + 92])
        from formats import crc
        raw[512 + 16:512 + 20] = crc.get("CRC-32/ISO-HDLC").compute(hdr[:16] + bytes(4) + hdr[20:]).to_bytes(4, "little")
    try:
        g = gpt.parse(bytes(raw))
    except FormatError as exc:
        assert exc.field
        return
    assert all(isinstance(p, FormatError) and p.field for p in g.problems)


@settings(max_examples=60, deadline=None)
@given(st.binary(min_size=0, max_size=4096))
def test_parse_of_random_bytes_raises_only_format_errors(data):
    try:
        gpt.parse(data)
    except FormatError as exc:
        assert exc.field


def test_32_bit_ids_from_seed():
    from formats import fat
    assert mbr.signature_from_seed(T_SEED) == mbr.signature_from_seed(str(T_SEED)) != 0
    assert fat.volume_id_from_seed(T_SEED) != mbr.signature_from_seed(T_SEED)
    assert fat.volume_id_from_seed(T_SEED) != fat.volume_id_from_seed(T_SEED + 1)


T_SEED = 1700000000
