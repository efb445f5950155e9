"""``imgtool uefi esp``: an EFI System Partition disk image holding a UEFI application.

Two layouts, both FAT32 (UEFI 2.10 §13.3.1.1: "the file system supported by EFI for the
system partition is FAT32"):

* ``gpt``: a GPT disk (protective MBR, both headers and entry arrays) with one EFI system
  partition (type C12A7328-..., sgdisk's EF00, name "EFI system partition") from the first
  1 MiB boundary to LastUsableLBA, as ``sgdisk -n 1:0:0 -t 1:EF00`` places it.
* ``superfloppy``: FAT32 on the whole disk, no partition table: what the upstream GCE
  UEFI script makes with ``mkfs.vfat -F 32`` on a loop device (reference notes §2.2).

The application goes to ``\\EFI\\BOOT\\BOOTX64.EFI`` (``BOOTAA64.EFI`` for AArch64), the
removable-media path firmware boots without a boot entry (:func:`imgtool.uefi.esp_files`).

Reproducible: FAT times from ``SOURCE_DATE_EPOCH`` (else 0, written as 1980-01-01, the
first FAT date); the disk GUID, partition GUID and FAT volume ID are derived
(:func:`formats.gpt.guid_from_seed`) from the epoch and the SHA-256 of the content, so two
different images built at the same epoch differ and the same inputs give the same bytes.
:func:`esp_disk` is the builder the GCE UEFI route shares.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

from formats import fat, gpt
from formats.errors import FormatError
from formats.sparse import SparseImage

LAYOUTS = ("gpt", "superfloppy")
DEFAULT_SIZE = 64 << 20
#: GPT partition name of the ESP (what sgdisk writes for EF00)
ESP_NAME = "EFI system partition"


def build_identity(content: bytes) -> tuple[int, str]:
    """``(timestamp, seed)`` of an image of ``content``: the FAT/tar time
    (``SOURCE_DATE_EPOCH``, else 0) and the seed of every derived identifier
    (``"EPOCH:SHA256"``, or the SHA-256 hex alone without SOURCE_DATE_EPOCH).

    Raises:
        InputError: a malformed SOURCE_DATE_EPOCH.
    """
    from imgtool.epoch import source_date_epoch

    epoch = source_date_epoch()
    digest = hashlib.sha256(content).hexdigest()
    if epoch is None:
        return 0, digest
    return epoch, f"{epoch}:{digest}"


def esp_disk(files: dict, *, disk_size: int, seed: str, timestamp: int, layout: str = "gpt") -> SparseImage:
    """A disk of ``disk_size`` bytes with a FAT32 ESP holding ``files`` (``{"EFI/BOOT/
    BOOTX64.EFI": bytes}``), in ``layout`` (see the module doc).

    Raises:
        FormatError: an unknown layout (``field="layout"``), a size that is not a multiple
            of 512 or too small for FAT32 or for the files (``field="disk size"``).
    """
    if layout not in LAYOUTS:
        raise FormatError(f"unknown ESP layout {layout!r} (expected {' or '.join(LAYOUTS)})", field="layout")
    if disk_size <= 0 or disk_size % 512:
        raise FormatError(f"disk size must be a positive multiple of 512 bytes, got {disk_size}", field="disk size")
    volume_id = fat.volume_id_from_seed(seed)
    need = fat.min_size(files, fat_type=32)
    if layout == "superfloppy":
        _check_room(disk_size, need)
        return fat.build(files, size=disk_size, fat_type=32, timestamp=timestamp, volume_id=volume_id)
    _check_room(disk_size, need + (2 << 20))
    (first, last), = gpt.plan(disk_size, [None])
    volume = fat.build(files, size=(last - first + 1) * 512, fat_type=32, hidden_sectors=first, timestamp=timestamp,
                       volume_id=volume_id)
    return gpt.build(disk_size, [gpt.GptPartition("esp", first, last, ESP_NAME)], seed=seed, contents=[volume])


def _check_room(disk_size: int, need: int) -> None:
    if disk_size < need:
        raise FormatError(f"a {disk_size}-byte disk is too small for a FAT32 ESP holding these files "
                          f"(at least {-(-need // (1 << 20))} MiB)", field="disk size")


@dataclass(frozen=True)
class EspImage:
    """What :func:`build_esp` made: the ``disk`` (a :class:`~formats.sparse.SparseImage`),
    its ``layout``, the ``files`` put on it (path -> size in bytes) and the FAT ``timestamp``."""

    disk: SparseImage
    layout: str
    files: dict
    timestamp: int


def build_esp(efi_path: str | os.PathLike[str], *, size: int = DEFAULT_SIZE, layout: str = "gpt") -> EspImage:
    """The ESP disk image for the UEFI application at ``efi_path``.

    Raises:
        InputError: unreadable file, an ELF (make the .efi first), bad SOURCE_DATE_EPOCH.
        FormatError: not a PE image, a machine without a boot file name, bad layout or size
            (named with the file).
    """
    from imgtool.uefi import esp_files, read_pe

    pe = read_pe(efi_path)
    try:
        files = esp_files(pe)
        timestamp, seed = build_identity(pe)
        disk = esp_disk(files, disk_size=size, seed=seed, timestamp=timestamp, layout=layout)
    except FormatError as exc:
        raise exc.with_source(str(efi_path)) from None
    return EspImage(disk, layout, {k: len(v) for k, v in files.items()}, timestamp)
