"""Relocations (formats/reloc.py, the C core's apply_relocs, ``imgtool relocate``).

The test program is built position-independent by the machine's Go toolchain for four
architectures: Go's internal linker where it can make a PIE (amd64, arm64) and GNU ld
through cgo (amd64, arm64, 32-bit ARM, riscv64; Debian's cross compilers), plus a
SHT_RELR build. Each program is built twice, linked at two bases; relocating the first to
the second's base must give the second's memory image byte for byte, apart from the
dynamic-linking metadata a loader reads but never relocates (ELF headers, the relocation
tables, ``.dynamic``, ``.dynsym``, GOT[0], the GNU build ID). Every relocated word is also
checked against pyelftools' reading of the relocation tables.
"""

from __future__ import annotations

import os
import random
import shutil
import struct
import subprocess
import sys
from array import array
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile
from elftools.elf.relocation import RelocationSection, RelrRelocationSection

from conftest import GOPROG, build_go
from formats import pe, reloc
from formats.elf import ElfFile
from formats.errors import FormatError
from formats.loadimage import flatten_segments

CROSS = {"amd64": "gcc", "arm64": "aarch64-linux-gnu-gcc", "arm": "arm-linux-gnueabihf-gcc",
         "riscv64": "riscv64-linux-gnu-gcc"}
LOW, HIGH = 0x10000000, 0x80000000

#: name -> (GOARCH, external linking?, extra ld flag)
PIES = {
    "amd64-internal": ("amd64", False, ""),
    "arm64-internal": ("arm64", False, ""),
    "amd64-ld": ("amd64", True, ""),
    "arm64-ld": ("arm64", True, ""),
    "arm-ld": ("arm", True, ""),
    "riscv64-ld": ("riscv64", True, ""),
    "amd64-relr": ("amd64", True, "-Wl,-z,pack-relative-relocs"),
}


def build_pie(name: str, base: int) -> Path:
    """The test program as a PIE whose first PT_LOAD is at ``base``."""
    goarch, external, extra = PIES[name]
    env = {"GOARCH": goarch, "CGO_ENABLED": "1" if external else "0"}
    if goarch == "arm":
        env["GOARM"] = "7"
    if external:
        cc = shutil.which(CROSS[goarch])
        if cc is None:
            pytest.fail(f"{CROSS[goarch]} is needed (Debian gcc cross compilers; .ci/run installs them)", pytrace=False)
        env["CC"] = cc
        flags = f"-buildid= -linkmode=external -extldflags '-Wl,-Ttext-segment=0x{base:x} {extra}'"
    else:  # Go's linker: -T is the text address, one page above the segment start
        flags = f"-buildid= -T 0x{base + 0x1000:x}"
    return build_go(GOPROG, f"pie-{name}-{base:x}", env, flags, ("-buildmode=pie", "-trimpath"))


@pytest.fixture(scope="module", params=list(PIES))
def pie_pair(request):
    low = ElfFile.parse(build_pie(request.param, LOW).read_bytes(), source=f"{request.param}@low")
    high = ElfFile.parse(build_pie(request.param, HIGH).read_bytes(), source=f"{request.param}@high")
    return request.param, low, high


def _defines(elf: ElfFile) -> dict[str, int]:
    """A made-up address for every strong undefined dynamic symbol (the libc of cgo
    builds); weak undefined ones are left to resolve to 0."""
    syms = reloc.read_dynamic_relocations(elf).symbols
    return {s.name: 0x7000_0000 + 0x100 * i for i, s in enumerate(syms) if i and s.shndx == 0 and s.bind != 2}


def _metadata_ranges(elf: ElfFile) -> list[tuple[int, int]]:
    """Address ranges a loader reads but never relocates: the dynamic-linking tables, and
    GOT words holding the link-time address of ``_DYNAMIC`` (GOT[0]; on RISC-V also the
    first word of the non-PLT GOT), which ld.so uses to find its own ``.dynamic``."""
    out = []
    w = elf.elfclass // 8
    dynamic = elf.section(".dynamic")
    for s in elf.sections:
        if not s.is_alloc or not s.size:
            continue
        if s.name.startswith((".rel", ".dynamic", ".dynsym", ".note.gnu.build-id")):
            out.append((s.addr, s.addr + s.size))
        elif s.name in (".got", ".got.plt") and dynamic is not None:
            data = elf.section_data(s)
            e = "little" if elf.little_endian else "big"
            out += [(s.addr + i, s.addr + i + w) for i in range(0, s.size - w + 1, w)
                    if int.from_bytes(data[i:i + w], e) == dynamic.addr]
    return out


