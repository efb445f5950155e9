"""Offline verification and description of HABv4-signed ``.imx`` images.

Source: HABv4 API Reference Manual ("Authenticate Data", "Install Key", the checks behind
``HAB_INV_ASSERTION``); RFC 5652 §5.4/§5.6 (signature verification); reference/imx-hab.md
§3.6-§3.9, §7 item 7. What the ROM would do, done offline:

1. parse IVT, boot data, DCD and the CSF (commands, SRK table, certificates, signatures);
2. the authenticated blocks cover the IVT, the boot data, the DCD, the entry word (and
   the whole payload);
3. the CSFK and IMG certificates are signed by the selected SRK (the public key in the
   SRK table entry, as the ROM checks it);
4. the CSF signature over the CSF header and commands, and each Authenticate Data
   signature over the exact block bytes, verify (CMS, SHA-256);
5. the SRK table hash equals the expected fuse value (``srk_hash``) or table;
6. for a compact image (IVT.entry in the header area, docs/compact.md): the entry is
   imgtool's BSS-zeroing stub, its words are exactly the ones imgtool writes for the
   ranges and entry it records, and the signed blocks cover the stub and its branch
   target.

Both CST's blob convention (length without pad) and habtool's (pad included, signer
certificate inside the CMS) are read. Whatever a ROM reads and no signature covers (CMS
algorithm identifiers and framing, blob versions, lengths and pads, the order of the
commands) must be what those tools write: anything else fails (docs/hab.md, "Verification").
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from formats.align import align_up
from formats.errors import FormatError
from formats.imx import csf as C
from formats.imx import srk as srkfmt
from signing import cms
from signing.errors import SigningError

PASS, FAIL, SKIP = "pass", "fail", "skip"


@dataclass
class Check:
    """One verification step: ``name``, ``status`` (``"pass"``/``"fail"``/``"skip"``), ``detail``."""

    name: str
    status: str
    detail: str = ""

    def to_dict(self) -> dict:
        return {"name": self.name, "status": self.status, "detail": self.detail}


@dataclass
class VerifyReport:
    """All checks of :func:`verify_imx`, JSON-able through :meth:`to_dict`.

    Attributes:
        checks: the checks in order; ``ok`` is True when none failed (skips are allowed).
        flavour: ``"sd"`` (boot from media) or ``"sdp"`` (serial download), or ``None``.
        srk_hash: SRK hash (32 bytes) of the table in the CSF, if one was found.
        srk_index: 1-based SRK selected by Install SRK, if found.
    """

    checks: list[Check] = field(default_factory=list)
    flavour: str | None = None
    srk_hash: bytes | None = None
    srk_index: int | None = None

    @property
    def ok(self) -> bool:
        return all(c.status != FAIL for c in self.checks)

    def add(self, name: str, ok: bool | None, detail: str = "") -> bool:
        self.checks.append(Check(name, SKIP if ok is None else (PASS if ok else FAIL), detail))
        return bool(ok)

    def first_failure(self) -> str:
        for c in self.checks:
            if c.status == FAIL:
                return f"{c.name}: {c.detail}" if c.detail else c.name
        return ""

    def to_dict(self) -> dict:
        return {
            "ok": self.ok,
            "flavour": self.flavour,
            "srk_hash": self.srk_hash.hex() if self.srk_hash else None,
            "srk_index": self.srk_index,
            "checks": [c.to_dict() for c in self.checks],
        }


@dataclass
class CsfContents:
    """A CSF walked the way the ROM walks it, command by command.

    ``certs`` maps key slot -> ``(certificate, DER, Install Key command)``; ``auths``
    lists ``(command, signature DER)`` for Authenticate Data; ``csf_auth`` is ``(command,
    signature DER)`` of Authenticate CSF; ``at`` maps ``id()`` of each of these commands to
    its index in the CSF (the ROM runs them in order);
    ``blobs`` the ``(start, end)`` byte ranges of the SRK table, certificate and signature
    blobs (header included, pad excluded). ``problems`` lists what the ROM could read
    differently from this walk (each makes verification fail).
    """

    csf: C.Csf
    raw: bytes
    table: bytes | None = None
    srk_index: int | None = None
    certs: dict = field(default_factory=dict)
    csf_auth: tuple | None = None
    auths: list = field(default_factory=list)
    blobs: list = field(default_factory=list)
    at: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)


def _payload(raw: bytes, offset: int, tag: int, version: int, blobs: list) -> bytes:
    """The DER inside the blob at ``offset``, checked as the ROM reads it.

    The blob's version byte must be the CSF's (CST and habtool write the CSF version);
    after the DER only habtool's zero pad (fewer than 4 bytes, counted in the length) may
    follow. The blob's range is appended to ``blobs``.

    Raises:
        FormatError: misaligned offset, wrong tag or version, DER that does not fill the
            blob, a non-zero pad.
    """
    if offset % 4:
        raise FormatError(f"blob at CSF offset 0x{offset:x} is not 4-byte aligned", field="CSF blob", offset=offset)
    _t, blob_version, payload = C.parse_blob(raw, offset, tag)
    if blob_version != version:
        raise FormatError(f"blob version 0x{blob_version:02x} differs from the CSF version 0x{version:02x}",
                          field="CSF blob", offset=offset + 3)
    n = C.der_length(payload)
    if len(payload) not in (n, align_up(4 + n, 4) - 4) or any(payload[n:]):
        raise FormatError(f"blob length 0x{4 + len(payload):x} for {n} bytes of DER (expected 0x{4 + n:x} as CST "
                          f"writes it or 0x{align_up(4 + n, 4):x} as habtool does, pad zero)", field="CSF blob", offset=offset + 1)
    blobs.append((offset, offset + 4 + len(payload)))
    return payload[:n]


def _check_certificate(der: bytes) -> None:
    """What a ROM could read differently in an X.509 certificate outside the signed
    tbsCertificate (RFC 5280 §4.1): the outer signatureAlgorithm must be the one inside
    tbsCertificate, the signatureValue BIT STRING must have no unused bits, and the
    Certificate SEQUENCE must be canonical DER with nothing after it.

    Raises:
        FormatError: any of these (``field="certificate"``).
    """
    from formats import der as D

    _t, start, end = D.element(der)
    parts = D.children(der, start, end)
    if end != len(der) or len(parts) != 3 or [t for t, _ in parts] != [0x30, 0x30, 0x03]:
        raise FormatError("certificate is not one DER SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }",
                          field="certificate")
    (_t, tbs), (_t, algorithm), (_t, value) = parts
    _t, start, end = D.element(tbs)
    inner = D.children(tbs, start, end)
    inner = inner[1:] if inner and inner[0][0] == 0xA0 else inner
    if len(inner) < 2 or inner[1][1] != algorithm:
        raise FormatError("certificate signatureAlgorithm differs from the one in tbsCertificate", field="certificate")
    if D.content(value)[:1] != b"\0":
        raise FormatError("certificate signatureValue BIT STRING has unused bits", field="certificate")
    if D.tlv(0x30, tbs + algorithm + value) != der:
        raise FormatError("certificate is not canonical DER (length encoding)", field="certificate")


def walk_csf(raw: bytes) -> CsfContents:
    """Parse a CSF (header, commands, referenced blobs); problems are collected, not raised.

    Besides what each command references, the bytes between the command area and the end
    of the last blob must be zero (only alignment pad lies there in CST's and habtool's
    layouts), blobs must not overlap, and commands this walk cannot follow offline
    (absolute addresses, certificate hashes, other protocols) are problems.

    Raises:
        FormatError: the CSF header or commands themselves cannot be parsed.
    """
    from signing.keys import parse_certificate

    csf = C.Csf.parse(raw)
    out = CsfContents(csf, raw)
    out.blobs.append((0, csf.length))
    for index, cmd in enumerate(csf.commands):
        try:
            if isinstance(cmd, C.InstallKey):
                if cmd.flags & (C.HAB_CMD_INS_KEY_ABS | C.HAB_CMD_INS_KEY_HSH):
                    out.problems.append(f"command {index + 1} ({cmd.describe()['command']}): flags 0x{cmd.flags:02x} "
                                        "(absolute address or certificate hash) are not followed offline")
                    continue
                if cmd.pcl == C.HAB_PCL_SRK:
                    length = srkfmt.table_length(raw, cmd.key_dat)
                    out.table = bytes(raw[cmd.key_dat : cmd.key_dat + length])
                    table = srkfmt.SrkTable.parse(out.table)
                    if table.version != srkfmt.TABLE_VERSION or cmd.key_dat % 4:
                        raise FormatError(f"SRK table version 0x{table.version:02x} at CSF offset 0x{cmd.key_dat:x} "
                                          f"(expected 0x{srkfmt.TABLE_VERSION:02x}, 4-byte aligned)", field="SRK table")
                    out.blobs.append((cmd.key_dat, cmd.key_dat + length))
                    out.srk_index = cmd.src + 1
                elif cmd.pcl == C.HAB_PCL_X509:
                    der = _payload(raw, cmd.key_dat, C.HAB_TAG_CRT, csf.version, out.blobs)
                    _check_certificate(der)
                    out.certs[cmd.tgt] = (parse_certificate(der, f"certificate at CSF offset 0x{cmd.key_dat:x}"), der, cmd)
                    out.at[id(cmd)] = index
                else:
                    out.problems.append(f"command {index + 1} (Install Key): protocol 0x{cmd.pcl:02x} is not followed offline")
            elif isinstance(cmd, C.Authenticate):
                if cmd.pcl != C.HAB_PCL_CMS or cmd.flags:
                    out.problems.append(f"command {index + 1} ({cmd.describe()['command']}): protocol 0x{cmd.pcl:02x}, "
                                        f"flags 0x{cmd.flags:02x} (expected CMS 0xc5, no flags)")
                    continue
                sig = _payload(raw, cmd.aut_start, C.HAB_TAG_SIG, csf.version, out.blobs)
                out.at[id(cmd)] = index
                if cmd.blocks:
                    out.auths.append((cmd, sig))
                elif out.csf_auth is not None:
                    out.problems.append(f"command {index + 1}: a second Authenticate CSF")
                else:
                    out.csf_auth = (cmd, sig)
        except Exception as exc:  # malformed DER raises assorted cryptography errors
            out.problems.append(f"command {cmd.describe()['command']}: {exc}")
    out.problems.extend(_layout_problems(raw, out.blobs))
    return out


def _layout_problems(raw: bytes, blobs: list[tuple[int, int]]) -> list[str]:
    """Overlapping blobs, and non-zero bytes between them (up to the last blob's end)."""
    problems = []
    pos = 0
    for start, end in sorted(blobs):
        if start < pos:
            problems.append(f"CSF blobs overlap at offset 0x{start:x}")
        elif any(raw[pos:start]):
            at = pos + next(i for i, b in enumerate(raw[pos:start]) if b)
            problems.append(f"offset 0x{at:x}: non-zero byte between CSF blobs (expected zero pad)")
        pos = max(pos, end)
    return problems


@functools.lru_cache(maxsize=64)
def _signed_by_key(cert_der: bytes, spki: bytes) -> bool:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    from signing import hab_srk

    return hab_srk.certificate_signed_by(x509.load_der_x509_certificate(cert_der), load_der_public_key(spki))


def _signed_by(cert_der: bytes, verifier) -> bool:
    """True if the certificate ``cert_der`` is signed by ``verifier`` (a public key or a
    certificate); cached by the DER of both, as the CMS checks are. A key that does not
    load (a damaged SubjectPublicKeyInfo) verifies nothing."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization

    try:
        key = verifier.public_key() if hasattr(verifier, "public_key") else verifier
        spki = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        return _signed_by_key(cert_der, spki)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return False


def _same_key(cert, public_key) -> bool:
    """True if ``cert`` holds ``public_key`` (fast authentication: the SRK's own certificate)."""
    from cryptography.exceptions import UnsupportedAlgorithm

    try:
        return cert.public_key() == public_key
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return False


def _covered(blocks: list[tuple[int, int]], start: int, length: int) -> bool:
    """True if [start, start+length) lies inside the union of ``blocks``."""
    pos, end = start, start + length
    for b_start, b_len in sorted(blocks):
        if b_start <= pos < b_start + b_len:
            pos = b_start + b_len
            if pos >= end:
                return True
    return pos >= end


def _read_blocks(blocks, view: bytes, base: int, dcd: tuple[int, bytes] | None) -> bytes | None:
    data = b""
    for start, length in blocks:
        if dcd is not None and start == dcd[0] and length == len(dcd[1]):
            data += dcd[1]
            continue
        off = start - base
        if off < 0 or off + length > len(view):
            return None
        data += view[off : off + length]
    return data


def verify_imx(data: bytes, *, srk_hash: bytes | None = None, srk_table: bytes | None = None) -> VerifyReport:
    """Verify a signed ``.imx`` (IVT at offset 0) offline; never raises for a bad signature.

    Args:
        data: the signed image (``imx || CSF``, padded or not).
        srk_hash: expected 32-byte SRK hash (the fuse value), or ``None``.
        srk_table: expected SRK table bytes, or ``None`` (its hash is compared too).

    Returns:
        :class:`VerifyReport`; ``report.ok`` False if any check failed.

    Raises:
        FormatError: ``data`` does not start with an IVT at all (not an .imx).
    """
    from formats.imx import image as imxfmt
    from formats.imx.ivt import IVT

    report = VerifyReport()
    IVT.parse(data)  # not an .imx at all -> FormatError (bad input)
    try:
        img = imxfmt.parse_imx(data)
    except FormatError as exc:
        report.add("image structure (IVT, boot data, DCD)", False, str(exc))
        return report
    report.add("image structure (IVT, boot data, DCD)", True)
    ivt = img.ivt
    if not ivt.csf or img.csf_offset is None or img.csf_offset >= len(data):
        report.add("CSF present", False, "IVT.csf is 0 or points past the end of the file: the image is not signed")
        return report
    raw = bytes(data[img.csf_offset : img.csf_offset + img.csf_size]) if img.csf_size else bytes(data[img.csf_offset :])
    try:
        contents = walk_csf(raw)
    except FormatError as exc:
        report.add("CSF present", False, str(exc))
        return report
    report.add("CSF present", True, f"{len(contents.csf.commands)} commands, version 0x{contents.csf.version:02x}")
    for p in contents.problems:
        report.add("CSF structure", False, p)

    # --- SRK table and expected fuses -------------------------------------------------
    table = contents.table
    report.srk_index = contents.srk_index
    if table is None:
        report.add("SRK table", False, "no Install SRK command / SRK table in the CSF")
        return report
    try:
        parsed = srkfmt.SrkTable.parse(table)
        report.srk_hash = srkfmt.table_hash(table)
    except FormatError as exc:
        report.add("SRK table", False, str(exc))
        return report
    if srk_table is not None:
        report.add("SRK table matches the expected table", table == bytes(srk_table),
                   "" if table == bytes(srk_table) else "the SRK table in the CSF differs from the given table")
    if srk_hash is not None:
        same = report.srk_hash == bytes(srk_hash)
        report.add("SRK hash matches the fuses", same,
                   f"CSF table hash {report.srk_hash.hex()}" + ("" if same else f", expected {bytes(srk_hash).hex()}"))
    if srk_table is None and srk_hash is None:
        report.add("SRK hash matches the fuses", None, f"no expected SRK hash given; table hash {report.srk_hash.hex()}")
    index = contents.srk_index or 0
    if not report.add("SRK index in range", 1 <= index <= len(parsed.entries), f"SRK {index} of {len(parsed.entries)}"):
        return report
    entry = parsed.entries[index - 1]
    from signing import hab_srk

    try:
        srk_key = hab_srk.public_key_of_entry(entry)
    except SigningError as exc:
        report.add("SRK usable", False, str(exc))
        return report

    # --- certificates chain to the SRK ---------------------------------------------------
    # The ROM runs the commands in order: a key is usable by the commands after the one
    # that installed it. slot -> (key or certificate, index of the installing command).
    slot_keys: dict = {C.HAB_IDX_SRK: (srk_key, -1)}
    for cert, _der, cmd in sorted(contents.certs.values(), key=lambda c: contents.at[id(c[2])]):
        at = contents.at[id(cmd)]
        slot = cmd.tgt
        role = "CSFK" if slot == C.HAB_IDX_CSFK else f"IMG key (slot {slot})"
        verifier = slot_keys.get(cmd.src, (None, 0))[0]
        if cmd.src == C.HAB_IDX_SRK and slot == C.HAB_IDX_CSFK and _same_key(cert, srk_key):
            ok, detail = True, "NOCAK: the SRK certificate itself"
            slot_keys[C.HAB_IDX_SRK] = (cert, at)  # fast authentication: data signed with the SRK
        elif verifier is None:
            ok, detail = False, f"verifying slot {cmd.src} holds no key"
        else:
            ok = _signed_by(_der, verifier)
            try:
                subject = cert.subject.rfc4514_string()
            except Exception:  # a damaged name
                subject = "unparsable subject"
            detail = subject + ("" if ok else f": not signed by SRK {index}")
        report.add(f"{role} certificate chains to SRK {index}", ok, detail)
        if ok:
            slot_keys[slot] = (cert, at)

    def signer(cmd):
        """The verified certificate in ``cmd``'s key slot, installed before ``cmd``, or None."""
        cert, installed = slot_keys.get(cmd.key, (None, 0))
        return cert if hasattr(cert, "public_key") and installed < contents.at[id(cmd)] else None

    if C.HAB_IDX_CSFK not in contents.certs:
        report.add("CSFK certificate chains to SRK", False, "no Install CSFK command")

    # --- CSF signature ---------------------------------------------------------------------
    if contents.csf_auth is None:
        report.add("CSF signature", False, "no Authenticate CSF command")
    else:
        cmd, sig = contents.csf_auth
        cert = signer(cmd)
        if cert is None:
            report.add("CSF signature", False, f"key slot {cmd.key} holds no certificate verified before the command")
        else:
            why = cms.verify(sig, raw[: contents.csf.length], cert)
            report.add("CSF signature", why is None, why or f"over CSF[0:0x{contents.csf.length:x}]")

    # --- image signatures and coverage ----------------------------------------------------
    base = ivt.self_addr
    image_end = base + img.csf_offset
    dcd_len = img.dcd.length if img.dcd is not None else 0
    outside = [b for cmd, _s in contents.auths for b in cmd.blocks if not (img.boot_data.start <= b[0] < image_end)]
    sdp = bool(outside) and all(length == dcd_len for _a, length in outside)
    report.flavour = "sdp" if sdp else "sd"
    view = imxfmt.clear_dcd_pointer(bytes(data[: img.csf_offset])) if sdp else bytes(data[: img.csf_offset])
    dcd_bytes = None
    if img.dcd_offset is not None and dcd_len:
        dcd_bytes = bytes(data[img.dcd_offset : img.dcd_offset + dcd_len])
    image_blocks: list[tuple[int, int]] = []
    dcd_signed = False
    for i, (cmd, sig) in enumerate(contents.auths, 1):
        cert = signer(cmd)
        blocks = ", ".join(f"0x{s:08x}+0x{n:x}" for s, n in cmd.blocks)
        if cert is None:
            report.add(f"image signature {i}", False, f"key slot {cmd.key} holds no certificate verified before the command")
            continue
        dcd = (outside[0][0], dcd_bytes) if sdp and dcd_bytes is not None else None
        signed = _read_blocks(cmd.blocks, view, base, dcd)
        if signed is None:
            report.add(f"image signature {i}", False, f"blocks {blocks} lie outside the image")
            continue
        why = cms.verify(sig, signed, cert)
        report.add(f"image signature {i}", why is None, why or f"blocks {blocks}")
        if why is None:
            for b in cmd.blocks:
                if sdp and dcd is not None and b[0] == dcd[0] and b[1] == dcd_len:
                    dcd_signed = True
                else:
                    image_blocks.append(b)
    if not contents.auths:
        report.add("image signature", False, "no Authenticate Data command")
    report.add("blocks cover the IVT", _covered(image_blocks, base, IVT.SIZE), f"0x{base:08x}+0x20")
    report.add("blocks cover the boot data", _covered(image_blocks, ivt.boot_data, 12), f"0x{ivt.boot_data:08x}+0xc")
    if img.dcd is not None and dcd_len and (ivt.dcd or sdp):
        if sdp:
            report.add("blocks cover the DCD", dcd_signed, f"DCD signed at 0x{outside[0][0]:08x}+0x{dcd_len:x} (SDP)")
        else:
            report.add("blocks cover the DCD", _covered(image_blocks, ivt.dcd, dcd_len), f"0x{ivt.dcd:08x}+0x{dcd_len:x}")
    report.add("blocks cover the entry point", _covered(image_blocks, ivt.entry, 4), f"0x{ivt.entry:08x}")
    report.add(
        "blocks cover the payload",
        _covered(image_blocks, img.payload_address, img.payload_length),
        f"0x{img.payload_address:08x}+0x{img.payload_length:x}",
    )
    _check_compact(report, img, view, image_blocks)
    return report


def _check_compact(report: VerifyReport, img, view: bytes, image_blocks: list[tuple[int, int]]) -> None:
    """The checks of a compact image (no lines for a plain one): the entry is the stub,
    the stub is imgtool's for what it records, the stub and its target are signed."""
    from formats.imx.compact import expected_stub, find_stub

    try:
        found = find_stub(img, view)
    except FormatError as exc:
        report.add("entry is the BSS-zeroing stub", False,
                   f"IVT.entry 0x{img.ivt.entry:08x} is in the header area but {exc}")
        return
    if found is None:
        return
    s = found.stub
    zeroes = ", ".join(f"0x{a:08x}-0x{b:08x}" for a, b in s.ranges) or "nothing"
    report.add("entry is the BSS-zeroing stub", True,
               f"0x{found.address:08x}, {s.size} bytes ({s.variant}): zeroes {zeroes}, jumps to 0x{s.entry:08x}")
    try:
        want = expected_stub(found)
        have = view[found.offset:found.offset + len(want)]
        bad = next((i for i in range(0, len(want), 4) if have[i:i + 4] != want[i:i + 4]), None)
        why = "" if bad is None else (f"stub word at 0x{found.address + bad:08x} is "
                                      f"0x{int.from_bytes(have[bad:bad + 4], 'little'):08x}, imgtool writes "
                                      f"0x{int.from_bytes(want[bad:bad + 4], 'little'):08x}")
    except FormatError as exc:
        why = str(exc)
    report.add("stub words are imgtool's for its ranges and entry", not why, why)
    report.add("blocks cover the stub", _covered(image_blocks, found.address, s.size),
               f"0x{found.address:08x}+0x{s.size:x}")
    in_payload = img.payload_address <= s.entry < img.payload_address + img.payload_length
    report.add("blocks cover the stub's branch target", in_payload and _covered(image_blocks, s.entry, 4),
               f"0x{s.entry:08x}" + ("" if in_payload else " is outside the payload"))


def _cert_info(role: str, cert, der: bytes) -> dict:
    from signing.keys import key_type_of

    try:
        key_type = key_type_of(cert.public_key())
    except SigningError as exc:
        key_type = str(exc)
    return {
        "role": role,
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "serial": format(cert.serial_number, "x"),
        "key_type": key_type,
        "not_before": cert.not_valid_before_utc.isoformat(),
        "not_after": cert.not_valid_after_utc.isoformat(),
        "der_length": len(der),
    }


def describe_csf(data: bytes) -> dict:
    """Describe the CSF of a signed ``.imx`` (IVT at 0) or a bare CSF (tag 0xD4), JSON-able.

    Returns ``{"offset", "version", "length", "commands": [...], "srk_table": {"keys",
    "hash", "fuse_words", "entries"}, "srk_index", "certificates": [{role, subject, issuer,
    serial, key_type, not_before, not_after}], "signatures": [{role, signing_time, issuer,
    serial, length}], "problems": [...]}``.

    Raises:
        FormatError: neither an .imx with a CSF nor a CSF.
    """
    offset = 0
    if data[:1] == bytes([C.HAB_TAG_IVT]):
        from formats.imx import image as imxfmt

        img = imxfmt.parse_imx(data)
        if img.csf_offset is None or img.csf_offset >= len(data) or data[img.csf_offset] != C.HAB_TAG_CSF:
            raise FormatError("the image carries no CSF (not signed)", field="CSF")
        offset = img.csf_offset
    raw = bytes(data[offset:])
    contents = walk_csf(raw)
    out: dict = {
        "offset": offset,
        "version": contents.csf.version,
        "length": contents.csf.length,
        "commands": [c.describe() for c in contents.csf.commands],
        "srk_index": contents.srk_index,
        "certificates": [],
        "signatures": [],
        "problems": list(contents.problems),
    }
    if contents.table is not None:
        parsed = srkfmt.SrkTable.parse(contents.table)
        digest = srkfmt.table_hash(contents.table)
        entries = []
        for e in parsed.entries:
            if isinstance(e, srkfmt.RsaKey):
                entries.append({"type": f"rsa{e.key_bits}", "ca": bool(e.flags & srkfmt.HAB_KEY_FLG_CA)})
            elif isinstance(e, srkfmt.EcKey):
                entries.append({"type": srkfmt.EC_CURVES[e.curve][0], "ca": bool(e.flags & srkfmt.HAB_KEY_FLG_CA)})
            else:
                entries.append({"type": "hash", "ca": None})
        out["srk_table"] = {
            "keys": len(parsed.entries),
            "length": len(contents.table),
            "hash": digest.hex(),
            "fuse_words": [f"0x{w:08x}" for w in srkfmt.fuse_words(digest)],
            "entries": entries,
        }
    for slot in sorted(contents.certs):
        cert, der, _cmd = contents.certs[slot]
        out["certificates"].append(_cert_info("CSFK" if slot == C.HAB_IDX_CSFK else f"IMG{slot}", cert, der))
    sigs = ([("CSF", contents.csf_auth[1])] if contents.csf_auth else []) + [(f"image {i}", s) for i, (_c, s) in enumerate(contents.auths, 1)]
    for role, sig in sigs:
        try:
            info = cms.describe(sig)
            out["signatures"].append({
                "role": role,
                "signing_time": info.signing_time.isoformat() if info.signing_time else None,
                "issuer": info.issuer,
                "serial": format(info.serial, "x"),
                "signature_algorithm": info.signature_algorithm,
                "embedded_certificates": info.certificates,
                "length": len(sig),
            })
        except SigningError as exc:
            out["problems"].append(f"{role} signature: {exc}")
    return out
