"""Timing helpers shared by the benchmark scripts in ``bench/``."""

from __future__ import annotations

import statistics
import subprocess
import time
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
