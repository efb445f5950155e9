"""Timing helpers shared by the benchmark scripts in ``bench/``."""

from __future__ import annotations

import argparse
import statistics
import subprocess
import time
from pathlib import Path
from typing import Callable


def bytecode_as_installed() -> None:
    """Time imgtool as an installed copy runs: with its bytecode cached. A shell that sets
    ``PYTHONDONTWRITEBYTECODE`` (some CI and sandbox images do) makes every imgtool process
    compile its modules again, 60 ms of a 0.3 s command; unset it for the commands timed
    here and compile the three packages once."""
    import compileall
    import os
    import sys

    if os.environ.pop("PYTHONDONTWRITEBYTECODE", None) is not None:
        sys.dont_write_bytecode = False
        root = Path(__file__).resolve().parents[1]
        for pkg in ("formats", "signing", "imgtool"):
            compileall.compile_dir(str(root / pkg), quiet=1)


bytecode_as_installed()


def median_time(fn: Callable[[], object], runs: int = 1) -> float:
    """Median wall-clock seconds of ``runs`` calls of ``fn`` (``time.perf_counter``)."""
    samples = []
    for _ in range(max(1, runs)):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples)


def command_time(cmd: list[str], runs: int = 1) -> float:
    """Median seconds of running ``cmd`` (stdout discarded; a failure raises)."""
    return median_time(lambda: subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL), runs)


def elf_bench_args(doc: str, runs: int) -> argparse.Namespace:
    """The arguments of a benchmark over one ELF: ``[ELF] [--runs N] [--json out.json]``
    (``doc``: the script's docstring, whose first line is the description)."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("elf", nargs="?", type=Path)
    ap.add_argument("--runs", type=int, default=runs)
    ap.add_argument("--json", type=Path)
    return ap.parse_args()