def test_relocated_image_equals_the_program_linked_at_that_base(pie_pair):
    name, low, high = pie_pair
    r = reloc.relocate(low, HIGH, symbols=_defines(low), skip_unsupported=True)
    ref = reloc.relocate(high, HIGH, symbols=_defines(high), skip_unsupported=True)
    assert r.link_base == LOW and ref.link_base == HIGH and ref.delta == 0
    assert r.image.base == HIGH and r.image.entry == high.entry
    assert len(r.image.data) == len(ref.image.data)
    covered = bytearray(len(r.image.data))
    for a, b in _metadata_ranges(high):
        covered[a - HIGH:b - HIGH] = b"\1" * (b - a)
    with open(build_pie(name, HIGH), "rb") as fh:
        h = ELFFile(fh).header
        headers = h["e_phoff"] + h["e_phnum"] * h["e_phentsize"]
        shdrs = (h["e_shoff"], h["e_shoff"] + h["e_shnum"] * h["e_shentsize"])
    # ELF header, program headers and (Go's linker maps them) section headers: link-time addresses
    covered[:headers] = b"\1" * headers
    if shdrs[1] <= len(covered):
        covered[shdrs[0]:shdrs[1]] = b"\1" * (shdrs[1] - shdrs[0])
    diff = [i for i in range(len(covered)) if not covered[i] and r.image.data[i] != ref.image.data[i]]
    assert diff == [], f"{name}: {len(diff)} bytes differ, first at 0x{HIGH + diff[0]:x}"
    assert r.applied["relative"] + r.applied["relr"] > 5000
    if "internal" in name:
        # Go's internal linker writes RELA addends in place: at delta 0 the file is the image
        assert ref.image.data == flatten_segments(high).data
        # ... and leaves itab slots of unreachable methods without relocations (fixed here)
        assert r.go_itab_slots > 0
        unfixed = reloc.relocate(low, HIGH, fix_go_itabs=False)
        assert unfixed.go_itab_slots == 0 and unfixed.image.data != r.image.data
    else:
        assert r.go_itab_slots == 0  # GNU ld was given a relocation for each


def _pyelftools_expectations(path: Path, delta: int, defines: dict[str, int]):
    """(r_offset, expected word, moves with the image) for every relocation, read by pyelftools."""
    with open(path, "rb") as fh:
        ef = ELFFile(fh)
        w = ef.elfclass // 8
        mask = (1 << (8 * w)) - 1
        big = not ef.little_endian

        def in_place(addr):
            for seg in ef.iter_segments():
                if seg["p_type"] == "PT_LOAD" and seg["p_vaddr"] <= addr < seg["p_vaddr"] + seg["p_filesz"]:
                    fh.seek(seg["p_offset"] + addr - seg["p_vaddr"])
                    return int.from_bytes(fh.read(w), "big" if big else "little")
            return 0

        out = []
        machine = ef["e_machine"]
        dynsym = ef.get_section_by_name(".dynsym")
        for sec in ef.iter_sections():
            if isinstance(sec, RelrRelocationSection):
                for r in sec.iter_relocations():
                    out.append((r["r_offset"], (in_place(r["r_offset"]) + delta) & mask, True))
            elif isinstance(sec, RelocationSection) and sec["sh_flags"] & 2:
                for r in sec.iter_relocations():
                    t = r["r_info_type"]
                    name = {"EM_X86_64": {8: "rel", 1: "sa", 6: "s", 7: "s"},
                            "EM_AARCH64": {1027: "rel", 257: "sa", 1025: "sa", 1026: "sa"},
                            "EM_ARM": {23: "rel", 2: "sa", 21: "s", 22: "s"},
                            "EM_RISCV": {3: "rel", 2: "sa", 5: "s"}}[machine].get(t)
                    if name is None:
                        continue
                    addend = r["r_addend"] if r.is_RELA() else in_place(r["r_offset"])
                    if name == "rel":
                        out.append((r["r_offset"], (addend + delta) & mask, True))
                        continue
                    sym = dynsym.get_symbol(r["r_info_sym"])
                    undefined = sym["st_shndx"] == "SHN_UNDEF"
                    weak = sym["st_info"]["bind"] == "STB_WEAK"
                    s = (0 if weak else defines[sym.name]) if undefined else sym["st_value"] + delta
                    out.append((r["r_offset"], (s + (addend if name == "sa" else 0)) & mask, not undefined))
        return out, w, big


