"""``imgtool bin``: an ELF's loadable content as a flat binary, Intel HEX, S-record or UF2.

The flat binary is byte-identical to the TamaGo recipe (``objcopy -O binary`` over the
loaded sections with BSS as contents) except that ``.go.fipsinfo`` is kept; the sparse
formats carry each loaded section at its load address without filling holes.
"""

from __future__ import annotations

from dataclasses import dataclass

from formats.elf import ElfFile
from formats.errors import FormatError
from formats.go.binary import check_go_layout
from formats.loadimage import DEFAULT_MAX_GAP, flatten, section_chunks

FORMATS = ("bin", "hex", "srec", "uf2")


@dataclass
class FlatOptions:
    """Options of ``imgtool bin``.

    ``pad_to`` is a load address (``objcopy --pad-to``), ``fill`` the byte for holes and
    padding, ``max_gap`` the largest hole a flat binary fills (bytes, ``None`` = any),
    ``uf2_family`` the UF2 family ID, ``append_crc`` a CRC model name whose value over
    the flat image is appended (``crc_byteorder`` little or big).
    """

    format: str = "bin"
    pad_to: int | None = None
    fill: int = 0
    max_gap: int | None = DEFAULT_MAX_GAP
    include_bss: bool = True
    uf2_family: int | None = None
    append_crc: str | None = None
    crc_byteorder: str = "little"


def build_flat(elf: ElfFile, opts: FlatOptions) -> bytes:
    """Build the output bytes of ``imgtool bin`` for ``elf``.

    Raises:
        FormatError: an unknown format, a hole larger than ``max_gap``, a pad-to address
            below the image, an unknown CRC model, or a CRC asked for a sparse format.
    """
    if opts.format not in FORMATS:
        raise FormatError(f"unknown format {opts.format!r} (expected one of {', '.join(FORMATS)})", field="--format")
    check_go_layout(elf)
    if opts.format == "bin" or opts.append_crc or opts.pad_to is not None:
        image = flatten(elf, include_bss=opts.include_bss, fill=opts.fill, max_gap=opts.max_gap)
        if opts.pad_to is not None:
            image = image.padded_to(opts.pad_to, opts.fill)
        data = image.data
        if opts.append_crc:
            data += crc_trailer(data, opts.append_crc, opts.crc_byteorder)
        if opts.format == "bin":
            return data
        segments = [(image.base, data)]
    else:
        segments = [(lma, data) for lma, data, _ in section_chunks(elf, include_bss=opts.include_bss)]
    if opts.format == "hex":
        from formats import ihex

        return ihex.build(segments, start=elf.entry)
    if opts.format == "srec":
        from formats import srec

        return srec.build(segments, start=elf.entry)
    from formats import uf2

    return uf2.build(segments, family_id=opts.uf2_family)


def crc_trailer(data: bytes, model: str, byteorder: str) -> bytes:
    """The CRC of ``data`` under the catalogue model ``model`` as ``width/8`` bytes.

    ``byteorder`` is ``little`` (what most bootloaders read as a u32) or ``big``. The
    STM32 CRC peripheral computes CRC-32/MPEG-2 over 32-bit *words*; see docs/bin.md.

    Raises:
        FormatError: unknown model or byte order.
    """
    from formats import crc

    if byteorder not in ("little", "big"):
        raise FormatError(f"byte order {byteorder!r}, expected little or big", field="--crc-byteorder")
    m = crc.get(model)
    return m.digest_bytes(m.compute(data), byteorder)

