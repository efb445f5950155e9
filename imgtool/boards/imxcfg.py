"""The DCD (``imximage.cfg``) of an i.MX board profile, and where it comes from.

The DCDs are TamaGo's own ``imximage.cfg`` files. :func:`resolve_dcd_cfg` takes a
board's from the ``github.com/usbarmory/tamago`` module in the Go module cache
(:mod:`imgtool.gomodcache`) at the version the ELF was built with, and falls back to the
copy bundled with the profiles (``imgtool/boards/*.cfg``, ``LICENSE.tamago``). The
board fields used are ``tamago_cfg`` (the path inside the module) and ``dcd_cfg`` (the
bundled file); see :mod:`imgtool.boards`.

Public API::

    resolve_dcd_cfg(board, tamago_version=None, *, gomodcache_dir=None) -> ResolvedCfg
    tamago_version(build_info) -> str | None
    boards_for_image(dcd, payload_address) -> list[Board]    (an .imx's board, from its DCD)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources

from imgtool.boards import Board
from imgtool.errors import InputError
from imgtool.gomodcache import module_file, module_version

TAMAGO_MODULE = "github.com/usbarmory/tamago"
#: the tamago release the bundled cfgs were copied from
BUNDLED_TAMAGO_VERSION = "v1.26.0"


@dataclass(frozen=True)
class ResolvedCfg:
    """The imximage.cfg text for a board and where it came from.

    ``origin`` is ``"module"`` (the tamago module in the Go module cache) or
    ``"bundled"``; ``path`` the file read (a real path for ``module``, the package
    resource name for ``bundled``); ``version`` the tamago version.
    """

    text: str
    origin: str
    path: str
    version: str | None

    def describe(self) -> str:
        """One line for the user, e.g. ``DCD from tamago v1.26.0 in the Go module cache (...)``."""
        if self.origin == "module":
            return f"DCD from {TAMAGO_MODULE} {self.version} in the Go module cache ({self.path})"
        return f"DCD from the bundled copy of {TAMAGO_MODULE} {self.version} ({self.path})"


def resolve_dcd_cfg(
    board: Board, tamago_version: str | None = None, *, gomodcache_dir: str | os.PathLike | None = None
) -> ResolvedCfg:
    """The board's imximage.cfg: from ``github.com/usbarmory/tamago@tamago_version`` in
    the Go module cache when that version is there, else the bundled copy.

    Args:
        board: an i.MX board profile (fields ``dcd_cfg``, ``tamago_cfg``).
        tamago_version: the tamago module version the ELF was built with (its build
            information, see :func:`tamago_version`), or None to use the bundled copy.
        gomodcache_dir: the module cache to look in (default:
            :func:`imgtool.gomodcache.gomodcache`).
    """
    if tamago_version and board.tamago_cfg:
        path = module_file(TAMAGO_MODULE, tamago_version, board.tamago_cfg, gomodcache_dir)
        if path is not None:
            from imgtool.output import read_input

            raw = read_input(path)
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InputError(f"{path}: byte 0x{exc.start:x} is not UTF-8 (an imximage.cfg is text)") from None
            return ResolvedCfg(text, "module", str(path), tamago_version)
    res = resources.files("imgtool.boards") / board.dcd_cfg
    return ResolvedCfg(res.read_text(encoding="utf-8"), "bundled", f"imgtool/boards/{board.dcd_cfg}",
                       BUNDLED_TAMAGO_VERSION)


def tamago_version(build_info) -> str | None:
    """The version of ``github.com/usbarmory/tamago`` in Go build information
    (``formats.go.buildinfo.BuildInfo``: its ``deps``, following a ``replace`` that names
    a version), or None when the ELF does not use the module (or replaces it by a
    directory)."""
    return module_version(build_info, TAMAGO_MODULE)


def boards_for_image(dcd, payload_address: int) -> list[Board]:
    """The i.MX boards an ``.imx`` was built for: those whose bundled DCD is ``dcd`` (a
    :class:`formats.imx.dcd.Dcd`, compared command by command) and whose ``text_start``
    is ``payload_address`` (where the payload loads). Base boards come before their
    variants (``variant_of``), then by name; ``[]`` when none matches (a custom DCD).
    """
    from formats.imx.cfg import parse_cfg
    from imgtool.boards import list_boards

    out = []
    for board in list_boards():
        if board.family != "imx" or board.text_start != payload_address:
            continue
        resolved = resolve_dcd_cfg(board)
        if parse_cfg(resolved.text, resolved.path).dcd == dcd:
            out.append(board)
    return sorted(out, key=lambda b: (b.variant_of is not None, b.name))