@pytest.mark.parametrize("name", list(PIES))
def test_every_relocated_word_matches_pyelftools(name):
    path = build_pie(name, LOW)
    elf = ElfFile.parse(path.read_bytes())
    defines = _defines(elf)
    base = 0x4_0000_0000 if elf.elfclass == 64 else 0x9000_0000
    r = reloc.relocate(elf, base, symbols=defines, skip_unsupported=True)
    expect, w, big = _pyelftools_expectations(path, base - LOW, defines)
    assert len(expect) == r.applied["relative"] + r.applied["symbol"] + r.applied["relr"]
    data = r.image.data
    bad = [(hex(off), hex(v)) for off, v, _ in expect
           if int.from_bytes(data[off - LOW:off - LOW + w], "big" if big else "little") != v]
    assert bad == []
    # the PE site list: exactly the words that move with the image (+ Go itab slots)
    moving = {off - LOW for off, _, moves in expect if moves}
    assert set(r.sites) >= moving and len(r.sites) == len(set(r.sites)) == len(moving) + r.go_itab_slots


def test_pure_python_twin_gives_identical_images(monkeypatch):
    path = build_pie("arm-ld", LOW)
    elf = ElfFile.parse(path.read_bytes())
    kw = dict(symbols=_defines(elf), skip_unsupported=True)
    fast = reloc.relocate(elf, 0x9000_0000, **kw)
    monkeypatch.setattr(reloc, "_apply", reloc._apply_py)
    slow = reloc.relocate(elf, 0x9000_0000, **kw)
    assert fast.image.data == slow.image.data and list(fast.sites) == list(slow.sites)
    assert fast.applied == slow.applied


@pytest.mark.allow_skip(reason="the C core is switched off (IMGTOOL_PURE_PYTHON=1)",
                        when=os.environ.get("IMGTOOL_PURE_PYTHON") == "1")
@pytest.mark.skipif(reloc._accel is None, reason="no C core (IMGTOOL_PURE_PYTHON=1, or the build failed)")
def test_c_core_and_twin_agree_on_random_tables():
    rng = random.Random(5)
    for trial in range(3000):
        elf64 = rng.random() < 0.5
        w = 8 if elf64 else 4
        rela = rng.random() < 0.6
        relr = not rela and rng.random() < 0.3
        big = rng.random() < 0.2
        skip = rng.random() < 0.5
        size = rng.randrange(0, 512)
        image = bytearray(rng.getrandbits(8) for _ in range(size))
        addr = rng.choice([0, 0x1000, 0xFFFF_F000 if not elf64 else 0xFFFF_FFFF_FFFF_0000])
        classes = bytes(rng.choice([0, 1, 2, 3, 4]) for _ in range(rng.randrange(1, 12)))
        nsyms = rng.randrange(0, 6)
        symvals = array("Q", [rng.getrandbits(64) for _ in range(nsyms)])
        symkind = bytes(rng.choice([0, 1, 2]) for _ in range(nsyms))
        e = ">" if big else "<"
        wc = "Q" if elf64 else "I"
        words = []
        for _ in range(rng.randrange(0, 20)):
            off = addr + rng.randrange(-8, size + 8)
            if relr:
                words.append((off & ~1) % (1 << (8 * w)) if rng.random() < 0.6 else rng.getrandbits(8 * w) | 1)
                continue
            t, s = rng.randrange(0, 14), rng.randrange(0, nsyms + 2)
            info = (s << 32 | t) if elf64 else ((s << 8 | t) & 0xFFFFFFFF)
            words += [off % (1 << (8 * w)), info] + ([rng.getrandbits(8 * w)] if rela else [])
        table = struct.pack(f"{e}{len(words)}{wc}", *words)
        if rng.random() < 0.05:
            table += b"\0"
        layout = (1 if rela else 0) | (2 if elf64 else 0) | (4 if big else 0) | (8 if relr else 0) | (16 if skip else 0)
        layout |= 32 if rng.random() < 0.1 else 0  # dry run
        delta = rng.getrandbits(64)
        nsites = rng.choice([0, 1, 3, 200])
        sites_c, sites_p = array("Q", bytes(8 * nsites)), array("Q", bytes(8 * nsites))
        if rng.random() < 0.2:
            sites_c = sites_p = None
        img_c, img_p = bytearray(image), bytearray(image)
        rc = reloc._accel.apply_relocs(img_c, addr, table, layout, classes, delta, symvals, symkind, sites_c)
        rp = reloc._apply_py(img_p, addr, table, layout, classes, delta, symvals, symkind, sites_p)
        assert rc[0] == rp[0] and rc[2:] == rp[2:], (trial, rc, rp)
        if rc[0]:
            assert rc[1] == rp[1], (trial, rc, rp)
        assert img_c == img_p, trial
        if sites_c is not None:
            assert sites_c[:rc[3]] == sites_p[:rp[3]], trial


