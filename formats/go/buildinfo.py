"""Go build information from the ``.go.buildinfo`` section: what ``go version -m`` prints;
and the Go build ID note: what ``go tool buildid`` prints.

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

The build ID is the descriptor of the ELF note with owner ``Go`` and type 4
(``cmd/link`` ``ELF_NOTE_GOBUILDID_TAG``; the go command's ``actionID/contentID``).
Both read the executable through :class:`formats.go.reader.BinaryReader`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

from formats.elfstructs import elf_structs
from formats.errors import FormatError
from formats.go.varint import uvarint

if TYPE_CHECKING:  # pragma: no cover
    from struct import Struct

    from formats.go.reader import BinaryReader

BUILDINFO_MAGIC = b"\xff Go buildinf:"
_FLAG_ENDIAN_BIG = 0x1
_FLAG_VERSION_INLINE = 0x2
#: Go build ID note type (cmd/link: ``ELF_NOTE_GOBUILDID_TAG``), owner "Go"
NOTE_GO_BUILDID = 4


class Module(NamedTuple):
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
    order; ``settings`` the ``build`` key/value lines (``GOARCH``, ``-ldflags``, ...);
    ``found`` where the blob was: ``".go.buildinfo"``, or (found by its magic in the
    loaded image, as embeddedgo's noos ELFs have no such section) ``"by magic in
    SECTION+0xOFF (0xADDR); no .go.buildinfo section"``.
    """

    go_version: str
    path: str = ""
    main: Module | None = None
    deps: list[Module] = field(default_factory=list)
    settings: dict[str, str] = field(default_factory=dict)
    found: str = ".go.buildinfo"

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
                "deps": [mod(d) for d in self.deps], "settings": dict(self.settings), "found": self.found}


def parse_buildinfo(reader: BinaryReader) -> BuildInfo | None:
    """Read the build information of ``reader``: from the ``.go.buildinfo`` section, else
    from the first 16-byte aligned ``"\\xff Go buildinf:"`` magic in a loaded section (an
    embeddedgo ``noos`` ELF keeps the blob in its data without a section of its own; Go's
    ``debug/buildinfo`` and ``go version`` do not look there); ``None`` when neither exists.

    Raises:
        FormatError: the section is present but its magic, pointer size or strings are
            malformed (offset relative to the file; the error names ``reader.source``).
    """
    try:
        return _parse(reader)
    except FormatError as exc:
        raise exc.with_source(reader.source) if reader.source else exc


def _parse(reader: BinaryReader) -> BuildInfo | None:
    sec = reader.section(".go.buildinfo")
    found = ".go.buildinfo"
    if sec is None or sec.is_nobits:
        hit = find_by_magic(reader)
        if hit is None:
            return None
        sec, pos = hit
        data = bytes(reader.section_data(sec))[pos:]
        base = sec.offset + pos
        found = f"by magic in {sec.name}+0x{pos:x} (0x{sec.addr + pos:x}); no .go.buildinfo section"
    else:
        data = bytes(reader.section_data(sec))
        base = sec.offset
    info = _parse_blob(reader, data, base)
    info.found = found
    return info


def find_by_magic(reader: BinaryReader):
    """``(section, offset)`` of the first 16-byte aligned build-info magic in a loaded
    section with contents (the linker aligns ``go:buildinfo`` to 16), or None."""
    for sec in reader.sections:
        if not sec.is_alloc or sec.is_nobits or not sec.size or sec.is_executable:
            continue
        data = bytes(reader.section_data(sec))
        pos = data.find(BUILDINFO_MAGIC)
        while pos >= 0:
            if (sec.addr + pos) % 16 == 0 and len(data) - pos >= 32:
                return sec, pos
            pos = data.find(BUILDINFO_MAGIC, pos + 1)
    return None


def _parse_blob(reader: BinaryReader, data: bytes, base: int) -> BuildInfo:
    if len(data) < 32 or not data.startswith(BUILDINFO_MAGIC):
        raise FormatError("bad magic (expected \"\\xff Go buildinf:\")", offset=base, field=".go.buildinfo")
    ptrsize, flags = data[14], data[15]
    if flags & _FLAG_VERSION_INLINE:
        n, pos = uvarint(data, 32, field=".go.buildinfo", base=base)
        if pos + n > len(data):
            raise FormatError("version string runs past the section", offset=base + 32, field=".go.buildinfo")
        version = data[pos:pos + n].decode("utf-8", "replace")
        pos += n
        n, pos2 = uvarint(data, pos, field=".go.buildinfo", base=base)
        if pos2 + n > len(data):
            raise FormatError("module-info string runs past the section", offset=base + pos, field=".go.buildinfo")
        modinfo = data[pos2:pos2 + n]
    else:
        if ptrsize not in (4, 8):
            raise FormatError(f"pointer size {ptrsize}, expected 4 or 8", offset=base + 14, field=".go.buildinfo")
        # pointer-sized words, big-endian when flags bit 0 says so (else the file's order)
        word = elf_structs(8 * ptrsize, not (flags & _FLAG_ENDIAN_BIG or not reader.little_endian)).word
        (vptr,), (mptr,) = word.unpack_from(data, 16), word.unpack_from(data, 16 + ptrsize)
        version = _read_go_string(reader, vptr, word).decode("utf-8", "replace")
        modinfo = _read_go_string(reader, mptr, word)
    return _parse_modinfo(version, modinfo)


def _read_go_string(reader: BinaryReader, addr: int, word: Struct) -> bytes:
    """Read a Go string header (data pointer, length: two words) at ``addr``, then its bytes."""
    head = reader.read(addr, 2 * word.size)
    (ptr,), (n,) = word.unpack_from(head, 0), word.unpack_from(head, word.size)
    if n > 1 << 24:
        raise FormatError(f"string length {n} at 0x{addr:x} is implausible", field=".go.buildinfo")
    return reader.read(ptr, n) if n else b""


def build_id(reader: BinaryReader) -> str | None:
    """The Go build ID (``go tool buildid``) from the ``Go`` note, or None."""
    for n in reader.notes:
        if n.name == "Go" and n.type == NOTE_GO_BUILDID:
            return n.desc.decode("utf-8", "replace")
    return None


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
