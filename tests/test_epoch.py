"""``imgtool.epoch``: the one reader of SOURCE_DATE_EPOCH and of given times (signing
times, a Go build's ``vcs.time``): ASCII digits only, UTC whatever TZ says, nothing before
1970 or past the year 9999."""

from __future__ import annotations

import datetime as dt
import os
import time

import pytest

from imgtool.epoch import parse_time, signing_time, source_date_epoch, utc_datetime
from imgtool.errors import InputError

UTC = dt.timezone.utc


def test_source_date_epoch_digits_only():
    assert source_date_epoch({}) is None and source_date_epoch({"SOURCE_DATE_EPOCH": " "}) is None
    assert source_date_epoch({"SOURCE_DATE_EPOCH": "1700000000"}) == 1700000000
    for bad in ("²", "1e9", "-5", "0x10", "12 34"):  # "²".isdigit() is True, int("²") fails
        with pytest.raises(InputError, match="SOURCE_DATE_EPOCH: .*whole number"):
            source_date_epoch({"SOURCE_DATE_EPOCH": bad})


@pytest.mark.parametrize("tz", ["UTC", "America/New_York", "Asia/Kolkata"])
def test_a_time_without_a_zone_is_utc_whatever_tz_says(tz, monkeypatch):
    monkeypatch.setenv("TZ", tz)
    time.tzset()
    try:
        assert parse_time("2024-01-01T00:00:00") == dt.datetime(2024, 1, 1, tzinfo=UTC)
        assert parse_time("2024-01-01T00:00:00Z").timestamp() == 1704067200
        assert parse_time("1704067200") == dt.datetime(2024, 1, 1, tzinfo=UTC)
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_out_of_range_times_are_one_line_errors(monkeypatch):
    for text, match in (("0999-01-01T00:00:00Z", "before 1970"), ("1969-12-31T23:59:59+00:00", "before 1970"),
                        ("99999999999999", "past the year 9999"), ("yesterday", "neither seconds")):
        with pytest.raises(InputError, match=f"signing_time: .*{match}"):
            parse_time(text)
    with pytest.raises(InputError, match="SOURCE_DATE_EPOCH: .*past the year 9999"):
        utc_datetime(10**15)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert signing_time(None) == dt.datetime.fromtimestamp(1700000000, UTC)
    assert signing_time("2020-02-02T00:00:00Z") == dt.datetime(2020, 2, 2, tzinfo=UTC)
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    assert signing_time(None) is None and "SOURCE_DATE_EPOCH" not in os.environ
