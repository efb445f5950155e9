"""The CI guard (tests/ci_guard.py) through pytest itself: under CI=true a skip -- in a
test, a skipif marker, a module-level importorskip -- fails the run; an allowed skip with a
reason that is not a missing tool stays a skip; without CI every skip stays a skip."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SAMPLE = '''
import pytest

def test_passes():
    assert 1 + 1 == 2

def test_missing_tool():
    pytest.skip("frobnicate is not installed")

@pytest.mark.skipif(True, reason="needs a network")
def test_skipif():
    pass

@pytest.mark.allow_skip(reason="Python 3.10 has no hashlib.file_digest")
def test_allowed():
    pytest.skip("old Python")

@pytest.mark.allow_skip(reason="the tool is missing")
def test_allowed_but_a_missing_tool():
    pytest.skip("tool")

@pytest.mark.allow_skip(reason="pure-Python mode", when=False)
def test_allowed_elsewhere():
    pytest.skip("C core off")

@pytest.mark.allow_skip(reason="the C core is switched off")
def test_allowed_marker_but_the_skip_is_a_missing_tool():
    pytest.skip("objcopy not installed")
'''
HIDDEN = '''
import pytest
no_such = pytest.importorskip("no_such_module_for_imgtool_tests")

def test_hidden():
    assert no_such
'''


def _run(tmp_path: Path, ci: bool) -> str:
    (tmp_path / "test_sample.py").write_text(SAMPLE)
    (tmp_path / "test_hidden.py").write_text(HIDDEN)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env.update(PYTHONPATH=str(Path(__file__).resolve().parent), **({"CI": "true"} if ci else {}))
    r = subprocess.run([sys.executable, "-m", "pytest", "-p", "ci_guard", "-p", "no:cacheprovider", "-q", "-rA", "--continue-on-collection-errors",
                        str(tmp_path)], cwd=tmp_path, env=env, capture_output=True, text=True)
    return r.stdout + r.stderr


@pytest.mark.parametrize("ci", [True, False])
def test_guard(tmp_path, ci):
    out = _run(tmp_path, ci)
    summary = out.strip().splitlines()[-1]
    if ci:
        # failed: the missing tool, the missing-tool "allowed" one, the one allowed elsewhere,
        # the allowed one that skips for a missing tool; errors (failures in setup and
        # collection): the skipif and the hidden module; skipped: only the allowed one
        assert "4 failed, 1 passed, 1 skipped, 2 errors" in summary, out
        assert "skipped under CI=true: needs a network" in out
        assert "skipped under CI=true: frobnicate is not installed" in out
        assert "collection of test_hidden.py skipped under CI=true" in out
    else:
        assert "1 passed, 7 skipped" in summary, out
