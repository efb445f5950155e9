"""The ELF program model against two independent parsers (pyelftools, LIEF) and the Go
toolchain's own view (``go version -m``, ``go tool buildid``), on real Go ELFs."""

from __future__ import annotations

import shutil
import struct
import subprocess

import lief
import pytest
from elftools.elf.elffile import ELFFile

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