def test_pe_base_relocations_rebase_the_image_like_a_pe_loader():
    path = build_pie("amd64-internal", LOW)
    elf = ElfFile.parse(path.read_bytes())
    image_base, load_at = 0x1_4000_0000, 0x2_0000_0000
    pe_image = bytearray(reloc.relocate(elf, image_base).image.data)
    block = pe.base_relocations(reloc.relocate(elf, image_base).sites)
    # decode the .reloc blocks (PE/COFF spec, "Base Relocation Block") and apply them
    pos, pages = 0, []
    while pos < len(block):
        page, size = struct.unpack_from("<II", block, pos)
        assert size % 4 == 0 and size > 8 and page % 4096 == 0
        pages.append(page)
        for (ent,) in struct.iter_unpack("<H", block[pos + 8:pos + size]):
            kind, off = ent >> 12, ent & 0xFFF
            assert kind in (pe.IMAGE_REL_BASED_DIR64, pe.IMAGE_REL_BASED_ABSOLUTE)
            if kind == pe.IMAGE_REL_BASED_DIR64:
                (v,) = struct.unpack_from("<Q", pe_image, page + off)
                struct.pack_into("<Q", pe_image, page + off, v + load_at - image_base)
        pos += size
    assert pages == sorted(set(pages))
    assert bytes(pe_image) == reloc.relocate(elf, load_at).image.data


def test_pe_base_relocation_block_layout():
    out = pe.base_relocations([0x1008, 0x1000, 0x3ff8, 0x1000], pe.IMAGE_REL_BASED_DIR64)
    assert out == (struct.pack("<II", 0x1000, 12) + struct.pack("<2H", 0xA000, 0xA008)
                   + struct.pack("<II", 0x3000, 12) + struct.pack("<2H", 0xAFF8, 0))
    with pytest.raises(FormatError):
        pe.base_relocations([1 << 32])


def test_relr_table_decodes_like_pyelftools():
    path = build_pie("amd64-relr", LOW)
    elf = ElfFile.parse(path.read_bytes())
    t = next(t for t in reloc.read_dynamic_relocations(elf).tables if t.kind == "relr")
    with open(path, "rb") as fh:
        sec = next(s for s in ELFFile(fh).iter_sections() if isinstance(s, RelrRelocationSection))
        ref = [r["r_offset"] for r in sec.iter_relocations()]
    assert reloc.relr_addresses(t.data, 64) == ref and len(ref) > 5000


# -- errors and the CLI ------------------------------------------------------------------------

