"""pytest plugin (loaded by ``conftest.py``): under ``CI=true`` a skip is a failure.

A skipped test tests nothing, and a run whose reference tools or test dependencies are
missing must not turn CI green. So with ``CI=true`` every skip -- ``pytest.skip()``,
``skipif`` markers, ``pytest.importorskip`` in a test or at module level (a skipped
collection) -- is reported as a failure naming its reason, unless the test carries
``@pytest.mark.allow_skip(reason=..., when=True)``: a deliberate skip for a reason that
is not a missing tool or dependency (the C core switched off with IMGTOOL_PURE_PYTHON=1,
an older Python lacking a standard-library function). ``when`` (default True) limits the
allowance to the situation it is meant for; a reason that reads like a missing tool
("not installed", "missing", "is needed", "not available", ...), in the marker or in the
skip itself, is never allowed.

The skips in the suite (see ``docs/testing.md`` for the list) are all either of those
deliberate kinds or missing-tool skips that only apply without CI.
"""

from __future__ import annotations

import os

import pytest

#: Words of a skip reason that say a tool, a package or the network is missing.
MISSING = ("not installed", "missing", "is needed", "are needed", "not available", "not found", "could not fetch",
           "no module named", "not built", "unavailable")


def ci() -> bool:
    """True when the run is CI's (``CI=true``)."""
    return os.environ.get("CI") == "true"


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "allow_skip(reason, when=True): a deliberate skip that CI=true accepts (never a missing tool or dependency)")


def _reason(longrepr) -> str:
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def allowed(item) -> bool:
    """True if ``item`` carries an ``allow_skip`` marker that applies now, with a reason
    that is not a missing tool."""
    marker = item.get_closest_marker("allow_skip")
    if marker is None or not marker.kwargs.get("when", True):
        return False
    reason = str(marker.kwargs.get("reason") or (marker.args[0] if marker.args else "")).lower()
    return bool(reason) and not any(word in reason for word in MISSING)


def _fail(report, where: str) -> None:
    reason = _reason(report.longrepr)
    report.outcome = "failed"
    report.longrepr = (f"{where} skipped under CI=true: {reason}\n(a missing reference tool or test dependency fails "
                       "CI; a deliberate skip needs @pytest.mark.allow_skip(reason=...), see tests/ci_guard.py)")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if ci() and report.skipped and not hasattr(report, "wasxfail") and not (allowed(item) and _deliberate(report)):
        _fail(report, "test")


def _deliberate(report) -> bool:
    """The skip's own reason does not read like a missing tool (an ``allow_skip`` marker
    does not cover a test that skips for another reason too)."""
    reason = _reason(report.longrepr).lower()
    return not any(word in reason for word in MISSING)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    report = outcome.get_result()
    if ci() and report.skipped:
        _fail(report, "collection of " + str(getattr(collector, "nodeid", collector)))
