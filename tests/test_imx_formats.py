"""IVT, boot data, DCD, imximage.cfg and .imx: round trips, encodings, errors."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from formats.errors import FormatError
from formats.imx.cfg import CfgEntry, ImximageCfg, parse_cfg
from formats.imx.dcd import CheckData, Dcd, Nop, Unlock, WriteData
from formats.imx.image import build_imx, clear_dcd_pointer, dcd_blocks, hab_blocks, parse_imx
from formats.imx.ivt import IVT, BootData

u32 = st.integers(0, 0xFFFFFFFF)
width = st.sampled_from([1, 2, 4])

write_data = st.builds(
    WriteData,
    width=width,
    flags=st.sampled_from([WriteData.WRITE, WriteData.CLEAR_BITS, WriteData.SET_BITS]),
    entries=st.lists(st.tuples(u32, u32), max_size=8).map(tuple),
)
check_data = st.builds(
    CheckData,
    address=u32,
    mask=u32,
    width=width,
    flags=st.sampled_from([CheckData.BITS_CLR, CheckData.BITS_SET, CheckData.ANY_BIT_CLR, CheckData.ANY_BIT_SET]),
    count=st.none() | u32,
)
nop = st.builds(Nop, param=st.integers(0, 255))
unlock = st.builds(Unlock, engine=st.sampled_from([0x1D, 0x1E, 0x21]), values=st.lists(u32, max_size=3).map(tuple))
command = st.one_of(write_data, check_data, nop, unlock)


@given(st.builds(IVT, entry=u32, dcd=u32, boot_data=u32, self_addr=u32, csf=u32, version=st.sampled_from([0x40, 0x41])))
def test_ivt_round_trip(ivt):
    raw = ivt.build()
    assert len(raw) == IVT.SIZE == 32
    assert IVT.parse(raw) == ivt
    assert IVT.parse(b"\xAA" * 5 + raw, 5) == ivt


@given(st.builds(BootData, start=u32, length=u32, plugin=st.integers(0, 1)))
def test_boot_data_round_trip(bd):
    assert len(bd.build()) == BootData.SIZE == 12
    assert BootData.parse(bd.build()) == bd


@given(command)
def test_command_round_trip(cmd):
    raw = cmd.build()
    assert len(raw) == cmd.length
    assert type(cmd).parse(raw) == cmd


@settings(max_examples=200)
@given(st.lists(command, max_size=12))
def test_dcd_round_trip(commands):
    dcd = Dcd(commands)
    raw = dcd.build()
    assert len(raw) == dcd.length
    assert Dcd.parse(raw) == dcd
    assert Dcd.parse(b"\0" * 3 + raw + b"\xff" * 4, 3) == dcd


def test_ivt_known_bytes():
    # imx-hab.md §6 step 5 (verified against mkimage + dd)
    raw = bytes.fromhex("d1002040 00010180 00000000 2cf40080 20f40080 00f40080 00200180 00000000")
    ivt = IVT.parse(raw)
    assert ivt == IVT(entry=0x80010100, dcd=0x8000F42C, boot_data=0x8000F420, self_addr=0x8000F400, csf=0x80012000)
    assert ivt.build() == raw


def test_parameter_encodings():
    """HABv4 API RM: width in bits 0-2, flags from bit 3."""
    assert WriteData(4, WriteData.WRITE).param == 0x04
    assert WriteData(4, WriteData.CLEAR_BITS).param == 0x0C
    assert WriteData(4, WriteData.SET_BITS).param == 0x1C
    assert WriteData(1, WriteData.WRITE).param == 0x01
    assert WriteData(2, WriteData.SET_BITS).param == 0x1A
    assert [CheckData(0, 0, 4, f).param for f in (0, 2, 4, 6)] == [0x04, 0x14, 0x24, 0x34]
    assert [CheckData(0, 0, 4, f).flavour for f in (0, 2, 4, 6)] == ["all_clear", "all_set", "any_clear", "any_set"]
    assert Nop().build() == bytes.fromhex("c0000400")
    assert Unlock(0x1D, (2,)).build() == bytes.fromhex("b200081d 00000002")
    assert CheckData(0x20, 1, count=5).build().hex() == "cf001004" "00000020" "00000001" "00000005"


@pytest.mark.parametrize(
    "raw, match",
    [
        (bytes.fromhex("d2000840 aa000400"), "unknown DCD command tag 0xaa"),
        (bytes.fromhex("d3000440"), "DCD tag"),
        (bytes.fromhex("d2001040 cc000c04"), "past the end"),
        (bytes.fromhex("d2000c40 cc000804 00000000"), "expected 4 \\+ 8n"),
        (bytes.fromhex("d2001040 cf000c03 00000000 00000000"), "width is 3"),
        (bytes.fromhex("d2000c40 cc001004 00000000"), "runs past"),
    ],
)
def test_dcd_parse_errors(raw, match):
    with pytest.raises(FormatError, match=match):
        Dcd.parse(raw)


def test_ivt_parse_errors():
    good = IVT(1, 2, 3, 4, 5).build()
    with pytest.raises(FormatError, match="IVT tag is 0xd2"):
        IVT.parse(b"\xd2" + good[1:])
    with pytest.raises(FormatError, match="length is 36"):
        IVT.parse(good[:1] + b"\x00\x24" + good[3:])
    with pytest.raises(FormatError, match="truncated"):
        IVT.parse(good[:20])


# --- imximage.cfg ---------------------------------------------------------------------

CFG = """\
IMAGE_VERSION 2
BOOT_FROM sd
CSF 0x4000   # reserve 16 KiB

