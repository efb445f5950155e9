"""Data references in Go machine code: which instruction (or literal) names which address.

Bytes in, facts out: :func:`data_refs` reads a region of code and returns the pairs
(site, target) where the code forms the absolute address ``target`` of something in the
given ``ranges`` (data, rodata, BSS) the way Go's compiler and linker write it. This is
how a stripped ELF's data is tied to the functions that use it (``imgtool size`` charges
a referenced object to the referencing function's package, as an estimate).

=========== ==================================================================================
GOARCH      the forms decoded (the linker's relocation that writes them; encodings from the ISA)
=========== ==================================================================================
arm         literal-pool words: ``MOVW $sym, R`` and ``MOVW sym, R`` load the address from a
            word after the function (``R_ADDR`` in the pool); every aligned word of the code
            whose value lies in ``ranges`` is one (Arm ARM DDI 0406C A8.8.64 "LDR (literal)").
arm64       ``ADRP Xd, page`` followed by ``ADD Xd', Xd, #lo12`` or a load/store
            ``[Xd, #imm12 << size]`` (``R_ADDRARM64``, ``R_ARM64_PCREL_LDST*``); target =
            (PC & ~0xfff) + SignExtend(immhi:immlo:Zeros(12)) + the low part (Arm ARM DDI
            0487 C6.2 "ADRP", "ADD (immediate)", "LDR (immediate)" unsigned offset).
amd64       RIP-relative operands (ModRM mod=00 r/m=101, ``R_PCREL``): ``LEAQ``, ``MOVQ``/
            ``MOVL`` loads and stores, ``CMPQ``, ``MOVZX``, SSE ``MOVSD``/``MOVUPS``..., and
            ``CMPB``/``MOVB``/``MOVL $imm`` to memory; target = end of the instruction +
            disp32 (Intel SDM vol. 2A 2.2.1.6 "RIP-Relative Addressing"). A byte scan: a
            candidate counts only when its target lies in ``ranges``.
riscv64     ``AUIPC rd, hi20`` followed by ``ADDI rd', rd, lo12``, a load or a store with
            base ``rd`` (``R_RISCV_PCREL_ITYPE``/``STYPE``); target = AUIPC's pc + (hi20 << 12)
            + SignExtend(lo12) (RISC-V Unprivileged ISA, "Integer Computational
            Instructions", "Load and Store Instructions").
=========== ==================================================================================

What is not seen: addresses computed at run time, data reached only through other data
(a slice's backing array: :func:`pointer_refs` follows aligned words of data), and on
amd64 forms not listed. A literal word or byte pattern that merely looks like a reference
gives a spurious pair; callers treat the result as an estimate.
"""

from __future__ import annotations

import re
import struct
import sys
from array import array
from bisect import bisect_right
from typing import Sequence

__all__ = ["ARCHES", "data_refs", "pointer_refs"]

ARCHES = ("arm", "arm64", "amd64", "riscv64")


class Ranges:
    """Sorted, disjoint ``(start, end)`` address ranges with a fast membership test."""

    def __init__(self, ranges: Sequence[tuple[int, int]]) -> None:
        self.spans = sorted((a, b) for a, b in ranges if b > a)
        self.starts = [a for a, _ in self.spans]
        self.lo = self.spans[0][0] if self.spans else 0
        self.hi = max((b for _, b in self.spans), default=0)

    def __contains__(self, x: int) -> bool:
        if not self.lo <= x < self.hi:
            return False
        i = bisect_right(self.starts, x) - 1
        return i >= 0 and x < self.spans[i][1]


