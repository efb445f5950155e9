"""Boot images under QEMU (TCG only: /dev/kvm is not usable here) and read the serial
console until a marker line appears.

- ``run_qemu(argv, console, marker=..., timeout=...) -> str``: start ``argv`` (a full
  ``qemu-system-*`` command line whose console goes to the file ``console``), wait until
  ``marker`` is in the console output or ``timeout`` seconds pass, stop the VM, return
  what it printed. Without the marker it raises AssertionError with the output and the
  command line (``allow_timeout=True`` returns the output instead, for tests that expect a
  hang).
- ``boot_raspi(kernel, workdir, machine="raspi2b"|"raspi0", loaders=(), park=None, ...)``:
  ``-M MACHINE -bios kernel.img`` (loaded at 0x8000, started there in SVC mode) with
  the park blob at 0x0 on raspi2b, mini UART = second serial (``-serial null -serial
  file:...``).
- ``boot_imx6ul(loaders, start, workdir, ...)``: ``-M mcimx6ul-evk`` with QEMU's generic
  loader: each ``(bytes, address)`` with ``-device loader,file=...,addr=...,force-raw=on``
  and the CPU started at ``start`` with ``-device loader,addr=START,cpu-num=0``; UART1 =
  first serial.
- ``boot_seabios(disk, workdir, interface="virtio", loaders=(), ...)``: ``qemu-system-x86_64
  -machine q35,accel=tcg`` with SeaBIOS (QEMU's default firmware) booting ``disk`` (raw) from
  the given bus (``virtio``: virtio-blk; ``ide``: AHCI on q35), COM1 = first serial.
- ``random_fill(start, end, seed)``: seeded random bytes for a range (the
  "RAM left dirty" fill loaded over a BSS before boot).

``DONE`` is the payloads' last line; waiting for it returns every line they print.
"""

from __future__ import annotations

import random
import shlex
import subprocess
import time
from pathlib import Path
from typing import Iterable, Sequence

from hab_helpers import need

DONE = "PAYLOAD DONE"
DEFAULT_TIMEOUT = 20.0


def run_qemu(argv: Sequence[str], console: Path, *, marker: str = DONE, timeout: float = DEFAULT_TIMEOUT,
             allow_timeout: bool = False) -> str:
    """Run QEMU until ``marker`` shows on the console file, then stop it; return the console
    text (CR removed). See the module docstring."""
    console.write_bytes(b"")
    proc = subprocess.Popen(list(map(str, argv)), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    text = ""
    try:
        while True:
            text = console.read_bytes().decode("latin-1").replace("\r", "")
            if marker in text or proc.poll() is not None or time.monotonic() > deadline:
                break
            time.sleep(0.02)
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
        if proc.stdout:
            proc.stdout.close()
    text = console.read_bytes().decode("latin-1").replace("\r", "")
    if marker not in text and not allow_timeout:
        raise AssertionError(f"no {marker!r} on the console within {timeout:g} s\n--- console ---\n{text}\n"
                             f"--- qemu ---\n{log}\n--- command ---\n{shlex.join(map(str, argv))}")
    return text


def _loader_args(workdir: Path, loaders: Iterable[tuple[bytes, int]], prefix: str) -> list[str]:
    args = []
    for i, (data, addr) in enumerate(loaders):
        f = workdir / f"{prefix}{i}-{addr:08x}.bin"
        f.write_bytes(data)
        args += ["-device", f"loader,file={f},addr=0x{addr:x},force-raw=on"]
    return args


def random_fill(start: int, end: int, seed: int = 1) -> bytes:
    """``end - start`` pseudo-random bytes (seeded, so a failure reproduces)."""
    return random.Random(seed ^ start).randbytes(end - start)


def boot_raspi(kernel: bytes, workdir: Path, *, machine: str = "raspi2b", loaders: Iterable[tuple[bytes, int]] = (),
               park: bytes | None = None, marker: str = DONE, timeout: float = DEFAULT_TIMEOUT,
               allow_timeout: bool = False) -> str:
    """Boot ``kernel`` (kernel.img bytes) with ``qemu-system-arm -M MACHINE -bios``; on raspi2b
    ``park`` (the park blob, required there) goes to 0x0. Returns the mini UART output."""
    workdir.mkdir(parents=True, exist_ok=True)
    img = workdir / "kernel.img"
    img.write_bytes(kernel)
    extra = list(loaders)
    if machine == "raspi2b":
        if park is None:
            raise ValueError("raspi2b needs the park blob (payload_helpers.park_blob())")
        extra.insert(0, (park, 0))
    console = workdir / "console.txt"
    argv = [need("qemu-system-arm"), "-M", machine, "-accel", "tcg", "-bios", img, "-display", "none", "-monitor",
            "none", "-serial", "null", "-serial", f"file:{console}", *_loader_args(workdir, extra, "raspi")]
    return run_qemu(argv, console, marker=marker, timeout=timeout, allow_timeout=allow_timeout)


def boot_imx6ul(loaders: Iterable[tuple[bytes, int]], start: int, workdir: Path, *, marker: str = DONE,
                timeout: float = DEFAULT_TIMEOUT, allow_timeout: bool = False) -> str:
    """Load each ``(bytes, address)`` with QEMU's generic loader on ``-M mcimx6ul-evk`` and
    start CPU 0 at ``start``. Returns the UART1 output."""
    workdir.mkdir(parents=True, exist_ok=True)
    console = workdir / "console.txt"
    argv = [need("qemu-system-arm"), "-M", "mcimx6ul-evk", "-accel", "tcg", "-display", "none", "-monitor", "none",
            "-serial", f"file:{console}", *_loader_args(workdir, loaders, "imx"),
            "-device", f"loader,addr=0x{start:x},cpu-num=0"]
    return run_qemu(argv, console, marker=marker, timeout=timeout, allow_timeout=allow_timeout)


def boot_seabios(disk: Path, workdir: Path, *, interface: str = "virtio", memory: str = "512M",
                 loaders: Iterable[tuple[bytes, int]] = (), marker: str = DONE, timeout: float = DEFAULT_TIMEOUT,
                 allow_timeout: bool = False) -> str:
    """Boot the raw ``disk`` with SeaBIOS on q35 (TCG) from ``interface`` (a ``-drive if=``
    value: ``virtio`` or ``ide``, which is AHCI on q35). Returns the COM1 output."""
    workdir.mkdir(parents=True, exist_ok=True)
    console = workdir / "console.txt"
    argv = [need("qemu-system-x86_64"), "-machine", "q35,accel=tcg", "-m", memory, "-display", "none", "-monitor",
            "none", "-serial", f"file:{console}", "-drive", f"file={disk},format=raw,if={interface}",
            *_loader_args(workdir, loaders, "x86")]
    return run_qemu(argv, console, marker=marker, timeout=timeout, allow_timeout=allow_timeout)
