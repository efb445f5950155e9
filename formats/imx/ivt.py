"""Image Vector Table (IVT) and boot data of an i.MX HABv4 boot image.

Source: i.MX6UL/ULL Reference Manual, chapter "System Boot", sections "Image Vector
Table and Boot Data" (IVT format, boot data format); HABv4 API Reference Manual (HAB data
structure header). The header bytes are big-endian as in every HAB structure; the IVT and
boot data words are little-endian absolute addresses.

IVT (32 bytes)::

    off size field
      0    1 tag        0xD1 (HAB_TAG_IVT)
      1    2 length     0x0020, big-endian
      3    1 version    0x40 (HAB 4.0; i.MX8M imx-mkimage writes 0x41)
      4    4 entry      absolute address of the first instruction
      8    4 reserved1  0
     12    4 dcd        absolute address of the DCD, 0 if none
     16    4 boot_data  absolute address of the boot data
     20    4 self       absolute address of this IVT
     24    4 csf        absolute address of the CSF, 0 if unsigned
     28    4 reserved2  0

Boot data (12 bytes, little-endian): start (absolute load address of the image, i.e. of
media offset 0), length (bytes the ROM loads, CSF reservation included), plugin flag.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from formats.errors import FormatError

#: HAB data structure tag of the IVT (HABv4 API RM, ``HAB_TAG_IVT``).
HAB_TAG_IVT = 0xD1
#: HAB major version 4, minor 0: accepted by every HABv4 ROM.
HAB_VERSION_40 = 0x40

# HAB header: tag u8, length u16 big-endian, parameter/version u8.
_HAB_HEADER = struct.Struct(">BHB")
# IVT body after the header: entry, reserved1, dcd, boot_data, self, csf, reserved2.
_IVT_BODY = struct.Struct("<7I")
# Boot data: start, length, plugin.
_BOOT_DATA = struct.Struct("<3I")


def hab_header(tag: int, length: int, param: int) -> bytes:
    """Return the 4-byte HAB header ``tag | length (BE16) | param``."""
    return _HAB_HEADER.pack(tag, length, param)


def parse_hab_header(data: bytes, offset: int = 0) -> tuple[int, int, int]:
    """Read a 4-byte HAB header at ``offset``; return ``(tag, length, param)``.

    Raises:
        FormatError: fewer than 4 bytes at ``offset``.
    """
    if offset < 0 or len(data) < offset + 4:
        raise FormatError("truncated HAB header (expected 4 bytes)", offset=offset, field="HAB header")
    return _HAB_HEADER.unpack_from(data, offset)


def expect_hab_structure(data: bytes, offset: int, tag: int | None, what: str) -> tuple[int, int, int]:
    """Read the HAB header of a structure of type ``what`` at ``offset`` and check it.

    Returns ``(tag, length, param)``; the length (big-endian, header included) is checked
    to be at least 4 and to end inside ``data``; ``tag`` (if not ``None``) must match.

    Raises:
        FormatError: truncated header, wrong tag, or a length past the end (``field`` is
            ``what``).
    """
    if offset < 0 or len(data) < offset + 4:
        raise FormatError(f"{what} truncated (need a 4-byte header)", offset=offset, field=what)
    t, length, param = _HAB_HEADER.unpack_from(data, offset)
    if tag is not None and t != tag:
        raise FormatError(f"{what} tag 0x{t:02x} (expected 0x{tag:02x})", offset=offset, field=what)
    if length < 4 or offset + length > len(data):
        raise FormatError(f"{what} length {length} runs past the end of the data ({len(data) - offset} bytes)",
                          offset=offset, field=what)
    return t, length, param


@dataclass(frozen=True)
class IVT:
    """Image Vector Table: the ROM's entry into a boot image.

    All fields are absolute addresses (bytes in the SoC address space) except
    ``version``. ``IVT.SIZE`` is 32 bytes.
    """

    entry: int
    dcd: int
    boot_data: int
    self_addr: int
    csf: int
    version: int = HAB_VERSION_40

    SIZE = 32
    TAG = HAB_TAG_IVT

    @classmethod
    def parse(cls, data: bytes, offset: int = 0) -> "IVT":
        """Parse the IVT at ``offset`` of ``data``.

        Raises:
            FormatError: truncated input, tag not 0xD1, length not 0x20, or a reserved
                word not 0 (the ROM rejects such an IVT).
        """
        tag, length, version = parse_hab_header(data, offset)
        if tag != HAB_TAG_IVT:
            raise FormatError(f"IVT tag is 0x{tag:02x} (expected 0xd1)", offset=offset, field="IVT.tag")
        if length != cls.SIZE:
            raise FormatError(f"IVT length is {length} (expected 32)", offset=offset + 1, field="IVT.length")
        if len(data) < offset + cls.SIZE:
            raise FormatError("truncated IVT (expected 32 bytes)", offset=offset, field="IVT")
        entry, res1, dcd, boot_data, self_addr, csf, res2 = _IVT_BODY.unpack_from(data, offset + 4)
        if res1 or res2:
            which, off = ("reserved1", 8) if res1 else ("reserved2", 28)
            raise FormatError(f"IVT {which} is not 0", offset=offset + off, field=f"IVT.{which}")
        return cls(entry=entry, dcd=dcd, boot_data=boot_data, self_addr=self_addr, csf=csf, version=version)

    def build(self) -> bytes:
        """Return the 32 bytes of this IVT."""
        return hab_header(HAB_TAG_IVT, self.SIZE, self.version) + _IVT_BODY.pack(
            self.entry, 0, self.dcd, self.boot_data, self.self_addr, self.csf, 0
        )

    def to_dict(self) -> dict:
        """JSON-able view (addresses as integers)."""
        return {
            "version": self.version,
            "entry": self.entry,
            "dcd": self.dcd,
            "boot_data": self.boot_data,
            "self": self.self_addr,
            "csf": self.csf,
        }


@dataclass(frozen=True)
class BootData:
    """Boot data: where the ROM copies the image and how many bytes.

    ``start`` is the absolute address that media offset 0 maps to; ``length`` is the
    number of bytes loaded from media offset 0 (IVT offset, header, payload and CSF
    reservation); ``plugin`` is 1 for a plugin image, else 0. ``SIZE`` is 12 bytes.
    """

    start: int
    length: int
    plugin: int = 0

    SIZE = 12

    @classmethod
    def parse(cls, data: bytes, offset: int = 0) -> "BootData":
        """Parse 12 bytes of boot data at ``offset``.

        Raises:
            FormatError: truncated input.
        """
        if offset < 0 or len(data) < offset + cls.SIZE:
            raise FormatError("truncated boot data (expected 12 bytes)", offset=offset, field="boot data")
        start, length, plugin = _BOOT_DATA.unpack_from(data, offset)
        return cls(start=start, length=length, plugin=plugin)

    def build(self) -> bytes:
        """Return the 12 bytes of this boot data."""
        return _BOOT_DATA.pack(self.start, self.length, self.plugin)

    def to_dict(self) -> dict:
        """JSON-able view."""
        return {"start": self.start, "length": self.length, "plugin": self.plugin}
