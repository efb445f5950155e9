"""``imgtool rpi kernel|sdcard``: Raspberry Pi kernel.img, config.txt and SD card images."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from imgtool.cli.app import app, option_names, warn

rpi_app = typer.Typer(help="Raspberry Pi (BCM2835/6) kernel.img, config.txt and SD card images.", no_args_is_help=True)
app.add_typer(rpi_app, name="rpi")

_BOARD = typer.Option(None, "--board", "-b", help="pizero, pi1 or pi2 (see 'imgtool boards'); default: detected from the ELF.")
_STUB = typer.Option(None, "--stub", help="Entry stub: plain (12 bytes, upstream's) or armv6 (sets SCTLR.XP first); default: the board's.")
_KERNEL_ADDRESS = typer.Option(None, "--kernel-address", help="Where the firmware loads the kernel (config.txt kernel_address); default 0x8000.")
_RAM_START = typer.Option(None, "--ram-start", help="TamaGo's RamStart to check TEXT_START against; default: the ELF's RamStart symbol, else the board's (0x100000). 0 for programs of tamago before 2021.")
_COMPACT = typer.Option(False, "--compact", help="Store the image up to its last initialised byte; the stub zeroes the BSS, then jumps to the entry.")
_FIELDS = dict(board="--board", stub="--stub", kernel_address="--kernel-address", ram_start="--ram-start",
               firmware="--firmware", GOARM="GOARM")


def _numbers(kernel_address: Optional[str], ram_start: Optional[str]) -> dict:
    from imgtool.cli.params import parse_int

    return dict(kernel_address=parse_int(kernel_address, "--kernel-address"), ram_start=parse_int(ram_start, "--ram-start"))


@rpi_app.command("kernel")
def rpi_kernel(
    elf: Path = typer.Argument(..., help="The linked 32-bit ARM ELF (TamaGo, GOARM 5 or 7)."),
    board: Optional[str] = _BOARD,
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="kernel.img to write (default: the board's kernel name beside the ELF)."),
    config: Optional[Path] = typer.Option(None, "--config", help="config.txt to write (default: beside the kernel)."),
    no_config: bool = typer.Option(False, "--no-config", help="Do not write config.txt."),
    stub: Optional[str] = _STUB,
    kernel_address: Optional[str] = _KERNEL_ADDRESS,
    ram_start: Optional[str] = _RAM_START,
    compact: bool = _COMPACT,
    verbose: bool = typer.Option(False, "-v", "--verbose", help="Print the layout."),
) -> None:
    """Build kernel.img (entry stub, zero padding to TEXT_START, flat image with BSS) and its config.txt."""
    from imgtool.output import write_all_atomic
    from imgtool.rpi import kernel_files

    with option_names(**_FIELDS):
        files = kernel_files(elf, output=output, config=config, write_config=not no_config, board_name=board,
                             stub=stub, warn=warn, compact=compact, **_numbers(kernel_address, ram_start))
    write_all_atomic(files.outputs)
    if verbose:
        lay = files.kernel.layout
        typer.echo(f"board {lay.board.name}; {lay.stub_variant} {'BSS-zeroing ' * (lay.stub_kind == 'bss-zero')}stub at 0x{lay.kernel_address:x}; TEXT_START "
                   f"0x{lay.text_start:x} at offset 0x{lay.payload_offset:x}; entry 0x{lay.entry:x}; RamStart "
                   f"0x{lay.ram_start:x} ({lay.ram_start_origin}); {len(files.kernel.data)} bytes", err=True)


@rpi_app.command("sdcard")
def rpi_sdcard(
    elf: Path = typer.Argument(..., help="The linked 32-bit ARM ELF."),
    firmware: Path = typer.Option(..., "--firmware", help="Folder with bootcode.bin, start.elf and fixup.dat (raspberrypi/firmware boot/)."),
    output: Path = typer.Option(..., "-o", "--output", help="The SD card image to write (sparse file)."),
    size: str = typer.Option("64M", "--size", help="Card image size (MBR, one FAT boot partition from 1 MiB)."),
    board: Optional[str] = _BOARD,
    stub: Optional[str] = _STUB,
    kernel_address: Optional[str] = _KERNEL_ADDRESS,
    ram_start: Optional[str] = _RAM_START,
    compact: bool = _COMPACT,
    verbose: bool = typer.Option(False, "-v", "--verbose", help="Print the partition and the timestamp source."),
) -> None:
    """Build an SD card image: MBR + FAT boot partition with the firmware, config.txt and kernel.img."""
    from imgtool.cli.params import parse_int
    from imgtool.output import write_sparse_atomic
    from imgtool.rpisdcard import sdcard

    with option_names(**_FIELDS, **{"volume size": "--size", "disk size": "--size", "MBR partition 1": "--size"}):
        card = sdcard(elf, firmware=firmware, size=parse_int(size, "--size"), board_name=board, stub=stub, warn=warn,
                      compact=compact, **_numbers(kernel_address, ram_start))
    write_sparse_atomic(output, card.image)
    if verbose:
        p = card.partition
        typer.echo(f"partition 1: LBA {p.lba_start}+{p.sectors}, type 0x{p.type:02x} FAT{card.fat_bits}; "
                   f"{', '.join(card.files)}; timestamps from {card.timestamp_origin}", err=True)
