"""The pclntab function-table walk: one pass decoding every ``_func`` record into columns,
and the charging of each function's own pclntab bytes.

The C core (``formats/pclntab_walk.c``, bound as ``formats._accel.pcln_decode`` and
``pcln_charge``) does the walk; :func:`decode_py` and :func:`charge_py` are its pure-Python
twin, giving identical columns, totals and status codes (tests compare them on real Go
ELFs and on corrupted tables). :class:`formats.go.pclntab.PcLnTab` calls :func:`decode`
and :func:`charge`; ``IMGTOOL_PURE_PYTHON=1`` selects the twin.

Columns (one row of :data:`NCOL` unsigned 64-bit integers per function, in table order):
:data:`COLUMNS`. ``own`` is filled by :func:`charge`: the function's name (the first
function at a name offset owns it, NUL included), the pc-value tables only it uses (pctab
is deduplicated; offsets sorted, each table running to the next start, the last one
decoded), its two functab slots, its ``_func`` record with the pcdata/funcdata words and,
for Go 1.26+ tables, the funcdata objects only it uses (each running to the next object).
Layouts: :mod:`formats.go.pclntab`; the writer is ``cmd/link/internal/ld/pcln.go``.

Status codes (the checks, in the order :meth:`PcLnTab.parse` and ``PcLnTab.funcs``
make them): 0 ok, 1 entries not ascending, 2 a record offset outside the table, 3 a
record's entry differs from the index, 4 a name outside funcnametab or unterminated, 5 a
pc table offset outside pctab, 6 a record runs past the table, 8 bad parameters, 9 the
last pc table runs past pctab (charge).
"""

from __future__ import annotations

import struct
from array import array
from typing import NamedTuple

from formats._native import accel

COLUMNS = ("entry", "end", "nameoff", "namelen", "record", "recsize", "pcsp", "pcfile", "pcln", "npcdata", "cu",
           "funcid", "nfuncdata", "own")
NCOL = len(COLUMNS)
(ENTRY, END, NAMEOFF, NAMELEN, RECORD, RECSIZE, PCSP, PCFILE, PCLN, NPCDATA, CU, FUNCID, NFUNCDATA,
 OWN) = range(NCOL)
OK, ORDER, RECORD_RANGE, ENTRY_MISMATCH, NAME, PCTAB_RANGE, RECORD_SIZE, NOMEM, BADARG, VARINT = range(10)
#: status codes :meth:`PcLnTab.parse` raises for (the others are raised by ``funcs``)
PARSE_ERRORS = (ORDER, RECORD_RANGE, RECORD_SIZE, BADARG)
PARTS = ("funcnametab", "pctab", "functab", "_func", "funcdata")
#: the most pcdata tables a ``_func`` record may name (``PCLN_MAX_NPCDATA`` of the C walk)
MAX_NPCDATA = 1024
#: ``"c"`` when the C core walks the table, ``"python"`` for the twin
ENGINE = "c" if accel is not None else "python"


class Job(NamedTuple):
    """What the walk needs of a table (offsets from its start, addresses for entries)."""

    version: int  # 116, 118 or 120
    ptrsize: int
    big: int
    quantum: int
    text_start: int
    nfunc: int
    funcnametab: int
    cutab: int
    pctab: int
    functab: int
    charge_funcdata: int = 0
    funcdata_size: int = 0


class Decoded(NamedTuple):
    """:func:`decode`'s result: ``status`` (0 ok), ``bad`` (function index of a failed
    check), ``functab_end`` (end of the last record), ``cols`` (native uint64: an
    ``array('Q')``, or a ``memoryview`` of the C core's buffer; NCOL per function, valid
    up to the failed check)."""

    status: int
    bad: int
    functab_end: int
    cols: array | memoryview


def decode(data, job: Job, *, engine: str | None = None) -> Decoded:
    """Decode the function table of ``data`` (the pclntab bytes) in one pass."""
    if (engine or ENGINE) == "c" and accel is not None:
        status, bad, end, raw = accel.pcln_decode(data, tuple(job))
        cols = memoryview(raw).cast("Q") if raw else array("Q")  # native uint64, no copy
        return Decoded(status, bad, end, cols)
    return decode_py(data, job)


