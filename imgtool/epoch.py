"""``SOURCE_DATE_EPOCH``: the one reader of the reproducible-builds time.

The variable is seconds since 1970-01-01 UTC as decimal digits
(https://reproducible-builds.org/specs/source-date-epoch/); unset or empty means "not
given", anything else is an error rather than silently ignored.
"""

from __future__ import annotations

import os
from typing import Mapping

from imgtool.errors import InputError


def source_date_epoch(environ: Mapping[str, str] | None = None) -> int | None:
    """``SOURCE_DATE_EPOCH`` from ``environ`` (default ``os.environ``) as an int, or None
    when it is unset or empty.

    Raises:
        InputError: it is set but not a whole number of seconds (``field="SOURCE_DATE_EPOCH"``).
    """
    value = (os.environ if environ is None else environ).get("SOURCE_DATE_EPOCH", "").strip()
    if not value:
        return None
    if not value.isdigit():
        raise InputError(f"{value!r} is not a whole number of seconds since 1970", field="SOURCE_DATE_EPOCH")
    return int(value)
