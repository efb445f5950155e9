"""Intel HEX, S-record and UF2: round trips, and byte-for-byte agreement with GNU objcopy.

The objcopy comparisons run ``/usr/bin/objcopy`` (binutils 2.40) and are skipped when it is
missing; the ELF case also needs a host ``gcc``.

A note on the objcopy command lines: ``--change-addresses`` moves the start address too,
so ``--change-addresses 0x08000000 --set-start 0x08000401`` gives an entry of 0x10000401.
To ask objcopy for entry ``E`` with base ``B`` the tests pass ``--set-start E-B``.
"""

from __future__ import annotations

import os
import random
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from formats import ihex, srec, uf2
from formats.errors import FormatError

OBJCOPY = shutil.which("objcopy") or "/usr/bin/objcopy"
HAVE_OBJCOPY = os.path.exists(OBJCOPY)
needs_objcopy = pytest.mark.skipif(not HAVE_OBJCOPY, reason="GNU objcopy not installed")

TOP = 1 << 32


# --------------------------------------------------------------------------- helpers


def objcopy_binary(tmp: Path, data: bytes, base: int, start: int | None, fmt: str, *extra: str,
                   out_name: str = "out") -> bytes:
    """objcopy -I binary -O fmt with the blob at ``base`` and entry ``start`` (None = 0)."""
    src = tmp / "in.bin"
    src.write_bytes(data)
    entry = (start or 0) - base
    cmd = [OBJCOPY, "-I", "binary", "-O", fmt, "--change-addresses", hex(base),
           "--set-start", str(entry), *extra, "in.bin", out_name]
    subprocess.run(cmd, check=True, cwd=tmp, capture_output=True)
    return (tmp / out_name).read_bytes()


def flatten(segments) -> dict[int, int]:
    out: dict[int, int] = {}
    for address, data in segments:
        for i, b in enumerate(bytes(data)):
            out[address + i] = b
    return out


@st.composite
def segment_lists(draw, max_segments: int = 5, max_len: int = 600):
    """Non-overlapping segments in any order, with gaps; addresses near interesting edges."""
    anchors = [0, 0xFFF0, 0x10000, 0xFFFF0, 0x100000, 0xFFFFF0, 0x0800FFF0, 0x20000000,
               0xFFFF0000, TOP - 0x400]
    n = draw(st.integers(0, max_segments))
    spans = []
    for _ in range(n):
        anchor = draw(st.sampled_from(anchors))
        address = anchor + draw(st.integers(0, 0x300))
        length = draw(st.integers(0, max_len))
        address = min(address, TOP - length)
        if any(address < e and s < address + length for s, e in spans):
            continue
        if length and any(s == e == address for s, e in spans):
            continue
        spans.append((address, address + length))
    segs = []
    for s, e in spans:
        segs.append((s, draw(st.binary(min_size=e - s, max_size=e - s))))
    return segs


def merged(segments):
    """What parse() should return for ``segments``: sorted, touching ones joined."""
    out: list[list] = []
    for address, data in sorted(((a, bytes(d)) for a, d in segments if len(d)), key=lambda s: s[0]):
        if out and out[-1][0] + len(out[-1][1]) == address:
            out[-1][1] += data
        else:
            out.append([address, data])
    return tuple((a, d) for a, d in out)


# --------------------------------------------------------------------------- ihex

EDGES = [0, 3, 0xFFF3, 0x1FFF3, 0xFFFF3, 0x0800FFF3, 0x08000000, 0xFFFFFF00]


@needs_objcopy
@pytest.mark.parametrize("base", EDGES)
@pytest.mark.parametrize("start", [None, 0x401, 0xFFFFF, 0x08000401])
def test_ihex_matches_objcopy_binary(tmp_path, base, start):
    rng = random.Random(base ^ (start or 0))
    for n in (1, 16, 17, 0x10010):
        if base + n > TOP:
            continue
        data = rng.randbytes(n)
        assert ihex.build([(base, data)], start=start) == objcopy_binary(tmp_path, data, base, start, "ihex")


@needs_objcopy
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(min_size=1, max_size=3000),
       base=st.one_of(st.integers(0, 0x200000), st.integers(0x08000000, 0x08100000),
                      st.integers(TOP - 0x20000, TOP - 3000)),
       start=st.one_of(st.none(), st.integers(0, TOP - 1)))
