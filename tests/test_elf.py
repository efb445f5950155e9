"""The ELF program model against two independent parsers (pyelftools, LIEF) and the Go
toolchain's own view (``go version -m``, ``go tool buildid``), on real Go ELFs."""

from __future__ import annotations

import shutil
import struct
import subprocess

import lief
import pytest
from elftools.elf.elffile import ELFFile
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import GO_TARGET_NAMES, objcopy
from formats.elf import EM_ARM, PT_LOAD
from formats.go.binary import GoElfFile as ElfFile

EXPECTED = {"arm7": ("arm", 32, 0x80010000), "arm5": ("arm", 32, 0x110000), "arm64": ("arm64", 64, 0x40010000),
            "amd64": ("amd64", 64, 0x10010000), "riscv64": ("riscv64", 64, 0x80010000)}


@pytest.fixture(scope="module", params=GO_TARGET_NAMES + ["arm7-stripped"])
def target(request, go_elf):
    path = go_elf(request.param)
    return request.param, path, ElfFile.parse(path.read_bytes(), str(path))


def test_header_matches_link_layout(target):
    name, path, elf = target
    arch, cls, text = EXPECTED[name.removesuffix("-stripped")]
    assert (elf.arch, elf.elfclass, elf.little_endian) == (arch, cls, True)
    assert elf.text_start == text
    # TamaGo layout: the first PT_LOAD starts one 4 KiB header page below TEXT_START.
    assert elf.loads[0].vaddr == text - 0x1000 and elf.loads[0].offset == 0


def test_sections_and_segments_match_pyelftools(target):
    _, path, elf = target
    with open(path, "rb") as fh:
        ref = ELFFile(fh)
        ref_secs = [(s.name, s.header.sh_addr, s.header.sh_offset, s.header.sh_size, s.header.sh_flags)
                    for s in ref.iter_sections()]
        ref_segs = [(p.header.p_offset, p.header.p_vaddr, p.header.p_paddr, p.header.p_filesz, p.header.p_memsz,
                     p.header.p_flags, p.header.p_align) for p in ref.iter_segments()]
        assert ref.header.e_entry == elf.entry
    assert [(s.name, s.addr, s.offset, s.size, s.flags) for s in elf.sections] == ref_secs
    assert [(s.offset, s.vaddr, s.paddr, s.filesz, s.memsz, s.flags, s.align) for s in elf.segments] == ref_segs


def test_sections_segments_symbols_match_lief(target):
    _, path, elf = target
    ref = lief.ELF.parse(str(path))
    assert [(s.name, s.virtual_address, s.size, int(s.type)) for s in ref.sections] == \
        [(s.name, s.addr, s.size, s.type) for s in elf.sections]
    assert [(int(p.type) & 0xFFFFFFFF, p.virtual_address, p.physical_size, p.virtual_size) for p in ref.segments] == \
        [(s.type, s.vaddr, s.filesz, s.memsz) for s in elf.segments]
    ref_syms = [(s.name, s.value, s.size) for s in ref.symtab_symbols][1:]
    ours = [(s.name, s.value, s.size) for s in elf.symbols]
    assert ours == ref_syms
    if path.name.startswith("arm7-stripped"):
        assert ours == []
    else:
        assert len(ours) > 1000
        assert any(s.name == "main.main" and s.type == "FUNC" for s in elf.symbols)


def test_build_info_matches_go_version_m(target):
    _, path, elf = target
    out = subprocess.run(["go", "version", "-m", str(path)], capture_output=True, text=True, check=True).stdout
    lines = [ln.strip().split("\t") for ln in out.splitlines()[1:]]
    info = elf.build_info
    assert out.splitlines()[0].endswith(": " + info.go_version)
    assert ["path", info.path] in lines
    assert ["mod", info.main.path, info.main.version, info.main.sum] in lines or \
        ["mod", info.main.path, info.main.version] in lines
    deps = [ln[1:] for ln in lines if ln[0] == "dep"]
    assert deps == [[d.path, d.version, d.sum] for d in info.deps]
    assert [d.path for d in info.deps] == ["github.com/usbarmory/tamago"]
    settings = dict(ln[1].split("=", 1) for ln in lines if ln[0] == "build")
    assert settings == info.settings
    assert info.go_release >= (1, 21)


def test_go_build_id_matches_go_tool_buildid(target):
    _, path, elf = target
    out = subprocess.run(["go", "tool", "buildid", str(path)], capture_output=True, text=True, check=True).stdout.strip()
    assert elf.go_build_id == out


def test_read_by_virtual_address(target):
    _, path, elf = target
    text = elf.section(".text")
    assert elf.read(text.addr, 64) == bytes(elf.section_data(text)[:64])
    bss = elf.section(".bss")
    assert elf.read(bss.addr, 16) == bytes(16)  # NOBITS reads as zeros


def test_thumb_entry_is_masked(go_elf, tmp_path):
    data = bytearray(go_elf("arm7").read_bytes())
    entry = struct.unpack_from("<I", data, 24)[0]
    struct.pack_into("<I", data, 24, entry | 1)
    elf = ElfFile.parse(bytes(data))
    assert elf.machine == EM_ARM and elf.entry_thumb and elf.entry == entry


