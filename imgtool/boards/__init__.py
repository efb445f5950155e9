"""Board profiles as data: one TOML file a board in this package (``<name>.toml``).

A profile holds the keys every board family shares, and the keys of its family.

Common keys (typed attributes of :class:`Board`): ``name`` (the file's stem and the
``--board`` name), ``description`` (one line for ``imgtool boards``), ``family`` (the
board family, ``"imx"`` when absent), ``soc``, ``packages`` (Go package paths whose
presence in an ELF names the board, see :func:`detect_board`), ``text_start`` (link
address of ``.text``, ``-T``), ``[[ram]]`` regions (``name``, ``start``, ``size`` in
bytes) the image must fit in, and ``variant_of`` (the board this one is a variant of:
variants are never auto-detected while their base board also matches).

Family keys: every other top-level key of the file. They are carried as the TOML gives
them (lists become tuples, tables read-only mappings) in :attr:`Board.fields` and read
as attributes (``board.csf_size``), so a new family (``family = "rpi"``) and its keys
(say ``kernel = "kernel7.img"``) need no code here. A family listed in
:data:`FAMILY_FIELDS` has its keys checked when the profiles load (required keys, types)
and its defaults filled in, and may have a check function in :data:`FAMILY_CHECKS`;
an unlisted family is loaded as written.

The ``imx`` family (i.MX boot images, HABv4): ``dcd_cfg`` (bundled imximage.cfg),
``tamago_cfg`` (the same cfg inside the tamago module, see :mod:`imgtool.boards.imxcfg`),
``csf_size`` (bytes reserved for the CSF), ``hab_engine`` (default HAB engine: ``SW``,
``ANY``, ``CAAM``, ``DCP``...; :attr:`Board.hab_engine_tag` is its tag) with
``hab_engine_note``, ``boot_offset`` (IVT offset on SD/eMMC, 0x400),
``sdp_dcd_address`` (OCRAM address of the DCD in serial download, 0x00910000) and
``hab_key_types`` (the signature keys the ROM verifies: ``["rsa"]``, the default, for the
i.MX6 ROMs, HAB 4.0-4.4; ``["rsa", "ecdsa"]`` for HAB 4.5, i.MX8M Plus).

The ``rpi`` family (Raspberry Pi ``kernel.img``, :mod:`imgtool.rpi`): ``cpu`` (one line),
``goarm`` (the GOARM TamaGo documents for the board) and ``goarm_max`` (the highest GOARM
whose code the CPU runs), ``peripheral_base``, ``ram_start`` (TamaGo's RamStart, whose
first 64 KiB, ``reserved_size``, the runtime keeps for vectors, page tables and exception
stacks), ``uart`` and ``uart_base`` (the console), ``kernel`` (the firmware's default
kernel file name), ``kernel_address`` (where the firmware loads it, 0x8000), ``stub``
(default entry stub variant, ``plain`` or ``armv6``), ``config_txt`` (the ``config.txt``
lines the console needs), ``[[firmware_area]]`` tables (``name``, ``start``, ``end``:
low memory the firmware uses before or while the kernel runs) and
``secondary_cores_parked`` (the firmware's stub keeps cores waiting in the first
firmware area).

Public API::

    list_boards(family=None) -> list[Board]
    get_board(name, family=None) -> Board                      InputError if unknown / other family
    detect_board(package_paths, text_start=None, family=None) -> Board|None
                                                               InputError if ambiguous
    FAMILY_SUMMARY[family](board) -> str                       one line for ``imgtool boards``

The DCD of an i.MX board (Go module cache or bundled copy) is
:mod:`imgtool.boards.imxcfg`; the Go module cache itself :mod:`imgtool.gomodcache`.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from types import MappingProxyType
from typing import Any, Callable, Iterable, Mapping

from formats.imx.csf import ENGINE_NAMES
from formats.imx.image import SDP_DCD_ADDRESS
from imgtool.errors import InputError

#: HAB engine names -> engine tag (HABv4 API RM, "hab_engine"; the CST keywords)
HAB_ENGINES = {name: eng for eng, name in ENGINE_NAMES.items()}

#: Marks a family key that every profile of the family must give.
REQUIRED = object()

#: family -> its keys in display order: ``(type, default or REQUIRED)``
FAMILY_FIELDS: dict[str, dict[str, tuple[type | tuple[type, ...], Any]]] = {
    "imx": {
        "dcd_cfg": (str, REQUIRED),
        "tamago_cfg": ((str, type(None)), None),
        "csf_size": (int, REQUIRED),
        "hab_engine": (str, REQUIRED),
        "hab_engine_note": (str, ""),
        "boot_offset": (int, 0x400),
        "sdp_dcd_address": (int, SDP_DCD_ADDRESS),
        "hab_key_types": ((list, tuple), ("rsa",)),  # a TOML array arrives as a list
    },
    "rpi": {
        "cpu": (str, REQUIRED),
        "goarm": (int, REQUIRED),
        "goarm_max": (int, REQUIRED),
        "peripheral_base": (int, REQUIRED),
        "ram_start": (int, REQUIRED),
        "reserved_size": (int, 0x10000),
        "uart": (str, REQUIRED),
        "uart_base": (int, REQUIRED),
        "kernel": (str, "kernel.img"),
        "kernel_address": (int, 0x8000),
        "stub": (str, REQUIRED),
        "config_txt": (list, REQUIRED),
        "firmware_area": (list, REQUIRED),
        "secondary_cores_parked": (bool, False),
    },
}

#: Family names as ``imgtool boards`` and the errors print them.
FAMILY_TITLES = {"imx": "NXP i.MX", "rpi": "Raspberry Pi"}


def _check_imx(fields: Mapping[str, Any]) -> str | None:
    if fields["hab_engine"] not in HAB_ENGINES:
        return f"unknown HAB engine {fields['hab_engine']!r}"
    if not fields["hab_key_types"] or not set(fields["hab_key_types"]) <= {"rsa", "ecdsa"}:
        return f"hab_key_types {list(fields['hab_key_types'])!r}: use 'rsa' and/or 'ecdsa'"
    return None


def _check_rpi(fields: Mapping[str, Any]) -> str | None:
    if fields["stub"] not in ("plain", "armv6"):
        return f"unknown stub variant {fields['stub']!r} (plain or armv6)"
    if not 5 <= fields["goarm"] <= fields["goarm_max"] <= 7:
        return f"goarm {fields['goarm']} / goarm_max {fields['goarm_max']} are not 5 <= goarm <= goarm_max <= 7"
    for area in fields["firmware_area"]:
        if not (isinstance(area.get("name"), str) and isinstance(area.get("start"), int)
                and isinstance(area.get("end"), int) and area["start"] < area["end"]):
            return f"firmware_area {dict(area)!r} needs a name and start < end"
    if not all(isinstance(line, str) and "=" in line for line in fields["config_txt"]):
        return "config_txt lines must be KEY=VALUE strings"
    return None


#: family -> a check of its (defaulted) fields returning an error or None
FAMILY_CHECKS: dict[str, Callable[[Mapping[str, Any]], str | None]] = {"imx": _check_imx, "rpi": _check_rpi}

#: family -> the one-line summary of a board's family keys that ``imgtool boards`` shows
FAMILY_SUMMARY: dict[str, Callable[["Board"], str]] = {
    "imx": lambda b: f"CSF 0x{b.csf_size:x}, HAB engine {b.hab_engine}",
    "rpi": lambda b: (f"GOARM {b.goarm}, RamStart 0x{b.ram_start:x}, {b.kernel} at 0x{b.kernel_address:x}, "
                      f"{b.stub} stub, {b.uart.split(',')[0]}"),
}

_COMMON_KEYS = ("name", "description", "family", "soc", "packages", "text_start", "ram", "variant_of")


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
    """One board profile (see the module docstring and the TOML files in this package).

    Attributes:
        name: the ``--board`` name.
        description: one line for ``imgtool boards``.
        soc: the SoC (``i.MX6ULL``, ``i.MX6UL``).
        packages: Go board package paths whose presence in an ELF names this board.
        text_start: link address of ``.text`` (``-T``), where the payload loads.
        ram: RAM regions the image must fit in.
        variant_of: the board this is a variant of (same packages); variants are never
            auto-detected when their base board also matches.
        family: the board family (``"imx"``).
        fields: the family's keys (read-only); each also reads as an attribute, e.g.
            ``board.csf_size`` for an ``imx`` board. Reading a key the board does not
            have raises AttributeError.
    """

    name: str
    description: str
    soc: str
    packages: tuple[str, ...]
    text_start: int
    ram: tuple[RamRegion, ...]
    variant_of: str | None = None
    family: str = "imx"
    fields: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}), hash=False)

    def __getattr__(self, attr: str) -> Any:
        # called only when normal lookup fails: the family keys read as attributes
        fields = self.__dict__.get("fields")
        if fields is not None and attr in fields:
            return fields[attr]
        raise AttributeError(f"board {self.__dict__.get('name')!r} ({self.__dict__.get('family')}) has no field {attr!r}")

    @property
    def hab_engine_tag(self) -> int:
        """The HAB engine tag of the ``imx`` key ``hab_engine`` (SW 0xFF, ANY 0x00, CAAM
        0x1D, DCP 0x1B)."""
        return HAB_ENGINES[self.hab_engine]

    def ram_region_for(self, start: int, length: int) -> RamRegion | None:
        """The RAM region that holds ``[start, start + length)``, or None."""
        return next((r for r in self.ram if r.contains(start, length)), None)

    def to_dict(self) -> dict:
        """The profile as JSON-ready data: the common keys, the family's keys, then
        ``variant_of`` and ``family``."""
        return {
            "name": self.name,
            "description": self.description,
            "soc": self.soc,
            "packages": list(self.packages),
            "text_start": self.text_start,
            "ram": [r.to_dict() for r in self.ram],
            **{k: _jsonable(v) for k, v in self.fields.items()},
            "variant_of": self.variant_of,
            "family": self.family,
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def _frozen(value: Any) -> Any:
    """TOML data made immutable: lists -> tuples, tables -> read-only mappings."""
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, dict):
        return MappingProxyType({k: _frozen(v) for k, v in value.items()})
    return value


def _is(value: Any, kind: type | tuple[type, ...]) -> bool:
    return isinstance(value, kind) and not (isinstance(value, bool) and kind is int)


def _family_fields(family: str, data: dict) -> dict[str, Any]:
    """The family keys of a profile (every non-common key), checked and defaulted when
    the family is in FAMILY_FIELDS. Raises ValueError naming the key."""
    given = {k: v for k, v in data.items() if k not in _COMMON_KEYS}
    spec = FAMILY_FIELDS.get(family, {})
    out: dict[str, Any] = {}
    for key, (kind, default) in spec.items():
        if key not in given:
            if default is REQUIRED:
                raise ValueError(f"missing {family} key {key!r}")
            out[key] = default
        elif not _is(given[key], kind):
            raise ValueError(f"{family} key {key!r} has the wrong type ({type(given[key]).__name__})")
        else:
            out[key] = _frozen(given[key])
    out.update((k, _frozen(v)) for k, v in given.items() if k not in spec)
    check = FAMILY_CHECKS.get(family)
    problem = check(out) if check else None
    if problem:
        raise ValueError(problem)
    return out


def _board_from_toml(name: str, data: dict) -> Board:
    try:
        family = data.get("family", "imx")
        board = Board(
            name=data["name"],
            description=data["description"],
            soc=data["soc"],
            packages=tuple(data["packages"]),
            text_start=int(data["text_start"]),
            ram=tuple(RamRegion(r["name"], int(r["start"]), int(r["size"])) for r in data["ram"]),
            variant_of=data.get("variant_of"),
            family=family,
            fields=MappingProxyType(_family_fields(family, data)),
        )
    except (KeyError, TypeError, ValueError) as exc:  # a broken bundled file is our bug
        raise RuntimeError(f"board file {name}: bad or missing field {exc}") from exc
    if board.name + ".toml" != name:
        raise RuntimeError(f"board file {name} names board {board.name!r}")
    return board


@lru_cache(maxsize=1)
def _boards() -> dict[str, Board]:
    out = {}
    for entry in sorted(resources.files(__name__).iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".toml"):
            board = _board_from_toml(entry.name, tomllib.loads(entry.read_text(encoding="utf-8")))
            out[board.name] = board
    return dict(sorted(out.items()))


def list_boards(family: str | None = None) -> list[Board]:
    """All board profiles (of ``family`` when given), sorted by name."""
    return [b for b in _boards().values() if family is None or b.family == family]


def get_board(name: str, family: str | None = None) -> Board:
    """The board called ``name``; with ``family``, it must be of that family.

    Raises:
        InputError: no such board (the message lists the known ones, of ``family`` when
            given), or a board of another family.
    """
    known = [b.name for b in list_boards(family)]
    board = _boards().get(name)
    if board is None:
        raise InputError(f"unknown board {name!r} (expected one of: {', '.join(known)})")
    if family is not None and board.family != family:
        title = FAMILY_TITLES.get(family, family)
        raise InputError(f"board {name!r} is for {FAMILY_TITLES.get(board.family, board.family)}, "
                         f"not {title} (expected one of: {', '.join(known)})")
    return board


def _linked_packages(board: Board, package_paths: set[str]) -> list[str]:
    """The board's packages that an ELF with ``package_paths`` links (or a subpackage of)."""
    return [p for p in board.packages if p in package_paths or any(q.startswith(p + "/") for q in package_paths)]


def detect_board(package_paths: Iterable[str], text_start: int | None = None,
                 family: str | None = None) -> Board | None:
    """Name the board from the TamaGo board packages compiled into an ELF.

    Args:
        package_paths: Go package paths found in the ELF (symbols, build info).
        text_start: the ELF's ``.text`` address; when given, boards linked elsewhere
            are dropped (this tells the armory-boot layout from the plain Mk II).
        family: only boards of this family (``"imx"``, ``"rpi"``) are candidates.

    Returns:
        The board, or None when no board package is present.

    Raises:
        InputError: more than one board remains (e.g. two board packages are linked);
            the message lists the candidates and asks for ``--board``.
    """
    paths = set(package_paths)
    candidates = [b for b in list_boards(family) if _linked_packages(b, paths)]
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
    pkgs = sorted({p for b in candidates for p in _linked_packages(b, paths)})
    raise InputError(
        f"cannot tell the board: the ELF links {', '.join(pkgs)}; candidates: "
        f"{', '.join(sorted(names))} (pass --board)"
    )
