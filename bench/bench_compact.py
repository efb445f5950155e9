#!/usr/bin/env python3
"""Compact i.MX images (docs/compact.md): both sizes, and the time to build and sign each,
as subprocesses (median wall clock of --runs, interpreter start-up included).

* build: ``imgtool imx build`` and ``imgtool imx build --compact`` against TamaGo's chain
  for the plain image (``objcopy -O binary`` with BSS as contents, ``mkimage -T
  imximage``, the ``dd`` entry patch);
* sign: ``imgtool imx sign`` and ``imgtool imx sign --compact`` (ELF in, build + CSF +
  verify-after-sign) against ``openssl cms -sign`` of the .imx the image signature covers
  (the hashing and RSA signature CST makes; CST itself is broken in Debian, see
  reference/imx-hab.md §6).

Ratios are imgtool / reference (below 1: imgtool faster). Also printed: the plain and
compact sizes of the ``.imx`` and the signed image, and bytes the ROM loads (boot data
length). The ELF defaults to tests/goboard built with -tags withcrypto (a small USB armory
program with Go 1.26's 32 MiB drbg.memory), built once into /tmp.

    python bench/bench_compact.py [ELF] [--runs N] [--json out.json]
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchutil import elf_bench_args, median_time  # noqa: E402

DEFAULT = Path("/tmp/imgtool-bench-compact-arm7.elf")
CFG = ROOT / "imgtool" / "boards" / "usbarmory-mk2.cfg"
TAMAGO_SECTIONS = (".text", ".rodata", ".shstrtab", ".typelink", ".itablink", ".gopclntab", ".go.buildinfo",
                   ".go.module", ".noptrdata", ".data", ".bss", ".noptrbss")


def build_default() -> Path:
    if not DEFAULT.exists():
        env = dict(os.environ, GOOS="linux", GOARCH="arm", GOARM="7", CGO_ENABLED="0", GOFLAGS="-mod=mod")
        subprocess.run(["go", "build", "-tags", "withcrypto", "-o", str(DEFAULT), "-ldflags", "-T 0x80010000 -R 0x1000",
                        "."], cwd=ROOT / "tests" / "goboard", env=env, check=True)
    return DEFAULT


def tamago_chain(elf: Path, t: Path) -> list[str]:
    """TamaGo's Makefile recipe as one shell command: objcopy, mkimage, dd."""
    sections = " ".join(f"-j {s}" for s in TAMAGO_SECTIONS)
    return ["sh", "-c", f"arm-none-eabi-objcopy {sections} --set-section-flags .bss=alloc,load,contents "
                        f"--set-section-flags .noptrbss=alloc,load,contents {elf} -O binary {t}/chain.bin && "
                        f"mkimage -n {CFG} -T imximage -e 0x80010000 -d {t}/chain.bin {t}/chain.imx >/dev/null && "
                        f"dd if={elf} of={t}/chain.imx bs=1 count=4 skip=24 seek=4 conv=notrunc 2>/dev/null"]


def quiet_time(cmd: list[str], runs: int) -> float:
    """Median seconds of ``cmd``, its output (the large-BSS warning) discarded."""
    return median_time(lambda: subprocess.run(cmd, check=True, capture_output=True), runs)


def main() -> int:
    a = elf_bench_args(__doc__, runs=3)
    elf = a.elf or build_default()
    imgtool = [sys.executable, "-m", "imgtool"]
    results: dict = {"elf": str(elf), "runs": a.runs, "rows": []}
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        keys = t / "keys"
        subprocess.run(imgtool + ["hab", "keygen", str(keys)], check=True, capture_output=True)
        key, crt = keys / "IMG_1_key.pem", keys / "IMG_1_crt.pem"
        common = ["--board", "usbarmory-mk2", "--dcd", str(CFG)]
        out = {}
        for kind, extra in (("plain", []), ("compact", ["--compact"])):
            out[kind] = (t / f"{kind}.imx", t / f"{kind}-signed.imx")
            build = imgtool + ["imx", "build", str(elf), *common, *extra, "-o", str(out[kind][0])]
            sign = imgtool + ["imx", "sign", str(elf), *common, *extra, "--keys", str(keys), "--signing-time", "0",
                              "-o", str(out[kind][1])]
            subprocess.run(build, check=True, capture_output=True)
            subprocess.run(sign, check=True, capture_output=True)
            cms = ["openssl", "cms", "-sign", "-binary", "-nocerts", "-nosmimecap", "-md", "sha256", "-outform", "DER",
                   "-signer", str(crt), "-inkey", str(key), "-in", str(out[kind][0]), "-out", str(t / "sig.der")]
            for step, ours, name, ref in (("build", build, "objcopy+mkimage+dd", tamago_chain(elf, t)),
                                          ("sign", sign, "openssl cms -sign", cms)):
                mine, theirs = quiet_time(ours, a.runs), quiet_time(ref, a.runs)
                results["rows"].append({"image": kind, "step": step, "imgtool_s": mine, "reference": name,
                                        "reference_s": theirs, "ratio": mine / theirs})
        print(f"{elf} ({elf.stat().st_size} bytes), median of {a.runs} runs")
        for kind, (imx, signed) in out.items():
            loaded = struct.unpack_from("<I", imx.read_bytes(), 0x24)[0]
            results[kind] = {"imx": imx.stat().st_size, "signed": signed.stat().st_size, "rom_loads": loaded}
            print(f"  {kind:<8} .imx {imx.stat().st_size:>11,} bytes   signed {signed.stat().st_size:>11,} bytes   "
                  f"ROM loads {loaded:>11,} bytes")
        p, c = results["plain"]["signed"], results["compact"]["signed"]
        print(f"  compact / plain (signed): {c / p:.3f} ({p / c:.1f}x smaller)")
        for r in results["rows"]:
            print(f"  {r['step']:<6} {r['image']:<8} imgtool {r['imgtool_s'] * 1000:8.1f} ms   {r['reference']:<19} "
                  f"{r['reference_s'] * 1000:8.1f} ms   ratio {r['ratio']:5.2f}")
    if a.json:
        a.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
