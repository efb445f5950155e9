"""``imgtool gce ...``: Google Compute Engine boot disks and their import tarball."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from imgtool.cli.app import app, option_names, warn

gce_app = typer.Typer(help="Google Compute Engine boot disks (legacy BIOS or UEFI) and the import tarball.",
                      no_args_is_help=True)
app.add_typer(gce_app, name="gce")


@gce_app.command("disk")
def gce_disk_cmd(
    image: Path = typer.Argument(..., help="An x86-64 ELF (BIOS or UEFI route) or a UEFI .efi (UEFI route)."),
    boot: Optional[str] = typer.Option(None, "--boot", help="bios (default for an ELF) or uefi (default for a .efi)."),
    size: Optional[str] = typer.Option(None, "--size", help="Disk size, whole GiB (default: the smallest that holds it, >= 1GiB)."),
    output: Path = typer.Option(Path("compressed-image.tar.gz"), "-o", "--output", help="The import tarball (disk.raw in a gzip'd oldgnu tar)."),
    raw: Optional[Path] = typer.Option(None, "--raw", help="Also write the raw disk here (a sparse file)."),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="No progress bar and no gcloud command line."),
) -> None:
    """Build a bootable GCE disk.raw and its import tarball; print the gcloud command line."""
    from imgtool.cli.params import parse_int
    from imgtool.cli.progress import progress_bar
    from imgtool.gce import build_disk, gcloud_commands, write_outputs

    with option_names(**{"disk size": "--size", "boot": "--boot", "raw": "--raw"}):
        result = build_disk(image, boot=boot, size=parse_int(size, "--size"))
        for w in result.warnings:
            warn(f"{image}: {w}")
        with progress_bar(output.name, enabled=not quiet) as tick:
            write_outputs(result, output, raw, progress=tick)
    if not quiet:
        for line in gcloud_commands(result, output):
            typer.echo(line)
