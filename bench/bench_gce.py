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
  upstream recipe: packaging only, on the disk imgtool wrote);
* BIOS: the whole upstream chain at GCE's 1 GiB (tamago-example ``TARGET=gcp img`` and
  ``tools/README.md``): ``objcopy -O binary`` with the BSS as contents, ``dd if=/dev/zero
  bs=1M count=1024``, ``dd`` of a boot sector (imgtool's 512 bytes stand in for nasm's) and
  of the flat image at LBA 200, ``tar --format=oldgnu -Sczf`` (one run: the disk is dense).

Ratios are GNU tar / imgtool (> 1: imgtool is faster). Median of --runs.

    python bench/bench_gce.py            # 3 runs
    python bench/bench_gce.py --runs 5 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import re
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
    found = sorted(p for p in cache.glob("amd64-*.elf") if re.fullmatch(r"amd64-[0-9a-f]{16}\.elf", p.name))
    if found:
        return found[-1]
    go = shutil.which("go") or sys.exit("Go is needed to build the benchmark ELF")
    out = work / "goprog.elf"
    env = {**os.environ, "GOOS": "linux", "GOARCH": "amd64", "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod"}
    subprocess.run([go, "build", "-o", str(out), "-ldflags", "-T 0x10010000 -R 0x1000", "."], cwd=ROOT / "tests" /
                   "goprog", env=env, check=True)
    return out


def upstream_chain(elf: Path, our_raw: Path, work: Path, gnu: str) -> tuple[str, float, int]:
    """Seconds and tarball size of tamago-example's recipe scaled to a 1 GiB disk."""
    work.mkdir()
    (work / "mbr.bin").write_bytes(_sector0(our_raw))
    objcopy = shutil.which("objcopy") or sys.exit("objcopy is needed")
    script = (f"set -e; cd {work}; {objcopy} -O binary --set-section-flags .bss=alloc,load,contents "
              f"--set-section-flags .noptrbss=alloc,load,contents {elf} main.bin; "
              "dd if=/dev/zero of=disk.raw bs=1M count=1024 status=none; "
              "dd if=mbr.bin of=disk.raw conv=notrunc status=none; "
              "dd if=main.bin of=disk.raw bs=512 seek=200 conv=notrunc status=none; "
              f"{gnu} --format=oldgnu -Sczf compressed-image.tar.gz disk.raw")
    t = median_time(lambda: subprocess.run(["sh", "-c", script], check=True), 1)
    return ("upstream chain: objcopy + dd x3 + tar -Sczf", t, (work / "compressed-image.tar.gz").stat().st_size)


def _sector0(path: Path) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(512)


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
            chain = []
            if route == "bios":
                chain = [upstream_chain(elf, raw, d / "up", gnu)]
            rows = [*chain,
                    (f"imgtool gce disk (whole command, {disk.disk.size >> 30} GiB disk)", t_cli, ours.stat().st_size),
                    ("imgtool write_outputs (in-process, disk built)", t_lib, lib.stat().st_size),
                    ("tar --format=oldgnu -Sczf disk.raw", t_gnu, ref.stat().st_size)]
            for label, t, size in rows:
                print(f"{route:6s} {label:46s} {t:8.3f} {size:11,d} {t_gnu / t:14.1f}x")
            if chain:
                print(f"{route:6s} the upstream chain / imgtool gce disk: {chain[0][1] / t_cli:.1f}x")
            results["routes"].append({"route": route, "disk_bytes": disk.disk.size, "data_bytes": disk.disk.data_size,
                                      "rows": [dict(writer=label, seconds=t, bytes=size) for label, t, size in rows],
                                      "ratio_cli": t_gnu / t_cli, "ratio_library": t_gnu / t_lib,
                                      "ratio_chain": chain[0][1] / t_cli if chain else None})
    for r in results["routes"]:
        print(f"{r['route']}: the whole imgtool command is {r['ratio_cli']:.1f}x GNU tar's speed on the finished disk; "
              f"the tarball writer alone {r['ratio_library']:.1f}x")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
