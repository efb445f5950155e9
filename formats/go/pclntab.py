"""The Go pc-line table (``.gopclntab``): function table, names, pc-value tables, sub-table extents.

Every layout the Go linker has written is read, selected by the 4-byte magic (stored in
the target's byte order; no magic equals another byte-reversed, so the magic also gives
the endianness):

=========== ========= ==================================================================
magic       Go        layout (``debug/gosym/pclntab.go``, ``runtime/symtab.go``)
=========== ========= ==================================================================
0xfffffffb  1.2-1.15  one blob: header (8+P), functab of P-wide (entry, funcoff) pairs,
                      end pc, uint32 filetab offset; ``_func`` records (P+32 bytes)
                      interleaved with names, pc tables and the file table
0xfffffffa  1.16-1.17 header 8+7P: nfunc, nfiles, offsets of funcnametab, cutab,
                      filetab, pctab, pclntable; ``_func`` P+36 bytes, P-wide entry
0xfffffff0  1.18-1.19 header 8+8P adds textStart; entries uint32 offsets from it;
                      ``_func`` 40 bytes; funcdata uint32 offsets from ``go:func.*``
0xfffffff1  1.20+     ``_func`` 44 bytes (startLine). Go 1.26+ (same magic): textStart 0,
                      ``go:func.*`` and ``runtime.findfunctab`` inside ``.gopclntab``
=========== ========= ==================================================================

P is the pointer size (4 or 8, byte 7), the pc quantum is byte 6 (1 x86, 2 Thumb,
4 ARM/arm64/riscv64). Sources: ``cmd/link/internal/ld/pcln.go`` (the writer: sub-table
order, ``funcSize``, records P-aligned, findfunctab size), ``runtime/runtime2.go``
(``_func``), ``runtime/symtab.go`` (``pcHeader``, ``moduledata``).

All offsets below are byte offsets from the start of the table unless named otherwise;
addresses are virtual addresses. Malformed input raises :class:`FormatError` naming the
sub-table and the offset; no other exception escapes :meth:`PcLnTab.parse`.
"""

from __future__ import annotations

import struct
from functools import cached_property
from typing import NamedTuple

from formats.errors import FormatError
from formats.go import pclnwalk
from formats.go.varint import MAX_LEN_32, uvarint

MAGIC_12 = 0xFFFFFFFB
MAGIC_116 = 0xFFFFFFFA
MAGIC_118 = 0xFFFFFFF0
MAGIC_120 = 0xFFFFFFF1
#: magic -> layout name
VERSIONS = {MAGIC_12: "1.2", MAGIC_116: "1.16", MAGIC_118: "1.18", MAGIC_120: "1.20"}

#: funcdata indexes (runtime/symtab.go / internal/abi/symtab.go)
FUNCDATA_NAMES = ("ArgsPointerMaps", "LocalsPointerMaps", "StackObjects", "InlTree",
                  "OpenCodedDeferInfo", "ArgInfo", "ArgLiveInfo", "WrapInfo")
PCDATA_NAMES = ("UnsafePoint", "StackMapIndex", "InlTreeIndex", "ArgLiveIndex")
#: findfunctab: one uint32 per 4 KiB bucket plus one byte per 256-byte sub-bucket
FUNCTAB_BUCKET = 4096
SUBBUCKET = 256


class Extent(NamedTuple):
    """A named byte range of the table: ``offset`` from its start, ``size`` in bytes."""

    name: str
    offset: int
    size: int

    @property
    def end(self) -> int:
        return self.offset + self.size


class Func(NamedTuple):
    """One function of the table.

    ``entry``/``end`` are virtual addresses (``end`` is the next function's entry, so the
    size includes the alignment padding after it); ``record`` is the table offset of the
    ``_func`` record and ``record_size`` its length with the pcdata and funcdata words;
    ``pcsp``/``pcfile``/``pcln`` and ``pcdata`` are offsets into pctab (1.16+) or the
    table (1.2), 0 for none; ``funcdata`` holds offsets from ``go:func.*`` (1.18+) or
    absolute addresses (before 1.18), ``None`` for none; ``cu`` the cutab index.
    """

    index: int
    name: str
    entry: int
    end: int
    nameoff: int
    record: int
    record_size: int
    pcsp: int
    pcfile: int
    pcln: int
    pcdata: tuple[int, ...]
    funcdata: tuple[int | None, ...]
    cu: int
    func_id: int

    @property
    def size(self) -> int:
        return self.end - self.entry


