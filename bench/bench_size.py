#!/usr/bin/env python3
"""``imgtool size`` vs ``go tool nm -size -sort size`` on a large Go ARM ELF, side by side.

Both run in this one process's session, alternating, N times each (median, wall clock):

* ``imgtool size`` in-process: read + parse the ELF, locate and parse the pclntab, label
  every byte, group by package and render the default top-20 table (start-up excluded,
  it is measured by bench_startup.py); also the stage split;
* ``imgtool size`` as a subprocess (interpreter start-up included);
* ``go tool nm -size -sort size`` as a subprocess (the nm tool binary, which it execs).

The ELF defaults to ``cmd/go`` built for GOARCH=arm (built once into /tmp/cmdgo-arm.elf:
``GOOS=linux GOARCH=arm go build -o /tmp/cmdgo-arm.elf cmd/go``). Target: the in-process
``imgtool size`` under 0.5 s.

    python bench/bench_size.py [ELF] [--runs N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchutil import command_time  # noqa: E402
DEFAULT = Path("/tmp/cmdgo-arm.elf")


def build_default() -> Path:
    if not DEFAULT.exists():
        env = dict(os.environ, GOOS="linux", GOARCH="arm", GOARM="7", CGO_ENABLED="0")
        subprocess.run(["go", "build", "-o", str(DEFAULT), "-ldflags", "-T 0x80010000 -R 0x1000", "cmd/go"],
                       env=env, check=True)
    return DEFAULT


def imgtool_inprocess(path: Path) -> dict[str, float]:
    from formats.elf import ElfFile
    from formats.go.moduledata import locate
    from imgtool.size import render, views
    from imgtool.size.engine import analyze

    t0 = time.perf_counter()
    elf = ElfFile.parse(path.read_bytes(), str(path))
    t1 = time.perf_counter()
    elf.symbols
    t2 = time.perf_counter()
    locate(elf).pclntab.funcs
    t3 = time.perf_counter()
    r = analyze(elf)
    t4 = time.perf_counter()
    render.text_table(views.table(r, "package"), views.totals(r), top=20, by="package")
    t5 = time.perf_counter()
    return {"total": t5 - t0, "parse ELF": t1 - t0, "symbols": t2 - t1, "pclntab": t3 - t2,
            "analyze (incl. pclntab again)": t4 - t3, "table+render": t5 - t4}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("elf", nargs="?")
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    path = Path(a.elf) if a.elf else build_default()
    code = "import sys, imgtool.cli.cmd_size; from imgtool.cli import main; sys.exit(main(sys.argv[1:]))"
    sub = [sys.executable, "-c", code, "size", str(path)]
    nm = ["go", "tool", "nm", "-size", "-sort", "size", str(path)]
    command_time(nm)  # warm the page cache and the go tool cache
    ins, subs, nms, stages = [], [], [], []
    for _ in range(a.runs):
        st = imgtool_inprocess(path)
        stages.append(st)
        ins.append(st["total"])
        subs.append(command_time(sub))
        nms.append(command_time(nm))
    med = statistics.median
    print(f"{path} ({path.stat().st_size / 1e6:.1f} MB), {a.runs} runs, median wall clock")
    print(f"  imgtool size (in process)       {med(ins):7.3f} s")
    for k in stages[0]:
        if k != "total":
            print(f"      {k:<28}{med(s[k] for s in stages):7.3f} s")
    print(f"  imgtool size (subprocess)       {med(subs):7.3f} s")
    print(f"  go tool nm -size -sort size     {med(nms):7.3f} s")
    print(f"  ratio imgtool/nm: in process {med(ins) / med(nms):.1f}x, subprocess {med(subs) / med(nms):.1f}x")
    print(f"  target < 0.5 s in process: {'met' if med(ins) < 0.5 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
