"""Pure-Python twin of the C CRC engine (``formats._accel.CrcEngine``).

Same constructor, methods and results as the C engine; used when the extension is not
built, when ``IMGTOOL_PURE_PYTHON=1`` is set, or when the tier ``"python"`` is asked for.
It keeps the same register convention as the C code (see ``formats/crc_engine.c``):

* ``refin`` false: the register is left-aligned in 64 bits, so with
  ``G' = G * x**(64 - width)`` it is a 64-bit CRC with polynomial ``G'``;
* ``refin`` true: the register is the 64-bit bit reversal of that (the reflected CRC,
  right-aligned in the low ``width`` bits) and data bytes are taken LSB first.

Sources: R. Williams, "A Painless Guide to CRC Error Detection Algorithms" (the model);
the reveng CRC catalogue (parameters). The byte-at-a-time table loop is slow (a few MB/s);
the two models the standard library computes in C (reflected 0x04C11DB7 through
``zlib.crc32``, non-reflected 16-bit 0x1021 through ``binascii.crc_hqx``) use them.
"""

from __future__ import annotations

import binascii
import zlib

__all__ = ["PyCrcEngine"]

_M64 = (1 << 64) - 1


def _rev64(v: int) -> int:
    """Reverse the order of the 64 bits of ``v``."""
    return int(format(v, "064b")[::-1], 2)


def _reflect(v: int, width: int) -> int:
    """Reverse the low ``width`` bits of ``v``."""
    return _rev64(v) >> (64 - width)


def _mulmod(a: int, b: int, pn: int) -> int:
    """``a * b mod G'`` in GF(2)[x], normal form, ``G' = x**64 + pn``."""
    r = 0
    for i in range(63, -1, -1):
        r = ((r << 1) & _M64) ^ (pn if r >> 63 else 0)
        if (b >> i) & 1:
            r ^= a
    return r


def _byte_view(data) -> memoryview:
    if isinstance(data, str):
        raise TypeError("CRC: strings are not accepted, pass bytes (e.g. s.encode())")
    mv = memoryview(data)
    if not mv.c_contiguous:
        raise BufferError("CRC: the buffer is not C-contiguous")
    if mv.format != "B" or mv.ndim != 1:
        mv = mv.cast("B")
    return mv


