"""The boot stubs of formats.boot, booted under QEMU (TCG) with freestanding payloads and
images assembled here (the builders come later): the Raspberry Pi entry stubs (raspi2b,
raspi0), the BSS-zeroing stub with random bytes over the BSS (mcimx6ul-evk with QEMU's
generic loader, raspi2b), and the BIOS boot sector on SeaBIOS. Each boot takes a second
or two; the payloads print every check and end with "PAYLOAD DONE"."""

from __future__ import annotations

import struct
import subprocess

import pytest

from formats.boot import arm, bios
from hab_helpers import need
from payload_helpers import build_payload, park_blob, regset_blob
from qemu_helpers import boot_imx6ul, boot_raspi, boot_seabios, random_fill

KERNEL_ADDRESS = 0x8000  # where the Pi firmware (and QEMU -bios) loads kernel.img
BIG_BSS = 4 * 1024 * 1024 + 3  # a few MiB, odd: the end is not word-aligned
GO_BSS = 32 * 1024 * 1024 + 1  # crypto/internal/fips140/drbg.memory of a Go 1.26 program, + 1 byte
XP_BIT = 1 << 23


def sctlr(console: str) -> int:
    return int(console.split("SCTLR=")[1].split()[0], 16)


def regs(console: str) -> dict[str, int]:
    line = next(l for l in console.splitlines() if l.startswith("R0="))
    return {k: int(v, 16) for k, v in (kv.split("=") for kv in line.split())}


def pi_kernel(stub: bytes, text_start: int, flat: bytes) -> bytes:
    """The upstream recipe: stub, zero pad to TEXT_START - 0x8000, then the flat image."""
    assert len(stub) <= text_start - KERNEL_ADDRESS
    return stub + bytes(text_start - KERNEL_ADDRESS - len(stub)) + flat


def dirty_bss(payload, extra: int = 16) -> list[tuple[bytes, int]]:
    """Random bytes over the whole BSS span (gap included) and ``extra`` bytes past its end."""
    return [(random_fill(payload.bss_start, payload.bss_end + extra), payload.bss_start)]


@pytest.fixture(scope="module")
def park():
    return park_blob()


# --- Raspberry Pi entry stub ---------------------------------------------------------------


@pytest.mark.parametrize("text_start", [0x110000, 0x10000], ids=["TEXT_START=0x110000", "TEXT_START=0x10000"])
def test_plain_stub_boots_raspi2b(tmp_path, park, text_start):
    p = build_payload("raspi2b", text_start=text_start, bss_size=BIG_BSS)
    out = boot_raspi(pi_kernel(arm.entry_stub(p.entry), text_start, p.flat(with_bss=True)), tmp_path, park=park)
    assert "BSS OK" in out and "END ZERO" in out
    assert regs(out)["R1"] == p.entry  # the plain stub clobbers r1 with the entry, as upstream's
    assert sctlr(out) & XP_BIT  # ARMv7: XP reads as one


@pytest.mark.parametrize("variant", arm.VARIANTS)
def test_entry_stubs_on_raspi0(tmp_path, variant):
    """Both variants reach the entry on the ARM1176; only armv6 leaves SCTLR.XP set (QEMU
    resets it to 0, and TamaGo's MMU set-up needs it: upstream's stub hangs there in
    InitMMU, boot-artifacts.md 1.4)."""
    p = build_payload("raspi0", bss_size=0x1000)
    out = boot_raspi(pi_kernel(arm.entry_stub(p.entry, variant=variant), p.text_start, p.flat(with_bss=True)),
                     tmp_path, machine="raspi0")
    assert "BSS OK" in out
    assert regs(out)["R1"] == p.entry
    assert bool(sctlr(out) & XP_BIT) == (variant == "armv6")


# --- BSS-zeroing stub ----------------------------------------------------------------------


