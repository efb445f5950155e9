"""HAB event log: the records the i.MX boot ROM writes (``hab_rvt.report_event``) and the
text forms U-Boot ``hab_status`` and TamaGo print them in.

Source: HABv4 API Reference Manual ("Events": ``hab_event`` record layout; ``hab_status``,
``hab_reason``, ``hab_context``, ``hab_config``, ``hab_state`` and assertion values as
``hab_types.h`` names them); U-Boot ``arch/arm/mach-imx/hab.c`` (``hab_status``, which
prints each event as a hex dump after ``HAB Configuration: 0x.., HAB State: 0x..``);
reference/imx-hab.md §3.10. An event record is ``DB LLLL VV | sts rsn ctx eng | data``
with a big-endian length; the data of a failed command is the command itself, decoded
with :func:`formats.imx.csf.parse_commands`.

Public API::

    parse_event_log(data) -> EventLog       raw bytes or text; FormatError if no event
    parse_events(data) -> list[HabEvent]     records found in raw bytes
    HabEvent(status, reason, context, engine, data=b"", version=0x42).build() / .describe()
"""

from __future__ import annotations

import re
import struct
from functools import lru_cache
from dataclasses import dataclass

from formats.errors import FormatError
from formats.imx.csf import COMMAND_NAMES, ENGINE_NAMES, HAB_TAG_EVT, parse_commands
from formats.imx.ivt import hab_header

#: ``hab_context`` values whose event data this module decodes
HAB_CTX_COMMAND = 0xC0
HAB_CTX_ASSERT = 0xA0

HAB_STATUS_NAMES = {0x00: "HAB_STS_ANY", 0x33: "HAB_FAILURE", 0x69: "HAB_WARNING", 0xF0: "HAB_SUCCESS"}
HAB_REASON_NAMES = {
    0x00: "HAB_RSN_ANY", 0x01: "HAB_ENG_FAIL_OLD", 0x03: "HAB_UNS_COMMAND", 0x05: "HAB_INV_IVT",
    0x06: "HAB_INV_COMMAND", 0x09: "HAB_UNS_STATE", 0x0A: "HAB_UNS_ENGINE", 0x0C: "HAB_INV_ASSERTION",
    0x0F: "HAB_INV_INDEX", 0x11: "HAB_INV_CSF", 0x12: "HAB_UNS_ALGORITHM", 0x14: "HAB_UNS_PROTOCOL",
    0x17: "HAB_INV_SIZE", 0x18: "HAB_INV_SIGNATURE", 0x1B: "HAB_UNS_KEY", 0x1D: "HAB_INV_KEY",
    0x1E: "HAB_INV_RETURN", 0x21: "HAB_INV_CERTIFICATE", 0x22: "HAB_INV_ADDRESS", 0x24: "HAB_UNS_ITEM",
    0x27: "HAB_INV_DCD", 0x28: "HAB_INV_CALL", 0x2B: "HAB_OVR_COUNT", 0x2D: "HAB_OVR_STORAGE",
    0x2E: "HAB_MEM_FAIL", 0x30: "HAB_ENG_FAIL",
}
HAB_CONTEXT_NAMES = {
    0x00: "HAB_CTX_ANY", 0xFF: "HAB_CTX_FAB", 0xE1: "HAB_CTX_ENTRY", 0x33: "HAB_CTX_TARGET",
    0x0A: "HAB_CTX_AUTHENTICATE", 0xDD: "HAB_CTX_DCD", 0xCF: "HAB_CTX_CSF", 0xC0: "HAB_CTX_COMMAND",
    0xDB: "HAB_CTX_AUT_DAT", 0xA0: "HAB_CTX_ASSERT", 0xEE: "HAB_CTX_EXIT",
}
HAB_CONFIG_NAMES = {0xF0: "HAB_CFG_OPEN", 0xCC: "HAB_CFG_CLOSED", 0x33: "HAB_CFG_RETURN"}
HAB_STATE_NAMES = {
    0x33: "HAB_STATE_INITIAL", 0x55: "HAB_STATE_CHECK", 0x66: "HAB_STATE_NONSECURE",
    0x99: "HAB_STATE_TRUSTED", 0xAA: "HAB_STATE_SECURE", 0xCC: "HAB_STATE_FAIL_SOFT",
    0xFF: "HAB_STATE_FAIL_HARD", 0xF0: "HAB_STATE_NONE",
}
HAB_ASSERT_NAMES = {0x00: "HAB_ASSERT_BLOCK"}


