"""``imgtool gce disk``: a Google Compute Engine boot disk and its import tarball.

Two routes (reference notes §2; docs/gce.md):

* **BIOS** (an ELF; TamaGo's ``google/gcp`` board on T2D machines): LBA 0 is an MBR whose
  first 440 bytes are imgtool's boot sector (:mod:`formats.boot.bios`: INT 13h extended
  reads with the sector count rounded up, 32-bit protected mode with paging off, the BSS
  zeroed, a jump to ``e_entry``), then a disk signature and one bootable partition record
  of type 0xDA ("Non-FS data", fdisk's name for raw data that is no file system) covering
  the payload from LBA 2048 (1 MiB, where fdisk starts the first partition). The payload is
  the ELF's loaded sections from the lowest load address (``.text`` for a TamaGo ELF) up
  to its last initialised byte (:func:`formats.loadimage.flatten` without BSS): the disk
  stores no BSS zeros, the boot sector writes them. An x86-64 ELF (TamaGo amd64) or an
  i386 ELF32 is accepted: both are entered in 32-bit protected mode.
* **UEFI** (an ELF, converted by :func:`imgtool.uefi.build_app`, or a ``.efi``): a GPT disk
  with one FAT32 EFI system partition holding ``\\EFI\\BOOT\\BOOTX64.EFI``
  (:func:`imgtool.esp.esp_disk`); GCE needs ``--guest-os-features=UEFI_COMPATIBLE``.

The disk is a whole number of GiB (GCE's import refuses others): the smallest that holds
it unless a size is given. It is packed as ``disk.raw`` in a gzip-compressed oldgnu tar with
a GNU sparse member (:func:`formats.tar.build_gz`, what ``tar --format=oldgnu -Sczf``
makes). Reproducible: tar mtime and FAT times from SOURCE_DATE_EPOCH (else 0), owner 0/0,
no gzip time, disk signature and GUIDs derived from the epoch and the payload's SHA-256
(:func:`imgtool.esp.build_identity`).
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from formats import mbr, tar
from formats.boot import bios
from formats.errors import FormatError
from formats.sparse import SparseImage
from imgtool.errors import InputError

GIB = 1 << 30
#: First sector of the BIOS route's payload partition (1 MiB, fdisk's first partition start).
PAYLOAD_LBA = 2048
#: MBR OSType of the payload partition: 0xDA "Non-FS data" (fdisk/sfdisk's name).
PARTITION_TYPE = 0xDA
#: The one member name GCE's import accepts.
TAR_MEMBER = "disk.raw"
DEFAULT_TARBALL = "compressed-image.tar.gz"
ROUTES = ("bios", "uefi")
_LIMIT_32 = 1 << 32
_PE_MACHINE_AMD64 = 0x8664


@dataclass(frozen=True)
class GceDisk:
    """A built GCE disk.

    Attributes:
        disk: the raw disk (:class:`~formats.sparse.SparseImage`, a whole number of GiB).
        boot: ``"bios"`` or ``"uefi"``.
        source: the input file name.
        timestamp: tar mtime and FAT times (seconds since 1970).
        payload_size: bytes of the payload on the disk (the flat image; the .efi).
        params: the boot sector's parameters (BIOS route), else ``None``.
        warnings: what the UEFI conversion warned about.
    """

    disk: SparseImage
    boot: str
    source: str
    timestamp: int
    payload_size: int
    params: Optional[bios.BiosBootParams] = None
    warnings: tuple[str, ...] = ()


def disk_size(need: int, size: Optional[int]) -> int:
    """The disk size for content of ``need`` bytes: ``size`` (bytes, a whole number of GiB,
    at least ``need``) or, when ``None``, ``need`` rounded up to whole GiB (at least 1 GiB).

    Raises:
        FormatError: ``field="disk size"``: not whole GiB, or smaller than ``need``.
    """
    if size is None:
        return max(1, -(-need // GIB)) * GIB
    if size <= 0 or size % GIB:
        raise FormatError(f"{size} bytes is not a whole number of GiB (GCE imports only whole-GiB disks)",
                          field="disk size")
    if need > size:
        raise FormatError(f"the payload needs a {need}-byte disk, more than {size // GIB} GiB", field="disk size")
    return size


def build_disk(path: str | os.PathLike[str], *, boot: Optional[str] = None, size: Optional[int] = None) -> GceDisk:
    """The GCE disk for the ELF or UEFI image at ``path``; ``boot`` ``"bios"`` (default for
    an ELF) or ``"uefi"`` (default and only route for a PE image); ``size`` in bytes.

    Raises:
        InputError: unreadable file, unknown route or a PE image for the BIOS route
            (``field="boot"``), bad SOURCE_DATE_EPOCH.
        FormatError: (named with the file) not an ELF or PE image; BIOS: not x86-64 or
            i386, entry or a segment above 4 GiB, load address below 1 MiB, entry outside
            the payload; UEFI: see :func:`imgtool.uefi.build_app`, a PE not for x86-64;
            both: the disk size (``field="disk size"``).
    """
    from imgtool.output import read_input

    data = read_input(path)
    src = str(path)
    is_elf = data[:4] == b"\x7fELF"
    if not is_elf and data[:2] != b"MZ":
        raise FormatError("not an ELF or a UEFI PE image (expected 7f 45 4c 46 or 4d 5a)", source=src, offset=0)
    route = boot or ("bios" if is_elf else "uefi")
    if route not in ROUTES:
        raise InputError(f"unknown boot route {route!r} (expected bios or uefi)", field="boot")
    if route == "bios" and not is_elf:
        raise InputError(f"{src}: is a PE image; the BIOS route boots an ELF (use the uefi route)", field="boot")
    try:
        return _bios(data, src, size) if route == "bios" else _uefi(path, data, is_elf, size)
    except FormatError as exc:
        raise (exc if exc.source else exc.with_source(src)) from None


def bios_payload(elf) -> tuple[bytes, int, int, int]:
    """``(flat image, load address, bss_start, bss_end)`` of ``elf`` (a
    :class:`formats.elf.ElfFile`) for the BIOS boot sector: the loaded sections without
    BSS, and the byte range after them the boot sector zeroes (end exclusive).

    Raises:
        FormatError: not x86-64 or i386 (``e_machine``), entry or a PT_LOAD above 4 GiB,
            load address below 1 MiB, entry outside the flat image, no loadable section.
    """
    from formats.go.binary import check_go_layout
    from formats.loadimage import flatten, loaded_sections

    if elf.arch not in ("amd64", "386"):
        raise FormatError(f"the BIOS route needs an x86-64 (or i386) ELF, this one is for {elf.arch}",
                          source=elf.source, field="e_machine")
    check_go_layout(elf)
    if elf.entry >= _LIMIT_32:
        raise FormatError(f"entry 0x{elf.entry:x} is above 4 GiB: the boot sector jumps to it in 32-bit protected "
                          "mode", source=elf.source, field="e_entry")
    for seg in elf.loads:
        end = max(seg.vaddr, seg.paddr) + seg.memsz
        if seg.memsz and end > _LIMIT_32:
            raise FormatError(f"PT_LOAD {seg.index} at 0x{seg.vaddr:x} ends at 0x{end:x}, above 4 GiB: the boot sector "
                              "loads below 4 GiB with paging off", source=elf.source, field="program headers")
    image = flatten(elf, include_bss=False)
    if image.base < bios.MIN_LOAD_ADDRESS:
        raise FormatError(f"load address 0x{image.base:x} is below 1 MiB (expected >= 0x{bios.MIN_LOAD_ADDRESS:x}: "
                          "the BIOS, the boot sector and its buffer live there)", source=elf.source, field="load address")
    if not image.base <= elf.entry < image.base + len(image.data):
        raise FormatError(f"entry 0x{elf.entry:x} is outside the loaded image 0x{image.base:x}.."
                          f"0x{image.base + len(image.data):x}", source=elf.source, field="e_entry")
    bss_start = image.base + len(image.data)
    bss_end = max([bss_start] + [elf.lma(s) + s.size for s in loaded_sections(elf)])
    return image.data, image.base, bss_start, bss_end


def _bios(data: bytes, src: str, size: Optional[int]) -> GceDisk:
    from formats.elf import ElfFile
    from imgtool.esp import build_identity

    elf = ElfFile.parse(data, source=src)
    flat, load, bss_start, bss_end = bios_payload(elf)
    sectors = bios.sectors_for(len(flat))
    code = bios.boot_code(load=load, entry=elf.entry, lba=PAYLOAD_LBA, payload_size=len(flat), bss_start=bss_start,
                          bss_end=bss_end)
    total = disk_size((PAYLOAD_LBA + sectors) * mbr.SECTOR_SIZE, size)
    timestamp, seed = build_identity(code + flat)
    part = mbr.MbrPartition(PARTITION_TYPE, PAYLOAD_LBA, sectors, bootable=True)
    disk = mbr.build_disk(total, [part], contents=[flat], disk_signature=mbr.signature_from_seed(seed),
                          bootstrap=code)
    return GceDisk(disk, "bios", src, timestamp, len(flat), bios.parse(code))


def _uefi(path, data: bytes, is_elf: bool, size: Optional[int]) -> GceDisk:
    from formats import fat
    from formats.pe import parse as parse_pe
    from imgtool.esp import build_identity, esp_disk
    from imgtool.uefi import build_app, esp_files

    warnings: tuple[str, ...] = ()
    if is_elf:
        app = build_app(path)
        pe, warnings = app.pe, app.warnings
    else:
        pe = data
    machine = parse_pe(pe).file_header.Machine
    if machine != _PE_MACHINE_AMD64:
        raise FormatError(f"GCE boots x86-64 UEFI images (Machine 0x8664), this one is for machine 0x{machine:x}",
                          field="Machine")
    files = esp_files(pe)
    total = disk_size(fat.min_size(files, fat_type=32) + (2 << 20), size)
    timestamp, seed = build_identity(pe)
    disk = esp_disk(files, disk_size=total, seed=seed, timestamp=timestamp, layout="gpt")
    return GceDisk(disk, "uefi", str(path), timestamp, len(pe), None, warnings)


def tar_members(result: GceDisk) -> list:
    """The archive's one member: ``disk.raw``, mode 0644, owner 0/0, mtime = the build's timestamp."""
    return [tar.TarMember(TAR_MEMBER, result.disk, mtime=result.timestamp)]


def write_outputs(result: GceDisk, tarball: str | os.PathLike[str], raw: str | os.PathLike[str] | None = None,
                  progress: Optional[Callable[[int, int], None]] = None) -> None:
    """Write the ``.tar.gz`` to ``tarball`` and, if given, the raw disk to ``raw`` (a
    sparse file): both or neither (:func:`imgtool.output.write_all_atomic`).
    ``progress(done, total)`` counts bytes of the uncompressed archive plus the raw disk's
    stored data.

    Raises:
        InputError: both paths are the same file, or a folder is missing or unwritable.
    """
    from imgtool.output import write_all_atomic

    if raw is not None and Path(raw).resolve() == Path(tarball).resolve():  # named, before check_outputs
        raise InputError(f"{raw}: the raw disk and the tarball would be the same file", field="raw")
    members = tar_members(result)
    total = tar.archive_size(members) + (result.disk.data_size if raw is not None else 0)
    done = {"tar": 0, "raw": 0}

    def report() -> None:
        if progress is not None:
            progress(done["tar"] + done["raw"], total)

    def tar_tick(n: int, _total: int) -> None:
        done["tar"] = n
        report()

    def raw_tick(n: int) -> None:
        done["raw"] += n
        report()

    outputs: list = [(raw, result.disk)] if raw is not None else []
    outputs.append((tarball, tar.build_gz(members, progress=tar_tick)))
    write_all_atomic(outputs, progress=raw_tick)


def image_name(path: str | os.PathLike[str]) -> str:
    """A GCE image name from the input's file name: lower case, ``[a-z]([-a-z0-9]*[a-z0-9])?``,
    at most 63 characters (the Compute Engine resource-name rule, RFC 1035 labels)."""
    name = re.sub(r"[^a-z0-9-]+", "-", Path(path).stem.lower()).strip("-")
    if not name or not name[0].isalpha():
        name = "img-" + name
    return name[:63].rstrip("-")


def gcloud_commands(result: GceDisk, tarball: str | os.PathLike[str], name: Optional[str] = None) -> list[str]:
    """The commands a person runs to upload the tarball and create the image (imgtool
    never calls the cloud): ``gcloud storage cp`` and ``gcloud compute images create``
    with ``--architecture=X86_64`` and, for the UEFI route, ``--guest-os-features=UEFI_COMPATIBLE``."""
    base = Path(tarball).name
    create = (f"gcloud compute images create {name or image_name(result.source)} --source-uri gs://BUCKET/{base} "
              "--architecture=X86_64")
    if result.boot == "uefi":
        create += " --guest-os-features=UEFI_COMPATIBLE"
    return [f"gcloud storage cp {shlex.quote(str(tarball))} gs://BUCKET/", create]
