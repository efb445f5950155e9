"""formats.fat: fsck.vfat and mtools accept what the writer makes; the reader reads it back."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from formats import fat, gpt, mbr
from formats.errors import FormatError
from formats.sparse import SparseImage
from tests.disk_helpers import FILE_SETS, need, pseudo, run, write

MIB = 1 << 20
T0 = 1700000000  # 2023-11-14 22:13:20 UTC
MTOOLS_ENV = dict(os.environ, LC_ALL="C.UTF-8", MTOOLS_SKIP_CHECK="0")

#: (file set, volume size or None for the smallest, forced type or None, expected FAT type)
VOLUMES = [
    ("names", None, None, 12),
    ("rpi", None, None, 12),
    ("esp", 4 * MIB, None, 12),
    ("rpi", 16 * MIB, None, 16),
    ("rpi", 64 * MIB, None, 16),
    ("names", 300 * MIB, 16, 16),
    ("esp", 4 * MIB, 16, 16),
    ("rpi", 64 * MIB, 32, 32),
    ("names", 33 * MIB, 32, 32),
    ("esp", 600 * MIB, None, 32),
    ("rpi", 1024 * MIB, None, 32),
]


@pytest.fixture(scope="session")
def volumes(tmp_path_factory):
    """Each VOLUMES entry built once and written as a sparse file."""
    d = tmp_path_factory.mktemp("fat")
    out = {}
    for i, (files, size, ft, _) in enumerate(VOLUMES):
        img = fat.build(FILE_SETS[files], size=size, fat_type=ft, label=files.upper(), volume_id=0x1234ABCD + i,
                        timestamp=T0)
        out[i] = (img, write(img, d / f"vol{i}.img"))
    return out


@pytest.mark.parametrize("i", range(len(VOLUMES)), ids=[f"{f}-{s}-{t}" for f, s, t, _ in VOLUMES])
def test_fsck_is_clean(volumes, i):
    fsck = need("fsck.vfat")
    img, path = volumes[i]
    r = run(fsck, "-n", "-v", path)
    assert f"{VOLUMES[i][3]} bit entries" in r.stdout or (VOLUMES[i][3] == 32 and "32 bit" in r.stdout), r.stdout
    lines = [ln for ln in r.stdout.splitlines() if ln.strip()]
    # -v prints the geometry up to "sectors total", then "Checking ..." lines, then the summary
    # line; any finding would be another line, and stderr would carry warnings
    after = lines[[i for i, ln in enumerate(lines) if ln.endswith("sectors total")][0] + 1:]
    assert all(ln.startswith("Checking ") for ln in after[:-1]) and after[-1].startswith(f"{path}: "), r.stdout
    assert not r.stderr.strip(), r.stderr
    v = fat.parse(img)
    assert v.fat_bits == VOLUMES[i][3] and not v.problems


@pytest.mark.parametrize("i", range(len(VOLUMES)), ids=[f"{f}-{s}-{t}" for f, s, t, _ in VOLUMES])
def test_mtools_list_and_extract_exactly_the_files(volumes, tmp_path, i):
    mdir, mcopy = need("mdir"), need("mcopy")
    img, path = volumes[i]
    files = FILE_SETS[VOLUMES[i][0]]
    check_with_mtools(mdir, mcopy, f"{path}", files, tmp_path)
    # our reader agrees
    v = fat.parse(img)
    assert {e.path for e in v.walk() if not e.is_dir} == set(files)
    for name, data in files.items():
        assert v.read(name) == data


def check_with_mtools(mdir: str, mcopy: str, image_spec: str, files: dict, tmp_path: Path) -> None:
    listing = run(mdir, "-i", image_spec, "-/", "-b", "::", env=MTOOLS_ENV).stdout.splitlines()
    dirs = {"::/" + "/".join(p.split("/")[:k]) + "/" for p in files for k in range(1, p.count("/") + 1)}
    assert sorted(listing) == sorted(["::/" + p for p in files] + list(dirs))
    out = tmp_path / "out"
    out.mkdir()
    run(mcopy, "-s", "-n", "-i", image_spec, "::/", f"{out}/", env=MTOOLS_ENV)
    got = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert got.keys() == files.keys()
    assert all(got[k] == files[k] for k in files)


def test_names_as_given_and_short_names(volumes):
    mdir = need("mdir")
    _, path = volumes[0]
    text = run(mdir, "-i", path, "::", env=MTOOLS_ENV).stdout
    assert "Volume in drive : is NAMES" in text and "Serial Number is 1234-ABCD" in text
    rows = {ln.split()[0] + " " + ln.split()[1]: ln for ln in text.splitlines() if ln[:1].strip() and "  " in ln}
    assert rows["LONGFI~1 TXT"].endswith("Long File Name.TXT")
    assert rows["README MD"].endswith("ReadMe.md")
    assert "UPPER    txt" in text  # 8.3 upper base, lower extension: NT case bit, no long name
    assert rows["A~1 C"].endswith("a.b.c")  # basis name: up to the first period (fatgen103)
    assert "ABCDEF~1 TXT" in text and "ABCDEF~2 TXT" in text
    assert "2023-11-14  22:13" in text
    rpi = run(mdir, "-i", volumes[1][1], "::", env=MTOOLS_ENV).stdout
    for shown in ("bootcode bin", "start    elf", "fixup    dat", "config   txt", "kernel   img"):
        assert shown in rpi
    assert "~" not in rpi
    esp = run(mdir, "-i", volumes[2][1], "::/EFI/BOOT", env=MTOOLS_ENV).stdout
    assert "BOOTX64  EFI" in esp and "shimx64  efi" in esp


def test_reader_entries():
    img = fat.build({"EFI/BOOT/BOOTX64.EFI": b"x" * 3000, "config.txt": b"c"}, label="esp", volume_id=0xCAFE,
                    timestamp=T0 + 1)
    v = fat.parse(img)
    assert v.label == "ESP" and v.volume_id == 0xCAFE
    e = v.find("efi/boot/bootx64.efi")
    assert e.path == "EFI/BOOT/BOOTX64.EFI" and e.size == 3000 and e.short_name == "BOOTX64.EFI"
    assert e.mtime == T0 and e.ctime == T0 + 1  # 2-second write time; creation keeps the odd second
    assert [x.path for x in v.walk()] == ["config.txt", "EFI", "EFI/BOOT", "EFI/BOOT/BOOTX64.EFI"]
    assert v.find("CONFIG.TXT").path == "config.txt"
    with pytest.raises(FormatError, match="no file"):
        v.read("nope")
    with pytest.raises(FormatError, match="is a folder"):
        v.read("EFI")


def test_times_before_1980_and_after_2107():
    assert fat.fat_time(0) == fat.fat_time(315532799) == ((0 << 9) | (1 << 5) | 1, 0, 0)
    assert fat.fat_time(315532800 + 3) == (33, 1, 100)
    v = fat.parse(fat.build({"a": b"1"}, timestamp=0))
    assert v.find("a").mtime == 315532800
    with pytest.raises(FormatError, match="2107"):
        fat.fat_time(4354819200)
    assert fat.fat_time(4354819199) == ((127 << 9) | (12 << 5) | 31, (23 << 11) | (59 << 5) | 29, 100)
    with pytest.raises(FormatError, match="2107"):  # far past what a datetime holds: no OverflowError
        fat.fat_time(10**15)
    assert fat.fat_time(-10**15) == fat.fat_time(0)


@pytest.mark.parametrize("fat_type", [12, 16, 32])
def test_the_label_entry_counts_in_the_root(fat_type, tmp_path):
    """A root filled to a cluster (FAT32) or to its fixed entries by files alone still
    holds every file when the volume-ID entry comes first: 16 entries per 512-byte
    cluster, so 16 short names plus the label need a second root cluster."""
    files = {f"F{i:02d}.TXT": b"" for i in range(15)} | {"DATA.BIN": pseudo(3000, 5)}
    img = fat.build(files, fat_type=fat_type, label="BOOT", timestamp=T0)
    v = fat.parse(img)
    assert {e.path for e in v.walk()} == set(files) and not v.problems
    assert v.read("DATA.BIN") == files["DATA.BIN"]
    path = write(img, tmp_path / "v.img")
    r = run(need("fsck.vfat"), "-n", path)
    assert f"{len(files) + 1} files," in r.stdout, r.stdout  # fsck counts the label entry too
    check_with_mtools(need("mdir"), need("mcopy"), str(path), files, tmp_path)


def test_lfn_checksum_and_type_rule():
    # fatgen103 ChkSum over "FOO     BAR"
    s = 0
    for b in b"FOO     BAR":
        s = ((s >> 1) | ((s & 1) << 7)) + b & 0xFF
    assert fat.lfn_checksum(b"FOO     BAR") == s
    assert [fat.fat_type_for_clusters(n) for n in (1, 4084, 4085, 65524, 65525)] == [12, 12, 16, 16, 32]
    for size in (MIB, 4 * MIB, 5 * MIB, 32 * MIB, 512 * MIB, 513 * MIB, 8 << 30):
        g = fat.layout(size)
        assert fat.fat_type_for_clusters(g.cluster_count) == g.fat_bits
        assert g.first_data_sector % g.sectors_per_cluster == 0
    assert fat.layout(64 * MIB).sectors_per_cluster == 4  # DskTableFAT16: up to 128 MB, 2 KiB clusters
    assert fat.layout(64 * MIB, fat_type=32).sectors_per_cluster == 1  # DskTableFAT32: up to 260 MB
    assert fat.layout(1 << 30).sectors_per_cluster == 8  # up to 8 GB, 4 KiB clusters


def test_errors():
    with pytest.raises(FormatError, match="cannot be FAT32"):
        fat.layout(16 * MIB, fat_type=32)
    with pytest.raises(FormatError, match="cannot be FAT12"):
        fat.layout(512 * MIB, fat_type=12)
    with pytest.raises(FormatError, match="need .* bytes"):
        fat.build({"big": bytes(2 * MIB)}, size=MIB)
    with pytest.raises(FormatError, match="case-insensitive"):
        fat.build({"A.TXT": b"", "a.txt": b""})
    with pytest.raises(FormatError, match="a file or a folder"):
        fat.build({"EFI": b"", "EFI/BOOT/X": b""})
    with pytest.raises(FormatError, match="character"):
        fat.build({"a:b": b""})
    with pytest.raises(FormatError, match="ends in a dot"):
        fat.build({"a.": b""})
    with pytest.raises(FormatError, match="label"):
        fat.build({}, label="toolonglabel")


def test_sparse_file_content_stays_sparse():
    kernel = SparseImage(40 * MIB, [(0, b"\x00\x10\x9f\xe5"), (MIB, pseudo(1000, "k"))])
    img = fat.build({"kernel.img": kernel}, size=64 * MIB, fat_type=32, timestamp=T0)
    assert img.data_size < 2 * MIB
    assert SparseImage.from_bytes(fat.parse(img).read("kernel.img")) == kernel


def test_deterministic_and_only_times_and_ids_differ():
    files = {**FILE_SETS["rpi"], **FILE_SETS["esp"]}
    a = fat.build(files, size=64 * MIB, fat_type=32, volume_id=1, timestamp=T0)
    b = fat.build(dict(reversed(list(files.items()))), size=64 * MIB, fat_type=32, volume_id=1, timestamp=T0)
    assert a == b and a.extents == b.extents
    c = fat.build(files, size=64 * MIB, fat_type=32, volume_id=2, timestamp=T0 + 86400 * 400 + 3)
    v = fat.parse(a)
    dir_areas = [(v.cluster_offset(cl), v.cluster_size) for e in v.walk() if e.is_dir
                 for cl in v.chain(e.first_cluster)] + [(v.cluster_offset(cl), v.cluster_size)
                                                          for cl in v.chain(v.boot_sector.BPB_RootClus)]
    time_fields = {13, 14, 15, 16, 17, 18, 19, 22, 23, 24, 25}
    id_fields = set(range(67, 71)) | set(range(6 * 512 + 67, 6 * 512 + 71))
    diffs = []
    for (o, d), (o2, d2) in zip(a.extents, c.extents):
        assert o == o2 and len(d) == len(d2)
        diffs += [o + k for k in range(len(d)) if d[k] != d2[k]]
    assert diffs
    for off in diffs:
        in_dir = any(s <= off < s + n for s, n in dir_areas)
        assert (in_dir and off % 32 in time_fields) or off in id_fields, off


@pytest.mark.parametrize("table", ["mbr", "gpt"])
def test_volume_inside_a_partition(tmp_path, table):
    """The builders' composition: plan the partition, build the FAT at its size, place it."""
    mdir, mcopy = need("mdir"), need("mcopy")
    files = FILE_SETS["rpi"] if table == "mbr" else FILE_SETS["esp"]
    size = 64 * MIB
    if table == "mbr":
        (start, count), = mbr.plan(size, [None])
        vol = fat.build(files, size=count * 512, fat_type=32, hidden_sectors=start, timestamp=T0, volume_id=5)
        disk = mbr.build_disk(size, [mbr.MbrPartition(mbr.fat_partition_type(32), start, count, True)],
                              contents=[vol], disk_signature=0xA1B2C3D4)
    else:
        (start, last), = gpt.plan(size, [None])
        count = last - start + 1
        vol = fat.build(files, size=count * 512, fat_type=32, hidden_sectors=start, timestamp=T0, volume_id=5)
        disk = gpt.build(size, [gpt.GptPartition("esp", start, last, "EFI system partition")], seed=T0,
                         contents=[vol])
    path = write(disk, tmp_path / "disk.img")
    check_with_mtools(mdir, mcopy, f"{path}@@{start * 512}", files, tmp_path)
    v = fat.parse(disk.read(start * 512, count * 512))
    assert v.boot_sector.BPB_HiddSec == start
    if table == "gpt":
        assert "No problems found" in run(need("sgdisk"), "-v", path).stdout


