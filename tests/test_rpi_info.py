"""``imgtool.rpiinfo``: what ``imgtool info`` reads back from a kernel.img (stub variant,
entry, payload offset, TEXT_START) and an SD card, as properties over generated layouts;
no input makes it raise."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from formats.boot.arm import VARIANTS, bss_zero_stub, entry_stub
from formats.errors import FormatError
from imgtool.diskinfo import describe_disk
from imgtool.rpiinfo import describe_kernel_img, describe_rpi

PAGE = 0x1000


@settings(max_examples=60, deadline=None)
@given(variant=st.sampled_from(VARIANTS), pages=st.integers(1, 300), lead_zeros=st.integers(0, PAGE - 1),
       body=st.binary(min_size=1, max_size=64), entry_at=st.integers(0, 63))
def test_kernel_img_layout_is_read_back(variant, pages, lead_zeros, body, entry_at):
    """A stub, zeros up to TEXT_START (a page boundary above 0x8000 + the stub), then a
    payload whose first non-zero byte is anywhere in its first page."""
    text_start = 0x8000 + pages * PAGE
    payload = bytes(lead_zeros) + b"\x01" + body
    entry = text_start + min(entry_at, len(payload) - 1)
    stub = entry_stub(entry, variant=variant)
    data = stub + bytes(text_start - 0x8000 - len(stub)) + payload
    d = describe_kernel_img(data)
    assert d["stub"] == {"kind": "entry", "variant": variant, "size": len(stub), "entry": entry}
    assert (d["payload_offset"], d["text_start"], d["payload_size"]) == (text_start - 0x8000, text_start, len(payload))
    assert d["entry_in_payload"]


def test_bss_zero_stub_is_recognised():
    stub = bss_zero_stub(0x110008, [(0x120000, 0x130000)], address=0x8000)
    d = describe_kernel_img(stub + bytes(0x108000 - len(stub)) + b"\xfe" * 64)
    assert d["stub"]["kind"] == "bss-zero" and d["stub"]["ranges"] == [[0x120000, 0x130000]]
    assert d["text_start"] == 0x110000 and d["entry"] == 0x110008


@settings(max_examples=80, deadline=None)
@given(data=st.binary(max_size=2048), signature=st.booleans())
def test_never_raises_on_arbitrary_bytes(data, signature):
    if signature and len(data) >= 512:
        data = data[:510] + b"\x55\xaa" + data[512:]
    d = describe_rpi(data, "x")
    assert d is None or d["type"] == "rpi-kernel"
    try:  # an SD card is a disk image: diskinfo describes it, or says in one error what is wrong
        disk = describe_disk(data, "x")
    except FormatError:
        return
    assert disk["type"] == "disk"