class PyCrcEngine:
    """CRC engine for one Rocksoft/Williams model, in pure Python.

    Args:
        width: register width in bits, 1..64.
        poly: generator polynomial in normal form without the x**width term.
        init: initial register value (unreflected, as in the reveng catalogue).
        refin: bytes are processed LSB first.
        refout: the register is reflected before ``xorout``.
        xorout: value XORed into the final register.
        tier: only ``"python"`` (accepted for signature compatibility with the C engine).

    Raises:
        ValueError: width outside 1..64 or a parameter that does not fit in ``width`` bits.
    """

    tier = "python"

    def __init__(self, width, poly, init, refin, refout, xorout, tier="python"):
        if tier not in ("python", "auto"):
            raise ValueError(f"unknown CRC tier '{tier}' for the pure-Python engine")
        if not isinstance(width, int) or not 1 <= width <= 64:
            raise ValueError(f"CRC width must be 1..64, got {width}")
        mask = (1 << width) - 1
        for name, v in (("poly", poly), ("init", init), ("xorout", xorout)):
            if not isinstance(v, int):
                raise TypeError(f"{name} must be an int, not {type(v).__name__}")
            if v < 0 or v > _M64:
                raise ValueError(f"{name} must be an unsigned integer below 2**64")
            if v & ~mask:
                raise ValueError(f"poly, init and xorout must fit in {width} bits")
        self.width = width
        self.poly, self.init, self.xorout = poly, init, xorout
        self.refin, self.refout = bool(refin), bool(refout)
        self._mask = mask
        self._pn = (poly << (64 - width)) & _M64
        self._pr = _rev64(self._pn)
        self._init_reg = _reflect(init, width) if self.refin else (init << (64 - width)) & _M64
        self._table = [self._bitwise(0, bytes([i])) for i in range(256)]
        xp = [2]
        for _ in range(1, 67):
            xp.append(_mulmod(xp[-1], xp[-1], self._pn))
        self._xpow = xp
        if width == 32 and poly == 0x04C11DB7 and self.refin:
            self._fast = "zlib"
        elif width == 16 and poly == 0x1021 and not self.refin:
            self._fast = "hqx"
        else:
            self._fast = None

    @property
    def params(self):
        """``(width, poly, init, refin, refout, xorout)``."""
        return (self.width, self.poly, self.init, self.refin, self.refout, self.xorout)

    # -- register conversions -----------------------------------------------------------

    def _to_value(self, reg: int) -> int:
        w = self.width
        if self.refin:
            v = reg if self.refout else _reflect(reg, w)
        else:
            v = reg >> (64 - w)
            if self.refout:
                v = _reflect(v, w)
        return v ^ self.xorout

    def _check_value(self, v, name: str) -> int:
        if not isinstance(v, int):
            raise TypeError(f"{name} must be an int, not {type(v).__name__}")
        if v < 0 or v > _M64:
            raise ValueError(f"{name} must be an unsigned integer below 2**64")
        if v & ~self._mask:
            raise ValueError(f"{name} 0x{v:x} does not fit in a {self.width}-bit CRC")
        return v

    def _to_reg(self, v: int) -> int:
        w = self.width
        v = (v ^ self.xorout) & self._mask
        if self.refin:
            return v if self.refout else _reflect(v, w)
        return ((_reflect(v, w) if self.refout else v) << (64 - w)) & _M64

    def _normal(self, reg: int) -> int:
        return _rev64(reg) if self.refin else reg

    # -- the byte loops -----------------------------------------------------------------

    def _bitwise(self, reg: int, data) -> int:
        if self.refin:
            pr = self._pr
            for b in data:
                reg ^= b
                for _ in range(8):
                    reg = (reg >> 1) ^ (pr if reg & 1 else 0)
        else:
            pn = self._pn
            for b in data:
                reg ^= b << 56
                for _ in range(8):
                    reg = ((reg << 1) & _M64) ^ (pn if reg >> 63 else 0)
        return reg

    def _run(self, reg: int, mv: memoryview) -> int:
        if self._fast == "zlib":
            return ~zlib.crc32(mv, ~reg & 0xFFFFFFFF) & 0xFFFFFFFF
        if self._fast == "hqx":
            return binascii.crc_hqx(mv, reg >> 48) << 48
        t = self._table
        if self.refin:
            for b in mv:
                reg = (reg >> 8) ^ t[(reg ^ b) & 0xFF]
        else:
            for b in mv:
                reg = ((reg << 8) & _M64) ^ t[(reg >> 56) ^ b]
        return reg

    def _xpow8n(self, n: int) -> int:
        r, k = 1, 3
        while n:
            if n & 1:
                r = _mulmod(r, self._xpow[k], self._pn)
            n >>= 1
            k += 1
        return r

    # -- public methods (same as the C engine) ------------------------------------------

    def compute(self, data, value=None) -> int:
        """CRC value of ``data``; with ``value``, continue from that earlier CRC value."""
        reg = self._init_reg if value is None else self._to_reg(self._check_value(value, "value"))
        return self._to_value(self._run(reg, _byte_view(data)))

    def compute_blocks(self, data, block_size) -> list:
        """CRC of each consecutive ``block_size`` block (the last one may be shorter)."""
        if block_size <= 0:
            raise ValueError(f"block_size must be positive, got {block_size}")
        mv = _byte_view(data)
        return [
            self._to_value(self._run(self._init_reg, mv[i : i + block_size]))
            for i in range(0, len(mv), block_size)
        ]

    def combine(self, crc1, crc2, len2) -> int:
        """CRC of A+B given ``crc1`` = CRC(A), ``crc2`` = CRC(B) and ``len2`` = len(B)."""
        r1 = self._to_reg(self._check_value(crc1, "crc1"))
        r2 = self._to_reg(self._check_value(crc2, "crc2"))
        if not isinstance(len2, int) or len2 < 0 or len2 > _M64:
            raise ValueError("len2 must be an unsigned integer below 2**64")
        d = _mulmod(self._normal(r1 ^ self._init_reg), self._xpow8n(len2), self._pn)
        return self._to_value(r2 ^ self._normal(d))

    def repeat(self, byte, count, value=None) -> int:
        """CRC after ``count`` copies of ``byte``, optionally continuing from ``value``."""
        if not isinstance(byte, int) or not 0 <= byte <= 255:
            raise ValueError("byte must be in range 0..255")
        if not isinstance(count, int) or count < 0 or count > _M64:
            raise ValueError("count must be an unsigned integer below 2**64")
        reg = self._init_reg if value is None else self._to_reg(self._check_value(value, "value"))
        rn = self._normal(reg)
        z = self._normal(self._bitwise(0, bytes([byte])))
        k = 3
        while count:
            if count & 1:
                rn = _mulmod(rn, self._xpow[k], self._pn) ^ z
            count >>= 1
            if count:
                z = _mulmod(z, self._xpow[k], self._pn) ^ z
            k += 1
        return self._to_value(self._normal(rn))