def test_cli_relocate_writes_bin_hex_and_pe_relocs(run_imgtool, tmp_path):
    path = build_pie("arm64-internal", LOW)
    out, pe_out = tmp_path / "img.bin", tmp_path / "reloc.bin"
    r = run_imgtool("relocate", path, "--base", "0x80000000", "-o", out, "--pe-relocs", pe_out, check=True)
    elf = ElfFile.parse(path.read_bytes())
    expect = reloc.relocate(elf, 0x80000000)
    assert out.read_bytes() == expect.image.data
    assert pe_out.read_bytes() == pe.base_relocations(expect.sites)
    assert f"entry 0x{expect.image.entry:x}" in r.stdout and "itab slots" in r.stdout
    hx = tmp_path / "img.hex"
    run_imgtool("relocate", path, "--base", "0x80000000", "-o", hx, "-f", "hex", check=True)
    objcopy = shutil.which("objcopy")
    back = tmp_path / "back.bin"
    subprocess.run([objcopy, "-I", "ihex", "-O", "binary", str(hx), str(back)], check=True)
    assert back.read_bytes() == expect.image.data


def test_cli_undefined_symbol_is_named_and_nothing_written(run_imgtool, tmp_path):
    path = build_pie("arm-ld", LOW)
    out = tmp_path / "x.bin"
    r = run_imgtool("relocate", path, "--base", "0x90000000", "-o", out)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "undefined symbol" in r.stderr and "--define" in r.stderr and not out.exists()
    r = run_imgtool("relocate", path, "--base", "0x90000000", "-o", out, "--allow-undefined", check=True)
    assert "resolved to 0" in r.stdout and out.exists()


def test_cli_refuses_tls_unless_skipped(run_imgtool, tmp_path):
    path = build_pie("riscv64-ld", LOW)
    out = tmp_path / "x.bin"
    r = run_imgtool("relocate", path, "--base", "0x90000000", "-o", out, "--allow-undefined")
    assert r.returncode == 2 and "R_RISCV_TLS_TPREL64" in r.stderr and not out.exists()
    r = run_imgtool("relocate", path, "--base", "0x90000000", "-o", out, "--allow-undefined", "--skip-unsupported",
                    check=True)
    assert "left as linked: 1 relocations (R_RISCV_TLS_TPREL64)" in r.stdout


def test_cli_non_pie_and_bad_base(run_imgtool, tmp_path, go_elf):
    out = tmp_path / "x.bin"
    r = run_imgtool("relocate", go_elf("arm7"), "--base", "0x90000000", "-o", out)
    assert r.returncode == 2 and "buildmode=pie" in r.stderr and not out.exists()
    r = run_imgtool("relocate", build_pie("arm-ld", LOW), "--base", "0xffff0000", "-o", out, "--allow-undefined")
    assert r.returncode == 2 and "address space" in r.stderr and not out.exists()
    r = run_imgtool("relocate", build_pie("arm-ld", LOW), "--base", "banana", "-o", out)
    assert r.returncode == 2 and "--base" in r.stderr and "Traceback" not in r.stderr


def test_corrupt_tables_are_reported_not_crashed(tmp_path):
    data = bytearray(build_pie("amd64-internal", LOW).read_bytes())
    elf = ElfFile.parse(bytes(data))
    t = reloc.read_dynamic_relocations(elf).tables[0]
    # point one entry's r_offset far outside the image, and make another type unknown
    seg_off = next(s.offset + t.address - s.vaddr for s in elf.loads if s.vaddr <= t.address < s.vaddr + s.filesz)
    struct.pack_into("<Q", data, seg_off + 24 * 10, 0x7FFF_0000_0000)
    bad = ElfFile.parse(bytes(data), source="bad.elf")
    with pytest.raises(FormatError, match=r"entry 10: R_X86_64_RELATIVE at 0x7fff00000000 is outside"):
        reloc.relocate(bad, 0x80000000)
    struct.pack_into("<Q", data, seg_off + 24 * 10 + 8, 99)
    bad = ElfFile.parse(bytes(data), source="bad.elf")
    with pytest.raises(FormatError, match="entry 10: type 99"):
        reloc.relocate(bad, 0x80000000)