def test_ihex_matches_objcopy_random(tmp_path, data, base, start):
    assert ihex.build([(base, data)], start=start) == objcopy_binary(tmp_path, data, base, start, "ihex")


@needs_objcopy
def test_ihex_srec_match_objcopy_on_real_files(tmp_path):
    """A few real files from this machine, at the STM32 flash base."""
    for path in ("/usr/bin/objcopy", "/etc/services", __file__):
        if not os.path.exists(path):
            continue
        data = Path(path).read_bytes()[: 300_000]
        assert ihex.build([(0x08000000, data)], start=0x08000401) == objcopy_binary(
            tmp_path, data, 0x08000000, 0x08000401, "ihex")
        assert srec.build([(0x08000000, data)], start=0x08000401, header=b"out") == objcopy_binary(
            tmp_path, data, 0x08000000, 0x08000401, "srec")


def test_ihex_start_records():
    """Type 03 (CS:IP) up to 0xFFFFF, type 05 above, nothing for 0 -- as objcopy writes."""
    assert ihex.build([], start=0x12345) == b":040000031000234581\r\n:00000001FF\r\n"
    assert ihex.build([], start=0xFFFFF) == b":04000003F000FFFF0B\r\n:00000001FF\r\n"
    assert ihex.build([], start=0x100000) == b":0400000500100000E7\r\n:00000001FF\r\n"
    assert ihex.build([], start=0) == ihex.build([]) == b":00000001FF\r\n"
    assert ihex.parse(ihex.build([], start=0x12345)).start == 0x12345


def test_ihex_64k_boundary_and_extended_records():
    data = bytes(range(40))
    text = ihex.build([(0x0800FFF3, data)]).decode().splitlines()
    assert text[:3] == [":020000040800F2", ":0DFFF300" + data[:13].hex().upper() + "%02X" % (
        -(13 + 0xFF + 0xF3 + sum(data[:13])) & 0xFF), ":020000040801F1"]
    assert text[3].startswith(":10000000")
    # Below 1 MiB objcopy uses segment records, and cancels them before the first 04 record.
    text = ihex.build([(0xFFFF3, data)]).decode().splitlines()
    assert [line[7:9] for line in text] == ["02", "00", "02", "04", "00", "00", "01"]
    assert text[2] == ":020000020000FC"


@settings(max_examples=150, deadline=None)
@given(segments=segment_lists(), start=st.one_of(st.none(), st.integers(0, TOP - 1)),
       record_size=st.sampled_from([1, 16, 32, 255]))
def test_ihex_round_trip(segments, start, record_size):
    text = ihex.build(segments, start=start, record_size=record_size)
    image = ihex.parse(text)
    assert image.segments == merged(segments)
    assert image.start == (start or None)
    # every line is a well-formed record
    for line in text.split(b"\r\n")[:-1]:
        rec = bytes.fromhex(line[1:].decode())
        assert sum(rec) & 0xFF == 0 and len(rec) == rec[0] + 5


def test_ihex_parse_errors_name_the_line():
    good = ihex.build([(0x08000000, bytes(40))], start=0x08000001)
    lines = good.split(b"\r\n")
    bad = lines[:]
    bad[2] = bad[2][:-2] + b"00"
    with pytest.raises(FormatError) as err:
        ihex.parse(b"\r\n".join(bad))
    assert err.value.field == "line 3" and "checksum" in err.value.message
    assert err.value.offset == len(lines[0]) + len(lines[1]) + 4
    with pytest.raises(FormatError, match="end-of-file"):
        ihex.parse(b"\n".join(lines[:-2]))
    with pytest.raises(FormatError) as err:
        ihex.parse(b":0200000400AB4F\n:0100000041BE\n:0100000042BD\n:00000001FF\n")
    assert err.value.field == "line 3" and "overlaps" in err.value.message
    with pytest.raises(FormatError, match="type 07"):
        ihex.parse(b":00000007F9\n:00000001FF\n")
    with pytest.raises(FormatError, match="length"):
        ihex.parse(b":0200000041BD\n:00000001FF\n")
    with pytest.raises(FormatError, match="':'"):
        ihex.parse(b"0100000041BE\n:00000001FF\n")


