"""The Raspberry Pi kernel pipeline: a TamaGo ELF -> ``kernel.img`` (entry stub, zero
padding, flat image) and the ``config.txt`` for exactly that layout, with the checks the
Makefile chain (``objcopy`` + ``boot.S`` + ``truncate`` + ``cat``) never made.

``kernel.img`` is what the GPU firmware loads raw at ``kernel_address`` (0x8000) and jumps
to (shared/reference/boot-artifacts.md §1.2; tamago ``board/raspberrypi/README.md``)::

    offset 0                        the stub (formats.boot.arm: plain 12 bytes, armv6 24)
    offset len(stub)                zeros up to TEXT_START - kernel_address
    offset TEXT_START - kernel_address   the flat image from .text to the end of .noptrbss
                                    (formats.loadimage.flatten: every SHF_ALLOC section,
                                    .go.fipsinfo and .go.module included, BSS as zeros)

Public API::

    STUB_KINDS                     name -> StubKind (the stub in front of the image)
    go_facts(elf) -> GoFacts       what the Go build says (GOARM, packages, RamStart, vcs.time)
    plan_kernel(elf, *, board_name=None, stub=None, kernel_address=None, ram_start=None,
                warn=None) -> KernelLayout            every check, nothing flattened yet
    build_kernel(elf, **the same, stub_kind="entry") -> RpiKernel     "bss-zero": compact (docs/compact.md)
    config_txt(layout, kernel_name) -> str
    kernel_files(path, *, output=None, config=None, write_config=True, **the same) -> KernelFiles

Errors: :class:`formats.errors.FormatError` for an ELF that is not 32-bit ARM or lacks
``.go.module``; :class:`imgtool.errors.InputError` for every layout check. Both name the
ELF and a field of the data (``board``, ``stub``, ``kernel_address``, ``ram_start``,
``GOARM``), which the CLI shows as its options.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from formats.boot.arm import ENTRY_STUB_SIZE, VARIANTS, bss_zero_stub, bss_zero_stub_size, entry_stub, merge_ranges
from formats.elf import ElfFile
from formats.errors import FormatError
from formats.loadimage import LoadImage, flatten, loaded_sections, stored_part
from imgtool.boards import Board
from imgtool.errors import InputError

#: Symbols of TamaGo's RamStart variable: tamago since the runtime/goos split (soc/bcm2835
#: mem.go ``//go:linkname ramStart runtime/goos.RamStart``), and the older ``runtime.ramStart``.
RAM_START_SYMBOLS = ("runtime/goos.RamStart", "runtime.ramStart")


@dataclass(frozen=True)
class StubKind:
    """A kind of stub ``kernel.img`` can start with.

    ``include_bss``: whether the flat image stores the BSS as zeros (the entry stub: yes;
    a BSS-zeroing stub would not). ``size(variant, bss_ranges)`` and ``build(entry,
    variant, bss_ranges, address)`` give its length in bytes and its bytes; ``address``
    is where it loads (``kernel_address``), ``bss_ranges`` the ``(start, end)`` NOBITS
    ranges of the ELF.
    """

    name: str
    include_bss: bool
    size: Callable[[str, Sequence[tuple[int, int]]], int]
    build: Callable[[int, str, Sequence[tuple[int, int]], int], bytes]


#: The stubs ``kernel.img`` can start with. ``entry`` is the TamaGo recipe's (load
#: e_entry, ``bx``); ``bss-zero`` makes a compact kernel (docs/compact.md): the image up
#: to its last initialised byte, the stub zeroing the NOBITS ranges after it.
STUB_KINDS: dict[str, StubKind] = {
    "entry": StubKind("entry", True, lambda variant, _ranges: ENTRY_STUB_SIZE[variant],
                      lambda entry, variant, _ranges, _address: entry_stub(entry, variant=variant)),
    "bss-zero": StubKind("bss-zero", False,
                         lambda variant, ranges: bss_zero_stub_size(len(merge_ranges(ranges)), variant=variant),
                         lambda entry, variant, ranges, address: bss_zero_stub(entry, ranges, variant=variant,
                                                                                address=address)),
}


@dataclass(frozen=True)
class GoFacts:
    """What the Go toolchain recorded in an ELF, as far as the Pi pipeline needs it.

    ``goarm``: the GOARM build setting (5, 6 or 7; None without build information);
    ``packages``: the Go package paths defining symbols (board detection; None when not
    asked for); ``ram_start``: ``(value, symbol)`` of TamaGo's RamStart variable when the
    symbol table has it; ``vcs_time``: the ``vcs.time`` build setting in seconds since
    1970, or None.
    """

    goarm: int | None
    packages: tuple[str, ...] | None
    ram_start: tuple[int, str] | None
    vcs_time: int | None


def _ram_start_symbol(elf: ElfFile) -> tuple[int, str] | None:
    strtab = elf.section(".strtab")
    names = bytes(elf.section_data(strtab)) if strtab is not None else b""
    if not any(b"\0" + n.encode() + b"\0" in names for n in RAM_START_SYMBOLS):
        return None  # not there: no need to decode the whole symbol table
    for sym in elf.symbols:
        if sym.name in RAM_START_SYMBOLS and sym.size in (0, 4):
            try:
                return struct.unpack("<I", elf.read(sym.value, 4))[0], sym.name
            except FormatError:
                continue
    return None


def go_facts(elf: ElfFile, *, packages: bool = True) -> GoFacts:
    """Read :class:`GoFacts` from ``elf`` (the one place this pipeline reads Go data);
    ``packages=False`` skips the package paths (no board to detect).

    Raises:
        FormatError: a Go 1.26+ ELF without ``.go.module``; malformed build information.
    """
    from formats.go.binary import check_go_layout
    from formats.go.buildinfo import parse_buildinfo
    from formats.go.symbols import package_paths

    check_go_layout(elf)
    info = parse_buildinfo(elf)
    settings = info.settings if info else {}
    goarm = settings.get("GOARM", "").split(",")[0]
    vcs_time = None
    if settings.get("vcs.time"):  # RFC 3339 UTC as Go writes it; a time without a zone is UTC, never local
        from imgtool.epoch import parse_time

        try:
            vcs_time = int(parse_time(settings["vcs.time"], "vcs.time").timestamp())
        except InputError:
            vcs_time = None
    return GoFacts(int(goarm) if goarm.isdigit() else None, tuple(package_paths(elf)) if packages else None,
                   _ram_start_symbol(elf), vcs_time)


@dataclass(frozen=True)
class KernelLayout:
    """Where everything of a ``kernel.img`` goes (addresses and sizes in bytes).

    ``kernel_address``: where the firmware loads the file; ``text_start``: the ELF's
    ``.text`` (TEXT_START), at file offset :attr:`payload_offset`; ``entry``: e_entry;
    ``image_end``: first address after the loaded image, BSS included; ``stub_kind``,
    ``stub_variant``, ``stub_size``: the stub at offset 0; ``ram_start`` and
    ``ram_start_origin`` (``"option"``, ``"symbol runtime/goos.RamStart"``, ``"board"``):
    TamaGo's RamStart checked against; ``goarm``: the build's GOARM (None if unknown);
    ``vcs_time``: the build's ``vcs.time`` (seconds) or None.
    """

    board: Board
    kernel_address: int
    text_start: int
    entry: int
    image_end: int
    stub_kind: str
    stub_variant: str
    stub_size: int
    ram_start: int
    ram_start_origin: str
    goarm: int | None
    vcs_time: int | None = None

    @property
    def payload_offset(self) -> int:
        """File offset of TEXT_START: the stub plus the zero padding."""
        return self.text_start - self.kernel_address


def _hex_range(start: int, end: int) -> str:
    return f"0x{start:x}-0x{end:x}"


def _board_for(elf: ElfFile, facts: GoFacts, board_name: str | None) -> Board:
    from imgtool.boards import detect_board, get_board, list_boards

    if board_name:
        return get_board(board_name, "rpi")
    board = detect_board(facts.packages or (), elf.text_start, "rpi")
    if board is None:
        names = ", ".join(b.name for b in list_boards("rpi"))
        raise InputError(f"no TamaGo Raspberry Pi board package in {elf.source or 'the ELF'} (stripped, or not a "
                         f"TamaGo program); name the board: one of {names}", field="board")
    return board


def plan_kernel(elf: ElfFile, *, board_name: str | None = None, stub: str | None = None,
                kernel_address: int | None = None, ram_start: int | None = None, stub_kind: str = "entry",
                warn: Callable[[str], None] | None = None) -> KernelLayout:
    """Check ``elf`` against the board and lay out its ``kernel.img``; nothing is flattened.

    Args:
        board_name: a ``rpi`` board profile; default: detected from the TamaGo board package.
        stub: ``"plain"`` or ``"armv6"`` (sets SCTLR.XP first); default: the board's.
        kernel_address: where the firmware loads the file; default: the board's (0x8000).
        ram_start: TamaGo's RamStart; default: the ELF's RamStart symbol, else the board's.
        stub_kind: a key of :data:`STUB_KINDS`.
        warn: called with one line per warning.

    Raises:
        FormatError: not a 32-bit ARM ELF, no ``.text``, ``.go.module`` missing (Go 1.26+).
        InputError: no or an unknown board; GOARM above what the board's CPU runs; an
            unknown stub variant; ``kernel_address`` not word-aligned; TEXT_START below
            ``kernel_address`` + the stub, or below RamStart + 64 KiB; the entry outside
            the image; the loaded file overlapping a firmware area (ARM stub, ATAGs); the
            image past the board's RAM.
    """
    from imgtool.elfinput import require_arch

    say = warn or (lambda _msg: None)
    src = elf.source
    require_arch(elf, ("arm",), "rpi kernel")
    if elf.elfclass != 32:
        raise FormatError(f"rpi kernel needs a 32-bit ARM ELF, this one is ELF{elf.elfclass}", source=src, field="EI_CLASS")
    facts = go_facts(elf, packages=not board_name)
    board = _board_for(elf, facts, board_name)
    if facts.goarm is not None and facts.goarm > board.goarm_max:
        raise InputError(f"{src}: built with GOARM={facts.goarm}, but board {board.name}, {board.cpu}, runs GOARM="
                         f"{board.goarm_max} code at most (tamago board/raspberrypi README): rebuild with "
                         f"GOARM={board.goarm}")
    variant = stub or board.stub
    if variant not in VARIANTS:
        raise InputError(f"unknown stub variant {variant!r} (expected one of {', '.join(VARIANTS)})", field="stub")
    kind = STUB_KINDS[stub_kind]
    address = board.kernel_address if kernel_address is None else kernel_address
    if address % 4 or not 0 <= address < 1 << 32:
        raise InputError(f"0x{address:x} is not a word-aligned 32-bit address (the firmware jumps to it)",
                         field="kernel_address")
    text_start = elf.text_start
    if text_start is None:
        raise FormatError("no .text section: cannot tell TEXT_START", source=src, field="section headers")
    sections = loaded_sections(elf, include_bss=True)
    image_end = max(elf.lma(s) + s.size for s in sections)
    bss = [(s.addr, s.addr + s.size) for s in sections if s.is_nobits]
    if not kind.include_bss:  # compact: the stub zeroes the NOBITS ranges after the stored part
        from imgtool.compact import check_compactable, section_split

        check_compactable(elf)
        split = section_split(elf)[2]
        bss = list(split.zeroed) if split is not None else []
    stub_size = kind.size(variant, bss)
    if text_start < address + stub_size:
        raise InputError(f"{src}: TEXT_START 0x{text_start:x} is below kernel_address 0x{address:x} + the "
                         f"{stub_size}-byte {variant} stub: .text would overwrite the stub (link with -T 0x{board.text_start:x})")
    if ram_start is not None:
        rs, origin = ram_start, "option"
    elif facts.ram_start is not None:
        rs, origin = facts.ram_start[0], f"symbol {facts.ram_start[1]}"
    else:
        rs, origin = board.ram_start, "board"
    if text_start < rs + board.reserved_size:
        where = {"option": "as given", "board": f"board {board.name}'s, tamago soc/bcm2835/mem.go"}.get(
            origin, f"from the ELF's {origin[7:]}")
        hint = (" (0x10000 is the layout of tamago before 2021, which had RamStart 0; give RamStart 0 for such a "
                "program)" if origin == "board" and text_start < rs else "")
        raise InputError(f"{src}: TEXT_START 0x{text_start:x} is below RamStart 0x{rs:x} ({where}) + 0x"
                         f"{board.reserved_size:x}, the area TamaGo keeps for vectors and page tables: link with "
                         f"-T 0x{rs + board.reserved_size:x}{hint}")
    if not text_start <= elf.entry < image_end:
        raise InputError(f"{src}: entry 0x{elf.entry:x} is outside the image {_hex_range(text_start, image_end)}")
    for area in board.firmware_area:
        if address < area["end"] and area["start"] < image_end:
            raise InputError(f"{src}: the kernel loaded at {_hex_range(address, image_end)} overlaps the "
                             f"{area['name']} at {_hex_range(area['start'], area['end'])}: load it at kernel_address "
                             f"0x{board.kernel_address:x}")
    if board.ram_region_for(address, image_end - address) is None:
        ram = ", ".join(f"{r.name} {_hex_range(r.start, r.end)}" for r in board.ram)
        raise InputError(f"{src}: the image ends at 0x{image_end:x} ({image_end - address} bytes from 0x{address:x}, "
                         f"BSS included), past board {board.name}'s RAM ({ram})")
    if board.secondary_cores_parked and board.firmware_area:
        area = board.firmware_area[0]
        if rs < area["end"] and area["start"] < rs + board.reserved_size:
            say(f"RamStart 0x{rs:x}: TamaGo's vector table overwrites the {area['name']} at "
                f"{_hex_range(area['start'], area['end'])}, where the other cores wait")
    return KernelLayout(board=board, kernel_address=address, text_start=text_start, entry=elf.entry,
                        image_end=image_end, stub_kind=stub_kind, stub_variant=variant, stub_size=stub_size,
                        ram_start=rs, ram_start_origin=origin, goarm=facts.goarm, vcs_time=facts.vcs_time)


@dataclass(frozen=True)
class RpiKernel:
    """A built ``kernel.img``: its ``data``, the :class:`KernelLayout` and the flat
    ``image`` (:class:`formats.loadimage.LoadImage`) at TEXT_START."""

    data: bytes
    layout: KernelLayout
    image: LoadImage


def build_kernel(elf: ElfFile, *, board_name: str | None = None, stub: str | None = None,
                 kernel_address: int | None = None, ram_start: int | None = None, stub_kind: str = "entry",
                 warn: Callable[[str], None] | None = None) -> RpiKernel:
    """``kernel.img`` for ``elf``: the stub, zeros up to TEXT_START - kernel_address, the
    flat image. With the plain stub it equals the TamaGo recipe byte for byte except
    ``.go.fipsinfo``, which the recipe's objcopy list leaves as zeros. With
    ``stub_kind="bss-zero"`` the image ends at its last initialised byte and the stub
    zeroes the rest (docs/compact.md); with the entry stub a BSS over 1 MiB gets one
    warning saying what the compact kernel would weigh.

    Raises:
        FormatError, InputError: as :func:`plan_kernel`; the first loaded section below
            ``.text``; overlapping sections; (``bss-zero``) NOBITS not at its load address.
    """
    layout = plan_kernel(elf, board_name=board_name, stub=stub, kernel_address=kernel_address, ram_start=ram_start,
                         stub_kind=stub_kind, warn=warn)
    kind = STUB_KINDS[stub_kind]
    image = flatten(elf)  # BSS as zeros; a compact kernel keeps the stored part (below)
    if image.base != layout.text_start:
        raise FormatError(f"the first loaded section is at 0x{image.base:x}, below .text at 0x{layout.text_start:x}; "
                          "a kernel.img payload must start at TEXT_START", source=elf.source, field="section headers")
    bss = [(r.address, r.end) for r in image.regions if r.kind == "bss"]
    if not kind.include_bss:
        image, split = stored_part(image)
        bss = list(split.zeroed)
    code = kind.build(layout.entry, layout.stub_variant, bss, layout.kernel_address)
    data = b"".join((code, bytes(layout.payload_offset - len(code)), image.data))
    if kind.include_bss and warn is not None:
        _warn_bss(elf, layout, len(data), warn)
    return RpiKernel(data, layout, image)


def _warn_bss(elf: ElfFile, layout: KernelLayout, size: int, warn: Callable[[str], None]) -> None:
    """The large-BSS warning (:func:`imgtool.compact.bss_warning`) with the compact
    kernel's size: the stub in the padding, the image up to its last initialised byte."""
    from imgtool.compact import bss_warning, section_split

    split = section_split(elf)[2]
    if split is not None:
        message = bss_warning(elf, split, size, split.stored_end - layout.kernel_address, "kernel.img")
        if message:
            warn(message)


