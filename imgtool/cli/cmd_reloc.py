"""``imgtool relocate``: a position-independent ELF as a flat image for a chosen base address."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from imgtool.cli.app import app


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
    no_bss: bool = typer.Option(False, "--no-bss", help="Leave out the zeros after the last file-backed byte."),
    no_go_fix: bool = typer.Option(False, "--no-go-itab-fix", help="Do not move the itab slots Go's linker leaves unrelocated."),
) -> None:
    """Apply ELF's dynamic relocations for --base and write the relocated memory image."""
    from formats import ihex, srec
    from formats.pe import IMAGE_REL_BASED_DIR64, IMAGE_REL_BASED_HIGHLOW, base_relocations
    from formats.reloc import relocate
    from imgtool.cli.fields import option_fields
    from imgtool.cli.params import parse_byte, parse_int
    from imgtool.elfinput import load_elf
    from imgtool.errors import InputError
    from imgtool.output import write_all_atomic

    if fmt not in ("bin", "hex", "srec"):
        raise InputError(f"--format {fmt!r}: expected bin, hex or srec")
    address = parse_int(base, "--base")
    symbols = {}
    for d in define or []:
        name, sep, value = d.partition("=")
        if not sep or not name.strip():
            raise InputError(f"--define {d!r}: expected NAME=ADDR")
        symbols[name.strip()] = parse_int(value, f"--define {name.strip()}")
    gap = None if max_gap == "any" else parse_int(max_gap, "--max-gap")
    with option_fields(base="--base", symbols="--define", skip_unsupported="--skip-unsupported", fill="--fill",
                       max_gap="--max-gap"):
        r = relocate(load_elf(elf), address, symbols=symbols, allow_undefined=allow_undefined,
                     skip_unsupported=skip_unsupported, fix_go_itabs=not no_go_fix, include_bss=not no_bss,
                     fill=parse_byte(fill, "--fill"), max_gap=gap)
    img = r.image
    if fmt == "bin":
        data = img.data
    elif img.end > 1 << 32 or img.entry >= 1 << 32:
        raise InputError(f"--format {fmt}: the image ends at 0x{img.end:x}, past the 32-bit addresses {fmt} records "
                         "carry; use --format bin or a base below 4 GiB")
    else:
        data = (ihex if fmt == "hex" else srec).build([(img.base, img.data)], start=img.entry)
    outputs = [(output, data)]
    reloc_section = None
    if pe_relocs is not None:
        reloc_section = base_relocations(r.sites, IMAGE_REL_BASED_DIR64 if r.word_size == 8 else IMAGE_REL_BASED_HIGHLOW)
        outputs.append((pe_relocs, reloc_section))
    write_all_atomic(outputs)
    a = r.applied
    space = 1 << (8 * r.word_size)
    signed = r.delta % space if r.delta % space < space // 2 else r.delta % space - space
    lines = [f"{elf}: link base 0x{r.link_base:x} -> 0x{img.base:x} (delta {'-' if signed < 0 else '+'}0x{abs(signed):x})",
             f"  relocations: {a['relative']} relative, {a['symbol']} symbol, {a['relr']} RELR; "
             f"{len(r.sites)} words move with the image",
             f"  entry 0x{img.entry:x}; image 0x{img.base:x}..0x{img.end:x} ({len(img.data)} bytes) -> {output}"]
    if r.go_itab_slots:
        lines.append(f"  moved {r.go_itab_slots} itab slots Go's linker left without a relocation (runtime.unreachableMethod)")
    if r.skipped:
        kinds = sorted({x.type_name for x in r.skipped})
        lines.append(f"  left as linked: {len(r.skipped)} relocations ({', '.join(kinds)})")
    if r.undefined:
        shown = ", ".join(r.undefined[:8]) + (" ..." if len(r.undefined) > 8 else "")
        lines.append(f"  resolved to 0: {len(r.undefined)} undefined symbols ({shown})")
    if reloc_section is not None:
        lines.append(f"  PE base relocations: {len(reloc_section)} bytes -> {pe_relocs}")
    typer.echo("\n".join(lines))
