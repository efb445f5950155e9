"""Memory regions: how much of each RAM/flash region an ELF fills, and what falls outside.

The GNU ld ``--print-memory-usage`` report for a Go ELF. Regions come from a board
profile (its ``[[ram]]`` tables) or from the user (``--region NAME=START:SIZE``, parsed by
:func:`imgtool.cli.params.parse_region`); the bytes come
from the PT_LOAD segments, trimmed to the sections they carry:

* ``mem``: the segment's memory image at its VMA, from its first loaded section to
  ``p_vaddr + p_memsz`` (``.bss`` included): the RAM the program occupies when it runs;
* ``load``: the file-backed part at its LMA, from its first section with contents to
  ``p_paddr + p_filesz``: the bytes a loader or flash programmer writes;
* ``used``: as GNU ld counts it (``current - ORIGIN``): from the region's start to the
  end of the last byte placed in it, memory or load image, gaps included; ``free`` is
  what is left above that, the room the image can still grow into. ``mem`` and
  ``load`` count only the placed bytes.

The ELF and program headers the Go linker maps in front of ``.text`` (and the
``.note.go.buildid`` note there) are not counted: they are not in the bare-metal image
(``imgtool bin``, ``objcopy -O binary``, the i.MX boot ROM's copy).

Every loaded section must lie inside one region, at its VMA and (when file-backed) at
its LMA; :func:`region_usage` lists the ones that do not as violations.

Public API::

    check_regions(regions) -> None                     ValueError on overlap/duplicate name
    region_usage(elf, regions, origin=..., enforced=True) -> dict   (JSON-able)
    memory_map(elf, board=None, regions=(), packages=()) -> dict | None  InputError on bad regions
    find_region(usage, name) -> dict | None
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Sequence

from formats.elf import ElfFile
from formats.go.symbols import package_paths
from formats.loadimage import loaded_sections

if TYPE_CHECKING:  # the board profiles are imported only when a board is looked up
    from imgtool.boards import Board, RamRegion


def check_regions(regions: Sequence[RamRegion]) -> None:
    """Reject region sets that cannot describe one memory map.

    Raises:
        ValueError: two regions share a name (case-insensitively) or overlap; the message
            names both with their address ranges.
    """
    seen: dict[str, RamRegion] = {}
    for r in regions:
        if r.name.lower() in seen:
            raise ValueError(f"region name {r.name!r} is given twice")
        seen[r.name.lower()] = r
    ordered = sorted(regions, key=lambda r: r.start)
    for a, b in zip(ordered, ordered[1:]):
        if b.start < a.end:
            raise ValueError(f"regions {a.name} ({_span(a.start, a.end)}) and {b.name} ({_span(b.start, b.end)}) "
                             "overlap")


def _span(start: int, end: int) -> str:
    """``0x80000000-0x9fffffff`` (inclusive end, as memory maps are written)."""
    return f"0x{start:08x}-0x{max(end - 1, start):08x}"


def _extents(elf: ElfFile) -> tuple[list[tuple[int, int]], list[tuple[int, int]], list[tuple]]:
    """(VMA extents, LMA extents, placements) of the loaded sections.

    Extents are ``(start, end)`` per PT_LOAD segment, from its first loaded section to
    the segment's end (a loaded section outside every segment is its own extent);
    placements are ``(section, kind, start, end)`` with kind ``"vma"`` or ``"lma"`` (the
    LMA only when file-backed and moved from the VMA).
    """
    vma: dict[object, list[int]] = {}  # segment (or lone section) -> [start, end]
    lma: dict[object, list[int]] = {}
    places = []
    for s in loaded_sections(elf):
        seg = elf.segment_of(s)
        at = elf.lma(s)
        if seg is None:
            key, vma_end, lma_end = ("section", s.index), s.addr + s.size, at + s.size
        else:
            key, vma_end, lma_end = seg.index, seg.vaddr + seg.memsz, seg.paddr + seg.filesz
        ext = vma.setdefault(key, [s.addr, vma_end])
        ext[0] = min(ext[0], s.addr)
        places.append((s.name, "vma", s.addr, s.addr + s.size))
        if not s.is_nobits:
            ext = lma.setdefault(key, [at, lma_end])
            ext[0] = min(ext[0], at)
            if at != s.addr:
                places.append((s.name, "lma", at, at + s.size))
    return [tuple(x) for x in vma.values()], [tuple(x) for x in lma.values()], places


def _overlap(ranges: list[tuple[int, int]], lo: int, hi: int) -> int:
    """Bytes of the union of ``ranges`` inside ``[lo, hi)``."""
    total, pos = 0, lo
    for a, b in sorted(ranges):
        a, b = max(a, pos), min(b, hi)
        if b > a:
            total += b - a
            pos = b
    return total


def region_usage(elf: ElfFile, regions: Sequence[RamRegion], *, origin: str = "--region",
                 enforced: bool = True) -> dict:
    """Usage of each region by ``elf`` and the sections that do not fit.

    Args:
        elf: the parsed ELF.
        regions: the memory map (already checked with :func:`check_regions`).
        origin: where the regions came from, for the report (``board usbarmory-mk2``).
        enforced: whether a violation fails the command (False for a board detected from
            the ELF: then the table is a report only).

    Returns:
        ``{"origin", "enforced", "rows", "violations"}``. ``rows``: per region, in the
        given order, ``name``, ``start``, ``size``, ``end`` (exclusive), ``mem``, ``load``,
        ``used`` (region start to the end of the last placed byte, as ld reports it),
        ``free`` (size - used; bytes) and ``percent`` (used / size * 100) and ``sections``
        (names of the sections placed in it). ``violations``: ``section``, ``kind``
        (``vma``/``lma``), ``start``, ``end`` (exclusive), ``region`` (the region it
        straddles, or None when outside all), ``problem`` (text: ``outside every region``,
        ``runs N bytes past the end of R (range)``, ``starts N bytes before R (range)``).
    """
    vma, lma, places = _extents(elf)
    rows = []
    for r in regions:
        ends = [min(b, r.end) for a, b in vma + lma if a < r.end and r.start < b]
        used = max(ends) - r.start if ends else 0
        rows.append({"name": r.name, "start": r.start, "size": r.size, "end": r.end,
                     "mem": _overlap(vma, r.start, r.end), "load": _overlap(lma, r.start, r.end),
                     "used": used, "free": r.size - used, "percent": 100.0 * used / r.size,
                     "sections": sorted({p[0] for p in places if r.start <= p[2] and p[3] <= r.end})})
    violations = []
    for name, kind, a, b in places:
        if any(r.contains(a, b - a) for r in regions):
            continue
        hit = next((r for r in sorted(regions, key=lambda r: r.start) if a < r.end and r.start < b), None)
        if hit is None:
            problem = "outside every region"
        elif b > hit.end:
            problem = f"runs {b - hit.end} bytes past the end of {hit.name} ({_span(hit.start, hit.end)})"
        else:
            problem = f"starts {hit.start - a} bytes before {hit.name} ({_span(hit.start, hit.end)})"
        violations.append({"section": name, "kind": kind, "start": a, "end": b,
                           "region": hit.name if hit else None, "problem": problem})
    return {"origin": origin, "enforced": enforced, "rows": rows, "violations": violations}


def memory_map(elf: ElfFile, board: Board | None = None, regions: Sequence[RamRegion] = (),
               packages: Iterable[str] = ()) -> dict | None:
    """The :func:`region_usage` of ``elf`` for the regions the user asked for.

    ``board`` gives its ``[[ram]]`` regions and ``regions`` (the user's, e.g. from
    ``--region``) add to them; both are enforced. With neither, the board is detected
    from the TamaGo board package in the ELF (as ``imx build`` does: from ``packages``,
    e.g. the packages of the pclntab's functions, else the symbol table) and the
    result is a report only (``enforced`` False); None when no single board is found.

    Raises:
        InputError: overlapping regions or a name given twice (names where the regions
            came from).
    """
    from imgtool.errors import InputError

    chosen: list[RamRegion] = []
    origin = []
    if board is not None:
        chosen += board.ram
        origin.append(f"board {board.name}")
    if regions:
        chosen += regions
        origin.append("--region")
    if board is None and not regions:
        pkgs = set(packages) or set(package_paths(elf))
        if not any("/board/" in p for p in pkgs):  # every board profile names a .../board/... package
            return None
        from imgtool.boards import detect_board

        try:
            b = detect_board(pkgs, elf.text_start)
        except InputError:  # ambiguous: a report is optional, so say nothing
            b = None
        if b is None:
            return None
        return region_usage(elf, b.ram, origin=f"board {b.name}, detected from the ELF; report only",
                            enforced=False)
    try:
        check_regions(chosen)
    except ValueError as exc:
        raise InputError(f"memory regions ({', '.join(origin)}): {exc}") from None
    return region_usage(elf, chosen, origin=", ".join(origin))


def find_region(usage: dict | None, name: str) -> dict | None:
    """The row of region ``name`` (exact, else case-insensitive) in a :func:`region_usage`
    result, or None."""
    rows = (usage or {}).get("rows", [])
    return next((r for r in rows if r["name"] == name), None) or \
        next((r for r in rows if r["name"].lower() == name.lower()), None)
