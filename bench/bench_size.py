#!/usr/bin/env python3
"""``imgtool size`` vs ``go tool nm -size`` on the same ELF, side by side, as processes.

For each ELF, in one run, in rounds (each round runs the three commands once, one after
the other), ``--runs`` rounds (median wall clock, and the peak RSS of each process from
``wait4``):

* ``imgtool size ELF`` (the default top-20 package table);
* ``imgtool size ELF --format json`` (every table);
* ``go tool nm -size -sort size ELF`` (the reference: the Go toolchain's own symbol
  lister, which execs the nm tool binary).

The ratio imgtool / nm is taken within each round and the median of the rounds' ratios is
printed with the goals of issue 16: text at most 2.5x, JSON at most 3.5x, peak RSS at
most 3x the ELF size (for cmd/go; a 9 MB ELF's 3x is about what the interpreter and typer
take before reading a byte). A shared machine's speed drifts by a third over seconds;
the commands of one round run within a second of each other, so the ratio of a round
holds where the ratio of two medians taken over a minute would not. The ratio of the
fastest runs (the cost without interference) is printed next to it.

ELFs: ``cmd/go`` built for GOARCH=arm (``GOOS=linux GOARCH=arm go build -o ... cmd/go``,
built once into the cache folder) and the test suite's largest ELF (``tests/goprog``
built as ``tests/conftest.py`` builds it, for each of its architectures; the largest).
Also prints the in-process stage split of the text report, to show where time goes.

    python bench/bench_size.py [ELF ...] [--runs N]
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

CACHE = Path(os.environ.get("IMGTOOL_TEST_CACHE", Path.home() / ".cache" / "imgtool-tests"))
GOALS = {"text": 2.5, "json": 3.5}
RSS_GOAL = 3.0


def _go_build(out: Path, cwd: Path | None, env: dict[str, str], args: list[str]) -> Path:
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(".tmp")
        subprocess.run(["go", "build", "-o", str(tmp), *args], cwd=cwd, check=True,
                       env=dict(os.environ, CGO_ENABLED="0", GOFLAGS="-mod=mod", **env))
        tmp.replace(out)
    return out


def cmd_go_arm() -> Path:
    """``cmd/go`` for linux/arm (about 19 MB with Go 1.26)."""
    ver = subprocess.run(["go", "env", "GOVERSION"], capture_output=True, text=True, check=True).stdout.strip()
    return _go_build(CACHE / f"bench-cmdgo-arm-{ver}.elf", None, {"GOOS": "linux", "GOARCH": "arm"}, ["cmd/go"])


def largest_test_elf() -> Path:
    """tests/goprog built for each architecture of tests/conftest.py's GO_TARGET_NAMES, the
    largest (the same environment and ldflags as the test suite)."""
    import ast

    # read the targets from tests/conftest.py without importing it (pytest would make this
    # process large, and a child's peak RSS is at least its parent's at the spawn)
    tree = ast.parse((ROOT / "tests" / "conftest.py").read_text())
    consts = {t.id if isinstance(t, ast.Name) else t.target.id: node.value
              for node in tree.body if isinstance(node, (ast.Assign, ast.AnnAssign))
              for t in ([node.target] if isinstance(node, ast.AnnAssign) else node.targets)
              if isinstance(t, ast.Name) and isinstance(node.value, (ast.Dict, ast.List))}
    GO_TARGETS = ast.literal_eval(consts["GO_TARGETS"])
    GO_TARGET_NAMES = ast.literal_eval(consts["GO_TARGET_NAMES"])
    GOPROG = ROOT / "tests" / "goprog"

    ver = subprocess.run(["go", "env", "GOVERSION"], capture_output=True, text=True, check=True).stdout.strip()
    built = []
    for name in GO_TARGET_NAMES:
        env, ldflags = GO_TARGETS[name]
        built.append(_go_build(CACHE / f"bench-goprog-{name}-{ver}.elf", GOPROG, {"GOOS": "linux", **env},
                               ["-ldflags", ldflags, "."]))
    return max(built, key=lambda p: p.stat().st_size)


def run(cmd: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (bytes) of running ``cmd`` (output discarded). Started
    with ``posix_spawn`` (vfork: the child does not start as a copy of this process, so
    ``ru_maxrss`` from ``wait4`` is the command's own)."""
    import tempfile

    with tempfile.TemporaryFile() as err:
        acts = [(os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0), (os.POSIX_SPAWN_DUP2, err.fileno(), 2)]
        t = time.perf_counter()
        pid = os.posix_spawnp(cmd[0], cmd, os.environ, file_actions=acts)
        _, status, usage = os.wait4(pid, 0)
        wall = time.perf_counter() - t
        code = os.waitstatus_to_exitcode(status)
        if code not in (0, 1):
            err.seek(0)
            raise SystemExit(f"{' '.join(cmd)} exited {code}:\n{err.read().decode(errors='replace')}")
    return wall, usage.ru_maxrss * 1024


