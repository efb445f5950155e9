"""``imgtool uefi app``: ELF -> UEFI PE32+ (formats/pe/fromelf.py, imgtool/uefi.py).

Inputs are real: the test suite's Go ELFs (amd64 at -T 0x10010000 -R 0x1000, the same
with -E runtime.rt0_go as go-boot links with -E cpuinit, arm64) and the freestanding C
payloads built with Debian's gcc (fixed-address and -static-pie). References: pefile
parses the result, computes the checksum and, as an independent PE loader, applies the
base relocations; binutils' objdump -p reads it; formats.reloc's relocation of the ELF
is what the relocated image must equal.
"""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess

import pefile
import pytest

from formats import pe
from formats.elf import ElfFile
from formats.pe import constants as C
from formats.pe.fromelf import elf_to_efi
from formats.reloc import relocate
from hab_helpers import need

GO_TARGETS = ["amd64", "amd64-entry", "arm64"]


@pytest.fixture(scope="module")
def go_apps(go_elf, tmp_path_factory, run_imgtool_session):
    """name -> (ELF path, .efi path) made with the CLI."""
    d = tmp_path_factory.mktemp("go-efi")
    out = {}
    for name in GO_TARGETS:
        elf = go_elf(name)
        efi = d / f"{name}.efi"
        run_imgtool_session("uefi", "app", elf, "-o", efi, check=True)
        out[name] = (elf, efi)
    return out


@pytest.fixture(scope="module")
def run_imgtool_session():
    import os
    import sys

    def run(*args, check=False):
        r = subprocess.run([sys.executable, "-m", "imgtool", *map(str, args)], capture_output=True, text=True,
                           env=dict(os.environ))
        if check and r.returncode:
            raise AssertionError(f"imgtool {' '.join(map(str, args))}: {r.stderr}")
        return r

    return run


