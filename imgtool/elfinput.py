"""Reading ELF inputs at the application edge, and what imgtool can tell about them.

``load_elf`` turns a path into a validated :class:`formats.elf.ElfFile` (errors name the
file); ``elf_summary`` is the JSON-able description ``imgtool info`` prints for an ELF:
architecture, entry, TEXT_START, segments, sections, notes, Go build information and the
TamaGo board and SoC packages compiled in.
"""

from __future__ import annotations

import os

from formats.elf import ElfFile
from formats.errors import FormatError
from imgtool.output import read_input

#: Import-path prefixes of the packages that name the hardware a TamaGo program targets.
TAMAGO_BOARD_PREFIX = "github.com/usbarmory/tamago/board/"
TAMAGO_SOC_PREFIX = "github.com/usbarmory/tamago/soc/"


def load_elf(path: str | os.PathLike[str]) -> ElfFile:
    """Read and parse the ELF file at ``path``.

    Raises:
        InputError: the file cannot be read.
        FormatError: it is not a valid ELF (the message names ``path``).
    """
    data = read_input(path)
    return ElfFile.parse(data, source=str(path))


def tamago_packages(elf: ElfFile) -> dict[str, list[str]]:
    """TamaGo board and SoC package paths that define symbols in ``elf``.

    Returns ``{"boards": [...], "socs": [...]}`` (sorted); empty lists for a stripped ELF
    or a program that is not built on TamaGo.
    """
    from formats.go.symbols import package_paths

    boards, socs = set(), set()
    for pkg in package_paths(elf):
        if pkg.startswith(TAMAGO_BOARD_PREFIX):
            boards.add(pkg)
        elif pkg.startswith(TAMAGO_SOC_PREFIX):
            socs.add(pkg)
    return {"boards": sorted(boards), "socs": sorted(socs)}


def elf_summary(elf: ElfFile) -> dict:
    """A JSON-able description of ``elf`` (addresses and sizes as integers, in bytes).

    Raises:
        FormatError: the Go build information is malformed.
    """
    from formats.go.buildinfo import build_id, parse_buildinfo

    info = parse_buildinfo(elf)
    stripped = not any(s.type == 2 for s in elf.sections)
    out = {
        "file": elf.source,
        "type": "elf",
        "class": f"ELF{elf.elfclass}",
        "endian": "little" if elf.little_endian else "big",
        "arch": elf.arch,
        "machine": elf.machine,
        "e_type": elf.e_type,
        "flags": elf.e_flags,
        "entry": elf.entry,
        "entry_thumb": elf.entry_thumb,
        "text_start": elf.text_start,
        "stripped": stripped,
        "segments": [
            {"index": s.index, "type": s.type_name, "offset": s.offset, "vaddr": s.vaddr, "paddr": s.paddr,
             "filesz": s.filesz, "memsz": s.memsz, "flags": s.flag_str.replace(" ", ""), "align": s.align}
            for s in elf.segments
        ],
        "sections": [
            {"index": s.index, "name": s.name, "type": s.type_name, "addr": s.addr, "offset": s.offset,
             "size": s.size, "flags": s.flag_str, "align": s.addralign}
            for s in elf.sections if s.index
        ],
        "notes": [{"section": n.section, "name": n.name, "type": n.type, "size": len(n.desc)} for n in elf.notes],
        "go_build_id": build_id(elf),
        "gnu_build_id": elf.gnu_build_id,
        "pvh_entry": elf.pvh_entry,
        "go": info.to_dict() if info else None,
        "tamago": tamago_packages(elf),
        "relocations": _relocation_summary(elf),
    }
    return out


def _relocation_summary(elf: ElfFile) -> dict | None:
    """Dynamic relocation tables (``formats.reloc``) of a position-independent ELF, or None."""
    from formats.reloc import read_dynamic_relocations

    try:
        rel = read_dynamic_relocations(elf)
    except FormatError as exc:
        return {"error": str(exc)}
    if not rel.tables:
        return None
    return {
        "position_independent": rel.position_independent,
        "link_base": min((s.vaddr for s in elf.loads), default=0),
        "tables": [{"origin": t.origin, "kind": t.kind, "address": t.address,
                    "entries": len(t.data) // t.entry_size(elf.elfclass)} for t in rel.tables],
        "undefined_symbols": sum(1 for i, x in enumerate(rel.symbols) if i and x.shndx == 0),
    }


def require_arch(elf: ElfFile, allowed: tuple[str, ...], command: str) -> None:
    """Raise FormatError unless ``elf.arch`` is one of ``allowed`` (for ``command``)."""
    if elf.arch not in allowed:
        raise FormatError(f"{command} needs an ELF for {' or '.join(allowed)}, this one is for {elf.arch}",
                          source=elf.source, field="e_machine")
