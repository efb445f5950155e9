"""Shared fixtures: real Go ELF files built in the test run, and the imgtool CLI.

``go_elf(name)`` builds ``tests/goprog`` (fmt, crypto/sha256, encoding/json, net/http and
the tamago ``bits`` module, so the pclntab, rodata and build information are of real
size) with the machine's Go toolchain, in the link layouts TamaGo boards use, and caches
the result by content (source, toolchain version, flags) under ``$IMGTOOL_TEST_CACHE``
(default ``~/.cache/imgtool-tests``). There is no silent skip: a missing ``go`` fails, and
under ``CI=true`` every skip fails unless deliberately allowed (``tests/ci_guard.py``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ci_guard import pytest_configure, pytest_make_collect_report, pytest_runtest_makereport  # noqa: F401  (CI=true: skips fail)
from uefi_helpers import uefi_boots, uefi_payloads  # noqa: F401  (session fixtures)

ROOT = Path(__file__).resolve().parent.parent
GOPROG = Path(__file__).resolve().parent / "goprog"

#: name -> (environment, ldflags). TamaGo link layouts: USB armory (i.MX6ULL) 0x80010000,
#: Raspberry Pi (BCM2835) 0x110000, arm64 boards 0x40010000, amd64 (microvm/gcp) 0x10010000.
GO_TARGETS: dict[str, tuple[dict[str, str], str]] = {
    "arm7": ({"GOARCH": "arm", "GOARM": "7"}, "-T 0x80010000 -R 0x1000"),
    "arm5": ({"GOARCH": "arm", "GOARM": "5"}, "-T 0x110000 -R 0x1000"),
    # Raspberry Pi layouts: GOARM 7 (Pi 2) at 0x110000, and the 0x10000 layout of the
    # 2020 examples and the tamago board README, GOARM 5 and 7.
    "arm7-pi": ({"GOARCH": "arm", "GOARM": "7"}, "-T 0x110000 -R 0x1000"),
    "arm5-low": ({"GOARCH": "arm", "GOARM": "5"}, "-T 0x10000 -R 0x1000"),
    "arm7-low": ({"GOARCH": "arm", "GOARM": "7"}, "-T 0x10000 -R 0x1000"),
    "arm64": ({"GOARCH": "arm64"}, "-T 0x40010000 -R 0x1000"),
    "amd64": ({"GOARCH": "amd64"}, "-T 0x10010000 -R 0x1000"),
    # entry set to a function, as go-boot links UEFI builds with -E cpuinit (an assembly
    # function: cmd/link's -E looks the name up as an ABI0 symbol, so main.main would not do)
    "amd64-entry": ({"GOARCH": "amd64"}, "-T 0x10010000 -R 0x1000 -E runtime.rt0_go"),
    "riscv64": ({"GOARCH": "riscv64"}, "-T 0x80010000 -R 0x1000"),
    "arm7-stripped": ({"GOARCH": "arm", "GOARM": "7"}, "-s -w -T 0x80010000 -R 0x1000"),
    # stripped as the upstream TamaGo recipes link (-s -w), for every size-test architecture
    "arm64-stripped": ({"GOARCH": "arm64"}, "-s -w -T 0x40010000 -R 0x1000"),
    "amd64-stripped": ({"GOARCH": "amd64"}, "-s -w -T 0x10010000 -R 0x1000"),
    "riscv64-stripped": ({"GOARCH": "riscv64"}, "-s -w -T 0x80010000 -R 0x1000"),
    # Data segment linked far from text (cmd/link -D), as microcontroller layouts put RAM.
    "arm7-fardata": ({"GOARCH": "arm", "GOARM": "7"}, "-T 0x80010000 -D 0x90000000 -R 0x1000"),
}
GO_TARGET_NAMES = ["arm7", "arm5", "arm64", "amd64", "riscv64"]


def _go() -> str:
    go = shutil.which("go")
    if go is None:
        pytest.fail("the Go toolchain is needed to build the test ELF files (.ci/run installs it)", pytrace=False)
    return go


def _cache_dir() -> Path:
    d = Path(os.environ.get("IMGTOOL_TEST_CACHE", Path.home() / ".cache" / "imgtool-tests"))
    d.mkdir(parents=True, exist_ok=True)
    return d


def build_go(src: Path, name: str, env: dict[str, str], ldflags: str, extra: tuple[str, ...] = ()) -> Path:
    """Build the Go main package in ``src`` with ``env`` and ``ldflags``; cached by content.

    Built with ``-buildvcs=false`` unless ``extra`` says otherwise, so that the ELF is a
    function of the content hashed here: a build inside a git checkout would otherwise
    stamp that checkout's commit and ``vcs.time`` (which dates an SD card, for one)."""
    go = _go()
    if not any(a.startswith("-buildvcs") for a in extra):
        extra = ("-buildvcs=false", *extra)
    version = subprocess.run([go, "version"], capture_output=True, text=True, check=True).stdout
    h = hashlib.sha256(version.encode())
    for f in sorted(src.rglob("*")):
        if f.is_file():
            h.update(f.relative_to(src).as_posix().encode() + b"\0" + f.read_bytes())
    h.update(repr((sorted(env.items()), ldflags, extra)).encode())
    out = _cache_dir() / f"{name}-{h.hexdigest()[:16]}.elf"
    if not out.exists():
        full = {**os.environ, "GOOS": "linux", "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod", **env}
        tmp = out.with_suffix(".tmp")
        r = subprocess.run([go, "build", "-o", str(tmp), "-ldflags", ldflags, *extra, "."], cwd=src, env=full,
                           capture_output=True, text=True)
        if r.returncode != 0:
            pytest.fail(f"go build {name} failed:\n{r.stderr}", pytrace=False)
        tmp.replace(out)
    return out


@pytest.fixture(scope="session")
def go_elf():
    """``go_elf(name) -> Path`` of a real Go ELF; names are the keys of GO_TARGETS."""
    built: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in built:
            env, ldflags = GO_TARGETS[name]
            built[name] = build_go(GOPROG, name, env, ldflags)
        return built[name]

    return get


@pytest.fixture(scope="session")
def run_imgtool():
    """Run the CLI in a subprocess: ``run_imgtool(*args) -> CompletedProcess`` (text).
    Stateless, so session-scoped fixtures may use it too."""

    def run(*args: str, check: bool = False, env: dict[str, str] | None = None, **kw) -> subprocess.CompletedProcess:
        r = subprocess.run([sys.executable, "-m", "imgtool", *map(str, args)], capture_output=True, text=True,
                           env=dict(os.environ, **(env or {})), **kw)
        if check and r.returncode != 0:
            raise AssertionError(f"imgtool {' '.join(map(str, args))} exited {r.returncode}:\n{r.stderr}")
        return r

    return run


def objcopy() -> str:
    """The objcopy that handles every test architecture (binutils-multiarch's is the default one)."""
    for cand in ("objcopy", "arm-none-eabi-objcopy"):
        p = shutil.which(cand)
        if p:
            return p
    pytest.fail("binutils objcopy is needed (Debian binutils-multiarch)", pytrace=False)
