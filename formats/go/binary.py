"""A Go executable as one object, and the check that its Go runtime sections are whole.

:func:`check_go_layout` is what a pipeline runs before it turns a Go ELF into a boot
image. :class:`GoElfFile` is an :class:`formats.elf.ElfFile` that also answers the Go
questions (build info, build ID, package paths, pclntab), for scripts and tests that want
one object; every answer comes from the functions of :mod:`formats.go`, which take any
:class:`formats.go.reader.BinaryReader` (a plain ``ElfFile`` is one).
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Iterator

from formats.elf import ElfFile
from formats.errors import FormatError
from formats.go.buildinfo import BuildInfo, build_id, parse_buildinfo

if TYPE_CHECKING:  # pragma: no cover
    from formats.go.moduledata import GoTables
    from formats.go.reader import BinaryReader


def check_go_layout(reader: BinaryReader) -> None:
    """Check the Go runtime sections a bootable image needs.

    Raises:
        FormatError: a Go 1.26+ executable without ``.go.module`` (it holds
            ``runtime.firstmoduledata``; an image without it does not start); a malformed
            ``.go.buildinfo``.
    """
    info = parse_buildinfo(reader)
    release = info.go_release if info else None
    if release and release >= (1, 26) and reader.section(".go.module") is None:
        raise FormatError(
            f"built with {info.go_version} but has no .go.module section (it holds runtime.firstmoduledata; "
            "was it removed by objcopy or strip?)", source=reader.source, field=".go.module")


class GoElfFile(ElfFile):
    """An ELF file read as a Go binary: the ELF model plus what the Go linker put in it.

    Build with :meth:`ElfFile.parse`. The Go views are computed on first use and cached.
    """

    @cached_property
    def build_info(self) -> BuildInfo | None:
        """Go build information from ``.go.buildinfo`` (``go version -m``), or ``None``.

        Raises:
            FormatError: the section exists but is malformed.
        """
        return parse_buildinfo(self)

    @property
    def go_build_id(self) -> str | None:
        """The Go build ID (``go tool buildid``) from the ``Go`` note, if present."""
        return build_id(self)

    def iter_package_paths(self) -> Iterator[str]:
        """Distinct Go package paths that define symbols (:func:`formats.go.symbols.package_paths`)."""
        from formats.go.symbols import package_paths

        return package_paths(self)

    @cached_property
    def go_tables(self) -> "GoTables":
        """The pclntab and moduledata (:func:`formats.go.moduledata.locate`).

        Raises:
            FormatError: no pclntab, or a malformed one.
        """
        from formats.go.moduledata import locate

        return locate(self)

    def check_go_layout(self) -> None:
        """:func:`check_go_layout` on this file."""
        check_go_layout(self)
