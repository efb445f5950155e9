"""An ELF executable as a UEFI PE32+ application (``imgtool uefi app``).

What objcopy's ``efi-app-x86_64`` target makes of a TamaGo ELF (reference notes,
boot-artifacts.md §3.2) is one PE section per ELF section at unaligned addresses, a
SizeOfImage that is no multiple of SectionAlignment, no relocations. Here instead:

- one PE section per ``PT_LOAD`` (System V ABI "Program Header"), at its page-aligned
  address: ``.text`` (code, R-X) for an executable segment, ``.data`` (RW-) for a
  writable one, ``.rdata`` (R--) otherwise; ``.bss`` for a writable segment without
  file bytes. A segment's BSS stays out of the file: VirtualSize > SizeOfRawData, and the
  loader zero-fills (PE/COFF specification, "Section Table": VirtualSize);
- ``ImageBase`` = TEXT_START - 0x10000 unless given: go-boot's runtime contract
  (``uefi/x64/x64.s``: RamStart = runtime·text - 64 KiB, which must be ImageBase), so
  RVA = link address - ImageBase and ``AddressOfEntryPoint`` = e_entry - ImageBase;
- a fixed-address ELF keeps ``IMAGE_FILE_RELOCS_STRIPPED`` by default: firmware that
  cannot place it at ImageBase refuses it instead of starting it at the wrong address
  (go-boot clears the flag: Characteristics 0x0226; ``relocs_stripped=False`` does the same);
- a position-independent ELF (``ET_DYN`` or ``DF_1_PIE``) has its dynamic relocations
  applied for ImageBase (:func:`formats.reloc.relocate`) and every word that moves with
  the image listed in a ``.reloc`` section of ``IMAGE_REL_BASED_DIR64`` blocks, so the
  firmware can load it anywhere; ``.text`` is placed at RVA 0x10000 as for a fixed image.
"""

from __future__ import annotations

from dataclasses import dataclass

from formats.align import align_up
from formats.elf import EM_AARCH64, EM_X86_64, PF_W, PF_X, ElfFile
from formats.errors import FormatError
from formats.pe import constants as C
from formats.pe.baserelocs import IMAGE_REL_BASED_DIR64, base_relocations
from formats.pe.image import PeImage, Section, build, headers_size

__all__ = ["EfiApplication", "elf_to_efi", "TEXT_OFFSET", "PIE_DEFAULT_IMAGE_BASE", "SUBSYSTEMS"]

#: .text sits this far above ImageBase (go-boot: RamStart = text - 64 KiB = ImageBase).
TEXT_OFFSET = 0x10000
#: ImageBase for a position-independent ELF linked so low that TEXT_START - 0x10000 is
#: negative (e.g. ``gcc -static-pie``, linked at 0): go-boot's default IMAGE_BASE.
PIE_DEFAULT_IMAGE_BASE = 0x10000000
#: ``--subsystem`` names -> optional header Subsystem.
SUBSYSTEMS = {"app": C.IMAGE_SUBSYSTEM_EFI_APPLICATION, "boot": C.IMAGE_SUBSYSTEM_EFI_BOOT_SERVICE_DRIVER,
              "runtime": C.IMAGE_SUBSYSTEM_EFI_RUNTIME_DRIVER}

_MACHINES = {EM_X86_64: C.IMAGE_FILE_MACHINE_AMD64, EM_AARCH64: C.IMAGE_FILE_MACHINE_ARM64}
_PAGE = 0x1000
_FIXED_CHARACTERISTICS = (C.IMAGE_FILE_EXECUTABLE_IMAGE | C.IMAGE_FILE_LINE_NUMS_STRIPPED
                          | C.IMAGE_FILE_LARGE_ADDRESS_AWARE | C.IMAGE_FILE_DEBUG_STRIPPED)  # 0x0226, go-boot's
_TEXT = C.IMAGE_SCN_CNT_CODE | C.IMAGE_SCN_MEM_EXECUTE | C.IMAGE_SCN_MEM_READ
_RDATA = C.IMAGE_SCN_CNT_INITIALIZED_DATA | C.IMAGE_SCN_MEM_READ
_DATA = _RDATA | C.IMAGE_SCN_MEM_WRITE
_BSS = C.IMAGE_SCN_CNT_UNINITIALIZED_DATA | C.IMAGE_SCN_MEM_READ | C.IMAGE_SCN_MEM_WRITE
_RELOC = _RDATA | C.IMAGE_SCN_MEM_DISCARDABLE


