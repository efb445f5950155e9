"""imgtool.diskinfo: ``imgtool info`` on disks in general (the Raspberry Pi SD card shape,
MBR + FAT32 LBA partition), damaged tables, and tarballs; the partition list is read back
exactly for any layout (hypothesis)."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from formats import fat, gpt, mbr, tar
from formats.sparse import SparseImage
from gce_helpers import imgtool
from imgtool.diskinfo import describe_disk, describe_tarball, render_disk
from imgtool.output import write_atomic, write_sparse_atomic

MIB = 1 << 20


def _sd_card() -> SparseImage:
    """An SD card as the Pi boots it: MBR, one FAT32 (LBA) partition at 1 MiB, firmware files."""
    files = {"bootcode.bin": b"\x01" * 1000, "start.elf": b"\x02" * 3000, "config.txt": b"kernel=kernel.img\n",
             "kernel.img": b"\x03" * 5000}
    (start, count), = mbr.plan(64 * MIB, [None])
    vol = fat.build(files, size=count * 512, fat_type=32, hidden_sectors=start, volume_id=0x1234ABCD)
    return mbr.build_disk(64 * MIB, [mbr.MbrPartition(mbr.TYPE_FAT32_LBA, start, count, bootable=True)],
                          contents=[vol], disk_signature=0xCAFEF00D)


def test_an_mbr_fat_disk_lists_its_partition_and_files(tmp_path):
    path = tmp_path / "sd.img"
    write_sparse_atomic(path, _sd_card())
    d = json.loads(imgtool("info", "--json", path).stdout)
    assert (d["table"], d["disk_signature"], d["problems"], "bios_boot" in d) == ("mbr", 0xCAFEF00D, [], False)
    part, = d["partitions"]
    assert (part["type"], part["first_lba"], part["bootable"]) == ("0x0c", 2048, True)
    names = sorted(f["path"] for f in part["filesystem"]["files"])
    assert names == ["bootcode.bin", "config.txt", "kernel.img", "start.elf"]
    assert part["filesystem"]["volume_id"] == 0x1234ABCD
    text = imgtool("info", path).stdout
    assert "type 0x0c W95 FAT32 (LBA), bootable" in text and "config.txt" in text and "1234-ABCD" in text


def test_a_damaged_gpt_header_is_reported_and_the_backup_used(tmp_path):
    (first, last), = gpt.plan(8 * MIB, [None])
    disk = bytearray(gpt.build(8 * MIB, [gpt.GptPartition("esp", first, last, "x")], seed=1).to_bytes())
    disk[512 + 40] ^= 1  # FirstUsableLBA of the primary header: its CRC no longer matches
    d = describe_disk(bytes(disk), "bad.img")
    assert any("primary GPT header HeaderCRC32" in p for p in d["problems"])
    assert [p["first_lba"] for p in d["partitions"]] == [first] and d["headers"]["primary"] is None
    assert "problem" in render_disk(d) and "1 problem(s)" in render_disk(d)


def test_a_tarball_describes_its_disk_raw(tmp_path):
    members = [tar.TarMember("README", b"hello\n"), tar.TarMember("disk.raw", _sd_card(), mtime=1700000000)]
    path = tmp_path / "x.tar.gz"
    write_atomic(path, tar.build_gz(members))
    d = json.loads(imgtool("info", "--json", path).stdout)
    assert [m["name"] for m in d["members"]] == ["README", "disk.raw"]
    assert d["disk"]["table"] == "mbr" and d["members"][1]["sparse"] is True
    plain = describe_tarball(b"".join(tar.stream(members[:1])), "one.tar")
    assert plain["compression"] == "none" and plain["disk"] is None


def test_a_tar_mtime_past_the_year_9999_is_shown_as_a_number():
    """tar's base-256 mtime holds times no datetime does; info prints the number."""
    members = [tar.TarMember("a.txt", b"hi", mtime=10**14)]
    text = render_disk(describe_tarball(b"".join(tar.stream(members)), "far.tar"))
    assert f"{10**14} s since 1970" in text


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 300), min_size=1, max_size=4), st.booleans(), st.integers(1, 0xFFFFFFFF))
def test_mbr_partitions_read_back_exactly(sizes, with_gpt, signature):
    disk_size = 2048 * 512 * (len(sizes) + 2) + sum(sizes) * 512 + (1 << 20)
    if with_gpt:
        spans = gpt.plan(disk_size, [n * 512 for n in sizes])
        parts = [gpt.GptPartition("linux", a, b, f"p{i}") for i, (a, b) in enumerate(spans, 1)]
        d = describe_disk(gpt.build(disk_size, parts, seed=signature), "d")
        assert [(p["first_lba"], p["last_lba"], p["name"]) for p in d["partitions"]] == \
            [(a, b, f"p{i}") for i, (a, b) in enumerate(spans, 1)]
    else:
        spans = mbr.plan(disk_size, [n * 512 for n in sizes])
        parts = [mbr.MbrPartition(mbr.TYPE_LINUX, a, n) for a, n in spans]
        d = describe_disk(mbr.build_disk(disk_size, parts, disk_signature=signature), "d")
        assert d["disk_signature"] == signature
        assert [(p["first_lba"], p["sectors"]) for p in d["partitions"]] == spans
    assert d["problems"] == []
