"""Bad input: corrupted variants of a real Go ELF each give exit 2, one readable line that
names the file and the field or offset, no traceback, and no output file."""

from __future__ import annotations

import io
import random
import struct
import subprocess

import pytest
from elftools.elf.elffile import ELFFile

from conftest import objcopy


#: ELF32 header fields after e_ident and their offsets (System V ABI, "ELF Header").
EHDR32 = (("e_type", 16), ("e_machine", 18), ("e_version", 20), ("e_entry", 24), ("e_phoff", 28), ("e_shoff", 32),
          ("e_flags", 36), ("e_ehsize", 40), ("e_phentsize", 42), ("e_phnum", 44), ("e_shentsize", 46),
          ("e_shnum", 48), ("e_shstrndx", 50))


def _truncation_field(data: bytes, cut: int) -> str:
    """The field a reader must name when the ELF ``data`` is cut at ``cut``: the first
    structure, in reading order, that the cut leaves incomplete (read with pyelftools)."""
    if cut < 4:
        return "magic"
    if cut < 16:
        return "e_ident"
    if cut < 52:
        return next(name for name, off in reversed(EHDR32) if off <= cut)
    elf = ELFFile(io.BytesIO(data))
    if elf["e_phoff"] + elf["e_phnum"] * elf["e_phentsize"] > cut:
        return "e_phoff"
    if elf["e_shoff"] + elf["e_shnum"] * elf["e_shentsize"] > cut:
        return "e_shoff"
    for seg in elf.iter_segments():
        if seg["p_filesz"] and seg["p_offset"] + seg["p_filesz"] > cut:
            return "p_offset"
    names = elf.get_section(elf["e_shstrndx"])
    if names["sh_offset"] + names["sh_size"] > cut:
        return "e_shstrndx"
    for sec in elf.iter_sections():
        if sec["sh_type"] not in ("SHT_NOBITS", "SHT_NULL") and sec["sh_offset"] + sec["sh_size"] > cut:
            return "sh_offset"
    raise AssertionError(f"a cut at {cut} leaves the ELF whole")


def _variants(data: bytes) -> list[tuple[str, bytes, str]]:
    """(label, corrupted bytes, the field the message must name)."""
    rng = random.Random(20261121)
    size = len(data)
    out = []
    # Truncated at random offsets: inside the header, the tables and the contents.
    for cut in [0, 3, 9, 20, 51] + sorted(rng.sample(range(52, size - 1), 10)):
        out.append((f"truncated-at-{cut}", data[:cut], _truncation_field(data, cut)))
    e_phoff, e_shoff = struct.unpack_from("<II", data, 28)
    d = bytearray(data); struct.pack_into("<I", d, 28, size - 10)
    out.append(("e_phoff-past-end", bytes(d), "e_phoff"))
    d = bytearray(data); struct.pack_into("<I", d, 28, 0xFFFFFFF0)
    out.append(("e_phoff-huge", bytes(d), "e_phoff"))
    d = bytearray(data); struct.pack_into("<I", d, 32, size)
    out.append(("e_shoff-past-end", bytes(d), "e_shoff"))
    d = bytearray(data); struct.pack_into("<H", d, 42, 20)
    out.append(("bad-e_phentsize", bytes(d), "e_phentsize"))
    d = bytearray(data); d[0:4] = b"\x7fELG"
    out.append(("bad-magic", bytes(d), "magic"))
    d = bytearray(data); d[4] = 7
    out.append(("bad-class", bytes(d), "EI_CLASS"))
    d = bytearray(data); struct.pack_into("<H", d, 18, 0x1234)
    out.append(("unknown-machine", bytes(d), "e_machine"))
    # Overlapping segments: move the second PT_LOAD onto the first.
    loads = []
    phnum = struct.unpack_from("<H", data, 44)[0]
    for i in range(phnum):
        off = e_phoff + 32 * i
        if struct.unpack_from("<I", data, off)[0] == 1:
            loads.append(off)
    d = bytearray(data)
    first_vaddr = struct.unpack_from("<I", d, loads[0] + 8)[0]
    struct.pack_into("<II", d, loads[1] + 8, first_vaddr + 0x100, first_vaddr + 0x100)
    out.append(("overlapping-segments", bytes(d), "overlap"))
    # A section whose contents run past the end of the file.
    shnum = struct.unpack_from("<H", data, 48)[0]
    d = bytearray(data)
    struct.pack_into("<I", d, e_shoff + 40 * (shnum - 2) + 16, size + 100)
    out.append(("section-past-end", bytes(d), "sh_offset"))
    d = bytearray(data); struct.pack_into("<I", d, loads[0] + 16, 0xFFFFFFF)
    out.append(("filesz-beyond-memsz", bytes(d), "p_filesz"))
    d = bytearray(data); struct.pack_into("<H", d, 50, shnum)
    out.append(("e_shstrndx-out-of-range", bytes(d), "e_shstrndx"))
    d = bytearray(data); struct.pack_into("<H", d, 46, 30)
    out.append(("bad-e_shentsize", bytes(d), "e_shentsize"))
    return out


