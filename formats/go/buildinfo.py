"""Go build information from the ``.go.buildinfo`` section: what ``go version -m`` prints.

Layout (Go ``debug/buildinfo``, ``cmd/link`` ``buildinfo``; stable since Go 1.13, inline
strings since Go 1.18):

====== ======= =====================================================================
offset size    field
====== ======= =====================================================================
0      14      magic ``"\\xff Go buildinf:"``
14     1       pointer size (4 or 8)
15     1       flags: bit 0 big-endian pointers, bit 1 strings inline (Go 1.18+)
16     16      Go 1.18+: padding; then at 32 two varint-length-prefixed strings
16     2*ptr   before Go 1.18: addresses of the version and module-info string headers
====== ======= =====================================================================

The module-info string is framed by 16-byte sentinels and holds tab-separated lines
(``path``, ``mod``, ``dep``, ``=>`` replacements, ``build`` settings), as
``runtime/debug.ParseBuildInfo`` reads them. Version strings of forked toolchains
(``go1.26.0`` from tamago-go, ``devel go1.27-abcdef ...``) are kept verbatim.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from formats.errors import FormatError

if TYPE_CHECKING:  # pragma: no cover
    from formats.elf import ElfFile

BUILDINFO_MAGIC = b"\xff Go buildinf:"
_FLAG_ENDIAN_BIG = 0x1
_FLAG_VERSION_INLINE = 0x2


@dataclass(frozen=True)
class Module:
    """One module line: ``path``, ``version`` (``(devel)`` for the main module built in
    place), ``sum`` (``h1:...`` or empty) and the replacement, if any."""

    path: str
    version: str
    sum: str = ""
    replace: "Module | None" = None


@dataclass
class BuildInfo:
    """The build information of one Go binary.

    ``go_version`` is verbatim (``go1.26.8``, ``devel go1.27-...``); ``path`` is the main
    package path; ``main`` the main module; ``deps`` the dependency modules in file
    order; ``settings`` the ``build`` key/value lines (``GOARCH``, ``-ldflags``, ...).
    """

    go_version: str
    path: str = ""
    main: Module | None = None
    deps: list[Module] = field(default_factory=list)
    settings: dict[str, str] = field(default_factory=dict)

    @property
    def go_release(self) -> tuple[int, int] | None:
        """(major, minor) of the Go release, e.g. (1, 26), or ``None`` if unrecognisable."""
        m = re.search(r"go(\d+)\.(\d+)", self.go_version)
        return (int(m.group(1)), int(m.group(2))) if m else None

    def to_dict(self) -> dict:
        """JSON-able form, with the same facts ``go version -m`` prints."""

        def mod(m: Module | None) -> dict | None:
            if m is None:
                return None
            d = {"path": m.path, "version": m.version, "sum": m.sum}
            if m.replace:
                d["replace"] = mod(m.replace)
            return d

        return {"go_version": self.go_version, "path": self.path, "main": mod(self.main),
                "deps": [mod(d) for d in self.deps], "settings": dict(self.settings)}


def _uvarint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise FormatError("truncated varint", offset=pos, field=".go.buildinfo")
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, pos
        shift += 7


def parse_buildinfo(elf: "ElfFile") -> BuildInfo | None:
    """Read the build information of ``elf``; ``None`` when there is no ``.go.buildinfo``.

    Raises:
        FormatError: the section is present but its magic, pointer size or strings are
            malformed (offset relative to the file).
    """
    sec = elf.section(".go.buildinfo")
    if sec is None or sec.is_nobits:
        return None
    data = bytes(elf.section_data(sec))
    base = sec.offset
    if len(data) < 32 or not data.startswith(BUILDINFO_MAGIC):
        raise FormatError("bad magic (expected \"\\xff Go buildinf:\")", offset=base, field=".go.buildinfo")
    ptrsize, flags = data[14], data[15]
    if flags & _FLAG_VERSION_INLINE:
        n, pos = _uvarint(data, 32)
        if pos + n > len(data):
            raise FormatError("version string runs past the section", offset=base + 32, field=".go.buildinfo")
        version = data[pos:pos + n].decode("utf-8", "replace")
        pos += n
        n, pos2 = _uvarint(data, pos)
        if pos2 + n > len(data):
            raise FormatError("module-info string runs past the section", offset=base + pos, field=".go.buildinfo")
        modinfo = data[pos2:pos2 + n]
    else:
        if ptrsize not in (4, 8):
            raise FormatError(f"pointer size {ptrsize}, expected 4 or 8", offset=base + 14, field=".go.buildinfo")
        e = ">" if flags & _FLAG_ENDIAN_BIG else ("<" if elf.little_endian else ">")
        p = "I" if ptrsize == 4 else "Q"
        vptr, mptr = struct.unpack_from(e + p + p, data, 16)
        version = _read_go_string(elf, vptr, ptrsize, e).decode("utf-8", "replace")
        modinfo = _read_go_string(elf, mptr, ptrsize, e)
    return _parse_modinfo(version, modinfo)


def _read_go_string(elf: "ElfFile", addr: int, ptrsize: int, e: str) -> bytes:
    """Read a Go string header (data pointer, length) at ``addr`` and then its bytes."""
    p = "I" if ptrsize == 4 else "Q"
    hdr = elf.read(addr, 2 * ptrsize)
    ptr, n = struct.unpack(e + p + p, hdr)
    if n > 1 << 24:
        raise FormatError(f"string length {n} at 0x{addr:x} is implausible", field=".go.buildinfo")
    return elf.read(ptr, n) if n else b""


def _parse_modinfo(version: str, raw: bytes) -> BuildInfo:
    # Module info is framed by two 16-byte sentinels (cmd/go modinfo.go).
    if len(raw) >= 33 and raw[-17:-16] == b"\n":
        raw = raw[16:-16]
    info = BuildInfo(go_version=version)
    last: Module | None = None
    for line in raw.decode("utf-8", "replace").splitlines():
        key, _, rest = line.partition("\t")
        cols = rest.split("\t")
        if key == "path":
            info.path = rest
        elif key in ("mod", "dep") and cols:
            m = Module(cols[0], cols[1] if len(cols) > 1 else "", cols[2] if len(cols) > 2 else "")
            if key == "mod":
                info.main = m
            else:
                info.deps.append(m)
            last = m
        elif key == "=>" and last is not None and cols:
            rep = Module(cols[0], cols[1] if len(cols) > 1 else "", cols[2] if len(cols) > 2 else "")
            new = Module(last.path, last.version, last.sum, rep)
            if info.main is last:
                info.main = new
            else:
                info.deps[-1] = new
            last = new
        elif key == "build":
            k, _, v = rest.partition("=")
            info.settings[k] = v
    return info
