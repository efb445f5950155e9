"""The itab slots Go's internal linker leaves without a dynamic relocation, moved by hand.

Go's internal linker (checked with Go 1.26 on amd64 and arm64, ``-buildmode=pie``) fills
the itab method slots of methods it found unreachable with the link-time address of
``runtime.unreachableMethod`` and emits no relocation for them, so after any move those
slots point into nowhere instead of at the function that reports "unreachable method
called". :func:`fix_itabs` moves those words too, after the dynamic relocations have been
applied (:func:`formats.reloc.relocate` calls it).

Layouts (``internal/abi``): ``.itablink`` (``.data.rel.ro.itablink`` in a PIE) is an
array of pointers to itabs; an itab is ``{Inter, Type *; Hash uint32; (Go <= 1.22: _
[4]byte); Fun [n]uintptr}``, so ``Fun`` starts at word 3 on 64-bit targets and at byte 16
(Go <= 1.22) or 12 (Go 1.23+) on 32-bit ones; ``Inter`` points at an
``InterfaceType{Type; PkgPath; Methods []Imethod}`` whose ``Methods`` length is the
number of slots. ``abi.Type`` is 48 bytes on 64-bit targets, 32 on 32-bit ones.
"""

from __future__ import annotations

from array import array

from formats.errors import FormatError
from formats.go.buildinfo import parse_buildinfo
from formats.go.moduledata import function_entry
from formats.go.reader import BinaryReader, word_struct

#: sections holding the itab pointer array (internal linker, PIE)
ITABLINK_SECTIONS = (".itablink", ".data.rel.ro.itablink")
UNREACHABLE_METHOD = "runtime.unreachableMethod"


def fix_itabs(reader: BinaryReader, image: bytearray, link_base: int, delta: int, sites: array) -> int:
    """Move the itab method slots of ``image`` that still hold, as in the file, the
    link-time address of ``runtime.unreachableMethod`` and that no relocation covered.

    Args:
        reader: the executable (the file's words, symbols, build info).
        image: the memory image with the dynamic relocations applied; ``image[0]`` is at
            link-time address ``link_base``; changed in place.
        delta: what the relocations added to every moved word (modulo the word size).
        sites: link-time addresses of the words the relocations moved; the moved slots
            are appended.

    Returns:
        the number of words moved (0 when the binary has no itabs or no
        ``runtime.unreachableMethod``).
    """
    target = function_entry(reader, UNREACHABLE_METHOD)
    links = next((s for s in reader.sections if s.name in ITABLINK_SECTIONS and s.size), None)
    if target is None or links is None:
        return 0
    W = word_struct(reader)
    w = W.size
    mask = (1 << (8 * w)) - 1
    type_size = 48 if w == 8 else 32
    info = parse_buildinfo(reader)
    old = info is not None and info.go_release is not None and info.go_release < (1, 23)
    fun_off = 24 if w == 8 else (16 if old else 12)

    def word(addr: int) -> int | None:
        off = addr - link_base
        return W.unpack_from(image, off)[0] if 0 <= off <= len(image) - w else None

    def file_word(addr: int) -> int | None:
        try:
            return W.unpack(reader.read(addr, w))[0]
        except FormatError:
            return None

    covered = None
    moved = 0
    for k in range(links.size // w):
        itab = word(links.addr + k * w)  # relocated pointers: subtract delta for link addresses
        inter = word((itab - delta) & mask) if itab is not None else None
        if inter is None:
            continue
        itab, inter = (itab - delta) & mask, (inter - delta) & mask
        nmethods = word(inter + type_size + 2 * w)  # InterfaceType.Methods.len
        if nmethods is None or nmethods > 1 << 16:
            continue
        for m in range(nmethods):
            a = itab + fun_off + m * w
            if word(a) != target or file_word(a) != target:
                continue  # an unrelocated slot still holds, as in the file, the link-time address
            if covered is None:
                covered = set(sites)
            if a in covered:
                continue
            W.pack_into(image, a - link_base, (target + delta) & mask)
            sites.append(a)
            covered.add(a)
            moved += 1
    return moved