@dataclass(frozen=True)
class EfiApplication:
    """The result of :func:`elf_to_efi`.

    ``pe``: the PE32+ file; ``image``: the :class:`~formats.pe.image.PeImage` it was
    built from; ``image_base``; ``text_start`` (.text's link address); ``delta`` (bytes
    added to every link-time address: non-zero when a position-independent ELF was moved
    to fit ImageBase); ``relocatable`` (a ``.reloc`` section lets the firmware move it);
    ``relocations`` (DIR64 entries); ``segments`` (``(PT_LOAD index, PE section index)``).
    """

    pe: bytes
    image: PeImage
    image_base: int
    text_start: int
    delta: int
    relocatable: bool
    relocations: int
    segments: tuple[tuple[int, int], ...]


def _names(flags: int, has_bits: bool) -> tuple[str, int]:
    if flags & PF_X:
        return ".text", _TEXT | (C.IMAGE_SCN_MEM_WRITE if flags & PF_W else 0)
    if flags & PF_W:
        return (".data", _DATA) if has_bits else (".bss", _BSS)
    return ".rdata", _RDATA


def _unique(name: str, used: set[str]) -> str:
    n, out = 1, name
    while out in used:
        out = f"{name}{n}"
        n += 1
    used.add(out)
    return out


def elf_to_efi(
    elf: ElfFile,
    *,
    image_base: int | None = None,
    subsystem: int = C.IMAGE_SUBSYSTEM_EFI_APPLICATION,
    relocs_stripped: bool = True,
    require_relocatable: bool = False,
) -> EfiApplication:
    """Convert ``elf`` (ELF64, x86-64 or AArch64) into a UEFI PE32+ image (module doc).

    Args:
        elf: the linked executable.
        image_base: the preferred load address (a multiple of 64 KiB); default
            TEXT_START - 0x10000 (for a position-independent ELF rounded down to 64 KiB,
            and :data:`PIE_DEFAULT_IMAGE_BASE` where it is negative).
        subsystem: 10 EFI application, 11 boot service driver, 12 runtime driver.
        relocs_stripped: for a fixed-address ELF, set IMAGE_FILE_RELOCS_STRIPPED (the
            firmware then refuses the image when ImageBase is taken); ``False`` gives
            go-boot's 0x0226. A relocatable image never has the flag.
        require_relocatable: refuse an ELF that is not position-independent.

    Raises:
        FormatError: not ELF64 x86-64/AArch64; no PT_LOAD or no executable one; a segment
            below ImageBase, over the PE
            headers, sharing a page with the previous one, or more than 4 GiB above
            ImageBase; ImageBase not a multiple of 64 KiB; e_entry outside the code;
            a fixed-address ELF with ``require_relocatable``; dynamic relocations that
            cannot be applied (see :func:`formats.reloc.relocate`); a bad subsystem.
    """
    from formats.reloc import read_dynamic_relocations, relocate

    machine = _MACHINES.get(elf.machine) if elf.elfclass == 64 else None
    if machine is None:
        raise FormatError(f"a UEFI application needs an ELF64 for x86-64 or AArch64; this is ELF{elf.elfclass} "
                          f"for {elf.arch}", source=elf.source, offset=18, field="e_machine")
    if subsystem not in SUBSYSTEMS.values():
        raise FormatError(f"subsystem {subsystem} is not an EFI application or driver (10, 11 or 12)",
                          field="Subsystem")
    loads = sorted((s for s in elf.loads if s.memsz), key=lambda s: s.vaddr)
    code = [s for s in loads if s.flags & PF_X]
    if not code:
        raise FormatError("no executable PT_LOAD segment", source=elf.source, field="program headers")
    text = elf.text_start if elf.text_start is not None else code[0].vaddr
    rel = read_dynamic_relocations(elf)
    pic = rel.position_independent
    if require_relocatable and not pic:
        raise FormatError(f"this {'ET_EXEC' if elf.e_type == 2 else f'type {elf.e_type}'} file is linked at a fixed "
                          "address and has no dynamic relocations for a relocatable UEFI image; link it "
                          "position-independent (gcc -static-pie, go build -buildmode=pie)",
                          source=elf.source, field="e_type")
    link_base = loads[0].vaddr
    space = 1 << 64
    header_room = align_up(headers_size(len(loads) + 1), _PAGE)  # + 1: room for .reloc
    if image_base is None:
        image_base = text - TEXT_OFFSET
        if image_base < 0:
            if not pic:
                raise FormatError(f"TEXT_START 0x{text:x} leaves no 64 KiB below it for ImageBase (go-boot links "
                                  "at ImageBase + 0x10000); give the image base", source=elf.source, field="ImageBase")
            image_base = PIE_DEFAULT_IMAGE_BASE
        elif pic:
            image_base -= image_base % 0x10000  # a PIE can move to the 64 KiB multiple below
    if not 0 <= image_base < space:
        raise FormatError(f"ImageBase 0x{image_base:x} does not fit 64 bits", field="ImageBase")
    delta = 0
    if pic:
        rva_link = max(TEXT_OFFSET - (text - link_base), header_room)
        align = max(max((s.align for s in loads), default=1), _PAGE)
        rva_link += -(image_base + rva_link - link_base) % align
        delta = (image_base + rva_link - link_base) % space

    # the memory image: the file's bytes, or the relocated image of a PIE
    sites: list[int] = []
    if pic and rel.tables:
        r = relocate(elf, (link_base + delta) % space, max_gap=None)
        memory, sites = r.image.data, list(r.sites)

        def seg_bytes(seg, n):
            return memory[seg.vaddr - link_base:seg.vaddr - link_base + n]
    else:
        def seg_bytes(seg, n):
            return elf.data[seg.offset:seg.offset + min(n, seg.filesz)].ljust(n, b"\0")

    sections, used, mapping = [], set(), []
    prev_end = header_room
    site_iter = iter(sites)
    pending = next(site_iter, None)
    rvas = []
    for seg in loads:
        va = (seg.vaddr + delta) % space
        if va < image_base:
            raise FormatError(f"PT_LOAD {seg.index} at 0x{va:x} lies below ImageBase 0x{image_base:x}",
                              source=elf.source, field="ImageBase")
        page = va - va % _PAGE
        rva = page - image_base
        if rva < prev_end:
            what = ("the PE headers" if prev_end == header_room else "the previous segment's last page")
            raise FormatError(f"PT_LOAD {seg.index} at 0x{va:x} (RVA 0x{rva:x}) overlaps {what} (up to RVA "
                              f"0x{prev_end:x}); link with page-aligned segments or a lower ImageBase",
                              source=elf.source, field="program headers")
        # words of a PIE that move with the image; a word in BSS keeps its relocated value
        off0, filesz = seg.vaddr - link_base, min(seg.filesz, seg.memsz)
        raw = filesz
        while pending is not None and pending < off0 + seg.memsz:
            if pending < off0:
                raise FormatError(f"a relocation at 0x{link_base + pending:x} is outside every PT_LOAD",
                                  source=elf.source, field="dynamic relocations")
            raw = max(raw, pending - off0 + 8)
            rvas.append(rva + (va - page) + pending - off0)
            pending = next(site_iter, None)
        name, flags = _names(seg.flags, raw > 0)
        data = bytes(va - page) + seg_bytes(seg, raw) if raw else b""
        sections.append(Section(_unique(name, used), rva, va - page + seg.memsz, data, flags))
        mapping.append((seg.index, len(sections) - 1))
        prev_end = rva + align_up(va - page + seg.memsz, _PAGE)
    if pending is not None:
        raise FormatError(f"a relocation at 0x{link_base + pending:x} is outside every PT_LOAD",
                          source=elf.source, field="dynamic relocations")
    entry = (elf.entry + delta) % space - image_base
    if not any(s.virtual_address <= entry < s.virtual_address + s.virtual_size and s.characteristics & C.IMAGE_SCN_MEM_EXECUTE
               for s in sections):
        raise FormatError(f"e_entry 0x{elf.entry:x} is not inside an executable PT_LOAD", source=elf.source,
                          field="e_entry")
    directories = [(0, 0)] * C.IMAGE_NUMBEROF_DIRECTORY_ENTRIES
    if rvas:
        table = base_relocations(rvas, IMAGE_REL_BASED_DIR64)
        sections.append(Section(_unique(".reloc", used), prev_end, len(table), table, _RELOC))
        directories[C.IMAGE_DIRECTORY_ENTRY_BASERELOC] = (prev_end, len(table))
    characteristics = _FIXED_CHARACTERISTICS
    if not pic and relocs_stripped:
        characteristics |= C.IMAGE_FILE_RELOCS_STRIPPED
    image = PeImage(
        machine=machine, sections=tuple(sections), address_of_entry_point=entry, image_base=image_base,
        subsystem=subsystem, characteristics=characteristics,
        dll_characteristics=C.IMAGE_DLLCHARACTERISTICS_DYNAMIC_BASE if pic else 0,
        data_directories=tuple(directories))
    try:
        pe = build(image)
    except FormatError as exc:
        raise exc.with_source(elf.source) if elf.source else exc
    return EfiApplication(pe, image, image_base, text, delta, pic, len(set(rvas)), tuple(mapping))
