"""Side-by-side CRC benchmark: imgtool's formats.crc against zlib, crcmod, isal, zlib-ng,
fastcrc and google-crc32c, in one process.

For every model: one call over a large buffer (default 256 MiB, median of --runs) in MB/s
(10**6 B/s), and the time per call for 64-byte inputs (ns, Python call included). Ratios
are imgtool / other (> 1 means imgtool is faster). Every implementation is first checked
against the model's check value; a library that is not installed is skipped.

    python bench/bench_crc.py                  # 256 MiB, 3 runs
    python bench/bench_crc.py --mib 64 --runs 5 --json results.json

Needs (pip): crcmod isal zlib-ng fastcrc google-crc32c (each optional).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from formats import crc  # noqa: E402

MODELS = ["CRC-32/ISO-HDLC", "CRC-32/ISCSI", "CRC-32/MPEG-2", "CRC-16/XMODEM", "CRC-16/IBM-3740", "CRC-64/XZ"]


def _reflect(v, w):
    return int(format(v, f"0{w}b")[::-1], 2)


def competitors(name: str) -> dict:
    """Callables f(data) -> int for the model, from every library that is installed."""
    m = crc.get(name)
    out = {}
    if name == "CRC-32/ISO-HDLC":
        out["zlib"] = zlib.crc32
        try:
            from isal import isal_zlib

            out["isal"] = isal_zlib.crc32
        except ImportError:
            pass
        try:
            from zlib_ng import zlib_ng

            out["zlib-ng"] = zlib_ng.crc32
        except ImportError:
            pass
    if name == "CRC-32/ISCSI":
        try:
            import google_crc32c

            out["google-crc32c"] = google_crc32c.value
        except ImportError:
            pass
    try:
        import crcmod

        init = (_reflect(m.init, m.width) if m.refin else m.init) ^ m.xorout
        out["crcmod"] = crcmod.mkCrcFun((1 << m.width) | m.poly, initCrc=init, rev=m.refin, xorOut=m.xorout)
    except ImportError:
        pass
    try:
        import fastcrc

        fn = {
            "CRC-32/ISO-HDLC": fastcrc.crc32.iso_hdlc, "CRC-32/ISCSI": fastcrc.crc32.iscsi,
            "CRC-32/MPEG-2": fastcrc.crc32.mpeg_2, "CRC-16/XMODEM": fastcrc.crc16.xmodem,
            "CRC-16/IBM-3740": fastcrc.crc16.ibm_3740, "CRC-64/XZ": fastcrc.crc64.xz,
        }.get(name)
        if fn is not None:
            out["fastcrc"] = fn
    except (ImportError, AttributeError):
        pass
    out["imgtool"] = m.compute
    return out


def bench_big(f, buf, runs):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        f(buf)
        times.append(time.perf_counter() - t)
    return len(buf) / statistics.median(times) / 1e6


def bench_small(f, smalls, rounds=40):
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(rounds):
            for d in smalls:
                f(d)
        best = min(best, (time.perf_counter() - t) / (rounds * len(smalls)))
    return best * 1e9


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mib", type=int, default=256, help="size of the large buffer in MiB (default 256)")
    ap.add_argument("--runs", type=int, default=3, help="runs over the large buffer (median; default 3)")
    ap.add_argument("--models", default=",".join(MODELS), help="comma-separated model names")
    ap.add_argument("--json", dest="json_out", help="also write the results to this JSON file")
    args = ap.parse_args()

    print(f"imgtool tier: {crc.default_tier()} (available: {', '.join(crc.available_tiers())})")
    buf = os.urandom(args.mib << 20)
    smalls = [os.urandom(64) for _ in range(2048)]
    floor = bench_small(len, smalls)
    print(f"buffer {args.mib} MiB, {args.runs} runs; 64-byte calls over 2048 buffers "
          f"(Python loop floor, calling len(): {floor:.0f} ns)\n")
    results = {}
    for name in args.models.split(","):
        impls = competitors(name)
        check = crc.get(name).check
        rows = {}
        for lib, f in impls.items():
            got = f(b"123456789")
            if got != check:
                print(f"  {lib}: wrong check value 0x{got:x} for {name}, skipped")
                continue
            rows[lib] = {"MBps": bench_big(f, buf, args.runs), "ns_per_64B": bench_small(f, smalls)}
        me = rows["imgtool"]
        print(f"{name}")
        print(f"  {'implementation':<15} {'MB/s':>10} {'imgtool x':>10} {'ns/64B':>9} {'imgtool x':>10}")
        for lib, r in sorted(rows.items(), key=lambda kv: -kv[1]["MBps"]):
            print(f"  {lib:<15} {r['MBps']:>10.0f} {me['MBps'] / r['MBps']:>10.2f} "
                  f"{r['ns_per_64B']:>9.1f} {r['ns_per_64B'] / me['ns_per_64B']:>10.2f}")
        print()
        results[name] = rows
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
