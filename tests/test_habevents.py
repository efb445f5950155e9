"""formats.imx.habevents: HAB event records round-trip through raw bytes and the text
forms U-Boot ``hab_status`` (``0xdb 0x00 ...`` lines), ``hexdump -C`` and a bare hex
string give; arbitrary input raises nothing but FormatError."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from formats.errors import FormatError
from formats.imx.habevents import HAB_CTX_ASSERT, HAB_CTX_COMMAND, HabEvent, parse_event_log

u8 = st.integers(0, 0xFF)
events = st.builds(
    HabEvent,
    status=u8,
    reason=u8,
    context=st.sampled_from([HAB_CTX_ASSERT, HAB_CTX_COMMAND, 0x00, 0xE1, 0xEE]) | u8,
    engine=u8,
    data=st.binary(max_size=40),
    version=st.integers(0x40, 0x4F),
)


def _uboot(evs: list[HabEvent]) -> str:
    """U-Boot hab_status layout: a header line, then each event as 8 bytes a line."""
    out = ["HAB Configuration: 0xf0, HAB State: 0x66", ""]
    for i, ev in enumerate(evs, 1):
        raw = ev.build()
        out += [f"--------- HAB Event {i} -----------------", "event data:"]
        out += ["\t" + " ".join(f"0x{b:02x}" for b in raw[j : j + 8]) for j in range(0, len(raw), 8)]
        out += ["", "STS = HAB_FAILURE (0x33)", ""]
    return "\n".join(out) + "\n"


def _hexdump(raw: bytes) -> str:
    """``hexdump -C`` layout: offset, 16 bytes, the ASCII column."""
    lines = []
    for j in range(0, len(raw), 16):
        chunk = raw[j : j + 16]
        ascii_ = "".join(chr(b) if 32 <= b < 127 and b != 0x7C else "." for b in chunk)
        lines.append(f"{j:08x}  " + " ".join(f"{b:02x}" for b in chunk) + f"  |{ascii_}|")
    return "\n".join(lines) + "\n"


@settings(max_examples=60, deadline=None)
@given(st.lists(events, min_size=1, max_size=4))
def test_events_round_trip_every_form(evs):
    raw = b"".join(ev.build() for ev in evs)
    assert parse_event_log(b"\x00\x00" + raw + b"\xff").events == tuple(evs)
    log = parse_event_log(_uboot(evs).encode())
    assert log.events == tuple(evs) and (log.config, log.state) == (0xF0, 0x66)
    assert parse_event_log(_hexdump(raw).encode()).events == tuple(evs)
    assert parse_event_log(raw.hex().encode()).events == tuple(evs)
    # 4-byte words in groups, as word dumps print them: the first group is data, not an offset
    words = " ".join(raw[j:j + 4].hex() for j in range(0, len(raw), 4))
    assert parse_event_log(words.encode() + b"\n").events == tuple(evs)
    # xxd (offset, colon, 2-byte groups) and od -An-less output (6-digit offset, one blank)
    xxd = "".join(f"{j:08x}: " + " ".join(raw[k:k + 2].hex() for k in range(j, min(j + 16, len(raw)), 2)) + "\n"
                  for j in range(0, len(raw), 16))
    od = "".join(f"{j:06o} " + " ".join(f"{b:02x}" for b in raw[j:j + 16]) + "\n" for j in range(0, len(raw), 16))
    assert parse_event_log(xxd.encode()).events == tuple(evs)
    assert parse_event_log(od.encode()).events == tuple(evs)
    for ev in evs:
        d = ev.describe()
        assert d["version"] == f"4.{ev.version & 0xF}" and d["data"] == ev.data.hex()


@settings(max_examples=120, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_arbitrary_input_raises_only_format_error(data):
    try:
        log = parse_event_log(data)
    except FormatError:
        return
    for ev in log.events:
        ev.describe()
