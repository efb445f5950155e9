#!/usr/bin/env python3
"""``imgtool uefi app|sign|verify`` against the tools they replace, as subprocesses (median
wall clock of --runs, interpreter start-up included):

* ELF -> PE32+: ``imgtool uefi app`` vs go-boot's ``objcopy --output-target
  efi-app-x86_64`` (binutils; the ``dd`` that patches Characteristics is left out);
* signing: ``imgtool uefi sign`` vs ``sbsign`` and ``osslsigncode sign -h sha256``;
* verification: ``imgtool uefi verify --cert`` vs ``sbverify --cert`` and
  ``osslsigncode verify -CAfile``.

The ELF defaults to ``cmd/go`` built for GOOS=linux GOARCH=amd64 at go-boot's layout
(``-T 0x10010000 -R 0x1000``; built once into /tmp/cmdgo-amd64-uefi.elf); the key is
Debian's OVMF snakeoil key. Ratios are imgtool / reference (below 1: imgtool faster).
Also printed: the same three steps as library calls in this process (no interpreter
start-up, which bench_startup.py measures), to show where a CLI run's time goes.

    python bench/bench_uefi.py [ELF] [--runs N] [--json out.json]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchutil import command_time, elf_bench_args, median_time  # noqa: E402

DEFAULT = Path("/tmp/cmdgo-amd64-uefi.elf")
KEY, CERT = Path("/usr/share/ovmf/PkKek-1-snakeoil.key"), Path("/usr/share/ovmf/PkKek-1-snakeoil.pem")


def build_default() -> Path:
    if not DEFAULT.exists():
        env = dict(os.environ, GOOS="linux", GOARCH="amd64", CGO_ENABLED="0")
        subprocess.run(["go", "build", "-o", str(DEFAULT), "-ldflags", "-T 0x10010000 -R 0x1000", "cmd/go"],
                       env=env, check=True)
    return DEFAULT


def main() -> int:
    a = elf_bench_args(__doc__, runs=5)
    elf = a.elf or build_default()
    imgtool = [sys.executable, "-m", "imgtool"]
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        key = t / "snakeoil.key"
        subprocess.run(["openssl", "rsa", "-in", str(KEY), "-passin", "pass:snakeoil", "-out", str(key)], check=True,
                       capture_output=True)
        efi, ref_efi, signed = t / "app.efi", t / "objcopy.efi", t / "signed.efi"
        rows = [
            ("ELF -> PE32+", imgtool + ["uefi", "app", str(elf), "-o", str(efi)],
             {"objcopy": ["objcopy", "--strip-debug", "--output-target", "efi-app-x86_64", "--subsystem=efi-app",
                          "--image-base", "0x10000000", "--stack=0x10000", str(elf), str(ref_efi)]}),
        ]
        subprocess.run(rows[0][1], check=True)
        sign = imgtool + ["uefi", "sign", str(efi), "--key", str(key), "--cert", str(CERT), "-o", str(signed)]
        subprocess.run(sign, check=True)
        oss_out = t / "oss.efi"
        rows.append(("sign", sign, {
            "sbsign": ["sbsign", "--key", str(key), "--cert", str(CERT), "--output", str(t / "sb.efi"), str(efi)],
            "osslsigncode": ["sh", "-c", f"rm -f {oss_out}; osslsigncode sign -h sha256 -key {key} -certs {CERT} "
                                         f"-in {efi} -out {oss_out} >/dev/null"]}))
        rows.append(("verify", imgtool + ["uefi", "verify", str(signed), "--cert", str(CERT)], {
            "sbverify": ["sbverify", "--cert", str(CERT), str(signed)],
            "osslsigncode": ["osslsigncode", "verify", "-CAfile", str(CERT), "-in", str(signed)]}))
        results = []
        print(f"{elf} ({elf.stat().st_size} bytes), PE {efi.stat().st_size} bytes, median of {a.runs} runs")
        for step, ours, refs in rows:
            mine = command_time(ours, a.runs)
            for name, cmd in refs.items():
                theirs = command_time(cmd, a.runs)
                results.append({"step": step, "imgtool_s": mine, "reference": name, "reference_s": theirs,
                                "ratio": mine / theirs})
                print(f"  {step:<13} imgtool {mine * 1000:8.1f} ms   {name:<13} {theirs * 1000:8.1f} ms   "
                      f"ratio {mine / theirs:5.2f}")
        in_process(elf, key, a.runs, results)
    if a.json:
        a.json.write_text(json.dumps(results, indent=2))
    return 0


def in_process(elf: Path, key: Path, runs: int, results: list) -> None:
    from formats.elf import ElfFile
    from formats.pe.fromelf import elf_to_efi
    from signing import authenticode
    from signing.keys import FileSigner

    data = elf.read_bytes()
    pe = elf_to_efi(ElfFile.parse(data)).pe
    signer = FileSigner.from_files(key, CERT)
    signed = authenticode.sign(pe, signer)
    steps = {"ELF -> PE32+": lambda: elf_to_efi(ElfFile.parse(data)), "sign": lambda: authenticode.sign(pe, signer),
             "verify": lambda: authenticode.verify(signed, signer.certificate)}
    print("  in-process (library calls):")
    for step, fn in steps.items():
        s = median_time(fn, runs)
        results.append({"step": step, "in_process_s": s})
        print(f"  {step:<13} {s * 1000:8.1f} ms")


if __name__ == "__main__":
    sys.exit(main())
