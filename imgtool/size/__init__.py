"""Size analysis of Go ELF files: every byte labelled, totals that reconcile.

Library entry points (the CLI ``imgtool size`` is a thin shell over
:func:`imgtool.size.report.size_report` and :func:`imgtool.size.report.why_report`):

* :func:`analyze_file` ``(path) -> (ElfFile, SizeReport)``;
* :func:`document` ``(report) -> dict``: the versioned ``imgtool-size/1`` JSON document;
* :func:`load_base` ``(path) -> dict``: a diff base, from an ELF or a saved JSON document
  (:func:`parse_base` of its bytes).

Modules, each importing only those before it: :mod:`.packages` (name and module rules),
:mod:`.stripped` (a stripped ELF's data from the runtime's tables and code references),
:mod:`.engine` (attribution), :mod:`.views` (tables, JSON, diff), :mod:`.regions`
(memory-region usage and checks), :mod:`.budget` (limits), :mod:`.render` (text/CSV),
:mod:`.html` (the treemap page), :mod:`.why` (``imgtool size why ELF PKG``: a shortest
chain of direct calls to a package), :mod:`.report` (the pipeline: analysis, regions,
budget, diff, rendering).
"""

from __future__ import annotations

import json
import os

from imgtool.size.engine import SizeReport, analyze
from imgtool.size.views import SCHEMA, to_json

__all__ = ["SCHEMA", "SizeReport", "analyze", "analyze_file", "document", "load_base", "parse_base"]


def analyze_file(path: str | os.PathLike[str]):
    """Read, parse and analyse the ELF at ``path``.

    Raises:
        InputError: the file cannot be read. FormatError: not a valid ELF.
    """
    from imgtool.elfinput import load_elf

    elf = load_elf(path)
    return elf, analyze(elf)


def document(report: SizeReport, regions: dict | None = None) -> dict:
    """The ``imgtool-size/1`` document of ``report`` (JSON-able, sizes in bytes); with
    ``regions`` (:func:`imgtool.size.regions.region_usage`) it has a ``regions`` key."""
    return to_json(report, regions)


def load_base(path: str | os.PathLike[str]) -> dict:
    """A diff base: an ``imgtool-size/1`` JSON file, or an ELF analysed now.

    Raises:
        InputError: unreadable file, JSON of another schema or shape.
        FormatError: neither JSON nor a valid ELF.
    """
    from imgtool.output import read_input

    return parse_base(read_input(path), str(path))


def parse_base(data: bytes, source: str) -> dict:
    """:func:`load_base` of the bytes ``data`` of the file ``source``.

    Raises:
        InputError: JSON of another schema, or of the wrong shape (names the JSON path,
            :func:`imgtool.size.views.check_document`).
        FormatError: neither JSON nor a valid ELF.
    """
    from imgtool.errors import InputError
    from imgtool.size.views import check_document

    if data[:1] in (b"{", b" ", b"\n"):
        try:
            doc = json.loads(data)
        except (ValueError, RecursionError) as exc:
            raise InputError(f"{source}: not valid JSON ({exc})") from None
        if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
            raise InputError(f"{source}: JSON schema is {doc.get('schema') if isinstance(doc, dict) else None!r}, "
                             f"expected {SCHEMA!r} (written by 'imgtool size --format json')")
        try:
            check_document(doc)
        except InputError as exc:
            raise InputError(f"{source}: {exc}") from None
        return doc
    from formats.elf import ElfFile

    return to_json(analyze(ElfFile.parse(data, source=source)))