def test_ihex_parse_lenient_text_and_segment_wrap():
    # lower case, LF, blank lines, whitespace
    img = ihex.parse(b"  :0200000400aa50\n\n:02fffe000102fe\n:00000001ff  \n")
    assert img.segments == ((0xAAFFFE, b"\x01\x02"),)
    # a record under a type-02 base wraps inside its 64 KiB segment (spec), not under 04
    img = ihex.parse(b":020000021000EC\n:02FFFF000102FD\n:00000001FF\n")
    assert img.segments == ((0x10000, b"\x02"), (0x1FFFF, b"\x01"))


def test_ihex_build_errors():
    with pytest.raises(FormatError):
        ihex.build([(TOP - 1, b"ab")])
    with pytest.raises(FormatError, match="overlap"):
        ihex.build([(0, b"abcd"), (2, b"xy")])
    with pytest.raises(FormatError):
        ihex.build([], start=TOP)
    with pytest.raises(FormatError):
        ihex.build([(0, b"a")], record_size=0)
    assert ihex.build([(TOP - 1, b"\xAA")]) == b":02000004FFFFFC\r\n:01FFFF00AA57\r\n:00000001FF\r\n"


def test_ihex_16mib_round_trips():
    """A 16 MiB image: record count and content survive (speed is in bench/, not here)."""
    data = random.Random(7).randbytes(16 << 20)
    text = ihex.build([(0x08000000, data)], start=0x08000401)
    assert len(text) == 47190306
    img = ihex.parse(text)
    assert img.segments == ((0x08000000, data),) and img.start == 0x08000401


# --------------------------------------------------------------------------- srec


@needs_objcopy
@pytest.mark.parametrize("base", [0, 0xFFF3, 0xFFFF3, 0xFFFFF3, 0x0800FFF3, 0xFFFFFF00])
@pytest.mark.parametrize("variant", [
    ((), {}),
    (("--srec-len", "1"), {"record_size": 1}),
    (("--srec-len", "33"), {"record_size": 33}),
    (("--srec-forceS3",), {"addr_width": 4}),
    (("--srec-len", "250", "--srec-forceS3"), {"record_size": 250, "addr_width": 4}),
])
def test_srec_matches_objcopy_binary(tmp_path, base, variant):
    extra, kwargs = variant
    rng = random.Random(base)
    for n, start in ((1, None), (17, 0x401), (300, 0xFFFF), (5000, None)):
        if base + n > TOP:
            continue
        if start is not None and base + n - 1 <= 0xFFFF < start:
            continue  # objcopy truncates here; see test_srec_start_never_truncated
        data = rng.randbytes(n)
        ours = srec.build([(base, data)], start=start, header=srec.objcopy_header("out"), **kwargs)
        assert ours == objcopy_binary(tmp_path, data, base, start, "srec", *extra)


@needs_objcopy
def test_srec_header_is_the_output_name(tmp_path):
    """objcopy's S0 holds the output path exactly as given, cut to 40 bytes."""
    (tmp_path / "sub").mkdir()
    for name in ("sub/fw.srec", "sub/" + "x" * 60 + ".srec"):
        ref = objcopy_binary(tmp_path, b"abc", 0, None, "srec", out_name=name)
        assert ref == srec.build([(0, b"abc")], header=srec.objcopy_header(name))
        assert srec.parse(ref).header == name.encode()[:40]


@needs_objcopy
def test_srec_start_never_truncated(tmp_path):
    """objcopy bug: S1 data with a 32-bit entry writes S9 with the entry cut to 16 bits."""
    ref = objcopy_binary(tmp_path, b"abc", 0, 0x12345678, "srec")
    assert ref.split(b"\r\n")[-2] == b"S90356782E"  # objcopy: entry 0x5678, wrong
    ours = srec.build([(0, b"abc")], start=0x12345678, header=b"out")
    assert ours.split(b"\r\n")[-3:] == [b"S30800000000616263D1", b"S70512345678E6", b""]
    # ... which is what objcopy writes when told to use S3 records
    assert ours == objcopy_binary(tmp_path, b"abc", 0, 0x12345678, "srec", "--srec-forceS3")
    assert srec.parse(ours).start == 0x12345678