def _name(table: dict, value: int) -> str:
    return table.get(value, f"unknown 0x{value:02x}")


@lru_cache(maxsize=4096)
def _header_names(status: int, reason: int, context: int, engine: int, version: int) -> tuple[tuple[str, str], ...]:
    """The names of an event header's fields (a log repeats the same few headers)."""
    return (
        ("status", _name(HAB_STATUS_NAMES, status)),
        ("reason", _name(HAB_REASON_NAMES, reason)),
        ("context", _name(HAB_CONTEXT_NAMES, context)),
        ("engine", "HAB_ENG_" + ENGINE_NAMES[engine] if engine in ENGINE_NAMES else f"unknown 0x{engine:02x}"),
        ("version", f"{version >> 4}.{version & 0xF}"),
    )


@dataclass(frozen=True)
class HabEvent:
    """One HAB event record ``DB LLLL VV | sts rsn ctx eng | data``.

    ``data`` is context-specific: the failing command for ``HAB_CTX_COMMAND``; for
    ``HAB_CTX_ASSERT`` an assertion type, address and length (big-endian u32 each).
    """

    status: int
    reason: int
    context: int
    engine: int
    data: bytes = b""
    version: int = 0x42

    def build(self) -> bytes:
        return (hab_header(HAB_TAG_EVT, 8 + len(self.data), self.version)
                + bytes([self.status, self.reason, self.context, self.engine]) + self.data)

    def describe(self) -> dict:
        out = dict(_header_names(self.status, self.reason, self.context, self.engine, self.version),
                   data=self.data.hex())
        if self.context == HAB_CTX_ASSERT and len(self.data) >= 12:  # type, address, length
            kind, addr, length = struct.unpack_from(">III", self.data)
            out["assertion"] = {"type": _name(HAB_ASSERT_NAMES, kind), "address": addr, "length": length}
        elif self.context == HAB_CTX_COMMAND and len(self.data) >= 4:  # the command itself
            try:
                out["command"] = parse_commands(self.data[: struct.unpack_from(">H", self.data, 1)[0]])[0].describe()
            except (FormatError, struct.error, IndexError):  # the ROM may log a truncated command
                out["command"] = {"command": COMMAND_NAMES.get(self.data[0], f"tag 0x{self.data[0]:02x}"), "truncated": True}
        return out


def parse_events(data: bytes) -> list[HabEvent]:
    """Find HAB event records (tag 0xDB, version 0x4x, length >= 8) in raw bytes, in order.

    Linear in ``len(data)``: the scan jumps from one 0xDB byte to the next.
    """
    events: list[HabEvent] = []
    pos = data.find(HAB_TAG_EVT)
    while 0 <= pos and pos + 8 <= len(data):
        if data[pos + 3] & 0xF0 == 0x40:
            length = (data[pos + 1] << 8) | data[pos + 2]
            if 8 <= length and pos + length <= len(data):
                rec = data[pos : pos + length]
                events.append(HabEvent(rec[4], rec[5], rec[6], rec[7], bytes(rec[8:]), rec[3]))
                pos = data.find(HAB_TAG_EVT, pos + length)
                continue
        pos = data.find(HAB_TAG_EVT, pos + 1)
    return events


@dataclass(frozen=True)
class EventLog:
    """A decoded HAB status dump: ``config``/``state`` (``None`` when not printed) and events."""

    config: int | None
    state: int | None
    events: tuple[HabEvent, ...]

    def describe(self) -> dict:
        return {
            "config": None if self.config is None else _name(HAB_CONFIG_NAMES, self.config),
            "state": None if self.state is None else _name(HAB_STATE_NAMES, self.state),
            "events": [e.describe() for e in self.events],
        }