RELOC_SANITIZER_SCRIPT = r'''
import random, struct
from array import array
from formats import reloc
from formats.elf import ElfFile
assert reloc._apply is mod.apply_relocs
rng = random.Random(11)
for trial in range(3000):
    w = rng.choice([4, 8])
    layout = (2 if w == 8 else 0) | rng.choice([0, 1, 8]) | rng.choice([0, 4]) | rng.choice([0, 16]) | rng.choice([0, 32])
    image = bytearray(rng.randrange(0, 64))
    table = bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 200)))
    nsyms = rng.randrange(0, 4)
    symvals = array("Q", [rng.getrandbits(64) for _ in range(nsyms)])
    symkind = bytes(rng.randrange(0, 3) for _ in range(nsyms + rng.randrange(0, 2)))
    sites = array("Q", bytes(8 * rng.randrange(0, 8))) if rng.random() < 0.7 else None
    classes = bytes(rng.randrange(0, 5) for _ in range(rng.randrange(0, 300)))
    args = [image, rng.choice([0, 1, 0xFFFFFFF0]), table, layout, classes, rng.getrandbits(64), symvals, symkind]
    mod.apply_relocs(*args, *([sites] if sites is not None else []))
for bad in ([b"ro", 0, b"", 0, b"", 0, array("Q"), b""], [bytearray(8), 0, "str", 0, b"", 0, array("Q"), b""],
            [bytearray(8), 0, b"", 0, b"", 0, array("Q", [1]), b""]):
    try:
        mod.apply_relocs(*bad)
    except (TypeError, ValueError, BufferError):
        pass
    else:
        raise AssertionError(bad)
for path in sys.argv[2:]:
    elf = ElfFile.parse(open(path, "rb").read())
    r = reloc.relocate(elf, 0x90000000, allow_undefined=True, skip_unsupported=True)
    assert r.applied["relative"] + r.applied["relr"] > 1000
print("sanitized OK")
'''


def test_relocation_core_clean_under_asan_ubsan(tmp_path):
    from sanitize_helpers import run_sanitized

    run_sanitized(tmp_path, RELOC_SANITIZER_SCRIPT, str(build_pie("arm-ld", LOW)), str(build_pie("amd64-relr", LOW)),
                  str(build_pie("amd64-internal", LOW)))


