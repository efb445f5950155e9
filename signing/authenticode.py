"""Authenticode signatures for UEFI Secure Boot: sign a PE image, verify one.

Source: Microsoft, "Windows Authenticode Portable Executable Signature Format" (1.0):
the signature is a PKCS#7 (RFC 2315) SignedData whose content is an
``SpcIndirectDataContent`` carrying the image digest (:func:`formats.pe.authenticode.
image_digest`), placed in the image's attribute certificate table as a WIN_CERTIFICATE
of revision 2.0, type PKCS_SIGNED_DATA. The encoding matches ``osslsigncode sign -h
sha256`` byte for byte (checked by the tests with the same key and ``-time``):

    ContentInfo { signedData, SignedData { version 1, digestAlgorithms { sha256 NULL },
      contentInfo { SPC_INDIRECT_DATA_OBJID (1.3.6.1.4.1.311.2.1.4),
        SpcIndirectDataContent { data { SPC_PE_IMAGE_DATAOBJ (…2.1.15),
          SpcPeImageData { flags includeResources, file [0] { [2] { [0] "<<<Obsolete>>>" } } } },
          messageDigest DigestInfo { sha256 NULL, image digest } } },
      certificates [0] { signer certificate, any chain certificates },
      signerInfos { SignerInfo { version 1, issuerAndSerialNumber, sha256 NULL,
        authenticatedAttributes [0] { contentType SPC_INDIRECT_DATA_OBJID,
          [signingTime], SpcStatementType { individual code signing (…2.1.21) },
          messageDigest = SHA-256 of the SpcIndirectDataContent's DER *contents*
          (without its SEQUENCE tag and length, as the format document says),
          [SpcSpOpusInfo { programName, moreInfo }] },
        rsaEncryption NULL | ecdsa-with-SHA256, signature } } } }

sbsign (0.9.4) writes the same content but neither SpcStatementType nor
SpcSpOpusInfo (OpenSSL's default S/MIME capabilities instead) and no flags bit; both
verify the same way, since firmware checks only the digest and the signature.
``signingTime`` is written only when a time is given, so the same inputs give the same
bytes (RSA PKCS#1 v1.5 and RFC 6979 ECDSA are deterministic).
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timezone

from formats.align import align_up
from formats.errors import FormatError
from formats.pe import authenticode as pe_auth
from formats.pe.authenticode import DIGEST_SIZES as _DIGESTS
from formats.pe.image import Certificate, parse
from signing.errors import SigningError

__all__ = ["sign", "verify", "describe", "signature_der", "Verification", "SignatureInfo",
           "SPC_INDIRECT_DATA_OBJID", "SPC_PE_IMAGE_DATAOBJ"]

SPC_INDIRECT_DATA_OBJID = "1.3.6.1.4.1.311.2.1.4"
SPC_PE_IMAGE_DATAOBJ = "1.3.6.1.4.1.311.2.1.15"
SPC_STATEMENT_TYPE_OBJID = "1.3.6.1.4.1.311.2.1.11"
SPC_SP_OPUS_INFO_OBJID = "1.3.6.1.4.1.311.2.1.12"
SPC_INDIVIDUAL_SP_KEY_PURPOSE_OBJID = "1.3.6.1.4.1.311.2.1.21"
_OBSOLETE = "<<<Obsolete>>>"


@functools.cache
def _asn1() -> dict:
    """The Authenticode ASN.1 types (asn1crypto), declared once on first use."""
    from asn1crypto import algos, cms, core

    class SpcString(core.Choice):
        _alternatives = [("unicode", core.BMPString, {"implicit": 0}), ("ascii", core.IA5String, {"implicit": 1})]

    class SpcSerializedObject(core.Sequence):
        _fields = [("class_id", core.OctetString), ("serialized_data", core.OctetString)]

    class SpcLink(core.Choice):
        _alternatives = [("url", core.IA5String, {"implicit": 0}), ("moniker", SpcSerializedObject, {"implicit": 1}),
                         ("file", SpcString, {"explicit": 2})]

    class SpcPeImageFlags(core.BitString):
        _map = {0: "include_resources", 1: "include_debug_info", 2: "include_import_address_table"}

    class SpcPeImageData(core.Sequence):
        _fields = [("flags", SpcPeImageFlags), ("file", SpcLink, {"explicit": 0, "optional": True})]

    class SpcAttributeTypeAndOptionalValue(core.Sequence):
        _fields = [("type", core.ObjectIdentifier), ("value", SpcPeImageData, {"optional": True})]

    class DigestInfo(core.Sequence):
        _fields = [("digest_algorithm", algos.DigestAlgorithm), ("digest", core.OctetString)]

    class SpcIndirectDataContent(core.Sequence):
        _fields = [("data", SpcAttributeTypeAndOptionalValue), ("message_digest", DigestInfo)]

    class SpcContentInfo(core.Sequence):
        _fields = [("content_type", cms.ContentType), ("content", SpcIndirectDataContent, {"explicit": 0})]

    class SpcSignedData(cms.SignedData):
        _spec_callbacks = {"encap_content_info": lambda self: SpcContentInfo}

    class SpcContentInfoOuter(core.Sequence):
        _fields = [("content_type", cms.ContentType), ("content", SpcSignedData, {"explicit": 0})]

    class SpcStatementType(core.SequenceOf):
        _child_spec = core.ObjectIdentifier

    class SpcSpOpusInfo(core.Sequence):
        _fields = [("program_name", SpcString, {"explicit": 0, "optional": True}),
                   ("more_info", SpcLink, {"explicit": 1, "optional": True})]

    return dict(SpcString=SpcString, SpcLink=SpcLink, SpcPeImageData=SpcPeImageData,
                SpcAttributeTypeAndOptionalValue=SpcAttributeTypeAndOptionalValue, DigestInfo=DigestInfo,
                SpcIndirectDataContent=SpcIndirectDataContent, ContentInfo=SpcContentInfoOuter,
                SpcStatementType=SpcStatementType, SpcSpOpusInfo=SpcSpOpusInfo)


def _der_cert(certificate):
    from asn1crypto import x509 as ax509
    from cryptography.hazmat.primitives import serialization

    return ax509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


def _indirect_data(digest: bytes):
    from asn1crypto import algos

    t = _asn1()
    return t["SpcIndirectDataContent"]({
        "data": {"type": SPC_PE_IMAGE_DATAOBJ,
                 "value": {"flags": {"include_resources"},
                           "file": t["SpcLink"]({"file": t["SpcString"]({"unicode": _OBSOLETE})})}},
        "message_digest": {"digest_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}), "digest": digest},
    })


def _signed_attributes(content_digest: bytes, signing_time: datetime | None, program_name: str | None,
                       more_info_url: str | None):
    from asn1crypto import cms

    t = _asn1()
    attrs = [cms.CMSAttribute({"type": "content_type", "values": [SPC_INDIRECT_DATA_OBJID]}),
             cms.CMSAttribute({"type": SPC_STATEMENT_TYPE_OBJID,
                               "values": [t["SpcStatementType"]([SPC_INDIVIDUAL_SP_KEY_PURPOSE_OBJID])]}),
             cms.CMSAttribute({"type": "message_digest", "values": [content_digest]})]
    if signing_time is not None:
        st = signing_time if signing_time.tzinfo else signing_time.replace(tzinfo=timezone.utc)
        st = st.astimezone(timezone.utc).replace(microsecond=0)
        when = cms.Time({"utc_time": st}) if 1950 <= st.year <= 2049 else cms.Time({"generalized_time": st})
        attrs.append(cms.CMSAttribute({"type": "signing_time", "values": [when]}))
    if program_name is not None or more_info_url is not None:
        opus = {}
        if program_name is not None:
            opus["program_name"] = t["SpcString"]({"ascii": program_name})
        if more_info_url is not None:
            opus["more_info"] = t["SpcLink"]({"url": more_info_url})
        attrs.append(cms.CMSAttribute({"type": SPC_SP_OPUS_INFO_OBJID, "values": [t["SpcSpOpusInfo"](opus)]}))
    attrs.sort(key=lambda a: a.dump())  # DER SET OF order (X.690 §11.6)
    return cms.CMSAttributes(attrs)


def signature_der(digest: bytes, signer, *, signing_time: datetime | None = None, chain=(),
                  program_name: str | None = None, more_info_url: str | None = None) -> bytes:
    """The DER PKCS#7 SignedData over the Authenticode ``digest`` (32 bytes, SHA-256).

    Args:
        digest: :func:`formats.pe.authenticode.image_digest` of the prepared image.
        signer: a :class:`signing.keys.Signer` (file key, PKCS#11 token, ...); its
            certificate is embedded and names the signer.
        signing_time: the signingTime attribute, or ``None`` for none (reproducible).
        chain: more ``cryptography`` certificates to embed (intermediates).
        program_name, more_info_url: an SpcSpOpusInfo attribute (``osslsigncode -n/-i``).

    Raises:
        SigningError: the signer fails or has no certificate.
    """
    from asn1crypto import algos, cms, core

    if signer.certificate is None:
        raise SigningError("the signer has no certificate; give the certificate that belongs to the key")
    t = _asn1()
    content = _indirect_data(digest)
    attrs = _signed_attributes(hashlib.sha256(content.contents).digest(), signing_time, program_name, more_info_url)
    to_sign = attrs.dump()  # universal SET OF tag, as RFC 2315 §9.3 hashes them
    signature = signer.sign(to_sign)
    cert = _der_cert(signer.certificate)
    if signer.key_type.startswith("rsa"):
        sig_alg = algos.SignedDigestAlgorithm({"algorithm": "rsassa_pkcs1v15", "parameters": core.Null()})
    else:
        sig_alg = algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"})
    sha256 = algos.DigestAlgorithm({"algorithm": "sha256"})
    signer_info = cms.SignerInfo({
        "version": "v1",
        "sid": cms.SignerIdentifier({"issuer_and_serial_number": cms.IssuerAndSerialNumber(
            {"issuer": cert.issuer, "serial_number": cert.serial_number})}),
        "digest_algorithm": sha256,
        "signed_attrs": cms.CMSAttributes.load(to_sign),
        "signature_algorithm": sig_alg,
        "signature": signature,
    })
    certificates = [cert] + [_der_cert(c) for c in chain]
    signed = {"version": "v1", "digest_algorithms": [sha256],
              "encap_content_info": {"content_type": SPC_INDIRECT_DATA_OBJID, "content": content},
              "certificates": certificates, "signer_infos": [signer_info]}
    return t["ContentInfo"]({"content_type": "signed_data", "content": signed}).dump()


def sign(image: bytes, signer, *, signing_time: datetime | None = None, chain=(), program_name: str | None = None,
         more_info_url: str | None = None) -> bytes:
    """Authenticode-sign the PE ``image``: any old signature is replaced, the file padded
    to 8 bytes, the SHA-256 image digest signed (:func:`signature_der`), the certificate
    table appended and the checksum recomputed.

    Returns:
        the signed image.

    Raises:
        FormatError: ``image`` is not a valid PE file.
        SigningError: the signer fails.
    """
    prepared = pe_auth.prepare_for_signing(image)
    der = signature_der(pe_auth.image_digest(prepared), signer, signing_time=signing_time, chain=chain,
                        program_name=program_name, more_info_url=more_info_url)
    return pe_auth.with_certificates(prepared, [Certificate(*pe_auth.AUTHENTICODE_CERTIFICATE, der)])


@dataclass(frozen=True)
class SignatureInfo:
    """One Authenticode signature as :func:`describe` reads it: ``subject``/``issuer``
    (RFC 4514) and ``serial`` of the signer certificate (``None`` when it is not
    embedded), ``digest_algorithm``, ``signed_digest`` (the image digest it carries),
    ``signature_algorithm``, ``signing_time`` (or ``None``), ``certificates`` (how many are
    embedded), ``program_name``; ``offset`` and ``size`` of the table entry."""

    subject: str | None
    issuer: str
    serial: int
    digest_algorithm: str
    signed_digest: bytes
    signature_algorithm: str
    signing_time: datetime | None
    certificates: int
    program_name: str | None
    offset: int
    size: int


@dataclass
class _Parsed:
    info: SignatureInfo
    content: object
    signer_info: object
    certs: list = field(default_factory=list)
    signer_cert: object = None


def _length(der: bytes) -> int:
    """Bytes of the first DER element of ``der`` (bCertificate may carry zero padding).

    Raises:
        ValueError: not a DER SEQUENCE (FormatError is a ValueError).
    """
    from formats.der import element

    tag, _, end = element(bytes(der))
    if tag != 0x30:
        raise ValueError("not a DER SEQUENCE")
    return end


def _parse(cert: Certificate) -> _Parsed:
    """Decode one certificate-table entry; SigningError when it is not Authenticode."""
    from signing.keys import parse_certificate

    t = _asn1()
    where = f"certificate table entry at 0x{cert.offset or 0:x}"
    if (cert.revision, cert.type) != pe_auth.AUTHENTICODE_CERTIFICATE:
        raise SigningError(f"{where}: revision 0x{cert.revision:x} type 0x{cert.type:x}, expected an Authenticode "
                           "signature (revision 0x200, WIN_CERT_TYPE_PKCS_SIGNED_DATA)")
    try:
        der = cert.data[:_length(cert.data)]
        outer = t["ContentInfo"].load(der)
        if outer["content_type"].native != "signed_data":
            raise ValueError(f"content type {outer['content_type'].native}, expected signedData")
        sd = outer["content"]
        eci = sd["encap_content_info"]
        if eci["content_type"].dotted != SPC_INDIRECT_DATA_OBJID:
            raise ValueError(f"content type {eci['content_type'].dotted}, expected SpcIndirectDataContent")
        content = eci["content"]
        if content["data"]["type"].dotted != SPC_PE_IMAGE_DATAOBJ:
            raise ValueError(f"SpcIndirectDataContent type {content['data']['type'].dotted}, expected SpcPeImageData")
        infos = sd["signer_infos"]
        if len(infos) != 1:
            raise ValueError(f"{len(infos)} signer infos, expected 1")
        si = infos[0]
        if si["sid"].name != "issuer_and_serial_number":
            raise ValueError("signer identified by key id, expected issuer and serial number")
        sid = si["sid"].chosen
        embedded = [c.chosen for c in (sd["certificates"] or []) if c.name == "certificate"]
        issuer_der = sid["issuer"].dump()
        signer = next((c for c in embedded if c.serial_number == sid["serial_number"].native
                       and (c.issuer.dump() == issuer_der or c.issuer == sid["issuer"])), None)
        signing_time = program_name = None
        for attr in si["signed_attrs"] or []:
            oid = attr["type"].dotted
            if oid == "1.2.840.113549.1.9.5":
                signing_time = attr["values"][0].native
            elif oid == SPC_SP_OPUS_INFO_OBJID:
                name = attr["values"][0].parse(t["SpcSpOpusInfo"])["program_name"]
                program_name = None if name.native is None else name.chosen.native
        dinfo = content["message_digest"]
        signer_cert = parse_certificate(signer.dump(), f"{where}: signer certificate") if signer is not None else None
        info = SignatureInfo(
            subject=signer_cert.subject.rfc4514_string() if signer_cert is not None else None,
            issuer=signer_cert.issuer.rfc4514_string() if signer_cert is not None else sid["issuer"].human_friendly,
            serial=sid["serial_number"].native,
            digest_algorithm=dinfo["digest_algorithm"]["algorithm"].native, signed_digest=dinfo["digest"].native,
            signature_algorithm=si["signature_algorithm"]["algorithm"].native, signing_time=signing_time,
            certificates=len(embedded), program_name=program_name, offset=cert.offset or 0,
            size=align_up(8 + len(cert.data), 8))
        certs = [parse_certificate(c.dump(), f"{where}: embedded certificate") for c in embedded]
    except SigningError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
        raise SigningError(f"{where}: not an Authenticode PKCS#7 SignedData ({exc})") from None
    return _Parsed(info, content, si, certs, signer_cert)


def describe(image) -> list[SignatureInfo]:
    """The Authenticode signatures in the certificate table of ``image`` (bytes or a
    parsed :class:`~formats.pe.image.PeFile`); empty for an unsigned image.

    Raises:
        FormatError: not a valid PE image. SigningError: an entry is not Authenticode.
    """
    pe = image if not isinstance(image, (bytes, bytearray, memoryview)) else parse(image)
    return [_parse(c).info for c in pe.certificates]


@dataclass(frozen=True)
class Verification:
    """What :func:`verify` found: ``checks`` as ``(name, passed, detail)`` in the order
    they ran, ``signatures`` (:class:`SignatureInfo`), ``trusted`` (a trust anchor was
    given). ``ok`` is True when every check passed; ``failure`` is the first failed
    check as one sentence."""

    checks: tuple[tuple[str, bool, str], ...]
    signatures: tuple[SignatureInfo, ...]
    trusted: bool

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(passed for _, passed, _ in self.checks)

    @property
    def failure(self) -> str | None:
        return next((f"{name}: {detail}" for name, passed, detail in self.checks if not passed), None)


def _check_signature(p: _Parsed) -> str | None:
    """None when the SignerInfo's signature over its attributes verifies, else why not
    (also when a field of it does not decode: asn1crypto decodes lazily, so a malformed
    SignerInfo raises only when the field is first read, here)."""
    try:
        return _signature_problem(p)
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        return f"the SignerInfo does not decode ({exc})"


def _signature_problem(p: _Parsed) -> str | None:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

    si = p.signer_info
    alg = si["digest_algorithm"]["algorithm"].native
    if alg not in _DIGESTS:
        return f"digest algorithm {alg} is not supported"
    h = getattr(hashes, alg.upper())()
    attrs = si["signed_attrs"]
    if not attrs:
        return "no authenticated attributes"
    content_type = message_digest = None
    for attr in attrs:
        if attr["type"].native == "content_type":
            content_type = attr["values"][0].dotted
        elif attr["type"].native == "message_digest":
            message_digest = attr["values"][0].native
    if content_type != SPC_INDIRECT_DATA_OBJID:
        return f"the contentType attribute is {content_type}, expected SpcIndirectDataContent"
    if message_digest != hashlib.new(alg, p.content.contents).digest():
        return "the messageDigest attribute does not match the SpcIndirectDataContent"
    if p.signer_cert is None:
        return "the signer certificate is not embedded"
    signed = b"\x31" + attrs.dump()[1:]  # hashed with the SET OF tag, not the [0] of the SignerInfo
    key = p.signer_cert.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(si["signature"].native, signed, padding.PKCS1v15(), h)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(si["signature"].native, signed, ec.ECDSA(h))
        else:
            return f"{type(key).__name__} signer keys are not supported"
    except InvalidSignature:
        return "the signature does not verify with the signer certificate's public key"
    return None


def _check_chain(p: _Parsed, trusted) -> str | None:
    """None when the signer certificate is ``trusted`` or chains up to it through the
    embedded certificates (each issued by the next, as UEFI's db accepts a CA)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import serialization

    def der(c):
        return c.public_bytes(serialization.Encoding.DER)

    def issued_by(cert, issuer) -> bool:
        try:
            cert.verify_directly_issued_by(issuer)
            return True
        except (ValueError, TypeError, InvalidSignature):  # other issuer name, key type, signature
            return False

    cert, seen = p.signer_cert, set()
    while cert is not None and der(cert) not in seen:
        if der(cert) == der(trusted) or issued_by(cert, trusted):
            return None
        seen.add(der(cert))
        # the next link is an embedded certificate that really signed this one (a name
        # match alone would let a self-made certificate claim the trusted CA as issuer)
        cert = next((c for c in p.certs if der(c) != der(cert) and issued_by(cert, c)), None)
    return f"the signer certificate ({p.info.subject}) does not chain to the trusted certificate ({trusted.subject.rfc4514_string()})"


def verify(image, trusted=None) -> Verification:
    """Verify every Authenticode signature of the PE ``image`` (bytes).

    Checks, per signature: it is an Authenticode SignedData; the image digest it carries
    equals the digest recomputed over the hashed ranges; the messageDigest attribute
    covers the SpcIndirectDataContent; the signature over the authenticated attributes
    verifies with the signer certificate; and, with ``trusted`` (a ``cryptography``
    certificate, e.g. a UEFI db entry), the signer certificate is ``trusted`` or chains
    to it through the embedded certificates (without, the embedded signer certificate is
    the only reference). Certificate validity periods are not checked (UEFI firmware
    does not check them either).

    Raises:
        FormatError: ``image`` is not a valid PE file.
    """
    pe = parse(image)
    checks: list[tuple[str, bool, str]] = []
    sigs: list[SignatureInfo] = []
    if not pe.certificates:
        checks.append(("signature", False, "the image is not signed (no certificate table)"))
    try:
        pe_auth.hashed_ranges(pe)
    except FormatError as exc:
        checks.append(("layout", False, exc.message))
        return Verification(tuple(checks), (), trusted is not None)
    for n, cert in enumerate(pe.certificates, 1):
        label = f"signature {n}" if len(pe.certificates) > 1 else "signature"
        try:
            p = _parse(cert)
        except SigningError as exc:
            checks.append((label, False, str(exc)))
            continue
        sigs.append(p.info)
        alg = p.info.digest_algorithm
        if alg not in _DIGESTS:
            checks.append((f"{label} image digest", False, f"digest algorithm {alg} is not supported"))
            continue
        actual = pe_auth.image_digest(pe, alg)
        same = actual == p.info.signed_digest
        checks.append((f"{label} image digest", same, f"{alg} {actual.hex()}" if same else
                       f"the image's {alg} digest {actual.hex()} is not the signed {p.info.signed_digest.hex()}"))
        why = _check_signature(p)
        checks.append((f"{label} signer", why is None, why or f"{p.info.subject} ({p.info.signature_algorithm})"))
        if trusted is not None and why is None:
            why = _check_chain(p, trusted)
            checks.append((f"{label} chain", why is None, why or f"trusted: {trusted.subject.rfc4514_string()}"))
    return Verification(tuple(checks), tuple(sigs), trusted is not None)
