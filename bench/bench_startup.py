#!/usr/bin/env python3
"""Start-up and flat-image benchmark, side by side with the tools imgtool replaces.

Times (median of N runs, wall clock): ``imgtool --version``, ``imgtool --help``,
``objcopy --version``; and ``imgtool bin`` against the TamaGo ``objcopy -O binary`` recipe
on the same ELF (default: examples/hello/hello.elf), printing the ratio.

    python bench/bench_startup.py [ELF] [--runs N]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from benchutil import command_time

ROOT = Path(__file__).resolve().parent.parent
RECIPE = [".text", ".rodata", ".shstrtab", ".typelink", ".itablink", ".gopclntab", ".go.buildinfo", ".go.fipsinfo",
          ".go.module", ".noptrdata", ".data", ".bss", ".noptrbss"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("elf", nargs="?", default=str(ROOT / "examples/hello/hello.elf"))
    ap.add_argument("--runs", type=int, default=9)
    a = ap.parse_args()
    imgtool = [sys.executable, "-m", "imgtool"]
    objcopy = shutil.which("objcopy") or "objcopy"
    with tempfile.TemporaryDirectory() as tmp:
        rows = [
            ("imgtool --version", command_time(imgtool + ["--version"], a.runs)),
            ("imgtool --help", command_time(imgtool + ["--help"], a.runs)),
            ("objcopy --version", command_time([objcopy, "--version"], a.runs)),
        ]
        ours = command_time(imgtool + ["bin", a.elf, "-o", f"{tmp}/a.bin"], a.runs)
        ref_cmd = [objcopy]
        for s in RECIPE:
            ref_cmd += ["-j", s]
        ref_cmd += ["--set-section-flags", ".bss=alloc,load,contents", "--set-section-flags",
                    ".noptrbss=alloc,load,contents", a.elf, "-O", "binary", f"{tmp}/b.bin"]
        ref = command_time(ref_cmd, a.runs)
        same = Path(f"{tmp}/a.bin").read_bytes() == Path(f"{tmp}/b.bin").read_bytes()
    for name, t in rows:
        print(f"{name:<28} {t * 1000:8.1f} ms")
    print(f"{'imgtool bin':<28} {ours * 1000:8.1f} ms")
    print(f"{'objcopy -O binary (recipe)':<28} {ref * 1000:8.1f} ms")
    print(f"ratio imgtool/objcopy: {ours / ref:.2f}x   identical output: {same}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
