"""Build the C core with AddressSanitizer and UBSan and run a script against it.

``run_sanitized(tmp_path, script, *args)`` compiles every ``formats/*.c`` into a
sanitized extension, runs ``script`` (Python source; ``sys.argv[1]`` is the extension's
path, the rest are ``args``) with libasan preloaded, and fails the test on any
sanitizer report. The script is expected to load the extension as ``formats._accel``
(see ``LOAD_ACCEL``) and to print ``sanitized OK`` at the end.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

#: Prologue for sanitizer scripts: import the sanitized build as formats._accel.
LOAD_ACCEL = r'''
import importlib.machinery, importlib.util, sys
import formats
loader = importlib.machinery.ExtensionFileLoader("formats._accel", sys.argv[1])
spec = importlib.util.spec_from_file_location("formats._accel", sys.argv[1], loader=loader)
mod = importlib.util.module_from_spec(spec)
loader.exec_module(mod)
sys.modules["formats._accel"] = mod
formats._accel = mod
'''


def run_sanitized(tmp_path: Path, script: str, *args: str) -> subprocess.CompletedProcess:
    """Compile the sanitized C core and run ``script`` against it; assert a clean run."""
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.fail("gcc is needed for the sanitizer build", pytrace=False)
    libasan = subprocess.run([gcc, "-print-file-name=libasan.so"], capture_output=True, text=True).stdout.strip()
    if not os.path.isabs(libasan) or not os.path.exists(libasan):
        pytest.fail("libasan is needed for the sanitizer build (Debian gcc ships it)", pytrace=False)
    so = tmp_path / ("_accel_san" + sysconfig.get_config_var("EXT_SUFFIX"))
    sources = [str(p) for p in sorted((REPO / "formats").glob("*.c"))]
    cmd = [
        gcc, "-shared", "-fPIC", "-O2", "-g", "-std=c11", "-Wall", "-Werror",
        "-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer",
        "-I" + sysconfig.get_paths()["include"], *sources, "-o", str(so),
    ]
    build = subprocess.run(cmd, capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    path = tmp_path / "san.py"
    path.write_text(textwrap.dedent(LOAD_ACCEL) + textwrap.dedent(script))
    env = dict(os.environ, LD_PRELOAD=libasan, PYTHONMALLOC="malloc",
               ASAN_OPTIONS="detect_leaks=0:abort_on_error=0:exitcode=99",
               UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:exitcode=98",
               PYTHONPATH=str(REPO))
    env.pop("IMGTOOL_PURE_PYTHON", None)
    env.pop("IMGTOOL_CRC_TIER", None)
    r = subprocess.run([sys.executable, str(path), str(so), *args], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-6000:]
    assert "sanitized OK" in r.stdout
    assert "runtime error" not in r.stderr and "AddressSanitizer" not in r.stderr
    return r
