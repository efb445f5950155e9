"""The ``imgtool hab`` pipelines: a development HAB PKI written to a folder, SRK tables
and their fuse values, and HAB event logs decoded.

Nothing here burns fuses or talks to a device: :func:`fuse_text` gives the commands a
person would run. Key generation and SRK tables are :mod:`signing.pki` and
:mod:`signing.hab_srk`; this module reads and writes the files around them.

Public API::

    keygen(folder, *, key_type, srks, layout, password, days) -> list[Path]
    srk_table(certificates) -> formats.imx.srk.SrkTable      ``%FILE``: hash-only entry
    fuse_text(digest) -> str                                  fuse words, U-Boot commands
    read_event_log(path) -> dict                              HabEventLog.describe()
    events_text(info) -> str
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from imgtool.errors import InputError

_MARKERS = ("SRK_1_key.pem", "SRK_1_crt.pem", "CSF_1_key.pem", "crts", "keys")
"""Files and folders whose presence means a folder holds keys already."""


def _refuse_existing(path: Path) -> None:
    raise InputError(f"{path}: exists; keys are never overwritten, choose an empty folder")


def keygen(
    folder: str | os.PathLike[str],
    *,
    key_type: str = "rsa2048",
    srks: int = 4,
    layout: str = "habtool",
    password: bytes | None = None,
    days: int = 3650,
) -> list[Path]:
    """Generate a development HAB PKI (:func:`signing.pki.generate_pki`) into ``folder``;
    return the paths written. Private keys and ``key_pass.txt`` are written with mode
    0600, certificates and tables 0644.

    ``folder`` is created when missing, as any output file is, but the folder it goes in
    must exist (as for every output: a mistyped path is an error, not a new tree). The
    files are written all or nothing (:func:`imgtool.output.write_all_atomic`); the
    folders created for them are removed again when writing fails.

    Raises:
        InputError: the folder holds keys already (nothing is ever overwritten), is a
            file, its parent folder does not exist, or it cannot be created or written.
        SigningError: bad key type, SRK count (``field="srks"``) or layout.
    """
    from imgtool.output import write_all_atomic
    from signing.pki import generate_pki

    root = Path(folder)
    if root.exists() and not root.is_dir():
        raise InputError(f"{root}: is not a folder; give a folder to create the keys in")
    parent = root.parent if str(root.parent) else Path(".")
    if not root.exists() and not parent.is_dir():
        raise InputError(f"{root}: cannot create the key folder: folder {parent} does not exist")
    for marker in _MARKERS:
        if (root / marker).exists():
            _refuse_existing(root / marker)
    files = generate_pki(key_type=key_type, srks=srks, layout=layout, password=password, days=days)
    for rel in files:
        if (root / rel).exists():
            _refuse_existing(root / rel)
    created: list[Path] = []
    try:
        for folder_path in [root] + sorted({root / Path(r).parent for r in files} - {root}):
            if not folder_path.is_dir():
                try:
                    folder_path.mkdir()
                except OSError as exc:
                    raise InputError(f"{folder_path}: cannot create the folder ({exc.strerror})") from None
                created.append(folder_path)
        private = ("_key.pem", "_key.der", "key_pass.txt")
        write_all_atomic([(root / rel, data, 0o600 if rel.endswith(private) else 0o644) for rel, data in files.items()])
    except BaseException:
        for folder_path in reversed(created):
            try:
                folder_path.rmdir()
            except OSError:
                pass
        raise
    return [root / rel for rel in files]


def srk_table(certificates: Sequence[str | os.PathLike[str]]):
    """The SRK table (:class:`formats.imx.srk.SrkTable`) of 1 to 4 certificate files, SRK 1
    first; a name starting with ``%`` is a hash-only entry (srktool's convention).

    Raises:
        SigningError: a missing or malformed certificate (names the file), 0 or more than
            4 certificates, CA and non-CA certificates mixed.
    """
    from signing.hab_srk import build_srk_table
    from signing.keys import load_certificate

    names = [str(c) for c in certificates]
    hashed = [i for i, n in enumerate(names) if n.startswith("%")]
    paths = [Path(n[1:]) if n.startswith("%") else Path(n) for n in names]
    return build_srk_table([load_certificate(p) for p in paths], [str(p) for p in paths], hash_only=hashed)


def fuse_text(digest: bytes) -> str:
    """The SRK hash, its eight fuse words (OCOTP bank 3, words 0-7, i.MX6/7) and the U-Boot
    commands that would burn them, as ``imgtool hab srk`` prints them."""
    from formats.imx.srk import fuse_words

    words = fuse_words(digest)
    lines = [f"SRK hash: {digest.hex()}", "SRK fuse words (OCOTP bank 3, words 0-7, i.MX6/7):"]
    lines += [f"  SRK_HASH[{i}] = 0x{w:08X}" for i, w in enumerate(words)]
    lines.append("U-Boot commands (irreversible; check them against 'imgtool imx verify --srk-hash' first):")
    lines += [f"  fuse prog 3 {i} 0x{w:08x}" for i, w in enumerate(words)]
    return "\n".join(lines) + "\n"


def read_event_log(path: str | os.PathLike[str]) -> dict:
    """Decode the HAB event log in the file at ``path`` (U-Boot ``hab_status`` or TamaGo
    text, or raw event bytes): :meth:`formats.imx.habevents.EventLog.describe`.

    Raises:
        InputError: unreadable file. FormatError: not an event log (names the file).
    """
    from formats.errors import FormatError
    from formats.imx.habevents import parse_event_log
    from imgtool.output import read_input

    try:
        return parse_event_log(read_input(path)).describe()
    except FormatError as exc:
        raise exc.with_source(str(path)) from None


def events_text(info: dict) -> str:
    """The text ``imgtool hab events`` prints for :func:`read_event_log`'s result."""
    out = []
    if info["config"] is not None:
        out.append(f"HAB configuration: {info['config']}, state: {info['state']}")
    if not info["events"]:
        out.append("no HAB events")
    for i, ev in enumerate(info["events"], 1):
        out.append(f"event {i}: {ev['status']}  {ev['reason']}  {ev['context']}  {ev['engine']}  (HAB {ev['version']})")
        if "assertion" in ev:
            a = ev["assertion"]
            out.append(f"  {a['type']}: 0x{a['address']:08x} + 0x{a['length']:x} is not authenticated "
                       f"(the signed blocks must cover it)")
        elif "command" in ev:
            out.append(f"  failing command: {ev['command']['command']} ({ev['data']})")
        elif ev["data"]:
            out.append(f"  data: {ev['data']}")
    return "\n".join(out) + "\n"
