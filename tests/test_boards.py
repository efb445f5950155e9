"""Board profiles, detection, DCD resolution, and the build checks of imgtool.imxbuild."""

from __future__ import annotations

from pathlib import Path

import pytest

from formats.go.buildinfo import BuildInfo, Module
from formats.imx.cfg import CfgEntry, ImximageCfg, parse_cfg
from formats.imx.image import parse_imx
from imgtool.boards import detect_board, get_board, list_boards
from imgtool.boards.imxcfg import BUNDLED_TAMAGO_VERSION, resolve_dcd_cfg, tamago_version
from imgtool.errors import InputError
from imgtool.imxbuild import build_imx_from_flat, check_cfg, describe_imx, load_cfg, sd_card_image, sdp_images

MK2 = "github.com/usbarmory/tamago/board/usbarmory/mk2"
EVK = "github.com/usbarmory/tamago/board/nxp/mx6ullevk"


def test_list_boards():
    names = [b.name for b in list_boards()]
    assert names == sorted(names)
    assert {"usbarmory-mk2", "usbarmory-mk2-1gb", "usbarmory-mk2-lan", "mx6ullevk", "armory-boot"} <= set(names)


def test_usbarmory_mk2_profile():
    b = get_board("usbarmory-mk2")
    assert (b.soc, b.text_start, b.csf_size, b.hab_engine, b.hab_engine_tag) == ("i.MX6ULL", 0x80010000, 0x4000, "SW", 0xFF)
    assert "ERR010449" in b.hab_engine_note
    assert (b.ram[0].start, b.ram[0].size) == (0x80000000, 512 << 20)
    assert (b.boot_offset, b.sdp_dcd_address) == (0x400, 0x00910000)
    assert get_board("usbarmory-mk2-1gb").ram[0].size == 1 << 30
    assert get_board("usbarmory-mk2-lan").hab_engine == "ANY"
    assert get_board("armory-boot").text_start == 0x90010000
    assert b.to_dict()["text_start"] == 0x80010000


@pytest.mark.parametrize("board", [b.name for b in list_boards("imx")])
def test_bundled_dcds_parse(board):
    b = get_board(board)
    cfg = parse_cfg(resolve_dcd_cfg(b).text)
    assert cfg.csf_size == b.csf_size and cfg.ivt_offset == b.boot_offset
    assert 900 < cfg.dcd.length <= 1768


def test_bundled_dcd_write_counts():
    # imx-hab.md §2.3: 121 writes (976 bytes) for the Mk II, 122 (984) for the EVK
    assert parse_cfg(resolve_dcd_cfg(get_board("usbarmory-mk2")).text).dcd.length == 976
    assert parse_cfg(resolve_dcd_cfg(get_board("mx6ullevk")).text).dcd.length == 984


def test_get_board_unknown():
    with pytest.raises(InputError, match="unknown board 'mk3'.*usbarmory-mk2"):
        get_board("mk3")


def test_detect_board():
    assert detect_board(["runtime", "fmt"]) is None
    assert detect_board(["runtime", MK2]).name == "usbarmory-mk2"
    assert detect_board([MK2 + "/internal"]).name == "usbarmory-mk2"
    assert detect_board([MK2], text_start=0x80010000).name == "usbarmory-mk2"
    assert detect_board([MK2], text_start=0x90010000).name == "armory-boot"
    assert detect_board([EVK]).name == "mx6ullevk"
    # linked elsewhere: keep the board so that the TEXT_START check can speak
    assert detect_board([EVK], text_start=0x40010000).name == "mx6ullevk"


def test_detect_board_ambiguous_lists_candidates():
    with pytest.raises(InputError) as info:
        detect_board([MK2, EVK])
    msg = str(info.value)
    assert MK2 in msg and EVK in msg and "usbarmory-mk2" in msg and "mx6ullevk" in msg and "--board" in msg


def test_detect_board_on_real_elf(go_elf):
    from formats.go.binary import GoElfFile as ElfFile

    elf = ElfFile.parse(go_elf("arm7").read_bytes())
    # the test program is not a TamaGo board program: no board package
    assert detect_board(elf.iter_package_paths(), elf.text_start) is None
    assert tamago_version(elf.build_info) == "v1.26.0"


def test_tamago_version():
    bi = BuildInfo("go1.26.0", deps=[Module("golang.org/x/sys", "v0.1.0"), Module("github.com/usbarmory/tamago", "v1.25.6")])
    assert tamago_version(bi) == "v1.25.6"
    bi = BuildInfo("go1.26.0", deps=[Module("github.com/usbarmory/tamago", "v1.25.6", replace=Module("../tamago", ""))])
    assert tamago_version(bi) is None
    assert tamago_version(BuildInfo("go1.26.0")) is None
    assert tamago_version(None) is None


