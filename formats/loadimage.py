"""LoadImage: the memory image of an ELF's loadable content, and its flat binary form.

Which sections load is decided by their flags, not by a list of names: every section
with SHF_ALLOC that is not a note, not empty and not thread-local BSS. Sections are
placed at their load address (LMA: the section's VMA moved by its PT_LOAD's
``p_paddr - p_vaddr``), exactly where ``objcopy -O binary`` places them. ``.bss`` and
``.noptrbss`` become real zeros by default, because the TamaGo runtime never clears BSS
(the TamaGo recipe forces them to contents with ``--set-section-flags``). A compact
image stores only the part up to the last initialised byte and has a stub zero the rest:
:func:`split_bss` and :func:`stored_part` say which is which (docs/compact.md).

Compared with the TamaGo recipe (``objcopy -O binary -j .text -j .rodata ... -j
.noptrbss``), a flat image made here also carries ``.go.fipsinfo`` (Go 1.24+), which the
recipe's fixed list drops, leaving zeros where the FIPS self-check expects its data.

A PT_LOAD whose physical address differs from its virtual address (``.data`` linked to
RAM, loaded into flash: a microcontroller runtime copies it at start-up) is a runtime that
clears its own BSS: the NOBITS part of such a segment is never stored, as ``objcopy -O
binary`` leaves it out. Images never grow past ``max_size`` bytes (default
:data:`DEFAULT_MAX_SIZE`): the check runs before anything is allocated, so a damaged
``sh_size`` or ``p_memsz`` is an error, not a gigabyte of zeros.

Errors about an argument name it as their ``field`` (``fill``, ``pad_to``, ``max_gap``, ``max_size``),
for the caller to map to its own option names. Whether a Go ELF's runtime sections are
whole is the Go layer's check (:func:`formats.go.binary.check_go_layout`), run by the
pipelines before they flatten.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

from formats.elf import SHT_NOTE, ElfFile, Section
from formats.errors import FormatError

#: Largest hole between two loaded sections that a flat image fills by default (bytes).
DEFAULT_MAX_GAP = 1 << 20

#: Largest memory image (bytes) built unless the caller allows more: BSS is justified by
#: RAM, not by the file, so an image past this is refused before it is allocated.
DEFAULT_MAX_SIZE = 256 << 20


@dataclass(frozen=True)
class Region:
    """One labelled byte range of a load image.

    ``address`` is the load address in bytes, ``size`` its length; ``kind`` is
    ``"section"`` (file contents), ``"bss"`` (NOBITS, zeros), ``"gap"`` (fill between
    sections) or ``"pad"`` (fill after the last section); ``name`` is the section name.
    """

    address: int
    size: int
    kind: str
    name: str = ""

    @property
    def end(self) -> int:
        return self.address + self.size


@dataclass(frozen=True)
class LoadImage:
    """A contiguous memory image: ``data`` placed at load address ``base``.

    ``entry`` is the ELF entry point (virtual address, Thumb bit masked); ``regions``
    label every byte of ``data`` exactly once, in address order; ``vma_base`` is the
    run-time address of the first byte (equal to ``base`` unless LMA and VMA differ).
    """

    base: int
    data: bytes
    entry: int
    regions: tuple[Region, ...]
    vma_base: int | None = None

    @property
    def end(self) -> int:
        """First address after the image."""
        return self.base + len(self.data)

    def padded_to(self, address: int, fill: int = 0) -> "LoadImage":
        """This image extended with ``fill`` bytes up to ``address`` (``objcopy --pad-to``).

        Raises:
            FormatError: ``address`` is below the end of the image.
        """
        if address < self.end:
            raise FormatError(f"pad address 0x{address:x} is below the end of the image (0x{self.end:x})",
                              field="pad_to")
        if address == self.end:
            return self
        pad = Region(self.end, address - self.end, "pad")
        return replace(self, data=self.data + bytes([fill]) * (address - self.end), regions=self.regions + (pad,))


def loaded_sections(elf: ElfFile, *, include_bss: bool = True, only: Sequence[str] | None = None) -> list[Section]:
    """The sections that make up the memory image, in load-address order.

    A section loads when it has SHF_ALLOC, is not SHT_NOTE, has a size, and is not
    thread-local NOBITS (``.tbss`` takes no address space). NOBITS sections are kept
    when ``include_bss``, except in a PT_LOAD whose ``p_paddr`` differs from its
    ``p_vaddr`` (the runtime copies data from flash and clears BSS itself). ``only``
    restricts to the named sections (``objcopy -j``).
    """
    secs = []
    for s in elf.sections:
        if not s.is_alloc or s.type == SHT_NOTE or s.size == 0:
            continue
        if s.is_nobits and (s.is_tls or not include_bss or _copied_at_startup(elf, s)):
            continue
        if only is not None and s.name not in only:
            continue
        secs.append(s)
    return sorted(secs, key=lambda s: (elf.lma(s), s.index))


def section_chunks(elf: ElfFile, *, include_bss: bool = True, only: Sequence[str] | None = None,
                   max_size: int | None = DEFAULT_MAX_SIZE) -> list[tuple[int, bytes, Section]]:
    """(load address, bytes, section) for each loaded section, BSS as zeros.

    This is the sparse form that Intel HEX, S-record and UF2 writers take; no gap is
    filled.

    Raises:
        FormatError: two sections overlap at their load addresses; a NOBITS section lies
            outside every PT_LOAD (``field="sh_size"``: no loader reserves it); the
            sections add up to more than ``max_size`` bytes (``None`` allows any).
    """
    secs = loaded_sections(elf, include_bss=include_bss, only=only)
    for s in secs:
        if s.is_nobits and elf.loads and elf.segment_of(s) is None:
            raise FormatError(f"section [{s.index}] {s.name} (0x{s.addr:x}+0x{s.size:x}) lies outside every PT_LOAD "
                              "segment, so no loader reserves it", source=elf.source, field="sh_size")
    _check_size(elf, sum(s.size for s in secs), max_size, "the loaded sections")
    out = []
    prev = None
    for s in secs:
        lma = elf.lma(s)
        if prev is not None and lma < prev[0] + prev[1].size:
            raise FormatError(
                f"sections {prev[1].name} (0x{prev[0]:x}+0x{prev[1].size:x}) and {s.name} (0x{lma:x}) overlap at their load addresses",
                source=elf.source, field="section headers")
        data = bytes(s.size) if s.is_nobits else bytes(elf.section_data(s))
        out.append((lma, data, s))
        prev = (lma, s)
    return out


def flatten(
    elf: ElfFile,
    *,
    include_bss: bool = True,
    fill: int = 0,
    max_gap: int | None = DEFAULT_MAX_GAP,
    only: Sequence[str] | None = None,
    max_size: int | None = DEFAULT_MAX_SIZE,
) -> LoadImage:
    """Flatten the loaded sections of ``elf`` into one contiguous :class:`LoadImage`.

    The image runs from the lowest section load address to the end of the highest
    section; holes between sections are filled with ``fill`` (0-255). Equivalent to
    ``objcopy -O binary --gap-fill FILL`` over the same sections with BSS set to contents.

    Raises:
        FormatError: no loadable section; sections overlap; a hole between two sections
            is larger than ``max_gap`` bytes (``None`` allows any): the flat file would be
            mostly fill, as when RAM data sits far from flash; an image larger than
            ``max_size`` bytes (``field="max_size"``); a fill byte outside 0..255.
    """
    _check_fill(fill)
    chunks = section_chunks(elf, include_bss=include_bss, only=only, max_size=max_size)
    if not chunks:
        raise FormatError("no loadable sections (SHF_ALLOC, not a note)", source=elf.source, field="section headers")
    base = chunks[0][0]
    regions: list[Region] = []
    pos = base
    for lma, data, sec in chunks:  # lay out first: the limits are checked before any fill is made
        name = sec.name
        if lma > pos:
            gap = lma - pos
            if max_gap is not None and gap > max_gap:
                raise FormatError(
                    f"a hole of 0x{gap:x} bytes between 0x{pos:x} and {name} at 0x{lma:x} would make the flat image "
                    f"0x{lma + len(data) - base:x} bytes (the hole limit is 0x{max_gap:x}); use a sparse format "
                    "(hex, srec, uf2) or a larger limit", source=elf.source, field="max_gap")
            regions.append(Region(pos, gap, "gap"))
        regions.append(Region(lma, len(data), "bss" if sec.is_nobits else "section", name))
        pos = lma + len(data)
    _check_size(elf, pos - base, max_size, "the flat image")
    data_of = iter([data for _, data, _ in chunks])
    parts = [bytes([fill]) * r.size if r.kind == "gap" else next(data_of) for r in regions]
    return LoadImage(base=base, data=b"".join(parts), entry=elf.entry, regions=tuple(regions), vma_base=chunks[0][2].addr)


def flatten_segments(
    elf: ElfFile,
    *,
    include_bss: bool = True,
    fill: int = 0,
    max_gap: int | None = DEFAULT_MAX_GAP,
    max_size: int | None = DEFAULT_MAX_SIZE,
) -> LoadImage:
    """The memory image a program loader makes: every PT_LOAD's ``p_filesz`` file bytes at
    its ``p_vaddr``, then zeros up to ``p_memsz`` (System V ABI, "Program Loading").

    Unlike :func:`flatten` (sections, as ``objcopy -O binary``), the image starts at the
    lowest ``p_vaddr``, so it holds whatever the first segment maps (ELF and program
    headers, for a PIE); this is the image dynamic relocations apply to. Holes between
    segments are filled with ``fill``; without ``include_bss`` the zeros after the last
    file-backed byte are left out (zeros between segments stay). Regions: ``"section"``
    for file bytes (named ``LOAD#i``), ``"bss"``, ``"gap"``.

    Raises:
        FormatError: no PT_LOAD with a size; a hole larger than ``max_gap`` bytes; an
            image larger than ``max_size`` bytes; a fill byte outside 0..255.
    """
    base, buf, regions = segment_buffer(elf, include_bss=include_bss, fill=fill, max_gap=max_gap, max_size=max_size)
    return LoadImage(base=base, data=bytes(buf), entry=elf.entry, regions=regions, vma_base=base)


def segment_buffer(
    elf: ElfFile,
    *,
    include_bss: bool = True,
    fill: int = 0,
    max_gap: int | None = DEFAULT_MAX_GAP,
    max_size: int | None = DEFAULT_MAX_SIZE,
) -> tuple[int, bytearray, tuple[Region, ...]]:
    """:func:`flatten_segments` as ``(base address, writable bytes, regions)``, for callers
    that modify the image in place (relocation) and would otherwise copy it once more.

    Raises:
        FormatError: as :func:`flatten_segments`.
    """
    _check_fill(fill)
    loads = sorted((s for s in elf.loads if s.memsz), key=lambda s: s.vaddr)
    if not loads:
        raise FormatError("no PT_LOAD segment with a size", source=elf.source, field="program headers")
    base = loads[0].vaddr
    buf = bytearray()
    regions: list[Region] = []
    for seg in loads:
        pos = base + len(buf)
        name = f"LOAD#{seg.index}"
        if seg.vaddr > pos:
            gap = seg.vaddr - pos
            if max_gap is not None and gap > max_gap:
                raise FormatError(
                    f"a hole of 0x{gap:x} bytes between 0x{pos:x} and {name} at 0x{seg.vaddr:x} exceeds the hole "
                    f"limit (0x{max_gap:x})", source=elf.source, field="max_gap")
        _check_size(elf, seg.vaddr + seg.memsz - base, max_size, "the memory image")  # before allocating
        if seg.vaddr > pos:
            buf += bytes([fill]) * gap
            regions.append(Region(pos, gap, "gap"))
        filesz = min(seg.filesz, seg.memsz)
        buf += elf.data[seg.offset:seg.offset + filesz]
        if filesz:
            regions.append(Region(seg.vaddr, filesz, "section", name))
        if seg.memsz > filesz:
            buf += bytes(seg.memsz - filesz)
            regions.append(Region(seg.vaddr + filesz, seg.memsz - filesz, "bss", name))
    if not include_bss:
        last = max(s.vaddr + min(s.filesz, s.memsz) for s in loads)
        del buf[last - base:]
        regions = [r if r.end <= last else replace(r, size=last - r.address) for r in regions if r.address < last]
    return base, buf, tuple(regions)


def _copied_at_startup(elf: ElfFile, sec: Section) -> bool:
    """True if ``sec`` lies in a PT_LOAD loaded at another address than it runs at."""
    seg = elf.segment_of(sec)
    return seg is not None and seg.paddr != seg.vaddr


def _check_size(elf: ElfFile, size: int, max_size: int | None, what: str) -> None:
    if max_size is not None and size > max_size:
        raise FormatError(f"{what} would be 0x{size:x} bytes, more than the limit of 0x{max_size:x} bytes "
                          "(a BSS or segment size larger than the target's memory?); allow more if it is meant",
                          source=elf.source, field="max_size")


def _check_fill(fill: int) -> None:
    if not 0 <= fill <= 255:
        raise FormatError(f"fill byte {fill} is not in 0..255", field="fill")


# --- compact images: what is stored and what a boot stub zeroes -------------------------


@dataclass(frozen=True)
class BssSplit:
    """How a compact image divides a load image (addresses in bytes, ends exclusive).

    ``stored_end`` is the first address after the last initialised byte: the image is
    stored from its base up to there. ``zeroed`` are the ``(start, end)`` NOBITS ranges
    from ``stored_end`` on, in address order and not merged: what a boot stub must zero
    instead. Gaps and padding after ``stored_end`` are neither stored nor zeroed.
    """

    stored_end: int
    zeroed: tuple[tuple[int, int], ...]

    @property
    def zeroed_size(self) -> int:
        """Bytes the stub zeroes (the BSS left out of the stored image)."""
        return sum(e - s for s, e in self.zeroed)


def split_bss(regions: Sequence[Region]) -> BssSplit:
    """Stored vs zeroed for the labelled ``regions`` of a load image (those of
    :attr:`LoadImage.regions`; ``"gap"`` and ``"pad"`` rows may be left out).

    The stored part ends with the last ``"section"`` region (file contents); every
    ``"bss"`` region at or after that end is zeroed at boot instead of stored. NOBITS
    regions below it stay in the stored image as zeros (an initialised section follows
    them). Addresses are the regions' load addresses: a compact image runs where it
    loads.

    Raises:
        FormatError: no region holds initialised bytes (nothing to store).
    """
    ends = [r.end for r in regions if r.kind == "section" and r.size]
    if not ends:
        raise FormatError("the image has no initialised bytes (only NOBITS sections)", field="section headers")
    stored_end = max(ends)
    zeroed = tuple((r.address, r.end) for r in sorted(regions, key=lambda r: r.address)
                   if r.kind == "bss" and r.size and r.address >= stored_end)
    return BssSplit(stored_end, zeroed)


def stored_part(image: LoadImage) -> tuple[LoadImage, BssSplit]:
    """``image`` cut at the end of its last initialised byte, and its :func:`split_bss`.

    Raises:
        FormatError: the image has no initialised bytes.
    """
    split = split_bss(image.regions)
    keep = split.stored_end - image.base
    regions = tuple(r for r in image.regions if r.end <= split.stored_end)
    return replace(image, data=image.data[:keep], regions=regions), split
