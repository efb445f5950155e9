"""Raspberry Pi test helpers.

- ``recipe_kernel(elf, workdir) -> bytes``: kernel.img as the TamaGo recipe builds it
  (tamago board/raspberrypi/README.md, usbarmory/tamago-example-pizero Makefile):
  ``arm-none-eabi-gcc -D ENTRY_POINT=<readelf Entry> -c boot.S``, ``objcopy -O binary``,
  ``truncate -s TEXT_START-0x8000``, ``arm-none-eabi-objcopy`` with the recipe's section
  list (``.go.module`` added, as Go 1.26 needs) and ``cat``. The reference of the byte
  comparisons; it leaves ``.go.fipsinfo`` out (zeros), as every upstream list does.
- ``pi_elf(board, text_start=0x110000, legacy=False)``: a Go ARM ELF linking a package
  at TamaGo's ``board/raspberrypi/<board>`` path and TamaGo's RamStart variable
  (``tests/gopi``; ``legacy``: ``runtime.ramStart = 0`` of tamago before 2021).
- ``fake_firmware(folder)``: random ``bootcode.bin``, ``start.elf``, ``fixup.dat``
  (imgtool never ships the real ones, and the tests only move bytes).
- ``listing(folder)``: the names in ``folder`` (to show a failed command wrote nothing).
"""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

from conftest import build_go
from hab_helpers import need

TESTS = Path(__file__).resolve().parent
GOPI = TESTS / "gopi"
RECIPE_BOOT_S = TESTS / "payloads" / "recipe_boot.S"
KERNEL_ADDRESS = 0x8000
#: The recipe's objcopy -j list (tamago-example-pizero Makefile) with .go.module added.
RECIPE_SECTIONS = (".text", ".rodata", ".shstrtab", ".typelink", ".itablink", ".gopclntab", ".go.buildinfo",
                   ".go.module", ".noptrdata", ".data", ".bss", ".noptrbss")
GOARM = {"pizero": "5", "pi1": "5", "pi2": "7"}


def _run(*args) -> str:
    r = subprocess.run([str(a) for a in args], capture_output=True, text=True)
    assert r.returncode == 0, f"{' '.join(map(str, args))}:\n{r.stdout}{r.stderr}"
    return r.stdout


def readelf_entry(elf: Path) -> int:
    """``readelf -e app | grep Entry``, as the recipe reads it."""
    out = _run(need("arm-none-eabi-readelf"), "-e", elf)
    return int(next(line for line in out.splitlines() if "Entry" in line).split()[-1], 16)


def recipe_kernel(elf: Path, workdir: Path, text_start: int) -> bytes:
    """kernel.img by the upstream recipe (see the module docstring)."""
    workdir.mkdir(parents=True, exist_ok=True)
    gcc, objcopy = need("arm-none-eabi-gcc"), need("arm-none-eabi-objcopy")
    _run(gcc, f"-DENTRY_POINT=0x{readelf_entry(elf):x}", "-c", RECIPE_BOOT_S, "-o", workdir / "boot.o")
    _run(objcopy, workdir / "boot.o", "-O", "binary", workdir / "stub.o")
    _run(need("truncate"), "-s", str(text_start - KERNEL_ADDRESS), workdir / "stub.o")
    args = []
    for name in RECIPE_SECTIONS:
        args += ["-j", name]
        if name in (".bss", ".noptrbss"):
            args += ["--set-section-flags", f"{name}=alloc,load,contents"]
    _run(objcopy, *args, elf, "-O", "binary", workdir / "app.o")
    with open(workdir / "app.bin", "wb") as out:  # cat stub.o app.o > app.bin
        subprocess.run([need("cat"), workdir / "stub.o", workdir / "app.o"], stdout=out, check=True)
    return (workdir / "app.bin").read_bytes()


def pi_elf(board: str, *, text_start: int = 0x110000, legacy: bool = False, strip: bool = False) -> Path:
    """The tests/gopi program for ``board`` (GOARM as TamaGo documents it), cached."""
    tags = board + (",legacy" if legacy else "")
    flags = ("-s -w " if strip else "") + f"-T 0x{text_start:x} -R 0x1000"
    name = f"gopi-{board}{'-legacy' if legacy else ''}{'-stripped' if strip else ''}-{text_start:x}"
    return build_go(GOPI, name, {"GOARCH": "arm", "GOARM": GOARM[board]}, flags, ("-tags", tags))


def fake_firmware(folder: Path, seed: int = 11) -> dict[str, bytes]:
    """Random stand-ins for the three firmware files, written into ``folder``."""
    rnd = random.Random(seed)
    files = {"bootcode.bin": rnd.randbytes(52_456), "start.elf": rnd.randbytes(2_950_000 // 8),
             "fixup.dat": rnd.randbytes(7_300)}
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return files


def listing(folder: Path) -> set[str]:
    """Every file name in ``folder`` (hidden temp files included)."""
    return {p.name for p in folder.iterdir()}
