"""Shared pieces of the GCE and ESP tests: the CLI run as a subprocess, a GCE disk built
with it, and the ``disk.raw`` taken out of its tarball by GNU tar (as a user would)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from disk_helpers import need, run

UTC = {"TZ": "UTC"}


def imgtool(*args, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    """``python -m imgtool ARGS`` (text output); ``check``: exit 0 or an AssertionError with stderr."""
    full = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    r = subprocess.run([sys.executable, "-m", "imgtool", *map(str, args)], capture_output=True, text=True,
                       env={**full, **(env or {})})
    if check and r.returncode != 0:
        raise AssertionError(f"imgtool {' '.join(map(str, args))} exited {r.returncode}:\n{r.stderr}")
    return r


def gce_disk(image: Path, out: Path, *args, env: dict | None = None) -> tuple[Path, Path, str]:
    """``imgtool gce disk IMAGE -o OUT/compressed-image.tar.gz --raw OUT/disk.raw ARGS``:
    (tarball, raw disk, stdout)."""
    out.mkdir(parents=True, exist_ok=True)
    tarball, raw = out / "compressed-image.tar.gz", out / "disk.raw"
    r = imgtool("gce", "disk", image, "-o", tarball, "--raw", raw, *args, env=env)
    return tarball, raw, r.stdout


def untar_disk(tarball: Path, dest: Path) -> Path:
    """``tar -xSf TARBALL`` (GNU tar, holes restored) in ``dest``; the disk.raw it wrote."""
    dest.mkdir(parents=True, exist_ok=True)
    run(need("tar"), "-xSf", tarball, cwd=dest)
    return dest / "disk.raw"


def data_ranges(path: Path) -> list[tuple[int, int]]:
    """The file's data regions ``(offset, length)`` as the file system reports them
    (``SEEK_DATA``/``SEEK_HOLE``); everything else reads as zeros."""
    out = []
    with open(path, "rb") as fh:
        fd, size, pos = fh.fileno(), os.fstat(fh.fileno()).st_size, 0
        while pos < size:
            try:
                start = os.lseek(fd, pos, os.SEEK_DATA)
            except OSError:  # ENXIO: only a hole is left
                break
            end = os.lseek(fd, start, os.SEEK_HOLE)
            out.append((start, end - start))
            pos = end
    return out


def differing_blocks(a: Path, b: Path, block: int = 512) -> list[int]:
    """Indexes of the ``block``-byte blocks in which two files of the same size differ,
    reading only where either has data (holes in both are zeros in both): ``cmp`` for
    sparse disks without reading a gigabyte of holes."""
    assert a.stat().st_size == b.stat().st_size, (a, b)
    spans = sorted(data_ranges(a) + data_ranges(b))
    out: set[int] = set()
    with open(a, "rb") as fa, open(b, "rb") as fb:
        for off, n in spans:
            off, end = off - off % block, off + n
            fa.seek(off)
            fb.seek(off)
            x, y = fa.read(end - off), fb.read(end - off)
            out.update(off // block + i // block for i in range(0, len(x), block) if x[i:i + block] != y[i:i + block])
    return sorted(out)