def test_srec_widths_and_count_record():
    assert srec.build([]) == b"S0030000FC\r\nS9030000FC\r\n"
    assert srec.build([(0xFFFF, b"a")]).split(b"\r\n")[1][:2] == b"S1"
    assert srec.build([(0xFFFF, b"ab")]).split(b"\r\n")[1][:2] == b"S2"
    assert srec.build([(0xFFFFFF, b"ab")]).split(b"\r\n")[1][:2] == b"S3"
    text = srec.build([(0, bytes(40))], count_record=True)
    assert text.split(b"\r\n")[-3] == b"S5030003F9"
    assert srec.parse(text).count == 3
    with pytest.raises(FormatError, match="count"):
        srec.parse(text.replace(b"S5030003F9", b"S5030004F8"))
    with pytest.raises(FormatError):
        srec.build([(0x10000, b"a")], addr_width=2)
    with pytest.raises(FormatError):
        srec.build([(0, b"a")], start=0x10000, addr_width=2)
    with pytest.raises(FormatError):
        srec.build([(0, b"a")], record_size=251, addr_width=4)


@settings(max_examples=150, deadline=None)
@given(segments=segment_lists(), start=st.one_of(st.none(), st.integers(0, TOP - 1)),
       record_size=st.sampled_from([1, 16, 64, 250]), header=st.binary(max_size=60),
       width=st.sampled_from([None, 4]), count=st.booleans())
def test_srec_round_trip(segments, start, record_size, header, width, count):
    text = srec.build(segments, start=start, header=header, record_size=record_size,
                      addr_width=width, count_record=count)
    image = srec.parse(text)
    assert image.segments == merged(segments)
    assert image.start == (start or 0)
    assert image.header == header
    assert srec.build(image.segments, start=image.start, header=image.header,
                      addr_width=image.addr_width) == srec.build(
        merged(segments), start=start, header=header, addr_width=width)


def test_srec_parse_errors_name_the_line():
    text = srec.build([(0x1000, bytes(20))], header=b"hdr").split(b"\r\n")
    text[1] = text[1][:-1] + (b"0" if text[1][-1:] != b"0" else b"1")
    with pytest.raises(FormatError) as err:
        srec.parse(b"\n".join(text))
    assert err.value.field == "line 2" and "checksum" in err.value.message
    with pytest.raises(FormatError, match="S4"):
        srec.parse(b"S4030000FC\n")
    with pytest.raises(FormatError, match="termination"):
        srec.parse(b"S9030000FC\nS1040000001B\n".replace(b"1B", b"FB"))


# --------------------------------------------------------------------------- ELF with a gap


def _elf_sections(path: Path):
    from elftools.elf.elffile import ELFFile
    from elftools.elf.constants import SH_FLAGS

    with path.open("rb") as f:
        elf = ELFFile(f)
        segs = [(s["sh_addr"], s.data()) for s in elf.iter_sections()
                if s["sh_flags"] & SH_FLAGS.SHF_ALLOC and s["sh_type"] != "SHT_NOBITS" and s["sh_size"]]
        loads = [p for p in elf.iter_segments() if p["p_type"] == "PT_LOAD"]
        return segs, elf.header["e_entry"], loads


ELF_LAYOUTS = {
    # .text / .rodata across a 64 KiB boundary / .data after a gap, type 04 + 05 records
    "stm32": ("0x08000000", "0x0800FFC0", "0x08020003"),
    # segment (type 02) records, a switch to type 04 at 1 MiB, and a type-03 entry
    "low": ("0x00010000", "0x0001FFC0", "0x00100003"),
}


@needs_objcopy
@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs a host gcc to link the test ELF")
@pytest.mark.parametrize("layout", sorted(ELF_LAYOUTS))
def test_matches_objcopy_on_elf_with_gap(tmp_path, layout):
    text_at, rodata_at, data_at = ELF_LAYOUTS[layout]
    (tmp_path / "t.c").write_text(
        "const unsigned char table[300] = {1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17};\n"
        "unsigned char buf[37] = {0xde,0xad,0xbe,0xef};\n"
        "void _start(void){ for(;;); }\n")
    subprocess.run(
        ["gcc", "-O1", "-nostdlib", "-static", "-no-pie", "-fno-asynchronous-unwind-tables",
         "-Wl,-z,noseparate-code", "-Wl,--build-id=none", f"-Wl,-Ttext={text_at}",
         f"-Wl,--section-start=.rodata={rodata_at}", f"-Wl,--section-start=.data={data_at}",
         "-o", "t.elf", "t.c"], check=True, cwd=tmp_path, capture_output=True)
    segs, entry, loads = _elf_sections(tmp_path / "t.elf")
    assert len([p for p in loads if p["p_filesz"]]) >= 3  # gaps between PT_LOADs
    for fmt in ("ihex", "srec"):
        subprocess.run([OBJCOPY, "-O", fmt, "t.elf", "out"], check=True, cwd=tmp_path)
        ref = (tmp_path / "out").read_bytes()
        if fmt == "ihex":
            assert ihex.build(segs, start=entry) == ref
            assert ihex.parse(ref).segments == merged(segs)
        else:
            assert srec.build(segs, start=entry, header=srec.objcopy_header("out")) == ref
            assert srec.parse(ref).segments == merged(segs)


