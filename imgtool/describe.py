"""``imgtool info``: identify a file by its bytes and describe its structure.

Each supported artifact contributes a describer that returns a JSON-able dict with a
``type`` key; :func:`render_text` prints any of them for people.
"""

from __future__ import annotations

import os

from formats.errors import FormatError
from imgtool.output import read_input


def describe_file(path: str | os.PathLike[str]) -> dict:
    """Describe the file at ``path`` (ELF, i.MX boot image, signed i.MX image, PE image,
    Raspberry Pi kernel.img, SD card or other disk image (MBR, GPT, FAT), a GCE import tarball, a
    raw flat image holding imgtool's BSS-zeroing stub).

    Raises:
        InputError: unreadable file.
        FormatError: a recognised format that is malformed, or an unrecognised file.
    """
    from imgtool.diskinfo import describe_disk_file
    from imgtool.errors import about_file
    from signing.files import file_kind

    try:
        regular = file_kind(os.stat(path).st_mode) is None
    except OSError:
        regular = False
    if regular:  # disk images and tarballs through mmap (a 1 GiB disk is not read whole)
        with about_file(path):
            disk = describe_disk_file(path)
        if disk is not None:
            return disk
    data = read_input(path)
    with about_file(path):
        return _describe(data, str(path))


def _describe(data: bytes, src: str) -> dict:
    if data[:4] == b"\x7fELF":
        from formats.elf import ElfFile
        from imgtool.elfinput import elf_summary

        return elf_summary(ElfFile.parse(data, source=src))
    if data[:1] == b"\xd1" and data[3:4] in (b"\x40", b"\x41", b"\x42", b"\x43"):
        return _describe_imx(data, src)
    offset = _sd_boot_offset(data)
    if offset is not None:
        try:
            desc = _describe_imx(data[offset:], src)
        except FormatError as exc:
            raise FormatError(f"SD/eMMC image with an IVT at 0x{offset:x}: {exc.message}", field=exc.field, source=src,
                              offset=None if exc.offset is None else offset + exc.offset) from None
        return dict(desc, size=len(data), sd_image={"boot_offset": offset, "imx_size": len(data) - offset})
    if data[:2] == b"MZ":
        from imgtool.peinfo import describe_pe

        return describe_pe(data, src)
    from imgtool.rpiinfo import describe_rpi  # Raspberry Pi kernel.img
    if (rpi := describe_rpi(data, src)) is not None:
        return rpi
    from imgtool.compact import describe_flat

    if (flat := describe_flat(data, src)) is not None:
        return flat
    found = data[:4].hex() if data else "empty file"
    raise FormatError(f"not a recognised file (magic {found}; expected an ELF 7f454c46, a PE image 4d5a 'MZ', an i.MX "
                      "image starting with an IVT d1, a Raspberry Pi kernel.img, an MBR disk image or a compact flat "
                      "image)", source=src, offset=0, field="magic")


def _is_ivt(data: bytes, offset: int) -> bool:
    """An IVT header (tag 0xD1, length 0x0020, version 0x40..0x43) at ``offset``."""
    return data[offset : offset + 3] == b"\xd1\x00\x20" and data[offset + 3 : offset + 4] in (b"\x40", b"\x41", b"\x42", b"\x43")


def _sd_boot_offset(data: bytes) -> int | None:
    """Where an SD/eMMC image (``imx build --sd-image``: the ``.imx`` at the boards'
    ``boot_offset``, 0x400 on i.MX6) holds its IVT, or None."""
    from imgtool.boards import list_boards

    offsets = sorted({0x400} | {b.boot_offset for b in list_boards() if b.family == "imx"})
    return next((o for o in offsets if _is_ivt(data, o)), None)


def _describe_imx(data: bytes, src: str) -> dict:
    from imgtool.imxbuild import describe_imx

    try:
        desc = describe_imx(data)
    except FormatError as exc:
        raise exc.with_source(src) from None
    desc.setdefault("file", src)
    if (desc.get("csf") or {}).get("present"):
        from signing.hab import describe_csf

        desc["hab"] = describe_csf(data)
    return desc


def _hex(v: int | None) -> str:
    return "-" if v is None else f"0x{v:x}"