def test_resolve_prefers_module_cache(tmp_path):
    board = get_board("usbarmory-mk2")
    cfgdir = tmp_path / "github.com" / "usbarmory" / "tamago@v9.9.9" / "board" / "usbarmory" / "mk2"
    cfgdir.mkdir(parents=True)
    (cfgdir / "imximage.cfg").write_text("IMAGE_VERSION 2\nBOOT_FROM sd\nCSF 0x4000\nDATA 4 0x0 0x1\n")
    got = resolve_dcd_cfg(board, "v9.9.9", gomodcache_dir=tmp_path)
    assert got.origin == "module" and got.version == "v9.9.9" and "DATA 4 0x0 0x1" in got.text
    assert "Go module cache" in got.describe() and str(cfgdir) in got.describe()
    # a version that is not in the cache, or no version: the bundled copy
    for version in ("v0.0.1", None):
        got = resolve_dcd_cfg(board, version, gomodcache_dir=tmp_path)
        assert got.origin == "bundled" and got.version == BUNDLED_TAMAGO_VERSION
        assert "bundled" in got.describe()
    # a cfg in the cache that is not text: one line naming the file, not a traceback
    (cfgdir / "imximage.cfg").write_bytes(b"IMAGE_VERSION 2\n\xff\xfe\n")
    with pytest.raises(InputError, match=r"imximage.cfg: byte 0x10 is not UTF-8"):
        resolve_dcd_cfg(board, "v9.9.9", gomodcache_dir=tmp_path)


def test_resolve_real_module_cache():
    """With the tamago module in the real Go module cache, that copy is used."""
    from imx_helpers import TAMAGO_PINNED, tamago_module_dir

    if tamago_module_dir() is None:
        pytest.skip(f"the tamago module {TAMAGO_PINNED} is not available (Go module cache or proxy)")
    got = resolve_dcd_cfg(get_board("mx6ullevk"), TAMAGO_PINNED)
    assert got.origin == "module"
    assert parse_cfg(got.text) == parse_cfg(resolve_dcd_cfg(get_board("mx6ullevk")).text)


# --- imxbuild checks --------------------------------------------------------------------

MK2_BOARD = get_board("usbarmory-mk2")


def _mk2_cfg():
    return load_cfg(MK2_BOARD).cfg


def test_build_checks_text_start():
    with pytest.raises(InputError, match=r"\.text starts at 0x80020000 but board usbarmory-mk2 expects TEXT_START 0x80010000"):
        build_imx_from_flat(b"\0" * 64, load_address=0x80020000, entry=0x80020000, cfg=_mk2_cfg(), board=MK2_BOARD)


def test_build_checks_entry_in_payload():
    with pytest.raises(InputError, match="entry point 0x90000000 is outside the payload"):
        build_imx_from_flat(b"\0" * 64, load_address=0x80010000, entry=0x90000000, cfg=_mk2_cfg())


def test_build_checks_ram():
    big = bytes(0x20000000)  # 512 MiB payload + header + CSF: over the Mk II's RAM
    with pytest.raises(InputError, match="outside board usbarmory-mk2's RAM"):
        build_imx_from_flat(big, load_address=0x80010000, entry=0x80010000, cfg=_mk2_cfg(), board=MK2_BOARD)
    ok = build_imx_from_flat(big[: 1 << 20], load_address=0x80010000, entry=0x80010000, cfg=_mk2_cfg(), board=MK2_BOARD)
    assert len(ok) == 0xC00 + (1 << 20)


def test_build_warns_about_csf():
    warnings: list[str] = []
    cfg = parse_cfg("IMAGE_VERSION 2\nBOOT_FROM sd\nCSF 0x1000\nDATA 4 0x0 0x0\n")
    build_imx_from_flat(b"x", load_address=0x80010000, entry=0x80010000, cfg=cfg, board=MK2_BOARD, warn=warnings.append)
    assert any("smaller than a typical RSA-2048 CSF" in w for w in warnings)
    assert any("board usbarmory-mk2 uses 0x4000" in w for w in warnings)
    warnings.clear()
    cfg = parse_cfg("IMAGE_VERSION 2\nBOOT_FROM sd\nDATA 4 0x0 0x0\n")
    build_imx_from_flat(b"x", load_address=0x80010000, entry=0x80010000, cfg=cfg, warn=warnings.append)
    assert any("no CSF area" in w for w in warnings)
    warnings.clear()
    build_imx_from_flat(b"x", load_address=0x80010000, entry=0x80010000, cfg=_mk2_cfg(), board=MK2_BOARD, warn=warnings.append)
    assert warnings == []


