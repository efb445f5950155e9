"""Parsing option values: the one grammar for every size and address a user writes.

Every option that takes an address or a size (``--base``, ``--pad-to``, ``--max-gap``,
``--fill``, ``--offset``, ``--length``, ``--kernel-address``, ``--ram-start``, ``--size``,
``--define NAME=ADDR``, ``--region NAME=START:SIZE``, ``--budget KEY=SIZE``) goes through
:func:`parse_size`; nothing else in imgtool parses these strings. The grammar
(docs/cli.md, "Numbers")::

    value    = integer [unit] | decimal unit?
    integer  = "0x" hex-digits | "0o" octal-digits | "0b" binary-digits | decimal-digits
    decimal  = decimal-digits "." decimal-digits
    unit     = "K" | "M" | "G", optionally followed by "B" or "iB"   (2**10, 2**20, 2**30)
             | "B"                                                     (1)

* Units are binary and case-insensitive: ``64K`` = ``64KiB`` = ``64kb`` = 65536, in any
  base (``0x10K`` = 0x4000). In hex a trailing ``B`` is a digit (``0x1B`` = 27).
* A decimal fraction is allowed where it gives a whole number of bytes: ``1.5M`` =
  1572864; ``1.9`` and ``0.5`` are refused.
* No sign, no ``_`` separators, no leading zeros in decimal (``017`` is refused: C reads
  it as octal, Python refuses it; write ``0o17`` or ``17``). Spaces around the value and
  between number and unit are ignored.
* A percentage (``90%``, ``99.5%``, 0..100) only where a budget takes one:
  ``--budget region:NAME=P%``.

The parsers of whole strings raise ``ValueError`` (their message does not name an
option); :func:`option_value`, :func:`parse_int`, :func:`parse_byte` and the other
parsers taking an ``option`` raise :class:`imgtool.errors.InputError` naming the option.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import TYPE_CHECKING, Callable, TypeVar

from imgtool.errors import InputError

if TYPE_CHECKING:
    from imgtool.boards import RamRegion
    from imgtool.size.budget import Percent

T = TypeVar("T")

_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
_VALUE = re.compile(
    r"\s*(?:(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+)|(0|[1-9][0-9]*)(?:\.([0-9]+))?)"
    r"\s*(?:([kKmMgG])(?:[iI]?[bB])?|[bB])?\s*"
)
_EXAMPLES = "expected e.g. 0x80010000, 4096, 64K or 1.5M"


def parse_size(text: str) -> int:
    """A size or address in the grammar of the module doc -> a whole number of bytes.

    Raises:
        ValueError: not a value of the grammar, or a fraction that is not a whole number
            of bytes (the message quotes ``text`` and gives examples).
    """
    m = _VALUE.fullmatch(text)
    if not m:
        raise ValueError(f"{text!r} is not a number ({_EXAMPLES})")
    unit = _UNITS[(m.group(4) or "").lower()]
    if m.group(1) is not None:
        return int(m.group(1), 0) * unit
    frac = m.group(3) or ""
    value = Fraction(int(m.group(2) + frac), 10 ** len(frac)) * unit
    if value.denominator != 1:
        raise ValueError(f"{text!r} is not a whole number of bytes")
    return int(value)


def option_value(option: str, parse: Callable[[str], T], text: str) -> T:
    """``parse(text)``, with a ``ValueError`` or ``InputError`` turned into an
    :class:`InputError` that names ``option`` (``--region: region 'x=1' is not ...``).

    A :class:`formats.errors.FormatError` (a ``ValueError`` too) passes unchanged.
    """
    from formats.errors import FormatError

    try:
        return parse(text)
    except FormatError:
        raise
    except (ValueError, InputError) as exc:
        raise InputError(f"{option}: {exc}") from None


def parse_int(text: str | None, option: str) -> int | None:
    """An address or size option (``0x80010000``, ``4096``, ``64K``, ``1.5M``); ``None``
    stays ``None`` (the option was not given).

    Raises:
        InputError: not a value of the grammar (the message names ``option``).
    """
    if text is None:
        return None
    return option_value(option, parse_size, text)


def parse_byte(text: str, option: str) -> int:
    """A byte value 0..255 (``0xff``, ``255``).

    Raises:
        InputError: not a number, or outside 0..255 (names ``option``).
    """
    v = parse_int(text, option)
    if v is None or not 0 <= v <= 255:
        raise InputError(f"{option}: {text!r} is not a byte value (expected 0..255 or 0x00..0xff)")
    return v


def parse_max_gap(text: str, option: str = "--max-gap") -> int | None:
    """The largest hole a flat image may fill: a size, or ``any`` (no limit: ``None``).

    Raises:
        InputError: neither (names ``option``).
    """
    return None if text.strip().lower() == "any" else parse_int(text, option)


def parse_define(text: str, option: str = "--define") -> tuple[str, int]:
    """``NAME=ADDR`` (the value of an undefined dynamic symbol) -> ``(name, address)``.

    Raises:
        InputError: no ``=`` or an empty name (``--define 'x': expected NAME=ADDR``), or a
            bad address (``--define NAME: ...``).
    """
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise InputError(f"{option} {text!r}: expected NAME=ADDR")
    return name.strip(), option_value(f"{option} {name.strip()}", parse_size, value)


def parse_percent(text: str) -> "Percent":
    """``90%`` or ``99.5%`` (0..100) -> :class:`imgtool.size.budget.Percent`, exact.

    Raises:
        ValueError: no ``%``, a malformed number, or outside 0..100.
    """
    from imgtool.size.budget import Percent

    body = text.strip()
    if not body.endswith("%") or not re.fullmatch(r"\s*[0-9]+(\.[0-9]+)?\s*", body[:-1]):
        raise ValueError(f"bad percentage {text!r} (expected e.g. 90% or 99.5%)")
    pct = Fraction(body[:-1].strip())
    if not 0 <= pct <= 100:
        raise ValueError(f"percentage {text!r} is outside 0..100")
    return Percent(pct)


def parse_budget(spec: str) -> list[tuple[str, "int | Percent"]]:
    """``flash=1M,ram=256K,pkg:fmt=40K,mod:std=2M,region:ddr=90%`` -> ``[(key, limit)]``.

    A limit is bytes (an ``int``, in the grammar of :func:`parse_size`), or a
    :class:`imgtool.size.budget.Percent` for a ``region:NAME`` key. Keys are checked by
    :func:`imgtool.size.budget.check_key`.

    Raises:
        ValueError: an entry that is not ``KEY=SIZE``, an unknown key, a bad size, or a
            percentage on a key that is not a region.
    """
    from imgtool.size.budget import check_key

    out: list[tuple[str, int | Percent]] = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        if "=" not in part:
            raise ValueError(f"budget entry {part!r} is not KEY=SIZE")
        key, value = (x.strip() for x in part.rsplit("=", 1))
        check_key(key)
        try:
            if value.endswith("%"):
                if not key.startswith("region:"):
                    raise ValueError("a percentage needs a region:NAME key")
                out.append((key, parse_percent(value)))
            else:
                out.append((key, parse_size(value)))
        except ValueError as exc:
            raise ValueError(f"budget {part!r}: {exc}") from None
    return out


def parse_region(spec: str) -> "RamRegion":
    """``"ocram=0x00900000:128K"`` -> ``RamRegion("ocram", 0x900000, 0x20000)``.

    START and SIZE are values of :func:`parse_size` (``ddr=2G:512MiB``).

    Raises:
        ValueError: not ``NAME=START:SIZE``, an empty name or one with characters other
            than letters, digits, ``_.-``, a bad number, a zero size, or a region that
            ends past the 64-bit address space.
    """
    from imgtool.boards import RamRegion

    name, eq, rest = spec.partition("=")
    name = name.strip()
    if name and not re.fullmatch(r"[A-Za-z0-9_.\-]+", name):
        raise ValueError(f"region name {name!r}: use letters, digits, '_', '.' and '-' (it is also a --budget key)")
    start_s, colon, size_s = rest.partition(":")
    if not eq or not colon or not name or not start_s.strip() or not size_s.strip():
        raise ValueError(f"region {spec!r} is not NAME=START:SIZE (e.g. ocram=0x00900000:128K)")
    try:
        start, size = parse_size(start_s), parse_size(size_s)
    except ValueError as exc:
        raise ValueError(f"region {spec!r}: bad size or address: {exc}") from None
    if size <= 0:
        raise ValueError(f"region {spec!r}: start must be >= 0 and size > 0")
    if start + size > 1 << 64:
        raise ValueError(f"region {spec!r}: ends past the 64-bit address space")
    return RamRegion(name, start, size)