def test_pvh_note(go_elf, tmp_path):
    """tamago-go's Xen PVH note (type 0x12, 64-bit LE entry) is found and decoded."""
    src = go_elf("amd64")
    desc = tmp_path / "desc"
    # A note: namesz 4, descsz 8, type 0x12, "Xen\0", entry.
    desc.write_bytes(struct.pack("<III", 4, 8, 0x12) + b"Xen\0" + struct.pack("<Q", 0x10010000))
    out = tmp_path / "pvh.elf"
    subprocess.run([objcopy(), "--add-section", f".note.go.pvh={desc}", str(src), str(out)], check=True)
    elf = ElfFile.parse(out.read_bytes())
    assert elf.pvh_entry == 0x10010000
    assert ElfFile.parse(src.read_bytes()).pvh_entry is None


def test_big_endian_elf(go_elf, tmp_path):
    """A big-endian ELF decodes the same as the little-endian one it came from."""
    if shutil.which("objcopy") is None:
        pytest.fail("objcopy needed")
    # Make a big-endian relocatable ARM object with objcopy (BFD writes the headers big-endian).
    blob = tmp_path / "blob.bin"
    blob.write_bytes(bytes(range(256)) * 4)
    out = tmp_path / "be.o"
    r = subprocess.run([objcopy(), "-I", "binary", "-O", "elf32-bigarm", "-B", "arm", str(blob), str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    elf = ElfFile.parse(out.read_bytes())
    assert not elf.little_endian and elf.arch == "arm"
    data_sec = elf.section(".data")
    assert bytes(elf.section_data(data_sec)) == blob.read_bytes()
    names = {s.name for s in elf.symbols}
    assert any(n.startswith("_binary_") and n.endswith("_start") for n in names)
    with open(out, "rb") as fh:
        ref = ELFFile(fh)
        assert [s.name for s in ref.iter_sections()] == [s.name for s in elf.sections]


def test_load_segments_are_consistent(target):
    _, _, elf = target
    loads = [s for s in elf.segments if s.type == PT_LOAD]
    assert len(loads) == 3
    for sec in elf.sections:
        if sec.is_alloc and sec.size and not sec.name.startswith(".note"):
            assert elf.segment_of(sec) is not None, sec.name


_SYM_STRTAB = st.binary(max_size=40) | st.lists(st.sampled_from([b"main.main\0", b"runtime.x\0", b"\xc3\xa9\0",
                                                                 b"\xff\xfe\0", b"", b"a"]),
                                                max_size=8).map(b"".join)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([32, 64]), st.booleans(), st.sampled_from([EM_ARM, 62]), st.integers(0, 6),
       st.data(), _SYM_STRTAB)
def test_c_symbol_decoder_equals_the_python_twin(elfclass, little, machine, count, data, strtab):
    import formats.elf as E
    from formats.elfstructs import elf_structs
    from formats.errors import FormatError

    structs = elf_structs(elfclass, little)
    rec = structs.sym.size
    # name offsets mostly inside the string table, some past it; random value/info/shndx
    raw = b"".join(data.draw(st.binary(min_size=rec, max_size=rec)) for _ in range(count))
    raw = bytearray(raw)
    for k in range(count):
        off = data.draw(st.integers(0, len(strtab) + 2))
        raw[k * rec:k * rec + 4] = off.to_bytes(4, "little" if little else "big")

    def decode(accel):
        saved, E.accel = E.accel, accel
        try:
            return E.decode_symbols(bytes(raw), strtab, structs, machine)
        except FormatError as exc:
            return str(exc)
        finally:
            E.accel = saved

    python = decode(None)
    assert decode(E.accel) == python
    if E.accel is not None and not isinstance(python, str):
        c = E.accel.elf_symbols(bytes(raw), strtab, elfclass, not little, machine == EM_ARM, E.Symbol)[0]
        assert [type(s) for s in c] == [E.Symbol] * count
        assert [[type(f) for f in s] for s in c] == [[type(f) for f in s] for s in python]


ELF_SYMBOLS_SANITIZER_SCRIPT = r'''
import random
import formats.elf as E
from formats.elfstructs import elf_structs
rnd = random.Random(9)
for _ in range(4000):
    elfclass, little = rnd.choice([32, 64]), rnd.random() < 0.5
    rec = 24 if elfclass == 64 else 16
    strtab = rnd.randbytes(rnd.randrange(0, 30))
    raw = bytearray(rnd.randbytes(rec * rnd.randrange(0, 5)))
    for k in range(len(raw) // rec):
        raw[k * rec:k * rec + 4] = rnd.randrange(0, len(strtab) + 2).to_bytes(4, "little" if little else "big")
    syms, bad = E.accel.elf_symbols(bytes(raw), strtab, elfclass, not little, rnd.random() < 0.5, E.Symbol)
    assert bad == -1 or 0 <= bad < len(raw) // rec
for args in [(b"x" * 15, b"", 32, False, False, E.Symbol), (b"", b"", 48, False, False, E.Symbol),
             (b"", b"", 32, False, False, int), ("s", b"", 32, False, False, E.Symbol)]:
    try:
        E.accel.elf_symbols(*args)
    except (ValueError, TypeError):
        pass
    else:
        raise AssertionError(args)
print("sanitized OK")
'''


def test_c_symbol_decoder_under_sanitizers(tmp_path):
    from sanitize_helpers import run_sanitized

    run_sanitized(tmp_path, ELF_SYMBOLS_SANITIZER_SCRIPT)
