"""``imgtool relocate``: a position-independent ELF as a flat image for a chosen base address."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from imgtool.cli.app import app, option_names


@app.command("relocate")
def relocate_cmd(
    elf: Path = typer.Argument(..., help="A position-independent ELF (go build -buildmode=pie)."),
    base: str = typer.Option(..., "--base", help="Load address of the image's first byte (the ELF's link base)."),
    output: Path = typer.Option(..., "-o", "--output", help="Output file."),
    fmt: str = typer.Option("bin", "--format", "-f", help="bin, hex (Intel HEX) or srec (S-record)."),
    define: Optional[List[str]] = typer.Option(None, "--define", help="NAME=ADDR: value of an undefined dynamic symbol (repeatable)."),
    allow_undefined: bool = typer.Option(False, "--allow-undefined", help="Resolve undefined symbols without --define to 0."),
    skip_unsupported: bool = typer.Option(False, "--skip-unsupported", help="Leave TLS/IRELATIVE/COPY relocations as linked (listed)."),
    pe_relocs: Optional[Path] = typer.Option(None, "--pe-relocs", help="Also write the PE .reloc section contents (DIR64/HIGHLOW blocks) here."),
    fill: str = typer.Option("0", "--fill", help="Byte for holes between segments (0..255)."),
    max_gap: str = typer.Option("1M", "--max-gap", help="Largest hole between segments to fill; 'any' for no limit."),
    max_size: str = typer.Option("256M", "--max-size", help="Largest memory image (BSS included); 'any' for no limit."),
    no_bss: bool = typer.Option(False, "--no-bss", help="Leave out the zeros after the last file-backed byte."),
    no_go_fix: bool = typer.Option(False, "--no-go-itab-fix", help="Do not move the itab slots Go's linker leaves unrelocated."),
) -> None:
    """Apply ELF's dynamic relocations for --base and write the relocated memory image."""
    from imgtool.cli.params import parse_byte, parse_define, parse_int, parse_max_gap
    from imgtool.output import write_all_atomic
    from imgtool.relocation import relocate_file, summary

    address = parse_int(base, "--base")
    symbols = dict(parse_define(d) for d in define or [])
    with option_names(format="--format", base="--base", define="--define", symbols="--define",
                      skip_unsupported="--skip-unsupported", fill="--fill", max_gap="--max-gap", max_size="--max-size"):
        out = relocate_file(elf, address, fmt=fmt, symbols=symbols, allow_undefined=allow_undefined,
                            skip_unsupported=skip_unsupported, fix_go_itabs=not no_go_fix, include_bss=not no_bss,
                            fill=parse_byte(fill, "--fill"), max_gap=parse_max_gap(max_gap),
                            max_size=parse_max_gap(max_size, "--max-size"),
                            pe_relocs=pe_relocs is not None)
    outputs = [(output, out.data)]
    if out.pe_relocs is not None:
        outputs.append((pe_relocs, out.pe_relocs))
    write_all_atomic(outputs)
    typer.echo(summary(out, str(elf), str(output), str(pe_relocs) if pe_relocs else None))
