"""The GCE BIOS disk boots: SeaBIOS (QEMU's BIOS, and GCE's) on q35, TCG, from the
``disk.raw`` that GNU tar extracts out of the tarball ``imgtool gce disk`` wrote. The 32-bit
test payloads print on COM1: "BSS OK" only if their BSS is zero (random bytes are loaded
over it first, and the disk stores none), "TAIL OK" from the last bytes of a payload whose
size mod 32 KiB is 1-511. The UEFI route boots in test_uefi_boot.py (the "fixed" boot)."""

from __future__ import annotations

import pytest

from gce_helpers import gce_disk, untar_disk
from payload_helpers import build_payload
from qemu_helpers import boot_seabios, random_fill

BIG_BSS = 4 * 1024 * 1024 + 3


def _dirty_bss(p) -> list[tuple[bytes, int]]:
    """Random bytes over the BSS span, gap included, as RAM left dirty."""
    return [(random_fill(p.bss_start, p.bss_end), p.bss_start)]


@pytest.mark.parametrize("elf_class", ["ELF64", "ELF32"])
def test_bios_disk_from_the_tarball_boots_and_its_bss_is_zeroed(tmp_path, elf_class):
    """The payload as an x86-64 ELF (a TamaGo amd64 ELF's class and machine) and as the
    i386 ELF32 gcc linked: both go in; the tail-marker payload is the ELF32 one."""
    if elf_class == "ELF64":
        p = build_payload("x86", bss_size=BIG_BSS)
        elf, lines = p.elf64(), ("BSS OK", "GAP ZERO", "PAYLOAD DONE")
    else:
        p = build_payload("x86", bss_size=0x1000, tail_end=0x10000 + 100)
        assert 1 <= len(p.flat()) % 32768 <= 511
        elf, lines = p.elf, ("BSS OK", "TAIL OK", "PAYLOAD DONE")
    tarball, _, _ = gce_disk(elf, tmp_path / "build", "-q")
    disk = untar_disk(tarball, tmp_path / "untar")
    out = boot_seabios(disk, tmp_path / "boot", loaders=_dirty_bss(p))
    for line in lines:
        assert line in out.splitlines(), out