@pytest.mark.parametrize("variant", arm.VARIANTS)
def test_bss_zero_stub_imx6ul(tmp_path, variant):
    """The stub in the padding below TEXT_START (where an .imx has it), entered from a "ROM"
    that set every register: the payload sees the BSS zero, the gap and the bytes after the
    BSS untouched, and r0-r14 and the flags as the ROM left them."""
    p = build_payload("imx6ul", bss_size=GO_BSS, regcheck=True)
    stub_at, rom_at = 0x80000400, 0x80001000
    stub = arm.bss_zero_stub(p.entry, p.bss_ranges, variant=variant, address=stub_at)
    image = [(p.flat(), p.text_start), (stub, stub_at), (regset_blob(stub_at, rom_at), rom_at)]
    out = boot_imx6ul(image + dirty_bss(p), rom_at, tmp_path)
    for line in ("BSS OK", "GAP KEPT", "END KEPT", "REGS OK"):
        assert line in out.splitlines(), out


def test_without_stub_the_random_bss_shows_imx6ul(tmp_path):
    p = build_payload("imx6ul", bss_size=GO_BSS, regcheck=True)
    rom_at = 0x80001000
    out = boot_imx6ul([(p.flat(), p.text_start), (regset_blob(p.entry, rom_at), rom_at)] + dirty_bss(p), rom_at,
                      tmp_path)
    assert "BSS DIRTY" in out and "REGS OK" in out


def test_register_check_sees_a_clobbering_stub_imx6ul(tmp_path):
    """The register check is real: the 12-byte entry stub (it clobbers r1) fails it."""
    p = build_payload("imx6ul", bss_size=0x1000, regcheck=True)
    stub_at, rom_at = 0x80000400, 0x80001000
    image = [(p.flat(with_bss=True), p.text_start), (arm.entry_stub(p.entry), stub_at),
             (regset_blob(stub_at, rom_at), rom_at)]
    out = boot_imx6ul(image, rom_at, tmp_path)
    assert f"REGS BAD r01={p.entry:08x}" in out and "REGS OK" not in out


@pytest.mark.parametrize("text_start", [0x110000, 0x10000], ids=["TEXT_START=0x110000", "TEXT_START=0x10000"])
def test_compact_pi_kernel_raspi2b(tmp_path, park, text_start):
    """kernel.img = BSS-zeroing stub at 0x8000 + pad + the image up to its last initialised
    byte; random bytes over the BSS. With the plain entry stub the BSS shows dirty."""
    p = build_payload("raspi2b", text_start=text_start, bss_size=BIG_BSS)
    stub = arm.bss_zero_stub(p.entry, p.bss_ranges, address=KERNEL_ADDRESS)
    out = boot_raspi(pi_kernel(stub, text_start, p.flat()), tmp_path / "compact", park=park, loaders=dirty_bss(p))
    for line in ("BSS OK", "GAP KEPT", "END KEPT"):
        assert line in out.splitlines(), out
    assert regs(out)["R1"] != p.entry  # r1 as QEMU's boot code left it, not clobbered

    out = boot_raspi(pi_kernel(arm.entry_stub(p.entry), text_start, p.flat()), tmp_path / "plain", park=park,
                     loaders=dirty_bss(p))
    assert "BSS DIRTY" in out


def test_compact_pi_kernel_armv6_raspi0(tmp_path):
    p = build_payload("raspi0", bss_size=BIG_BSS)
    stub = arm.bss_zero_stub(p.entry, p.bss_ranges, variant="armv6", address=KERNEL_ADDRESS)
    out = boot_raspi(pi_kernel(stub, p.text_start, p.flat()), tmp_path, machine="raspi0", loaders=dirty_bss(p))
    assert "BSS OK" in out and "GAP KEPT" in out and "END KEPT" in out
    assert sctlr(out) & XP_BIT


# --- BIOS boot sector ------------------------------------------------------------------------

PAYLOAD_LBA = 64


