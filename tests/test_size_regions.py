"""``imgtool size --region/--board``: memory-region usage (GNU ld --print-memory-usage) and
the section-placement gate.

The reference for "used" is GNU ld itself: ``test_used_equals_gnu_ld_print_memory_usage``
links Cortex-M programs with MEMORY regions (Debian's arm-none-eabi-gcc) and compares with
the table ld prints, and checks that :func:`ld_used`-style extents from pyelftools give
ld's numbers; the Go ELFs (which GNU ld cannot link) are then checked with those extents."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from elftools.elf.constants import SH_FLAGS
from elftools.elf.elffile import ELFFile

from conftest import build_go
from formats.elf import ElfFile
from imgtool.boards import RamRegion, get_board
from imgtool.cli.params import parse_budget, parse_region
from imgtool.size.budget import Percent
from imgtool.size.regions import check_regions, region_usage
from test_cli_imx import board_elf  # noqa: F401  (fixture: an ELF linking the USB armory Mk II board package)
from test_gopclntab import run_size


def load_extents(path) -> list[dict]:
    """Per PT_LOAD (pyelftools): the memory range from its first loaded section to its
    end (``p_vaddr + p_memsz``) and the load range to ``p_paddr + p_filesz``, i.e. the
    segment without the ELF headers mapped in front of the first section."""
    out = []
    with open(path, "rb") as fh:
        elf = ELFFile(fh)
        secs = [s for s in elf.iter_sections() if s["sh_flags"] & SH_FLAGS.SHF_ALLOC and s["sh_size"]
                and s["sh_type"] != "SHT_NOTE"
                and not (s["sh_type"] == "SHT_NOBITS" and s["sh_flags"] & SH_FLAGS.SHF_TLS)]
        for seg in elf.iter_segments("PT_LOAD"):
            lo, hi = seg["p_vaddr"], seg["p_vaddr"] + seg["p_memsz"]
            inside = [s for s in secs if lo <= s["sh_addr"] < hi]
            lead = min(s["sh_addr"] for s in inside) - lo
            assert lead <= 0x1000
            out.append({"vma": (lo + lead, hi), "lma": (seg["p_paddr"] + lead, seg["p_paddr"] + seg["p_filesz"]),
                        "memsz": seg["p_memsz"] - lead, "filesz": seg["p_filesz"] - lead})
    return out


def ld_used(segs: list[dict], start: int) -> int:
    """GNU ld's "Used Size" of a region at ``start``: to the end of the last byte placed."""
    return max(max(s["vma"][1], s["lma"][1]) for s in segs) - start


def sections(path) -> dict[str, tuple[int, int]]:
    with open(path, "rb") as fh:
        return {s.name: (s["sh_addr"], s["sh_size"]) for s in ELFFile(fh).iter_sections()}


