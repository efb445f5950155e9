"""GCE boot disk: ``imgtool gce disk`` against ``tar --format=oldgnu -Sczf`` on the same disk.

The input is a real Go amd64 ELF linked at TamaGo's 0x10010000 (the test suite's
``tests/goprog``, from the test cache or built here with ``go build``). For each route
(BIOS: boot sector + flat image; UEFI: the ELF converted to PE32+ on a GPT/FAT32 ESP):

* ``imgtool gce disk ELF -o compressed-image.tar.gz --raw disk.raw -q`` once, to get the
  1 GiB ``disk.raw`` (sparse) the reference packs;
* ``imgtool gce disk ELF -o compressed-image.tar.gz -q``: the whole command, a fresh
  Python process each run (ELF parsing, flattening or PE conversion, the disk, tar, gzip);
* the same tarball written in-process (``imgtool.gce.write_outputs``, the disk already built);
* ``tar --format=oldgnu -Sczf compressed-image.tar.gz disk.raw`` (GNU tar with gzip, the
  upstream recipe: packaging only, on the disk imgtool wrote).

Ratios are GNU tar / imgtool (> 1: imgtool is faster). Median of --runs.

    python bench/bench_gce.py            # 3 runs
    python bench/bench_gce.py --runs 5 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.benchutil import command_time, median_time  # noqa: E402


def go_elf(work: Path) -> Path:
    """The test suite's Go amd64 ELF (-T 0x10010000 -R 0x1000), cached or built now."""
    cache = Path(os.environ.get("IMGTOOL_TEST_CACHE", Path.home() / ".cache" / "imgtool-tests"))
    found = sorted(cache.glob("amd64-*.elf"), key=lambda p: p.stat().st_mtime)
    if found:
        return found[-1]
    go = shutil.which("go") or sys.exit("Go is needed to build the benchmark ELF")
    out = work / "goprog.elf"
    env = {**os.environ, "GOOS": "linux", "GOARCH": "amd64", "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod"}
    subprocess.run([go, "build", "-o", str(out), "-ldflags", "-T 0x10010000 -R 0x1000", "."], cwd=ROOT / "tests" /
                   "goprog", env=env, check=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    gnu = shutil.which("tar") or sys.exit("GNU tar is needed")
    from imgtool.gce import build_disk, write_outputs

    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    results: dict = {"routes": []}
    with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR", "/tmp")) as tmp:
        d = Path(tmp)
        elf = go_elf(d)
        results["elf"] = {"path": str(elf), "bytes": elf.stat().st_size}
        print(f"input {elf.name}: {elf.stat().st_size:,d} bytes (Go amd64, -T 0x10010000)")
        print(f"{'route':6s} {'writer':46s} {'seconds':>8s} {'bytes':>11s} {'GNU tar / this':>15s}")
        for route in ("bios", "uefi"):
            base = [sys.executable, "-m", "imgtool", "gce", "disk", str(elf), "--boot", route, "-q"]
            raw, ours = d / f"{route}.raw", d / f"{route}.tar.gz"
            subprocess.run([*base, "-o", str(ours), "--raw", str(raw)], check=True, env=env)
            t_cli = command_time([*base, "-o", str(ours)], args.runs)
            disk = build_disk(elf, boot=route)
            lib = d / f"{route}-lib.tar.gz"
            t_lib = median_time(lambda: write_outputs(disk, lib), args.runs)
            staged = d / route
            staged.mkdir()
            os.link(raw, staged / "disk.raw")
            ref = d / f"{route}-gnu.tar.gz"
            t_gnu = command_time([gnu, "--format=oldgnu", "-Sczf", str(ref), "-C", str(staged), "disk.raw"], args.runs)
            rows = [(f"imgtool gce disk (whole command, {disk.disk.size >> 30} GiB disk)", t_cli, ours.stat().st_size),
                    ("imgtool write_outputs (in-process, disk built)", t_lib, lib.stat().st_size),
                    ("tar --format=oldgnu -Sczf disk.raw", t_gnu, ref.stat().st_size)]
            for label, t, size in rows:
                print(f"{route:6s} {label:46s} {t:8.3f} {size:11,d} {t_gnu / t:14.1f}x")
            results["routes"].append({"route": route, "disk_bytes": disk.disk.size, "data_bytes": disk.disk.data_size,
                                      "rows": [dict(writer=label, seconds=t, bytes=size) for label, t, size in rows],
                                      "ratio_cli": t_gnu / t_cli, "ratio_library": t_gnu / t_lib})
    for r in results["routes"]:
        print(f"{r['route']}: the whole imgtool command is {r['ratio_cli']:.1f}x GNU tar's speed on the finished disk; "
              f"the tarball writer alone {r['ratio_library']:.1f}x")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
