"""Compact ``.imx`` images: the BSS-zeroing stub in the header padding, the IVT entry on it.

A compact ``.imx`` is what :func:`formats.imx.image.build_imx` makes of the stored part of
the image (up to its last initialised byte), with two differences: the BSS-zeroing stub
(``formats/boot/arm_bsszero.S``, docs/boot-stubs.md §2) is written into the zero padding
of the header area right after the DCD (offset ``0x2C + DCD length`` from the IVT; the
DCD is a whole number of words), and IVT.entry is the stub's address. The stub is then
inside the block HAB signs (``IVT.self``, N) like the IVT and DCD; boot data length
shrinks with the payload. The layout is docs/compact.md §2.

Since the stub is position-independent and carries its entry and ranges as literal
words, the image alone says what it will do: :func:`find_stub` reads it back and
:func:`expected_stub` gives the words imgtool writes for those values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from formats.align import align_up
from formats.boot.arm import BssZeroStub, bss_zero_stub, parse_bss_zero_stub
from formats.errors import FormatError
from formats.imx.cfg import ImximageCfg
from formats.imx.image import DCD_OFFSET, ImxImage, build_imx, layout

__all__ = ["ImxStub", "build_compact_imx", "expected_stub", "find_stub", "stub_offset"]


@dataclass(frozen=True)
class ImxStub:
    """The stub of a compact ``.imx``: its ``address`` (= IVT.entry), its file ``offset``
    from the IVT, and what it parses as (:class:`formats.boot.arm.BssZeroStub`: variant,
    entry it jumps to, ranges it zeroes, size)."""

    address: int
    offset: int
    stub: BssZeroStub

    @property
    def end(self) -> int:
        return self.address + self.stub.size


def stub_offset(dcd_length: int) -> int:
    """File offset (from the IVT) of the stub for a DCD of ``dcd_length`` bytes: right
    after the DCD, word-aligned."""
    return align_up(DCD_OFFSET + dcd_length, 4)


def build_compact_imx(payload: bytes, *, text_start: int, entry: int, ranges: Iterable[tuple[int, int]],
                      cfg: ImximageCfg, variant: str = "plain") -> bytes:
    """A compact ``.imx``: ``payload`` (the stored part: up to the last initialised byte)
    at ``text_start`` as :func:`formats.imx.image.build_imx` lays it out, the BSS-zeroing
    stub for ``entry`` (e_entry) and ``ranges`` right after the DCD, IVT.entry = the stub.

    Raises:
        FormatError: what :func:`build_imx` raises; no room for the stub between the DCD
            and the end of the header area (``field="DCD"``, says how many bytes are
            missing); a range overlapping the stub; a value past 32 bits.
    """
    lay = layout(cfg, text_start)
    off = stub_offset(len(cfg.dcd.build()))
    address = lay.self_addr + off
    stub = bss_zero_stub(entry, ranges, variant=variant, address=address)
    if off + len(stub) > lay.header_size:
        raise FormatError(
            f"no room for the {len(stub)}-byte BSS-zeroing stub after the DCD: it would end at header offset "
            f"0x{off + len(stub):x}, past the 0x{lay.header_size:x}-byte header area by "
            f"{off + len(stub) - lay.header_size} bytes", field="DCD")
    imx = bytearray(build_imx(payload, text_start=text_start, entry=address, cfg=cfg))
    imx[off:off + len(stub)] = stub
    return bytes(imx)


def find_stub(img: ImxImage, data: bytes) -> ImxStub | None:
    """The stub of a compact ``.imx`` (``img`` parsed from ``data``, IVT at offset 0), or
    None when IVT.entry is not in the header area (a plain image).

    Raises:
        FormatError: IVT.entry points into the header area but no imgtool stub is there
            (names the offset and the first word that differs).
    """
    offset = img.ivt.entry - img.ivt.self_addr
    if not 0 <= offset < img.payload_offset:
        return None
    return ImxStub(img.ivt.entry, offset, parse_bss_zero_stub(data[:img.payload_offset], offset))


def expected_stub(found: ImxStub) -> bytes:
    """The bytes imgtool writes for the variant, entry and ranges ``found`` records, at
    its address.

    Raises:
        FormatError: the recorded ranges are reversed, past 32 bits, or overlap the stub.
    """
    s = found.stub
    return bss_zero_stub(s.entry, s.ranges, variant=s.variant, address=found.address)