# CCM
DATA 4 0x020c4068 0xffffffff  # CCM_CCGR0
data 4 020c406c ffffffff
CLR_BIT 4 0x020c4070 0x1
CLR_BIT 4 0x020c4074 0x2
SET_BIT 4 0x020c4078 0x4
CHECK_BITS_SET 4 0x021b001c 0x4000 0x10
CHECK_BITS_CLR 4 0x021b001c 0x4000
CHECK_ANY_BIT_SET 4 0x021b0018 0x3
CHECK_ANY_BIT_CLR 4 0x021b0018 0x3
DATA 4 0x021b0000 0x84180000
NOP
DATA 2 0x020e0094 0x1
DATA 1 0x020e0097 0x2
"""


def test_cfg_parse():
    cfg = parse_cfg(CFG, "board.cfg")
    assert (cfg.boot_from, cfg.ivt_offset, cfg.init_load_size, cfg.csf_size) == ("sd", 0x400, 0x1000, 0x4000)
    kinds = [(type(c).__name__, c.param, getattr(c, "entries", None) and len(c.entries)) for c in cfg.dcd.commands]
    assert kinds == [
        ("WriteData", 0x04, 2),
        ("WriteData", 0x0C, 2),
        ("WriteData", 0x1C, 1),
        ("CheckData", 0x14, None),
        ("CheckData", 0x04, None),
        ("CheckData", 0x34, None),
        ("CheckData", 0x24, None),
        ("WriteData", 0x04, 1),
        ("Nop", 0, None),
        ("WriteData", 0x02, 1),
        ("WriteData", 0x01, 1),
    ]
    assert cfg.dcd.commands[3].count == 0x10 and cfg.dcd.commands[4].count is None
    assert cfg.dcd_command_lines()[0] == (6, 7)


def test_cfg_text_round_trip():
    cfg = parse_cfg(CFG)
    assert parse_cfg(cfg.to_text()) == cfg


cfg_entry = st.one_of(
    st.builds(
        CfgEntry,
        command=st.sampled_from(["DATA", "CLR_BIT", "SET_BIT"]),
        width=st.just(4),
        address=st.integers(0, 0x3FFFFFFF).map(lambda a: a * 4),
        value=u32,
    ),
    st.builds(
        CfgEntry,
        command=st.sampled_from(["CHECK_BITS_SET", "CHECK_BITS_CLR", "CHECK_ANY_BIT_SET", "CHECK_ANY_BIT_CLR"]),
        width=st.just(2),
        address=st.integers(0, 0x7FFFFFFF).map(lambda a: a * 2),
        value=st.integers(0, 0xFFFF),
        count=st.none() | u32,
    ),
    st.just(CfgEntry("NOP")),
)


@given(
    st.builds(
        ImximageCfg,
        boot_from=st.sampled_from(["sd", "nand", "nor", "onenand"]),
        csf_size=st.integers(0, 0x4000),
        entries=st.lists(cfg_entry, max_size=40).map(tuple),
    )
)
def test_cfg_round_trip_generated(cfg):
    from formats.imx.cfg import BOOT_DEVICES

    off, load = BOOT_DEVICES[cfg.boot_from]
    cfg = ImximageCfg(cfg.boot_from, off, load, cfg.csf_size, cfg.entries)
    assert parse_cfg(cfg.to_text()) == cfg


@pytest.mark.parametrize(
    "text, line, match",
    [
        ("IMAGE_VERSION 2\nBOOT_FROM sd\nDATTA 4 0x0 0x0\n", 3, r"unknown command 'DATTA'.*did you mean DATA"),
        ("IMAGE_VERSION 2\nBOOT_FROM sd\nDATA 4 0x020c406g 0x0\n", 3, r"address '0x020c406g' is not a hexadecimal"),
        ("IMAGE_VERSION 2\nBOOT_FROM sd\nDATA 4 0x020c4069 0x0\n", 3, r"0x020c4069 is not aligned to its width of 4"),
        ("IMAGE_VERSION 2\nBOOT_FROM sd\nDATA 2 0x020c4069 0x0\n", 3, r"not aligned to its width of 2"),
        ("IMAGE_VERSION 2\nBOOT_FROM sd\nDATA 3 0x0 0x0\n", 3, r"width 3 is not 1, 2 or 4"),
        ("IMAGE_VERSION 2\nBOOT_FROM sd\nDATA 4 0x0\n", 3, r"DATA takes width, address and value, got 2"),
        ("IMAGE_VERSION 2\nBOOT_FROM sd\nDATA 4 0x0 0x0 0x1\n", 3, r"got 4"),
        ("IMAGE_VERSION 2\nBOOT_FROM sdcard\n", 2, r"unknown boot device 'sdcard'"),
        ("BOOT_FROM sd\nIMAGE_VERSION 2\n", 1, r"before IMAGE_VERSION"),
        ("IMAGE_VERSION 1\nBOOT_FROM sd\n", 1, r"expected 2"),
        ("IMAGE_VERSION 2\nBOOT_FROM sd\nCSF 0x1_0000\n", 3, r"CSF size"),
        ("IMAGE_VERSION 2\nBOOT_FROM sd\nDATA 4 0x0 0x100000000\n", 3, r"does not fit in 32 bits"),
        ("IMAGE_VERSION 2\nBOOT_FROM sd\nDATA 1 0x0 0x100\n", 3, r"does not fit the width of 1"),
        ("IMAGE_VERSION 2\nBOOT_FROM sd\nPLUGIN plugin.bin 0x00907000\n", 3, r"PLUGIN"),
        ("IMAGE_VERSION 2\nBOOT_FROM sd\nNOP 1\n", 3, r"NOP takes no arguments"),
    ],
)
def test_cfg_errors_name_the_line(text, line, match):
    with pytest.raises(FormatError, match=match) as info:
        parse_cfg(text, "bad.cfg")
    assert info.value.field == f"line {line}"
    assert str(info.value).startswith(f"bad.cfg: line {line}: ")


def test_cfg_dcd_over_1768_bytes_names_the_line():
    # 220 writes fill 4 + 4 + 220 * 8 = 1768 bytes exactly: the i.MX6 limit (and mkimage's)
    lines = ["IMAGE_VERSION 2", "BOOT_FROM sd"] + [f"DATA 4 0x{4 * i:08x} 0x1" for i in range(221)]
    text = "\n".join(lines) + "\n"
    assert parse_cfg("\n".join(lines[:-1])).dcd.length == 1768
    with pytest.raises(FormatError, match="DCD grows to 1776 bytes here, over the limit of 1768") as info:
        parse_cfg(text)
    assert info.value.field == "line 223"
    assert parse_cfg(text, max_dcd_size=None).dcd.length == 1776


def test_cfg_missing_boot_from():
    with pytest.raises(FormatError, match="no BOOT_FROM"):
        parse_cfg("IMAGE_VERSION 2\nDATA 4 0x0 0x0\n")
    with pytest.raises(FormatError, match="no IMAGE_VERSION"):
        parse_cfg("# empty\n")


def test_boot_offset_only():
    cfg = parse_cfg("IMAGE_VERSION 2\nBOOT_OFFSET 0x400\n")
    assert (cfg.boot_from, cfg.ivt_offset, cfg.init_load_size) == (None, 0x400, 0)
    assert parse_cfg(cfg.to_text()) == cfg


# --- .imx ------------------------------------------------------------------------------


def test_imx_layout_and_parse():
    cfg = parse_cfg(CFG)
    payload = bytes(range(256)) * 20  # 5120 bytes -> padded to 8 KiB
    imx = build_imx(payload, text_start=0x80010000, entry=0x80010100, cfg=cfg)
    assert len(imx) == 0xC00 + 0x2000
    img = parse_imx(imx)
    assert img.ivt == IVT(
        entry=0x80010100, dcd=0x8000F42C, boot_data=0x8000F420, self_addr=0x8000F400, csf=0x8000F400 + len(imx)
    )
    assert img.boot_data == BootData(0x8000F000, 0x400 + len(imx) + 0x4000)
    assert img.dcd == cfg.dcd and img.dcd_offset == 0x2C
    assert (img.header_offset, img.payload_offset, img.payload_length) == (0x400, 0xC00, 0x2000)
    assert img.payload_address == 0x80010000 and imx[0xC00 : 0xC00 + len(payload)] == payload
    assert (img.csf_offset, img.csf_size, img.csf_data) == (len(imx), 0x4000, b"")
    assert hab_blocks(img) == [(0x8000F400, 0, len(imx))]
    assert dcd_blocks(img) == [(0x00910000, 0x2C, cfg.dcd.length)]
    assert dcd_blocks(img, 0x00920000)[0][0] == 0x00920000
    # signed image: the CSF bytes are found, the blocks do not change
    signed = parse_imx(imx + b"\xd4" * 0x100)
    assert signed.csf_data == b"\xd4" * 0x100 and hab_blocks(signed) == hab_blocks(img)
    # SD card image: IVT at 0x400
    assert parse_imx(b"\0" * 0x400 + imx, 0x400) == img


def test_sdp_flavour():
    cfg = parse_cfg(CFG)
    imx = build_imx(b"\1" * 10, text_start=0x80010000, entry=0x80010000, cfg=cfg)
    sdp = clear_dcd_pointer(imx)
    img = parse_imx(sdp)
    assert img.ivt.dcd == 0 and img.is_sdp and img.dcd == cfg.dcd
    assert dcd_blocks(img) == dcd_blocks(parse_imx(imx))
    assert sdp[:12] == imx[:12] and sdp[16:] == imx[16:]


def test_no_csf():
    cfg = parse_cfg("IMAGE_VERSION 2\nBOOT_FROM sd\nDATA 4 0x10 0x0\n")
    imx = build_imx(b"\1" * 4096, text_start=0x80010000, entry=0x80010000, cfg=cfg)
    img = parse_imx(imx)
    assert img.ivt.csf == 0 and img.csf_offset is None and img.csf_size == 0
    assert img.boot_data.length == 0x400 + len(imx)
    assert hab_blocks(img) == [(0x8000F400, 0, 0x1C00)]


def test_parse_imx_errors():
    cfg = parse_cfg("IMAGE_VERSION 2\nBOOT_FROM sd\nCSF 0x2000\nDATA 4 0x10 0x0\n")
    imx = bytearray(build_imx(b"\1", text_start=0x80010000, entry=0x80010000, cfg=cfg))
    bad = bytearray(imx)
    bad[16:20] = (0x90000000).to_bytes(4, "little")
    with pytest.raises(FormatError, match="IVT.boot_data"):
        parse_imx(bytes(bad))
    bad = bytearray(imx)
    bad[0x2C] = 0xD3
    with pytest.raises(FormatError, match="DCD tag"):
        parse_imx(bytes(bad))
    with pytest.raises(FormatError, match="IVT tag"):
        parse_imx(b"\0" * 64)


def test_build_imx_text_start_too_low():
    with pytest.raises(FormatError, match="no room"):
        build_imx(b"x", text_start=0x800, entry=0, cfg=parse_cfg("IMAGE_VERSION 2\nBOOT_FROM sd\n"))
