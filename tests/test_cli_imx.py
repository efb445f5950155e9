"""``imgtool imx build`` and ``imgtool boards`` end to end on real Go ARM ELFs, against the
objcopy + mkimage + dd chain TamaGo Makefiles run today."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from conftest import build_go
from imx_helpers import MKIMAGE, objcopy_flat, run_mkimage, tamago_entry_patch
from formats.elf import ElfFile
from formats.imx.image import parse_imx
from imgtool.boards import get_board

BUNDLED_MK2_CFG = Path(__file__).resolve().parent.parent / "imgtool" / "boards" / "usbarmory-mk2.cfg"


@pytest.fixture(scope="module")
def board_elf():
    """A Go ARM ELF that links a package at the USB armory Mk II board import path."""
    src = Path(__file__).resolve().parent / "goboard"
    return build_go(src, "boardprog-arm7", {"GOARCH": "arm", "GOARM": "7"}, "-T 0x80010000 -R 0x1000")


def test_imx_build_equals_objcopy_mkimage_dd_chain(go_elf, tmp_path, run_imgtool):
    assert MKIMAGE, "u-boot-tools mkimage is needed"
    elf = go_elf("arm7")
    out = tmp_path / "app.imx"
    run_imgtool("imx", "build", elf, "--board", "usbarmory-mk2", "--dcd", BUNDLED_MK2_CFG, "-o", out, check=True)
    flat = objcopy_flat(elf, tmp_path)
    ref = run_mkimage(BUNDLED_MK2_CFG.read_text(), flat, 0x80010000, tmp_path)
    ref = tamago_entry_patch(ref, ElfFile.parse(elf.read_bytes()).entry)
    ours = out.read_bytes()
    # The chain's objcopy list drops .go.fipsinfo; everything else is identical.
    e = ElfFile.parse(elf.read_bytes())
    fips = e.section(".go.fipsinfo")
    off = 0xC00 + fips.addr - e.text_start
    assert len(ours) == len(ref)
    assert ours[:off] == ref[:off] and ours[off + fips.size:] == ref[off + fips.size:]
    assert ref[off:off + fips.size] == bytes(fips.size) and ours[off:off + fips.size] == bytes(e.section_data(fips))


def test_board_detected_from_elf(board_elf, tmp_path, run_imgtool):
    out = tmp_path / "app.imx"
    r = run_imgtool("imx", "build", board_elf, "-o", out, "-v", check=True)
    assert "board: usbarmory-mk2" in r.stderr
    img = parse_imx(out.read_bytes())
    assert img.ivt.entry == ElfFile.parse(board_elf.read_bytes()).entry
    assert img.ivt.self_addr == 0x8000F400 and img.csf_size == get_board("usbarmory-mk2").csf_size
    r = run_imgtool("info", "--json", board_elf, check=True)
    assert json.loads(r.stdout)["tamago"]["boards"] == ["github.com/usbarmory/tamago/board/usbarmory/mk2"]


def test_no_board_is_an_error_listing_boards(go_elf, tmp_path, run_imgtool):
    r = run_imgtool("imx", "build", go_elf("arm7"), "-o", tmp_path / "x.imx")
    assert r.returncode == 2 and "--board" in r.stderr and "usbarmory-mk2" in r.stderr
    assert not (tmp_path / "x.imx").exists()


def test_wrong_link_address_is_refused(go_elf, tmp_path, run_imgtool):
    elf = go_elf("arm5")
    r = run_imgtool("imx", "build", elf, "--board", "usbarmory-mk2", "-o", tmp_path / "x.imx")
    assert r.returncode == 2, r.stderr
    assert str(elf) in r.stderr and "0x00110000" in r.stderr and "TEXT_START 0x80010000" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "x.imx").exists()


def test_wrong_architecture_is_refused(go_elf, tmp_path, run_imgtool):
    r = run_imgtool("imx", "build", go_elf("arm64"), "--board", "usbarmory-mk2", "-o", tmp_path / "x.imx")
    assert r.returncode == 2 and "arm" in r.stderr and "arm64" in r.stderr


def test_cfg_typo_names_the_line(go_elf, tmp_path, run_imgtool):
    cfg = tmp_path / "bad.cfg"
    cfg.write_text("IMAGE_VERSION 2\nBOOT_FROM sd\nCSF 0x4000\nDATA 4 0x020c4068 0xffffffff\nDATTA 4 0x020c406c 0x1\n")
    r = run_imgtool("imx", "build", go_elf("arm7"), "--board", "usbarmory-mk2", "--dcd", cfg, "-o", tmp_path / "x.imx")
    assert r.returncode == 2 and "line 5" in r.stderr and "DATTA" in r.stderr
    assert not (tmp_path / "x.imx").exists()


def test_sdp_and_sd_image_outputs(board_elf, tmp_path, run_imgtool):
    out = tmp_path / "app.imx"
    sd = tmp_path / "sd.raw"
    run_imgtool("imx", "build", board_elf, "-o", out, "--sdp", "--sd-image", sd, check=True)
    imx = out.read_bytes()
    sdp = (tmp_path / "app-sdp.imx").read_bytes()
    dcd = (tmp_path / "app-sdp.dcd").read_bytes()
    assert struct.unpack_from("<I", sdp, 12)[0] == 0 and sdp[:12] == imx[:12] and sdp[16:] == imx[16:]
    img = parse_imx(imx)
    assert dcd == imx[0x2C:0x2C + img.dcd.length]
    raw = sd.read_bytes()
    assert raw[:0x400] == bytes(0x400) and raw[0x400:] == imx


def test_sd_image_of_an_image_laid_out_for_nor_is_refused(board_elf, tmp_path, run_imgtool):
    """BOOT_FROM nor puts the IVT at 0x1000 in the IVT's own addresses; an SD card boots
    it at 0x400, so the card image would never boot: exit 2 naming --sd-image."""
    cfg = tmp_path / "nor.cfg"
    bundled = Path(__file__).resolve().parents[1] / "imgtool" / "boards" / "usbarmory-mk2.cfg"
    cfg.write_text(bundled.read_text().replace("BOOT_FROM sd", "BOOT_FROM nor"))
    sd = tmp_path / "sd.raw"
    r = run_imgtool("imx", "build", board_elf, "--dcd", cfg, "-o", tmp_path / "app.imx", "--sd-image", sd)
    assert r.returncode == 2 and "--sd-image" in r.stderr and "0x1000" in r.stderr, r.stderr
    assert not sd.exists() and not (tmp_path / "app.imx").exists()


def test_info_on_imx_matches_mkimage_l(board_elf, tmp_path, run_imgtool):
    out = tmp_path / "app.imx"
    run_imgtool("imx", "build", board_elf, "-o", out, check=True)
    d = json.loads(run_imgtool("info", "--json", out, check=True).stdout)
    from imx_helpers import mkimage_list

    blocks = mkimage_list(out.read_bytes(), tmp_path)
    assert tuple(d["hab_blocks"][0]) == blocks["HAB"]
    assert tuple(d["dcd_blocks"][0]) == blocks["DCD"]
    text = run_imgtool("info", out, check=True).stdout
    assert "write32  0x020c4068 = 0xffffffff  (CCM+0x68)" in text


def test_boards_lists_profiles(run_imgtool):
    text = run_imgtool("boards", check=True).stdout
    for name in ("usbarmory-mk2", "usbarmory-mk2-1gb", "mx6ullevk", "usbarmory-mk2-lan", "armory-boot"):
        assert name in text
    d = json.loads(run_imgtool("boards", "--json", check=True).stdout)
    mk2 = next(b for b in d if b["name"] == "usbarmory-mk2")
    assert mk2["text_start"] == 0x80010000 and mk2["csf_size"] == 0x4000
