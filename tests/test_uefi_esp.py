"""``imgtool uefi esp``: the ESP disk image checked with sgdisk, fsck.vfat and mtools,
reproducible, read back by ``imgtool info``; bad input refused. OVMF boots these images in
test_uefi_boot.py (every boot there starts from one)."""

from __future__ import annotations

import json

import pytest

from disk_helpers import need, run
from gce_helpers import differing_blocks, imgtool

MIB = 1 << 20


@pytest.fixture(scope="module")
def app(uefi_payloads, tmp_path_factory):
    out = tmp_path_factory.mktemp("esp-app") / "app.efi"
    imgtool("uefi", "app", uefi_payloads["fixed"], "-o", out)
    return out


@pytest.fixture(scope="module")
def esps(app, tmp_path_factory):
    d = tmp_path_factory.mktemp("esp")
    out = {"gpt": d / "gpt.img", "superfloppy": d / "floppy.img", "gpt-200M": d / "gpt200.img"}
    imgtool("uefi", "esp", app, "-o", out["gpt"])
    imgtool("uefi", "esp", app, "-o", out["superfloppy"], "--layout", "superfloppy")
    imgtool("uefi", "esp", app, "-o", out["gpt-200M"], "--size", "200M")
    return out


def _volume(esps, name, tmp_path):
    """The FAT volume of an image as its own file (fsck.vfat takes no offset)."""
    path = esps[name]
    if name == "superfloppy":
        return path
    part = json.loads(imgtool("info", "--json", path).stdout)["partitions"][0]
    out = tmp_path / "part.img"
    with open(path, "rb") as src, open(out, "wb") as dst:
        src.seek(part["first_lba"] * 512)
        dst.write(src.read(part["sectors"] * 512))
    return out


@pytest.mark.parametrize("name", ["gpt", "gpt-200M"])
def test_sgdisk_finds_no_problem(esps, name):
    v = run(need("sgdisk"), "-v", esps[name]).stdout
    assert "No problems found" in v
    p = run(need("sgdisk"), "-p", esps[name]).stdout
    assert "EF00" in p and "EFI system partition" in p and "2048" in p


@pytest.mark.parametrize("name", ["gpt", "superfloppy", "gpt-200M"])
def test_fsck_vfat_is_clean_and_mtools_reads_the_application(esps, name, app, tmp_path):
    vol = _volume(esps, name, tmp_path)
    r = run(need("fsck.vfat"), "-n", "-v", vol)  # exit 0: nothing to repair
    assert "32 bit entries" in r.stdout and "3 files" in r.stdout
    run(need("mcopy"), "-i", vol, "::/EFI/BOOT/BOOTX64.EFI", tmp_path / "got.efi")
    assert (tmp_path / "got.efi").read_bytes() == app.read_bytes()


def test_sizes_and_layouts(esps):
    assert esps["gpt"].stat().st_size == 64 * MIB == esps["superfloppy"].stat().st_size
    assert esps["gpt-200M"].stat().st_size == 200 * MIB
    floppy = json.loads(imgtool("info", "--json", esps["superfloppy"]).stdout)
    assert floppy["table"] == "none" and floppy["filesystem"]["fat_bits"] == 32
    assert esps["superfloppy"].read_bytes()[82:90] == b"FAT32   "  # BS_FilSysType: FAT32 on the whole disk
    gpt = json.loads(imgtool("info", "--json", esps["gpt"]).stdout)
    part, = gpt["partitions"]
    assert (part["first_lba"], part["type_name"], gpt["problems"]) == (2048, "EFI system partition", [])
    files = [(f["path"], f["dir"]) for f in part["filesystem"]["files"]]
    assert files == [("EFI", True), ("EFI/BOOT", True), ("EFI/BOOT/BOOTX64.EFI", False)]
    text = imgtool("info", esps["gpt"]).stdout
    assert "EFI/BOOT/BOOTX64.EFI" in text and "CRC-32s: OK" in text


def test_two_builds_are_identical_and_the_epoch_sets_the_fat_times(esps, app, tmp_path):
    for layout, name in (("gpt", "gpt"), ("superfloppy", "superfloppy")):
        again = tmp_path / f"{name}.img"
        imgtool("uefi", "esp", app, "-o", again, "--layout", layout)
        assert differing_blocks(again, esps[name]) == []
    dated = tmp_path / "dated.img"
    imgtool("uefi", "esp", app, "-o", dated, env={"SOURCE_DATE_EPOCH": "1700000000"})
    listing = run(need("mdir"), "-i", f"{dated}@@1M", "::/EFI/BOOT").stdout
    assert "2023-11-14" in listing  # 1700000000 = 2023-11-14 22:13:20 UTC
    assert differing_blocks(dated, esps["gpt"]) != []


def test_an_aarch64_application_goes_to_bootaa64(go_elf, tmp_path):
    efi, img = tmp_path / "a64.efi", tmp_path / "a64.img"
    imgtool("uefi", "app", go_elf("arm64"), "-o", efi)
    imgtool("uefi", "esp", efi, "-o", img)
    part, = json.loads(imgtool("info", "--json", img).stdout)["partitions"]
    assert [f["path"] for f in part["filesystem"]["files"] if not f["dir"]] == ["EFI/BOOT/BOOTAA64.EFI"]


@pytest.mark.parametrize("args,expect", [
    (["--size", "16M"], "too small"), (["--layout", "mbr"], "--layout"), (["--size", "64M+1"], "--size"),
    (["--size", "1000001"], "multiple of 512")])
def test_bad_options_exit_2_and_write_nothing(app, tmp_path, args, expect):
    out = tmp_path / "esp.img"
    r = imgtool("uefi", "esp", app, "-o", out, *args, check=False)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and expect in r.stderr
    assert list(tmp_path.iterdir()) == []


def test_an_elf_or_a_non_pe_is_refused(uefi_payloads, tmp_path):
    (tmp_path / "junk.efi").write_bytes(b"MZ" + bytes(100))
    for src, expect in ((uefi_payloads["fixed"], "make the UEFI image first"), (tmp_path / "junk.efi", "junk.efi")):
        r = imgtool("uefi", "esp", src, "-o", tmp_path / "esp.img", check=False)
        assert r.returncode == 2 and expect in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "esp.img").exists()
