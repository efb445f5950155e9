"""``SOURCE_DATE_EPOCH``: the one reader of the reproducible-builds time.

The variable is seconds since 1970-01-01 UTC as decimal digits
(https://reproducible-builds.org/specs/source-date-epoch/); unset or empty means "not
given", anything else is an error rather than silently ignored.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
from typing import Mapping

from imgtool.errors import InputError

_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)


def source_date_epoch(environ: Mapping[str, str] | None = None) -> int | None:
    """``SOURCE_DATE_EPOCH`` from ``environ`` (default ``os.environ``) as an int, or None
    when it is unset or empty.

    Raises:
        InputError: it is set but not a whole number of seconds (``field="SOURCE_DATE_EPOCH"``).
    """
    value = (os.environ if environ is None else environ).get("SOURCE_DATE_EPOCH", "").strip()
    if not value:
        return None
    if not re.fullmatch(r"[0-9]+", value):  # ASCII digits only (str.isdigit() takes "²")
        raise InputError(f"{value!r} is not a whole number of seconds since 1970", field="SOURCE_DATE_EPOCH")
    return int(value)


def utc_datetime(seconds: int, field: str = "SOURCE_DATE_EPOCH") -> _dt.datetime:
    """``seconds`` since 1970-01-01 UTC as an aware UTC datetime.

    Raises:
        InputError: a time past what a datetime holds (year 9999), naming ``field``.
    """
    try:
        return _dt.datetime.fromtimestamp(seconds, _dt.timezone.utc)
    except (OverflowError, ValueError, OSError):
        raise InputError(f"{seconds} seconds since 1970 is past the year 9999", field=field) from None


def parse_time(text: str, field: str = "signing_time") -> _dt.datetime:
    """A time given as seconds since the epoch or as ISO 8601 (``2026-01-01T00:00:00Z``);
    without a zone it is UTC.

    Raises:
        InputError: neither form, before 1970 (CMS signingTime and the file systems
            count from 1970 and later), or out of range (``field``).
    """
    if re.fullmatch(r"[0-9]+", text.strip()):
        return utc_datetime(int(text), field)
    try:
        t = _dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"{text!r} is neither seconds since the epoch nor ISO 8601", field=field) from None
    t = t if t.tzinfo else t.replace(tzinfo=_dt.timezone.utc)
    if t < _EPOCH:
        raise InputError(f"{text!r} is before 1970-01-01", field=field)
    return t


def signing_time(option: str | None) -> _dt.datetime | None:
    """The time to sign with: ``option`` (:func:`parse_time`), else ``SOURCE_DATE_EPOCH``,
    else None (the caller's default).

    Raises:
        InputError: a malformed or out-of-range option or SOURCE_DATE_EPOCH.
    """
    if option:
        return parse_time(option)
    epoch = source_date_epoch()
    return None if epoch is None else utc_datetime(epoch)
