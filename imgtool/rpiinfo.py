"""``imgtool info`` for Raspberry Pi artifacts: ``kernel.img`` (either entry stub variant,
or imgtool's BSS-zeroing stub), and what a boot partition's ``config.txt`` and kernel say
(the SD card itself is a disk image: :mod:`imgtool.diskinfo` describes it and asks
:func:`describe_boot_partition` about each FAT partition).

Public API::

    describe_rpi(data, source) -> dict | None      None when the bytes are not a kernel.img
    describe_kernel_img(data, kernel_address=0x8000) -> dict | None
    describe_boot_partition(volume) -> dict | None None without a config.txt
    render_rpi(desc) -> str | None                 text for a description made here

A ``kernel.img`` carries no header: the stub gives the entry, and TEXT_START is where
the payload starts after the zero padding, read as the first non-zero byte after the
stub rounded down to a 4 KiB boundary (TamaGo links ``.text`` at a page boundary), at
the firmware's default ``kernel_address`` 0x8000 (the file does not say where it is
loaded; ``config.txt`` does).
"""

from __future__ import annotations

import re
from typing import Union

from formats.errors import FormatError

Buffer = Union[bytes, bytearray, memoryview]

_NONZERO = re.compile(rb"[^\x00]")
DEFAULT_KERNEL_ADDRESS = 0x8000


def describe_kernel_img(data: Buffer, kernel_address: int = DEFAULT_KERNEL_ADDRESS) -> dict | None:
    """A ``kernel.img`` description, or None when ``data`` does not start with an imgtool
    or TamaGo-recipe stub. Keys: ``type`` (``"rpi-kernel"``), ``size``, ``stub``
    (``kind``, ``variant``, ``size``, ``entry``, and ``ranges`` for the BSS-zeroing
    kind), ``kernel_address`` (assumed), ``payload_offset``, ``text_start``, ``entry``,
    ``entry_in_payload``, ``payload_size``."""
    from formats.boot.arm import BssZeroStub, identify

    stub = identify(data, 0)
    if stub is None:
        return None
    desc_stub: dict = {"kind": "bss-zero" if isinstance(stub, BssZeroStub) else "entry", "variant": stub.variant,
                       "size": stub.size, "entry": stub.entry}
    if isinstance(stub, BssZeroStub):
        desc_stub["ranges"] = [list(r) for r in stub.ranges]
    m = _NONZERO.search(data, stub.size)
    offset = None
    if m is not None:
        first = m.start()
        aligned = ((kernel_address + first) & ~0xFFF) - kernel_address
        offset = aligned if aligned >= stub.size else first
    text_start = None if offset is None else kernel_address + offset
    return {
        "type": "rpi-kernel",
        "size": len(data),
        "stub": desc_stub,
        "kernel_address": kernel_address,
        "payload_offset": offset,
        "text_start": text_start,
        "entry": stub.entry,
        "entry_in_payload": text_start is not None and text_start <= stub.entry < kernel_address + len(data),
        "payload_size": None if offset is None else len(data) - offset,
    }


def _config_kernel(text: str) -> dict:
    keys = {}
    for line in text.splitlines():
        key, sep, value = line.split("#", 1)[0].strip().partition("=")
        if sep:
            keys[key.strip()] = value.strip()
    return keys


def describe_boot_partition(volume) -> dict | None:
    """What a Raspberry Pi boot partition says, for :mod:`imgtool.diskinfo`: ``config``
    (the keys of ``config.txt``) and ``kernel`` (the ``kernel=`` file described by
    :func:`describe_kernel_img`, with its ``file`` name, or None); None when the FAT
    ``volume`` (a :class:`formats.fat.FatVolume`) holds no ``config.txt``."""
    try:
        names = {e.path.lower(): e.path for e in volume.walk() if not e.is_dir}
        if "config.txt" not in names:
            return None
        config = _config_kernel(volume.read(names["config.txt"]).decode("utf-8", "replace"))
        kernel = None
        name = config.get("kernel", "")
        if name.lower() in names:
            address = int(config.get("kernel_address", "0x8000"), 0)
            kernel = describe_kernel_img(volume.read(names[name.lower()]), address)
            if kernel is not None:
                kernel["file"] = names[name.lower()]
    except (FormatError, ValueError):
        return None
    return {"config": config, "kernel": kernel}


def boot_partition_lines(d: dict, indent: str) -> list[str]:
    """Text lines for :func:`describe_boot_partition`."""
    lines = [f"{indent}config.txt   " + ", ".join(f"{k}={v}" for k, v in d["config"].items())]
    if d.get("kernel"):
        lines.append(f"{indent}kernel       {d['kernel']['file']}:")
        lines += _kernel_lines(d["kernel"], indent + "  ")
    return lines


def describe_rpi(data: Buffer, source: str) -> dict | None:
    """:func:`describe_kernel_img` of ``data`` with ``file`` set to ``source``, or None
    when it is not a kernel.img."""
    desc = describe_kernel_img(data)
    if desc is not None:
        desc["file"] = source
    return desc


def _hex(v) -> str:
    return "-" if v is None else f"0x{v:x}"


def _kernel_lines(d: dict, indent: str) -> list[str]:
    s = d["stub"]
    lines = [f"{indent}stub         {s['kind']} ({s['variant']}), {s['size']} bytes, jumps to {_hex(s['entry'])}"]
    for a, b in s.get("ranges", []):
        lines.append(f"{indent}  zeroes     {_hex(a)}-{_hex(b)}")
    lines.append(f"{indent}payload      file offset {_hex(d['payload_offset'])}, TEXT_START {_hex(d['text_start'])} "
                 f"(kernel_address {_hex(d['kernel_address'])}), {d['payload_size']} bytes")
    lines.append(f"{indent}entry        {_hex(d['entry'])}" + ("" if d["entry_in_payload"] else " (outside the payload!)"))
    return lines


def render_rpi(d: dict) -> str | None:
    """Text for a description from :func:`describe_rpi`; None for any other."""
    if d.get("type") != "rpi-kernel":
        return None
    return "\n".join([f"{d['file']}: Raspberry Pi kernel.img, {d['size']} bytes", *_kernel_lines(d, "  ")]) + "\n"
