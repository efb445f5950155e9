"""``imximage.cfg``: the text file U-Boot ``mkimage -T imximage`` reads to lay out an i.MX
boot image header and its DCD.

Source: matches U-Boot ``mkimage -T imximage`` (``tools/imximage.c``, Debian u-boot-tools
2023.01), checked byte for byte in ``tests/test_imx_mkimage.py``; command semantics from
the i.MX6UL/ULL Reference Manual ("Device Configuration Data") and the HABv4 API RM.

One command per line, ``#`` starts a comment, commands are case-insensitive, and every
number is hexadecimal with or without ``0x`` (mkimage reads them with ``strtoul(.., 16)``,
so ``10`` means 16)::

    IMAGE_VERSION 2                 must come first; only version 2 (i.MX53/6/7) is supported
    BOOT_FROM sd                    sd, nand, spi, sata (IVT at 0x400), nor, qspi (0x1000),
                                    onenand (0x100)
    BOOT_OFFSET 0x400               IVT offset on the medium, overrides BOOT_FROM's
    CSF 0x4000                      bytes reserved after the image for a CSF
    DATA 4 addr value               Write Data: *addr = value
    CLR_BIT 4 addr mask             Write Data: *addr &= ~mask
    SET_BIT 4 addr mask             Write Data: *addr |= mask
    CHECK_BITS_SET 4 addr mask [count]     poll until (*addr & mask) == mask
    CHECK_BITS_CLR 4 addr mask [count]     poll until (*addr & mask) == 0
    CHECK_ANY_BIT_SET 4 addr mask [count]  poll until (*addr & mask) != 0
    CHECK_ANY_BIT_CLR 4 addr mask [count]  poll until (*addr & mask) != mask
    NOP                             a DCD NOP command

Consecutive write lines with the same operation and width go into one Write Data
command (as mkimage does); every check is a command of its own.

Where this parser differs from Debian's mkimage 2023.01 (docs/imx.md, "mkimage bugs"):
mkimage ignores the width column (it always encodes 4 bytes), drops a Check Data poll
count, and does not know ``CHECK_ANY_BIT_*`` or ``NOP``; here the width is encoded, the
count kept and those commands supported. It is also stricter: a malformed number, a
missing or extra argument, an unknown command, an address not aligned to its width, or a
DCD over the i.MX6 limit of 1,768 bytes is an error naming the line, where mkimage reads
a prefix of the number, ignores the rest or overflows silently.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from formats.errors import FormatError
from formats.imx.dcd import (
    DCD_MAX_SIZE_IMX6,
    CheckData,
    Dcd,
    DcdCommand,
    Nop,
    WriteData,
)

#: BOOT_FROM device -> (IVT offset on the medium, ROM initial load size), in bytes.
#: Matches the tables of U-Boot ``tools/imximage.h`` (FLASH_OFFSET_*, FLASH_LOADSIZE_*).
BOOT_DEVICES: dict[str, tuple[int, int]] = {
    "onenand": (0x100, 0x400),
    "nand": (0x400, 0x1000),
    "nor": (0x1000, 0x1000),
    "sata": (0x400, 0x1000),
    "sd": (0x400, 0x1000),
    "spi": (0x400, 0x1000),
    "qspi": (0x1000, 0x1000),
}

#: cfg command -> Write Data flags
_WRITE_COMMANDS = {"DATA": WriteData.WRITE, "CLR_BIT": WriteData.CLEAR_BITS, "SET_BIT": WriteData.SET_BITS}
#: cfg command -> Check Data flags
_CHECK_COMMANDS = {
    "CHECK_BITS_CLR": CheckData.BITS_CLR,
    "CHECK_BITS_SET": CheckData.BITS_SET,
    "CHECK_ANY_BIT_CLR": CheckData.ANY_BIT_CLR,
    "CHECK_ANY_BIT_SET": CheckData.ANY_BIT_SET,
}
_HEADER_COMMANDS = ("IMAGE_VERSION", "BOOT_FROM", "BOOT_OFFSET", "CSF")
ALL_COMMANDS = _HEADER_COMMANDS + tuple(_WRITE_COMMANDS) + tuple(_CHECK_COMMANDS) + ("NOP",)

_HEX = re.compile(r"(?:0[xX])?([0-9a-fA-F]+)\Z")


@dataclass(frozen=True)
class CfgEntry:
    """One DCD line of the cfg: ``command`` (upper case, e.g. ``"DATA"``), the access
    ``width`` in bytes, the register ``address``, the ``value`` (or mask) and an optional
    poll ``count`` (checks only). ``line`` is the 1-based line number (not compared)."""

    command: str
    width: int = 4
    address: int = 0
    value: int = 0
    count: int | None = None
    line: int | None = field(default=None, compare=False)

    def to_text(self) -> str:
        if self.command == "NOP":
            return "NOP"
        text = f"{self.command} {self.width} 0x{self.address:08x} 0x{self.value:08x}"
        return text if self.count is None else f"{text} 0x{self.count:x}"


@dataclass(frozen=True)
class ImximageCfg:
    """A parsed ``imximage.cfg``.

    Attributes:
        boot_from: the BOOT_FROM device name (lower case), or None if only BOOT_OFFSET.
        ivt_offset: byte offset of the IVT on the boot medium (0x400 for sd).
        init_load_size: the ROM's initial load size for the device in bytes (0x1000 for
            sd; 0 when only BOOT_OFFSET was given), before mkimage's header-size fix-up.
        csf_size: bytes reserved for the CSF after the image, 0 for none.
        entries: the DCD lines in order.
        image_version: always 2.
        source: the file name, when known (not compared).
    """

    boot_from: str | None = "sd"
    ivt_offset: int = 0x400
    init_load_size: int = 0x1000
    csf_size: int = 0
    entries: tuple[CfgEntry, ...] = ()
    image_version: int = 2
    source: str | None = field(default=None, compare=False)

    @property
    def dcd(self) -> Dcd:
        """The DCD the entries make (mkimage's merging rules), see :func:`build_dcd`."""
        return build_dcd(self.entries)[0]

    def dcd_command_lines(self) -> list[tuple[int | None, ...]]:
        """For each command of :attr:`dcd`, the cfg line numbers it came from."""
        return build_dcd(self.entries)[1]

    def to_text(self) -> str:
        """Render as cfg text that :func:`parse_cfg` reads back to an equal value."""
        lines = [f"IMAGE_VERSION {self.image_version}"]
        if self.boot_from is not None:
            lines.append(f"BOOT_FROM {self.boot_from}")
        if self.boot_from is None or BOOT_DEVICES[self.boot_from][0] != self.ivt_offset:
            lines.append(f"BOOT_OFFSET 0x{self.ivt_offset:x}")
        if self.csf_size:
            lines.append(f"CSF 0x{self.csf_size:x}")
        lines.extend(e.to_text() for e in self.entries)
        return "\n".join(lines) + "\n"


def build_dcd(entries: tuple[CfgEntry, ...] | list[CfgEntry]) -> tuple[Dcd, list[tuple[int | None, ...]]]:
    """Make the DCD for cfg ``entries``: consecutive writes with the same operation and
    width share one Write Data command, each check and NOP is its own command.

    Returns ``(dcd, lines)`` where ``lines[i]`` lists the cfg lines of ``dcd.commands[i]``.
    """
    commands: list[DcdCommand] = []
    lines: list[list[int | None]] = []
    for e in entries:
        if e.command in _WRITE_COMMANDS:
            flags = _WRITE_COMMANDS[e.command]
            last = commands[-1] if commands else None
            if isinstance(last, WriteData) and last.width == e.width and last.flags == flags:
                commands[-1] = WriteData(e.width, flags, last.entries + ((e.address, e.value),))
                lines[-1].append(e.line)
                continue
            commands.append(WriteData(e.width, flags, ((e.address, e.value),)))
        elif e.command in _CHECK_COMMANDS:
            commands.append(CheckData(e.address, e.value, e.width, _CHECK_COMMANDS[e.command], e.count))
        elif e.command == "NOP":
            commands.append(Nop())
        else:
            raise FormatError(f"{e.command} is not a DCD command", field=f"line {e.line}")
        lines.append([e.line])
    return Dcd(commands), [tuple(x) for x in lines]


def _hex(token: str, what: str, lineno: int, source: str | None) -> int:
    m = _HEX.match(token)
    if not m:
        raise FormatError(
            f"{what} {token!r} is not a hexadecimal number (expected e.g. 0x020c4068)",
            source=source,
            field=f"line {lineno}",
        )
    value = int(m.group(1), 16)
    if value > 0xFFFFFFFF:
        raise FormatError(f"{what} {token} does not fit in 32 bits", source=source, field=f"line {lineno}")
    return value


def parse_cfg(text: str, source: str | None = None, *, max_dcd_size: int | None = DCD_MAX_SIZE_IMX6) -> ImximageCfg:
    """Parse ``imximage.cfg`` text.

    Args:
        text: the file contents.
        source: the file name, put into errors and into the result.
        max_dcd_size: the largest DCD (bytes, header included) to accept; 1768 is the
            i.MX6UL/ULL ROM limit. ``None`` disables the check.

    Returns:
        The :class:`ImximageCfg`.

    Raises:
        FormatError: with ``field="line N"`` naming the line, the token and what was
            expected: unknown command, bad or missing argument, IMAGE_VERSION not first or
            not 2, unknown boot device, width not 1/2/4, an address not aligned to its
            width, the DCD growing past ``max_dcd_size``; and (no line) a file without
            IMAGE_VERSION or without BOOT_FROM/BOOT_OFFSET.
    """
    version: int | None = None
    boot_from: str | None = None
    ivt_offset: int | None = None
    load_size = 0
    csf_size = 0
    entries: list[CfgEntry] = []
    seen_command = False
    dcd_size = 4

    def err(msg: str, lineno: int) -> FormatError:
        return FormatError(msg, source=source, field=f"line {lineno}")

    for lineno, raw in enumerate(text.splitlines(), start=1):
        tokens = raw.split("#", 1)[0].split()
        if not tokens:
            continue
        name, args = tokens[0].upper(), tokens[1:]
        if name not in ALL_COMMANDS:
            if name == "PLUGIN":
                raise err("PLUGIN images are not supported (expected a DCD image)", lineno)
            hint = difflib.get_close_matches(name, ALL_COMMANDS, n=1)
            also = f"; did you mean {hint[0]}?" if hint else ""
            raise err(f"unknown command {tokens[0]!r} (expected one of {', '.join(ALL_COMMANDS)}){also}", lineno)

        def nargs(lo: int, hi: int, usage: str) -> None:
            if not lo <= len(args) <= hi:
                raise err(f"{name} takes {usage}, got {len(args)} argument(s): {' '.join(args) or '(none)'}", lineno)

        if name == "IMAGE_VERSION":
            nargs(1, 1, "one argument (2)")
            if seen_command:
                raise err("IMAGE_VERSION must come before every other command", lineno)
            version = _hex(args[0], "image version", lineno, source)
            if version != 2:
                raise err(f"IMAGE_VERSION {args[0]} is not supported (expected 2, i.MX53/6/7)", lineno)
            seen_command = True
            continue
        if version is None:
            raise err(f"{name} before IMAGE_VERSION (expected IMAGE_VERSION 2 first)", lineno)
        if name == "BOOT_FROM":
            nargs(1, 1, f"one device ({', '.join(BOOT_DEVICES)})")
            dev = args[0].lower()
            if dev not in BOOT_DEVICES:
                raise err(f"unknown boot device {args[0]!r} (expected one of {', '.join(BOOT_DEVICES)})", lineno)
            boot_from = dev
            ivt_offset, load_size = BOOT_DEVICES[dev]
            load_size = max(load_size, ivt_offset)
        elif name == "BOOT_OFFSET":
            nargs(1, 1, "one hexadecimal offset")
            ivt_offset = _hex(args[0], "boot offset", lineno, source)
        elif name == "CSF":
            nargs(1, 1, "one hexadecimal size")
            csf_size = _hex(args[0], "CSF size", lineno, source)
        elif name == "NOP":
            nargs(0, 0, "no arguments")
            entries.append(CfgEntry("NOP", line=lineno))
            dcd_size += 4
        else:
            is_check = name in _CHECK_COMMANDS
            if is_check:
                nargs(3, 4, "width, address, mask and an optional count")
            else:
                nargs(3, 3, "width, address and " + ("value" if name == "DATA" else "mask"))
            width = _hex(args[0], "width", lineno, source)
            if width not in (1, 2, 4):
                raise err(f"width {args[0]} is not 1, 2 or 4 (bytes)", lineno)
            address = _hex(args[1], "address", lineno, source)
            if address % width:
                raise err(f"address 0x{address:08x} is not aligned to its width of {width} bytes", lineno)
            value = _hex(args[2], "mask" if name != "DATA" else "value", lineno, source)
            if width < 4 and value >> (8 * width):
                raise err(f"value 0x{value:x} does not fit the width of {width} byte(s)", lineno)
            count = _hex(args[3], "count", lineno, source) if len(args) == 4 else None
            entry = CfgEntry(name, width, address, value, count, line=lineno)
            last = entries[-1] if entries else None
            if is_check:
                dcd_size += 12 if count is None else 16
            elif last is not None and last.command == name and last.width == width:
                dcd_size += 8
            else:
                dcd_size += 12
            entries.append(entry)
        seen_command = True
        if max_dcd_size is not None and dcd_size > max_dcd_size:
            raise err(
                f"DCD grows to {dcd_size} bytes here, over the limit of {max_dcd_size} bytes "
                f"(i.MX6 ROM)",
                lineno,
            )

    if version is None:
        raise FormatError("no IMAGE_VERSION line (expected IMAGE_VERSION 2 first)", source=source, field="IMAGE_VERSION")
    if ivt_offset is None:
        raise FormatError("no BOOT_FROM line (expected e.g. BOOT_FROM sd)", source=source, field="BOOT_FROM")
    return ImximageCfg(
        boot_from=boot_from,
        ivt_offset=ivt_offset,
        init_load_size=load_size,
        csf_size=csf_size,
        entries=tuple(entries),
        image_version=version,
        source=source,
    )
