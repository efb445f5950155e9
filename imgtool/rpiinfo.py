"""``imgtool info`` for Raspberry Pi artifacts: ``kernel.img`` (either entry stub variant,
or imgtool's BSS-zeroing stub) and SD card images (MBR + FAT partitions).

Public API::

    describe_rpi(data, source) -> dict | None      None when the bytes are neither
    describe_kernel_img(data, kernel_address=0x8000) -> dict | None
    describe_mbr_card(data) -> dict | None
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


def describe_mbr_card(data: Buffer) -> dict | None:
    """An SD card (MBR disk) description, or None when ``data`` has no MBR with a FAT
    partition (a GPT protective MBR is not claimed). Keys: ``type`` (``"sdcard"``),
    ``size``, ``disk_signature``, ``partitions`` (``index``, ``type``, ``type_name``,
    ``lba_start``, ``sectors``, ``bootable``, ``fat`` with ``bits``, ``label``,
    ``volume_id``, ``files`` [``path``, ``size``, ``mtime``], ``problems``), ``config``
    (the keys of the first ``config.txt``) and ``kernel`` (the ``kernel=`` file described
    by :func:`describe_kernel_img`), ``problems``."""
    from formats import fat, mbr

    if len(data) < 1024 or data[510:512] != b"\x55\xaa" or data[:3] in (b"\xeb\x3c\x90", b"\xeb\x58\x90"):
        return None
    try:
        table = mbr.parse(data)
    except FormatError:
        return None
    if table.is_protective or not table.partitions:
        return None
    parts, config, kernel = [], None, None
    view = memoryview(data)
    for p in table.partitions:
        d = {"index": p.index, "type": p.type, "type_name": p.type_name, "lba_start": p.lba_start,
             "sectors": p.sectors, "bootable": p.bootable, "fat": None}
        start, end = p.lba_start * 512, min(len(data), p.lba_end * 512)
        try:
            vol = fat.parse(view[start:end])
            entries = vol.walk()
        except FormatError as exc:
            d["error"] = str(exc)
            parts.append(d)
            continue
        d["fat"] = {"bits": vol.fat_bits, "label": vol.label, "volume_id": vol.volume_id,
                    "files": [{"path": e.path, "size": e.size, "mtime": e.mtime} for e in entries if not e.is_dir],
                    "problems": [str(x) for x in vol.problems]}
        names = {e.path.lower(): e.path for e in entries if not e.is_dir}
        if config is None and "config.txt" in names:
            config = _config_kernel(vol.read(names["config.txt"]).decode("utf-8", "replace"))
            name = config.get("kernel", "")
            if name.lower() in names:
                address = int(config.get("kernel_address", "0x8000"), 0)
                kernel = describe_kernel_img(vol.read(names[name.lower()]), address)
                if kernel is not None:
                    kernel["file"] = names[name.lower()]
        parts.append(d)
    if not any(p["fat"] for p in parts):
        return None
    return {"type": "sdcard", "size": len(data), "partition_table": "MBR", "disk_signature": table.disk_signature,
            "partitions": parts, "config": config, "kernel": kernel, "problems": [str(x) for x in table.problems]}


def describe_rpi(data: Buffer, source: str) -> dict | None:
    """:func:`describe_kernel_img` or :func:`describe_mbr_card` of ``data`` with ``file``
    set to ``source``, or None when it is neither."""
    desc = describe_kernel_img(data) or describe_mbr_card(data)
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
    import datetime as _dt

    if d.get("type") == "rpi-kernel":
        return "\n".join([f"{d['file']}: Raspberry Pi kernel.img, {d['size']} bytes", *_kernel_lines(d, "  ")]) + "\n"
    if d.get("type") != "sdcard":
        return None
    lines = [f"{d['file']}: disk image, MBR, {d['size']} bytes, disk signature {d['disk_signature']:08x}"]
    for p in d["partitions"]:
        lines.append(f"  partition {p['index']}  LBA {p['lba_start']}+{p['sectors']}, type 0x{p['type']:02x} "
                     f"({p['type_name']})" + (", active" if p["bootable"] else ""))
        f = p.get("fat")
        if f is None:
            lines.append(f"    {p.get('error', 'no FAT file system')}")
            continue
        lines.append(f"    FAT{f['bits']}, label {f['label']!r}, volume ID {f['volume_id']:08x}")
        for e in f["files"]:
            when = "-" if e["mtime"] is None else _dt.datetime.fromtimestamp(e["mtime"], _dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
            lines.append(f"    {e['size']:>10}  {when}  {e['path']}")
        lines += [f"    problem  {x}" for x in f["problems"]]
    if d.get("config"):
        lines.append("  config.txt   " + ", ".join(f"{k}={v}" for k, v in d["config"].items()))
    if d.get("kernel"):
        lines.append(f"  kernel       {d['kernel']['file']}:")
        lines += _kernel_lines(d["kernel"], "    ")
    lines += [f"  problem      {x}" for x in d["problems"]]
    return "\n".join(lines) + "\n"