SMALL = fat.build({"a.txt": b"alpha" * 100, "Dir/Long Name.bin": pseudo(3000, "x"), "Dir/sub/z": b"z"},
                  size=256 * 1024, label="T", timestamp=T0).to_bytes()
SMALL32 = fat.build({"a.txt": b"alpha", "Dir/b": b"b"}, size=33 * MIB, fat_type=32, timestamp=T0)
SMALL32_HEAD = SMALL32.read(0, 0x80000)


def read_all(data) -> None:
    v = fat.parse(data)
    for e in v.walk():
        if not e.is_dir:
            v.read(e.path)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_parser_on_mutated_volumes_raises_only_format_errors(data):
    raw = bytearray(data.draw(st.sampled_from([SMALL, SMALL32_HEAD])))
    for _ in range(data.draw(st.integers(1, 10))):
        region = data.draw(st.sampled_from([0, 11, 36, 512, 0x4000, 0x4400, 0x8000, len(raw) - 64]))
        off = min(len(raw) - 1, region + data.draw(st.integers(0, 300)))
        raw[off] = data.draw(st.integers(0, 255))
    try:
        read_all(bytes(raw) if len(raw) == len(SMALL) else SparseImage(SMALL32.size, [(0, bytes(raw))]))
    except FormatError as exc:
        assert exc.field
    except RecursionError:  # pragma: no cover - would be a bug
        raise