# --------------------------------------------------------------------------- UF2


def uf2conv_from_hex(hex_text: bytes, family: int) -> bytes:
    """An independent per-byte model of uf2conv.py's HEX -> UF2 path (256-byte blocks)."""
    blocks: list[tuple[int, bytearray]] = []
    upper = 0
    for line in hex_text.decode().splitlines():
        rec = bytes.fromhex(line[1:])
        kind = rec[3]
        if kind == 4:
            upper = int.from_bytes(rec[4:6], "big") << 16
        elif kind == 2:
            upper = int.from_bytes(rec[4:6], "big") << 4
        elif kind == 1:
            break
        elif kind == 0:
            addr = upper + int.from_bytes(rec[1:3], "big")
            for b in rec[4:-1]:
                if not blocks or blocks[-1][0] != addr & ~0xFF:
                    blocks.append((addr & ~0xFF, bytearray(256)))
                blocks[-1][1][addr & 0xFF] = b
                addr += 1
    flags = 0x2000 if family else 0
    return b"".join(
        struct.pack("<8I", 0x0A324655, 0x9E5D5157, flags, a, 256, n, len(blocks), family)
        + bytes(payload) + bytes(476 - 256) + struct.pack("<I", 0x0AB16F30)
        for n, (a, payload) in enumerate(blocks))


@settings(max_examples=60, deadline=None)
@given(segments=segment_lists(max_len=1500),
       family=st.sampled_from([0, uf2.FAMILIES["RP2040"], uf2.FAMILIES["STM32F4"]]))
def test_uf2_matches_uf2conv_model(segments, family):
    assert uf2.build(segments, family_id=family or None) == uf2conv_from_hex(ihex.build(segments), family)


@settings(max_examples=150, deadline=None)
@given(segments=segment_lists(max_len=1500),
       family=st.one_of(st.none(), st.sampled_from(sorted(uf2.FAMILIES))),
       payload_size=st.sampled_from([256, 4, 384, 476]), fill=st.sampled_from([0, 0xFF]))