def findfunctab_size(text_len: int) -> int:
    """Bytes of ``runtime.findfunctab`` for ``text_len`` bytes of text (pcln.go ``findfunctab``)."""
    return 4 * -(-text_len // FUNCTAB_BUCKET) + -(-text_len // SUBBUCKET)


def pcvalue_table_len(data, off: int, quantum: int, limit: int | None = None) -> int:
    """Length in bytes of the pc-value table at ``off`` (pairs of zig-zag value delta and
    pc delta uvarints, ended by a value delta of 0 after the first pair; runtime ``step``).

    Raises:
        FormatError: the table runs past ``limit`` (default: the end of ``data``), or a
            varint is longer than 5 bytes.
    """
    end = len(data) if limit is None else limit
    pos, first = off, True
    while True:
        value, pos = uvarint(data, pos, end, max_len=MAX_LEN_32, field="pctab")
        if value == 0 and not first:
            return pos - off
        _, pos = uvarint(data, pos, end, max_len=MAX_LEN_32, field="pctab")
        first = False


class PcLnTab:
    """A parsed pclntab. Build with :meth:`parse`.

    Attributes: ``magic``, ``version`` (``"1.2"``, ``"1.16"``, ``"1.18"``, ``"1.20"``),
    ``go126`` (the 1.26+ variant of 1.20), ``little_endian``, ``quantum``, ``ptrsize``,
    ``nfunc``, ``nfiles``, ``text_start`` (address all 1.18+ entry offsets are relative
    to), ``address`` (of the table, or None), ``size`` (bytes), the sub-table offsets
    ``funcnametab``, ``cutab``, ``filetab``, ``pctab``, ``functab`` and
    ``functab_end`` (end of the last ``_func`` record), ``gofunc`` (table offset of the
    1.26+ ``go:func.*`` blob, or None) and ``findfunctab`` (table offset, 1.26+, or None).
    """

    def __init__(self) -> None:  # use parse()
        self.data: memoryview = memoryview(b"")

    # ------------------------------------------------------------------ parsing
    @classmethod
    def parse(cls, data, *, address: int | None = None, text_start: int | None = None,
              go126: bool | None = None, gofunc: int | None = None,
              findfunctab: int | None = None) -> "PcLnTab":
        """Parse the table in ``data`` (bytes or memoryview, starting at the magic).

        Args:
            address: virtual address of the table, for ``gofunc``/``findfunctab``.
            text_start: ``runtime.text`` (``moduledata.text``); needed for 1.26+ tables,
                whose header word is 0; overrides the header when given.
            go126: the table is Go 1.26+ (from the build info); None guesses from the header.
            gofunc, findfunctab: addresses of ``go:func.*`` and ``runtime.findfunctab``
                (from moduledata), to place the 1.26+ tail exactly.

        Raises:
            FormatError: bad magic, header, or any offset outside the table (the field
                names the sub-table, the offset is from the table start).
        """
        self = cls()
        self.data = memoryview(data).cast("B") if not isinstance(data, memoryview) else data
        self.address = address
        self.size = len(self.data)
        try:
            self._header(text_start, go126)
            self._walked = None
            if self.version != "1.2":
                self._walk_index()
            else:
                self._index()
            self._tail(gofunc, findfunctab)
        except FormatError:
            raise
        except (struct.error, IndexError, ValueError, OverflowError, MemoryError) as exc:
            raise FormatError(f"malformed table ({exc})", field="pclntab") from None
        return self

    def _err(self, msg: str, off: int | None, table: str) -> FormatError:
        return FormatError(msg, offset=off, field=table)

    def _header(self, text_start: int | None, go126: bool | None) -> None:
        d = self.data
        if len(d) < 16:
            raise self._err(f"table is {len(d)} bytes, too short for a pcHeader", 0, "pcHeader")
        le, be = struct.unpack_from("<I", d)[0], struct.unpack_from(">I", d)[0]
        if le in VERSIONS:
            self.little_endian, self.magic = True, le
        elif be in VERSIONS:
            self.little_endian, self.magic = False, be
        else:
            raise self._err(f"bad magic 0x{le:08x} (expected 0xfffffff1, f0, fa or fb)", 0, "pcHeader")
        self.version = VERSIONS[self.magic]
        self.quantum, self.ptrsize = d[6], d[7]
        if d[4] or d[5]:
            raise self._err("bytes 4-5 are not zero", 4, "pcHeader")
        if self.quantum not in (1, 2, 4) or self.ptrsize not in (4, 8):
            raise self._err(f"quantum {self.quantum} / pointer size {self.ptrsize} (expected 1,2,4 / 4,8)", 6, "pcHeader")
        e = "<" if self.little_endian else ">"
        self._e = e
        self._w = e + ("I" if self.ptrsize == 4 else "Q")
        P = self.ptrsize
        words = {"1.2": 1, "1.16": 7, "1.18": 8, "1.20": 8}[self.version]
        self.header_size = 8 + words * P
        if self.header_size > len(d):
            raise self._err(f"header needs {self.header_size} bytes, table has {len(d)}", 0, "pcHeader")
        w = [struct.unpack_from(self._w, d, 8 + i * P)[0] for i in range(words)]
        self.nfunc = w[0]
        self.nfiles = w[1] if words > 1 else 0
        self.go126 = False
        self.gofunc = self.findfunctab = None
        if self.version == "1.2":
            self.text_start = text_start or 0
            self.funcnametab = self.cutab = self.filetab = self.pctab = 0
            self.functab = self.header_size
        else:
            offs = w[2:] if self.version == "1.16" else w[3:]
            hdr_text = 0 if self.version == "1.16" else w[2]
            self.funcnametab, self.cutab, self.filetab, self.pctab, self.functab = offs
            prev = self.header_size
            for name, o in zip(("funcnametab", "cutab", "filetab", "pctab", "functab"), offs):
                if not prev <= o <= len(d):
                    raise self._err(f"{name} offset 0x{o:x} is outside 0x{prev:x}..0x{len(d):x}", 8, "pcHeader")
                prev = o
            self.go126 = bool(go126) if go126 is not None else (self.version == "1.20" and hdr_text == 0)
            self.text_start = text_start if text_start is not None else hdr_text
        width = 4 if self.version in ("1.18", "1.20") else P
        need = (2 * self.nfunc + 1) * width
        if self.nfunc > len(d) or self.functab + need > len(d):
            raise self._err(f"nfunc {self.nfunc}: functab of {need} bytes runs past the table end", 8, "functab")

    def _index(self) -> None:
        d, n = self.data, self.nfunc
        if self.version in ("1.18", "1.20"):
            raw = struct.unpack_from(f"{self._e}{2 * n + 1}I", d, self.functab)
            ts = self.text_start
            self.entries = [ts + x for x in raw[0:2 * n:2]]
            self.end_pc = ts + raw[2 * n]
            self.records = [self.functab + x for x in raw[1:2 * n:2]]
        else:
            c = "I" if self.ptrsize == 4 else "Q"
            raw = struct.unpack_from(f"{self._e}{2 * n + 1}{c}", d, self.functab)
            self.entries = list(raw[0:2 * n:2])
            self.end_pc = raw[2 * n]
            base = self.functab if self.version == "1.16" else 0
            self.records = [base + x for x in raw[1:2 * n:2]]
        prev = None
        for i, pc in enumerate(self.entries + [self.end_pc]):
            if prev is not None and pc < prev:
                raise self._err(f"function {i} entry 0x{pc:x} is below the previous entry 0x{prev:x}",
                                self.functab + i * 2 * self._idx_width, "functab")
            prev = pc
        lo = self.functab + (2 * n + 1) * self._idx_width
        for i, r in enumerate(self.records):
            if not lo <= r <= len(d) - self._fixed:
                raise self._err(f"function {i}: _func record offset 0x{r:x} is outside the table",
                                self.functab + (2 * i + 1) * self._idx_width, "functab")

    def _job(self, funcdata_size: int | None = None) -> "pclnwalk.Job":
        return pclnwalk.Job({"1.16": 116, "1.18": 118, "1.20": 120}[self.version], self.ptrsize,
                            int(not self.little_endian), self.quantum, self.text_start if self.version != "1.16" else 0,
                            self.nfunc, self.funcnametab, self.cutab, self.pctab, self.functab,
                            int(funcdata_size is not None), funcdata_size or 0)

    def _walk_index(self) -> None:
        """The index and the records in one pass (:mod:`formats.go.pclnwalk`); a failed
        check is raised by the Python checks of :meth:`_index` and :meth:`_tail`."""
        w = pclnwalk.decode(self.data, self._job())
        if w.status in pclnwalk.PARSE_ERRORS:
            self._index()
            self._functab_end()
            raise self._err(f"function {w.bad}: malformed function table (check {w.status})", self.functab, "functab")
        cols, N = w.cols, pclnwalk.NCOL
        self.end_pc = cols[(self.nfunc - 1) * N + pclnwalk.END] if self.nfunc else self.text_start
        if not self.nfunc:
            raw = struct.unpack_from(self._e + ("I" if self.version != "1.16" else self._w[1]), self.data, self.functab)
            self.end_pc = (self.text_start if self.version != "1.16" else 0) + raw[0]
        self.functab_end = w.functab_end
        self._walked = w

    @property
    def entries(self) -> list[int]:
        """Entry address of every function (from the functab index)."""
        if self._entries is None and self._walked is not None:
            self._entries = self._walked.cols[pclnwalk.ENTRY::pclnwalk.NCOL].tolist()
        return self._entries

    @entries.setter
    def entries(self, value: list[int]) -> None:
        self._entries = value

    @property
    def records(self) -> list[int]:
        """Table offset of every function's ``_func`` record."""
        if self._records is None and self._walked is not None:
            self._records = self._walked.cols[pclnwalk.RECORD::pclnwalk.NCOL].tolist()
        return self._records

    @records.setter
    def records(self, value: list[int]) -> None:
        self._records = value

    _entries: list[int] | None = None
    _records: list[int] | None = None

    @property
    def _idx_width(self) -> int:
        return 4 if self.version in ("1.18", "1.20") else self.ptrsize

    @property
    def _fixed(self) -> int:
        """Fixed ``_func`` size (runtime2.go / pcln.go ``funcSize``)."""
        return {"1.2": self.ptrsize + 32, "1.16": self.ptrsize + 36, "1.18": 40, "1.20": 44}[self.version]

    def _functab_end(self) -> int:
        end = self.functab + (2 * self.nfunc + 1) * self._idx_width
        for i, r in enumerate(self.records):
            end = max(end, r + self._record_size(i, r))
        return end

    def _tail(self, gofunc: int | None, findfunctab: int | None) -> None:
        """functab_end, and the 1.26+ funcdata blob and findfunctab placement."""
        if self._walked is None:
            self.functab_end = self._functab_end()
        end = self.functab_end
        if not self.go126:
            return
        if findfunctab is not None and self.address is not None:
            ff = findfunctab - self.address
        else:
            first = self.entries[0] if self.entries else self.text_start
            ff = self.size - findfunctab_size(self.end_pc - first)
        if not end <= ff <= self.size:
            raise self._err(f"findfunctab at 0x{ff:x} is outside 0x{end:x}..0x{self.size:x}", ff, "findfunctab")
        self.findfunctab = ff
        if gofunc is not None and self.address is not None:
            gf = gofunc - self.address
        else:
            gf = -(-end // self.ptrsize) * self.ptrsize
        if not end <= gf <= ff:
            raise self._err(f"go:func.* at 0x{gf:x} is outside 0x{end:x}..0x{ff:x}", gf, "funcdata")
        self.gofunc = gf

    def _record_size(self, i: int, r: int) -> int:
        d, fx = self.data, self._fixed
        npcdata = self._npcdata(r)
        nfuncdata = d[r + fx - 1]
        if self.version in ("1.18", "1.20"):
            size = fx + 4 * npcdata + 4 * nfuncdata
        else:
            size = fx + 4 * npcdata
            if nfuncdata:
                size = -(-size // self.ptrsize) * self.ptrsize + self.ptrsize * nfuncdata
        if npcdata > pclnwalk.MAX_NPCDATA or r + size > len(d):
            raise self._err(f"function {i}: _func record ({npcdata} pcdata, {nfuncdata} funcdata) runs past the table",
                            r, "_func")
        return size

    def _npcdata(self, r: int) -> int:
        off = {"1.2": self.ptrsize + 24, "1.16": self.ptrsize + 24, "1.18": 28, "1.20": 28}[self.version]
        return struct.unpack_from(self._e + "I", self.data, r + off)[0]

    # ------------------------------------------------------------------ functions
    def name_at(self, nameoff: int) -> str:
        """The NUL-terminated name at ``nameoff`` (from funcnametab; table start for 1.2).

        Raises:
            FormatError: the offset is outside funcnametab or the name is unterminated.
        """
        base = self.funcnametab if self.version != "1.2" else 0
        limit = self.cutab if self.version != "1.2" else self.size
        o = base + nameoff
        if not base <= o < limit:
            raise self._err(f"name offset 0x{nameoff:x} is outside funcnametab", o, "funcnametab")
        z = self._blob.find(b"\0", o, limit)
        if z < 0:
            raise self._err("function name is not NUL-terminated", o, "funcnametab")
        return self._blob[o:z].decode("utf-8", "replace")

    def cstring(self, off: int, limit: int | None = None) -> str | None:
        """The NUL-terminated string at table offset ``off`` (read in 256-byte steps, up to
        ``limit`` or the table end), or None when it is empty or unterminated."""
        end = self.size if limit is None else limit
        d, pos = self.data, off
        while pos < end:
            chunk = bytes(d[pos:min(pos + 256, end)])
            z = chunk.find(b"\0")
            if z >= 0:
                return bytes(d[off:pos + z]).decode("utf-8", "replace") if pos + z > off else None
            pos += len(chunk)
        return None

    @cached_property
    def _blob(self) -> bytes:
        return bytes(self.data)

    @cached_property
    def funcs(self) -> list[Func]:
        """All functions in address order.

        Raises:
            FormatError: a ``_func`` record whose entry disagrees with the functab, or a
                name, pc table or funcdata reference outside its sub-table.
        """
        w = self._walked
        if w is None or w.status != pclnwalk.OK:
            return self._funcs_py()
        self.names()
        return [self.func(i) for i in range(self.nfunc)]

    def func(self, i: int) -> Func:
        """Function ``i`` in table order (built from the walk's columns; 1.2: ``funcs[i]``).

        Raises:
            FormatError: as :attr:`funcs`.
        """
        w = self._walked
        if w is None or w.status != pclnwalk.OK:
            return self.funcs[i]
        N, d, e, fx = pclnwalk.NCOL, self.data, self._e, self._fixed
        c = w.cols[i * N:(i + 1) * N]
        if self._names is not None:
            name = self._names[i]
        else:
            o = self.funcnametab + c[pclnwalk.NAMEOFF]
            name = bytes(d[o:o + c[pclnwalk.NAMELEN]]).decode("utf-8", "replace")
        r, npc, nfd = c[pclnwalk.RECORD], c[pclnwalk.NPCDATA], c[pclnwalk.NFUNCDATA]
        pcd = struct.unpack_from(f"{e}{npc}I", d, r + fx) if npc else ()
        fdt = self._funcdata(r, npc, nfd) if nfd else ()
        return Func(i, name, c[pclnwalk.ENTRY], c[pclnwalk.END], c[pclnwalk.NAMEOFF], r,
                    c[pclnwalk.RECSIZE], c[pclnwalk.PCSP], c[pclnwalk.PCFILE], c[pclnwalk.PCLN], pcd, fdt,
                    c[pclnwalk.CU], c[pclnwalk.FUNCID])

    def _funcdata(self, r: int, npcdata: int, nfd: int) -> tuple[int | None, ...]:
        """The ``nfd`` funcdata references of the record at ``r`` (None for none)."""
        d, e, fx = self.data, self._e, self._fixed
        if self.version in ("1.18", "1.20"):
            fd = struct.unpack_from(f"{e}{nfd}I", d, r + fx + 4 * npcdata)
            return tuple(None if x == 0xFFFFFFFF else x for x in fd)
        at = -(-(r + fx + 4 * npcdata) // self.ptrsize) * self.ptrsize
        fd = struct.unpack_from(f"{e}{nfd}{'I' if self.ptrsize == 4 else 'Q'}", d, at)
        return tuple(x or None for x in fd)

    def names(self) -> list[str]:
        """The function names in table order (from the one-pass walk, 1.16+).

        Raises:
            FormatError: as :attr:`funcs`.
        """
        w = self._walked
        if w is None or w.status != pclnwalk.OK:
            return [f.name for f in self.funcs]
        if self._names is None:
            cols, N = w.cols, pclnwalk.NCOL
            blob = bytes(self.data[self.funcnametab:self.cutab])
            cache: dict[int, str] = {}
            out = []
            for o, n in zip(cols[pclnwalk.NAMEOFF::N], cols[pclnwalk.NAMELEN::N]):
                s = cache.get(o)
                if s is None:
                    s = cache[o] = blob[o:o + n].decode("utf-8", "replace")
                out.append(s)
            self._names = out
        return self._names

    _names: list[str] | None = None

    def columns(self):
        """The walk's per-function columns (:mod:`formats.go.pclnwalk`: ``array('Q')``,
        :data:`~formats.go.pclnwalk.NCOL` per function), or None for a 1.2 table.

        Raises:
            FormatError: as :attr:`funcs`.
        """
        if self._walked is None:
            return None
        if self._walked.status != pclnwalk.OK:
            self._funcs_py()
            raise self._err(f"function {self._walked.bad}: malformed record", self.functab, "_func")
        return self._walked.cols

    def charges(self) -> dict[str, int]:
        """Charge each function its own bytes (the ``own`` column of :meth:`columns`)
        and return the bytes charged per part (``funcnametab``, ``pctab``, ``functab``,
        ``_func``, ``funcdata``); 1.16+ only.

        Raises:
            FormatError: a malformed record, or the last pc table runs past pctab.
        """
        if self._charged is None:
            cols = self.columns()
            fd = None
            if self.go126 and self.gofunc is not None and self.findfunctab > self.gofunc:
                fd = self.findfunctab - self.gofunc
            status, parts = pclnwalk.charge(self.data, self._job(fd), cols)
            if status != pclnwalk.OK:
                raise self._err("a pc-value table runs past the end of pctab", self.pctab, "pctab")
            self._charged = dict(zip(pclnwalk.PARTS, parts))
        return self._charged

    _charged: dict[str, int] | None = None

    def _funcs_py(self) -> list[Func]:
        out = []
        d, e, v = self.data, self._e, self.version
        n, fx = self.nfunc, self._fixed
        new = v in ("1.18", "1.20")
        names: dict[int, str] = {}
        blob = self._blob
        nbase = self.funcnametab if v != "1.2" else 0
        nlimit = self.cutab if v != "1.2" else self.size
        pclimit = self.functab if v != "1.2" else self.size
        pcbase = self.pctab if v != "1.2" else 0
        ends = self.entries[1:] + [self.end_pc]
        if new:
            head = struct.Struct(e + "IiiIIIIII")
        else:
            head = struct.Struct(e + ("I" if self.ptrsize == 4 else "Q") + "iiiIIII" + ("I" if v == "1.16" else ""))
        for i in range(n):
            r = self.records[i]
            f = head.unpack_from(d, r)
            if new:
                entry = self.text_start + f[0]
                nameoff, pcsp, pcfile, pcln, npcdata, cu = f[1], f[4], f[5], f[6], f[7], f[8]
            else:
                entry = f[0]
                nameoff, pcsp, pcfile, pcln, npcdata = f[1], f[4], f[5], f[6], f[7]
                cu = f[8] if v == "1.16" else 0
            if entry != self.entries[i]:
                raise self._err(f"function {i}: _func entry 0x{entry:x} disagrees with functab 0x{self.entries[i]:x}", r, "_func")
            name = names.get(nameoff)
            if name is None:
                o = nbase + nameoff
                z = blob.find(b"\0", o, nlimit) if nbase <= o < nlimit else -1
                if z < 0:
                    raise self._err(f"function {i}: name offset 0x{nameoff:x} is outside funcnametab", r + (4 if new else self.ptrsize), "funcnametab")
                name = names[nameoff] = blob[o:z].decode("utf-8", "replace")
            func_id = d[r + fx - 4]
            nfd = d[r + fx - 1]
            pcd = struct.unpack_from(f"{e}{npcdata}I", d, r + fx) if npcdata else ()
            for t in (pcsp, pcfile, pcln, *pcd):
                if t and not pcbase + t < pclimit:
                    raise self._err(f"function {i} ({name}): pc table offset 0x{t:x} is outside pctab", r, "pctab")
            if nfd:
                fdt = self._funcdata(r, npcdata, nfd)
                size = self._record_size(i, r)
            else:
                fdt = ()
                size = fx + 4 * npcdata
            out.append(Func(i, name, entry, ends[i], nameoff, r, size, pcsp, pcfile, pcln, pcd, fdt, cu, func_id))
        return out

    # ------------------------------------------------------------------ extents
    def extents(self) -> list[Extent]:
        """The sub-tables in table order; their sizes sum exactly to the table size.

        1.16+: ``header``, ``funcnametab``, ``cutab``, ``filetab``, ``pctab``,
        ``functab`` (the pc->func index, (2*nfunc+1) words), ``_func`` (records with
        their pcdata/funcdata words and alignment), then for 1.26+ ``padding``,
        ``funcdata`` (``go:func.*``) and ``findfunctab``; any remainder is ``padding``.
        1.2: ``header``, ``functab``, ``filetab_offset``, then ``funcs`` (the
        interleaved records, names, pc tables and file table). A sub-table runs to the
        start of the next, so it holds the zero bytes the linker aligned the next one
        with (before Go 1.26 on amd64, up to 31 bytes after funcnametab, cutab, filetab
        and pctab; the moduledata slice lengths exclude them).
        """
        idx = (2 * self.nfunc + 1) * self._idx_width
        if self.version == "1.2":
            parts = [("header", 0, self.header_size), ("functab", self.functab, idx),
                     ("filetab_offset", self.functab + idx, 4)]
            start = self.functab + idx + 4
            parts.append(("funcs", start, self.size - start))
        else:
            parts = [("header", 0, self.header_size),
                     ("funcnametab", self.funcnametab, self.cutab - self.funcnametab),
                     ("cutab", self.cutab, self.filetab - self.cutab),
                     ("filetab", self.filetab, self.pctab - self.filetab),
                     ("pctab", self.pctab, self.functab - self.pctab),
                     ("functab", self.functab, idx),
                     ("_func", self.functab + idx, self.functab_end - self.functab - idx)]
            pos = self.functab_end
            if self.go126 and self.gofunc is not None:
                parts += [("padding", pos, self.gofunc - pos),
                          ("funcdata", self.gofunc, self.findfunctab - self.gofunc),
                          ("findfunctab", self.findfunctab, self.size - self.findfunctab)]
            else:
                parts.append(("padding", pos, self.size - pos))
            if self.funcnametab != self.header_size:
                parts.insert(1, ("padding", self.header_size, self.funcnametab - self.header_size))
        out = [Extent(*p) for p in parts if p[2]]
        pos = 0
        for x in out:
            if x.offset != pos or x.size < 0:
                raise self._err(f"sub-table {x.name} at 0x{x.offset:x} does not follow the previous one (0x{pos:x})", x.offset, x.name)
            pos = x.end
        if pos != self.size:
            raise self._err(f"sub-tables end at 0x{pos:x}, table is 0x{self.size:x} bytes", pos, "pclntab")
        return out

    def table_ranges(self, offsets, limit: int) -> dict[int, int]:
        """Lengths of the objects starting at the sorted unique ``offsets`` (table
        offsets) that tile a sub-table ending at ``limit``: each runs to the next start.

        The linker lays deduplicated pc tables and funcdata objects out back to back,
        so consecutive starts give exact lengths without decoding the tables.
        """
        starts = sorted(set(offsets))
        return {a: b - a for a, b in zip(starts, starts[1:] + [limit])}

    def pctab_lengths(self) -> dict[int, int]:
        """Unique pc-value table offset (into pctab) -> length in bytes, for 1.16+.

        The last table is decoded to find its end (the rest is alignment padding).

        Raises:
            FormatError: a table runs past the end of pctab.
        """
        refs = set()
        for f in self.funcs:
            refs.update((f.pcsp, f.pcfile, f.pcln, *f.pcdata))
        refs.discard(0)
        if not refs:
            return {}
        size = self.functab - self.pctab
        lens = self.table_ranges(refs, size)
        last = max(refs)
        lens[last] = pcvalue_table_len(self.data, self.pctab + last, self.quantum, self.functab)
        return lens


def find_magic(data, little_endian: bool, ptrsize: int) -> list[int]:
    """Offsets in ``data`` (4-aligned) that look like a pcHeader: a known magic in the given
    byte order, zero bytes 4-5, a valid quantum and ``ptrsize``. Candidates only; validate
    them against moduledata (:mod:`formats.go.moduledata`)."""
    blob = bytes(data)
    out = []
    for magic in (MAGIC_120, MAGIC_118, MAGIC_116, MAGIC_12):
        needle = struct.pack("<I" if little_endian else ">I", magic) + b"\0\0"
        pos = blob.find(needle)
        while pos >= 0:
            if pos % 4 == 0 and pos + 8 <= len(blob) and blob[pos + 6] in (1, 2, 4) and blob[pos + 7] == ptrsize:
                out.append(pos)
            pos = blob.find(needle, pos + 1)
    return sorted(out)


def pc_value(tab: PcLnTab, table: int, entry: int, pc: int) -> int | None:
    """The value of the pc-value table at ``table`` (an offset into pctab; from the table
    start for 1.2) for ``pc`` in the function starting at ``entry`` (runtime
    ``pcvalue``: the value starts at -1, each step adds a zig-zag delta and advances the
    pc by ``delta * quantum``). None when ``table`` is 0 or ``pc`` is past the table.

    Raises:
        FormatError: the table runs past the end of pctab (of the table, for 1.2), or a
            varint is longer than 5 bytes.
    """
    if not table or pc < entry:
        return None
    new = tab.version != "1.2"
    pos = (tab.pctab if new else 0) + table
    end = tab.functab if new else tab.size
    data = tab.data
    val, cur = -1, entry
    while True:
        uv, pos = uvarint(data, pos, end, max_len=MAX_LEN_32, field="pctab")
        if uv == 0 and cur != entry:
            return None
        val += -((uv >> 1) + 1) if uv & 1 else uv >> 1
        step, pos = uvarint(data, pos, end, max_len=MAX_LEN_32, field="pctab")
        cur += step * tab.quantum
        if pc < cur:
            return val


def _file_name(tab: PcLnTab, f: Func, fileno: int | None) -> str | None:
    """Path of file number ``fileno`` of ``f`` (1.2: the global file table, where 0 is
    none; 1.16+: through the function's cutab slice), or None."""
    if fileno is None or fileno < 0:
        return None
    e = tab._e
    try:
        if tab.version == "1.2":
            if fileno == 0:
                return None
            ftoff = struct.unpack_from(e + "I", tab.data, tab.functab + (2 * tab.nfunc + 1) * tab.ptrsize)[0]
            off = struct.unpack_from(e + "I", tab.data, ftoff + 4 * fileno)[0]
        else:
            at = tab.cutab + 4 * (f.cu + fileno)
            if not tab.cutab <= at < tab.filetab:
                return None
            rel = struct.unpack_from(e + "I", tab.data, at)[0]
            if rel == 0xFFFFFFFF:
                return None
            off = tab.filetab + rel
    except struct.error:
        return None
    return tab.cstring(off)


def first_file(tab: PcLnTab, f: Func) -> str | None:
    """Source path of the first pc of ``f`` (first value of its pcfile table, through
    cutab/filetab; ``runtime.funcfile``), or None when absent or out of range."""
    try:
        return _file_name(tab, f, pc_value(tab, f.pcfile, f.entry, f.entry))
    except FormatError:
        return None


def file_line(tab: PcLnTab, f: Func, pc: int) -> tuple[str | None, int | None]:
    """Source file and line of ``pc`` inside ``f`` (runtime ``funcline``): the pcfile and
    pcln tables at ``pc``; either is None when the function has no such table.

    Raises:
        FormatError: a pc table runs past the end of the pclntab.
    """
    return _file_name(tab, f, pc_value(tab, f.pcfile, f.entry, pc)), pc_value(tab, f.pcln, f.entry, pc)
