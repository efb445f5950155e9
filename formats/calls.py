"""Direct calls in Go machine code: which instruction transfers control to which address.

Bytes in, facts out: :func:`direct_calls` reads a region of code and returns one
:class:`Call` per direct (pc-relative, immediate-target) call or tail jump it finds.
Calls through a register (interface methods, closures, func values, ``CALL (X5)``,
``BLX R0``) carry no target in the instruction and are not reported.

=========== ==================================================================================
GOARCH      what is decoded (source of each encoding)
=========== ==================================================================================
amd64, 386  ``CALL rel32`` (``E8 cd``) and ``JMP rel32`` (``E9 cd``); target = address of the
            next instruction + sign-extended rel32. Intel SDM vol. 2A, "CALL—Call Procedure"
            and "JMP—Jump". A byte scan, see *x86* below.
arm         A32 (Go emits A32, not Thumb) ``BL`` (``cond 1011 imm24``; cond 1111 is ``BLX``
            to Thumb, skipped; a conditional ``BL`` only to an entry, as ``BL.NE
            runtime.load_g`` in assembly) and ``B`` (``1110 1010 imm24``); target = PC + 8 +
            SignExtend(imm24:'00'). Arm ARM DDI 0406C, A8.8.25 "BL, BLX (immediate)"
            encoding A1 and A8.8.18 "B" encoding A1.
arm64       ``BL`` (``100101 imm26``) and ``B`` (``000101 imm26``); target = PC +
            SignExtend(imm26:'00'). Arm ARM DDI 0487, C6.2 "BL" and "B".
riscv64     ``JAL rd, imm`` (opcode ``1101111``, J-type immediate), the pair ``AUIPC rd, hi``
            + ``JALR rd2, lo(rd)`` (opcodes ``0010111`` and ``1100111``; target = AUIPC's pc
            + (hi << 12) + SignExtend(lo)), which Go's linker writes in trampolines
            (``X-tramp0``: ``AUIPC X31``/``JALR X0``), and compressed ``C.J`` (``101 imm 01``).
            A destination register x0 means a jump, any other a call (Go links calls in
            ``ra`` and ``morestack`` calls in ``t0``). RISC-V Unprivileged ISA, "Base
            Instruction-Length Encoding", "Integer Computational Instructions" (AUIPC),
            "Control Transfer Instructions" (JAL, JALR) and "Control Transfer
            Instructions" of the "C" extension (C.J).
=========== ==================================================================================

Fixed-width code (arm, arm64) is decoded word by word; literal-pool words that Go places
after a function's code are decoded too, so a constant that happens to encode a ``BL``
gives a spurious call (its target must still fall in the text for a caller to use it).
riscv64 code mixes 2- and 4-byte instructions; it is decoded sequentially from the start
of each stream given in ``bounds``, so only real instruction boundaries are read.

*x86*: the bytes are scanned for ``E8``/``E9`` without a length decoder, so a candidate
may start inside another instruction. A candidate is kept only when its target is exactly
one of ``entries`` (function entries from the pclntab); a spurious hit must therefore
land a stray 32-bit displacement exactly on one of the entries. Measured against GNU
objdump and capstone: amd64 (32-byte aligned functions), no spurious call in the test
program (40,497 calls) or ``cmd/go`` (98,638); 386 (16-byte alignment), 2 spurious of
44,322 in the test program. A length decoder (capstone) would remove that risk at about
14 times the run time and a compiled dependency; see docs/size.md.

A jump (no link) is reported only when its target is in ``entries``: branches inside a
function are not calls. Callers should drop a function's jumps to its own entry (the
``morestack`` loop back to the prologue).
"""

from __future__ import annotations

import re
import struct
import sys
from array import array
from typing import Collection, Iterable, NamedTuple

__all__ = ["ARCHES", "Call", "direct_calls"]

#: GOARCH values :func:`direct_calls` decodes
ARCHES = ("386", "amd64", "arm", "arm64", "riscv64")


