"""Finding a Go ELF's pclntab and its ``runtime.firstmoduledata``.

moduledata (``runtime/symtab.go``) starts, since Go 1.16, with P-sized words (P = pointer
size; a slice is three words: pointer, length, capacity):

====== ====================================================================
word   field
====== ====================================================================
0      pcHeader (the pclntab address)
1-3    funcnametab, 4-6 cutab, 7-9 filetab, 10-12 pctab, 13-15 pclntable
16-18  ftab (len = nfunc + 1)
19     findfunctab
20, 21 minpc, maxpc
22, 23 text, etext
38/40  gofunc (``go:func.*``): word 38 in 1.18-1.19, 40 in 1.20-1.26 (varies after)
====== ====================================================================

Only words 0-23 are relied on; ``gofunc`` is taken only when it validates and the
table is 1.18+ (1.16/1.17 moduledata have no such word: 37-39 are textsectmap, 40
typelinks). Go 1.26+ puts moduledata in its own ``.go.module`` section; before, it sits
in ``.noptrdata``/``.data``. The pclntab is found by the ``.gopclntab`` (or ``.data.rel.ro.gopclntab``)
section, then the ``runtime.pclntab``/``runtime.epclntab`` symbols, then a magic scan
over read-only sections validated by a moduledata that points at the candidate.

The executable is read through :class:`formats.go.reader.BinaryReader`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from formats.elfstructs import elf_structs
from formats.errors import FormatError
from formats.go.buildinfo import parse_buildinfo
from formats.go.pclntab import PcLnTab, find_magic, findfunctab_size
from formats.go.reader import BinaryReader, SectionView, word_struct


class ModuleData(NamedTuple):
    """The validated prefix of ``runtime.firstmoduledata``. Addresses are virtual
    addresses; ``address`` is where the moduledata itself is; ``pclntable_len`` is the
    byte length of the functab region; ``gofunc`` is None when it did not validate."""

    address: int
    pcheader: int
    pclntable: int
    pclntable_len: int
    findfunctab: int
    minpc: int
    maxpc: int
    text: int
    etext: int
    gofunc: int | None


@dataclass
class GoTables:
    """What :func:`locate` found: the parsed ``pclntab``, where it was found (``how``:
    ``"section"``, ``"symbols"`` or ``"scan"``), its address and ``section`` (None if
    not a section of its own), the ``moduledata`` (or None), ``text_start`` and the
    address of ``go:func.*`` (``gofunc``, None when unknown)."""

    pclntab: PcLnTab
    how: str
    address: int
    section: SectionView | None
    moduledata: ModuleData | None
    text_start: int
    gofunc: int | None


def find_moduledata(reader: BinaryReader, pclntab_addr: int, pclntab_size: int) -> ModuleData | None:
    """The moduledata whose pcHeader word is ``pclntab_addr`` and whose text/etext lie in
    an executable section, or None. Searches ``.go.module``, then writable sections."""
    P = reader.word_size
    words = elf_structs(8 * P, reader.little_endian).words
    secs = [s for s in reader.sections if s.name == ".go.module"]
    secs += [s for s in reader.sections if s.is_alloc and s.is_writable and not s.is_nobits and s.name != ".go.module"]
    needle = word_struct(reader).pack(pclntab_addr)
    texts = [s for s in reader.sections if s.is_executable and s.is_alloc]
    for sec in secs:
        data = bytes(reader.section_data(sec))
        pos = data.find(needle)
        while pos >= 0:
            if pos % P == 0 and pos + 42 * P <= len(data):
                w = words(data[pos:pos + 42 * P])
                md = _validate(reader, sec.addr + pos, w, pclntab_addr, pclntab_size, texts)
                if md:
                    return md
            pos = data.find(needle, pos + 1)
    return None


def _validate(reader: BinaryReader, addr, w, pc_addr, pc_size, texts) -> ModuleData | None:
    end = pc_addr + pc_size
    for i in (1, 4, 7, 10, 13):  # slices inside the pclntab
        if not (pc_addr <= w[i] <= end and w[i + 1] <= w[i + 2]):
            return None
    text, etext = w[22], w[23]
    if not text <= etext or not any(s.addr <= text <= s.addr + s.size for s in texts):
        return None
    if not w[20] <= w[21]:
        return None
    gofunc = None
    ro = [s for s in reader.sections if s.is_alloc and not s.is_writable and not s.is_nobits]
    for i in (40, 38):
        g = w[i]
        if w[13] + w[14] <= g <= end and i == 40:  # 1.26+: inside the pclntab, after the functab
            gofunc = g
            break
        if any(s.addr <= g < s.addr + s.size for s in ro) and not pc_addr <= g < end:
            gofunc = g
            break
    return ModuleData(addr, w[0], w[13], w[14], w[19], w[20], w[21], text, etext, gofunc)


_UNREAD = object()


def _is_go126(reader: BinaryReader, info=_UNREAD) -> bool | None:
    if info is _UNREAD:
        try:
            info = parse_buildinfo(reader)
        except FormatError:
            info = None
    rel = info.go_release if info else None
    if rel:
        return rel >= (1, 26)
    if reader.section(".go.module") is not None:
        return True
    return None


def locate(reader: BinaryReader, *, build_info=_UNREAD) -> GoTables:
    """Find, validate and parse the pclntab of ``reader``. ``build_info``: the reader's
    :func:`~formats.go.buildinfo.parse_buildinfo` result (None when it has none) if the
    caller already has it; it tells the Go 1.26 layout from older ones.

    Raises:
        FormatError: no pclntab (not a Go binary, or it was removed), or a malformed one
            (the message names the sub-table and the offset inside ``.gopclntab``).
    """
    syms = {s.name: s for s in reader.symbols if s.name.startswith(("runtime.", "go:func.", "go.func."))}
    how, sec, addr, data = None, None, 0, None
    for name in (".gopclntab", ".data.rel.ro.gopclntab"):
        sec = reader.section(name)
        if sec is not None and sec.size and not sec.is_nobits:
            how, addr, data = "section", sec.addr, reader.section_data(sec)
            break
    else:
        sec = None
    if how is None and "runtime.pclntab" in syms and "runtime.epclntab" in syms:
        a, b = syms["runtime.pclntab"].value, syms["runtime.epclntab"].value
        if a < b:
            how, addr, data = "symbols", a, memoryview(reader.read(a, b - a))
    md = None
    if how is None:
        P = reader.word_size
        for s in reader.sections:
            if not s.is_alloc or s.is_writable or s.is_nobits or not s.size:
                continue
            view = reader.section_data(s)
            for off in find_magic(view, reader.little_endian, P):
                md = find_moduledata(reader, s.addr + off, s.size - off)
                if md:
                    # the table runs to the end of the functab region or of the section
                    how, addr = "scan", s.addr + off
                    data = view[off:]
                    break
            if how:
                break
    if how is None:
        raise FormatError("no Go pclntab: no .gopclntab section, no runtime.pclntab symbols, and no magic "
                          "validated by a moduledata (not a Go binary, or the table was removed)",
                          source=reader.source, field=".gopclntab")
    if md is None:
        md = find_moduledata(reader, addr, len(data))
    go126 = _is_go126(reader, build_info)
    text_start = None
    if "runtime.text" in syms:
        text_start = syms["runtime.text"].value
    elif md is not None:
        text_start = md.text
    gofunc = None
    for n in ("go:func.*", "go.func.*"):
        if n in syms:
            gofunc = syms[n].value
    from_md = gofunc is None and md is not None
    if from_md:
        gofunc = md.gofunc
    findfunctab = syms["runtime.findfunctab"].value if "runtime.findfunctab" in syms else (md.findfunctab if md else None)
    if how == "scan" and md is not None and go126:
        data = data[:findfunctab + findfunctab_len(md) - addr]
    try:
        tab = PcLnTab.parse(data, address=addr, text_start=text_start, go126=go126,
                            gofunc=gofunc if go126 else None, findfunctab=findfunctab if go126 else None)
    except FormatError as exc:
        where = sec.name if sec else "pclntab"
        raise FormatError(exc.message, source=reader.source, offset=exc.offset, field=f"{where} {exc.field}") from None
    if text_start is None:
        text_start = tab.text_start
    if from_md and tab.version in ("1.2", "1.16"):
        gofunc = None  # no gofunc word before Go 1.18: word 40 of a 1.16/1.17 moduledata is typelinks
    return GoTables(tab, how, addr, sec, md, text_start, gofunc)


def findfunctab_len(md: ModuleData) -> int:
    """Bytes of ``runtime.findfunctab`` for the text ``md`` covers."""
    return findfunctab_size(md.maxpc - md.minpc)


def function_entry(reader: BinaryReader, name: str) -> int | None:
    """The entry address of the Go function ``name``: from the symbol table (a ``FUNC``
    symbol), else from the pclntab (stripped binaries); None when neither has it or the
    pclntab cannot be read."""
    for s in reader.symbols:
        if s.name == name and s.type == "FUNC":
            return s.value
    try:
        return next((f.entry for f in locate(reader).pclntab.funcs if f.name == name), None)
    except FormatError:
        return None
