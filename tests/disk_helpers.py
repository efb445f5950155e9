"""Shared pieces of the disk-container tests: reference tools, writing images, file sets."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from formats.sparse import SparseImage
from imgtool.output import write_sparse_atomic


def need(tool: str) -> str:
    """Path of a reference tool: a failure under CI=true when it is missing, else a skip."""
    path = shutil.which(tool) or next((p for p in (f"/usr/sbin/{tool}", f"/sbin/{tool}") if os.path.exists(p)), None)
    if path is None:
        msg = f"{tool} is needed (scripts/setup.sh installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
    return path


def run(*args, check: bool = True, **kw) -> subprocess.CompletedProcess:
    """Run a command (text output); on failure the assertion shows its output."""
    r = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kw)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, args))} exited {r.returncode}:\n{r.stdout}\n{r.stderr}")
    return r


def write(image: SparseImage, path: Path) -> Path:
    """Write ``image`` as a sparse file (the product's writer)."""
    write_sparse_atomic(path, image)
    return path


def pseudo(n: int, seed: str) -> bytes:
    """``n`` deterministic bytes that do not compress (SHA-256 counter stream)."""
    out = bytearray()
    i = 0
    while len(out) < n:
        out += hashlib.sha256(f"{seed}:{i}".encode()).digest()
        i += 1
    return bytes(out[:n])


#: File sets the FAT tests build: Raspberry Pi boot files, an ESP, and awkward names.
FILE_SETS = {
    "rpi": {
        "bootcode.bin": pseudo(52_456, "bootcode"),
        "start.elf": pseudo(2_976_000, "start"),
        "fixup.dat": pseudo(7_265, "fixup"),
        "config.txt": b"enable_uart=1\nkernel=kernel.img\nkernel_address=0x8000\ndisable_commandline_tags=1\n",
        "kernel.img": b"\x00\x10\x9f\xe5\x11\xff\x2f\xe1" + bytes(40_000) + pseudo(300_001, "kernel"),
    },
    "esp": {
        "EFI/BOOT/BOOTX64.EFI": pseudo(1_234_567, "efi"),
        "EFI/BOOT/shimx64.efi": pseudo(1_234_567, "efi"),
    },
    "names": {
        "Long File Name.TXT": b"long\n",
        "ReadMe.md": b"# mixed case\n",
        "a.b.c": b"dots\n",
        "UPPER.txt": b"upper base, lower extension\n",
        "abcdefghijkl.txt": b"one\n",
        "abcdefghijkm.txt": b"two\n",
        "caf\u00e9 cr\u00e8me.txt": b"unicode\n",
        "empty": b"",
        "deep/er/and/deeper/file.bin": pseudo(5000, "deep"),
        "many/" + "x" * 200: b"a 200-character name\n",
        **{f"many/f{i:03d}.dat": pseudo(i * 37, f"f{i}") for i in range(120)},
    },
}