class Call(NamedTuple):
    """One direct control transfer. ``site`` is the virtual address of the instruction
    (for an ``AUIPC``+``JALR`` pair, of the ``AUIPC``), ``target`` the virtual address
    it transfers to; ``link`` is True for a call (a return address is saved) and False
    for a jump (a tail call when the target is another function's entry)."""

    site: int
    target: int
    link: bool


def direct_calls(arch: str, code, address: int, *, entries: Collection[int],
                 bounds: Iterable[tuple[int, int]] | None = None, little_endian: bool = True) -> list[Call]:
    """The direct calls and tail jumps in ``code``, in address order.

    Args:
        arch: a GOARCH name from :data:`ARCHES` (the ELF's ``arch``).
        code: the bytes (bytes, bytearray or memoryview) starting at virtual address
            ``address``; a whole text section or one function.
        entries: function entry addresses (a set or dict, for speed). Jumps and arm
            conditional ``BL`` are kept only when they target an entry; on x86 calls
            too (see the module notes).
        bounds: riscv64 only: ``(start, end)`` virtual address ranges, each an
            instruction stream decoded from its start (one per function); default the
            whole of ``code``. Ignored by the other architectures.
        little_endian: byte order of the code (Go's targets are all little-endian).

    Returns:
        :class:`Call` values sorted by ``site``. Calls to addresses outside ``code`` are
        kept (except on x86): the caller decides what a target means.

    Raises:
        ValueError: ``arch`` is not one of :data:`ARCHES`.
    """
    data = bytes(code)
    if arch in ("amd64", "386"):
        return _x86(data, address, entries, 64 if arch == "amd64" else 32)
    if arch == "arm":
        return _arm32(data, address, entries, little_endian)
    if arch == "arm64":
        return _arm64(data, address, entries, little_endian)
    if arch == "riscv64":
        spans = [(address, address + len(data))] if bounds is None else bounds
        return _riscv(data, address, entries, spans)
    raise ValueError(f"no call decoder for GOARCH {arch!r} (expected one of {', '.join(ARCHES)})")


def _sext(v: int, bits: int) -> int:
    return v - (1 << bits) if v >> (bits - 1) & 1 else v


# ---------------------------------------------------------------------------- x86
_X86 = re.compile(rb"[\xe8\xe9]")


def _x86(data: bytes, address: int, entries: Collection[int], bits: int) -> list[Call]:
    mask = (1 << bits) - 1
    unpack = struct.Struct("<i").unpack_from
    out = []
    limit = len(data) - 5
    for m in _X86.finditer(data):
        p = m.start()
        if p > limit:
            break
        target = (address + p + 5 + unpack(data, p + 1)[0]) & mask
        if target in entries:
            out.append(Call(address + p, target, data[p] == 0xE8))
    return out


# ---------------------------------------------------------------------------- arm
def _word_candidates(data: bytes, little_endian: bool, table: bytes) -> tuple[list[int], array]:
    """Word indexes whose top byte maps to 1 in ``table`` (a 256-byte translate table:
    the opcode bits of ARM branches all sit in the most significant byte), and the code
    as an array of 32-bit words."""
    n = len(data) // 4
    top = data[3:4 * n:4] if little_endian else data[0:4 * n:4]
    hits = top.translate(table)
    words = array("I", data[:4 * n])
    if little_endian != (sys.byteorder == "little"):
        words.byteswap()
    return [m.start() for m in re.finditer(b"\x01", hits)], words


def _table(pred) -> bytes:
    return bytes(1 if pred(b) else 0 for b in range(256))


# A32: bits 27-25 = 101 (B/BL), bit 24 = link; cond 1111 is BLX (immediate) to Thumb.
# Kept: BL with any other cond, and B with cond 1110 (always).
_A32 = _table(lambda b: ((b & 0x0F) == 0x0B and b >> 4 != 0xF) or b == 0xEA)
# A64: bits 31-26 = 100101 (BL) or 000101 (B).
_A64 = _table(lambda b: (b & 0x7C) == 0x14)


