"""Parsing option values: addresses and sizes as users write them in Makefiles."""

from __future__ import annotations

import re

from imgtool.errors import InputError

_SUFFIX = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


def parse_int(text: str | None, option: str) -> int | None:
    """Parse ``0x80010000``, ``4096``, ``0o17``, ``0b101``, ``64K``, ``1M``, ``2G`` (binary units).

    Raises:
        InputError: the text is not a number (the message names ``option``).
    """
    if text is None:
        return None
    m = re.fullmatch(r"\s*(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|\d[\d_]*)\s*([kKmMgG]?)(?:i?[bB])?\s*", text)
    if not m:
        raise InputError(f"{option}: {text!r} is not a number (expected e.g. 0x80010000, 4096 or 64K)")
    return int(m.group(1), 0) * _SUFFIX[m.group(2).lower()]


def parse_byte(text: str, option: str) -> int:
    """Parse a byte value 0..255 (``0xff``, ``255``)."""
    v = parse_int(text, option)
    if v is None or not 0 <= v <= 255:
        raise InputError(f"{option}: {text!r} is not a byte value (expected 0..255 or 0x00..0xff)")
    return v