def test_cli_pure_python_twin_writes_the_same_bytes(run_imgtool, tmp_path):
    """IMGTOOL_PURE_PYTHON=1 (no C core) gives the same image and PE blocks."""
    path = build_pie("riscv64-ld", LOW)
    outs = {}
    for mode in ("0", "1"):
        out, pe_out = tmp_path / f"img{mode}.bin", tmp_path / f"pe{mode}.bin"
        run_imgtool("relocate", path, "--base", "0x4000000000", "-o", out, "--pe-relocs", pe_out, "--allow-undefined",
                    "--skip-unsupported", check=True, env={"IMGTOOL_PURE_PYTHON": mode})
        outs[mode] = (out.read_bytes(), pe_out.read_bytes())
    assert outs["0"] == outs["1"]
    r = subprocess.run([sys.executable, "-c", "from formats import reloc; print(reloc.IMPLEMENTATION)"],
                       env={**os.environ, "IMGTOOL_PURE_PYTHON": "1"}, capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "python"


def test_info_shows_the_relocation_tables(run_imgtool, go_elf):
    import json

    path = build_pie("arm-ld", LOW)
    doc = json.loads(run_imgtool("info", path, "--json", check=True).stdout)
    with open(path, "rb") as fh:
        ef = ELFFile(fh)
        counts = {s.name: s.num_relocations() for s in ef.iter_sections() if isinstance(s, RelocationSection)}
    tables = {t["origin"]: t["entries"] for t in doc["relocations"]["tables"]}
    assert tables == {"DT_REL": counts[".rel.dyn"], "DT_JMPREL": counts[".rel.plt"]}
    assert doc["relocations"]["link_base"] == LOW
    assert "relocations  DT_REL" in run_imgtool("info", path, check=True).stdout
    assert json.loads(run_imgtool("info", go_elf("arm7"), "--json", check=True).stdout)["relocations"] is None


# -- review findings: each pinned ---------------------------------------------------------------

def _patched_dynamic(path: Path, tmp_path: Path, change) -> Path:
    """A copy of ``path`` whose PT_DYNAMIC entries went through ``change(list of [tag, val])``."""
    data = bytearray(path.read_bytes())
    with open(path, "rb") as fh:
        ef = ELFFile(fh)
        seg = next(s for s in ef.iter_segments() if s["p_type"] == "PT_DYNAMIC")
        fmt = "<qQ" if ef.elfclass == 64 else "<iI"
    off, size = seg["p_offset"], seg["p_filesz"]
    entries = [list(e) for e in struct.iter_unpack(fmt, bytes(data[off:off + size]))]
    entries = change(entries)
    raw = b"".join(struct.pack(fmt, *e) for e in entries)
    data[off:off + size] = raw.ljust(size, b"\0")[:size]
    out = tmp_path / (path.name + ".patched")
    out.write_bytes(bytes(data))
    return out


def _set(tag, value=None, drop=False):
    def change(entries):
        if drop:
            return [e for e in entries if e[0] != tag]
        return [[t, value if t == tag else v] for t, v in entries]
    return change


@pytest.mark.parametrize("change,message", [
    (_set(reloc.DT_RELRSZ, drop=True), "has DT_RELR but no DT_RELRSZ"),
    (_set(reloc.DT_SYMENT, 0), "DT_SYMENT is 0, expected 24"),
    (_set(reloc.DT_RELR, 0x7000_0000_0000), "DT_RELR (0x700000000000"),
    # a size no file holds is refused before anything is read (BSS reads as zeros, so a huge
    # p_memsz made 16 GB of DT_STRTAB out of a 4 KiB file)
    (_set(reloc.DT_STRSZ, 1 << 34), "17179869184 bytes) is larger than the"),
])
def test_malformed_dynamic_section_exit_2_naming_the_tag(change, message, tmp_path, run_imgtool):
    bad = _patched_dynamic(build_pie("amd64-relr", LOW), tmp_path, change)
    out = tmp_path / "x.bin"
    r = run_imgtool("relocate", bad, "--base", "0x80000000", "-o", out, "--allow-undefined")
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr and not out.exists()
    info = run_imgtool("info", bad)  # info still describes the file and says what is wrong
    assert info.returncode == 0 and "relocations  unreadable" in info.stdout and message in info.stdout


def test_truncated_dynamic_segment_is_refused(tmp_path, run_imgtool):
    """PT_DYNAMIC cut before its DT_NULL (p_filesz patched) must not lose tables silently."""
    path = build_pie("amd64-relr", LOW)
    data = bytearray(path.read_bytes())
    with open(path, "rb") as fh:
        ef = ELFFile(fh)
        i, seg = next((i, s) for i, s in enumerate(ef.iter_segments()) if s["p_type"] == "PT_DYNAMIC")
        phoff, phentsize = ef.header["e_phoff"], ef.header["e_phentsize"]
    entries = list(struct.iter_unpack("<qQ", bytes(data[seg["p_offset"]:seg["p_offset"] + seg["p_filesz"]])))
    first_null = next(k for k, (tag, _) in enumerate(entries) if tag == 0)
    struct.pack_into("<Q", data, phoff + i * phentsize + 32, 16 * first_null)  # Elf64_Phdr.p_filesz
    bad = tmp_path / "truncated.elf"
    bad.write_bytes(bytes(data))
    r = run_imgtool("relocate", bad, "--base", "0x80000000", "-o", tmp_path / "x.bin", "--allow-undefined")
    assert r.returncode == 2 and "no DT_NULL" in r.stderr and not (tmp_path / "x.bin").exists()


def test_fixed_address_dynamic_executable_is_refused(tmp_path, run_imgtool):
    """A `gcc -no-pie` program has relocation tables but absolute addresses everywhere."""
    src = tmp_path / "hello.c"
    src.write_text("#include <stdio.h>\nint x; int *p = &x;\nint main(void) { printf(\"%p\\n\", (void*)p); return 0; }\n")
    exe = tmp_path / "hello"
    subprocess.run(["gcc", "-no-pie", "-O1", "-o", str(exe), str(src)], check=True)
    elf = ElfFile.parse(exe.read_bytes())
    assert elf.e_type == 2 and reloc.read_dynamic_relocations(elf).tables
    r = run_imgtool("relocate", exe, "--base", "0x80000000", "-o", tmp_path / "x.bin", "--allow-undefined")
    assert r.returncode == 2 and "not position-independent" in r.stderr
    # at its own link address it is just the memory image
    link = min(s.vaddr for s in elf.loads)
    same = reloc.relocate(elf, link)
    assert same.image.data == flatten_segments(elf).data and not any(same.applied.values())


def test_base_must_keep_segment_alignment(run_imgtool, tmp_path):
    path = build_pie("arm64-internal", LOW)
    align = max(s.align for s in ElfFile.parse(path.read_bytes()).loads)
    r = run_imgtool("relocate", path, "--base", hex(0x80000000 + 0x800), "-o", tmp_path / "x.bin")
    assert r.returncode == 2 and f"segment alignment 0x{align:x}" in r.stderr and "0x80000000" in r.stderr


def test_address_space_check_counts_bss_even_without_it(run_imgtool, tmp_path):
    path = build_pie("arm-ld", LOW)
    elf = ElfFile.parse(path.read_bytes())
    files = max(s.vaddr + s.filesz for s in elf.loads) - LOW
    base = ((1 << 32) - files - 0x1000) & ~0xFFFF  # the file bytes fit below 4 GiB, the BSS does not
    r = run_imgtool("relocate", path, "--base", hex(base), "-o", tmp_path / "x.bin", "--no-bss", "--allow-undefined")
    assert r.returncode == 2 and "address space" in r.stderr


def test_itab_fix_never_moves_a_relocated_slot_twice():
    """Pick a base where a correctly relocated itab slot lands exactly on the link-time
    address of runtime.unreachableMethod: the slot must stay as relocated."""
    path = build_pie("amd64-internal", LOW)
    elf = ElfFile.parse(path.read_bytes())
    target = reloc._go_function(elf, "runtime.unreachableMethod")
    img = flatten_segments(elf).data
    links = next(s for s in elf.sections if s.name.endswith("itablink"))
    q = lambda a: struct.unpack_from("<Q", img, a - LOW)[0]  # noqa: E731
    slot = None
    for k in range(links.size // 8):
        itab = q(links.addr + 8 * k)
        for m in range(q(q(itab) + 64)):
            f = q(itab + 24 + 8 * m)
            if f != target and (target - f) % 0x1000 == 0 and LOW + target - f > 0:
                slot = (itab + 24 + 8 * m, f)
                break
        if slot:
            break
    assert slot is not None, "no itab slot at a page-multiple distance from runtime.unreachableMethod"
    base = LOW + target - slot[1]
    r = reloc.relocate(elf, base)
    assert struct.unpack_from("<Q", r.image.data, slot[0] - LOW)[0] == target  # f + delta, once
    assert len(r.sites) == len(set(r.sites))
    expect, _, _ = _pyelftools_expectations(path, base - LOW, {})
    assert all(struct.unpack_from("<Q", r.image.data, off - LOW)[0] == v for off, v, _ in expect)


def test_define_is_checked(run_imgtool, tmp_path):
    path = build_pie("arm-ld", LOW)
    out = tmp_path / "x.bin"
    r = run_imgtool("relocate", path, "--base", "0x90000000", "-o", out, "--allow-undefined", "--define", "no_such=1")
    assert r.returncode == 2 and "no undefined dynamic symbol" in r.stderr
    r = run_imgtool("relocate", path, "--base", "0x90000000", "-o", out, "--allow-undefined", "--define",
                    "abort=0x100000000")
    assert r.returncode == 2 and "does not fit 32 bits" in r.stderr and not out.exists()


def test_allow_undefined_writes_zero_and_weak_symbols_are_zero():
    path = build_pie("amd64-ld", LOW)
    elf = ElfFile.parse(path.read_bytes())
    r = reloc.relocate(elf, 0x4000_0000_0000, allow_undefined=True)
    expect, _, _ = _pyelftools_expectations(path, 0x4000_0000_0000 - LOW, {n: 0 for n in _defines(elf)})
    assert all(struct.unpack_from("<Q", r.image.data, off - LOW)[0] == v for off, v, _ in expect)
    assert set(r.undefined) == set(_defines(elf))


def test_pe_relocs_write_failure_leaves_nothing(run_imgtool, tmp_path):
    out = tmp_path / "img.bin"
    r = run_imgtool("relocate", build_pie("amd64-internal", LOW), "--base", "0x80000000", "-o", out,
                    "--pe-relocs", tmp_path / "missing" / "reloc.bin")
    assert r.returncode == 2 and "does not exist" in r.stderr and not out.exists()
    assert list(tmp_path.iterdir()) == []
