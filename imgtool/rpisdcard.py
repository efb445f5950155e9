"""The Raspberry Pi SD card: an MBR disk with one FAT boot partition holding the user's
firmware files, ``config.txt`` and the ``kernel.img`` of :mod:`imgtool.rpi`.

Layout: partition 1 from 1 MiB to the end of the disk, type 0x0C (FAT32, LBA; what
Raspberry Pi OS images use) with FAT32 where the partition has at least 66,600 sectors
(fatgen103's smallest FAT32), else the type the size calls for (0x06 FAT16, 0x01 FAT12),
marked active. Files (8.3 names): ``bootcode.bin``, ``start.elf``, ``fixup.dat`` (from
raspberrypi/firmware ``boot/``; imgtool never ships them), ``config.txt`` and the kernel
under the board's name (``kernel.img``, ``kernel7.img``).

Determinism: every FAT timestamp is ``SOURCE_DATE_EPOCH``, else the ELF's ``vcs.time``
build setting, else 1980-01-01 00:00:00 (FAT's first date). The FAT volume ID and the MBR
disk signature are derived from the content only (SHA-256 over the file names and bytes,
:func:`formats.fat.volume_id_from_seed`, :func:`formats.mbr.signature_from_seed`), so two
cards with the same files differ only in their timestamps.

Public API::

    FIRMWARE_FILES, DEFAULT_SIZE
    read_firmware(folder) -> dict[str, bytes]        InputError naming the missing files
    card_files(kernel, config, firmware, kernel_name) -> dict[str, bytes | SparseImage]
    build_card(files, *, size, timestamp) -> SdCard
    sdcard(path, *, firmware, size=DEFAULT_SIZE, **imgtool.rpi options) -> SdCard
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Union

from formats import fat, mbr
from formats.sparse import SparseImage
from imgtool.errors import InputError

#: The firmware a BCM2835/6 boots from (tamago board/raspberrypi/README.md, "A minimal
#: set of Raspberry Pi firmware").
FIRMWARE_FILES = ("bootcode.bin", "start.elf", "fixup.dat")
#: Default card image size in bytes.
DEFAULT_SIZE = 64 << 20
#: fatgen103: FAT32 volumes start at 66,600 sectors (DskTableFAT32).
_FAT32_MIN_SECTORS = 66600

FileData = Union[bytes, SparseImage]


def read_firmware(folder: str | Path) -> dict[str, bytes]:
    """The :data:`FIRMWARE_FILES` from ``folder`` (other files there are left out: a
    firmware ``boot/`` folder also holds Linux kernels and Pi 4 files).

    Raises:
        InputError: ``folder`` is not a folder, or files are missing (all named).
    """
    from imgtool.output import read_input

    path = Path(folder)
    if not path.is_dir():
        raise InputError(f"{path}: not a folder (expected the firmware folder with {', '.join(FIRMWARE_FILES)})",
                         field="firmware")
    missing = [n for n in FIRMWARE_FILES if not (path / n).is_file()]
    if missing:
        raise InputError(f"{path}: missing firmware {', '.join(missing)} (copy them from raspberrypi/firmware boot/; "
                         "imgtool does not ship them)", field="firmware")
    return {n: read_input(path / n) for n in FIRMWARE_FILES}


def card_files(kernel: bytes, config: str, firmware: Mapping[str, bytes], kernel_name: str) -> dict[str, FileData]:
    """The boot partition's files: ``firmware``, ``config.txt`` and the kernel as
    ``kernel_name`` (held sparse: its padding and BSS zeros are not stored).

    Raises:
        InputError: ``kernel_name`` clashes with a firmware file or ``config.txt``.
    """
    if kernel_name.lower() in {n.lower() for n in (*firmware, "config.txt")}:
        raise InputError(f"kernel name {kernel_name!r} clashes with a file of the boot partition", field="kernel")
    return {**firmware, "config.txt": config.encode(), kernel_name: SparseImage.from_bytes(kernel, block=512)}


def content_seed(files: Mapping[str, FileData]) -> str:
    """SHA-256 (hex) over the files' names and bytes in name order: the seed of the volume
    ID and disk signature."""
    h = hashlib.sha256()
    for name in sorted(files):
        data = files[name]
        size = data.size if isinstance(data, SparseImage) else len(data)
        h.update(name.encode() + b"\0" + size.to_bytes(8, "little"))
        for chunk in (data.chunks() if isinstance(data, SparseImage) else [data]):
            h.update(chunk)
    return h.hexdigest()


@dataclass(frozen=True)
class SdCard:
    """A built card: the disk ``image`` (:class:`~formats.sparse.SparseImage`), the
    ``partition`` record, ``fat_bits``, the ``files`` by name, the ``timestamp`` written
    and where it came from (``timestamp_origin``), the ``volume_id`` and
    ``disk_signature``; ``layout`` is the kernel's :class:`imgtool.rpi.KernelLayout`
    (set by :func:`sdcard`)."""

    image: SparseImage
    partition: mbr.MbrPartition
    fat_bits: int
    files: Mapping[str, FileData]
    timestamp: int
    timestamp_origin: str
    volume_id: int
    disk_signature: int
    layout: object = None


def build_card(files: Mapping[str, FileData], *, size: int = DEFAULT_SIZE, timestamp: int = 0,
               timestamp_origin: str = "") -> SdCard:
    """An MBR disk of ``size`` bytes with one active FAT partition holding ``files``.

    Raises:
        FormatError: the disk is too small for the partition or the files (the message
            gives the bytes needed; ``field="volume size"`` / ``"disk size"``).
    """
    (start, sectors), = mbr.plan(size, [None])
    fat_type = 32 if sectors >= _FAT32_MIN_SECTORS else None
    seed = content_seed(files)
    volume_id, signature = fat.volume_id_from_seed(seed), mbr.signature_from_seed(seed)
    volume = fat.build(files, size=sectors * 512, fat_type=fat_type, label="BOOT", volume_id=volume_id,
                       timestamp=timestamp, hidden_sectors=start)
    bits = fat.layout(sectors * 512, fat_type=fat_type).fat_bits
    part = mbr.MbrPartition(mbr.fat_partition_type(bits), start, sectors, True)
    disk = mbr.build_disk(size, [part], contents=[volume], disk_signature=signature)
    return SdCard(disk, part, bits, dict(files), timestamp, timestamp_origin, volume_id, signature)


def sdcard(path: str | Path, *, firmware: str | Path, size: int = DEFAULT_SIZE, board_name: str | None = None,
           stub: str | None = None, kernel_address: int | None = None, ram_start: int | None = None,
           warn: Callable[[str], None] | None = None, compact: bool = False) -> SdCard:
    """``imgtool rpi sdcard``: the card image for the ELF at ``path`` (its kernel built by
    :func:`imgtool.rpi.build_kernel` with the same options, named as the board's default
    kernel; ``compact``: the compact kernel) with the firmware from ``firmware``.

    Raises:
        InputError, FormatError: as :func:`imgtool.rpi.build_kernel`, :func:`read_firmware`
            and :func:`build_card`; a malformed SOURCE_DATE_EPOCH.
    """
    from dataclasses import replace

    from imgtool.elfinput import load_elf
    from imgtool.epoch import source_date_epoch
    from imgtool.rpi import build_kernel, config_txt

    blobs = read_firmware(firmware)
    epoch = source_date_epoch()
    built = build_kernel(load_elf(path), board_name=board_name, stub=stub, kernel_address=kernel_address,
                         ram_start=ram_start, warn=warn, stub_kind="bss-zero" if compact else "entry")
    layout = built.layout
    if epoch is not None:
        timestamp, origin = epoch, "SOURCE_DATE_EPOCH"
    elif layout.vcs_time is not None:
        timestamp, origin = layout.vcs_time, "the ELF's vcs.time"
    else:
        timestamp, origin = 0, "none given (1980-01-01, FAT's first date)"
    name = layout.board.kernel
    files = card_files(built.data, config_txt(layout, name), blobs, name)
    return replace(build_card(files, size=size, timestamp=timestamp, timestamp_origin=origin), layout=layout)
