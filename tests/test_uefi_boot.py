"""The UEFI images boot: OVMF (Debian's) under qemu-system-x86_64 -machine q35, TCG.

Each payload (tests/uefi/payload.c, built with gcc here and converted with ``imgtool uefi
app``) is booted once per session as \\EFI\\BOOT\\BOOTX64.EFI from a disk imgtool made:
an ESP image from ``imgtool uefi esp`` (GPT, or the superfloppy for the relocated PIE), and
for the fixed-address payload the GCE UEFI disk that GNU tar extracts from the tarball of
``imgtool gce disk --boot uefi`` (both routes of issue 13 boot; the BIOS one in
test_gce_boot.py). Its
console line says where it runs, whether a pointer stored in .data was relocated,
whether .data kept its value and whether .bss is zero. Secure Boot uses OVMF's
secboot code with the snakeoil variable store (PK/KEK/db = Debian's snakeoil certificate).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from gce_helpers import gce_disk, imgtool, untar_disk
from uefi_helpers import CONSOLE_LINE, SNAKEOIL_CERT, SNAKEOIL_KEY, snakeoil_password

#: a preferred ImageBase no RAM backs (the VMs have 512 MiB): the firmware must move the image
FAR_IMAGE_BASE = 0x10_0000_0000


@pytest.fixture(scope="module")
def efi(uefi_payloads, tmp_path_factory):
    """name -> .efi bytes, made by the CLI."""
    d = tmp_path_factory.mktemp("boot-efi")
    pw = snakeoil_password(d)
    jobs = {"fixed": (uefi_payloads["fixed"],), "pie": (uefi_payloads["pie"],),
            "pie-far": (uefi_payloads["pie"], "--image-base", hex(FAR_IMAGE_BASE)),
            "fixed-signed": (uefi_payloads["fixed"], "--sign-key", SNAKEOIL_KEY, "--sign-cert", SNAKEOIL_CERT,
                             "--password-file", pw)}
    out = {}
    for name, (elf, *args) in jobs.items():
        path = d / f"{name}.efi"
        r = subprocess.run([sys.executable, "-m", "imgtool", "uefi", "app", str(elf), "-o", str(path),
                            *map(str, args)], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        out[name] = path.read_bytes()
    return out


#: disk name -> (.efi name, layout): the ESP images ``imgtool uefi esp`` makes
ESPS = {"fixed-esp": ("fixed", "gpt"), "pie-esp": ("pie", "gpt"), "pie-far-floppy": ("pie-far", "superfloppy"),
        "signed-esp": ("fixed-signed", "gpt")}
#: (boot name, disk, boot options) of every boot below
BOOTS = [("fixed", "fixed-gce", {}), ("fixed-256M", "fixed-esp", {"memory": "256M", "marker": "Not Found"}),
         ("pie", "pie-esp", {}), ("pie-far", "pie-far-floppy", {}), ("sb-signed", "signed-esp", {"secure": True}),
         ("sb-unsigned", "fixed-esp", {"secure": True, "marker": "Access Denied"})]


@pytest.fixture(scope="module")
def disks(efi, uefi_payloads, tmp_path_factory, uefi_boots):
    """disk name -> raw disk Path, made by the CLI; every boot of this module is started
    here, two at a time."""
    d = tmp_path_factory.mktemp("boot-disks")
    out = {}
    for name, (image, layout) in ESPS.items():
        (d / f"{image}.efi").write_bytes(efi[image])
        out[name] = d / f"{name}.img"
        imgtool("uefi", "esp", d / f"{image}.efi", "-o", out[name], "--layout", layout)
    tarball, _, _ = gce_disk(uefi_payloads["fixed"], d / "gce", "--boot", "uefi", "-q")
    out["fixed-gce"] = untar_disk(tarball, d / "gce-untar")
    uefi_boots.prefetch([(name, out[disk], kw) for name, disk, kw in BOOTS])
    return out


def _entry(image: bytes) -> tuple[int, int]:
    """(ImageBase, AddressOfEntryPoint): the payload's efi_main is its entry point."""
    from formats.pe import parse

    oh = parse(image).optional_header
    return oh.ImageBase, oh.AddressOfEntryPoint


def _line(console: str):
    m = CONSOLE_LINE.search(console)
    assert m, f"no marker line on the console:\n{console[-2000:]}"
    kind, at, ptr, data, bss = m.groups()
    return kind, int(at, 16), int(ptr, 16), data, bss


def test_fixed_address_image_boots_at_its_image_base(efi, disks, uefi_boots):
    console = uefi_boots.get("fixed", disks["fixed-gce"])
    assert "IMGTOOL-CONOUT-OK" in console  # through the firmware's ConOut protocol
    kind, at, ptr, data, bss = _line(console)  # through COM1 directly
    base, entry = _entry(efi["fixed"])
    assert (kind, at, ptr, data, bss) == ("FIXED", base + entry, base + entry, "ok", "zero")
    assert base == 0x10000000


def test_fixed_address_image_is_refused_cleanly_when_its_image_base_is_not_ram(efi, disks, uefi_boots):
    """RELOCS_STRIPPED: with 256 MiB of RAM, ImageBase 0x10000000 is the first byte past
    it, and the firmware refuses the image instead of starting it at the wrong address."""
    console = uefi_boots.get("fixed-256M", disks["fixed-esp"], memory="256M", marker="Not Found")
    assert "failed to load Boot0001" in console and "Not Found" in console
    assert "IMGTOOL" not in console


def test_pie_boots_at_its_preferred_image_base(efi, disks, uefi_boots):
    kind, at, ptr, data, bss = _line(uefi_boots.get("pie", disks["pie-esp"]))
    base, entry = _entry(efi["pie"])
    assert (kind, at, ptr, data, bss) == ("PIE", base + entry, base + entry, "ok", "zero")


def test_pie_is_relocated_by_the_firmware_when_its_image_base_is_unusable(efi, disks, uefi_boots):
    kind, at, ptr, data, bss = _line(uefi_boots.get("pie-far", disks["pie-far-floppy"]))
    assert kind == "PIE" and data == "ok" and bss == "zero"
    base, entry = _entry(efi["pie-far"])
    assert base == FAR_IMAGE_BASE
    load = at - entry  # where the firmware put the image: elsewhere, in RAM, page-aligned
    assert load != base and load < 512 << 20 and load % 0x1000 == 0
    assert ptr == at  # the .reloc entries were applied: the stored pointer moved with the image


def test_secure_boot_runs_the_signed_image_and_refuses_the_unsigned_one(efi, disks, uefi_boots):
    signed = uefi_boots.get("sb-signed", disks["signed-esp"], secure=True)
    assert _line(signed)[0] == "FIXED"
    unsigned = uefi_boots.get("sb-unsigned", disks["fixed-esp"], secure=True, marker="Access Denied")
    assert "Access Denied" in unsigned and "IMGTOOL" not in unsigned
