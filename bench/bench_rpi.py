"""Raspberry Pi kernel.img: ``imgtool rpi kernel`` against the TamaGo recipe, side by side.

The recipe (tamago board/raspberrypi README, tamago-example-pizero Makefile) as one shell
step: ``readelf -e`` for the entry, ``arm-none-eabi-gcc -c boot.S``, ``objcopy -O binary``
of the stub, ``truncate``, ``arm-none-eabi-objcopy`` with the section list and
``--set-section-flags`` for the BSS, ``cat``. imgtool is timed as a command (Python start
included) and as the library call plus the atomic write. Both write kernel.img and are
checked to agree outside ``.go.fipsinfo``. Ratios are recipe / imgtool (> 1 means imgtool
is faster). Median of --runs.

    python bench/bench_rpi.py                       # the test suite's cached arm5 Go ELF
    python bench/bench_rpi.py --elf app.elf --runs 5 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.benchutil import command_time, median_time  # noqa: E402
from formats.elf import ElfFile  # noqa: E402

SECTIONS = (".text", ".rodata", ".shstrtab", ".typelink", ".itablink", ".gopclntab", ".go.buildinfo", ".go.module",
            ".noptrdata", ".data", ".bss", ".noptrbss")


def default_elf() -> Path:
    """The newest cached GOARM=5 test ELF (``tests/conftest.py`` target ``arm5``), else a
    fresh build of ``tests/goprog`` linked at 0x110000."""
    cache = Path(os.environ.get("IMGTOOL_TEST_CACHE", Path.home() / ".cache" / "imgtool-tests"))
    cached = sorted(cache.glob("arm5-[0-9a-f]*.elf"), key=lambda p: p.stat().st_mtime)
    if cached:
        return cached[-1]
    out = Path(tempfile.mkdtemp()) / "app.elf"
    env = dict(os.environ, GOOS="linux", GOARCH="arm", GOARM="5", CGO_ENABLED="0")
    subprocess.run(["go", "build", "-o", str(out), "-ldflags", "-T 0x110000 -R 0x1000", "."], cwd=ROOT / "tests" / "goprog",
                   env=env, check=True)
    return out


def recipe_script(elf: Path, work: Path, text_start: int) -> list[str]:
    flags = " ".join(f"-j {s}" + (f" --set-section-flags {s}=alloc,load,contents" if s in (".bss", ".noptrbss") else "")
                     for s in SECTIONS)
    script = f"""set -e
cd {work}
ENTRY=$(arm-none-eabi-readelf -e {elf} | grep Entry | sed 's/.*\\(0x[a-zA-Z0-9]*\\).*/\\1/')
arm-none-eabi-gcc -D ENTRY_POINT=$ENTRY -c {ROOT / 'tests' / 'payloads' / 'recipe_boot.S'} -o boot.o
arm-none-eabi-objcopy boot.o -O binary stub.o
truncate -s {text_start - 0x8000} stub.o
arm-none-eabi-objcopy {flags} {elf} -O binary app.o
cat stub.o app.o > recipe.img
"""
    return ["bash", "-c", script]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--elf", type=Path, default=None)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    elf_path = args.elf or default_elf()
    elf = ElfFile.parse(elf_path.read_bytes())
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        out = work / "kernel.img"
        cmd = [sys.executable, "-m", "imgtool", "rpi", "kernel", str(elf_path), "--board", "pi1", "--stub", "plain",
               "-o", str(out), "--no-config"]

        def library() -> None:
            from imgtool.output import write_atomic
            from imgtool.rpi import build_kernel

            write_atomic(out, build_kernel(ElfFile.parse(elf_path.read_bytes()), board_name="pi1", stub="plain").data)

        results = {
            "recipe (readelf, gcc, objcopy x2, truncate, cat)": command_time(recipe_script(elf_path, work, elf.text_start),
                                                                              args.runs),
            "imgtool rpi kernel (command)": command_time(cmd, args.runs),
            "imgtool build_kernel + write_atomic (library)": median_time(library, args.runs),
        }
        ours, ref = out.read_bytes(), (work / "recipe.img").read_bytes()
        fips = elf.section(".go.fipsinfo")
        a = fips.addr - 0x8000
        assert len(ours) == len(ref) and ours[:a] == ref[:a] and ours[a + fips.size:] == ref[a + fips.size:]
    base = results["recipe (readelf, gcc, objcopy x2, truncate, cat)"]
    print(f"{elf_path.name}: {len(ours):,} bytes of kernel.img, median of {args.runs}")
    for name, seconds in results.items():
        print(f"  {name:<52} {seconds:7.3f} s   recipe/this {base / seconds:5.2f}")
    if args.json:
        args.json.write_text(json.dumps({"elf": str(elf_path), "size": len(ours), "seconds": results}, indent=2))


if __name__ == "__main__":
    main()
