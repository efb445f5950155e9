"""``imgtool rpi kernel`` on real Go ARM ELFs: byte for byte against the TamaGo recipe
(stub + truncate + objcopy), both TEXT_START layouts and GOARM 5 and 7; config.txt; board
detection from the TamaGo board package; ``imgtool info kernel.img``; and every check
through the CLI (exit 2, one line, nothing written)."""

from __future__ import annotations

import json
import subprocess

import pytest

from formats.boot.arm import ENTRY_STUB_SIZE, entry_stub
from formats.elf import ElfFile
from formats.go.buildinfo import parse_buildinfo
from imgtool.boards import get_board, list_boards
from payload_helpers import build_payload
from rpi_helpers import KERNEL_ADDRESS, listing, pi_elf, recipe_kernel

# (go_elf target, TEXT_START, board, --ram-start): GOARM 5 and 7, both layouts. The Go ELFs
# carry no RamStart symbol; the 0x10000 layout is that of tamago before 2021 (RamStart 0).
LAYOUTS = [
    ("arm5", 0x110000, "pizero", None),
    ("arm7-pi", 0x110000, "pi2", None),
    ("arm5-low", 0x10000, "pi1", "0"),
    ("arm7-low", 0x10000, "pi2", "0"),
]


def fipsinfo_span(elf: ElfFile, text_start: int) -> tuple[int, int]:
    sec = elf.section(".go.fipsinfo")
    start = text_start - KERNEL_ADDRESS + sec.addr - text_start
    return start, start + sec.size


@pytest.mark.parametrize("target,text_start,board,ram_start", LAYOUTS, ids=[t[0] for t in LAYOUTS])
def test_kernel_equals_upstream_recipe(target, text_start, board, ram_start, go_elf, tmp_path, run_imgtool):
    """Stub (the recipe's boot.S assembled by gcc), truncate, objcopy with the recipe's
    section list: identical except .go.fipsinfo, which the recipe leaves as zeros."""
    path = go_elf(target)
    elf = ElfFile.parse(path.read_bytes())
    assert elf.text_start == text_start and parse_buildinfo(elf).settings["GOARM"] == target[3]
    out = tmp_path / "kernel.img"
    args = ["rpi", "kernel", path, "--board", board, "--stub", "plain", "-o", out]
    run_imgtool(*args, *(["--ram-start", ram_start] if ram_start else []), check=True)
    ours, ref = out.read_bytes(), recipe_kernel(path, tmp_path / "recipe", text_start)
    assert len(ours) == len(ref)
    a, b = fipsinfo_span(elf, text_start)
    assert ours[:a] == ref[:a] and ours[b:] == ref[b:]
    fips = bytes(elf.section_data(elf.section(".go.fipsinfo")))
    assert ref[a:b] == bytes(b - a) and ours[a:b] == fips and any(fips)  # the recipe's zeros, our data
    assert ours[:12] == entry_stub(elf.entry) and ours[12:text_start - KERNEL_ADDRESS] == bytes(text_start - KERNEL_ADDRESS - 12)
    config = (tmp_path / "config.txt").read_text()
    assert "kernel=kernel.img\nkernel_address=0x8000\ndisable_commandline_tags=1\n" in config


def test_armv6_stub_differs_in_the_stub_only(go_elf, tmp_path, run_imgtool):
    path = go_elf("arm5")
    run_imgtool("rpi", "kernel", path, "--board", "pizero", "-o", tmp_path / "v6.img", check=True)  # the board's default
    run_imgtool("rpi", "kernel", path, "--board", "pizero", "--stub", "plain", "-o", tmp_path / "plain.img", check=True)
    v6, plain = (tmp_path / "v6.img").read_bytes(), (tmp_path / "plain.img").read_bytes()
    entry = ElfFile.parse(path.read_bytes()).entry
    assert v6[:24] == entry_stub(entry, variant="armv6") and v6[24:] == plain[24:] and plain[12:24] == bytes(12)


def test_config_txt_exactly(tmp_path, run_imgtool):
    path = pi_elf("pi2")
    out, cfg = tmp_path / "boot" / "app.bin", tmp_path / "cfg" / "config.txt"
    out.parent.mkdir()
    cfg.parent.mkdir()
    run_imgtool("rpi", "kernel", path, "-o", out, "--config", cfg, check=True)
    entry = ElfFile.parse(path.read_bytes()).entry
    assert cfg.read_text() == (
        f"# app.bin for pi2 (BCM2836), written by imgtool: plain stub at 0x8000, TEXT_START 0x110000, entry 0x{entry:x}\n"
        "kernel=app.bin\nkernel_address=0x8000\ndisable_commandline_tags=1\nenable_uart=1\ncore_freq=250\n")
    assert "kernel_old" not in cfg.read_text()
    run_imgtool("rpi", "kernel", path, "-o", tmp_path / "k.img", "--no-config", check=True)
    assert not (tmp_path / "config.txt").exists()