@pytest.mark.parametrize("name", GO_TARGETS)
def test_go_elf_becomes_a_pe_holding_exactly_the_loaded_bytes(go_apps, name):
    elf_path, efi_path = go_apps[name]
    elf = ElfFile.parse(elf_path.read_bytes())
    data = efi_path.read_bytes()
    ref = pefile.PE(data=data)
    oh, fh = ref.OPTIONAL_HEADER, ref.FILE_HEADER
    image_base = elf.text_start - 0x10000
    assert oh.Magic == 0x20B and oh.ImageBase == image_base == (0x40000000 if name == "arm64" else 0x10000000)
    assert oh.AddressOfEntryPoint == elf.entry - image_base
    assert oh.CheckSum == ref.generate_checksum() != 0
    assert oh.Subsystem == C.IMAGE_SUBSYSTEM_EFI_APPLICATION
    assert fh.Machine == (C.IMAGE_FILE_MACHINE_ARM64 if name == "arm64" else C.IMAGE_FILE_MACHINE_AMD64)
    assert fh.Characteristics == 0x227  # RELOCS_STRIPPED | go-boot's 0x0226
    assert oh.SizeOfImage % 0x1000 == 0 and oh.SizeOfHeaders % 0x200 == 0
    assert oh.DATA_DIRECTORY[C.IMAGE_DIRECTORY_ENTRY_BASERELOC].Size == 0
    loads = [s for s in elf.loads if s.memsz]
    assert len(ref.sections) == len(loads)
    for seg, sec in zip(loads, ref.sections):
        raw = sec.get_data()
        assert sec.VirtualAddress == seg.vaddr - image_base and sec.VirtualAddress % 0x1000 == 0
        assert sec.Misc_VirtualSize == seg.memsz  # BSS: VirtualSize > SizeOfRawData
        assert raw[:seg.filesz] == elf.data[seg.offset:seg.offset + seg.filesz]
        assert not raw[seg.filesz:].strip(b"\0") and sec.SizeOfRawData == -(-seg.filesz // 0x200) * 0x200
        want = ".text" if seg.flags & 1 else ".data" if seg.flags & 2 else ".rdata"
        assert sec.Name.rstrip(b"\0").decode() == want
        assert bool(sec.Characteristics & C.IMAGE_SCN_MEM_EXECUTE) == bool(seg.flags & 1)
        assert bool(sec.Characteristics & C.IMAGE_SCN_MEM_WRITE) == bool(seg.flags & 2)
    bss = sum(s.memsz - s.filesz for s in loads)
    assert bss > 32 << 20 and len(data) < sum(s.filesz for s in loads) + 0x1000  # the 32 MiB BSS is not stored
    dump = subprocess.run([need("objdump"), "-p", str(efi_path)], capture_output=True, text=True, check=True).stdout
    assert re.search(rf"ImageBase\s+0*{image_base:x}\b", dump) and re.search(r"Subsystem\s+0000000a", dump)
    assert re.search(rf"AddressOfEntryPoint\s+0*{elf.entry - image_base:x}\b", dump)
    assert elf_to_efi(elf).pe == data  # reproducible: same input, same bytes


def test_entry_set_to_a_function_as_go_boot_does(go_apps):
    elf = ElfFile.parse(go_apps["amd64-entry"][0].read_bytes())
    main = next(s for s in elf.symbols if s.name == "runtime.rt0_go.abi0")
    assert elf.entry == main.value and elf.entry != ElfFile.parse(go_apps["amd64"][0].read_bytes()).entry
    p = pe.parse(go_apps["amd64-entry"][1].read_bytes())
    assert p.optional_header.AddressOfEntryPoint == main.value - p.optional_header.ImageBase


def test_no_relocs_stripped_reproduces_go_boot_characteristics(go_elf, run_imgtool_session, tmp_path):
    out = tmp_path / "goboot.efi"
    run_imgtool_session("uefi", "app", go_elf("amd64"), "-o", out, "--no-relocs-stripped", check=True)
    p = pe.parse(out.read_bytes())
    assert p.file_header.Characteristics == 0x0226 and p.stored_checksum == p.computed_checksum


def test_fixed_payload_keeps_relocs_stripped_and_pads_an_unaligned_segment(uefi_payloads):
    elf = ElfFile.parse(uefi_payloads["fixed"].read_bytes())
    app = elf_to_efi(elf)
    p = pe.parse(app.pe)
    assert not app.relocatable and p.file_header.Characteristics & C.IMAGE_FILE_RELOCS_STRIPPED
    rw = next(s for s in elf.loads if s.flags & 2)
    assert rw.vaddr % 0x1000  # GNU ld starts the RW segment mid-page
    sec = next(s for s in p.sections if s.name == ".data")
    page = rw.vaddr & ~0xFFF
    assert sec.VirtualAddress == page - app.image_base
    raw = p.section_data(sec)
    pre = rw.vaddr - page
    assert not bytes(raw[:pre]).strip(b"\0") and raw[pre:pre + rw.filesz] == elf.data[rw.offset:rw.offset + rw.filesz]
    assert sec.VirtualSize == pre + rw.memsz


def test_pie_gets_dir64_relocations_that_move_it_like_the_elf(uefi_payloads):
    elf = ElfFile.parse(uefi_payloads["pie"].read_bytes())
    app = elf_to_efi(elf)
    p = pe.parse(app.pe)
    assert app.relocatable and app.image_base == 0x10000000 and app.delta == 0x1000F000
    assert not p.file_header.Characteristics & C.IMAGE_FILE_RELOCS_STRIPPED
    assert p.optional_header.DllCharacteristics & C.IMAGE_DLLCHARACTERISTICS_DYNAMIC_BASE
    assert p.sections[-1].name == ".reloc" and p.directory(5) == (p.sections[-1].VirtualAddress,
                                                                  len(pe.base_relocations([r for r, _ in
                                                                                           p.base_relocations])))
    ref = pefile.PE(data=app.pe)
    theirs = sorted(e.rva for b in ref.DIRECTORY_ENTRY_BASERELOC for e in b.entries if e.type == 10)
    assert theirs == sorted(r for r, _ in p.base_relocations) and len(theirs) == app.relocations >= 3
    text = next(s for s in p.sections if s.name == ".text")
    assert text.VirtualAddress == 0x10000  # go-boot's contract holds for a PIE too
    # pefile as the PE loader: move the image and compare with the ELF relocated to match
    new_base = 0x7_4560_0000
    ref.relocate_image(new_base)
    mapped = ref.get_memory_mapped_image()
    link_base = min(s.vaddr for s in elf.loads)
    moved = relocate(elf, link_base + app.delta + new_base - app.image_base, max_gap=None).image.data
    for seg in (s for s in elf.loads if s.memsz):
        rva = seg.vaddr + app.delta - app.image_base
        got = mapped[rva:rva + seg.filesz]
        assert got == moved[seg.vaddr - link_base:seg.vaddr - link_base + seg.filesz], f"segment {seg.index}"


def test_pie_linked_off_64k_moves_down_to_a_64k_image_base(uefi_payloads):
    elf = ElfFile.parse(uefi_payloads["pie-high"].read_bytes())
    assert elf.text_start == 0x10001000 and min(s.vaddr for s in elf.loads) == 0x10000000
    app = elf_to_efi(elf)
    p = pe.parse(app.pe)
    assert app.image_base == 0xFFF0000 and app.delta == (-0x1000) % (1 << 64)
    assert p.optional_header.AddressOfEntryPoint == elf.entry - 0x1000 - 0xFFF0000
    assert next(s for s in p.sections if s.name == ".text").VirtualAddress == 0x10000
    words = [int.from_bytes(p.read_rva(rva, 8), "little") for rva, _ in p.base_relocations]
    assert words and all(0xFFF0000 <= w < 0xFFF0000 + p.optional_header.SizeOfImage for w in words)


def test_pie_moves_to_a_given_image_base(uefi_payloads):
    elf = ElfFile.parse(uefi_payloads["pie"].read_bytes())
    app = elf_to_efi(elf, image_base=0x1000000000)
    p = pe.parse(app.pe)
    assert p.optional_header.ImageBase == 0x1000000000
    words = {rva: int.from_bytes(p.read_rva(rva, 8), "little") for rva, _ in p.base_relocations}
    assert all(0x1000000000 <= w < 0x1000000000 + p.optional_header.SizeOfImage for w in words.values())


def test_warnings_for_a_tamago_program_started_at_its_rt0_entry(go_elf):
    from formats.go.buildinfo import parse_buildinfo
    from imgtool.uefi import tamago_warnings

    elf = ElfFile.parse(go_elf("amd64").read_bytes())
    info = parse_buildinfo(elf)
    info = dataclasses.replace(info, settings={**info.settings, "GOOS": "tamago"})
    warnings = tamago_warnings(elf, elf_to_efi(elf, image_base=0x10000000), info)
    assert len(warnings) == 1 and "_rt0_amd64_linux" in warnings[0] and "-E cpuinit" in warnings[0]
    moved = tamago_warnings(elf, elf_to_efi(elf, image_base=0x0), info)
    assert any("not TEXT_START - 0x10000" in w for w in moved)


def test_a_moved_pie_is_checked_where_its_text_runs(uefi_payloads):
    """For a PIE given another ImageBase, TEXT_START - 64 KiB is checked against where
    .text runs after the move, not where it was linked."""
    from formats.go.buildinfo import BuildInfo
    from imgtool.uefi import tamago_warnings

    elf = ElfFile.parse(uefi_payloads["pie"].read_bytes())
    info = BuildInfo(go_version="go1.26.0", path="example.com/x", main=None, deps=(), settings={"GOOS": "tamago"})
    app = elf_to_efi(elf)
    moved = elf_to_efi(elf, image_base=app.image_base + 0x200000)
    assert moved.delta == app.delta + 0x200000 and moved.image_base == moved.text_start + moved.delta - 0x10000
    # the link-time text_start alone would say the moved image breaks the RamStart contract
    assert moved.image_base != moved.text_start - 0x10000
    assert not any("not TEXT_START" in w for w in tamago_warnings(elf, app, info) + tamago_warnings(elf, moved, info))


def test_info_shows_headers_sections_relocations(uefi_payloads, run_imgtool_session, tmp_path):
    out = tmp_path / "pie.efi"
    run_imgtool_session("uefi", "app", uefi_payloads["pie"], "-o", out, check=True)
    text = run_imgtool_session("info", out, check=True).stdout
    assert "PE32+ x86-64 EFI application (boot file BOOTX64.EFI)" in text
    assert re.search(r"relocations\s+\d+ \(\d+ DIR64\) in 1 pages", text) and ".reloc" in text
    assert "DYNAMIC_BASE" in text and "signature          none" in text
    desc = json.loads(run_imgtool_session("info", out, "--json", check=True).stdout)
    assert desc["type"] == "pe" and desc["checksum"]["ok"] and desc["relocations"]["types"] == {
        "DIR64": desc["relocations"]["count"]}
    assert [s["name"] for s in desc["sections"]] == [".rdata", ".text", ".rdata1", ".data", ".reloc"]


# -- bad input: exit 2, one line, nothing written ---------------------------------------------

def _bad(run, tmp_path, *args, match):
    out = tmp_path / "out.efi"
    r = run("uefi", "app", *args, "-o", out)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("imgtool: error: "), r.stderr
    assert re.search(match, lines[0]), lines[0]
    assert not out.exists() and not list(tmp_path.glob(".out.efi*"))
    return lines[0]


def test_wrong_architectures_are_refused(go_elf, run_imgtool_session, tmp_path):
    _bad(run_imgtool_session, tmp_path, go_elf("arm7"), match=r"e_machine: .*ELF64 for x86-64 or AArch64.*ELF32 for arm")
    _bad(run_imgtool_session, tmp_path, go_elf("riscv64"), match=r"ELF64 for riscv64")


def test_malformed_and_non_elf_inputs_are_refused(go_elf, run_imgtool_session, tmp_path):
    cut = tmp_path / "cut.elf"
    cut.write_bytes(go_elf("amd64").read_bytes()[:100])
    _bad(run_imgtool_session, tmp_path, cut, match=r"cut.elf: offset 0x[0-9a-f]+: e_phoff")
    pe_file = tmp_path / "an.efi"
    pe_file.write_bytes(elf_to_efi(ElfFile.parse(go_elf("amd64").read_bytes())).pe)
    _bad(run_imgtool_session, tmp_path, pe_file, match=r"not an ELF file")


def test_layout_problems_are_refused(uefi_payloads, go_elf, run_imgtool_session, tmp_path):
    run = run_imgtool_session
    _bad(run, tmp_path, uefi_payloads["lowheaders"], match=r"PT_LOAD 0 at 0x400000 lies below ImageBase 0x10000000")
    _bad(run, tmp_path, go_elf("amd64"), "--image-base", "0x10008000", match=r"ImageBase.*64 KiB")
    _bad(run, tmp_path, go_elf("amd64"), "--image-base", "0x10000000x", match=r"--image-base.*not a number")
    _bad(run, tmp_path, go_elf("amd64"), "--relocatable", match=r"e_type: .*fixed address.*position-independent")
    _bad(run, tmp_path, go_elf("amd64"), "--subsystem", "rom", match=r"--subsystem 'rom'")
    _bad(run, tmp_path, uefi_payloads["fixed"], "--image-base", "0x20000000", match=r"below ImageBase")


def test_subsystems(uefi_payloads, run_imgtool_session, tmp_path):
    for name, value in (("app", 10), ("boot", 11), ("runtime", 12)):
        out = tmp_path / f"{name}.efi"
        run_imgtool_session("uefi", "app", uefi_payloads["fixed"], "--subsystem", name, "-o", out, check=True)
        assert pefile.PE(str(out)).OPTIONAL_HEADER.Subsystem == value


def test_go_elf_without_go_module_is_refused(go_elf, run_imgtool_session, tmp_path):
    stripped = tmp_path / "nomodule.elf"
    subprocess.run([need("objcopy"), "--remove-section", ".go.module", str(go_elf("amd64")), str(stripped)],
                   check=True, capture_output=True)
    _bad(run_imgtool_session, tmp_path, stripped, match=r"\.go\.module: .*no \.go\.module section")


def test_pure_python_twin_gives_the_same_image(uefi_payloads, tmp_path):
    """The checksum (and the PIE's relocations) without the C core: the same bytes."""
    import os
    import sys

    outs = []
    for pure in ("0", "1"):
        out = tmp_path / f"pure{pure}.efi"
        subprocess.run([sys.executable, "-m", "imgtool", "uefi", "app", str(uefi_payloads["pie"]), "-o", str(out)],
                       env=dict(os.environ, IMGTOOL_PURE_PYTHON=pure), check=True, capture_output=True)
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
