"""``imgtool rpi sdcard``: the card image checked with the reference tools (fsck.vfat -n on
the partition, mtools mdir/mcopy through ``-i sd.img@@offset``, sfdisk --dump), its
determinism (two builds identical; another SOURCE_DATE_EPOCH changes only directory
timestamps), ``imgtool info sd.img``, and the input checks through the CLI."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest

from formats import fat, mbr
from conftest import build_go
from hab_helpers import need
from rpi_helpers import GOPI, fake_firmware, listing, pi_elf

EPOCH, OTHER_EPOCH = 1_700_000_000, 1_800_000_000
EXPECTED = {"bootcode.bin", "start.elf", "fixup.dat", "config.txt", "kernel7.img"}
#: Bytes of a FAT short directory entry holding times (fatgen103 §6: DIR_CrtTimeTenth,
#: DIR_CrtTime, DIR_CrtDate, DIR_LstAccDate, DIR_WrtTime, DIR_WrtDate).
TIME_BYTES = set(range(13, 20)) | set(range(22, 26))


def _card(run_imgtool, folder, epoch, *extra, name="sd.img"):
    out = folder / name
    env = {"SOURCE_DATE_EPOCH": str(epoch)} if epoch is not None else {}
    run_imgtool("rpi", "sdcard", pi_elf("pi2"), "--firmware", folder / "fw", "-o", out, *extra, env=env, check=True)
    return out


@pytest.fixture(scope="module")
def cards(tmp_path_factory, run_imgtool):
    d = tmp_path_factory.mktemp("sdcard")
    firmware = fake_firmware(d / "fw")
    run_imgtool("rpi", "kernel", pi_elf("pi2"), "-o", d / "kernel7.img", "--config", d / "config.txt", check=True)
    return {"dir": d, "firmware": firmware, "a": _card(run_imgtool, d, EPOCH, name="a.img"),
            "b": _card(run_imgtool, d, EPOCH, name="b.img"),
            "c": _card(run_imgtool, d, OTHER_EPOCH, name="c.img")}


def _partition(img) -> mbr.MbrPartition:
    (p,) = mbr.parse(img.read_bytes()).partitions
    return p


def test_sfdisk_dump_shows_the_partition(cards):
    dump = subprocess.run([need("sfdisk"), "--dump", str(cards["a"])], capture_output=True, text=True, check=True).stdout
    sig = mbr.parse(cards["a"].read_bytes()).disk_signature
    assert "label: dos" in dump and f"label-id: 0x{sig:08x}" in dump
    assert f"{cards['a']}1 : start=        2048, size=      129024, type=c, bootable" in dump


def test_fsck_vfat_passes_on_the_partition(cards, tmp_path):
    p = _partition(cards["a"])
    part = tmp_path / "part.img"
    part.write_bytes(cards["a"].read_bytes()[p.lba_start * 512:p.lba_end * 512])
    r = subprocess.run([need("fsck.vfat"), "-n", "-v", str(part)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "32 bit entries" in r.stdout and "2048 hidden sectors" in r.stdout
    assert ": 6 files," in r.stdout  # fsck.fat counts the five files and the volume label entry


def test_mtools_list_and_extract_exactly_the_files(cards, tmp_path):
    img = f"{cards['a']}@@{_partition(cards['a']).lba_start * 512}"
    names = subprocess.run([need("mdir"), "-i", img, "-/", "-b", "::"], capture_output=True, text=True, check=True).stdout
    assert {n.removeprefix("::/") for n in names.split()} == EXPECTED
    out = tmp_path / "x"
    out.mkdir()
    subprocess.run([need("mcopy"), "-i", img, "-s", "::/*", str(out)], check=True, capture_output=True)
    expected = {**cards["firmware"], "config.txt": (cards["dir"] / "config.txt").read_bytes(),
                "kernel7.img": (cards["dir"] / "kernel7.img").read_bytes()}
    assert {f.name: f.read_bytes() for f in out.iterdir()} == expected


def test_two_builds_identical_another_epoch_only_timestamps(cards):
    a, b, c = (cards[k].read_bytes() for k in "abc")
    assert a == b
    assert len(a) == len(c) and a != c
    start = _partition(cards["a"]).lba_start * 512
    diff = _diff_offsets(a, c)
    assert diff and all((o - start) % 32 in TIME_BYTES for o in diff)
    slots = {(o - start) // 32 for o in diff}
    assert all(a[start + 32 * s:start + 32 * s + 11] == c[start + 32 * s:start + 32 * s + 11] for s in slots)
    assert len(slots) == len(EXPECTED) + 1  # the five files and the volume label entry
    va, vc = (fat.parse(memoryview(x)[start:]) for x in (a, c))
    assert va.volume_id == vc.volume_id and mbr.parse(a).disk_signature == mbr.parse(c).disk_signature
    assert {e.mtime for e in va.walk()} == {EPOCH} and {e.mtime for e in vc.walk()} == {OTHER_EPOCH}


def _diff_offsets(a: bytes, b: bytes, block: int = 4096) -> list[int]:
    out = []
    for base in range(0, len(a), block):
        if a[base:base + block] != b[base:base + block]:
            out += [base + i for i in range(block) if a[base + i] != b[base + i]]
    return out


def test_without_epoch_the_times_are_1980(cards, run_imgtool, tmp_path):
    (tmp_path / "fw").symlink_to(cards["dir"] / "fw")
    out = _card(run_imgtool, tmp_path, None)
    vol = fat.parse(memoryview(out.read_bytes())[_partition(out).lba_start * 512:])
    assert {e.mtime for e in vol.walk()} == {315532800}  # 1980-01-01 00:00:00 UTC, FAT's first date


def test_without_epoch_the_elfs_vcs_time_dates_the_card(cards, run_imgtool, tmp_path):
    """A program built in a git checkout carries ``vcs.time`` (the commit's time), which
    dates the card when SOURCE_DATE_EPOCH is unset (FAT keeps even seconds)."""
    src = tmp_path / "src"
    shutil.copytree(GOPI, src, symlinks=True)
    when = 1_750_000_001
    git = {**os.environ, "GIT_AUTHOR_DATE": f"@{when} +0000", "GIT_COMMITTER_DATE": f"@{when} +0000",
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com"}
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "gopi"]):
        subprocess.run([need("git"), *args], cwd=src, env=git, check=True)
    elf = build_go(src, "gopi-pi2-vcs", {"GOARCH": "arm", "GOARM": "7"}, "-T 0x110000 -R 0x1000",
                   ("-buildvcs=true", "-tags", "pi2"))
    (tmp_path / "fw").symlink_to(cards["dir"] / "fw")
    out = tmp_path / "sd.img"
    r = run_imgtool("rpi", "sdcard", elf, "--firmware", tmp_path / "fw", "-o", out, "-v", env={}, check=True)
    assert "timestamps from the ELF's vcs.time" in r.stderr
    vol = fat.parse(memoryview(out.read_bytes())[_partition(out).lba_start * 512:])
    assert {e.mtime for e in vol.walk()} == {when - when % 2}


def test_small_card_is_fat16(cards, run_imgtool, tmp_path):
    (tmp_path / "fw").symlink_to(cards["dir"] / "fw")
    out = _card(run_imgtool, tmp_path, EPOCH, "--size", "32M")
    p = _partition(out)
    assert p.type == mbr.TYPE_FAT16 and out.stat().st_size == 32 << 20
    part = tmp_path / "part.img"
    part.write_bytes(out.read_bytes()[p.lba_start * 512:p.lba_end * 512])
    r = subprocess.run([need("fsck.vfat"), "-n", str(part)], capture_output=True, text=True)
    assert r.returncode == 0 and fat.parse(part.read_bytes()).fat_bits == 16, r.stdout


def test_info_sd_img(cards, run_imgtool):
    d = json.loads(run_imgtool("info", "--json", cards["a"], check=True).stdout)
    assert d["type"] == "disk" and d["table"] == "mbr" and d["problems"] == []
    (p,) = d["partitions"]
    assert (p["index"], p["type"], p["first_lba"], p["sectors"], p["bootable"]) == (1, "0x0c", 2048, 129024, True)
    fs = p["filesystem"]
    assert fs["fat_bits"] == 32 and fs["label"] == "BOOT"
    assert {f["path"]: f["size"] for f in fs["files"] if not f["dir"]} == {
        **{k: len(v) for k, v in cards["firmware"].items()}, "config.txt": (cards["dir"] / "config.txt").stat().st_size,
        "kernel7.img": (cards["dir"] / "kernel7.img").stat().st_size}
    rpi = fs["raspberrypi"]
    assert rpi["config"]["kernel"] == "kernel7.img" and rpi["kernel"]["text_start"] == 0x110000
    text = run_imgtool("info", cards["a"], check=True).stdout
    assert "partition 1  LBA 2048..131071 (63 MiB), type 0x0c W95 FAT32 (LBA), bootable" in text
    assert re.search(r"kernel7.img +\d+ bytes  2023-11-14 22:13:20", text)
    assert "stub         entry (plain), 12 bytes" in text and "config.txt   kernel=kernel7.img" in text


@pytest.mark.parametrize("case", ["missing", "not a folder", "too small", "bad epoch", "kernel check"])
def test_sdcard_input_errors(case, cards, run_imgtool, tmp_path):
    fw = tmp_path / "fw"
    fake_firmware(fw)
    args, env, message = [], {}, ""
    if case == "missing":
        (fw / "bootcode.bin").unlink()
        (fw / "fixup.dat").unlink()
        message = "missing firmware bootcode.bin, fixup.dat"
    elif case == "not a folder":
        fw = fw / "start.elf"
        message = "--firmware: " + str(fw) + ": not a folder"
    elif case == "too small":
        args, message = ["--size", "4M"], "--size: the files need"
    elif case == "bad epoch":
        env, message = {"SOURCE_DATE_EPOCH": "yesterday"}, "SOURCE_DATE_EPOCH: 'yesterday' is not a whole number"
    else:
        args, message = ["--board", "pizero"], "built with GOARM=7, but board pizero"
    out = tmp_path / "out"
    out.mkdir()
    r = run_imgtool("rpi", "sdcard", pi_elf("pi2"), "--firmware", fw, "-o", out / "sd.img", *args, env=env)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and message in r.stderr, r.stderr
    assert listing(out) == set()


def test_examples_makefile_rpi_targets(tmp_path):
    """examples/Makefile's rpi and rpi_sdcard targets, as a project would run them."""
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    app = tmp_path / "pi.elf"
    app.write_bytes(pi_elf("pi2").read_bytes())
    fake_firmware(tmp_path / "fw")
    r = subprocess.run([need("make"), "-f", str(root / "examples" / "Makefile"), f"APP={app}", "RPI_BOARD=pi2",
                        f"FIRMWARE={tmp_path / 'fw'}", f"IMGTOOL={sys.executable} -m imgtool", "rpi", "rpi_sdcard"],
                       capture_output=True, text=True, cwd=root)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "kernel=kernel.img\n" in (tmp_path / "config.txt").read_text()
    assert (tmp_path / "kernel.img").read_bytes()[:4] == bytes.fromhex("00109fe5")
    assert mbr.parse((tmp_path / "pi-sd.img").read_bytes()).partitions[0].type == mbr.TYPE_FAT32_LBA