def mbr_disk(path, code: bytes, payload: bytes, *, lba: int = PAYLOAD_LBA, size: int = 8 << 20):
    """A raw disk: the 440 bytes of boot code, a disk signature, one partition entry
    (bootable, type 0xDA "non-FS data", LBA-only CHS) covering the payload, 0x55AA; the
    payload at ``lba``. (Stands in for formats/mbr.py.)"""
    sectors = bios.sectors_for(len(payload))
    entry = struct.pack("<B3sB3sII", 0x80, b"\xfe\xff\xff", 0xDA, b"\xfe\xff\xff", lba, sectors)
    mbr = code + b"IMGT" + b"\0\0" + entry + bytes(48) + b"\x55\xaa"
    assert len(mbr) == 512
    disk = bytearray(size)
    disk[:512] = mbr
    disk[lba * 512:lba * 512 + len(payload)] = payload
    path.write_bytes(disk)
    return path


@pytest.fixture(scope="module")
def x86_payload():
    return build_payload("x86", bss_size=BIG_BSS)


@pytest.mark.parametrize("interface", ["virtio", "ide"])
def test_bios_boot_sector_zeroes_bss(tmp_path, x86_payload, interface):
    p = x86_payload
    flat = p.flat()
    code = bios.boot_code(load=p.text_start, entry=p.entry, lba=PAYLOAD_LBA, payload_size=len(flat),
                          bss_start=p.bss_start, bss_end=p.bss_end)
    disk = mbr_disk(tmp_path / "disk.raw", code, flat)
    out = boot_seabios(disk, tmp_path, interface=interface, loaders=dirty_bss(p))
    # one range, gap included; the bytes after it stay as they were
    for line in ("BSS OK", "GAP ZERO", "END KEPT"):
        assert line in out.splitlines(), out


def test_bios_without_bss_range_the_random_bss_shows(tmp_path, x86_payload):
    p = x86_payload
    flat = p.flat()
    code = bios.boot_code(load=p.text_start, entry=p.entry, lba=PAYLOAD_LBA, payload_size=len(flat))
    out = boot_seabios(mbr_disk(tmp_path / "disk.raw", code, flat), tmp_path, loaders=dirty_bss(p))
    assert "BSS DIRTY" in out


def test_bios_loads_the_last_partial_sector(tmp_path):
    """A payload whose size mod 32 KiB is 1-511 bytes: the code and data in its last bytes
    print "TAIL OK". With the count rounded down (upstream tools/mbr.s) the tail is lost."""
    p = build_payload("x86", bss_size=0x1000, tail_end=0x10000 + 100)
    flat = p.flat()
    assert 1 <= len(flat) % 32768 <= 511
    kw = dict(load=p.text_start, entry=p.entry, lba=PAYLOAD_LBA, bss_start=p.bss_start, bss_end=p.bss_end)
    out = boot_seabios(mbr_disk(tmp_path / "up.raw", bios.boot_code(payload_size=len(flat), **kw), flat), tmp_path)
    assert "TAIL OK" in out and "BSS OK" in out
    rounded_down = len(flat) // 512 * 512
    out = boot_seabios(mbr_disk(tmp_path / "down.raw", bios.boot_code(payload_size=rounded_down, **kw), flat),
                       tmp_path)
    assert "TAIL MISSING" in out


def test_bios_read_error_is_reported(tmp_path, x86_payload):
    p = x86_payload
    flat = p.flat()
    code = bios.boot_code(load=p.text_start, entry=p.entry, lba=(8 << 20) // 512 + 10, payload_size=len(flat))
    out = boot_seabios(mbr_disk(tmp_path / "disk.raw", code, flat), tmp_path, marker="disk read error")
    assert "imgtool boot: disk read error" in out and "PAYLOAD DONE" not in out


def test_x86_payload_as_elf64_has_the_same_image(x86_payload):
    """Builders that take only x86-64 ELFs get the same program (objcopy -O elf64-x86-64)."""
    elf64 = x86_payload.elf64()
    header = subprocess.run([need("readelf"), "-h", elf64], capture_output=True, text=True, check=True).stdout
    assert "ELF64" in header and "X86-64" in header and f"0x{x86_payload.entry:x}" in header
    out = elf64.parent / "flat64.bin"
    subprocess.run([x86_payload.objcopy, "-O", "binary", elf64, out], check=True)
    assert out.read_bytes() == x86_payload.flat()