def test_uf2_round_trip(segments, family, payload_size, fill):
    try:
        blob = uf2.build(segments, family_id=family, payload_size=payload_size, fill=fill)
    except FormatError:
        # only a padded block past 4 GiB (payload sizes that do not divide 2**32)
        assert payload_size in (384, 476)
        assert any(a + len(d) > (TOP // payload_size) * payload_size for a, d in segments if d)
        return
    assert len(blob) % 512 == 0
    image = uf2.parse(blob)
    want = uf2.resolve_family(family) if family and blob else None
    assert image.family_id == want
    got = flatten(image.segments)
    for address, byte in flatten(segments).items():
        assert got.pop(address) == byte
    assert set(got.values()) <= {fill}
    for address in got:
        assert any(a // payload_size == address // payload_size for a in flatten(segments))
    assert uf2.build(image.segments, family_id=family, payload_size=payload_size) == blob
    for n, block in enumerate(image.blocks):
        assert block.block_no == n and block.num_blocks == len(image.blocks)
        assert block.target_addr % payload_size == 0 and block.payload_size == payload_size


def test_uf2_block_layout():
    blob = uf2.build([(0x10000010, b"\x11" * 300)], family_id="rp2040")
    assert len(blob) == 1024
    head = struct.unpack_from("<8I", blob, 0)
    assert head == (0x0A324655, 0x9E5D5157, 0x2000, 0x10000000, 256, 0, 2, 0xE48BFF56)
    assert blob[32:48] == bytes(16) and blob[48:288] == b"\x11" * 240
    assert blob[288:508] == bytes(220) and blob[508:512] == struct.pack("<I", 0x0AB16F30)
    assert struct.unpack_from("<8I", blob, 512)[3:6] == (0x10000100, 256, 1)
    assert blob[512 + 32: 512 + 32 + 60] == b"\x11" * 60 and blob[512 + 92: 512 + 288] == bytes(196)
    # two segments sharing a window make one block
    assert len(uf2.build([(0, b"a"), (200, b"b")])) == 512
    assert uf2.build([]) == b""


def test_uf2_parse_errors():
    blob = bytearray(uf2.build([(0x2000, bytes(1024))], family_id=0x1234))
    with pytest.raises(FormatError, match="multiple of 512"):
        uf2.parse(bytes(blob[:-1]))
    bad = bytearray(blob)
    bad[512] ^= 1
    with pytest.raises(FormatError) as err:
        uf2.parse(bytes(bad))
    assert err.value.field == "block 1" and err.value.offset == 512
    bad = bytearray(blob)
    bad[1024 - 4] ^= 1
    with pytest.raises(FormatError, match="end magic"):
        uf2.parse(bytes(bad))
    with pytest.raises(FormatError, match="blockNo"):
        uf2.parse(bytes(blob[:512] + blob[1024:1536] + blob[512:1024] + blob[1536:]))
    with pytest.raises(FormatError, match="ends after block"):
        uf2.parse(bytes(blob[:1024]))
    dup = bytearray(blob[:1024])
    struct.pack_into("<I", dup, 12, 0x2000)
    struct.pack_into("<I", dup, 512 + 12, 0x2080)
    struct.pack_into("<I", dup, 24, 2)
    struct.pack_into("<I", dup, 512 + 24, 2)
    with pytest.raises(FormatError, match="overlaps"):
        uf2.parse(bytes(dup))
    big = bytearray(blob)
    struct.pack_into("<I", big, 16, 477)
    with pytest.raises(FormatError, match="payload size"):
        uf2.parse(bytes(big))


def test_uf2_concatenated_families_and_not_main_flash():
    a = uf2.build([(0x10000000, b"A" * 256)], family_id="RP2040")
    b = uf2.build([(0x10000000, b"B" * 512)], family_id="RP2350_ARM_S")
    both = a + b
    with pytest.raises(FormatError, match="several families"):
        uf2.parse(both)
    assert uf2.parse(both, family_id="RP2040").segments == ((0x10000000, b"A" * 256),)
    image = uf2.parse(both, family_id=0xE48BFF59)
    assert image.segments == ((0x10000000, b"B" * 512),)
    assert image.families == (0xE48BFF56, 0xE48BFF59)
    with pytest.raises(FormatError, match="no blocks"):
        uf2.parse(both, family_id="STM32F4")
    comment = bytearray(a)
    struct.pack_into("<I", comment, 8, 0x2001)
    assert uf2.parse(bytes(comment)).segments == ()
    # a second complete file of the same family is a new numbering run
    assert uf2.parse(a + uf2.build([(0x10000100, b"C" * 4)], family_id="RP2040")).segments == (
        (0x10000000, b"A" * 256 + b"C" * 4 + bytes(252)),)


def test_uf2_family_catalogue():
    assert uf2.FAMILIES["RP2040"] == 0xE48BFF56
    assert uf2.FAMILIES["STM32F4"] == 0x57755A57
    assert uf2.FAMILIES["STM32F7"] == 0x53B80F00
    assert uf2.FAMILIES["STM32L4"] == 0x00FF6919
    assert uf2.FAMILIES["STM32H7"] == 0x6DB66082
    assert uf2.FAMILIES["SAMD21"] == 0x68ED2B88
    assert uf2.FAMILIES["SAMD51"] == 0x55114460
    assert uf2.FAMILIES["NRF52840"] == 0xADA52840
    assert uf2.FAMILIES["ESP32S2"] == 0xBFDD4EEE
    assert uf2.FAMILIES["MIMXRT10XX"] == 0x4FB2D5BD
    assert len(set(uf2.FAMILIES.values())) == len(uf2.FAMILIES)
    assert uf2.resolve_family("rp2350-arm-s") == 0xE48BFF59
    assert uf2.resolve_family("0x1234") == 0x1234
    assert uf2.family_name(0xADA52840) == "NRF52840"
    with pytest.raises(FormatError, match="unknown UF2 family"):
        uf2.resolve_family("nope")
