"""Board profiles: what an i.MX boot image needs to know about a board, as data.

Each board is one TOML file in this package (``<name>.toml``): link address
(TEXT_START), RAM regions, the DCD (``imximage.cfg``) it boots with, the CSF
reservation, the default HAB engine, the IVT offset on the boot medium and the OCRAM
address serial-download loaders put the DCD at. The DCDs are TamaGo's own
``imximage.cfg`` files; :func:`resolve_dcd_cfg` takes them from the
``github.com/usbarmory/tamago`` module in the Go module cache at the version the ELF was
built with, and falls back to the copies bundled here (``LICENSE.tamago``).

Public API::

    list_boards() -> list[Board]
    get_board(name) -> Board                                   InputError if unknown
    detect_board(package_paths, text_start=None) -> Board|None InputError if ambiguous
    resolve_dcd_cfg(board, tamago_version=None, gomodcache=None) -> ResolvedCfg
    tamago_version(build_info) -> str|None
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Iterable

from formats.imx.image import SDP_DCD_ADDRESS
from imgtool.errors import InputError

TAMAGO_MODULE = "github.com/usbarmory/tamago"
#: the tamago release the bundled cfgs were copied from
BUNDLED_TAMAGO_VERSION = "v1.26.0"

#: HAB engine names -> engine tag (HABv4 API RM, "hab_engine")
HAB_ENGINES = {"ANY": 0x00, "SCC": 0x03, "RTIC": 0x05, "SAHARA": 0x06, "CSU": 0x0A, "SRTC": 0x0C,
               "DCP": 0x1B, "CAAM": 0x1D, "SNVS": 0x1E, "OCOTP": 0x21, "DTCP": 0x22, "HDCP": 0x24,
               "ROM": 0x36, "SW": 0xFF}


@dataclass(frozen=True)
class RamRegion:
    """A RAM region: ``start`` address and ``size`` in bytes."""

    name: str
    start: int
    size: int

    @property
    def end(self) -> int:
        """First address past the region."""
        return self.start + self.size

    def contains(self, start: int, length: int) -> bool:
        """True if ``[start, start + length)`` lies inside the region."""
        return self.start <= start and start + length <= self.end

    def to_dict(self) -> dict:
        return {"name": self.name, "start": self.start, "size": self.size}


@dataclass(frozen=True)
class Board:
    """One board profile (see the TOML files in this package).

    Attributes:
        name: the ``--board`` name.
        description: one line for ``imgtool boards``.
        soc: the SoC (``i.MX6ULL``, ``i.MX6UL``).
        packages: TamaGo board package paths whose presence in an ELF names this board.
        text_start: link address of ``.text`` (``-T``), where the payload loads.
        ram: RAM regions the image must fit in.
        dcd_cfg: file name of the bundled imximage.cfg.
        tamago_cfg: path of the same cfg inside the tamago module, or None.
        csf_size: bytes reserved for the CSF (cfg ``CSF``), for checks.
        hab_engine: default HAB engine name (``SW``, ``ANY``, ...); see ``hab_engine_note``.
        boot_offset: byte offset of the IVT on SD/eMMC (0x400).
        sdp_dcd_address: OCRAM address for the DCD in serial download (0x00910000).
        variant_of: the board this is a variant of (same packages); variants are never
            auto-detected when their base board also matches.
    """

    name: str
    description: str
    soc: str
    packages: tuple[str, ...]
    text_start: int
    ram: tuple[RamRegion, ...]
    dcd_cfg: str
    tamago_cfg: str | None
    csf_size: int
    hab_engine: str
    hab_engine_note: str = ""
    boot_offset: int = 0x400
    sdp_dcd_address: int = SDP_DCD_ADDRESS
    variant_of: str | None = None

    @property
    def hab_engine_tag(self) -> int:
        """The HAB engine tag of :attr:`hab_engine` (SW 0xFF, ANY 0x00, CAAM 0x1D, DCP 0x1B)."""
        return HAB_ENGINES[self.hab_engine]

    def ram_region_for(self, start: int, length: int) -> RamRegion | None:
        """The RAM region that holds ``[start, start + length)``, or None."""
        return next((r for r in self.ram if r.contains(start, length)), None)

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "description": self.description,
            "soc": self.soc,
            "packages": list(self.packages),
            "text_start": self.text_start,
            "ram": [r.to_dict() for r in self.ram],
            "dcd_cfg": self.dcd_cfg,
            "tamago_cfg": self.tamago_cfg,
            "csf_size": self.csf_size,
            "hab_engine": self.hab_engine,
            "hab_engine_note": self.hab_engine_note,
            "boot_offset": self.boot_offset,
            "sdp_dcd_address": self.sdp_dcd_address,
            "variant_of": self.variant_of,
        }


def _board_from_toml(name: str, data: dict) -> Board:
    try:
        board = Board(
            name=data["name"],
            description=data["description"],
            soc=data["soc"],
            packages=tuple(data["packages"]),
            text_start=int(data["text_start"]),
            ram=tuple(RamRegion(r["name"], int(r["start"]), int(r["size"])) for r in data["ram"]),
            dcd_cfg=data["dcd_cfg"],
            tamago_cfg=data.get("tamago_cfg"),
            csf_size=int(data["csf_size"]),
            hab_engine=data["hab_engine"],
            hab_engine_note=data.get("hab_engine_note", ""),
            boot_offset=int(data.get("boot_offset", 0x400)),
            sdp_dcd_address=int(data.get("sdp_dcd_address", SDP_DCD_ADDRESS)),
            variant_of=data.get("variant_of"),
        )
    except (KeyError, TypeError, ValueError) as exc:  # a broken bundled file is our bug
        raise RuntimeError(f"board file {name}: bad or missing field {exc}") from exc
    if board.name + ".toml" != name:
        raise RuntimeError(f"board file {name} names board {board.name!r}")
    if board.hab_engine not in HAB_ENGINES:
        raise RuntimeError(f"board file {name}: unknown HAB engine {board.hab_engine!r}")
    return board


@lru_cache(maxsize=1)
def _boards() -> dict[str, Board]:
    out = {}
    for entry in sorted(resources.files(__name__).iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".toml"):
            board = _board_from_toml(entry.name, tomllib.loads(entry.read_text(encoding="utf-8")))
            out[board.name] = board
    return dict(sorted(out.items()))


def list_boards() -> list[Board]:
    """All board profiles, sorted by name."""
    return list(_boards().values())


def get_board(name: str) -> Board:
    """The board called ``name``.

    Raises:
        InputError: no such board; the message lists the known ones.
    """
    try:
        return _boards()[name]
    except KeyError:
        raise InputError(f"unknown board {name!r} (expected one of: {', '.join(_boards())})") from None


def _matches(board: Board, package_paths: set[str]) -> bool:
    return any(p in package_paths or any(q.startswith(p + "/") for q in package_paths) for p in board.packages)


def detect_board(package_paths: Iterable[str], text_start: int | None = None) -> Board | None:
    """Name the board from the TamaGo board packages compiled into an ELF.

    Args:
        package_paths: Go package paths found in the ELF (symbols, build info).
        text_start: the ELF's ``.text`` address; when given, boards linked elsewhere
            are dropped (this tells the armory-boot layout from the plain Mk II).

    Returns:
        The board, or None when no board package is present.

    Raises:
        InputError: more than one board remains (e.g. two board packages are linked);
            the message lists the candidates and asks for ``--board``.
    """
    paths = set(package_paths)
    candidates = [b for b in list_boards() if _matches(b, paths)]
    if not candidates:
        return None
    if text_start is not None:
        at = [b for b in candidates if b.text_start == text_start]
        if at:  # none at this address: keep them all, the TEXT_START check will speak
            candidates = at
    names = {b.name for b in candidates}
    preferred = [b for b in candidates if b.variant_of not in names]
    if len(preferred) == 1:
        return preferred[0]
    pkgs = sorted({p for b in candidates for p in b.packages if p in paths or any(q.startswith(p + "/") for q in paths)})
    raise InputError(
        f"cannot tell the board: the ELF links {', '.join(pkgs)}; candidates: "
        f"{', '.join(sorted(names))} (pass --board)"
    )


# --- the DCD cfg: Go module cache or bundled copy -------------------------------------


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


def _escape_module_path(path: str) -> str:
    """Go module cache case-encoding: ``A`` -> ``!a``."""
    return "".join("!" + c.lower() if c.isupper() else c for c in path)


def gomodcache() -> Path | None:
    """The Go module cache: ``$GOMODCACHE``, ``go env GOMODCACHE``, ``$GOPATH/pkg/mod``,
    else ``~/go/pkg/mod``; None if none of them is a directory."""
    env = os.environ.get("GOMODCACHE")
    candidates: list[str] = [env] if env else []
    go = shutil.which("go")
    if not env and go:
        try:
            out = subprocess.run([go, "env", "GOMODCACHE"], capture_output=True, text=True, timeout=10)
            if out.returncode == 0 and out.stdout.strip():
                candidates.append(out.stdout.strip())
        except (OSError, subprocess.SubprocessError):
            pass
    gopath = os.environ.get("GOPATH")
    if gopath:
        candidates.append(os.path.join(gopath.split(os.pathsep)[0], "pkg", "mod"))
    candidates.append(os.path.join(os.path.expanduser("~"), "go", "pkg", "mod"))
    for c in candidates:
        if c and os.path.isdir(c):
            return Path(c)
    return None


def resolve_dcd_cfg(
    board: Board, tamago_version: str | None = None, *, gomodcache_dir: str | os.PathLike | None = None
) -> ResolvedCfg:
    """The board's imximage.cfg: from ``github.com/usbarmory/tamago@tamago_version`` in
    the Go module cache when that version is there, else the bundled copy.

    Args:
        board: the board profile.
        tamago_version: the tamago module version the ELF was built with (its build
            information, see :func:`tamago_version`), or None to use the bundled copy.
        gomodcache_dir: the module cache to look in (default: :func:`gomodcache`).
    """
    if tamago_version and board.tamago_cfg:
        cache = Path(gomodcache_dir) if gomodcache_dir is not None else gomodcache()
        if cache is not None:
            path = cache / f"{_escape_module_path(TAMAGO_MODULE)}@{tamago_version}" / board.tamago_cfg
            if path.is_file():
                return ResolvedCfg(path.read_text(encoding="utf-8"), "module", str(path), tamago_version)
    res = resources.files(__name__) / board.dcd_cfg
    return ResolvedCfg(res.read_text(encoding="utf-8"), "bundled", f"imgtool/boards/{board.dcd_cfg}",
                       BUNDLED_TAMAGO_VERSION)


def tamago_version(build_info) -> str | None:
    """The version of ``github.com/usbarmory/tamago`` in Go build information
    (``formats.gobuildinfo.BuildInfo``: its ``deps``, following a ``replace`` that names
    a version), or None when the ELF does not use the module (or replaces it by a
    directory)."""
    if build_info is None:
        return None
    for dep in list(getattr(build_info, "deps", None) or []) + [getattr(build_info, "main", None)]:
        if dep is None or dep.path != TAMAGO_MODULE:
            continue
        rep = getattr(dep, "replace", None)
        if rep is not None:
            return rep.version if rep.path == TAMAGO_MODULE and rep.version and rep.version != "(devel)" else None
        return dep.version if dep.version and dep.version != "(devel)" else None
    return None