def test_check_cfg_built_in_code():
    entries = tuple(CfgEntry("CHECK_BITS_SET", 4, 4 * i, 1, line=10 + i) for i in range(150))
    cfg = ImximageCfg(entries=entries, source="gen.cfg")
    with pytest.raises(InputError, match=r"gen.cfg: line 157: DCD is 1804 bytes, over the i.MX6 limit of 1768"):
        check_cfg(cfg)
    with pytest.raises(InputError, match=r"line 3: DCD address 0x00000002 is not aligned to its width of 4"):
        check_cfg(ImximageCfg(entries=(CfgEntry("DATA", 4, 2, 0, line=3),)))


def test_load_cfg_errors(tmp_path):
    with pytest.raises(InputError, match="pass --board or --dcd"):
        load_cfg()
    with pytest.raises(InputError, match="cannot read"):
        load_cfg(dcd_path=tmp_path / "missing.cfg")
    p = tmp_path / "my.cfg"
    p.write_text("IMAGE_VERSION 2\nBOOT_FROM sd\nDATA 4 0x10 0x1\n")
    loaded = load_cfg(MK2_BOARD, dcd_path=p)
    assert loaded.cfg.dcd.length == 16 and str(p) in loaded.origin


def test_sdp_and_sd_card():
    imx = build_imx_from_flat(b"\1" * 100, load_address=0x80010000, entry=0x80010000, cfg=_mk2_cfg())
    sdp, dcd = sdp_images(imx)
    assert parse_imx(sdp).ivt.dcd == 0 and len(dcd) == 976 and dcd[:4] == bytes.fromhex("d203d040")
    sd = sd_card_image(imx)
    assert sd[:0x400] == bytes(0x400) and sd[0x400:] == imx
    assert parse_imx(sd, 0x400) == parse_imx(imx)


def test_describe_imx():
    imx = build_imx_from_flat(b"\1" * 5000, load_address=0x80010000, entry=0x80010234, cfg=_mk2_cfg())
    d = describe_imx(imx)
    import json

    json.dumps(d)
    assert d["ivt"]["entry"] == 0x80010234 and d["ivt"]["self"] == 0x8000F400
    assert d["boot_data"] == {"offset": 0x20, "start": 0x8000F000, "length": 0x400 + len(imx) + 0x4000, "plugin": 0}
    assert d["payload"] == {"offset": 0xC00, "address": 0x80010000, "length": 0x2000, "present": 0x2000}
    assert d["csf"] == {"offset": len(imx), "address": 0x8000F400 + len(imx), "size": 0x4000, "present": 0, "signed": False}
    assert d["dcd"]["length"] == 976 and d["dcd"]["address"] == 0x8000F42C
    first = d["dcd"]["commands"][0]
    assert first["command"] == "write_data" and len(first["entries"]) == 121
    assert first["entries"][0] == {"address": 0x020C4068, "value": 0xFFFFFFFF, "register": "CCM+0x68"}
    assert d["hab_blocks"] == [[0x8000F400, 0, len(imx)]]
    assert d["dcd_blocks"] == [[0x00910000, 0x2C, 976]]
    assert d["mkimage_l"] == {"HAB Blocks": f"0x8000f400 0x00000000 0x{len(imx):08x}",
                              "DCD Blocks": "0x00910000 0x0000002c 0x000003d0"}
    assert d["sdp"] is False and describe_imx(sdp_images(imx)[0])["sdp"] is True


# --- the profile loader: common keys, family keys -----------------------------------------

PI_TOML = """
name = "pi-test"
description = "a board of a family the loader has no code for"
family = "newfamily"
soc = "BCM2836"
packages = ["github.com/usbarmory/tamago/board/raspberrypi/pi2"]
text_start = 0x00010000
kernel = "kernel7.img"
arm_64bit = false
uart = { base = 0x3F201000, baud = 115200 }
overlays = ["disable-bt"]

[[ram]]
name = "SDRAM"
start = 0
size = 0x3B400000
"""


def test_profile_of_a_new_family_needs_no_code():
    import tomllib

    from imgtool.boards import _board_from_toml

    b = _board_from_toml("pi-test.toml", tomllib.loads(PI_TOML))
    assert (b.family, b.soc, b.text_start, b.ram[0].size) == ("newfamily", "BCM2836", 0x10000, 0x3B400000)
    assert (b.kernel, b.arm_64bit, b.uart["baud"], b.overlays) == ("kernel7.img", False, 115200, ("disable-bt",))
    assert dict(b.fields).keys() == {"kernel", "arm_64bit", "uart", "overlays"}
    d = b.to_dict()
    assert d["family"] == "newfamily" and d["uart"] == {"base": 0x3F201000, "baud": 115200} and d["overlays"] == ["disable-bt"]
    assert "csf_size" not in d
    with pytest.raises(AttributeError, match="csf_size"):
        b.csf_size
    with pytest.raises(AttributeError):
        b.hab_engine_tag