@pytest.fixture(scope="module")
def original(go_elf):
    return go_elf("arm7").read_bytes()


@pytest.fixture(scope="module")
def variants(original):
    return _variants(original)


def test_variants_are_real_and_distinct(original, variants, tmp_path, run_imgtool):
    """Each variant is a different input from the original and from every other one, the
    untouched ELF passes both commands (so each failure comes from its corruption), and
    the variants reach many different checks: their fields are not one or two."""
    inputs = [data for _label, data, _field in variants]
    assert original not in inputs and len(set(inputs)) == len(inputs) >= 20
    fields = {field for _label, _data, field in variants}
    assert len(fields) >= 12, sorted(fields)
    src = tmp_path / "original.elf"
    src.write_bytes(original)
    run_imgtool("bin", src, "-o", tmp_path / "original.bin", check=True)
    run_imgtool("info", src, check=True)


@pytest.mark.parametrize("command", ["bin", "info"])
def test_each_variant_exits_2_with_one_line(variants, command, tmp_path, run_imgtool):
    for label, data, word in variants:
        src = tmp_path / f"{label}.elf"
        src.write_bytes(data)
        out = tmp_path / f"{label}.bin"
        args = ["bin", src, "-o", out] if command == "bin" else ["info", src]
        r = run_imgtool(*args)
        assert r.returncode == 2, (label, r.returncode, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in r.stderr, (label, r.stderr)
        assert lines[0].startswith("imgtool: error: ") and str(src) in lines[0], (label, lines[0])
        assert word and word.lower() in lines[0].lower(), (label, lines[0])
        assert not out.exists(), label
        assert r.stdout == ""


def test_objcopy_mangled_lma_is_refused(go_elf, tmp_path, run_imgtool):
    """objcopy --change-section-lma on a Go ELF writes overlapping PT_LOADs; we refuse that file."""
    bad = tmp_path / "mangled.elf"
    subprocess.run([objcopy(), "--change-section-lma", ".noptrbss+0x08000000", str(go_elf("arm7")), str(bad)],
                   check=True, capture_output=True)
    r = run_imgtool("bin", bad, "-o", tmp_path / "x.bin")
    assert r.returncode == 2 and "overlap" in r.stderr and not (tmp_path / "x.bin").exists()


def test_missing_file_and_bad_options(tmp_path, go_elf, run_imgtool):
    r = run_imgtool("bin", tmp_path / "nope.elf", "-o", tmp_path / "x.bin")
    assert r.returncode == 2 and "no such file" in r.stderr and "Traceback" not in r.stderr
    r = run_imgtool("bin", go_elf("arm7"), "-o", tmp_path / "x.bin", "--fill", "300")
    assert r.returncode == 2 and "--fill" in r.stderr
    r = run_imgtool("bin", go_elf("arm7"), "-o", tmp_path / "x.bin", "--format", "elf")
    assert r.returncode == 2 and "--format" in r.stderr
    r = run_imgtool("bin", go_elf("arm7"), "-o", tmp_path / "nodir" / "x.bin")
    assert r.returncode == 2 and "does not exist" in r.stderr
    r = run_imgtool("bin", go_elf("arm7"), "-o", tmp_path / "x.bin", "--pad-to", "0x1000")
    assert r.returncode == 2 and "pad-to" in r.stderr
    assert not (tmp_path / "x.bin").exists()
    r = run_imgtool("bin", go_elf("arm7"), "--bogus")
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_failed_write_leaves_previous_output(go_elf, tmp_path, run_imgtool):
    """Atomic output: a run that fails does not touch an existing output file."""
    out = tmp_path / "x.bin"
    out.write_bytes(b"previous")
    bad = tmp_path / "bad.elf"
    bad.write_bytes(go_elf("arm7").read_bytes()[:1000])
    assert run_imgtool("bin", bad, "-o", out).returncode == 2
    assert out.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
