"""Compact images booted under QEMU (TCG): a freestanding ARMv7 payload linked like TamaGo
(TEXT_START 0x80010000, a 32 MiB + 1 byte .noptrbss), made into a compact .imx by
``imgtool imx build --compact`` (and ``imx sign --compact``) and into a compact flat image
by ``imgtool bin --compact``, on ``-M mcimx6ul-evk`` with QEMU's generic loader: random
bytes over the BSS first, the image at its IVT ``self`` address, the CPU started at the
IVT entry. The payload prints "BSS OK" on its UART only if every BSS byte is zero; the
same image entered at e_entry instead of the stub must show "BSS DIRTY" (the fill is
real). The same for ``imgtool rpi kernel --compact`` on ``-M raspi2b`` (Pi 2 profile,
plain stub) and ``-M raspi0`` (Pi Zero profile, ARMv6 stub), where the entry stub of a
plain kernel.img stands for "without the stub"."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import pytest

from formats.boot import arm
from formats.imx.image import parse_imx
from hab_helpers import SIGNING_TIME, pki
from payload_helpers import STUBS, assemble_arm, build_payload, park_blob
from qemu_helpers import boot_imx6ul, boot_raspi, random_fill

GO_BSS = 32 * 1024 * 1024 + 1
MK2_CFG = Path(__file__).resolve().parent.parent / "imgtool" / "boards" / "usbarmory-mk2.cfg"


def imgtool(*args) -> None:
    r = subprocess.run([sys.executable, "-m", "imgtool", *map(str, args)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


@pytest.fixture(scope="module")
def payload():
    return build_payload("imx6ul", bss_size=GO_BSS)


def dirty_bss(payload, image_end: int) -> list[tuple[bytes, int]]:
    """Random bytes over the BSS from the end of the loaded image (QEMU refuses loaders
    that overlap; an .imx pads its payload to 4 KiB with zeros, and a signed one's CSF
    lands inside the BSS too, where the ROM loads it) to 16 bytes past it."""
    start = max(payload.bss_start, image_end)
    assert payload.bss_end - start > GO_BSS - 0x8000  # nearly all of the BSS is dirty
    return [(random_fill(start, payload.bss_end + 16), start)]


def boot_imx(imx: bytes, payload, workdir: Path, entry: int | None = None) -> str:
    self_addr, ivt_entry = struct.unpack_from("<I", imx, 20)[0], struct.unpack_from("<I", imx, 4)[0]
    start = ivt_entry if entry is None else entry
    return boot_imx6ul([(imx, self_addr)] + dirty_bss(payload, self_addr + len(imx)), start, workdir)


@pytest.mark.parametrize("signed", [False, True], ids=["built", "signed"])
def test_compact_imx_boots_and_zeroes_the_bss(payload, tmp_path, signed):
    out = tmp_path / "c.imx"
    common = ["--board", "usbarmory-mk2", "--dcd", MK2_CFG, "--compact", "-o", out]
    if signed:
        imgtool("imx", "sign", payload.elf, *common, "--keys", pki(), "--signing-time", int(SIGNING_TIME.timestamp()))
    else:
        imgtool("imx", "build", payload.elf, *common)
    imx = out.read_bytes()
    img = parse_imx(imx)
    assert img.ivt.self_addr < img.ivt.entry < img.payload_address  # the stub in the header padding
    console = boot_imx(imx, payload, tmp_path / "stub")
    assert "BSS OK" in console.splitlines() and "END KEPT" in console.splitlines(), console

    console = boot_imx(imx, payload, tmp_path / "nostub", entry=payload.entry)
    assert "BSS DIRTY" in console, console


def test_compact_bin_boots_from_its_stub(payload, tmp_path):
    """``imgtool bin --compact --stub-at`` just below TEXT_START, loaded at the stub and
    started there."""
    at = payload.text_start - 0x100
    out = tmp_path / "c.bin"
    imgtool("bin", payload.elf, "-o", out, "--compact", "--stub-at", hex(at))
    data = out.read_bytes()
    loaders = [(data, at), (random_fill(payload.bss_start, payload.bss_end + 16), payload.bss_start)]
    console = boot_imx6ul(loaders, at, tmp_path / "stub")
    assert "BSS OK" in console.splitlines() and "GAP KEPT" in console.splitlines(), console
    console = boot_imx6ul(loaders, payload.entry, tmp_path / "nostub")
    assert "BSS DIRTY" in console, console


@pytest.mark.parametrize("machine, board, variant", [("raspi2b", "pi2", "plain"), ("raspi0", "pizero", "armv6")])
def test_compact_pi_kernel_boots_and_zeroes_the_bss(machine, board, variant, tmp_path):
    """kernel.img = the BSS-zeroing stub at 0x8000 (as binutils assemble it) + zeros up to
    TEXT_START + the image up to its last initialised byte; random bytes over the BSS."""
    p = build_payload(machine, bss_size=GO_BSS)
    out = tmp_path / "kernel.img"
    imgtool("rpi", "kernel", p.elf, "--board", board, "--compact", "-o", out, "--no-config")
    kernel = out.read_bytes()
    syms = {"ENTRY": p.entry, "XP": int(variant == "armv6"), "NRANGES": len(p.bss_ranges)}
    for i, (s, e) in enumerate(p.bss_ranges):
        syms[f"START{i}"], syms[f"END{i}"] = s, e
    stub = assemble_arm(STUBS / "arm_bsszero.S", syms)
    assert kernel == stub + bytes(p.text_start - 0x8000 - len(stub)) + p.flat()
    fill = [(random_fill(p.bss_start, p.bss_end + 16), p.bss_start)]
    park = park_blob() if machine == "raspi2b" else None
    console = boot_raspi(kernel, tmp_path / "stub", machine=machine, park=park, loaders=fill)
    for line in ("BSS OK", "GAP KEPT", "END KEPT"):
        assert line in console.splitlines(), console

    entry = arm.entry_stub(p.entry, variant=variant)
    plain = entry + bytes(len(stub) - len(entry)) + kernel[len(stub):]
    console = boot_raspi(plain, tmp_path / "nostub", machine=machine, park=park, loaders=fill)
    assert "BSS DIRTY" in console, console