def data_refs(arch: str, code, address: int, ranges: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """``(site, target)`` pairs, in site order, of the references in ``code`` (the bytes
    at virtual address ``address``) to addresses inside ``ranges``.

    Raises:
        ValueError: ``arch`` is not one of :data:`ARCHES`.
    """
    data = bytes(code)
    rs = Ranges(ranges)
    if not rs.spans:
        return []
    if arch == "arm":
        return _words(data, address, rs, 4)
    if arch == "arm64":
        return _arm64(data, address, rs)
    if arch == "amd64":
        return _amd64(data, address, rs)
    if arch == "riscv64":
        return _riscv64(data, address, rs)
    raise ValueError(f"no data-reference decoder for GOARCH {arch!r} (expected one of {', '.join(ARCHES)})")


def _native(data: bytes, code: str) -> array:
    a = array(code, data[:len(data) // array(code).itemsize * array(code).itemsize])
    if sys.byteorder != "little":
        a.byteswap()
    return a


def _words(data: bytes, address: int, rs: Ranges, size: int) -> list[tuple[int, int]]:
    words = _native(data, "I" if size == 4 else "Q")
    lo, hi = rs.lo, rs.hi
    return [(address + size * i, w) for i, w in enumerate(words) if lo <= w < hi and w in rs]


def pointer_refs(data, address: int, ranges: Sequence[tuple[int, int]], ptrsize: int) -> list[tuple[int, int]]:
    """``(site, target)`` pairs of the ``ptrsize``-aligned little-endian words of ``data``
    (at ``address``) whose value lies in ``ranges``: pointers stored in data."""
    rs = Ranges(ranges)
    if not rs.spans:
        return []
    skip = (-address) % ptrsize
    out = _words(bytes(data)[skip:], address + skip, rs, ptrsize)
    return out


# ---------------------------------------------------------------------------- arm64
_ADRP_TOP = bytes(1 if (b & 0x9F) == 0x90 else 0 for b in range(256))


def _arm64(data: bytes, address: int, rs: Ranges) -> list[tuple[int, int]]:
    words = _native(data, "I")
    n = len(words)
    top = data[3:4 * n:4].translate(_ADRP_TOP)
    out = []
    for m in re.finditer(b"\x01", top):
        i = m.start()
        w = words[i]
        if i + 1 >= n:
            break
        rd = w & 31
        pc = address + 4 * i
        imm = ((w >> 5) & 0x7FFFF) << 2 | (w >> 29) & 3
        if imm & 0x100000:
            imm -= 0x200000
        page = ((pc & ~0xFFF) + (imm << 12)) & 0xFFFFFFFFFFFFFFFF
        v = words[i + 1]
        if (v >> 5) & 31 != rd:
            continue
        if v & 0xFF800000 == 0x91000000:  # ADD Xd, Xn, #imm12{, LSL #12}
            lo = (v >> 10) & 0xFFF
            target = page + (lo << 12 if v >> 22 & 1 else lo)
        elif v & 0x3B000000 == 0x39000000:  # LDR/STR (immediate), unsigned offset
            size = v >> 30
            if v & 0x04000000 and (v >> 23) & 1 and size == 0:  # 128-bit SIMD&FP
                size = 4
            target = page + (((v >> 10) & 0xFFF) << size)
        else:
            continue
        if target in rs:
            out.append((pc, target))
    return out


# ---------------------------------------------------------------------------- amd64
# (pattern, offset of disp32 from the match start, instruction length)
def _cls(values) -> bytes:
    """A regex byte class of ``values``, each escaped (0x2d is ``-``, 0x5d is ``]``)."""
    return b"[" + b"".join(re.escape(bytes([v])) for v in values) + b"]"


_MOD = _cls(range(0x05, 0x40, 8))  # ModRM mod=00 r/m=101: [RIP + disp32], any reg
_REX = _cls(range(0x48, 0x50))
_X86 = [
    (_REX + _cls(b"\x8d\x8b\x89\x3b\x39\x03\x2b\x85\x87\x63\x33\x0b\x23") + _MOD, 3, 7),
    (_REX + b"\x0f" + _cls(b"\xb6\xb7\xbe\xbf") + _MOD, 4, 8),
    (b"\x0f" + _cls(b"\xb6\xb7\xbe\xbf\x10\x11\x28\x29") + _MOD, 3, 7),
    (_cls(b"\x66\xf2\xf3") + b"\x0f" + _cls(b"\x10\x11\x28\x29\x6f\x7f\x2e\x2f\x54\x57\x58\x59\x5c\x5e") + _MOD, 4, 8),
    (_cls(b"\x66\xf2\xf3") + _REX + b"\x0f" + _cls(b"\x10\x11\x6f\x7f\x2a") + _MOD, 5, 9),
    (_cls(b"\x8b\x89") + _MOD, 2, 6),
    # cmp $imm, disp32(%rip): imm8 (80, 83) or imm32 (81); mov $imm, disp32(%rip) (c6, c7)
    (_cls(b"\x80\x83") + b"\x3d", 2, 7), (b"\x81\x3d", 2, 10), (b"\xc6\x05", 2, 7), (b"\xc7\x05", 2, 10),
    (_REX + b"\xc7\x05", 3, 11), (_REX + b"\x83\x3d", 3, 8), (_REX + b"\x81\x3d", 3, 11),
]
_X86_RE = [(re.compile(p, re.DOTALL), d, n) for p, d, n in _X86]


def _amd64(data: bytes, address: int, rs: Ranges) -> list[tuple[int, int]]:
    u = struct.Struct("<i").unpack_from
    found: dict[int, tuple[int, int]] = {}  # instruction end -> (start, target): a REX form wins over its tail
    limit = len(data)
    for rx, d, n in _X86_RE:
        for m in rx.finditer(data):
            p = m.start()
            if p + n > limit:
                continue
            target = (address + p + n + u(data, p + d)[0]) & 0xFFFFFFFFFFFFFFFF
            if target in rs and (p + n not in found or found[p + n][0] > p):
                found[p + n] = (p, target)
    return sorted((address + p, t) for p, t in found.values())


# ---------------------------------------------------------------------------- riscv64
def _riscv64(data: bytes, address: int, rs: Ranges) -> list[tuple[int, int]]:
    u = struct.Struct("<I").unpack_from
    out = []
    limit = len(data) - 8
    seen = -1
    for m in re.finditer(rb"[\x17\x97]", data):
        p = m.start()
        if p & 1 or p > limit or p <= seen:
            continue
        a = u(data, p)[0]
        if a & 0x7F != 0x17:
            continue
        rd = (a >> 7) & 31
        v = u(data, p + 4)[0]
        op = v & 0x7F
        if rd == 0 or (v >> 15) & 31 != rd:
            continue
        if op == 0x13 and (v >> 12) & 7 == 0 or op in (0x03, 0x07):  # ADDI, loads, FP loads
            lo = v >> 20
        elif op in (0x23, 0x27):  # stores, FP stores
            lo = (v >> 25) << 5 | (v >> 7) & 31
        else:
            continue
        if lo & 0x800:
            lo -= 0x1000
        hi = a & 0xFFFFF000
        if hi & 0x80000000:
            hi -= 1 << 32
        target = (address + p + hi + lo) & 0xFFFFFFFFFFFFFFFF
        if target in rs:
            out.append((address + p, target))
            seen = p + 4
    return out