#: A line of hex bytes as the logs print them: an optional ``event data:`` label or a
#: hexdump offset (4-8 hex digits, then blanks), then tokens of whole bytes (``0x``
#: optional), then optionally ``hexdump -C``'s ASCII column between two ``|``. Whether
#: a leading token is an offset is decided after the match (:func:`_line_bytes`).
_HEX_LINE = re.compile(
    r"\n[ \t]*(?>(?:(?:event data:|(?P<off>[0-9a-fA-F]{4,8})(?P<colon>:?))(?P<sep>[ \t]+))?)"
    r"((?:0[xX])?(?:[0-9a-fA-F]{2})+(?:[ \t]+(?:0[xX])?(?:[0-9a-fA-F]{2})+)*)"
    r"[ \t]*(?:\|[^|\n]*\|[^\n]*)?(?=\n)")


def _line_bytes(m: re.Match) -> str:
    """The hex of one matched line. A leading token counts as an offset when a colon
    (xxd, U-Boot ``md``) or two blanks (``hexdump -C``) follow it, or when it is not as
    wide as the tokens after it (``od``, plain ``hexdump``); a token as wide as the rest
    after one blank is data (``db001842 330ca000 ...``, words in groups)."""
    data, off = m.group(4), m.group("off")
    if off is None or m.group("colon") or len(m.group("sep")) > 1 or len(off) % 2:
        return data
    first = data.split(None, 1)[0]
    return f"{off} {data}" if len(first.removeprefix("0x").removeprefix("0X")) == len(off) else data


_NOT_TEXT = re.compile(rb"[^\t\n\r\x20-\x7e]")


def _hex_runs(text: str) -> list[bytes]:
    """The bytes of each run of consecutive hex lines of ``text`` (commas count as blanks).

    One scan of a compiled pattern that starts at a line feed, so the regular-expression
    engine jumps from line to line; an 11 MB log takes a fraction of a second.
    """
    text = "\n" + text.replace("\r\n", "\n").replace("\r", "\n").replace(",", " ") + "\n"
    runs: list[list[str]] = []
    end = -1
    for m in _HEX_LINE.finditer(text):
        hexs = m.group(4) if m.group("off") is None else _line_bytes(m)
        if m.start() == end:
            runs[-1].append(hexs)
        else:
            runs.append([hexs])
        end = m.end()
    # a token's 0x can only be its prefix: the pattern allows no x elsewhere
    return [bytes.fromhex(" ".join(run).replace("0x", "").replace("0X", "")) for run in runs]


def parse_event_log(data: bytes) -> EventLog:
    """Decode a HAB event log: raw event bytes, or text as U-Boot ``hab_status`` or TamaGo
    print it (``0xdb 0x00 0x14 0x42 ...``, ``db001442...``, ``hexdump`` output).

    Raises:
        FormatError: no HAB event and no HAB configuration/state found.
    """
    is_text = _NOT_TEXT.search(data) is None
    config = state = None
    if is_text:
        text = bytes(data).decode("ascii")
        m = re.search(r"HAB Configuration:\s*(0x[0-9a-fA-F]+)\s*,\s*HAB State:\s*(0x[0-9a-fA-F]+)", text)
        if m:
            config, state = int(m.group(1), 16), int(m.group(2), 16)
        events: list[HabEvent] = []
        for run in _hex_runs(text):
            events += parse_events(run)
        if not events and config is None and "No HAB Events Found" not in text:
            raise FormatError("no HAB event (tag 0xdb) and no 'HAB Configuration' line found", field="HAB event log")
        return EventLog(config, state, tuple(events))
    events = parse_events(data)
    if not events:
        raise FormatError("no HAB event record (tag 0xdb, version 0x4x) found", field="HAB event log")
    return EventLog(None, None, tuple(events))
