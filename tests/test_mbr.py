"""formats.mbr: build/parse round trip, CHS and entries against sfdisk, robust parsing."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from formats import mbr
from formats.errors import FormatError
from formats.sparse import SparseImage
from tests.disk_helpers import need, run, write

MIB = 1 << 20


def test_round_trip():
    parts = [mbr.MbrPartition(mbr.TYPE_FAT32_LBA, 2048, 129024, bootable=True), mbr.MbrPartition(0x83, 131072, 4096)]
    raw = mbr.build(parts, disk_signature=0xDEADBEEF, bootstrap=b"\xfa\xeb\xfe")
    assert len(raw) == 512 and raw[510:] == b"\x55\xaa" and raw[:3] == b"\xfa\xeb\xfe"
    m = mbr.parse(raw)
    assert m.disk_signature == 0xDEADBEEF and list(m.partitions) == parts and not m.problems
    assert [p.index for p in m.partitions] == [1, 2]
    assert mbr.build(m.partitions, disk_signature=m.disk_signature, bootstrap=m.boot_code[:440]) == raw


def test_446_byte_boot_code_owns_the_signature_field():
    code = bytes(range(256)) + bytes(range(190))
    raw = mbr.build([mbr.MbrPartition(0xDA, 200, 1000)], bootstrap=code)
    assert raw[:446] == code and mbr.parse(raw).boot_code == code
    with pytest.raises(FormatError, match="covers the disk signature"):
        mbr.build([], bootstrap=code, disk_signature=1)
    with pytest.raises(FormatError, match="at most 446"):
        mbr.build([], bootstrap=bytes(447))


def test_chs_geometry():
    assert mbr.chs(0) == (0, 0, 1)
    assert mbr.chs(2048) == (0, 32, 33)
    assert mbr.chs(16065) == (1, 0, 1)
    assert mbr.chs(1024 * 16065) == (1023, 254, 63)
    for lba in (0, 62, 63, 2048, 16064, 16065, 1_000_000, 1023 * 16065 + 16064):
        assert mbr.decode_chs(mbr.encode_chs(*mbr.chs(lba))) == mbr.chs(lba)
    assert mbr.encode_chs(*mbr.chs(40_000_000)) == b"\xfe\xff\xff"


@pytest.mark.parametrize("disk_size,parts", [
    (64 * MIB, [(2048, 129024, 0x0C, True)]),
    (20 << 30, [(2048, 41940992, 0x0C, False)]),  # CHS capped at 1023/254/63
    (256 * MIB, [(2048, 100000, 0x06, True), (102048, 50000, 0x83, False), (200000, 10, 0x01, False)]),
])
def test_partition_records_equal_sfdisk(tmp_path, disk_size, parts):
    """sfdisk writes the same 64-byte table (LBA, size, type, active flag and CHS)."""
    sfdisk = need("sfdisk")
    ref = tmp_path / "ref.img"
    with open(ref, "wb") as f:
        f.truncate(disk_size)
    script = "label: dos\nlabel-id: 0x0a0b0c0d\n" + "".join(
        f"start={s}, size={n}, type={t:x}{', bootable' if b else ''}\n" for s, n, t, b in parts)
    run(sfdisk, "-q", ref, input=script)
    ours = mbr.build([mbr.MbrPartition(t, s, n, b) for s, n, t, b in parts], disk_signature=0x0A0B0C0D)
    with open(ref, "rb") as f:
        assert f.read(512)[440:] == ours[440:]


def test_sfdisk_shows_the_disk_as_built(tmp_path):
    sfdisk = need("sfdisk")
    (a, n1), (b, n2) = mbr.plan(128 * MIB, [32 * MIB, None])
    assert (a, b) == (2048, 2048 + 65536)
    parts = [mbr.MbrPartition(mbr.TYPE_FAT32_LBA, a, n1, bootable=True), mbr.MbrPartition(mbr.TYPE_LINUX, b, n2)]
    disk = mbr.build_disk(128 * MIB, parts, contents=[b"fs1", SparseImage(n2 * 512, [(100, b"fs2")])],
                          disk_signature=0x1234ABCD)
    img = write(disk, tmp_path / "disk.img")
    dump = run(sfdisk, "--dump", img).stdout
    assert "label: dos" in dump and "label-id: 0x1234abcd" in dump
    assert f"{img}1 : start=        2048, size=       65536, type=c, bootable" in dump
    assert f"{img}2 : start=       67584, size=      194560, type=83" in dump
    table = json.loads(run(sfdisk, "--json", img).stdout)["partitiontable"]
    assert table["id"] == "0x1234abcd"
    assert [(p["start"], p["size"], p["type"], p.get("bootable", False)) for p in table["partitions"]] == \
        [(2048, 65536, "c", True), (67584, 194560, "83", False)]
    assert disk.read(2048 * 512, 3) == b"fs1" and disk.read(67584 * 512 + 100, 3) == b"fs2"
    assert mbr.parse(disk).partitions == tuple(parts)


def test_plan_and_disk_errors():
    with pytest.raises(FormatError, match="does not fit"):
        mbr.plan(2 * MIB, [2 * MIB])
    with pytest.raises(FormatError, match="only the last"):
        mbr.plan(64 * MIB, [None, MIB])
    with pytest.raises(FormatError, match="outside"):
        mbr.build_disk(MIB, [mbr.MbrPartition(0x0C, 2048, 10)])
    with pytest.raises(FormatError, match="larger than partition"):
        mbr.build_disk(4 * MIB, [mbr.MbrPartition(0x0C, 2048, 1)], contents=[bytes(513)])
    with pytest.raises(FormatError, match="overlaps"):
        mbr.build([mbr.MbrPartition(0x0C, 2048, 100), mbr.MbrPartition(0x83, 2100, 10)])
    with pytest.raises(FormatError, match="4 partitions"):
        mbr.build([mbr.MbrPartition(0x83, 1 + i, 1) for i in range(5)])


def test_parse_reports_problems():
    raw = bytearray(mbr.build([mbr.MbrPartition(0x0C, 2048, 4096), mbr.MbrPartition(0x83, 4000, 100)][:1]))
    raw[0x1CE:0x1DE] = bytes((0x12, 0, 0, 0, 0x83, 0, 0, 0)) + (4000).to_bytes(4, "little") + (100).to_bytes(4, "little")
    m = mbr.parse(bytes(raw) + bytes(2048 * 512))
    fields = {p.field for p in m.problems}
    assert fields == {"partition 2 BootIndicator", "partition 2", "partition 1"}  # bad flag, overlap, past the end
    with pytest.raises(FormatError, match="55 AA") as e:
        mbr.parse(bytes(512))
    assert e.value.offset == 0x1FE
    with pytest.raises(FormatError, match="512 bytes"):
        mbr.parse(b"\x55\xaa")


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=0, max_size=1100), st.booleans())
def test_parse_never_raises_anything_else(data, sign):
    if sign and len(data) >= 512:
        data = data[:510] + b"\x55\xaa" + data[512:]
    try:
        m = mbr.parse(data)
    except FormatError as exc:
        assert exc.field
        return
    assert len(m.partitions) <= 4