def size_json(*args) -> dict:
    r = run_size(*args, "--format", "json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_usage_sums_equal_the_segments(go_elf):
    path = go_elf("arm7")
    segs = load_extents(path)
    doc = size_json(path, "--region", "ocram=0x00900000:128K", "--region", "ddr=0x80000000:1G")
    rows = {r["name"]: r for r in doc["regions"]["rows"]}
    assert doc["regions"]["violations"] == [] and doc["regions"]["enforced"] is True
    assert rows["ocram"]["used"] == rows["ocram"]["mem"] == 0 and rows["ocram"]["size"] == 128 << 10
    ddr = rows["ddr"]
    assert (ddr["start"], ddr["size"], ddr["end"]) == (0x80000000, 1 << 30, 0x80000000 + (1 << 30))
    # Go links LMA == VMA: the load image lies inside the memory image
    assert ddr["mem"] == sum(s["memsz"] for s in segs)
    assert ddr["used"] == ld_used(segs, 0x80000000) > ddr["mem"]  # gaps and the 64 KiB below .text count
    assert ddr["load"] == sum(s["filesz"] for s in segs)
    assert ddr["free"] == ddr["size"] - ddr["used"] and ddr["percent"] == pytest.approx(100 * ddr["used"] / (1 << 30))
    assert {".text", ".rodata", ".gopclntab", ".data", ".bss", ".noptrbss"} <= set(ddr["sections"])
    # the text report has the ld-style table after the main table
    r = run_size(path, "--region", "ddr=0x80000000:1G", "--bytes")
    lines = r.stdout.splitlines()
    i = next(i for i, x in enumerate(lines) if x.startswith("Memory region"))
    assert lines[i].split()[2:8] == ["Start", "Used", "Size", "Region", "Size", "%age"] and lines[i - 1].startswith("memory regions")
    assert lines[i + 1].split()[:3] == ["ddr", "0x80000000", str(ddr["used"])]


def test_far_data_splits_over_two_regions(go_elf):
    path = go_elf("arm7-fardata")
    segs = load_extents(path)
    doc = size_json(path, "--region", "ram=0x90000000:256M", "--region", "rom=0x80000000:256M")
    rows = {r["name"]: r for r in doc["regions"]["rows"]}
    lo = [s for s in segs if s["vma"][0] < 0x90000000]
    hi = [s for s in segs if s["vma"][0] >= 0x90000000]
    assert lo and hi
    assert rows["rom"]["mem"] == sum(s["memsz"] for s in lo) and rows["ram"]["mem"] == sum(s["memsz"] for s in hi)
    assert rows["rom"]["used"] == ld_used(lo, 0x80000000) and rows["ram"]["used"] == ld_used(hi, 0x90000000)
    assert rows["ram"]["load"] == sum(s["filesz"] for s in hi)
    assert ".data" in rows["ram"]["sections"] and ".text" in rows["rom"]["sections"]


def test_too_small_region_fails_naming_the_sections(go_elf):
    path = go_elf("arm7")
    secs = sections(path)
    ro_addr, ro_size = secs[".rodata"]
    end = ro_addr + 0x100  # .text fits, .rodata runs past, everything after is outside
    r = run_size(path, "--region", f"ddr=0x80000000:{end - 0x80000000:#x}")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    over = ro_addr + ro_size - end
    row = next(x for x in r.stderr.splitlines() if x.startswith(".rodata "))
    assert f"0x{ro_addr:08x}-0x{ro_addr + ro_size - 1:08x}" in row
    assert f"runs {over} bytes past the end of ddr (0x80000000-0x{end - 1:08x})" in row
    pc_addr, pc_size = secs[".gopclntab"]
    assert any(x.startswith(".gopclntab ") and f"0x{pc_addr:08x}-0x{pc_addr + pc_size - 1:08x}" in x
               and "outside every region" in x for x in r.stderr.splitlines())
    assert not any(x.startswith(".text ") for x in r.stderr.splitlines())
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("imgtool: error: sections outside the memory regions: .rodata (vma")
    # the JSON report says the same, and the command still fails
    r = run_size(path, "--region", f"ddr=0x80000000:{end - 0x80000000}", "--format", "json")
    assert r.returncode == 1
    v = {x["section"]: x for x in json.loads(r.stdout)["regions"]["violations"]}
    assert (v[".rodata"]["region"], v[".rodata"]["start"], v[".rodata"]["end"]) == ("ddr", ro_addr, ro_addr + ro_size)
    assert v[".gopclntab"]["region"] is None and ".text" not in v


def test_load_address_outside_flash_region(go_elf, tmp_path):
    """A data segment loaded from flash (LMA != VMA, as ld's AT> makes): its load image
    counts in the flash region, its memory image in RAM; a short flash region fails."""
    path = go_elf("arm7")
    data = bytearray(path.read_bytes())
    with open(path, "rb") as fh:
        e = ELFFile(fh)
        phoff, phentsize = e["e_phoff"], e["e_phentsize"]
        idx = [i for i, s in enumerate(e.iter_segments()) if s["p_type"] == "PT_LOAD" and s["p_flags"] & 2][0]
    flash = 0x10000000
    struct.pack_into("<I", data, phoff + idx * phentsize + 12, flash)  # Elf32_Phdr.p_paddr
    moved = tmp_path / "moved.elf"
    moved.write_bytes(bytes(data))
    seg = load_extents(moved)[idx - 2]  # PHDR and NOTE come first
    assert seg["lma"][0] == flash
    doc = size_json(moved, "--region", f"flash={flash:#x}:16M", "--region", "ddr=0x80000000:512M")
    rows = {r["name"]: r for r in doc["regions"]["rows"]}
    assert rows["flash"]["load"] == seg["filesz"] and rows["flash"]["mem"] == 0
    assert rows["flash"]["used"] == seg["lma"][1] - flash
    assert rows["ddr"]["mem"] == sum(s["memsz"] for s in load_extents(moved))
    r = run_size(moved, "--region", f"flash={flash:#x}:64K", "--region", "ddr=0x80000000:512M")
    assert r.returncode == 1
    assert any(x.startswith(".noptrdata ") and " lma " in x and "past the end of flash" in x for x in r.stderr.splitlines())


@pytest.mark.parametrize("args,msg", [
    (["--region", "a=0x80000000:512M", "--region", "b=0x9fff0000:64K"], "overlap"),
    (["--board", "usbarmory-mk2", "--region", "ocram=0x80100000:128K"], "overlap"),
    (["--region", "a=0x80000000:1M", "--region", "A=0x90000000:1M"], "given twice"),
    (["--region", "ddr"], "NAME=START:SIZE"),
    (["--region", "ddr=0x80000000"], "NAME=START:SIZE"),
    (["--region", "=0x80000000:1M"], "NAME=START:SIZE"),
    (["--region", "ddr=0x80000000:0"], "size > 0"),
    (["--region", "ddr=0xzz:1M"], "bad size"),
    (["--region", "ddr=0x80000000:12Q"], "bad size"),
    (["--board", "no-such-board"], "unknown board"),
    (["--budget", "flash=90%"], "needs a region"),
    (["--budget", "region:nowhere=1M", "--region", "ddr=0x80000000:1G"], "no such memory region"),
])
def test_bad_regions_exit_2(go_elf, args, msg):
    r = run_size(go_elf("arm7"), *args)
    assert r.returncode == 2, r.stderr
    assert msg in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_board_profile_regions(go_elf):
    board = get_board("usbarmory-mk2")
    doc = size_json(go_elf("arm7"), "--board", "usbarmory-mk2")
    reg = doc["regions"]
    assert reg["origin"] == "board usbarmory-mk2" and reg["enforced"] is True
    assert [(r["name"], r["start"], r["size"]) for r in reg["rows"]] == [(x.name, x.start, x.size) for x in board.ram]
    assert reg["rows"][0]["used"] == ld_used(load_extents(go_elf("arm7")), board.ram[0].start)
    # armory-boot keeps 128 MiB at 0x90000000: the 0x80010000 program is outside it
    r = run_size(go_elf("arm7"), "--board", "armory-boot")
    assert r.returncode == 1 and "outside every region" in r.stderr


def test_board_detected_from_elf_reports_only(board_elf, go_elf):  # noqa: F811
    doc = size_json(board_elf)
    reg = doc["regions"]
    assert reg["enforced"] is False and reg["origin"].startswith("board usbarmory-mk2, detected")
    assert reg["rows"][0]["used"] == ld_used(load_extents(board_elf), reg["rows"][0]["start"])
    r = run_size(board_elf)
    assert "memory regions (board usbarmory-mk2, detected from the ELF; report only):" in r.stdout
    # stripped (-s -w, as TamaGo Makefiles link): the board package comes from the pclntab
    src = Path(__file__).resolve().parent / "goboard"
    stripped = build_go(src, "boardprog-arm7-stripped", {"GOARCH": "arm", "GOARM": "7"}, "-s -w -T 0x80010000 -R 0x1000")
    assert ElfFile.parse(stripped.read_bytes()).symbols == []
    assert size_json(stripped)["regions"]["origin"].startswith("board usbarmory-mk2, detected")
    # a plain Go program names no board: no regions, no failure
    assert "regions" not in size_json(go_elf("arm7"))
    assert "memory regions" not in run_size(go_elf("arm7")).stdout


def test_region_budgets(go_elf):
    path = go_elf("arm7")
    used = ld_used(load_extents(path), 0x80000000)
    ok = run_size(path, "--board", "usbarmory-mk2", "--budget", f"region:ddr=90%,region:DDR={used}")
    assert ok.returncode == 0, ok.stderr
    r = run_size(path, "--board", "usbarmory-mk2", "--budget", "region:DDR=1%,flash=1G")
    assert r.returncode == 1
    row = next(x for x in r.stderr.splitlines() if x.startswith("region:DDR (1%)"))
    assert row.split()[2:5] == [str((512 << 20) // 100), str(used), f"+{used - (512 << 20) // 100}"]
    assert "EXCEEDED" in row and "size budget exceeded: region:DDR by" in r.stderr
    r = run_size(path, "--region", "ddr=0x80000000:1G", "--budget", f"region:ddr={used - 1}")
    assert r.returncode == 1 and "region:ddr by 1 bytes" in r.stderr


def test_percent_budgets_are_exact_and_bad_budgets_exit_2(go_elf):
    from imgtool.cli.params import parse_budget
    from imgtool.size.budget import check_budget

    doc = {"packages": [], "modules": [], "regions": {"rows": [{"name": "r", "size": 1000, "used": 323}]}}
    assert check_budget(doc, parse_budget("region:r=32.3%"))[0]["ok"]  # 1000 * 32.3% is 323, not 322
    doc["regions"]["rows"][0].update(size=3_000_000, used=69_000)
    assert check_budget(doc, parse_budget("region:r=2.3%"))[0]["limit"] == 69_000
    for bad in ("flash=-1", "region:DDR=-5K", "ram=1.9", "flash=1_000", "flash=0x_80", "region:r=9x%"):
        r = run_size(go_elf("arm7"), "--board", "usbarmory-mk2", "--budget", bad)
        assert r.returncode == 2 and "--budget" in r.stderr and "Traceback" not in r.stderr, bad
    assert parse_budget("ram=1.5K") == [("ram", 1536)]


def test_empty_or_unknown_board_is_bad_input(go_elf):
    for value in ("", "nosuch"):
        r = run_size(go_elf("arm7"), "--board", value)
        assert r.returncode == 2 and r.stderr.startswith("imgtool: error: --board:"), r.stderr


def test_library_parsers():
    assert parse_region("ocram=0x00900000:128K") == RamRegion("ocram", 0x900000, 128 << 10)
    assert parse_region(" ddr = 2G : 512MiB ") == RamRegion("ddr", 0x80000000, 512 << 20)
    for bad in ("x=1", "x=:1K", "x=1:", "x=-1:1K", "x=0xffffffffffffffff:2", "a,b=0:1K", "x=0:0.5"):
        with pytest.raises(ValueError):
            parse_region(bad)
    check_regions([RamRegion("a", 0, 16), RamRegion("b", 16, 16)])  # adjacent is fine
    with pytest.raises(ValueError, match="a .0x00000000-0x00000010. and b .0x00000010"):
        check_regions([RamRegion("b", 16, 16), RamRegion("a", 0, 17)])
    assert parse_budget("region:ddr=90%,region:ocram=100K") == [("region:ddr", 90.0), ("region:ocram", 100 << 10)]
    assert isinstance(parse_budget("region:x=12.5%")[0][1], Percent)
    for bad in ("region:=1K", "region:x=101%", "region:x=abc%", "pkg:=1K"):
        with pytest.raises(ValueError):
            parse_budget(bad)


def test_region_usage_straddling_start(go_elf):
    """A region starting inside .text: .text starts before it (library view)."""
    elf = ElfFile.parse(go_elf("arm7").read_bytes())
    text = elf.section(".text")
    reg = region_usage(elf, [RamRegion("r", text.addr + 4, 1 << 30)])
    v = {x["section"]: x for x in reg["violations"]}
    assert list(v) == [".text"] and v[".text"]["problem"].startswith("starts 4 bytes before r")


# --- GNU ld --print-memory-usage is the reference for "used" --------------------------------
# A freestanding Cortex-M program linked in the test run by Debian's arm-none-eabi-gcc with
# a MEMORY script (.data in RAM loaded from FLASH, AT>), each layout adding alignment gaps:
# the numbers ld prints while linking are what ``size --region`` must report.

LD_PROGRAM = """
const char msg[] = "hello, regions";
int counter = 42;
int table[300] = {1, 2, 3};
char buffer[1000];
void _start(void) { for (;;) { buffer[counter & 511] = msg[counter % 14] + table[counter & 255]; counter++; } }
"""
LD_MEMORY = """MEMORY {
  FLASH (rx) : ORIGIN = 0x08000000, LENGTH = 512K
  RAM (rwx)  : ORIGIN = 0x20000000, LENGTH = 128K
  CCM (rw)   : ORIGIN = 0x10000000, LENGTH = 64K
}
ENTRY(_start)
"""
LD_LAYOUTS = {
    "packed": """SECTIONS {
  .text : { *(.text*) } > FLASH
  .rodata : { *(.rodata*) } > FLASH
  .data : { *(.data*) } > RAM AT> FLASH
  .bss (NOLOAD) : { *(.bss*) *(COMMON) } > RAM
}""",
    "aligned": """SECTIONS {
  .text : { *(.text*) } > FLASH
  .rodata : ALIGN(256) { *(.rodata*) } > FLASH
  .data : ALIGN(128) { *(.data*) } > RAM AT> FLASH
  .bss (NOLOAD) : ALIGN(64) { *(.bss*) *(COMMON) . = ALIGN(32); } > RAM
}""",
    "offset-start": """SECTIONS {
  .text ORIGIN(FLASH) + 0x400 : { *(.text*) } > FLASH
  .rodata : { *(.rodata*) } > FLASH
  .data : { *(.data*) } > RAM AT> FLASH
  .bss (NOLOAD) : { *(.bss*) *(COMMON) } > CCM
}""",
}


def _ld_usage(stdout: str) -> dict[str, int]:
    """The "Used Size" column of ``ld --print-memory-usage`` in bytes, by region (lower case)."""
    units = {"B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30}
    out = {}
    for line in stdout.splitlines():
        parts = line.split()
        if len(parts) >= 5 and parts[0].endswith(":") and parts[2] in units:
            out[parts[0][:-1].lower()] = int(parts[1]) * units[parts[2]]
    return out


@pytest.fixture(scope="module")
def ld_linked(tmp_path_factory):
    """layout -> (ELF path, ld's usage by region), linked by arm-none-eabi-gcc / GNU ld."""
    from hab_helpers import need, run

    gcc = need("arm-none-eabi-gcc")
    root = tmp_path_factory.mktemp("ld")
    (root / "prog.c").write_text(LD_PROGRAM)
    out = {}
    for name, sections in LD_LAYOUTS.items():
        (root / f"{name}.ld").write_text(LD_MEMORY + sections)
        elf = root / f"{name}.elf"
        r = run(gcc, "-mcpu=cortex-m4", "-mthumb", "-O1", "-ffreestanding", "-nostdlib", "-T", root / f"{name}.ld",
                "-Wl,--print-memory-usage", "-Wl,--build-id=none", "-o", elf, root / "prog.c")
        usage = _ld_usage(r.stdout.decode())
        assert set(usage) == {"flash", "ram", "ccm"}, r.stdout
        out[name] = (elf, usage)
    return out


@pytest.mark.parametrize("layout", sorted(LD_LAYOUTS))
def test_used_equals_gnu_ld_print_memory_usage(layout, ld_linked):
    elf, usage = ld_linked[layout]
    doc = size_json(elf, "--region", "flash=0x08000000:512K", "--region", "ram=0x20000000:128K",
                    "--region", "ccm=0x10000000:64K")
    rows = {r["name"]: r for r in doc["regions"]["rows"]}
    assert {name: rows[name]["used"] for name in usage} == usage
    assert usage["flash"] > 0 and doc["regions"]["violations"] == []
    # the pyelftools extents the Go-ELF tests above count "used" with give ld's numbers too:
    # the end of the last memory (VMA) or load (LMA) range placed in the region
    segs = load_extents(elf)
    for name, origin, size in (("flash", 0x08000000, 512 << 10), ("ram", 0x20000000, 128 << 10), ("ccm", 0x10000000, 64 << 10)):
        ends = [end for s in segs for start, end in (s["vma"], s["lma"]) if origin <= start < origin + size]
        assert (max(ends) - origin if ends else 0) == usage[name], name