@settings(max_examples=80, deadline=None)
@given(st.binary(min_size=0, max_size=2048), st.booleans())
def test_parser_on_random_bytes_raises_only_format_errors(data, sign):
    if sign and len(data) >= 512:
        data = b"\xeb\x3c\x90" + data[3:510] + b"\x55\xaa" + data[512:]
    try:
        read_all(data)
    except FormatError as exc:
        assert exc.field


def sd_card(epoch: int) -> tuple[SparseImage, fat.FatVolume, int]:
    """An SD card as the Raspberry Pi builder composes it, IDs derived from the epoch."""
    (start, count), = mbr.plan(64 * MIB, [None])
    vol = fat.build(FILE_SETS["rpi"], size=count * 512, fat_type=32, hidden_sectors=start, timestamp=epoch,
                    volume_id=epoch & 0xFFFFFFFF, label="BOOT")
    disk = mbr.build_disk(64 * MIB, [mbr.MbrPartition(mbr.TYPE_FAT32_LBA, start, count, True)], contents=[vol],
                          disk_signature=(epoch * 2654435761) & 0xFFFFFFFF)
    return disk, fat.parse(vol), start * 512


def test_sd_card_epochs_differ_only_in_times_and_ids():
    a, v, base = sd_card(T0)
    assert sd_card(T0)[0].extents == a.extents
    b, _, _ = sd_card(T0 + 3 * 86400 + 7)
    dirs = [(base + v.cluster_offset(c), v.cluster_size) for c in v.chain(v.boot_sector.BPB_RootClus)]
    allowed_ids = set(range(440, 444)) | {base + s * 512 + k for s in (0, 6) for k in range(67, 71)}
    diffs = [o + k for (o, d), (_, d2) in zip(a.extents, b.extents) for k in range(len(d)) if d[k] != d2[k]]
    assert {o for o in diffs if o in allowed_ids} and {o for o in diffs if o not in allowed_ids}
    for off in diffs:
        assert off in allowed_ids or (any(s <= off < s + n for s, n in dirs) and (off - base) % 32 in
                                      {13, 14, 15, 16, 17, 18, 19, 22, 23, 24, 25}), off


def test_folders_empty_and_case_merged(tmp_path):
    img = fat.build({"EFI/BOOT/a": b"1", "efi/boot/b": b"2", "empty/": None}, timestamp=T0)
    assert [e.path for e in fat.parse(img).walk()] == ["EFI", "EFI/BOOT", "EFI/BOOT/a", "EFI/BOOT/b", "empty"]
    path = write(img, tmp_path / "v.img")
    assert run(need("fsck.vfat"), "-n", path).returncode == 0
    assert "::/empty/" in run(need("mdir"), "-i", path, "-/", "-b", "::", env=MTOOLS_ENV).stdout.split()
