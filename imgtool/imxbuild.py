"""The i.MX boot image pipeline: flat binary + imximage.cfg (+ board) -> ``.imx``, the
checks the objcopy/mkimage/dd chain never made, and ``describe_imx`` for ``imgtool info``.

Public API::

    load_cfg(board=None, dcd_path=None, tamago_version=None) -> LoadedCfg
    check_cfg(cfg) -> None                                    InputError naming the line
    build_imx_from_flat(flat, *, load_address, entry, cfg, board=None, warn=None, zero_ranges=None) -> bytes
    build_imx_from_elf(elf, *, board_name=None, dcd_path=None, warn=None, compact=False) -> ImxBuild
    build_files(path, *, output=None, ..., sdp=False, sd_image=None, compact=False) -> ImxFiles   (imx build)
    sdp_images(imx) -> tuple[bytes, bytes]                    (imx with IVT.dcd = 0, DCD bytes)
    sd_card_image(imx, boot_offset=0x400) -> bytes            raw SD/eMMC image
    default_output(source, suffix), sibling(path, tag, suffix) -> Path   output names
    describe_imx(data) -> dict                                JSON-able
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from formats.elf import ElfFile
from formats.errors import FormatError
from formats.go.binary import check_go_layout
from formats.go.buildinfo import parse_buildinfo
from formats.go.symbols import package_paths
from formats.imx.compact import ImxStub
from formats.loadimage import LoadImage, flatten, split_bss, stored_part
from formats.imx.cfg import ImximageCfg, parse_cfg
from formats.imx.dcd import DCD_MAX_SIZE_IMX6, CheckData, WriteData
from formats.imx.image import (
    DCD_OFFSET,
    SDP_DCD_ADDRESS,
    build_imx,
    clear_dcd_pointer,
    dcd_blocks,
    hab_blocks,
    layout,
    parse_imx,
)
from imgtool.boards import Board
from imgtool.boards.imxcfg import resolve_dcd_cfg
from imgtool.errors import InputError
from imgtool.output import read_input

#: Estimated CSF sizes in bytes (reference/imx-hab.md §3.9: habtool embeds the signer
#: certificates in each CMS blob; NXP CST RSA-2048 is 3,800 bytes).
CSF_ESTIMATES = {
    "rsa2048": 5_400,
    "rsa2048-sdp": 6_700,
    "rsa4096": 9_000,
    "rsa4096-sdp": 11_000,
}

#: i.MX6UL/ULL peripheral blocks a DCD usually writes (Reference Manual, memory map).
_REGISTER_BLOCKS = (
    (0x020C4000, 0x4000, "CCM"),
    (0x020C8000, 0x1000, "CCM_ANALOG"),
    (0x020E0000, 0x4000, "IOMUXC"),
    (0x020E4000, 0x4000, "IOMUXC_GPR"),
    (0x021B0000, 0x4000, "MMDC"),
)


@dataclass(frozen=True)
class LoadedCfg:
    """A cfg ready for the build: the parsed value and a line saying where it came from."""

    cfg: ImximageCfg
    origin: str


def load_cfg(board: Board | None = None, dcd_path: str | Path | None = None, tamago_version: str | None = None) -> LoadedCfg:
    """Read the imximage.cfg: ``dcd_path`` if given, else the board's DCD (tamago module
    cache at ``tamago_version`` or the bundled copy).

    Raises:
        InputError: neither a board nor a cfg path, or the file cannot be read.
        FormatError: the cfg is malformed (names the file and line).
    """
    if dcd_path is not None:
        path = Path(dcd_path)
        try:
            text = read_input(path).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"{path}: cannot read the imximage.cfg ({exc})") from None
        return LoadedCfg(parse_cfg(text, str(path)), f"DCD from {path}")
    if board is None:
        raise InputError("no board and no --dcd imximage.cfg: pass --board or --dcd")
    resolved = resolve_dcd_cfg(board, tamago_version)
    return LoadedCfg(parse_cfg(resolved.text, resolved.path), resolved.describe())


def check_cfg(cfg: ImximageCfg, *, max_dcd_size: int = DCD_MAX_SIZE_IMX6) -> None:
    """Check a cfg built in code (:func:`parse_cfg` checks the same while reading).

    Raises:
        InputError: the DCD is over ``max_dcd_size`` bytes, or an address is not aligned
            to its width; the message names the cfg line when known.
    """
    src = f"{cfg.source}: " if cfg.source else ""
    for e in cfg.entries:
        if e.command != "NOP" and e.address % e.width:
            where = f"line {e.line}: " if e.line else ""
            raise InputError(f"{src}{where}DCD address 0x{e.address:08x} is not aligned to its width of {e.width} bytes")
    dcd = cfg.dcd
    if dcd.length > max_dcd_size:
        size, last_line = 4, None
        for cmd, lines in zip(dcd.commands, cfg.dcd_command_lines()):
            size += cmd.length
            last_line = lines[-1]
            if size > max_dcd_size:
                break
        where = f"line {last_line}: " if last_line else ""
        raise InputError(f"{src}{where}DCD is {dcd.length} bytes, over the i.MX6 limit of {max_dcd_size} bytes")


def build_imx_from_flat(
    flat: bytes,
    *,
    load_address: int,
    entry: int,
    cfg: ImximageCfg,
    board: Board | None = None,
    warn: Callable[[str], None] | None = None,
    zero_ranges: Sequence[tuple[int, int]] | None = None,
) -> bytes:
    """Build the ``.imx`` for a flat binary.

    Byte-identical to ``mkimage -n CFG -T imximage -e LOAD_ADDRESS -d flat.bin`` plus
    TamaGo's ``dd`` that writes ``entry`` into IVT.entry (docs/imx.md lists where
    mkimage is wrong and this is not).

    Args:
        flat: the flat binary (``objcopy -O binary`` of the ELF, BSS included).
        load_address: where ``flat[0]`` loads: the ELF's ``.text`` address (TEXT_START).
        entry: the ELF's ``e_entry``.
        cfg: the imximage.cfg.
        board: when given, the link address, RAM and CSF reservation are checked
            against it.
        warn: called with one line per warning (CSF reservation, board mismatch).
        zero_ranges: makes a compact image (:func:`formats.imx.compact.build_compact_imx`):
            ``flat`` is then the stored part only, and these ``(start, end)`` byte ranges
            are zeroed at boot by the stub IVT.entry points to.

    Raises:
        InputError: TEXT_START differs from the board's; the entry point lies outside
            the payload; the image or a zeroed range does not fit the board's RAM; the
            DCD is over 1,768 bytes or has a misaligned address (names the cfg line); no
            room for the stub after the DCD.
        FormatError: a cfg the format cannot lay out.
    """
    say = warn or (lambda _msg: None)
    check_cfg(cfg)
    if not flat:
        raise InputError("the flat binary is empty (no loadable sections)")
    if not load_address <= entry < load_address + len(flat):
        raise InputError(
            f"entry point 0x{entry:08x} is outside the payload 0x{load_address:08x}-0x{load_address + len(flat):08x}"
        )
    if board is not None and load_address != board.text_start:
        raise InputError(
            f"the ELF's .text starts at 0x{load_address:08x} but board {board.name} expects TEXT_START "
            f"0x{board.text_start:08x} (link with -ldflags \"-T 0x{board.text_start:x}\")"
        )
    try:
        if zero_ranges is None:
            imx = build_imx(flat, text_start=load_address, entry=entry, cfg=cfg)
        else:
            from formats.imx.compact import build_compact_imx

            imx = build_compact_imx(flat, text_start=load_address, entry=entry, ranges=zero_ranges, cfg=cfg)
    except FormatError as exc:
        raise InputError(str(exc)) from None
    lay = layout(cfg, load_address)
    loaded = int.from_bytes(imx[0x24:0x28], "little")  # boot data length, CSF included
    if board is not None:
        if board.ram_region_for(lay.load_start, loaded) is None:
            regions = ", ".join(f"{r.name} 0x{r.start:08x}-0x{r.end:08x}" for r in board.ram)
            raise InputError(
                f"the image loads at 0x{lay.load_start:08x}-0x{lay.load_start + loaded:08x} "
                f"({loaded} bytes with the CSF area), outside board {board.name}'s RAM ({regions})"
            )
        for start, end in zero_ranges or ():
            if board.ram_region_for(start, end - start) is None:
                raise InputError(f"the BSS range 0x{start:08x}-0x{end:08x} the stub zeroes is outside board "
                                 f"{board.name}'s RAM")
        if cfg.csf_size != board.csf_size:
            say(f"the cfg reserves 0x{cfg.csf_size:x} bytes for the CSF, board {board.name} uses 0x{board.csf_size:x}")
    if cfg.csf_size == 0:
        say("the cfg reserves no CSF area (no CSF line): this image cannot be HAB-signed without rebuilding")
    elif cfg.csf_size < CSF_ESTIMATES["rsa2048"]:
        say(
            f"the CSF area of {cfg.csf_size} bytes is smaller than a typical RSA-2048 CSF "
            f"(~{CSF_ESTIMATES['rsa2048']} bytes, ~{CSF_ESTIMATES['rsa2048-sdp']} for SDP; "
            f"RSA-4096 ~{CSF_ESTIMATES['rsa4096']}): signing will not fit"
        )
    elif cfg.csf_size < CSF_ESTIMATES["rsa4096-sdp"]:
        say(
            f"the CSF area of {cfg.csf_size} bytes may be too small for RSA-4096 keys "
            f"(~{CSF_ESTIMATES['rsa4096']} bytes, ~{CSF_ESTIMATES['rsa4096-sdp']} for SDP)"
        )
    return imx


def sdp_images(imx: bytes) -> tuple[bytes, bytes]:
    """The serial-download (USB SDP) flavour: ``(imx_with_ivt_dcd_zeroed, dcd_bytes)``.

    The loader writes ``dcd_bytes`` to OCRAM (the board's ``sdp_dcd_address``,
    0x00910000 on i.MX6) with DCD_WRITE, then the image
    (WRITE_FILE) with IVT.dcd = 0, as habtool ``-s`` and armory-boot-usb expect.

    Raises:
        InputError: the image has no DCD.
    """
    img = parse_imx(imx)
    if img.dcd is None or img.dcd_offset is None or not img.dcd.commands:
        raise InputError("the image has no DCD to send separately for serial download")
    return clear_dcd_pointer(imx), imx[img.dcd_offset : img.dcd_offset + img.dcd.length]


def sd_card_image(imx: bytes, boot_offset: int = 0x400) -> bytes:
    """A raw SD/eMMC image: ``boot_offset`` zero bytes then the (signed) ``.imx``
    (``dd bs=512 seek=2``)."""
    return bytes(boot_offset) + imx


def _register_block(address: int) -> str | None:
    for base, size, name in _REGISTER_BLOCKS:
        if base <= address < base + size:
            return f"{name}+0x{address - base:x}"
    return None


def _describe_command(cmd, lines) -> dict:
    d = cmd.to_dict()
    if isinstance(cmd, WriteData):
        for e in d["entries"]:
            e["register"] = _register_block(e["address"])
    elif isinstance(cmd, CheckData):
        d["register"] = _register_block(cmd.address)
    return d


def describe_imx(data: bytes) -> dict:
    """Everything ``imgtool info app.imx`` shows, JSON-able (addresses and sizes as ints).

    Keys: ``ivt``, ``boot_data``, ``dcd`` (None or offset/address/length/commands with
    register addresses), ``payload`` (offset/address/length), ``csf`` (None or
    offset/address/size/present/signed), ``sdp``, ``compact`` (None, or the BSS-zeroing
    stub IVT.entry points to: :func:`compact_summary`), ``hab_blocks``, ``dcd_blocks`` (lists of
    ``[address, offset, length]``) and ``mkimage_l`` (the "HAB Blocks"/"DCD Blocks" lines
    exactly as ``mkimage -l`` prints them; only when IVT.csf is set, as mkimage does).

    Raises:
        FormatError: not a parsable .imx.
    """
    img = parse_imx(data)
    ivt = img.ivt
    out: dict = {
        "format": "imx",
        "size": len(data),
        "ivt": {"offset": 0, **ivt.to_dict()},
        "boot_data": {"offset": ivt.boot_data - ivt.self_addr, **img.boot_data.to_dict()},
        "header_offset": img.header_offset,
        "dcd": None,
        "payload": {
            "offset": img.payload_offset,
            "address": img.payload_address,
            "length": img.payload_length,
            "present": max(0, min(len(data), img.image_length) - img.payload_offset),
        },
        "csf": None,
        "sdp": img.is_sdp,
        "compact": compact_summary(img, data),
        "hab_blocks": [list(b) for b in hab_blocks(img)],
        "dcd_blocks": [list(b) for b in dcd_blocks(img)],
    }
    if img.dcd is not None:
        out["dcd"] = {
            "offset": img.dcd_offset,
            "address": ivt.self_addr + (img.dcd_offset or DCD_OFFSET),
            "length": img.dcd.length,
            "version": img.dcd.version,
            "commands": [_describe_command(c, None) for c in img.dcd.commands],
        }
    if img.csf_offset is not None:
        out["csf"] = {
            "offset": img.csf_offset,
            "address": ivt.csf,
            "size": img.csf_size,
            "present": len(img.csf_data),
            "signed": img.csf_data[:1] == b"\xd4",
        }
    listing = {}
    if ivt.csf:
        h = hab_blocks(img)[0]
        listing["HAB Blocks"] = f"0x{h[0]:08x} 0x{h[1]:08x} 0x{h[2]:08x}"
        if img.dcd is not None:
            d = dcd_blocks(img, SDP_DCD_ADDRESS)[0]
            listing["DCD Blocks"] = f"0x{d[0]:08x} 0x{d[1]:08x} 0x{d[2]:08x}"
    out["mkimage_l"] = listing
    return out


def compact_summary(img, data: bytes) -> dict | None:
    """What ``imgtool info`` says about the stub of a compact ``.imx`` (``img`` parsed
    from ``data``): ``stub_address``, ``stub_size``, ``variant``, ``entry`` (where the
    stub jumps), ``bss_ranges`` (``[start, end]`` pairs it zeroes), ``zeroed`` (bytes);
    or None for a plain image.

    Raises:
        FormatError: IVT.entry points into the header area at something that is not
            imgtool's stub.
    """
    from formats.imx.compact import find_stub

    found = find_stub(img, data)
    if found is None:
        return None
    s = found.stub
    return {"stub_address": found.address, "stub_offset": found.offset, "stub_size": s.size, "variant": s.variant,
            "entry": s.entry, "bss_ranges": [list(r) for r in s.ranges], "zeroed": s.zeroed}


@dataclass(frozen=True)
class ImxBuild:
    """The result of :func:`build_imx_from_elf`: the ``.imx`` bytes, the board used (or
    ``None`` with a plain ``--dcd``), where the DCD came from, the flat payload size
    in bytes (stored bytes only, for a compact image), and the stub of a compact image
    (:class:`formats.imx.compact.ImxStub`, or ``None``)."""

    imx: bytes
    board: Board | None
    cfg_origin: str
    payload_size: int
    stub: ImxStub | None = None


def build_imx_from_elf(
    elf: ElfFile,
    *,
    board_name: str | None = None,
    dcd_path: str | Path | None = None,
    warn: Callable[[str], None] | None = None,
    compact: bool = False,
) -> ImxBuild:
    """ELF -> flat image -> ``.imx``: what ``objcopy`` + ``mkimage -T imximage`` + the
    TamaGo ``dd`` entry patch produce, with the board checks they never made.

    With ``compact`` the payload ends at the last initialised byte and the BSS-zeroing
    stub after the DCD zeroes the rest (docs/compact.md); without it, a BSS over 1 MiB
    gets one warning saying what a compact image would weigh.

    The board is ``board_name`` if given, else the one whose TamaGo board package is
    compiled into ``elf``; the DCD is ``dcd_path`` if given, else the board's cfg (from
    the tamago module in the Go module cache at the version in the ELF's build
    information, else the bundled copy).

    Raises:
        FormatError: not an ARM ELF, or the flat image does not start at ``.text``.
        InputError: no board found and no ``--dcd``; an unknown or ambiguous board;
            TEXT_START differs from the board's; the payload does not fit the board's RAM;
            a DCD over the limit or misaligned (names the line); (``compact``) an ELF that
            cannot have a compact image, no room for the stub.
    """
    from imgtool.boards import detect_board, get_board, list_boards
    from imgtool.boards.imxcfg import tamago_version
    from imgtool.elfinput import require_arch

    require_arch(elf, ("arm",), "imx build")
    if board_name:
        board = get_board(board_name, "imx")
    else:
        board = detect_board(package_paths(elf), elf.text_start, "imx")
    if board is None and dcd_path is None:
        raise InputError(
            f"{elf.source}: no TamaGo board package found in the ELF (stripped, or not a TamaGo program); "
            f"pass --board (one of: {', '.join(b.name for b in list_boards('imx'))}) or --dcd imximage.cfg")
    loaded = load_cfg(board, dcd_path, tamago_version(parse_buildinfo(elf)) if board is not None else None)
    check_go_layout(elf)
    try:
        image = flatten(elf, max_size=ram_limit(board))
    except FormatError as exc:
        if exc.field != "max_size" or board is None:
            raise
        raise FormatError(f"the payload (BSS included) is larger than the {ram_limit(board):#x} bytes of RAM of "
                          f"{board.name}", source=elf.source, field="PT_LOAD p_memsz") from None
    if elf.text_start is not None and image.base != elf.text_start:
        raise FormatError(
            f"the first loaded section is at 0x{image.base:x}, below .text at 0x{elf.text_start:x}; "
            "an i.MX payload must start at TEXT_START", source=elf.source, field="section headers")
    ranges = None
    if compact:
        from formats.compact import compact_ranges
        from imgtool.compact import check_compactable

        check_compactable(elf)
        image, split = stored_part(image)
        ranges = compact_ranges(split)
    try:
        imx = build_imx_from_flat(image.data, load_address=image.base, entry=elf.entry, cfg=loaded.cfg,
                                  board=board, warn=warn, zero_ranges=ranges)
    except InputError as exc:
        raise InputError(f"{elf.source}: {exc}") from None
    stub = None
    if compact:
        from formats.imx.compact import find_stub

        stub = find_stub(parse_imx(imx), imx)
    elif warn is not None:
        _warn_bss(elf, image, imx, loaded.cfg, warn)
    return ImxBuild(imx=imx, board=board, cfg_origin=loaded.origin, payload_size=len(image.data), stub=stub)


def _warn_bss(elf: ElfFile, image: LoadImage, imx: bytes, cfg: ImximageCfg, warn: Callable[[str], None]) -> None:
    """The large-BSS warning (:func:`imgtool.compact.bss_warning`) with the compact
    ``.imx`` size: the same header, the stored part padded to 4 KiB (the stub lives in
    the header padding)."""
    from formats.align import align_up
    from formats.imx.image import PAGE
    from imgtool.compact import bss_warning

    try:
        split = split_bss(image.regions)
    except FormatError:  # no initialised byte: nothing a compact image could do
        return
    compact_size = layout(cfg, image.base).header_size + align_up(split.stored_end - image.base, PAGE)
    message = bss_warning(elf, split, len(imx), compact_size, ".imx")
    if message:
        warn(message)


def ram_limit(board: Board | None) -> int:
    """The largest memory image ``board`` can hold (bytes: its largest RAM region), or
    :data:`formats.loadimage.DEFAULT_MAX_SIZE` without a board."""
    from formats.loadimage import DEFAULT_MAX_SIZE

    return max((r.size for r in board.ram), default=DEFAULT_MAX_SIZE) if board is not None else DEFAULT_MAX_SIZE


def default_output(source: Path, suffix: str) -> Path:
    """``app.elf`` -> ``app.imx`` (``suffix``); another name gets ``suffix`` appended."""
    return source.with_suffix(suffix) if source.suffix in (".elf", "") else source.with_name(source.name + suffix)


def sibling(path: Path, tag: str, suffix: str) -> Path:
    """``out.imx`` -> ``out-sdp.imx`` (``tag`` ``sdp``, ``suffix`` ``.imx``); a path with no
    name (``.``, ``/``) is returned as it is, for the output check to refuse as a folder."""
    return path.with_name(f"{path.stem}-{tag}{suffix}") if path.name else path


@dataclass(frozen=True)
class ImxFiles:
    """What :func:`build_files` made: ``outputs`` (``[(path, bytes)]``, to be written
    together), the :class:`ImxBuild` they came from."""

    outputs: list[tuple[Path, bytes]]
    build: ImxBuild


def build_files(
    path: str | Path,
    *,
    output: str | Path | None = None,
    board_name: str | None = None,
    dcd_path: str | Path | None = None,
    sdp: bool = False,
    sd_image: str | Path | None = None,
    warn: Callable[[str], None] | None = None,
    compact: bool = False,
) -> ImxFiles:
    """``imgtool imx build``: the ``.imx`` of the ELF at ``path`` (:func:`build_imx_from_elf`)
    at ``output`` (default: the ELF's name with ``.imx``); with ``sdp`` also
    ``OUT-sdp.imx`` and ``OUT-sdp.dcd`` (:func:`sdp_images`); with ``sd_image`` a raw
    SD/eMMC image with the ``.imx`` at the board's boot offset; ``compact``: a compact
    image (:func:`build_imx_from_elf`).

    Raises:
        InputError, FormatError: see :func:`build_imx_from_elf` and :func:`sdp_images`.
    """
    from imgtool.elfinput import load_elf

    built = build_imx_from_elf(load_elf(path), board_name=board_name, dcd_path=dcd_path, warn=warn, compact=compact)
    out = Path(output) if output is not None else default_output(Path(path), ".imx")
    outputs = [(out, built.imx)]
    if sdp:
        sdp_imx, dcd_bytes = sdp_images(built.imx)
        outputs += [(sibling(out, "sdp", ".imx"), sdp_imx), (sibling(out, "sdp", ".dcd"), dcd_bytes)]
    if sd_image is not None:
        # the IVT's self and boot data assume the offset the cfg chose (BOOT_FROM/BOOT_OFFSET);
        # an SD/eMMC card only boots it at the ROM's offset
        offset = parse_imx(built.imx).header_offset
        rom = built.board.boot_offset if built.board else 0x400
        if offset != rom:
            raise InputError(f"the image's IVT is laid out for offset 0x{offset:x} on its medium (the cfg's BOOT_FROM "
                             f"or BOOT_OFFSET), but an SD/eMMC card boots it at 0x{rom:x}; use BOOT_FROM sd",
                             field="sd_image")
        outputs.append((Path(sd_image), sd_card_image(built.imx, offset)))
    return ImxFiles(outputs, built)
