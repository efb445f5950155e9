"""GCE import tarball: imgtool's streaming sparse writer against GNU tar, side by side.

Builds a 1 GiB GPT disk with a FAT32 EFI system partition holding a few MB of real code
(this machine's Python executable and libraries, so it compresses like a boot image),
writes it once as a sparse ``disk.raw``, then times

* ``formats.tar.build_gz`` writing ``compressed-image.tar.gz`` from the in-memory sparse
  image (at zlib levels 1, 6 and 9, and the dense form for comparison), and
* ``tar --format=oldgnu -Sczf compressed-image.tar.gz disk.raw`` (GNU tar with gzip, the
  upstream recipe) on the same raw file, and with ``--hole-detection=raw``.

Ratios are GNU tar / imgtool (> 1 means imgtool is faster). Median of --runs.

    python bench/bench_tar.py                 # 1 GiB disk, ~6 MiB of data, 3 runs
    python bench/bench_tar.py --gib 4 --payload-mib 16 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import sysconfig
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.benchutil import command_time, median_time  # noqa: E402
from formats import fat, gpt, tar  # noqa: E402
from imgtool.output import write_sparse_atomic  # noqa: E402

EPOCH = 1700000000


def payload(mib: int) -> bytes:
    """``mib`` MiB of real machine code and data: the test suite's Go amd64 ELF when it is
    cached (what a GCE disk carries), else this Python installation's binaries."""
    out = bytearray()
    libdir = Path(sysconfig.get_config_var("LIBDIR") or "/usr/lib")
    cache = Path(os.environ.get("IMGTOOL_TEST_CACHE", Path.home() / ".cache" / "imgtool-tests"))
    candidates = [*sorted(cache.glob("amd64-*.elf")), Path(os.path.realpath(sys.executable)),
                  *sorted(libdir.glob("libpython3*.so*")), *sorted(Path("/usr/lib/x86_64-linux-gnu").glob("libcrypto.so*"))]
    for p in candidates:
        if p.is_file():
            out += p.read_bytes()
        if len(out) >= mib << 20:
            break
    while len(out) < mib << 20:
        out += out or b"\x90"
    return bytes(out[: mib << 20])


def disk(gib: int, data: bytes):
    size = gib << 30
    (a, b), = gpt.plan(size, [None])
    vol = fat.build({"EFI/BOOT/BOOTX64.EFI": data, "EFI/BOOT/shimx64.efi": data[: len(data) // 2]},
                    size=(b - a + 1) * 512, fat_type=32, hidden_sectors=a, timestamp=EPOCH, volume_id=EPOCH)
    return gpt.build(size, [gpt.GptPartition("esp", a, b, "EFI system partition")], seed=EPOCH, contents=[vol])


def ours(image, out: Path, level: int, sparse: bool | None = None) -> None:
    members = [tar.TarMember("disk.raw", image, mtime=EPOCH, sparse=sparse)]
    with open(out, "wb") as f:
        for chunk in tar.build_gz(members, level=level):
            f.write(chunk)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gib", type=int, default=1)
    ap.add_argument("--payload-mib", type=int, default=4)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    gnu = shutil.which("tar")
    if gnu is None:
        sys.exit("GNU tar is needed")
    data = payload(args.payload_mib)
    t_build = median_time(lambda: disk(args.gib, data), 1)
    image = disk(args.gib, data)
    results: dict = {"disk_bytes": image.size, "data_bytes": image.data_size, "build_disk_s": t_build}
    with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR", "/tmp")) as tmp:
        d = Path(tmp)
        raw = d / "disk.raw"
        results["write_raw_s"] = median_time(lambda: write_sparse_atomic(raw, image), 1)
        rows = []
        for level in (1, 4, 6, 9):
            out = d / f"ours-{level}.tar.gz"
            t = median_time(lambda: ours(image, out, level), args.runs)
            rows.append((f"imgtool level {level}", t, out.stat().st_size))
        out = d / "ours-dense.tar.gz"
        t = median_time(lambda: ours(image, out, 6, sparse=False), 1)
        rows.append(("imgtool level 6, dense member", t, out.stat().st_size))
        for label, extra in (("GNU tar -Sczf (seek holes)", []), ("GNU tar -Sczf --hole-detection=raw",
                                                                     ["--hole-detection=raw"])):
            out = d / "gnu.tar.gz"
            cmd = [gnu, "--format=oldgnu", *extra, "-Sczf", str(out), "-C", tmp, "disk.raw"]
            t = command_time(cmd, args.runs if not extra else 1)
            rows.append((label, t, out.stat().st_size))
    base = rows[2][1]
    gnu_t = rows[5][1]
    print(f"disk {image.size >> 20} MiB, data {image.data_size / 2**20:.1f} MiB "
          f"(built in {t_build:.2f} s, raw written in {results['write_raw_s']:.2f} s)")
    print(f"{'writer':40s} {'seconds':>9s} {'bytes':>12s} {'GNU tar / this':>15s}")
    for label, t, size in rows:
        print(f"{label:40s} {t:9.3f} {size:12,d} {gnu_t / t:14.1f}x")
    print(f"imgtool (level 6) is {gnu_t / base:.1f}x faster than GNU tar -Sczf on the same disk")
    results["rows"] = [dict(writer=label, seconds=t, bytes=size) for label, t, size in rows]
    results["speedup_vs_gnu_tar"] = gnu_t / base
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
