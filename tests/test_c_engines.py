"""The plain C engines of formats._accel (crc_engine.c, pe_checksum.c) on their own:
compiled without Python's headers (so they cannot lean on CPython) with AddressSanitizer
and UBSan, driven by tests/c/engine_check.c, and compared with the pure-Python twins
(formats._crc_py, formats.checksum) and the catalogue's check values."""

from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from formats import checksum, crc
from formats._crc_py import PyCrcEngine

REPO = Path(__file__).resolve().parents[1]
FORMATS = REPO / "formats"
DATA_SIZE = 70000  # more than the driver's longest length plus its offset
# models whose every output is recomputed by the pure-Python twin (it is slow)
TWIN_MODELS = ["CRC-32/ISO-HDLC", "CRC-32/MPEG-2", "CRC-64/XZ", "CRC-16/XMODEM", "CRC-5/USB", "CRC-12/UMTS"]


@pytest.fixture(scope="module")
def engine_check(tmp_path_factory) -> Path:
    """tests/c/engine_check.c linked with crc_engine.c and pe_checksum.c, sanitized."""
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.fail("gcc is needed to build the C engine test", pytrace=False)
    out = tmp_path_factory.mktemp("cengine") / "engine_check"
    cmd = [gcc, "-std=c11", "-O1", "-g", "-Wall", "-Wextra", "-Werror", "-fsanitize=address,undefined",
           "-fno-sanitize-recover=all", "-fno-omit-frame-pointer", f"-I{FORMATS}",
           str(REPO / "tests/c/engine_check.c"), str(FORMATS / "crc_engine.c"), str(FORMATS / "pe_checksum.c"),
           "-o", str(out)]
    build = subprocess.run(cmd, capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    return out


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> tuple[Path, bytes]:
    rng = random.Random(0xC0DE)
    raw = bytes(rng.getrandbits(8) for _ in range(DATA_SIZE))
    path = tmp_path_factory.mktemp("cengine") / "data.bin"
    path.write_bytes(raw)
    return path, raw


def _run(exe: Path, *args: str, stdin: str = "") -> list[list[str]]:
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:exitcode=99",
               UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:exitcode=98")
    r = subprocess.run([str(exe), *args], input=stdin, capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0 and "runtime error" not in r.stderr, r.stderr[-4000:]
    return [line.split() for line in r.stdout.splitlines()]


def test_engine_files_include_no_python_header():
    for name in ("crc_engine.c", "crc_engine.h", "pe_checksum.c", "pe_checksum.h", "reloc_walk.c",
                 "reloc_walk.h", "byteorder.h"):
        includes = re.findall(r"^\s*#\s*include\s*([<\"][^>\"]+[>\"])", (FORMATS / name).read_text(), re.M)
        assert includes and not any("Python" in i or "_accel" in i for i in includes), (name, includes)


def test_crc_engine_every_model_and_tier(engine_check, data):
    path, raw = data
    models = crc.models()
    lines = "".join(f"{m.width} {m.poly:#x} {m.init:#x} {int(m.refin)} {int(m.refout)} {m.xorout:#x}\n" for m in models)
    header, *rows = _run(engine_check, "crc", str(path), stdin=lines)
    assert header[0] == "lengths"
    offset, *lengths = map(int, header[1:])
    tiers = [t for t in crc.available_tiers() if t != "python"]
    assert len(rows) == len(models) * len(tiers)
    body = raw[offset:]
    n, k = lengths[-1], lengths[-1] // 3
    for i, m in enumerate(models):
        got = rows[i * len(tiers) : (i + 1) * len(tiers)]
        assert [r[0] for r in got] == tiers
        for r in got:
            assert int(r[1], 16) == m.check, (m.name, r[0])
        # every tier agrees with the bitwise reference on every output
        assert all(r[1:] == got[0][1:] for r in got), m.name
        if m.name in TWIN_MODELS:
            twin = PyCrcEngine(*m.params)
            values = [int(v, 16) for v in got[0][2:]]
            want = [twin.compute(body[:length]) for length in lengths]
            want.append(twin.combine(twin.compute(body[:k]), twin.compute(body[k:n]), n - k))
            want.append(twin.repeat(0xFF, 12345, 1))
            want += twin.compute_blocks(body[:5000], 333)
            assert values == want, m.name


def test_pe_checksum_engine(engine_check, data):
    path, raw = data
    rows = _run(engine_check, "pe", str(path))
    assert len(rows) > 1000
    for n, off, value in rows:
        n, off = int(n), int(off)
        assert int(value, 16) == checksum._pe_checksum_py(raw[:n], off), (n, off)