def render_text(desc: dict) -> str:
    """Human-readable text for a description from :func:`describe_file`."""
    if desc.get("type") == "elf":
        return _render_elf(desc)
    if desc.get("format") == "imx":
        return _render_imx(desc)
    if desc.get("type") == "flat":
        c = desc["compact"]
        return (f"{desc['file']}: compact flat image, {desc['size']} bytes\n"
                f"  compact      entry is the {c['stub_size']}-byte BSS-zeroing stub at file offset "
                f"{_hex(c['stub_offset'])} ({c['variant']}): it zeroes {_ranges(c['bss_ranges'])} ({c['zeroed']} bytes), "
                f"then jumps to {_hex(c['entry'])}\n")
    if desc.get("type") in ("disk", "tar"):
        from imgtool.diskinfo import render_disk

        return render_disk(desc)
    if desc.get("type") == "pe":
        from imgtool.peinfo import render_pe

        return render_pe(desc)
    from imgtool.rpiinfo import render_rpi  # rpi-kernel
    if (rpi := render_rpi(desc)) is not None:
        return rpi
    return _render_generic(desc)


def _render_dcd_command(c: dict) -> list[str]:
    name = c.get("command")
    if name == "write_data":
        op = {"write": "=", "clear_bits": "&= ~", "set_bits": "|="}.get(c.get("operation"), "=")
        return [f"      write{c['width'] * 8:<3} 0x{e['address']:08x} {op} 0x{e['value']:08x}"
                + (f"  ({e['register']})" if e.get("register") else "") for e in c["entries"]]
    if name == "check_data":
        count = "" if c.get("count") is None else f", poll {c['count']}"
        reg = f"  ({c['register']})" if c.get("register") else ""
        return [f"      check{c['width'] * 8:<3} 0x{c['address']:08x} {c.get('flavour', '')} mask 0x{c['mask']:08x}{count}{reg}"]
    return ["      " + ", ".join(f"{k}={_fmt(v)}" for k, v in c.items())]


def _render_imx(d: dict) -> str:
    ivt, bd = d["ivt"], d["boot_data"]
    lines = [
        (f"{d['file']}: SD/eMMC image, {d['size']} bytes: i.MX boot image at offset {_hex(d['sd_image']['boot_offset'])} "
         f"({d['sd_image']['imx_size']} bytes; file offsets below are from there)" if d.get("sd_image") else
         f"{d['file']}: i.MX boot image, {d['size']} bytes") + (" (SDP flavour: IVT DCD pointer zeroed)" if d.get("sdp") else ""),
        f"  IVT          self {_hex(ivt['self'])} entry {_hex(ivt['entry'])} dcd {_hex(ivt['dcd'])} "
        f"boot_data {_hex(ivt['boot_data'])} csf {_hex(ivt['csf'])} (version {_hex(ivt['version'])})",
        f"  boot data    start {_hex(bd['start'])} length {_hex(bd['length'])} plugin {bd['plugin']}",
    ]
    p = d.get("payload") or {}
    if p:
        lines.append(f"  payload      {_hex(p['address'])} .. {_hex(p['address'] + p['length'])} ({p['length']} bytes at file offset {_hex(p['offset'])})")
    dcd = d.get("dcd")
    if dcd:
        lines.append(f"  DCD          {dcd['length']} bytes at {_hex(dcd['address'])}, {len(dcd['commands'])} command(s):")
        for c in dcd["commands"]:
            lines.extend(_render_dcd_command(c))
    c = d.get("compact")
    if c:
        lines.append(f"  compact      entry is the {c['stub_size']}-byte BSS-zeroing stub at {_hex(c['stub_address'])} "
                     f"({c['variant']}): it zeroes {_ranges(c['bss_ranges'])} ({c['zeroed']} bytes), "
                     f"then jumps to {_hex(c['entry'])}")
    csf = d.get("csf")
    if csf:
        state = "signed" if csf.get("signed") else ("reserved, empty" if not csf.get("present") else "present")
        lines.append(f"  CSF          {_hex(csf['address'])}, {_hex(csf['size'])} bytes ({state})")
    for k, v in (d.get("mkimage_l") or {}).items():
        lines.append(f"  {k + ':':<12} {v}")
    hab = d.get("hab")
    if hab:
        lines.extend(_render_hab(hab))
    return "\n".join(lines) + "\n"


def _ranges(ranges) -> str:
    return ", ".join(f"{_hex(a)}-{_hex(b)}" for a, b in ranges) or "nothing"


