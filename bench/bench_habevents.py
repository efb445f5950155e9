"""HAB event log decoding speed: ``imgtool hab events`` on an 11 MB U-Boot ``hab_status``
log and on 11 MB of raw bytes, against one pass of GNU grep over the same file (the
cheapest tool that reads every line: a lower bound for any decoder of the text form).

Reports CPU seconds (user + system, of the child process: stable on a loaded machine) for
imgtool (the whole command, Python start-up included) and for ``grep -c``, and the ratio
imgtool / grep (> 1: imgtool is slower). Issue 15 measured
10 s and 615 MB for such a log before the decoder scanned with compiled patterns.

    python bench/bench_habevents.py [--mib 11] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from formats.imx.habevents import HAB_CTX_ASSERT, HabEvent  # noqa: E402


def uboot_log(size: int) -> bytes:
    """A U-Boot ``hab_status`` dump of ``size`` bytes: events of 20 bytes, 8 bytes a line."""
    raw = HabEvent(0x33, 0x0C, HAB_CTX_ASSERT, 0, bytes(12)).build()
    block = ["event data:"] + ["\t" + " ".join(f"0x{b:02x}" for b in raw[j:j + 8]) for j in range(0, len(raw), 8)]
    out, n, i = ["HAB Configuration: 0xf0, HAB State: 0x66", ""], 0, 0
    while n < size:
        i += 1
        lines = [f"--------- HAB Event {i} -----------------", *block, "", "STS = HAB_FAILURE (0x33)", ""]
        n += sum(len(x) + 1 for x in lines)
        out += lines
    return ("\n".join(out) + "\n").encode()


def cpu_time(cmd: list[str], runs: int) -> float:
    """Least CPU seconds (user + system) of ``runs`` runs of ``cmd``, stdout discarded."""
    best = float("inf")
    for _ in range(max(1, runs)):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        best = min(best, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mib", type=float, default=11.0)
    ap.add_argument("--runs", type=int, default=3)
    opts = ap.parse_args()
    grep = shutil.which("grep")
    size = int(opts.mib * 1_000_000)
    with tempfile.TemporaryDirectory() as d:
        text, raw = Path(d) / "hab.log", Path(d) / "hab.bin"
        text.write_bytes(uboot_log(size))
        raw.write_bytes(random.Random(1).randbytes(size))
        for label, path in (("U-Boot text log", text), ("raw bytes", raw)):
            ours = cpu_time([sys.executable, "-m", "imgtool", "hab", "events", str(path)], opts.runs)
            ref = max(cpu_time([grep, "-c", "-a", "0x", str(path)], opts.runs), 1e-3) if grep else float("nan")
            print(f"{label:16} {path.stat().st_size / 1e6:5.1f} MB  imgtool {ours:6.2f} s  grep -c {ref:6.3f} s  "
                  f"ratio {ours / ref:6.1f}")
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak RSS of the commands: {rss:.0f} MiB")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
