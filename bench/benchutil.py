"""Timing helpers shared by the benchmark scripts in ``bench/``."""

from __future__ import annotations

import argparse
import statistics
import subprocess
import time
from pathlib import Path
from typing import Callable


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
