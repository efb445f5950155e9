"""formats.boot: the emitted stub bytes equal what Debian's binutils make of the committed
``.S`` sources (several parameter values each), the parsers read the parameters back,
and bad parameters are refused. The QEMU boots are in test_boot_qemu.py."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings, strategies as st

from formats.boot import arm, bios
from formats.errors import FormatError
from payload_helpers import STUBS, assemble_arm, assemble_bios

ENTRIES = [0x110008, 0x10008, 0x80010000 + 0x6E4, 0xFFFFFFFC, 0x8001]
XP = {"plain": 0, "armv6": 1}


@pytest.mark.parametrize("variant", arm.VARIANTS)
@pytest.mark.parametrize("entry", ENTRIES)
def test_entry_stub_equals_assembled_source(entry, variant):
    for march in ("armv6", "armv7-a"):
        ref = assemble_arm(STUBS / "arm_entry.S", {"ENTRY": entry, "XP": XP[variant]}, march=march)
        assert arm.entry_stub(entry, variant=variant) == ref
    assert len(ref) == arm.ENTRY_STUB_SIZE[variant]


def test_plain_entry_stub_is_the_tamago_recipe():
    # tamago board README / tamago-example-pizero boot.S: E59F1000 E12FFF11 <entry LE32>
    assert arm.entry_stub(0x00110A2C) == bytes.fromhex("00109fe5 11ff2fe1 2c0a1100")
    assert arm.entry_stub(0x00110A2C, variant="armv6")[12:] == arm.entry_stub(0x00110A2C)


RANGE_SETS = [
    [],
    [(0x113000, 0x113004)],
    [(0x80200000, 0x80200010), (0x80200050, 0x82200051)],  # .bss, gap, .noptrbss with an odd end
    [(0x1001, 0x1002), (0x2000, 0x2003), (0x3002, 0x4000), (0x5000, 0x5400), (0xFFFF0000, 0xFFFFFFFF)],
]


@pytest.mark.parametrize("variant", arm.VARIANTS)
@pytest.mark.parametrize("ranges", RANGE_SETS, ids=lambda r: f"{len(r)}ranges")
def test_bss_zero_stub_equals_assembled_source(ranges, variant):
    for entry in (0x110008, 0x80010ABC):
        syms = {"ENTRY": entry, "XP": XP[variant], "NRANGES": len(ranges)}
        for i, (s, e) in enumerate(ranges):
            syms[f"START{i}"], syms[f"END{i}"] = s, e
        ref = assemble_arm(STUBS / "arm_bsszero.S", syms)
        stub = arm.bss_zero_stub(entry, ranges, variant=variant)
        assert stub == ref
        assert len(stub) == arm.bss_zero_stub_size(len(ranges), variant=variant)
        parsed = arm.parse_bss_zero_stub(ref + b"\xff" * 8)
        assert (parsed.variant, parsed.entry, parsed.ranges, parsed.size) == (variant, entry, tuple(ranges), len(ref))


BIOS_PARAMS = [
    dict(LBA=200, SECTORS=1, LOAD=0x10010000, ENTRY=0x10010000, BSS_START=0, BSS_END=0),
    dict(LBA=2048, SECTORS=4387, LOAD=0x10010000, ENTRY=0x100D3740, BSS_START=0x10240000, BSS_END=0x12250003),
    dict(LBA=0xFFFFFFFF, SECTORS=0x7F000, LOAD=0x100000, ENTRY=0xFFFFFFF0, BSS_START=0x100000, BSS_END=0xFFFFFFFF),
]


@pytest.mark.parametrize("p", BIOS_PARAMS, ids=lambda p: f"lba{p['LBA']}")
def test_bios_boot_code_equals_assembled_source(p):
    ref = assemble_bios(STUBS / "bios_boot.S", p)
    code = bios.boot_code(load=p["LOAD"], entry=p["ENTRY"], lba=p["LBA"], payload_size=p["SECTORS"] * 512 - 100,
                          bss_start=p["BSS_START"], bss_end=p["BSS_END"])
    assert len(ref) == bios.CODE_SIZE == len(code)
    assert code == ref
    got = bios.parse(ref + bytes(72))
    assert (got.lba, got.sectors, got.load, got.entry, got.bss_start, got.bss_end) == (
        p["LBA"], p["SECTORS"], p["LOAD"], p["ENTRY"], p["BSS_START"], p["BSS_END"])


def test_bios_sector_count_rounds_up():
    assert [bios.sectors_for(n) for n in (0, 1, 511, 512, 513, 32768 + 100)] == [0, 1, 1, 1, 2, 65]
    code = bios.boot_code(load=0x10010000, entry=0x10010000, lba=1, payload_size=32768 + 1)
    assert bios.parse(code).sectors == 65


@pytest.mark.parametrize("source", ["arm_entry.S", "arm_bsszero.S", "bios_boot.S"])
def test_every_instruction_has_a_comment(source):
    text = (STUBS / source).read_text()
    body = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    comment = "#" if source.startswith("bios") else "@"
    for n, line in enumerate(body.splitlines(), 1):
        code = re.sub(r"^\s*\w+:\s*", "", line).strip()
        if not code or code.startswith((".", comment)) or code.endswith(":"):
            continue
        assert comment in code, f"{source}: instruction without a comment: {line!r}"


# --- refusals --------------------------------------------------------------------------


def test_bss_zero_stub_refuses_bad_ranges():
    with pytest.raises(FormatError, match="before it starts"):
        arm.bss_zero_stub(0x1000, [(0x3000, 0x2000)])
    with pytest.raises(FormatError, match="overlaps the stub"):
        arm.bss_zero_stub(0x1000, [(0x8000, 0x9000)], address=0x8F00)
    with pytest.raises(FormatError, match="32-bit"):
        arm.bss_zero_stub(1 << 32, [])
    with pytest.raises(FormatError, match="32-bit"):
        arm.bss_zero_stub(0, [(0xFFFFFF00, 1 << 32)])
    with pytest.raises(FormatError, match="unknown stub variant"):
        arm.entry_stub(0, variant="thumb")


def test_bss_zero_stub_merges_touching_ranges():
    stub = arm.parse_bss_zero_stub(arm.bss_zero_stub(0, [(0x2000, 0x3000), (0x1000, 0x2000), (0x5000, 0x5000)]))
    assert stub.ranges == ((0x1000, 0x3000),) and stub.zeroed == 0x2000


@pytest.mark.parametrize("kw,match", [
    (dict(load=0x7C00), "below 1 MiB"),
    (dict(load=0xFFFFFE00, payload_size=1024), "past 4 GiB"),
    (dict(bss_start=0x10200000, bss_end=0x10100000), "below bss_start"),
    (dict(bss_start=0x7000, bss_end=0x8000), "starts below 1 MiB"),
    (dict(bss_start=0x200000, bss_end=1 << 32), "32-bit"),
    (dict(entry=1 << 32), "32-bit"),
])
def test_bios_boot_code_refuses(kw, match):
    args = {**dict(load=0x10010000, entry=0x10010000, lba=64, payload_size=4096), **kw}
    with pytest.raises(FormatError, match=match):
        bios.boot_code(**args)


def test_parsers_name_the_difference():
    code = bytearray(bios.boot_code(load=0x100000, entry=0x100000, lba=1, payload_size=1))
    code[0x30] ^= 1
    with pytest.raises(FormatError) as e:
        bios.parse(code)
    assert e.value.offset == 0x30 and "boot code" in str(e.value)
    assert bios.identify(bytes(512)) is None
    stub = bytearray(arm.bss_zero_stub(0x1234, [(0x100, 0x200)]))
    stub[8] ^= 0x10
    with pytest.raises(FormatError) as e:
        arm.parse_bss_zero_stub(stub)
    assert e.value.offset == 0 or e.value.offset == 8
    assert arm.identify(stub) is None
    with pytest.raises(FormatError, match="runs past the end"):
        arm.parse_bss_zero_stub(arm.bss_zero_stub(0, [(0, 4), (8, 12)])[:-1])


# --- properties ------------------------------------------------------------------------

u32 = st.integers(0, 0xFFFFFFFF)


@settings(max_examples=60, deadline=None)
@given(entry=u32, variant=st.sampled_from(arm.VARIANTS), pad=st.binary(max_size=16))
def test_entry_stub_round_trip(entry, variant, pad):
    got = arm.identify(arm.entry_stub(entry, variant=variant) + pad)
    assert got == arm.EntryStub(variant, entry, arm.ENTRY_STUB_SIZE[variant])


@settings(max_examples=60, deadline=None)
@given(entry=u32, variant=st.sampled_from(arm.VARIANTS),
       ranges=st.lists(st.tuples(u32, st.integers(0, 0x10000)).map(lambda t: (t[0], min(t[0] + t[1], 0xFFFFFFFF))),
                       max_size=6))
def test_bss_zero_stub_round_trip(entry, variant, ranges):
    stub = arm.bss_zero_stub(entry, ranges, variant=variant)
    got = arm.identify(stub)
    assert isinstance(got, arm.BssZeroStub)
    assert (got.entry, got.variant, got.ranges, got.size) == (entry, variant, arm.merge_ranges(ranges), len(stub))


@settings(max_examples=60, deadline=None)
@given(load=st.integers(0x100000, 0xF0000000), entry=u32, lba=st.integers(0, (1 << 64) - 1),
       size=st.integers(0, 0x0FFFFFFF), bss=st.tuples(st.integers(0x100000, 0xFFFFFFFF), st.integers(0, 1 << 26)))
def test_bios_round_trip(load, entry, lba, size, bss):
    bss_start, bss_end = bss[0], min(bss[0] + bss[1], 0xFFFFFFFF)
    code = bios.boot_code(load=load, entry=entry, lba=lba, payload_size=size, bss_start=bss_start, bss_end=bss_end)
    got = bios.parse(code)
    assert got == bios.BiosBootParams(lba, bios.sectors_for(size), load, entry, bss_start, bss_end)
    assert got.load_end == load + bios.sectors_for(size) * 512


@settings(max_examples=100, deadline=None)
@given(data=st.binary(max_size=600), offset=st.integers(0, 64))
def test_parsers_only_raise_format_error(data, offset):
    assert arm.identify(data, offset) is None or data[offset:offset + 4] in (
        bytes.fromhex("00109fe5"), bytes.fromhex("101f11ee"), bytes.fromhex("64008fe5"), bytes.fromhex("70008fe5"))
    assert bios.identify(data) is None
    for parse in (arm.parse_entry_stub, arm.parse_bss_zero_stub):
        with pytest.raises(FormatError):
            parse(data, offset)
