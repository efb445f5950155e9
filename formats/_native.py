"""The C core (``formats._accel``) when it is built and not disabled.

``IMGTOOL_PURE_PYTHON=1`` makes every ``formats`` module use its pure-Python twin, so
the test suite can run both; where the extension failed to build, the twins are used
silently (they give identical results, only slower).
"""

from __future__ import annotations

import os
from types import ModuleType


def load_accel() -> ModuleType | None:
    """Return the ``formats._accel`` module, or ``None`` (disabled or not built)."""
    if os.environ.get("IMGTOOL_PURE_PYTHON") == "1":
        return None
    try:
        from formats import _accel
    except ImportError:
        return None
    return _accel


accel = load_accel()