def charge(data, job: Job, cols, *, engine: str | None = None) -> tuple[int, tuple[int, ...]]:
    """Fill the ``own`` column of ``cols`` in place; return ``(status, parts)`` with the
    bytes charged per part of :data:`PARTS`."""
    if (engine or ENGINE) == "c" and accel is not None:
        status, parts = accel.pcln_charge(data, tuple(job), cols)
        return status, parts
    return charge_py(data, job, cols)


def _fixed(job: Job) -> int:
    return job.ptrsize + 36 if job.version == 116 else 40 if job.version == 118 else 44


def decode_py(data, job: Job) -> Decoded:
    """Pure-Python twin of ``pcln_decode``: one ``struct`` unpack of the index, records
    read with precompiled ``struct`` layouts over one ``memoryview``."""
    d = memoryview(data).cast("B")
    n, P, v = job.nfunc, job.ptrsize, job.version
    new = v != 116
    e = ">" if job.big else "<"
    iw = 4 if new else P
    fx = _fixed(job)
    cols = array("Q", bytes(8 * NCOL * min(n, len(d) + 1)))
    if v not in (116, 118, 120) or P not in (4, 8) or n > len(d) or job.functab > len(d) \
            or (2 * n + 1) * iw > len(d) - job.functab or len(d) < fx \
            or job.funcnametab > job.cutab or job.cutab > len(d) or job.pctab > job.functab:
        return Decoded(BADARG, 0, 0, array("Q"))
    raw = struct.unpack_from(f"{e}{2 * n + 1}{'I' if new else ('I' if P == 4 else 'Q')}", d, job.functab)
    ts = job.text_start if new else 0
    prev = None
    for i in range(n + 1):
        pc = ts + raw[2 * i]
        if prev is not None and pc < prev:
            return Decoded(ORDER, i, 0, cols)
        prev = pc
        if i < n:
            cols[i * NCOL + ENTRY] = pc
            cols[i * NCOL + RECORD] = job.functab + raw[2 * i + 1]
        if i:
            cols[(i - 1) * NCOL + END] = pc
    lo = job.functab + (2 * n + 1) * iw
    for i in range(n):
        r = cols[i * NCOL + RECORD]
        if r < lo or r > len(d) - fx:
            return Decoded(RECORD_RANGE, i, 0, cols)
    u32 = struct.Struct(e + "I").unpack_from
    npc_at = P + 24 if v == 116 else 28
    end = lo
    for i in range(n):
        b = i * NCOL
        r = cols[b + RECORD]
        npc = u32(d, r + npc_at)[0]
        nfd = d[r + fx - 1]
        if new:
            size = fx + 4 * npc + 4 * nfd
        else:
            size = fx + 4 * npc
            if nfd:
                size = -(-size // P) * P + P * nfd
        if npc > MAX_NPCDATA or r + size > len(d):
            return Decoded(RECORD_SIZE, i, 0, cols)
        cols[b + RECSIZE], cols[b + NPCDATA], cols[b + NFUNCDATA] = size, npc, nfd
        cols[b + FUNCID] = d[r + fx - 4]
        end = max(end, r + size)
    word = struct.Struct(e + ("I" if new or P == 4 else "Q")).unpack_from
    off = 4 if new else P
    rec = struct.Struct(e + "IIIIII4xI")  # nameoff, args, deferreturn, pcsp, pcfile, pcln, (npcdata), cu
    names = bytes(d[job.funcnametab:job.cutab])
    nbase = job.funcnametab
    for i in range(n):
        b = i * NCOL
        r = cols[b + RECORD]
        entry = ts + word(d, r)[0]
        if entry != cols[b + ENTRY]:
            return Decoded(ENTRY_MISMATCH, i, end, cols)
        nameoff, _, _, pcsp, pcfile, pcln, cu = rec.unpack_from(d, r + off)
        z = names.find(b"\0", nameoff) if nbase + nameoff < job.cutab else -1
        if z < 0:
            return Decoded(NAME, i, end, cols)
        cols[b + NAMEOFF], cols[b + NAMELEN] = nameoff, z - nameoff
        cols[b + PCSP], cols[b + PCFILE], cols[b + PCLN], cols[b + CU] = pcsp, pcfile, pcln, cu
        npc = cols[b + NPCDATA]
        tabs = (pcsp, pcfile, pcln, *struct.unpack_from(f"{e}{npc}I", d, r + fx)) if npc else (pcsp, pcfile, pcln)
        for t in tabs:
            if t and not job.pctab + t < job.functab:
                return Decoded(PCTAB_RANGE, i, end, cols)
    return Decoded(OK, 0, end, cols)


def _pcvalue_len(d, pos: int, limit: int) -> int:
    start, first = pos, True
    while True:
        for half in (0, 1):
            v = shift = 0
            k = 0
            while True:
                if pos >= limit or k >= 5:
                    return -1
                b = d[pos]
                pos += 1
                k += 1
                v |= (b & 0x7F) << shift
                shift += 7
                if not b & 0x80:
                    break
            if half == 0 and v == 0 and not first:
                return pos - start
        first = False


def charge_py(data, job: Job, cols) -> tuple[int, tuple[int, ...]]:
    """Pure-Python twin of ``pcln_charge``."""
    d = memoryview(data).cast("B")
    n = job.nfunc
    e = ">" if job.big else "<"
    iw = 4 if job.version != 116 else job.ptrsize
    fx = _fixed(job)
    parts = [0] * len(PARTS)
    own = [0] * n
    seen = set()
    for i in range(n):
        b = i * NCOL
        no = cols[b + NAMEOFF]
        if no in seen:
            continue
        seen.add(no)
        own[i] += cols[b + NAMELEN] + 1
        parts[0] += cols[b + NAMELEN] + 1
    users: dict[int, list[int]] = {}
    for i in range(n):
        b = i * NCOL
        npc = cols[b + NPCDATA]
        tabs = [cols[b + PCSP], cols[b + PCFILE], cols[b + PCLN]]
        if npc:
            tabs += struct.unpack_from(f"{e}{npc}I", d, cols[b + RECORD] + fx)
        for t in dict.fromkeys(tabs):
            if t:
                users.setdefault(t, []).append(i)
    starts = sorted(users)
    last = _pcvalue_len(d, job.pctab + starts[-1], job.functab) if starts else 0
    if last < 0:
        return VARINT, tuple(parts)
    for k, t in enumerate(starts):
        length = starts[k + 1] - t if k + 1 < len(starts) else last
        us = users[t]
        if len(us) == 1:
            own[us[0]] += length
            parts[1] += length
    for i in range(n):
        b = i * NCOL
        own[i] += 2 * iw + cols[b + RECSIZE]
        parts[2] += 2 * iw
        parts[3] += cols[b + RECSIZE]
    if job.charge_funcdata:
        fd_users: dict[int, list[int]] = {}
        for i in range(n):
            b = i * NCOL
            nfd = cols[b + NFUNCDATA]
            if not nfd:
                continue
            at = cols[b + RECORD] + fx + 4 * cols[b + NPCDATA]
            for o in dict.fromkeys(struct.unpack_from(f"{e}{nfd}I", d, at)):
                if o != 0xFFFFFFFF and o < job.funcdata_size:  # past the blob: damaged, not charged
                    fd_users.setdefault(o, []).append(i)
        starts = sorted(fd_users)
        for k, o in enumerate(starts):
            length = (starts[k + 1] if k + 1 < len(starts) else job.funcdata_size) - o
            us = fd_users[o]
            if length > 0 and len({cols[i * NCOL + ENTRY] for i in us}) == 1:
                own[us[0]] += length
                parts[4] += length
    for i in range(n):
        cols[i * NCOL + OWN] = own[i]
    return OK, tuple(parts)

