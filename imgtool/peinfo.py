"""``imgtool info`` for PE images (UEFI applications): headers, sections, base
relocations and Authenticode signatures, as a JSON-able dict and as text."""

from __future__ import annotations

from collections import Counter

from formats.errors import FormatError
from signing.errors import SigningError


def describe_pe(data: bytes, source: str) -> dict:
    """A JSON-able description of the PE image ``data`` (addresses and sizes in bytes).

    Raises:
        FormatError: not a valid PE image (the message names ``source``).
    """
    from formats.pe import authenticode as pe_auth
    from formats.pe import constants as C
    from formats.pe import parse

    try:
        pe = parse(data)
    except FormatError as exc:
        raise exc.with_source(source) from None
    fh, oh = pe.file_header, pe.optional_header
    relocs: dict | None = None
    try:
        entries = pe.base_relocations
        if entries:
            relocs = {"count": len(entries), "pages": len({rva & ~0xFFF for rva, _ in entries}),
                      "types": dict(Counter(_reloc_type_name(t) for _, t in entries))}
    except FormatError as exc:
        relocs = {"error": str(exc)}
    out = {
        "file": source, "type": "pe", "format": "PE32+" if pe.pe32plus else "PE32",
        "machine": fh.Machine, "machine_name": C.MACHINE_NAMES.get(fh.Machine, f"0x{fh.Machine:x}"),
        "characteristics": fh.Characteristics,
        "characteristics_names": C.flag_names(fh.Characteristics, C.FILE_CHARACTERISTICS_NAMES),
        "time_date_stamp": fh.TimeDateStamp,
        "subsystem": oh.Subsystem, "subsystem_name": C.SUBSYSTEM_NAMES.get(oh.Subsystem, str(oh.Subsystem)),
        "dll_characteristics": oh.DllCharacteristics,
        "dll_characteristics_names": C.flag_names(oh.DllCharacteristics, C.DLL_CHARACTERISTICS_NAMES),
        "image_base": oh.ImageBase, "entry_rva": oh.AddressOfEntryPoint,
        "entry": oh.ImageBase + oh.AddressOfEntryPoint,
        "section_alignment": oh.SectionAlignment, "file_alignment": oh.FileAlignment,
        "size_of_image": oh.SizeOfImage, "size_of_headers": oh.SizeOfHeaders,
        "checksum": {"stored": pe.stored_checksum, "computed": pe.computed_checksum,
                     "ok": pe.stored_checksum == pe.computed_checksum},
        "boot_file": C.BOOT_FILE_NAMES.get(fh.Machine),
        "directories": [{"index": i, "name": C.DIRECTORY_NAMES[i], "address": va, "size": size}
                        for i, (va, size) in enumerate(pe.data_directories) if size],
        "sections": [{"name": s.name, "rva": s.VirtualAddress, "virtual_size": s.VirtualSize,
                      "raw_offset": s.PointerToRawData, "raw_size": s.SizeOfRawData,
                      "characteristics": s.Characteristics, "flags": C.section_flag_letters(s.Characteristics)}
                     for s in pe.sections],
        "relocations": relocs,
        "signatures": _signatures(pe, pe_auth),
    }
    return out


def _reloc_type_name(t: int) -> str:
    from formats.pe.baserelocs import RELOCATION_TYPE_NAMES

    return RELOCATION_TYPE_NAMES.get(t, f"type {t}")


def _signatures(pe, pe_auth) -> list[dict]:
    from signing.authenticode import describe

    try:
        sigs = describe(pe)
    except SigningError as exc:
        return [{"error": str(exc)}]
    out = []
    for s in sigs:
        try:
            matches = pe_auth.image_digest(pe, s.digest_algorithm) == s.signed_digest
        except FormatError:
            matches = False
        out.append({"subject": s.subject, "issuer": s.issuer, "serial": s.serial,
                    "digest_algorithm": s.digest_algorithm, "signed_digest": s.signed_digest.hex(),
                    "digest_matches": matches, "signature_algorithm": s.signature_algorithm,
                    "signing_time": s.signing_time.isoformat() if s.signing_time else None,
                    "certificates": s.certificates, "program_name": s.program_name,
                    "offset": s.offset, "size": s.size})
    return out


def _hex(v: int) -> str:
    return f"0x{v:x}"


def render_pe(d: dict) -> str:
    """Text for a :func:`describe_pe` description."""
    cs = d["checksum"]
    lines = [
        f"{d['file']}: {d['format']} {d['machine_name']} {d['subsystem_name']}"
        + (f" (boot file {d['boot_file']})" if d.get("boot_file") else ""),
        f"  Characteristics    {_hex(d['characteristics'])} {' '.join(d['characteristics_names'])}",
        f"  DllCharacteristics {_hex(d['dll_characteristics'])} {' '.join(d['dll_characteristics_names'])}",
        f"  ImageBase          {_hex(d['image_base'])}; entry RVA {_hex(d['entry_rva'])} ({_hex(d['entry'])})",
        f"  SizeOfImage        {_hex(d['size_of_image'])}; SizeOfHeaders {_hex(d['size_of_headers'])}; "
        f"alignment {_hex(d['section_alignment'])}/{_hex(d['file_alignment'])}",
        f"  CheckSum           {_hex(cs['stored'])}" + ("" if cs["ok"] else f" (stale: computed {_hex(cs['computed'])})"),
    ]
    for x in d["directories"]:
        lines.append(f"  directory          {x['name']}: {_hex(x['address'])} + {_hex(x['size'])}")
    rel = d.get("relocations")
    if rel and "error" in rel:
        lines.append(f"  relocations        unreadable: {rel['error']}")
    elif rel:
        kinds = ", ".join(f"{n} {k}" for k, n in rel["types"].items())
        lines.append(f"  relocations        {rel['count']} ({kinds}) in {rel['pages']} pages")
    else:
        lines.append("  relocations        none" + (" (RELOCS_STRIPPED: loads only at ImageBase)"
                                                  if d["characteristics"] & 1 else ""))
    lines.append("  sections:")
    lines.append(f"    {'name':<10} {'rva':>10} {'vsize':>10} {'offset':>10} {'raw':>10} flags")
    for s in d["sections"]:
        lines.append(f"    {s['name']:<10} {_hex(s['rva']):>10} {_hex(s['virtual_size']):>10} "
                     f"{_hex(s['raw_offset']):>10} {_hex(s['raw_size']):>10} {s['flags']}")
    for s in d["signatures"]:
        if "error" in s:
            lines.append(f"  signature          unreadable: {s['error']}")
            continue
        lines.append(f"  signature          {s['subject']} (issuer {s['issuer']}, serial {_hex(s['serial'])})")
        lines.append(f"                     {s['digest_algorithm']} {s['signed_digest']} "
                     f"({'matches the image' if s['digest_matches'] else 'does NOT match the image'}); "
                     f"{s['signature_algorithm']}; signingTime {s['signing_time'] or 'none'}; "
                     f"{s['certificates']} certificate(s)")
    if not d["signatures"]:
        lines.append("  signature          none")
    return "\n".join(lines) + "\n"
