"""``imgtool rpi kernel`` images booted under QEMU (TCG): freestanding ARM payloads linked
like TamaGo (TEXT_START 0x110000 and 0x10000, entry inside .text, a 4 MiB + 3 byte BSS
the payload checks is zero), ``-M raspi2b -bios kernel.img`` with the secondary-core park
blob and ``-M raspi0`` with the ARMv6 stub; each boot reads "PAYLOAD DONE" from the mini
UART within the timeout (about a second each)."""

from __future__ import annotations

import pytest

from payload_helpers import build_payload, park_blob
from qemu_helpers import boot_raspi

BIG_BSS = 4 * 1024 * 1024 + 3
XP_BIT = 1 << 23
LAYOUTS = pytest.mark.parametrize("text_start", [0x110000, 0x10000], ids=["TEXT_START=0x110000", "TEXT_START=0x10000"])


def _value(console: str, key: str) -> int:
    return int(console.split(key + "=")[1].split()[0], 16)


def _kernel(run_imgtool, payload, board: str, tmp_path, *extra: str) -> bytes:
    out = tmp_path / "kernel.img"
    ram_start = ["--ram-start", "0"] if payload.text_start < 0x110000 else []  # the pre-2021 layout
    run_imgtool("rpi", "kernel", payload.elf, "--board", board, *ram_start, *extra, "-o", out, check=True)
    return out.read_bytes()


@pytest.fixture(scope="module")
def park():
    return park_blob()


@LAYOUTS
def test_pi2_kernel_boots_raspi2b(text_start, park, tmp_path, run_imgtool):
    p = build_payload("raspi2b", text_start=text_start, bss_size=BIG_BSS)
    kernel = _kernel(run_imgtool, p, "pi2", tmp_path)
    assert len(kernel) == p.bss_end - 0x8000  # stub + pad + image up to the end of .noptrbss
    assert not any(kernel[p.bss_start - 0x8000:])  # the BSS stored as zeros (QEMU's loaders would win over
    # -bios, so random RAM under it cannot be simulated here; formats.boot's compact tests do that)
    out = boot_raspi(kernel, tmp_path / "qemu", park=park)
    assert "BSS OK" in out.splitlines()
    assert _value(out, "R1") == p.entry  # the plain stub loaded e_entry into r1 and jumped there


@LAYOUTS
def test_pizero_kernel_boots_raspi0_with_the_armv6_stub(text_start, tmp_path, run_imgtool):
    """The Pi Zero profile's default stub sets SCTLR.XP (QEMU's raspi0 resets it to 0;
    TamaGo's page tables need it)."""
    p = build_payload("raspi0", text_start=text_start, bss_size=BIG_BSS)
    out = boot_raspi(_kernel(run_imgtool, p, "pizero", tmp_path), tmp_path / "qemu", machine="raspi0")
    assert "BSS OK" in out.splitlines()
    assert _value(out, "SCTLR") & XP_BIT and _value(out, "R1") == p.entry


def test_plain_stub_leaves_xp_clear_on_raspi0(tmp_path, run_imgtool):
    """--stub plain (upstream's) on the ARM1176: the payload runs, SCTLR.XP stays 0."""
    p = build_payload("raspi0", bss_size=0x1000)
    out = boot_raspi(_kernel(run_imgtool, p, "pizero", tmp_path, "--stub", "plain"), tmp_path / "qemu", machine="raspi0")
    assert "BSS OK" in out.splitlines() and not _value(out, "SCTLR") & XP_BIT
