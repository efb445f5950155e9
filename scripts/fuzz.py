#!/usr/bin/env python3
"""The long fuzzing campaign behind ``make fuzz``: every target of ``tests/fuzz_targets.py``
under atheris (libFuzzer, coverage-guided), from seeds built from the test fixtures.

Each target runs in its own process with libFuzzer's limits: ``-timeout`` (a hang over 5 s
is a finding), ``-rss_limit_mb`` (an RSS over 1 GiB is a finding) and ``-runs``. A finding
(a traceback, a hang, an allocation past the limit) is written by libFuzzer to
``tests/corpus/<target>/`` (``crash-*``, ``timeout-*``, ``oom-*``), where the suite replays
it (``tests/test_fuzz.py``); the campaign then goes on from where it stopped until the
target has its executions. The coverage corpus grows in ``--work`` (not in the repository).

Without atheris (no wheel for this Python), the same targets run under hypothesis with a
large budget (``--runs`` examples each; no coverage guidance, same limits checked).

    python scripts/fuzz.py [--runs 100000] [--targets elf,imx,...] [--work .fuzz]

Prints one line per target and writes ``<work>/summary.json``: executions, findings,
peak RSS (MiB) and seconds per target.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
sys.path.insert(0, str(TESTS))

TIMEOUT_S = 5
RSS_LIMIT_MB = 1024
_STAT = re.compile(r"^#(\d+)\s.*?rss: (\d+)Mb", re.MULTILINE)
_DONE = re.compile(r"^Done (\d+) runs", re.MULTILINE)


def _child(name: str, libfuzzer_args: list[str]) -> None:
    """Run one target under atheris (this process is what libFuzzer drives)."""
    import atheris

    with atheris.instrument_imports(include=["formats", "signing", "imgtool"]):
        import fuzz_targets
        from fuzz_targets import EXPECTED, TARGETS, build_seeds

        run = TARGETS[name].run
        for seed in build_seeds(name):  # import what the target imports lazily, instrumented
            try:
                run(seed)
            except EXPECTED:
                pass
    del fuzz_targets

    def one_input(data: bytes) -> None:
        try:
            run(data)
        except EXPECTED:
            pass

    atheris.Setup([sys.argv[0], *libfuzzer_args], one_input)
    atheris.Fuzz()


def _campaign_atheris(name: str, runs: int, work: Path) -> dict:
    from fuzz_targets import CORPUS, build_seeds

    corpus = work / name
    corpus.mkdir(parents=True, exist_ok=True)
    seeds = build_seeds(name)
    for i, seed in enumerate(seeds):
        (corpus / f"seed-{i}").write_bytes(seed)
    findings_dir = CORPUS / name
    findings_dir.mkdir(parents=True, exist_ok=True)
    max_len = max(max(map(len, seeds)), 4096)
    done = peak = 0
    findings: list[str] = []
    start = time.monotonic()
    while done < runs and len(findings) < 20:
        before = set(findings_dir.iterdir())
        args = [f"-runs={runs - done}", f"-timeout={TIMEOUT_S}", f"-rss_limit_mb={RSS_LIMIT_MB}",
                f"-max_len={max_len}", f"-artifact_prefix={findings_dir}/", "-print_final_stats=1",
                "-reload=0", str(corpus)]
        r = subprocess.run([sys.executable, __file__, "--child", name, "--", *args], capture_output=True, text=True,
                           cwd=ROOT)
        log = r.stderr
        (work / f"{name}.log").write_text(log[-200_000:])
        stats = _STAT.findall(log)
        finished = _DONE.search(log)
        n = int(finished.group(1)) if finished else (int(stats[-1][0]) if stats else 0)
        peak = max([peak] + [int(m) for _, m in stats])
        new = sorted(set(findings_dir.iterdir()) - before)
        findings += [p.name for p in new]
        done += max(n, 1)
        if r.returncode == 0:
            break
        if not new:  # died without an artifact (e.g. the interpreter itself): say so, stop
            findings.append(f"exit {r.returncode} without an artifact (see {work / (name + '.log')})")
            break
    return {"target": name, "executions": done, "findings": findings, "peak_rss_mb": peak,
            "seconds": round(time.monotonic() - start, 1), "engine": "atheris"}


def _campaign_hypothesis(name: str, runs: int, work: Path) -> dict:
    import resource
    import signal

    from hypothesis import HealthCheck, given, settings

    from fuzz_targets import CORPUS, EXPECTED, TARGETS, build_seeds
    from fuzz_strategies import mutated

    run, seeds, count = TARGETS[name].run, build_seeds(name), [0]
    findings: list[str] = []
    start = time.monotonic()

    def alarm(*_):
        raise TimeoutError(f"{name}: an input ran over {TIMEOUT_S} s")

    signal.signal(signal.SIGALRM, alarm)

    @settings(max_examples=runs, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(mutated(seeds))
    def one(data: bytes) -> None:
        count[0] += 1
        signal.alarm(TIMEOUT_S)
        try:
            run(data)
        except EXPECTED:
            pass
        except BaseException as exc:
            import hashlib

            d = CORPUS / name
            d.mkdir(parents=True, exist_ok=True)
            path = d / f"crash-{hashlib.sha1(data).hexdigest()}"
            path.write_bytes(data)
            findings.append(f"{path.name}: {type(exc).__name__}: {exc}"[:300])
        finally:
            signal.alarm(0)

    one()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    if peak > RSS_LIMIT_MB:
        findings.append(f"peak RSS {peak} MiB over the {RSS_LIMIT_MB} MiB limit")
    return {"target": name, "executions": count[0], "findings": findings, "peak_rss_mb": peak,
            "seconds": round(time.monotonic() - start, 1), "engine": "hypothesis"}


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[4:] if sys.argv[3:4] == ["--"] else sys.argv[3:])
        return 0
    from fuzz_targets import TARGETS

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=100_000, help="executions per target")
    ap.add_argument("--targets", default=",".join(TARGETS), help="comma-separated target names")
    ap.add_argument("--work", type=Path, default=ROOT / ".fuzz", help="coverage corpus and logs")
    ap.add_argument("--engine", choices=("auto", "atheris", "hypothesis"), default="auto")
    opts = ap.parse_args()
    names = [n for n in opts.targets.split(",") if n]
    unknown = sorted(set(names) - set(TARGETS))
    if unknown:
        ap.error(f"unknown targets {', '.join(unknown)} (known: {', '.join(TARGETS)})")
    engine = opts.engine
    if engine == "auto":
        try:
            import atheris  # noqa: F401

            engine = "atheris"
        except ImportError:
            engine = "hypothesis"
    opts.work.mkdir(parents=True, exist_ok=True)
    campaign = _campaign_atheris if engine == "atheris" else _campaign_hypothesis
    results = []
    for name in names:
        res = campaign(name, opts.runs, opts.work)
        results.append(res)
        print(f"{name:12} {res['executions']:>9} executions  {len(res['findings'])} findings  "
              f"peak RSS {res['peak_rss_mb']:>4} MiB  {res['seconds']:>7} s  ({res['engine']})", flush=True)
        for f in res["findings"]:
            print(f"    finding: {f}", flush=True)
    (opts.work / "summary.json").write_text(json.dumps(results, indent=2) + "\n")
    bad = [r for r in results if r["findings"] or r["executions"] < opts.runs]
    return 1 if bad else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
