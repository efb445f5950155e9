"""Device Configuration Data (DCD): the register writes and polls the ROM runs before
it loads the image.

Source: i.MX6UL/ULL Reference Manual, chapter "System Boot", section "Device
Configuration Data (DCD)"; HABv4 API Reference Manual (commands Write Data, Check Data,
NOP, Unlock). Every DCD field is big-endian.

DCD::

    D2 LLLL VV          header: tag 0xD2, total length (header included), version 0x40
    command...          back to back until the length is used up

Commands (``tag | length BE16 | parameter`` then the body)::

    Write Data  CC len par  (address BE32, value-or-mask BE32) * n     len = 4 + 8n
    Check Data  CF len par  address BE32, mask BE32 [, count BE32]     len = 12 or 16
    NOP         C0 0004 00
    Unlock      B2 len eng  [value BE32] * n                           len = 4 + 4n

Write Data / Check Data parameter byte: bits 0-2 the access width in bytes (1, 2, 4),
bits 3-7 flags. Write Data flags MSK=1, SET=2: ``par 0x04`` writes the value, ``0x0C``
clears the mask bits (``*a &= ~m``), ``0x1C`` sets them (``*a |= m``). Check Data flags
SET=2, ANY=4: ``0x04`` all mask bits clear, ``0x14`` all set, ``0x24`` any clear,
``0x34`` any set; without a count the ROM polls until true, with one it polls at most
``count`` times (0: a NOP).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import ClassVar, Union

from formats.errors import FormatError
from formats.imx.ivt import HAB_VERSION_40, hab_header, parse_hab_header

# HAB tags (HABv4 API RM, "hab_tag" / "hab_command").
HAB_TAG_DCD = 0xD2
HAB_CMD_WRT_DAT = 0xCC
HAB_CMD_CHK_DAT = 0xCF
HAB_CMD_NOP = 0xC0
HAB_CMD_UNLK = 0xB2

# Parameter byte of Write Data / Check Data.
HAB_DATA_WIDTH_BYTE = 1
HAB_DATA_WIDTH_HALF = 2
HAB_DATA_WIDTH_WORD = 4
HAB_CMD_WRT_DAT_MSK = 1  #: Write Data flag: value is a mask
HAB_CMD_WRT_DAT_SET = 2  #: Write Data flag: with MSK, set (else clear) the mask bits
HAB_CMD_CHK_DAT_SET = 2  #: Check Data flag: test for bits set (else clear)
HAB_CMD_CHK_DAT_ANY = 4  #: Check Data flag: any bit (else all bits)
HAB_CMD_WRT_DAT_FLAGS_SHIFT = 3
HAB_CMD_WRT_DAT_BYTES_MASK = 0x07

#: Largest DCD the i.MX6UL/ULL ROM accepts, header included (RM "DCD"; armory-boot
#: checks the same limit; U-Boot mkimage's table holds 220 entries = 1768 bytes).
DCD_MAX_SIZE_IMX6 = 1768

_WORD = struct.Struct(">I")
_PAIR = struct.Struct(">II")
_VALID_WIDTHS = (HAB_DATA_WIDTH_BYTE, HAB_DATA_WIDTH_HALF, HAB_DATA_WIDTH_WORD)


def make_param(width: int, flags: int) -> int:
    """Return the Write Data / Check Data parameter byte for ``width`` (bytes) and ``flags``."""
    return (flags << HAB_CMD_WRT_DAT_FLAGS_SHIFT) | width


def split_param(param: int) -> tuple[int, int]:
    """Return ``(width, flags)`` of a Write Data / Check Data parameter byte."""
    return param & HAB_CMD_WRT_DAT_BYTES_MASK, param >> HAB_CMD_WRT_DAT_FLAGS_SHIFT


def _check_width(width: int, offset: int, what: str) -> None:
    if width not in _VALID_WIDTHS:
        raise FormatError(f"{what} width is {width} (expected 1, 2 or 4 bytes)", offset=offset, field=what)


@dataclass(frozen=True)
class WriteData:
    """Write Data (0xCC): one access width and operation for a list of registers.

    ``entries`` is a tuple of ``(address, value)``; for the clear-bits and set-bits
    operations the value is the mask. ``flags`` holds the MSK/SET bits.
    """

    width: int = HAB_DATA_WIDTH_WORD
    flags: int = 0
    entries: tuple[tuple[int, int], ...] = ()

    TAG: ClassVar[int] = HAB_CMD_WRT_DAT
    #: flags of the three operations, named as imximage.cfg names them
    WRITE: ClassVar[int] = 0  # DATA
    CLEAR_BITS: ClassVar[int] = HAB_CMD_WRT_DAT_MSK  # CLR_BIT
    SET_BITS: ClassVar[int] = HAB_CMD_WRT_DAT_MSK | HAB_CMD_WRT_DAT_SET  # SET_BIT

    @property
    def param(self) -> int:
        return make_param(self.width, self.flags)

    @property
    def operation(self) -> str:
        """``"write"``, ``"clear_bits"`` or ``"set_bits"`` (HABv4 API RM, Write Data)."""
        if not self.flags & HAB_CMD_WRT_DAT_MSK:
            return "write"
        return "set_bits" if self.flags & HAB_CMD_WRT_DAT_SET else "clear_bits"

    @property
    def length(self) -> int:
        return 4 + 8 * len(self.entries)

    def build(self) -> bytes:
        body = b"".join(_PAIR.pack(a, v) for a, v in self.entries)
        return hab_header(self.TAG, self.length, self.param) + body

    @classmethod
    def parse(cls, data: bytes, offset: int = 0) -> "WriteData":
        """Parse a Write Data command at ``offset``.

        Raises:
            FormatError: wrong tag, a length that is not 4 + 8n, a bad width, truncation.
        """
        tag, length, param = _command_header(data, offset, cls.TAG, "Write Data")
        if length < 4 or (length - 4) % 8:
            raise FormatError(f"Write Data length is {length} (expected 4 + 8n)", offset=offset + 1, field="Write Data")
        width, flags = split_param(param)
        _check_width(width, offset + 3, "Write Data")
        entries = tuple(_PAIR.unpack_from(data, offset + 4 + 8 * i) for i in range((length - 4) // 8))
        return cls(width=width, flags=flags, entries=entries)

    def to_dict(self) -> dict:
        return {
            "command": "write_data",
            "operation": self.operation,
            "width": self.width,
            "param": self.param,
            "entries": [{"address": a, "value": v} for a, v in self.entries],
        }


@dataclass(frozen=True)
class CheckData:
    """Check Data (0xCF): poll ``address`` until the ``mask`` bits test true.

    ``flags`` holds SET/ANY; ``count`` is the maximum number of polls, or ``None`` to
    poll until true.
    """

    address: int
    mask: int
    width: int = HAB_DATA_WIDTH_WORD
    flags: int = 0
    count: int | None = None

    TAG: ClassVar[int] = HAB_CMD_CHK_DAT
    #: flags of the four flavours, named as imximage.cfg names them
    BITS_CLR: ClassVar[int] = 0  # CHECK_BITS_CLR: (*a & m) == 0
    BITS_SET: ClassVar[int] = HAB_CMD_CHK_DAT_SET  # CHECK_BITS_SET: (*a & m) == m
    ANY_BIT_CLR: ClassVar[int] = HAB_CMD_CHK_DAT_ANY  # CHECK_ANY_BIT_CLR: (*a & m) != m
    ANY_BIT_SET: ClassVar[int] = HAB_CMD_CHK_DAT_ANY | HAB_CMD_CHK_DAT_SET  # CHECK_ANY_BIT_SET: (*a & m) != 0

    @property
    def param(self) -> int:
        return make_param(self.width, self.flags)

    @property
    def flavour(self) -> str:
        """``"all_clear"``, ``"all_set"``, ``"any_clear"`` or ``"any_set"``."""
        which = "any" if self.flags & HAB_CMD_CHK_DAT_ANY else "all"
        return f"{which}_{'set' if self.flags & HAB_CMD_CHK_DAT_SET else 'clear'}"

    @property
    def length(self) -> int:
        return 12 if self.count is None else 16

    def build(self) -> bytes:
        body = _PAIR.pack(self.address, self.mask)
        if self.count is not None:
            body += _WORD.pack(self.count)
        return hab_header(self.TAG, self.length, self.param) + body

    @classmethod
    def parse(cls, data: bytes, offset: int = 0) -> "CheckData":
        """Parse a Check Data command at ``offset``.

        Raises:
            FormatError: wrong tag, length not 12 or 16, a bad width, truncation.
        """
        tag, length, param = _command_header(data, offset, cls.TAG, "Check Data")
        if length not in (12, 16):
            raise FormatError(f"Check Data length is {length} (expected 12 or 16)", offset=offset + 1, field="Check Data")
        width, flags = split_param(param)
        _check_width(width, offset + 3, "Check Data")
        address, mask = _PAIR.unpack_from(data, offset + 4)
        count = _WORD.unpack_from(data, offset + 12)[0] if length == 16 else None
        return cls(address=address, mask=mask, width=width, flags=flags, count=count)

    def to_dict(self) -> dict:
        return {
            "command": "check_data",
            "flavour": self.flavour,
            "width": self.width,
            "param": self.param,
            "address": self.address,
            "mask": self.mask,
            "count": self.count,
        }


@dataclass(frozen=True)
class Nop:
    """NOP (0xC0): 4 bytes, does nothing. ``param`` is kept for round trips (normally 0)."""

    param: int = 0

    TAG: ClassVar[int] = HAB_CMD_NOP
    length: ClassVar[int] = 4

    def build(self) -> bytes:
        return hab_header(self.TAG, 4, self.param)

    @classmethod
    def parse(cls, data: bytes, offset: int = 0) -> "Nop":
        """Parse a NOP at ``offset``. Raises FormatError if its length is not 4."""
        tag, length, param = _command_header(data, offset, cls.TAG, "NOP")
        if length != 4:
            raise FormatError(f"NOP length is {length} (expected 4)", offset=offset + 1, field="NOP")
        return cls(param=param)

    def to_dict(self) -> dict:
        return {"command": "nop", "param": self.param}


@dataclass(frozen=True)
class Unlock:
    """Unlock (0xB2): keep engine features unlocked after boot (HABv4 API RM, Unlock).

    ``engine`` is the HAB engine tag (CAAM 0x1D, SNVS 0x1E, OCOTP 0x21, ...); ``values``
    the engine-specific words (feature flags, an 8-byte UID as two words).
    """

    engine: int
    values: tuple[int, ...] = ()

    TAG: ClassVar[int] = HAB_CMD_UNLK

    @property
    def length(self) -> int:
        return 4 + 4 * len(self.values)

    def build(self) -> bytes:
        return hab_header(self.TAG, self.length, self.engine) + b"".join(_WORD.pack(v) for v in self.values)

    @classmethod
    def parse(cls, data: bytes, offset: int = 0) -> "Unlock":
        """Parse an Unlock command at ``offset``. Raises FormatError if length is not 4 + 4n."""
        tag, length, engine = _command_header(data, offset, cls.TAG, "Unlock")
        if length < 4 or length % 4:
            raise FormatError(f"Unlock length is {length} (expected 4 + 4n)", offset=offset + 1, field="Unlock")
        values = tuple(_WORD.unpack_from(data, offset + 4 + 4 * i)[0] for i in range((length - 4) // 4))
        return cls(engine=engine, values=values)

    def to_dict(self) -> dict:
        return {"command": "unlock", "engine": self.engine, "values": list(self.values)}


DcdCommand = Union[WriteData, CheckData, Nop, Unlock]
_COMMANDS: dict[int, type] = {c.TAG: c for c in (WriteData, CheckData, Nop, Unlock)}


def _command_header(data: bytes, offset: int, tag_expected: int, name: str) -> tuple[int, int, int]:
    tag, length, param = parse_hab_header(data, offset)
    if tag != tag_expected:
        raise FormatError(f"{name} tag is 0x{tag:02x} (expected 0x{tag_expected:02x})", offset=offset, field=name)
    if len(data) < offset + length:
        raise FormatError(
            f"{name} command of {length} bytes runs past the end of the data", offset=offset, field=name
        )
    return tag, length, param


@dataclass
class Dcd:
    """A DCD: the header and its list of commands, in order.

    ``len(dcd.build())`` is the DCD length in bytes (header included).
    """

    commands: list[DcdCommand] = field(default_factory=list)
    version: int = HAB_VERSION_40

    TAG: ClassVar[int] = HAB_TAG_DCD
    MAX_SIZE_IMX6: ClassVar[int] = DCD_MAX_SIZE_IMX6

    @property
    def length(self) -> int:
        """Total length in bytes, header included."""
        return 4 + sum(c.length for c in self.commands)

    def build(self) -> bytes:
        """Return the DCD bytes (header + commands).

        Raises:
            FormatError: the DCD would be longer than 65535 bytes (the header's length field).
        """
        body = b"".join(c.build() for c in self.commands)
        if len(body) + 4 > 0xFFFF:
            raise FormatError(f"DCD of {len(body) + 4} bytes does not fit the 16-bit length field", field="DCD")
        return hab_header(HAB_TAG_DCD, 4 + len(body), self.version) + body

    @classmethod
    def parse(cls, data: bytes, offset: int = 0) -> "Dcd":
        """Parse the DCD at ``offset`` of ``data``.

        Raises:
            FormatError: tag not 0xD2, a length past the end of ``data``, an unknown
                command tag, or a command that runs past the DCD length. Offsets in the
                error are offsets in ``data``.
        """
        tag, length, version = parse_hab_header(data, offset)
        if tag != HAB_TAG_DCD:
            raise FormatError(f"DCD tag is 0x{tag:02x} (expected 0xd2)", offset=offset, field="DCD")
        if length < 4 or len(data) < offset + length:
            raise FormatError(f"DCD length {length} runs past the end of the data", offset=offset + 1, field="DCD")
        end = offset + length
        view = bytes(data[offset:end])  # commands may not read past the DCD
        pos = 4
        commands: list[DcdCommand] = []
        while pos < length:
            if length - pos < 4:
                raise FormatError("truncated DCD command header", offset=offset + pos, field="DCD")
            ctag = view[pos]
            kind = _COMMANDS.get(ctag)
            if kind is None:
                raise FormatError(
                    f"unknown DCD command tag 0x{ctag:02x} (expected 0xcc, 0xcf, 0xc0 or 0xb2)",
                    offset=offset + pos,
                    field="DCD",
                )
            try:
                cmd = kind.parse(view, pos)
            except FormatError as exc:
                raise FormatError(exc.message, offset=offset + (exc.offset or pos), field=exc.field) from None
            commands.append(cmd)
            pos += cmd.length
        return cls(commands=commands, version=version)

    def to_dict(self) -> dict:
        return {"version": self.version, "length": self.length, "commands": [c.to_dict() for c in self.commands]}
