"""``imgtool info`` and ``imgtool bin``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from imgtool.cli.app import app, option_names, warn


@app.command("info")
def info_cmd(
    file: Path = typer.Argument(..., help="An ELF, .imx, PE/.efi, disk image (disk.raw, esp.img, sd.img) or .tar.gz."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of text."),
) -> None:
    """Identify FILE and dump its structure (ELF: architecture, entry, segments, Go build info)."""
    from imgtool.describe import describe_file, render_text

    desc = describe_file(file)
    if as_json:
        typer.echo(json.dumps(desc, indent=2))
    else:
        typer.echo(render_text(desc), nl=False)


@app.command("bin")
def bin_cmd(
    elf: Path = typer.Argument(..., help="The linked ELF."),
    output: Path = typer.Option(..., "-o", "--output", help="Output file."),
    fmt: str = typer.Option("bin", "--format", "-f", help="bin, hex (Intel HEX), srec (Motorola S-record) or uf2."),
    pad_to: Optional[str] = typer.Option(None, "--pad-to", help="Pad the image up to this load address (objcopy --pad-to)."),
    fill: str = typer.Option("0", "--fill", help="Byte for holes and padding (0..255)."),
    max_gap: str = typer.Option("1M", "--max-gap", help="Largest hole between sections a flat binary fills; 'any' for no limit."),
    no_bss: bool = typer.Option(False, "--no-bss", help="Leave .bss/.noptrbss out (default: zeros, as TamaGo needs; never stored when .data is copied from flash)."),
    max_size: str = typer.Option("256M", "--max-size", help="Largest image to write (BSS included); 'any' for no limit."),
    uf2_family: Optional[str] = typer.Option(None, "--uf2-family", help="UF2 family ID: a number or a name (see docs)."),
    append_crc: Optional[str] = typer.Option(None, "--append-crc", help="Append the CRC of the image under this model (see 'imgtool crc --list')."),
    crc_byteorder: str = typer.Option("little", "--crc-byteorder", help="Byte order of the appended CRC: little or big."),
    compact: bool = typer.Option(False, "--compact", help="Store the image up to its last initialised byte; a stub at --stub-at zeroes the BSS, then jumps to the entry (ARM)."),
    stub_at: Optional[str] = typer.Option(None, "--stub-at", help="Load address of the BSS-zeroing stub (with --compact): RAM outside the image and its BSS."),
) -> None:
    """Write the loadable content of ELF as a flat binary, Intel HEX, S-record or UF2."""
    from formats.srec import objcopy_header
    from imgtool.cli.params import parse_byte, parse_int, parse_max_gap
    from imgtool.elfinput import load_elf
    from imgtool.flatimage import FlatOptions, build_bin
    from imgtool.output import write_atomic

    with option_names(format="--format", byteorder="--crc-byteorder", fill="--fill", pad_to="--pad-to",
                      max_gap="--max-gap", family="--uf2-family", stub_at="--stub-at", include_bss="--no-bss",
                      max_size="--max-size", **{"stub address": "--stub-at"}):
        family = None
        if uf2_family is not None:
            from formats.uf2 import resolve_family

            family = resolve_family(uf2_family)
        opts = FlatOptions(format=fmt, pad_to=parse_int(pad_to, "--pad-to"), fill=parse_byte(fill, "--fill"),
                           max_gap=parse_max_gap(max_gap), include_bss=not no_bss, uf2_family=family,
                           append_crc=append_crc, crc_byteorder=crc_byteorder, compact=compact,
                           stub_at=parse_int(stub_at, "--stub-at"),
                           max_size=parse_max_gap(max_size, "--max-size"), srec_header=objcopy_header(str(output)))
        data, plan = build_bin(load_elf(elf), opts, warn)
    write_atomic(output, data)
    if plan is not None:
        zeroes = ", ".join(f"0x{s:x}-0x{e:x}" for s, e in plan.ranges)
        typer.echo(f"entry 0x{plan.entry:x}: the {len(plan.stub)}-byte stub zeroes {zeroes}, then jumps to "
                   f"0x{plan.program_entry:x}; the image loads at 0x{min(plan.entry, plan.image.base):x}")