def config_txt(layout: KernelLayout, kernel_name: str) -> str:
    """The ``config.txt`` for this layout: ``kernel=``, ``kernel_address=``,
    ``disable_commandline_tags=1`` (no ATAGs at 0x100) and the board's console keys
    (``enable_uart=1``, ``core_freq=250``: the mini UART's clock is the VPU clock); never
    ``kernel_old=1`` (load at 0, over the firmware stub). Keys: the Raspberry Pi
    ``config.txt`` documentation, "Boot options"; tamago ``board/raspberrypi/README.md``."""
    b = layout.board
    lines = [
        f"# {kernel_name} for {b.name} ({b.soc}), written by imgtool: {layout.stub_variant} stub at 0x"
        f"{layout.kernel_address:x}, TEXT_START 0x{layout.text_start:x}, entry 0x{layout.entry:x}",
        f"kernel={kernel_name}",
        f"kernel_address=0x{layout.kernel_address:x}",
        "disable_commandline_tags=1",
        *b.config_txt,
    ]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class KernelFiles:
    """What :func:`kernel_files` made: ``outputs`` (``[(path, bytes)]``, to be written
    together), the :class:`RpiKernel` and the ``config`` text (None when not written)."""

    outputs: list[tuple[Path, bytes]]
    kernel: RpiKernel
    config: str | None


