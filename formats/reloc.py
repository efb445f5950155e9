"""Applying ELF dynamic relocations: a position-independent ELF as a flat image at a new base.

A position-independent Go program (``go build -buildmode=pie``) is linked at one
address (the *link base*, the lowest ``p_vaddr``: 0 for GNU ld, 0x400000 or ``-T`` for
Go's internal linker) and carries the dynamic relocations a loader applies to run it
anywhere else. :func:`relocate` is that loader for a flat image: it builds the memory
image of the PT_LOAD segments, applies every relocation for ``delta = base - link
base`` and returns the image placed at ``base``, with the list of words that moved (what
a PE base-relocation table lists, :func:`formats.pe.base_relocations`).

The tables are read by :mod:`formats.dynamic` (its public names are re-exported here, so
``formats.reloc`` stays the one front door); what each relocation type means is the
psABI table there. TLS, IRELATIVE and COPY relocations are refused, or skipped and
reported with ``skip_unsupported``.

A Go linker defect handled on the way: Go's internal linker leaves some itab method slots
without a relocation (:mod:`formats.go.itab`); :func:`relocate` moves those words too
(``fix_go_itabs``) and reports how many.

The walk over the table runs in the C core (:mod:`formats._accel`); ``_apply_py`` is its
pure-Python twin (``IMGTOOL_PURE_PYTHON=1``) and gives identical results.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, replace
from typing import Mapping

from formats._native import accel as _accel
from formats.dynamic import (  # noqa: F401  (re-exported: the reading half of this front door)
    DT_FLAGS_1, DT_HASH, DT_JMPREL, DT_NULL, DT_PLTREL, DT_PLTRELSZ, DT_REL, DT_RELA, DT_RELAENT, DT_RELASZ,
    DT_RELENT, DT_RELR, DT_RELRENT, DT_RELRSZ, DT_RELSZ, DT_STRSZ, DT_STRTAB, DT_SYMENT, DT_SYMTAB, DT_TEXTREL,
    NONE, REFUSED, RELATIVE, SHT_RELR, SYM, SYM_ADDEND, DynamicRelocations, RelocTable, Relocation,
    read_dynamic_relocations, relr_addresses, relr_walk, split_info, type_name, types_for)
from formats.elf import SHN_ABS, SHN_UNDEF, STB_WEAK, ElfFile
from formats.elfstructs import elf_structs
from formats.errors import FormatError
from formats.go.itab import fix_itabs
from formats.go.moduledata import function_entry as _go_function  # noqa: F401  (tests look the target up here)
from formats.loadimage import DEFAULT_MAX_GAP, DEFAULT_MAX_SIZE, LoadImage, segment_buffer

__all__ = ["IMPLEMENTATION", "DynamicRelocations", "RelocTable", "Relocation", "Relocated",
           "read_dynamic_relocations", "relocate", "relr_addresses", "type_name"]

#: ``"c"`` when the C core applies relocations, ``"python"`` for the pure twin.
IMPLEMENTATION = "c" if _accel is not None else "python"

# symbol kinds, as the C core numbers them
_S_UNDEF, _S_MOVES, _S_ABS = 0, 1, 2
# layout bits
_L_RELA, _L_ELF64, _L_BIG, _L_RELR, _L_SKIP, _L_DRY = 1, 2, 4, 8, 16, 32


def _apply_py(image, image_addr, table, layout, classes, delta, symvals, symkind, sites=None):
    """Pure-Python twin of ``_accel.apply_relocs`` (same arguments, same result tuple:
    status, index, applied, nsites, relative, skipped)."""
    S = elf_structs(64 if layout & _L_ELF64 else 32, not layout & _L_BIG)
    W = S.word
    w = W.size
    mask = (1 << (8 * w)) - 1
    dry = bool(layout & _L_DRY)
    n_img = len(image)
    delta &= (1 << 64) - 1
    n = {"applied": 0, "sites": 0, "relative": 0, "skipped": 0}
    sites_max = len(sites) if sites is not None else 0

    def result(status, index):
        return (status, index, n["applied"], n["sites"], n["relative"], n["skipped"])

    def word(a):
        off = a - image_addr
        return off if a >= image_addr and off + w <= n_img else None

    def site(a):
        if sites is not None:
            if n["sites"] >= sites_max:
                return False
            sites[n["sites"]] = a
        n["sites"] += 1
        return True

    if layout & _L_RELR:
        if len(table) % w:
            return result(5, len(table) // w)
        i = 0
        for i, a in relr_walk(table, S):
            off = word(a)
            if off is None:
                return result(2, i)
            if not dry:
                W.pack_into(image, off, (W.unpack_from(image, off)[0] + delta) & mask)
            if not site(a):
                return result(6, i)
            n["applied"] += 1
            n["relative"] += 1
        return result(0, len(table) // w - 1 if table else 0)

    rela = bool(layout & _L_RELA)
    rec = S.rela if rela else S.rel
    if len(table) % rec.size:
        return result(5, len(table) // rec.size)
    nsyms = len(symvals)
    i = 0
    for i, ent in enumerate(rec.iter_unpack(table)):
        off_a = ent[0]
        sym, rtype = split_info(ent[1], w)
        kind = classes[rtype] if rtype < len(classes) else REFUSED
        if kind == NONE:
            continue
        if kind == REFUSED:
            if layout & _L_SKIP:
                n["skipped"] += 1
                continue
            return result(1, i)
        off = word(off_a)
        if off is None:
            return result(2, i)
        addend = ent[2] if rela else W.unpack_from(image, off)[0]
        moves = True
        if kind == RELATIVE:
            v = addend + delta
        else:
            if sym >= nsyms:
                return result(4, i)
            if symkind[sym] == _S_UNDEF:
                return result(3, i)
            moves = symkind[sym] == _S_MOVES
            v = symvals[sym] + (addend if kind == SYM_ADDEND else 0)
        if not dry:
            W.pack_into(image, off, v & mask)
        n["applied"] += 1
        n["relative"] += kind == RELATIVE
        if moves and not site(off_a):
            return result(6, i)
    return result(0, i)


_apply = _accel.apply_relocs if _accel is not None else _apply_py


@dataclass(frozen=True)
class Relocated:
    """The result of :func:`relocate`.

    ``image``: the relocated memory image, ``image.base`` = the new address of the link
    base, ``image.entry`` moved by ``delta``; ``link_base`` the lowest ``p_vaddr``;
    ``delta`` = new base - link base (modulo the address size); ``applied`` relocated
    words by table kind (``"relative"``, ``"symbol"``, ``"relr"``); ``sites`` the offsets
    into ``image.data`` of every word that moves with the image (sorted; what a PE
    base-relocation table lists, :func:`formats.pe.base_relocations`); ``skipped`` the
    refused entries left as they were (with ``skip_unsupported``); ``undefined`` symbols
    resolved to 0 (with ``allow_undefined``); ``go_itab_slots`` itab words moved for the
    Go linker defect; ``word_size`` 4 or 8 bytes.
    """

    image: LoadImage
    link_base: int
    delta: int
    applied: dict[str, int]
    sites: array
    skipped: tuple[Relocation, ...]
    undefined: tuple[str, ...]
    go_itab_slots: int
    word_size: int


def relocate(
    elf: ElfFile,
    base: int,
    *,
    symbols: Mapping[str, int] | None = None,
    allow_undefined: bool = False,
    skip_unsupported: bool = False,
    fix_go_itabs: bool = True,
    include_bss: bool = True,
    fill: int = 0,
    max_gap: int | None = DEFAULT_MAX_GAP,
    max_size: int | None = DEFAULT_MAX_SIZE,
) -> Relocated:
    """Relocate the position-independent ``elf`` so that its link base lands at ``base``.

    Args:
        elf: an ELF with dynamic relocations (``ET_DYN``, e.g. ``go build -buildmode=pie``).
        base: the address (bytes) the image's first byte (the lowest ``p_vaddr``) is
            loaded at; must keep the whole image inside the ELF class's address space.
        symbols: values for undefined dynamic symbols (name -> address); they do not move
            with the image.
        allow_undefined: resolve other undefined symbols to 0 instead of refusing (weak
            undefined symbols are always 0, as ld.so does).
        skip_unsupported: leave TLS/IRELATIVE/COPY and unknown entries as the linker wrote
            them (reported in ``skipped``) instead of refusing.
        fix_go_itabs: also move the itab slots Go's linker leaves unrelocated
            (:func:`formats.go.itab.fix_itabs`).
        include_bss, fill, max_gap, max_size: as :func:`formats.loadimage.flatten_segments`.

    Returns:
        a :class:`Relocated`.

    Raises:
        FormatError: ``base`` differs from the link address of a file that is not
            position-independent (no relocations, or a fixed-address ``ET_EXEC``); ``base``
            is not the link base plus a multiple of the largest PT_LOAD ``p_align``, or puts
            the memory image (BSS included) outside the address space; a ``symbols`` name
            is not an undefined dynamic symbol or its value does not fit; a relocation is of
            a refused type, targets a word outside the loaded segments, or refers to an
            undefined or ifunc symbol. Messages name the table, entry index, r_offset and
            type; malformed dynamic sections as :func:`read_dynamic_relocations`. Where an
            argument is what to change, the error's ``field`` names it (``base``,
            ``symbols``, ``skip_unsupported``, ``fill``, ``max_gap``, ``max_size``).
    """
    rel = read_dynamic_relocations(elf)
    link_base, data, regions = segment_buffer(elf, include_bss=include_bss, fill=fill, max_gap=max_gap,
                                             max_size=max_size)
    w = elf.elfclass // 8
    space = 1 << (8 * w)
    extent = max(s.vaddr + s.memsz for s in elf.loads if s.memsz) - link_base  # BSS counts, included or not
    if not 0 <= base or base + extent > space:
        raise FormatError(f"base 0x{base:x} puts the 0x{extent:x}-byte memory image outside the {8 * w}-bit "
                          "address space", source=elf.source, field="base")
    delta = (base - link_base) % (1 << 64)
    if base != link_base and not (rel.tables and rel.position_independent):
        kind = {1: "ET_REL", 2: "ET_EXEC", 3: "ET_DYN"}.get(elf.e_type, f"type {elf.e_type}")
        why = "has no dynamic relocations" if not rel.tables else "is not position-independent (no DF_1_PIE)"
        raise FormatError(f"this {kind} file {why}: it is linked at 0x{link_base:x} and cannot be moved to "
                          f"0x{base:x}; build it position-independent (go build -buildmode=pie)",
                          source=elf.source, field="e_type")
    align = max((s.align for s in elf.loads if s.memsz), default=1) or 1
    if (base - link_base) % align:
        lo = base - (base - link_base) % align
        raise FormatError(f"base 0x{base:x} is not link base 0x{link_base:x} plus a multiple of the segment alignment "
                          f"0x{align:x} (p_align; AArch64 ADRP and page-relative code need it): use e.g. 0x{lo:x} or "
                          f"0x{lo + align:x}", source=elf.source, field="base")
    if not rel.position_independent:
        rel = replace(rel, tables=[])  # at its link address a fixed-address file is used as linked
    types = types_for(elf.machine, elf.elfclass)
    classes = bytearray(max(types, default=0) + 1)
    for t, (_, kind) in types.items():
        classes[t] = kind
    symvals, symkind, undefined = _resolve_symbols(elf, rel.symbols, delta, symbols or {}, allow_undefined)
    layout0 = (_L_ELF64 if w == 8 else 0) | (0 if elf.little_endian else _L_BIG) | (_L_SKIP if skip_unsupported else 0)
    applied = {"relative": 0, "symbol": 0, "relr": 0}
    all_sites = array("Q")
    any_skipped = False
    for t in rel.tables:
        layout = layout0 | {"rela": _L_RELA, "rel": 0, "relr": _L_RELR}[t.kind]
        nmax = len(t.data) // t.entry_size(elf.elfclass)
        if t.kind == "relr":  # a bitmap word stands for up to 8*W-1 words: count first
            status, index, _, nmax, _, _ = _apply(data, link_base, t.data, layout | _L_DRY, classes, delta, symvals,
                                                  symkind)
            if status:
                raise _error(rel, t, status, index, link_base, len(data))
        sites = array("Q", bytes(8 * nmax))
        status, index, n, nsites, nrel, nskip = _apply(data, link_base, t.data, layout, classes, delta, symvals,
                                                       symkind, sites)
        if status:
            raise _error(rel, t, status, index, link_base, len(data))
        all_sites.extend(sites[:nsites])
        if t.kind == "relr":
            applied["relr"] += n
        else:
            applied["relative"] += nrel
            applied["symbol"] += n - nrel
        any_skipped = any_skipped or nskip > 0
    # decoding every entry in Python is slow on big tables: only when some were skipped
    skipped = tuple(r for r in rel.entries() if types.get(r.type, ("", REFUSED))[1] == REFUSED) if any_skipped else ()
    itab_slots = fix_itabs(elf, data, link_base, delta, all_sites) if fix_go_itabs and rel.tables and delta else 0
    offsets = array("Q", sorted(s - link_base for s in all_sites))
    image = LoadImage(base=base, data=bytes(data), entry=(elf.entry + delta) % space,
                      regions=tuple(replace(r, address=(r.address + delta) % space) for r in regions),
                      vma_base=base)
    return Relocated(image, link_base, delta, applied, offsets, skipped, undefined, itab_slots, w)


def _resolve_symbols(elf, syms, delta, given, allow_undefined):
    """Final symbol values and kinds for the C walker; checks ``given`` (``symbols``)."""
    mask = (1 << elf.elfclass) - 1
    undefined_names = {s.name for i, s in enumerate(syms) if i and s.shndx == SHN_UNDEF}
    for name, value in given.items():
        if name not in undefined_names:
            why = ("the ELF defines this symbol itself" if any(s.name == name for s in syms)
                   else "no undefined dynamic symbol has this name")
            raise FormatError(f"{name}: {why}", source=elf.source, field="symbols")
        if not 0 <= value <= mask:
            raise FormatError(f"{name}=0x{value:x} does not fit {elf.elfclass} bits", source=elf.source,
                              field="symbols")
    symvals = array("Q", bytes(8 * len(syms)))
    symkind = bytearray(len(syms))
    undefined = []
    for i, s in enumerate(syms):
        if i == 0:
            symkind[i] = _S_ABS
        elif s.name in given and s.shndx == SHN_UNDEF:
            symvals[i], symkind[i] = given[s.name], _S_ABS
        elif s.shndx == SHN_UNDEF:
            if s.bind == STB_WEAK:
                symkind[i] = _S_ABS
            elif allow_undefined:
                symkind[i] = _S_ABS
                undefined.append(s.name)
        elif s.type == "IFUNC":
            pass  # its value is a resolver that would have to run: refused like IRELATIVE
        elif s.shndx == SHN_ABS:
            symvals[i], symkind[i] = s.st_value, _S_ABS
        else:
            symvals[i], symkind[i] = (s.st_value + delta) & mask, _S_MOVES
    return symvals, bytes(symkind), tuple(sorted(set(undefined)))


def _error(rel: DynamicRelocations, t: RelocTable, status: int, index: int, link_base: int, size: int) -> FormatError:
    elf = rel.elf
    w = elf.elfclass // 8
    where = f"{t.origin} entry {index}"
    if status == 5:
        return FormatError(f"{t.origin} is {len(t.data)} bytes, not a whole number of entries", source=elf.source,
                           field=t.origin)
    if t.kind == "relr":
        words = relr_addresses(t.data[:(index + 1) * w], elf.elfclass, elf.little_endian)
        bad = next((a for a in words if not link_base <= a <= link_base + size - w), None)
        at = f" (word 0x{bad:x})" if bad is not None else ""
        return FormatError(f"{where}{at} is outside the loaded segments (0x{link_base:x}..0x{link_base + size:x})",
                           source=elf.source)
    single = DynamicRelocations(elf, [t], rel.symbols)
    r = next(x for x in single.entries() if x.index == index)
    head = f"{where}: {r.type_name} at 0x{r.offset:x}"
    field = None
    if status == 1:
        msg = (f"{head} cannot be applied to a flat image (TLS, IRELATIVE and COPY need a run-time loader); "
               "skipping leaves such words as linked")
        field = "skip_unsupported"
    elif status == 2:
        msg = f"{head} is outside the loaded segments (0x{link_base:x}..0x{link_base + size:x})"
    elif status == 3 and r.symbol < len(rel.symbols) and rel.symbols[r.symbol].type == "IFUNC":
        msg = f"{head} refers to the ifunc {r.symbol_name!r}, whose resolver would have to run (not possible in a flat image)"
    elif status == 3:
        msg = (f"{head} refers to the undefined symbol {r.symbol_name!r}, which has no value; give it one (or allow "
               "undefined symbols)")
        field = "symbols"
    elif status == 4:
        msg = f"{head} refers to symbol #{r.symbol}, past the {len(rel.symbols)} dynamic symbols"
    else:
        msg = f"{head} failed (status {status})"
    return FormatError(msg, source=elf.source, field=field)
