"""``imgtool crc``: the CRC of a file (or a slice of it) under any catalogue model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from imgtool.cli.app import app


def _list(as_json: bool) -> None:
    from formats import crc

    rows = crc.models()
    if as_json:
        out = [
            {
                "name": m.name, "aliases": list(m.aliases), "width": m.width, "poly": m.poly,
                "init": m.init, "refin": m.refin, "refout": m.refout, "xorout": m.xorout,
                "check": m.check, "residue": m.residue,
            }
            for m in rows
        ]
        typer.echo(json.dumps(out, indent=2))
        return
    typer.echo(f"{'name':<26} {'width':>5} {'poly':>18} {'init':>18} {'refin':>5} {'refout':>6} {'xorout':>18} {'check':>18}  aliases")
    for m in rows:
        hw = (m.width + 3) // 4
        typer.echo(
            f"{m.name:<26} {m.width:>5} {'0x%0*x' % (hw, m.poly):>18} {'0x%0*x' % (hw, m.init):>18} "
            f"{str(m.refin).lower():>5} {str(m.refout).lower():>6} {'0x%0*x' % (hw, m.xorout):>18} "
            f"{'0x%0*x' % (hw, m.check):>18}  {', '.join(m.aliases)}"
        )


@app.command("crc")
def crc_cmd(
    file: Optional[Path] = typer.Argument(None, help="The file to checksum."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="CRC model name or alias, e.g. CRC-32/MPEG-2 (see --list), or a reveng line 'width=.. poly=..'."),
    offset: Optional[str] = typer.Option(None, "--offset", help="First byte to include (default 0; 0x.., K/M suffixes)."),
    length: Optional[str] = typer.Option(None, "--length", help="Number of bytes to include (default: to the end of the file)."),
    word_swap: bool = typer.Option(False, "--word-swap", help="Reverse the bytes of each 32-bit word first, as the STM32 CRC unit reads little-endian memory."),
    list_models: bool = typer.Option(False, "--list", help="List the catalogue of models and exit."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of text."),
) -> None:
    """Print the CRC of FILE (or of --offset/--length bytes of it) under --model, in hex."""
    from imgtool.cli.params import parse_int
    from imgtool.errors import InputError

    if list_models:
        if file is not None or model is not None:
            raise InputError("--list takes no FILE or --model")
        _list(as_json)
        return
    if file is None:
        raise InputError("missing FILE (or use --list)")
    if model is None:
        raise InputError("missing --model NAME (see imgtool crc --list)")

    from formats import crc
    from formats.errors import FormatError
    from imgtool.output import read_input

    m = crc.get(model)
    start = parse_int(offset, "--offset") or 0
    count = parse_int(length, "--length")
    data = read_input(file)
    try:
        value = crc.crc(m, data, offset=start, length=count, word_size=4 if word_swap else None)
    except FormatError as exc:
        if exc.field == "offset":
            raise InputError(f"{file}: --offset {start} is past the end of the file ({len(data)} bytes)") from None
        if exc.field == "length":
            raise InputError(f"{file}: --length {count} at offset {start} runs past the end of the file "
                             f"({len(data)} bytes)") from None
        raise exc.with_source(str(file)) from None
    hexval = f"0x{value:0{(m.width + 3) // 4}x}"
    if as_json:
        typer.echo(json.dumps({
            "file": str(file), "model": m.name, "width": m.width, "offset": start,
            "length": len(data) - start if count is None else count, "word_swap": word_swap, "crc": value,
            "hex": hexval, "bytes_le": m.digest_bytes(value, "little").hex(),
            "bytes_be": m.digest_bytes(value, "big").hex(),
        }, indent=2))
    else:
        typer.echo(hexval)