def kernel_files(path: str | Path, *, output: str | Path | None = None, config: str | Path | None = None,
                 write_config: bool = True, board_name: str | None = None, stub: str | None = None,
                 kernel_address: int | None = None, ram_start: int | None = None,
                 warn: Callable[[str], None] | None = None, compact: bool = False) -> KernelFiles:
    """``imgtool rpi kernel``: the ``kernel.img`` of the ELF at ``path`` at ``output``
    (default: the board's kernel name, ``kernel.img`` or ``kernel7.img``, beside the ELF)
    and its ``config.txt`` at ``config`` (default: beside the kernel) unless not
    ``write_config``. ``compact``: the BSS-zeroing stub (``stub_kind="bss-zero"``).

    Raises:
        InputError, FormatError: see :func:`build_kernel`; an unreadable ELF.
    """
    from imgtool.elfinput import load_elf

    built = build_kernel(load_elf(path), board_name=board_name, stub=stub, kernel_address=kernel_address,
                         ram_start=ram_start, warn=warn, stub_kind="bss-zero" if compact else "entry")
    out = Path(output) if output is not None else Path(path).with_name(built.layout.board.kernel)
    outputs = [(out, built.data)]
    text = None
    if write_config:
        text = config_txt(built.layout, out.name)
        outputs.append((Path(config) if config is not None else out.parent / "config.txt", text.encode()))
    return KernelFiles(outputs, built, text)
