"""Shared pieces of the UEFI tests: freestanding payloads built with Debian's gcc, the
Debian snakeoil Secure Boot key, and OVMF boots under QEMU (TCG) read from the serial
console.

The payload (``tests/uefi/payload.c``) is linked at a fixed address (``-static
-Ttext=0x10010000``: the headers' PT_LOAD one page below TEXT_START, the TamaGo layout)
and position-independent (``-static-pie``, linked at 0, R_X86_64_RELATIVE relocations);
a third link with a build-id note gets the headers' PT_LOAD at ld's default 0x400000,
far below ImageBase (an input ``uefi app`` must refuse).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from hab_helpers import need
from qemu_helpers import run_qemu

PAYLOAD = Path(__file__).resolve().parent / "uefi" / "payload.c"
CFLAGS = ["-O2", "-ffreestanding", "-fno-stack-protector", "-mno-red-zone", "-fshort-wchar", "-nostdlib",
          "-fno-asynchronous-unwind-tables", "-Wl,--build-id=none", "-Wl,-e,efi_main"]
LINK = {"fixed": ["-static", "-Wl,-Ttext=0x10010000"],
        "pie": ["-fPIE", "-static-pie"],
        # linked at 0x10000000: TEXT_START - 0x10000 = 0xfff1000 is no 64 KiB multiple
        "pie-high": ["-fPIE", "-static-pie", "-Wl,-Ttext-segment=0x10000000"],
        # with a build-id note, ld puts the headers' PT_LOAD at its default 0x400000
        "lowheaders": ["-static", "-Wl,-Ttext=0x10010000", "-Wl,--build-id=sha1"]}
MARKERS = {"fixed": "IMGTOOL-FIXED-OK", "pie": "IMGTOOL-PIE-OK", "pie-high": "IMGTOOL-PIE-OK",
           "lowheaders": "IMGTOOL-LOW-OK"}
OVMF = Path("/usr/share/OVMF")
SNAKEOIL_KEY = Path("/usr/share/ovmf/PkKek-1-snakeoil.key")
SNAKEOIL_CERT = Path("/usr/share/ovmf/PkKek-1-snakeoil.pem")
SNAKEOIL_PASSWORD = b"snakeoil\n"
CONSOLE_LINE = re.compile(r"IMGTOOL-(\w+)-OK at=(0x[0-9a-f]+) ptr=(0x[0-9a-f]+) data=(\w+) bss=(\w+) END")


def need_file(path: Path, package: str) -> Path:
    if not path.is_file():
        pytest.fail(f"{path} is needed (apt-get install {package}; scripts/setup.sh does)", pytrace=False)
    return path


def build_payload(kind: str, out_dir: Path) -> Path:
    """Compile and link the payload as ``kind`` (``fixed``, ``pie``, ``lowheaders``)."""
    gcc = need("gcc")
    out = out_dir / f"payload-{kind}.elf"
    subprocess.run([gcc, *CFLAGS, *LINK[kind], f'-DMARKER="{MARKERS[kind]}"', "-o", str(out), str(PAYLOAD)],
                   check=True, capture_output=True)
    return out


def snakeoil_password(folder: Path) -> Path:
    p = folder / "snakeoil.pass"
    p.write_bytes(SNAKEOIL_PASSWORD)
    return p


_ANSI = re.compile(r"\x1b\[[0-9;=?]*[A-Za-z]")


def boot_ovmf(disk: Path, workdir: Path, *, secure: bool = False, memory: str = "512M", marker: str = " END",
              timeout: float = 90) -> str:
    """Boot the raw ``disk`` (an ESP image from ``imgtool uefi esp`` or a GCE UEFI disk,
    \\EFI\\BOOT\\BOOTX64.EFI on FAT32; attached read-only through a snapshot, AHCI)
    under OVMF (q35, TCG; ``secure``: the Secure Boot code with the snakeoil variable store,
    SMM on) and return the COM1 console (ANSI sequences removed) up to ``marker`` (QEMU
    stops there, or when the payload exits through isa-debug-exit). No marker:
    AssertionError."""
    qemu = need("qemu-system-x86_64")
    code = need_file(OVMF / ("OVMF_CODE_4M.secboot.fd" if secure else "OVMF_CODE_4M.fd"), "ovmf")
    vars_src = need_file(OVMF / ("OVMF_VARS_4M.snakeoil.fd" if secure else "OVMF_VARS_4M.fd"), "ovmf")
    varstore = workdir / "vars.fd"
    shutil.copyfile(vars_src, varstore)
    console = workdir / "console.txt"
    argv = [qemu, "-machine", "q35,smm=on,accel=tcg" if secure else "q35,accel=tcg", "-m", memory, "-nodefaults",
            "-display", "none", "-monitor", "none", "-serial", f"file:{console}", "-no-reboot",
            "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
            "-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={code}",
            "-drive", f"if=pflash,format=raw,unit=1,file={varstore}",
            "-drive", f"format=raw,snapshot=on,file={disk}"]
    if secure:
        argv[1:1] = ["-global", "driver=cfi.pflash01,property=secure,value=on"]
    return _ANSI.sub("", run_qemu(argv, console, marker=marker, timeout=timeout))


class Boots:
    """Each boot once per session: ``boots.get(name, disk, **kw)`` boots on first use and
    returns the cached console text afterwards; ``prefetch`` runs several boots two at a
    time (TCG runs a VM on one host thread)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.results: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def _run(self, name: str, disk: Path, kw: dict) -> None:
        work = self.root / name
        work.mkdir()
        t0 = time.monotonic()
        text = boot_ovmf(disk, work, **kw)
        with self._lock:
            self.results[name] = (text, time.monotonic() - t0)

    def prefetch(self, jobs: list[tuple[str, Path, dict]]) -> None:
        from concurrent.futures import ThreadPoolExecutor

        todo = [j for j in jobs if j[0] not in self.results]
        with ThreadPoolExecutor(max_workers=2) as pool:
            for f in [pool.submit(self._run, *j) for j in todo]:
                f.result()

    def get(self, name: str, disk: Path, **kw) -> str:
        if name not in self.results:
            self._run(name, disk, kw)
        return self.results[name][0]


@pytest.fixture(scope="session")
def uefi_payloads(tmp_path_factory):
    """``{"fixed": Path, "pie": Path, "pie-high": Path, "lowheaders": Path}``: the payload ELFs, built once."""
    d = tmp_path_factory.mktemp("uefi-payloads")
    return {kind: build_payload(kind, d) for kind in LINK}


@pytest.fixture(scope="session")
def uefi_boots(tmp_path_factory):
    """The session's :class:`Boots`."""
    return Boots(tmp_path_factory.mktemp("uefi-boots"))