def _arm32(data: bytes, address: int, entries: Collection[int], le: bool) -> list[Call]:
    out = []
    idx, words = _word_candidates(data, le, _A32)
    for i in idx:
        w = words[i]
        off = w & 0xFFFFFF
        site = address + 4 * i
        target = (site + 8 + ((off - 0x1000000 if off & 0x800000 else off) << 2)) & 0xFFFFFFFF
        # an unconditional BL to any address; a B or a conditional BL only to an entry
        if w >> 24 == 0xEB or target in entries:
            out.append(Call(site, target, bool(w & 0x01000000)))
    return out


def _arm64(data: bytes, address: int, entries: Collection[int], le: bool) -> list[Call]:
    out = []
    idx, words = _word_candidates(data, le, _A64)
    for i in idx:
        w = words[i]
        if w >> 26 not in (0x25, 0x05):
            continue
        off = w & 0x3FFFFFF
        site = address + 4 * i
        target = (site + ((off - 0x4000000 if off & 0x2000000 else off) << 2)) & 0xFFFFFFFFFFFFFFFF
        if w >> 26 == 0x25 or target in entries:
            out.append(Call(site, target, w >> 26 == 0x25))
    return out


# ---------------------------------------------------------------------------- riscv64
def _cls(pred) -> bytes:
    return b"[" + b"".join(re.escape(bytes([b])) for b in range(256) if pred(b)) + b"]"


# One regex step walks instruction by instruction (the low two bits of the first byte
# give the length) until the next JAL, AUIPC+JALR or C.J, so only boundaries are read.
_RV_STEP = re.compile(
    b"(?:" + _cls(lambda b: b & 3 == 3) + b"...|" + _cls(lambda b: b & 3 != 3) + b".)*?"
    b"(?:(?P<jal>" + _cls(lambda b: b & 0x7F == 0x6F) + b"...)"
    b"|(?P<auipc>" + _cls(lambda b: b & 0x7F == 0x17) + b"..." + _cls(lambda b: b & 0x7F == 0x67) + b"...)"
    b"|(?P<cj>" + _cls(lambda b: b & 3 == 1) + _cls(lambda b: b >> 5 == 5) + b"))",
    re.DOTALL)


def _riscv(data: bytes, address: int, entries: Collection[int], spans) -> list[Call]:
    out = []
    u32 = struct.Struct("<I").unpack_from
    end_all = address + len(data)
    for start, end in spans:
        pos, stop = max(start, address) - address, min(end, end_all) - address
        while pos < stop:
            m = _RV_STEP.match(data, pos, stop)
            if m is None:
                break
            pos = m.end()
            kind = m.lastgroup
            at = m.start(kind)
            site = address + at
            if kind == "jal":
                w = u32(data, at)[0]
                imm = ((w >> 31) << 20) | (((w >> 12) & 0xFF) << 12) | (((w >> 20) & 1) << 11) | (((w >> 21) & 0x3FF) << 1)
                call = Call(site, (site + _sext(imm, 21)) & 0xFFFFFFFFFFFFFFFF, (w >> 7) & 31 != 0)
            elif kind == "auipc":
                a, j = u32(data, at)[0], u32(data, at + 4)[0]
                rd = (a >> 7) & 31
                if (j >> 12) & 7 or (j >> 15) & 31 != rd or rd == 0:
                    pos = at + 4  # not a pair: step over the AUIPC alone
                    continue
                hi = _sext(a & 0xFFFFF000, 32)
                call = Call(site, (site + hi + _sext(j >> 20, 12)) & 0xFFFFFFFFFFFFFFFF, (j >> 7) & 31 != 0)
            else:
                h = data[at] | data[at + 1] << 8
                imm = (((h >> 12) & 1) << 11 | ((h >> 11) & 1) << 4 | ((h >> 9) & 3) << 8 | ((h >> 8) & 1) << 10
                       | ((h >> 7) & 1) << 6 | ((h >> 6) & 1) << 7 | ((h >> 3) & 7) << 1 | ((h >> 2) & 1) << 5)
                call = Call(site, (site + _sext(imm, 12)) & 0xFFFFFFFFFFFFFFFF, False)
            if call.link or call.target in entries:
                out.append(call)
    return out