@pytest.mark.parametrize("board", ["pizero", "pi1", "pi2"])
def test_board_detected_from_tamago_package(board, tmp_path, run_imgtool):
    """No --board: the board package names the board; the default output is the board's
    kernel name beside the ELF; RamStart is read from the ELF's runtime/goos.RamStart."""
    src = pi_elf(board)
    elf = tmp_path / "app.elf"
    elf.write_bytes(src.read_bytes())
    r = run_imgtool("rpi", "kernel", elf, "-v", check=True)
    b = get_board(board)
    assert f"board {board}; {b.stub} stub" in r.stderr and "RamStart 0x100000 (symbol runtime/goos.RamStart)" in r.stderr
    data = (tmp_path / b.kernel).read_bytes()
    assert data[:ENTRY_STUB_SIZE[b.stub]] == entry_stub(ElfFile.parse(src.read_bytes()).entry, variant=b.stub)
    assert f"kernel={b.kernel}\n" in (tmp_path / "config.txt").read_text()


def test_legacy_layout_from_the_ramstart_symbol(tmp_path, run_imgtool):
    """A program of tamago before 2021 (runtime.ramStart = 0) linked at 0x10000 builds with
    no option; on the Pi 2 imgtool warns that the vectors at 0 overwrite the firmware's
    parking loop of the other cores."""
    r = run_imgtool("rpi", "kernel", pi_elf("pizero", text_start=0x10000, legacy=True), "-o", tmp_path / "k.img", "-v",
                    check=True)
    assert "RamStart 0x0 (symbol runtime.ramStart)" in r.stderr and "warning" not in r.stderr
    assert (tmp_path / "k.img").read_bytes()[0x8000:0x8004] != bytes(4)
    r = run_imgtool("rpi", "kernel", pi_elf("pi2", text_start=0x10000, legacy=True), "-o", tmp_path / "k7.img", check=True)
    assert r.stderr.count("\n") == 1 and "warning: RamStart 0x0" in r.stderr and "armstub7" in r.stderr


def test_info_kernel_img(tmp_path, run_imgtool):
    path = pi_elf("pizero")
    elf = ElfFile.parse(path.read_bytes())
    for stub, size in (("armv6", 24), ("plain", 12)):
        out = tmp_path / f"{stub}.img"
        run_imgtool("rpi", "kernel", path, "--stub", stub, "-o", out, "--no-config", check=True)
        d = json.loads(run_imgtool("info", "--json", out, check=True).stdout)
        assert d["type"] == "rpi-kernel" and d["stub"] == {"kind": "entry", "variant": stub, "size": size, "entry": elf.entry}
        assert (d["payload_offset"], d["text_start"], d["entry"]) == (0x108000, 0x110000, elf.entry)
        assert d["entry_in_payload"] and d["size"] == out.stat().st_size
        text = run_imgtool("info", out, check=True).stdout
        assert f"entry ({stub}), {size} bytes, jumps to 0x{elf.entry:x}" in text
        assert "file offset 0x108000, TEXT_START 0x110000" in text


def test_boards_lists_rpi_profiles(run_imgtool):
    text = run_imgtool("boards", check=True).stdout
    for name, soc, goarm in (("pizero", "BCM2835", 5), ("pi1", "BCM2835", 5), ("pi2", "BCM2836", 7)):
        line = next(l for l in text.splitlines() if l.startswith(name + " "))
        assert f" rpi    {soc} " in line and f"GOARM {goarm}" in line and "RamStart 0x100000" in line
    assert "CSF 0x4000, HAB engine SW" in next(l for l in text.splitlines() if l.startswith("usbarmory-mk2 "))
    d = {b["name"]: b for b in json.loads(run_imgtool("boards", "--json", check=True).stdout)}
    assert d["pi2"]["peripheral_base"] == 0x3F000000 and d["pizero"]["peripheral_base"] == 0x20000000
    assert d["pi2"]["ram"] == [{"name": "SDRAM (ARM share, gpu_mem=76)", "start": 0, "size": 0x3B400000}]
    assert d["pizero"]["ram"][0]["size"] == 0x1C000000 and d["pizero"]["uart_base"] == 0x20215040
    assert [a["end"] for a in d["pi2"]["firmware_area"]] == [0x100, 0x4000] and d["pi2"]["secondary_cores_parked"]
    assert {b.name for b in list_boards("rpi")} == {"pizero", "pi1", "pi2"}


def test_imx_build_does_not_pick_a_pi_board(tmp_path, run_imgtool):
    r = run_imgtool("imx", "build", pi_elf("pi2"), "-o", tmp_path / "x.imx")
    assert r.returncode == 2 and "no TamaGo board package" in r.stderr
    r = run_imgtool("imx", "build", pi_elf("pi2"), "--board", "pi2", "-o", tmp_path / "x.imx")
    assert r.returncode == 2 and "is for Raspberry Pi, not NXP i.MX" in r.stderr


# --- every check through the CLI: exit 2, one line, nothing written ----------------------