def stages(path: Path) -> dict[str, float]:
    """In-process split of the default text report (interpreter start-up excluded)."""
    from formats.elf import ElfFile
    from formats.go.moduledata import locate
    from imgtool.size import render, views
    from imgtool.size.engine import analyze

    t0 = time.perf_counter()
    elf = ElfFile.parse(path.read_bytes(), str(path))
    t1 = time.perf_counter()
    elf.symbols
    t2 = time.perf_counter()
    tab = locate(elf).pclntab
    tab.charges()
    t3 = time.perf_counter()
    r = analyze(ElfFile.parse(path.read_bytes(), str(path)))
    t4 = time.perf_counter()
    render.text_table(views.table(r, "package"), views.totals(r), top=20, by="package")
    t5 = time.perf_counter()
    return {"parse ELF": t1 - t0, "symbols": t2 - t1, "pclntab walk + charge": t3 - t2,
            "analyze (all again)": t4 - t3, "table + render": t5 - t4}


def bench(path: Path, runs: int, rss_goal: bool = True) -> bool:
    imgtool = [sys.executable, "-m", "imgtool", "size", str(path)]
    cmds = {"text": imgtool, "json": imgtool + ["--format", "json"],
            "nm": ["go", "tool", "nm", "-size", "-sort", "size", str(path)]}
    for c in cmds.values():  # warm the page cache, the .pyc files and the go tool cache
        run(c)
    walls: dict[str, list[float]] = {k: [] for k in cmds}
    rss: dict[str, list[int]] = {k: [] for k in cmds}
    for _ in range(runs):
        for k, c in cmds.items():
            w, m = run(c)
            walls[k].append(w)
            rss[k].append(m)
    med = statistics.median
    size = path.stat().st_size
    print(f"{path} ({size / 1e6:.1f} MB), {runs} rounds; median wall clock, peak RSS; "
          f"ratio to nm: median of the rounds' ratios (of the fastest runs)")
    ok = True
    for k in cmds:
        ratio = med(a / b for a, b in zip(walls[k], walls["nm"]))
        goal = GOALS.get(k)
        verdict = "" if goal is None else (f"  ratio {ratio:.2f}x ({min(walls[k]) / min(walls['nm']):.2f}x) "
                                           f"(goal <= {goal}x: {'met' if ratio <= goal else 'NOT met'})")
        ok &= goal is None or ratio <= goal
        print(f"  {' '.join(['imgtool size'] + cmds[k][5:]) if k != 'nm' else 'go tool nm -size -sort size':<34}"
              f"{med(walls[k]):7.3f} s  {max(rss[k]) / 1e6:6.1f} MB{verdict}")
    peak = max(max(rss["text"]), max(rss["json"]))
    base = run([sys.executable, "-m", "imgtool", "--version"])[1]
    verdict = f"goal <= {RSS_GOAL}x: {'met' if peak <= RSS_GOAL * size else 'NOT met'}" if rss_goal else \
        "no goal: the interpreter alone is most of it"
    print(f"  peak RSS {peak / 1e6:.1f} MB = {peak / size:.2f}x the ELF ({verdict}); "
          f"'imgtool --version' alone: {base / 1e6:.1f} MB")
    ok &= not rss_goal or peak <= RSS_GOAL * size
    # in a child process, so that this process stays small for the RSS of the next runs
    code = (f"import sys, json; sys.path.insert(0, {str(ROOT / 'bench')!r}); import bench_size; "
            f"print(json.dumps([bench_size.stages(bench_size.Path({str(path)!r})) for _ in range({max(1, runs // 2)})]))")
    import json

    st = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    print("  in process: " + ", ".join(f"{k} {med(s[k] for s in st):.3f} s" for k in st[0]))
    return ok


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("elf", nargs="*")
    ap.add_argument("--runs", type=int, default=9,
                    help="timed runs of each command (median; 9: a shared machine swings by a third from run to run)")
    a = ap.parse_args()
    paths = [Path(p) for p in a.elf] or [cmd_go_arm(), largest_test_elf()]
    # the memory goal is for cmd/go (19 MB); for a 9 MB ELF, 3x is about what Python and
    # typer take before reading a byte
    ok = all([bench(p, a.runs, rss_goal=p.stat().st_size >= 15_000_000) for p in paths])
    print(f"goals: {'all met' if ok else 'NOT all met'} (load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} CPUs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