def test_imx_profiles_are_checked_and_defaulted():
    import tomllib

    from imgtool.boards import _board_from_toml

    base = tomllib.loads(PI_TOML.replace('family = "newfamily"', 'family = "imx"').replace("pi-test", "imx-test"))
    with pytest.raises(RuntimeError, match="imx-test.toml.*dcd_cfg"):
        _board_from_toml("imx-test.toml", base)
    good = dict(base, dcd_cfg="x.cfg", csf_size=0x2000, hab_engine="CAAM")
    b = _board_from_toml("imx-test.toml", good)
    assert (b.boot_offset, b.sdp_dcd_address, b.tamago_cfg, b.hab_engine_note) == (0x400, 0x00910000, None, "")
    assert b.hab_engine_tag == 0x1D and b.kernel == "kernel7.img"
    with pytest.raises(RuntimeError, match="unknown HAB engine 'XYZ'"):
        _board_from_toml("imx-test.toml", dict(good, hab_engine="XYZ"))
    with pytest.raises(RuntimeError, match="csf_size.*wrong type"):
        _board_from_toml("imx-test.toml", dict(good, csf_size="16K"))
    # hab_key_types as a TOML file writes it (an array: a list), frozen to a tuple
    keys = tomllib.loads('hab_key_types = ["rsa", "ecdsa"]')
    assert _board_from_toml("imx-test.toml", dict(good, **keys)).hab_key_types == ("rsa", "ecdsa")
    with pytest.raises(RuntimeError, match="hab_key_types"):
        _board_from_toml("imx-test.toml", dict(good, hab_key_types=["dsa"]))
    del good["family"]  # the family of the boards written before there were families
    assert _board_from_toml("imx-test.toml", good).family == "imx"


def test_go_module_cache_lookup(tmp_path, monkeypatch):
    from imgtool.gomodcache import escape_module_path, gomodcache, module_file

    assert escape_module_path("github.com/BurntSushi/toml") == "github.com/!burnt!sushi/toml"
    f = tmp_path / "github.com" / "!burnt!sushi" / "toml@v1.3.2" / "decode.go"
    f.parent.mkdir(parents=True)
    f.write_text("package toml\n")
    assert module_file("github.com/BurntSushi/toml", "v1.3.2", "decode.go", tmp_path) == f
    assert module_file("github.com/BurntSushi/toml", "v1.3.3", "decode.go", tmp_path) is None
    assert module_file("github.com/BurntSushi/toml", "v1.3.2", "encode.go", tmp_path) is None
    monkeypatch.setenv("GOMODCACHE", str(tmp_path))
    assert gomodcache() == tmp_path
    assert module_file("github.com/BurntSushi/toml", "v1.3.2", "decode.go") == f


def test_rpi_profiles_are_checked():
    """The rpi family's keys are required and typed like the imx ones; profiles carry
    their TamaGo values (tamago v1.26.0 board/raspberrypi/*/mem.go, soc/bcm2835/mem.go)."""
    import tomllib

    from imgtool.boards import _board_from_toml

    pz, p2 = get_board("pizero"), get_board("pi2")
    assert (pz.goarm, pz.goarm_max, pz.stub, pz.peripheral_base, pz.ram_start) == (5, 5, "armv6", 0x20000000, 0x100000)
    assert (p2.goarm, p2.stub, p2.peripheral_base, p2.kernel, p2.reserved_size) == (7, "plain", 0x3F000000, "kernel7.img", 0x10000)
    assert p2.firmware_area[0]["end"] == 0x100 and isinstance(p2.config_txt, tuple)
    data = tomllib.loads((Path(__file__).resolve().parent.parent / "imgtool" / "boards" / "pi2.toml").read_text())
    for key, value, message in (("stub", "thumb", "unknown stub variant 'thumb'"), ("goarm", 8, "goarm 8"),
                                ("config_txt", ["kernel_old"], "KEY=VALUE"), ("goarm_max", "7", "wrong type"),
                                ("firmware_area", [{"name": "x", "start": 4, "end": 4}], "start < end")):
        with pytest.raises(RuntimeError, match=message):
            _board_from_toml("pi2.toml", dict(data, **{key: value}))
    with pytest.raises(RuntimeError, match="missing rpi key 'peripheral_base'"):
        _board_from_toml("pi2.toml", {k: v for k, v in data.items() if k != "peripheral_base"})


def test_family_filters():
    pi2 = "github.com/usbarmory/tamago/board/raspberrypi/pi2"
    assert detect_board([pi2], 0x110000, "rpi").name == "pi2"
    assert detect_board([pi2], 0x110000, "imx") is None and detect_board([MK2], family="rpi") is None
    with pytest.raises(InputError, match="'usbarmory-mk2' is for NXP i.MX, not Raspberry Pi.*pi1, pi2, pizero"):
        get_board("usbarmory-mk2", "rpi")
    assert {b.family for b in list_boards("imx")} == {"imx"}