@pytest.fixture(scope="module")
def no_module_elf(tmp_path_factory):
    """A Go 1.26 ELF with .go.module removed (what a careless objcopy or strip does)."""
    src = pi_elf("pi2")
    out = tmp_path_factory.mktemp("nomodule") / "app.elf"
    subprocess.run(["arm-none-eabi-objcopy", "--remove-section", ".go.module", str(src), str(out)], check=True)
    assert ElfFile.parse(out.read_bytes()).section(".go.module") is None
    return out


def _big_bss_payload():
    # .noptrbss of 448 MiB: the image ends past the Pi Zero's 0x1C000000 bytes of ARM RAM
    return build_payload("raspi0", bss_size=0x1C000000).elf


CHECKS = {
    "not ARM": (lambda go_elf: go_elf("arm64"), [], "needs an ELF for arm, this one is for arm64"),
    "not 32-bit ARM (x86)": (lambda go_elf: go_elf("amd64"), [], "needs an ELF for arm, this one is for amd64"),
    "GOARM 7 on ARMv6": (lambda go_elf: pi_elf("pi2"), ["--board", "pizero"],
                         "built with GOARM=7, but board pizero, ARM1176JZF-S (ARMv6), runs GOARM=5 code at most"),
    "TEXT_START below kernel_address + stub": (lambda go_elf: pi_elf("pi2"), ["--kernel-address", "0x10fff8", "--stub", "armv6"],
                                               "TEXT_START 0x110000 is below kernel_address 0x10fff8 + the 24-byte armv6 stub"),
    "TEXT_START below RamStart + 64K (symbol)": (lambda go_elf: pi_elf("pi2", text_start=0x10000), [],
                                                 "TEXT_START 0x10000 is below RamStart 0x100000 (from the ELF's runtime/goos.RamStart) + 0x10000"),
    "TEXT_START below RamStart + 64K (board)": (lambda go_elf: go_elf("arm5-low"), ["--board", "pi1"],
                                                "TEXT_START 0x10000 is below RamStart 0x100000 (board pi1's"),
    "TEXT_START below RamStart + 64K (option)": (lambda go_elf: go_elf("arm5"), ["--board", "pi1", "--ram-start", "0x108000"],
                                                 "below RamStart 0x108000 (as given)"),
    "overlaps the firmware stub": (lambda go_elf: pi_elf("pi2"), ["--kernel-address", "0"],
                                   "overlaps the firmware ARM stub with the parked secondary cores (armstub7.S) at 0x0-0x100"),
    "overlaps the ATAGs": (lambda go_elf: pi_elf("pizero"), ["--kernel-address", "0x2000"],
                           "overlaps the ATAG list at 0x100-0x4000"),
    ".go.module missing": (None, [], "has no .go.module section"),
    "larger than RAM": (lambda go_elf: _big_bss_payload(), ["--board", "pizero"],
                        "past board pizero's RAM (SDRAM (ARM share, gpu_mem=64) 0x0-0x1c000000)"),
    "unknown stub": (lambda go_elf: pi_elf("pi2"), ["--stub", "thumb"], "--stub: unknown stub variant 'thumb'"),
    "misaligned kernel_address": (lambda go_elf: pi_elf("pi2"), ["--kernel-address", "0x8001"],
                                  "--kernel-address: 0x8001 is not a word-aligned"),
    "no board": (lambda go_elf: go_elf("arm5"), [], "--board: no TamaGo Raspberry Pi board package in"),
    "unknown board": (lambda go_elf: go_elf("arm5"), ["--board", "pi5"], "unknown board 'pi5'"),
}


@pytest.mark.parametrize("check", list(CHECKS))
def test_each_check_exits_2_one_line_nothing_written(check, go_elf, no_module_elf, tmp_path, run_imgtool):
    make, extra, message = CHECKS[check]
    elf = no_module_elf if make is None else make(go_elf)
    out = tmp_path / "out"
    out.mkdir()
    r = run_imgtool("rpi", "kernel", elf, *extra, "-o", out / "kernel.img", "--config", out / "config.txt")
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith("imgtool: error: ") and r.stderr.count("\n") == 1, r.stderr
    assert message in r.stderr and "Traceback" not in r.stderr
    assert listing(out) == set()


def test_stripped_elf_needs_the_board_and_uses_its_ramstart(tmp_path, run_imgtool):
    """-s -w (the tamago-example-pizero flags) leaves no symbols: no board package and no
    RamStart symbol; with --board the profile's RamStart is used."""
    path = pi_elf("pizero", strip=True)
    r = run_imgtool("rpi", "kernel", path, "-o", tmp_path / "k.img")
    assert r.returncode == 2 and "no TamaGo Raspberry Pi board package" in r.stderr and listing(tmp_path) == set()
    r = run_imgtool("rpi", "kernel", path, "--board", "pizero", "-o", tmp_path / "k.img", "-v", check=True)
    assert "RamStart 0x100000 (board)" in r.stderr and "armv6 stub" in r.stderr
