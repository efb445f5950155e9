"""Relocation benchmark: the C core's apply_relocs against its pure-Python twin, in one process.

Synthetic tables of one million relocations over a 16 MiB image (one word every 16
bytes): Elf64_Rela R_X86_64_RELATIVE, Elf32_Rel R_ARM_RELATIVE, and an SHT_RELR table
of one million words (every other 8-byte word, 31 per bitmap entry). Reported: the median time of --runs for the C core (target: under 10 ms
for one million RELATIVE relocations), the twin's time and the ratio twin / C. With
``--elf PIE`` also the whole ``formats.reloc.relocate`` (segment image, tables, symbols,
Go itab fix) on a real position-independent Go ELF.

    python bench/bench_reloc.py
    python bench/bench_reloc.py --elf main.pie --runs 7 --json out.json
"""

from __future__ import annotations

import argparse
import json
import struct
import sys
from array import array
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchutil import median_time  # noqa: E402
from formats import reloc  # noqa: E402

N = 1_000_000
IMAGE = 16 << 20
BASE = 0x400000


def tables() -> dict[str, tuple[bytes, int, int, bytes]]:
    """name -> (table, layout, word size, classes)."""
    stride = IMAGE // N // 8 * 8  # 16 bytes: every other 8-byte word
    offs = [BASE + i * stride for i in range(N)]
    rela = bytearray(24 * N)
    for i, o in enumerate(offs):
        struct.pack_into("<QQQ", rela, 24 * i, o, 8, o - BASE + 0x1000)
    rel32 = bytearray(8 * N)
    for i, o in enumerate(offs):
        struct.pack_into("<II", rel32, 8 * i, o, 23)
    relr = array("Q")  # an address word, then bitmaps of every other word (31 per bitmap)
    relr.append(offs[0])
    nxt, left = offs[0] + 8, N - 1
    while left:
        take = min(31, left)
        bm = 1
        for k in range(take):
            bm |= 1 << (1 + 2 * k)
        relr.append(bm)
        nxt += 63 * 8
        left -= take
    classes64 = bytearray(9)
    classes64[8] = reloc.RELATIVE
    classes32 = bytearray(24)
    classes32[23] = reloc.RELATIVE
    return {"RELA64 RELATIVE": (bytes(rela), 1 | 2, 8, bytes(classes64)),
            "REL32 RELATIVE": (bytes(rel32), 0, 4, bytes(classes32)),
            "RELR64": (relr.tobytes(), 2 | 8, 8, bytes(classes64))}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--elf", type=Path, help="a position-independent Go ELF for the end-to-end timing")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    if reloc._accel is None:
        print("the C core is not built (or IMGTOOL_PURE_PYTHON=1): nothing to compare", file=sys.stderr)
        return 1
    results = []
    empty = array("Q")
    for name, (table, layout, w, classes) in tables().items():
        img_c, img_p = bytearray(IMAGE), bytearray(IMAGE)
        sites = array("Q", bytes(8 * N))
        c = reloc._accel.apply_relocs
        out_c = c(img_c, BASE, table, layout, classes, 0x7000_0000, empty, b"", sites)
        out_p = reloc._apply_py(img_p, BASE, table, layout, classes, 0x7000_0000, empty, b"", array("Q", bytes(8 * N)))
        assert out_c == out_p and img_c == img_p and out_c[2] == N, (name, out_c, out_p)
        t_c = median_time(lambda: c(img_c, BASE, table, layout, classes, 0x7000_0000, empty, b"", sites), a.runs)
        t_c_nosites = median_time(lambda: c(img_c, BASE, table, layout, classes, 0x7000_0000, empty, b""), a.runs)
        t_p = median_time(lambda: reloc._apply_py(img_p, BASE, table, layout, classes, 0x7000_0000, empty, b""), 1)
        results.append({"table": name, "relocations": N, "c_ms": t_c * 1e3, "c_no_sites_ms": t_c_nosites * 1e3,
                        "python_ms": t_p * 1e3, "ratio": t_p / t_c})
        print(f"{name:16s} {N} relocations: C {t_c * 1e3:7.2f} ms (without the site list {t_c_nosites * 1e3:6.2f} ms), "
              f"pure Python {t_p * 1e3:8.1f} ms, ratio {t_p / t_c:6.0f}x")
    if a.elf:
        from formats.elf import ElfFile

        elf = ElfFile.parse(a.elf.read_bytes(), source=str(a.elf))
        t = median_time(lambda: reloc.relocate(elf, 0x8000_0000, allow_undefined=True, skip_unsupported=True), a.runs)
        n = reloc.read_dynamic_relocations(elf).count
        results.append({"elf": str(a.elf), "relocations": n, "relocate_ms": t * 1e3})
        print(f"relocate({a.elf.name}): {n} relocations, {t * 1e3:.1f} ms end to end")
    if a.json:
        a.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