def _render_hab(h: dict) -> list[str]:
    lines = [f"  CSF commands (version {_hex(h.get('version'))}, {h.get('length')} bytes):"]
    for c in h.get("commands", []):
        extra = {k: v for k, v in c.items() if k != "command"}
        blocks = extra.pop("blocks", None)
        text = ", ".join(f"{k}={_fmt(v)}" for k, v in extra.items())
        if blocks:
            text += ", blocks " + " ".join(f"{_hex(b['start'])}+{_hex(b['length'])}" for b in blocks)
        lines.append(f"      {c['command']:<18} {text}")
    for c in h.get("certificates", []):
        lines.append(f"  certificate  {c['role']}: {c['subject']} ({c['key_type']}), issuer {c['issuer']}, "
                     f"valid {c['not_before']} .. {c['not_after']}")
    for s in h.get("signatures", []):
        lines.append(f"  signature    {s['role']}: {s['signature_algorithm']}, signingTime {s.get('signing_time')}")
    t = h.get("srk_table")
    if t:
        lines.append(f"  SRK table    {t['keys']} keys, SRK {h.get('srk_index')} selected; SRK hash {t['hash']}")
        lines.append(f"  fuse words   {' '.join(t['fuse_words'])} (bank 3, words 0-7)")
    for p in h.get("problems", []):
        lines.append(f"  problem      {p}")
    return lines


def _render_elf(d: dict) -> str:
    lines = [
        f"{d['file']}: {d['class']} {d['endian']}-endian {d['arch']}" + (" (stripped)" if d["stripped"] else ""),
        f"  entry        {_hex(d['entry'])}" + (" (Thumb)" if d["entry_thumb"] else ""),
        f"  TEXT_START   {_hex(d['text_start'])}",
    ]
    if d["pvh_entry"] is not None:
        lines.append(f"  PVH entry    {_hex(d['pvh_entry'])} (Xen PVH note)")
    go = d.get("go")
    if go:
        where = go.get("found", ".go.buildinfo")
        lines.append(f"  Go           {go['go_version']}" + (f" (build info found {where})" if where != ".go.buildinfo" else ""))
        lines.append(f"  path         {go['path']}")
        if go["main"]:
            lines.append(f"  mod          {go['main']['path']} {go['main']['version']}")
        for dep in go["deps"]:
            rep = f" => {dep['replace']['path']} {dep['replace']['version']}" if dep.get("replace") else ""
            lines.append(f"  dep          {dep['path']} {dep['version']}{rep}")
    tg = d.get("tamago") or {}
    for b in tg.get("boards", []):
        lines.append(f"  board        {b}")
    for s in tg.get("socs", []):
        lines.append(f"  soc          {s}")
    rel = d.get("relocations")
    if rel and "error" in rel:
        lines.append(f"  relocations  unreadable: {rel['error']}")
    elif rel:
        tabs = ", ".join(f"{t['origin']} {t['entries']}" for t in rel["tables"])
        lines.append(f"  relocations  {tabs}; link base {_hex(rel['link_base'])}; "
                     f"{rel['undefined_symbols']} undefined symbols (imgtool relocate)")
    lines.append("  segments:")
    lines.append(f"    {'type':<12} {'offset':>10} {'vaddr':>18} {'paddr':>18} {'filesz':>10} {'memsz':>10} flags")
    for s in d["segments"]:
        lines.append(f"    {s['type']:<12} {_hex(s['offset']):>10} {_hex(s['vaddr']):>18} {_hex(s['paddr']):>18} "
                     f"{_hex(s['filesz']):>10} {_hex(s['memsz']):>10} {s['flags']}")
    lines.append("  sections:")
    lines.append(f"    {'name':<20} {'type':<10} {'addr':>18} {'size':>10} flags")
    for s in d["sections"]:
        lines.append(f"    {s['name']:<20} {s['type']:<10} {_hex(s['addr']):>18} {_hex(s['size']):>10} {s['flags']}")
    return "\n".join(lines) + "\n"


def _render_generic(d: dict, indent: str = "") -> str:
    out = []
    for k, v in d.items():
        if isinstance(v, dict):
            out.append(f"{indent}{k}:")
            out.append(_render_generic(v, indent + "  ").rstrip("\n"))
        elif isinstance(v, list):
            out.append(f"{indent}{k}:")
            for item in v:
                if isinstance(item, dict):
                    out.append(f"{indent}  - " + ", ".join(f"{ik}={_fmt(iv)}" for ik, iv in item.items()))
                else:
                    out.append(f"{indent}  - {_fmt(item)}")
        else:
            out.append(f"{indent}{k}: {_fmt(v)}")
    return "\n".join(out) + "\n"


def _fmt(v) -> str:
    if isinstance(v, bool) or v is None:
        return str(v)
    if isinstance(v, int):
        return f"0x{v:x}" if v > 9 else str(v)
    return str(v)
