"""Compact boot images: a load image stored only up to its last initialised byte, plus
the A32 stub that zeroes its BSS at boot and then jumps to the program's entry.

Here the stored/zeroed split (:func:`formats.loadimage.split_bss`) meets the BSS-zeroing
stub (:func:`formats.boot.arm.bss_zero_stub`, docs/boot-stubs.md §2) for ``imgtool bin``,
which uses it this way (the i.MX and Raspberry Pi builders pair the same two functions in
their own layouts, :mod:`formats.imx.compact` and :mod:`imgtool.rpi`, since the stub's
place is part of those formats)::

    plan = compact_image(flatten(elf), stub_address)       # FormatError: no room there
    plan.image        the stored image (its entry is still e_entry)
    plan.stub         the stub's bytes, to be placed at plan.stub_address (= the new entry)
    plan.ranges       the (start, end) byte ranges the stub zeroes (merged)
    plan.segments()   [(address, bytes)] for sparse formats
    plan.flat(fill)   one contiguous LoadImage holding stub and stored image

The i.MX builder puts the stub in the header padding below TEXT_START (outside the
image), the Raspberry Pi builder at the firmware's kernel address, ``imgtool bin``
where the user says (``--stub-at``). The stub writes its own 28-byte save area at run time, so it must
load into RAM; the ranges must be RAM too. Addresses are load addresses, which is
where these images run (LMA = VMA). All sizes are bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from formats.boot.arm import bss_zero_stub, bss_zero_stub_size, merge_ranges
from formats.errors import FormatError
from formats.loadimage import DEFAULT_MAX_GAP, BssSplit, LoadImage, Region, stored_part

__all__ = ["CompactImage", "compact_image", "compact_ranges", "stub_size"]


@dataclass(frozen=True)
class CompactImage:
    """A compact image, as :func:`compact_image` plans it.

    Attributes:
        image: the stored part of the load image (base, bytes up to the last
            initialised byte, regions; ``entry`` is the program's e_entry).
        stub: the BSS-zeroing stub's bytes; ``stub_address`` where they load, which is
            the entry of the compact image.
        ranges: the merged ``(start, end)`` ranges the stub zeroes (end exclusive).
        variant: the stub variant (``"plain"`` or ``"armv6"``).
        split: the stored/zeroed split of the original image.
        full_size: bytes of the original (plain) image, BSS stored.
    """

    image: LoadImage
    stub: bytes
    stub_address: int
    ranges: tuple[tuple[int, int], ...]
    variant: str
    split: BssSplit
    full_size: int

    @property
    def entry(self) -> int:
        """The entry of the compact image: the stub."""
        return self.stub_address

    @property
    def program_entry(self) -> int:
        """Where the stub jumps: the program's e_entry."""
        return self.image.entry

    @property
    def zeroed(self) -> int:
        """Bytes the stub zeroes."""
        return sum(e - s for s, e in self.ranges)

    def segments(self) -> list[tuple[int, bytes]]:
        """``[(load address, bytes)]`` in address order: the stub and the stored image
        (one segment when the stub sits in a hole of the image)."""
        img = self.image
        if img.base <= self.stub_address < img.end:
            off = self.stub_address - img.base
            data = img.data[:off] + self.stub + img.data[off + len(self.stub):]
            return [(img.base, data)]
        return sorted([(self.stub_address, self.stub), (img.base, img.data)])

    def flat(self, fill: int = 0, max_gap: int | None = DEFAULT_MAX_GAP) -> LoadImage:
        """Stub and stored image as one contiguous :class:`LoadImage` whose ``entry`` is
        the stub; the hole between them is ``fill``. Regions: the image's, the stub as
        kind ``"stub"``, the hole as ``"gap"``.

        Raises:
            FormatError: the hole is larger than ``max_gap`` bytes (``field="max_gap"``).
        """
        segs = self.segments()
        stub_region = Region(self.stub_address, len(self.stub), "stub", "BSS-zeroing stub")
        if len(segs) == 1:
            regions = [stub_region]
            for r in self.image.regions:  # only gap regions can meet the stub
                if r.address < stub_region.address:
                    regions.append(replace(r, size=min(r.end, stub_region.address) - r.address))
                if r.end > stub_region.end:
                    start = max(r.address, stub_region.end)
                    regions.append(replace(r, address=start, size=r.end - start))
            return replace(self.image, data=segs[0][1], entry=self.entry,
                           regions=tuple(sorted(regions, key=lambda r: r.address)))
        (lo, lo_data), (hi, hi_data) = segs
        hole = hi - (lo + len(lo_data))
        if max_gap is not None and hole > max_gap:
            raise FormatError(f"the stub at 0x{self.stub_address:x} is 0x{hole:x} bytes away from the image "
                              f"0x{self.image.base:x}-0x{self.image.end:x} (the hole limit is 0x{max_gap:x})",
                              field="max_gap")
        gap = (Region(lo + len(lo_data), hole, "gap"),) if hole else ()
        if lo == self.stub_address:
            regions = (stub_region, *gap, *self.image.regions)
        else:
            regions = (*self.image.regions, *gap, stub_region)
        return LoadImage(base=lo, data=lo_data + bytes([fill]) * hole + hi_data, entry=self.entry, regions=regions,
                         vma_base=lo)


def compact_ranges(split: BssSplit) -> tuple[tuple[int, int], ...]:
    """The ranges the stub's table holds for ``split``: its NOBITS ranges merged
    (:func:`formats.boot.arm.merge_ranges`)."""
    return merge_ranges(split.zeroed)


def stub_size(split: BssSplit, variant: str = "plain") -> int:
    """Bytes of the stub a compact image of ``split`` needs (148 for one range, plain)."""
    return bss_zero_stub_size(len(compact_ranges(split)), variant=variant)


def compact_image(image: LoadImage, stub_address: int, *, variant: str = "plain") -> CompactImage:
    """Plan the compact form of ``image`` with its stub at ``stub_address``.

    The stub may sit outside the stored image (below it, or after its last initialised
    byte) or in a ``"gap"`` region of it; never over initialised bytes, NOBITS bytes the
    image stores, or a range it zeroes.

    Raises:
        FormatError: the image has no initialised bytes; the stub would overlap the
            stored image's contents or a zeroed range (``field="stub address"``, naming
            the section); an address past 32 bits; an unknown variant.
    """
    stored, split = stored_part(image)
    ranges = compact_ranges(split)
    size = bss_zero_stub_size(len(ranges), variant=variant)
    end = stub_address + size
    for r in stored.regions:
        if r.kind != "gap" and r.address < end and stub_address < r.end:
            what = r.name or r.kind
            raise FormatError(f"no room for the {size}-byte stub at 0x{stub_address:x}-0x{end:x}: it would overlap "
                              f"{what} (0x{r.address:x}-0x{r.end:x})", field="stub address")
    stub = bss_zero_stub(image.entry, ranges, variant=variant, address=stub_address)
    return CompactImage(stored, stub, stub_address, ranges, variant, split, len(image.data))
