"""``imgtool bin`` and ``imgtool relocate`` outputs: a memory image as a flat binary,
Intel HEX, S-record or UF2.

The flat binary is byte-identical to the TamaGo recipe (``objcopy -O binary`` over the
loaded sections with BSS as contents) except that ``.go.fipsinfo`` is kept; the sparse
formats carry each loaded section at its load address without filling holes.
:func:`encode` is the one place a format name becomes bytes, for both commands.
:func:`build_compact_flat` makes the compact form (docs/compact.md): the image up to its
last initialised byte and the BSS-zeroing stub at the address the user gives.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Sequence

from formats.elf import ElfFile
from formats.errors import FormatError
from formats.go.binary import check_go_layout
from formats.loadimage import DEFAULT_MAX_GAP, DEFAULT_MAX_SIZE, LoadImage, flatten, section_chunks
from imgtool.errors import InputError

if TYPE_CHECKING:
    from formats.compact import CompactImage

FORMATS = ("bin", "hex", "srec", "uf2")
"""Output formats: flat binary, Intel HEX, Motorola S-record, UF2."""

_ADDRESS_LIMIT = 1 << 32  # Intel HEX and S-records carry 32-bit addresses


@dataclass
class FlatOptions:
    """Options of ``imgtool bin``.

    ``pad_to`` is a load address (``objcopy --pad-to``), ``fill`` the byte for holes and
    padding, ``max_gap`` the largest hole a flat binary fills (bytes, ``None`` = any),
    ``uf2_family`` the UF2 family ID, ``append_crc`` a CRC model name whose value over
    the flat image is appended (``crc_byteorder`` little or big), ``max_size`` the largest
    image in bytes (``None`` = any; BSS is justified by the target's RAM, not the file),
    ``srec_header`` the S-record S0 data (objcopy: the output file name). ``compact``: store
    the image up to its last initialised byte with the BSS-zeroing stub at load address
    ``stub_at`` (:func:`build_compact_flat`).
    """

    format: str = "bin"
    pad_to: int | None = None
    fill: int = 0
    max_gap: int | None = DEFAULT_MAX_GAP
    include_bss: bool = True
    uf2_family: int | None = None
    append_crc: str | None = None
    crc_byteorder: str = "little"
    max_size: int | None = DEFAULT_MAX_SIZE
    srec_header: bytes = b""
    compact: bool = False
    stub_at: int | None = None


def build_flat(elf: ElfFile, opts: FlatOptions, warn: Callable[[str], None] | None = None) -> bytes:
    """Build the output bytes of ``imgtool bin`` for ``elf``; ``warn`` gets the one-line
    large-BSS warning (:func:`imgtool.compact.flat_warning`) when the BSS is stored.

    Raises:
        FormatError: an unknown format (``field="format"``), a hole larger than
            ``max_gap``, a pad-to address below the image, an unknown CRC model or byte
            order (``field="byteorder"``).
        InputError: see :func:`build_compact_flat` (with ``opts.compact``).
    """
    if opts.compact:
        return build_compact_flat(elf, opts)[0]
    check_format(opts.format, FORMATS)
    check_go_layout(elf)
    if opts.format == "bin" or opts.append_crc or opts.pad_to is not None:
        image = flatten(elf, include_bss=opts.include_bss, fill=opts.fill, max_gap=opts.max_gap, max_size=opts.max_size)
        segments = _flat_segment(image, opts)
    else:
        segments = [(lma, data) for lma, data, _ in section_chunks(elf, include_bss=opts.include_bss,
                                                                   max_size=opts.max_size)]
    out = encode(opts.format, segments, entry=e_entry(elf), uf2_family=opts.uf2_family, srec_header=opts.srec_header)
    if warn is not None and opts.include_bss:
        from imgtool.compact import flat_warning

        message = flat_warning(elf)
        if message:
            warn(message)
    return out


def build_bin(elf: ElfFile, opts: FlatOptions, warn: Callable[[str], None] | None = None
              ) -> tuple[bytes, CompactImage | None]:
    """``imgtool bin``: the output bytes (:func:`build_flat`) and, with ``opts.compact``,
    the plan of the compact image (:func:`build_compact_flat`), else None.

    Raises:
        FormatError, InputError: see :func:`build_flat` and :func:`build_compact_flat`.
    """
    if opts.compact:
        return build_compact_flat(elf, opts)
    return build_flat(elf, opts, warn), None


def build_compact_flat(elf: ElfFile, opts: FlatOptions) -> tuple[bytes, CompactImage]:
    """The compact form of ``imgtool bin``: the output bytes and the plan
    (:class:`formats.compact.CompactImage`: stub address = the new entry, ranges, sizes).

    ``bin`` is one contiguous image from the lower of stub and image to the higher end,
    the hole between them ``opts.fill`` (at most ``opts.max_gap`` bytes); ``hex``,
    ``srec`` and ``uf2`` carry the stored image and the stub as their own blocks, with
    the stub as the start address. ``pad_to`` and ``append_crc`` apply to the flat form.

    Raises:
        InputError: no stub address (``field="stub_at"``, with a suggestion), the BSS
            left out as well (``field="include_bss"``), an ELF that cannot be compact.
        FormatError: no room for the stub there (``field="stub address"``), the stub too
            far from the image (``field="max_gap"``), and what :func:`build_flat` raises.
    """
    from formats.compact import compact_image, stub_size
    from formats.loadimage import split_bss
    from imgtool.compact import check_compactable

    check_format(opts.format, FORMATS)
    if not opts.include_bss:
        raise InputError("a compact image already leaves the BSS out (and zeroes it at boot)", field="include_bss")
    check_go_layout(elf)
    check_compactable(elf)
    image = flatten(elf, fill=opts.fill, max_gap=opts.max_gap, max_size=opts.max_size)
    if opts.stub_at is None:
        size = stub_size(split_bss(image.regions))
        if image.base >= size:
            where = f"e.g. 0x{(image.base - size) & ~7:x}, just below the image at 0x{image.base:x}"
        else:  # no room below an image based near 0: after its BSS
            where = f"e.g. 0x{(image.end + 7) & ~7:x}, just after the image and its BSS"
        raise InputError(f"a compact image needs the load address of its {size}-byte BSS-zeroing stub, in RAM "
                         f"outside the image and its BSS; {where}", field="stub_at")
    plan = compact_image(image, opts.stub_at)
    if opts.format == "bin" or opts.append_crc or opts.pad_to is not None:
        segments = _flat_segment(plan.flat(opts.fill, opts.max_gap), opts)
    else:
        segments = plan.segments()
    return encode(opts.format, segments, entry=plan.entry, uf2_family=opts.uf2_family,
                  srec_header=opts.srec_header), plan


def _flat_segment(image: LoadImage, opts: FlatOptions) -> list[tuple[int, bytes]]:
    """``image`` padded to ``opts.pad_to`` and followed by its ``opts.append_crc`` value,
    as the one segment :func:`encode` takes."""
    if opts.pad_to is not None:
        if opts.max_size is not None and opts.pad_to - image.base > opts.max_size:
            raise FormatError(f"padding to 0x{opts.pad_to:x} makes the image 0x{opts.pad_to - image.base:x} bytes, "
                              f"more than the limit of 0x{opts.max_size:x}", field="max_size")
        image = image.padded_to(opts.pad_to, opts.fill)
    data = image.data
    if opts.append_crc:
        data += crc_trailer(data, opts.append_crc, opts.crc_byteorder)
    return [(image.base, data)]


def e_entry(elf: ElfFile) -> int:
    """The ELF header's ``e_entry`` as stored, Thumb bit included (``0x08037fd9``): the
    start address GNU objcopy writes into Intel HEX and S-record files."""
    return elf.entry | 1 if elf.entry_thumb else elf.entry


def check_format(fmt: str, allowed: Sequence[str] = FORMATS) -> None:
    """Raise unless ``fmt`` is one of ``allowed``.

    Raises:
        FormatError: ``field="format"``, listing ``allowed``.
    """
    if fmt not in allowed:
        raise FormatError(f"unknown format {fmt!r} (expected one of {', '.join(allowed)})", field="format")


def encode(fmt: str, segments: Sequence[tuple[int, bytes]], *, entry: int, uf2_family: int | None = None,
           srec_header: bytes = b"") -> bytes:
    """``segments`` (``[(load address, bytes)]``) in format ``fmt``.

    ``bin`` takes exactly one segment and is its bytes; ``hex`` and ``srec`` write the
    segments at their addresses with ``entry`` as the start record (GNU objcopy's
    layout, :mod:`formats.ihex`, :mod:`formats.srec`; ``srec_header`` is the S0 data,
    objcopy's output file name with :func:`formats.srec.objcopy_header`); ``uf2`` writes
    256-byte blocks with ``uf2_family`` (:mod:`formats.uf2`).

    Raises:
        FormatError: an unknown format, or (``field="format"``) a HEX or S-record image
            or entry past the 32-bit addresses their records carry.
    """
    check_format(fmt)
    if fmt == "bin":
        if len(segments) != 1:
            raise FormatError(f"a flat binary is one contiguous image, not {len(segments)} segments", field="format")
        return segments[0][1]
    if fmt in ("hex", "srec"):
        end = max((a + len(d) for a, d in segments), default=0)
        if end > _ADDRESS_LIMIT or entry >= _ADDRESS_LIMIT:
            raise FormatError(f"the image ends at 0x{end:x} (entry 0x{entry:x}), past the 32-bit addresses {fmt} "
                              "records carry; use the bin format or a load address below 4 GiB", field="format")
        from formats import ihex, srec

        if fmt == "srec":
            return srec.build(list(segments), start=entry, header=srec_header)
        return ihex.build(list(segments), start=entry)
    from formats import uf2

    return uf2.build(list(segments), family_id=uf2_family)


def crc_trailer(data: bytes, model: str, byteorder: str) -> bytes:
    """The CRC of ``data`` under the catalogue model ``model`` as ``width/8`` bytes.

    ``byteorder`` is ``little`` (what most bootloaders read as a u32) or ``big``. The
    STM32 CRC peripheral computes CRC-32/MPEG-2 over 32-bit *words*; see docs/bin.md.

    Raises:
        FormatError: unknown model, or (``field="byteorder"``) unknown byte order.
    """
    from formats import crc

    if byteorder not in ("little", "big"):
        raise FormatError(f"byte order {byteorder!r}, expected little or big", field="byteorder")
    m = crc.get(model)
    return m.digest_bytes(m.compute(data), byteorder)
