"""``imgtool imx ...`` (i.MX boot images and HABv4) and ``imgtool boards``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from imgtool.cli import app, imx_app, warn


def _default_output(elf: Path, suffix: str) -> Path:
    return elf.with_suffix(suffix) if elf.suffix in (".elf", "") else elf.with_name(elf.name + suffix)


def _sibling(path: Path, tag: str, suffix: str) -> Path:
    return path.with_name(f"{path.stem}-{tag}{suffix}")


@imx_app.command("build")
def imx_build(
    elf: Path = typer.Argument(..., help="The linked ARM ELF (TEXT_START as the board expects)."),
    board: Optional[str] = typer.Option(None, "--board", "-b", help="Board profile (see 'imgtool boards'); default: detected from the ELF."),
    dcd: Optional[Path] = typer.Option(None, "--dcd", help="An imximage.cfg to use instead of the board's."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Output .imx (default: ELF name with .imx)."),
    sdp: bool = typer.Option(False, "--sdp", help="Also write the USB serial-download flavour: OUT-sdp.imx (IVT DCD pointer zeroed) and OUT-sdp.dcd."),
    sd_image: Optional[Path] = typer.Option(None, "--sd-image", help="Also write a raw SD/eMMC image with the .imx at byte 0x400."),
    verbose: bool = typer.Option(False, "-v", "--verbose", help="Say which board and DCD were used."),
) -> None:
    """Build an i.MX boot image (IVT, boot data, DCD) from ELF, byte-compatible with mkimage -T imximage."""
    from imgtool.elfinput import load_elf
    from imgtool.imxbuild import build_imx_from_elf, sd_card_image, sdp_images
    from imgtool.output import write_atomic

    result = build_imx_from_elf(load_elf(elf), board_name=board, dcd_path=dcd, warn=warn)
    out = output or _default_output(elf, ".imx")
    outputs = [(out, result.imx)]
    if sdp:
        sdp_imx, dcd_bytes = sdp_images(result.imx)
        outputs += [(_sibling(out, "sdp", ".imx"), sdp_imx), (_sibling(out, "sdp", ".dcd"), dcd_bytes)]
    if sd_image is not None:
        outputs.append((sd_image, sd_card_image(result.imx, result.board.boot_offset if result.board else 0x400)))
    for path, data in outputs:
        write_atomic(path, data)
    if verbose:
        typer.echo(f"board: {result.board.name if result.board else '(none, --dcd)'}; DCD: {result.cfg_origin}", err=True)


@app.command("boards")
def boards_cmd(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the board profiles (link address, DCD, CSF size, HAB engine)."""
    from imgtool.boards import list_boards

    boards = list_boards()
    if as_json:
        typer.echo(json.dumps([b.to_dict() for b in boards], indent=2))
        return
    typer.echo(f"{'board':<20} {'soc':<10} {'TEXT_START':>10} {'CSF':>7} {'engine':<7} description")
    for b in boards:
        typer.echo(f"{b.name:<20} {b.soc:<10} {b.text_start:#10x} {b.csf_size:#7x} {b.hab_engine:<7} {b.description}")
