"""CMS SignedData as NXP CST makes it for HABv4 signatures, and its verification.

Source: RFC 5652 (CMS) §5; CST's ``gen_sig_data_cms`` flags CMS_DETACHED | CMS_NOCERTS |
CMS_NOSMIMECAP | CMS_BINARY; reference/imx-hab.md §3.8. The DER is structurally identical
to ``openssl cms -sign -binary -nocerts -nosmimecap -md sha256 -outform DER``:

    ContentInfo { signedData,
      SignedData { version 1, digestAlgorithms { sha256 (parameters absent) },
        encapContentInfo { id-data } (detached: no eContent), no certificates, no CRLs,
        signerInfos { SignerInfo { version 1, issuerAndSerialNumber of the signing cert,
          sha256 (absent), signedAttrs { contentType id-data, signingTime, messageDigest },
          rsaEncryption NULL | ecdsa-with-SHA256, signature } } } }

``signingTime`` is passed in (UTCTime for 1950..2049, GeneralizedTime otherwise), so the
same inputs give the same bytes (RSA PKCS#1 v1.5 and RFC 6979 ECDSA are deterministic).

The DER is written byte by byte (:mod:`formats.der`) and :func:`verify` rebuilds a blob
from its parts: a blob is good only if it is exactly what CST writes, or what habtool
(crucible, smallstep pkcs7: signer certificate embedded, sha256WithRSAEncryption) writes.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone

from formats.der import children, element, tlv as _tlv
from formats.errors import FormatError
from signing.errors import SigningError


# --- the exact DER pieces CST (OpenSSL ``CMS_sign``) and habtool (smallstep pkcs7) write ---
# Built here byte by byte, so that signing and verifying share one definition and a blob
# that differs from it anywhere the signature does not cover (algorithm identifiers,
# versions, content types, lengths) is refused: a ROM could read it differently.
OID_SIGNED_DATA = bytes.fromhex("06092a864886f70d010702")
OID_DATA = bytes.fromhex("06092a864886f70d010701")
SHA256 = bytes.fromhex("300b0609608648016503040201")
"""AlgorithmIdentifier { id-sha256 } with parameters absent (RFC 5754 §2: "implementations
MUST generate SHA2 AlgorithmIdentifiers with absent parameters"), as CST and habtool write it."""
RSA_ENCRYPTION = bytes.fromhex("300d06092a864886f70d0101010500")
"""rsaEncryption with NULL parameters: CST's (OpenSSL's) SignerInfo.signatureAlgorithm."""
SHA256_WITH_RSA = bytes.fromhex("300b06092a864886f70d01010b")
"""sha256WithRSAEncryption, parameters absent: habtool's (smallstep pkcs7 ``getOIDForEncryptionAlgorithm``)."""
ECDSA_WITH_SHA256 = bytes.fromhex("300a06082a8648ce3d040302")
"""ecdsa-with-SHA256, parameters absent (RFC 5758 §3.2), as OpenSSL writes it."""
SIGNATURE_ALGORITHMS = {"rsa": (RSA_ENCRYPTION, SHA256_WITH_RSA), "ec": (ECDSA_WITH_SHA256,)}
"""Key kind -> the SignerInfo.signatureAlgorithm encodings accepted (the first is written)."""
_ATTR_CONTENT_TYPE = bytes.fromhex("301806092a864886f70d010903310b06092a864886f70d010701")
_ATTR_MESSAGE_DIGEST = bytes.fromhex("302f06092a864886f70d01090431220420")  # + 32-byte SHA-256
_OID_SIGNING_TIME = bytes.fromhex("06092a864886f70d010905")
_VERSION_1 = bytes.fromhex("020101")


def _utc(t: datetime) -> datetime:
    if t.tzinfo is None:
        t = t.replace(tzinfo=timezone.utc)
    return t.astimezone(timezone.utc).replace(microsecond=0)


def _signing_time_attribute(signing_time: datetime) -> bytes:
    """The signingTime attribute: UTCTime for 1950..2049, GeneralizedTime otherwise (RFC 5652 §11.3)."""
    t = _utc(signing_time)
    if 1950 <= t.year <= 2049:
        value = _tlv(0x17, t.strftime("%y%m%d%H%M%SZ").encode())
    else:
        value = _tlv(0x18, t.strftime("%Y%m%d%H%M%SZ").encode())
    return _tlv(0x30, _OID_SIGNING_TIME + _tlv(0x31, value))


def _attributes(digest: bytes, time_attribute: bytes) -> bytes:
    """The content of the signed attributes: contentType, signingTime, messageDigest in
    DER SET OF order (X.690 §11.6: by encoding)."""
    return b"".join(sorted([_ATTR_CONTENT_TYPE, time_attribute, _ATTR_MESSAGE_DIGEST + digest]))


def _issuer_and_serial(certificate) -> bytes:
    """IssuerAndSerialNumber of ``certificate``: its issuer Name and serial INTEGER, as encoded in it.

    Raises:
        FormatError: the certificate DER is not Certificate { tbsCertificate { [0] version,
            serialNumber, signature, issuer, ... } ... }.
    """
    from cryptography.hazmat.primitives import serialization

    der = certificate.public_bytes(serialization.Encoding.DER)
    _t, start, end = element(der)
    _t, start, end = element(der, start, end)  # tbsCertificate
    parts = children(der, start, end)
    if parts and parts[0][0] == 0xA0:  # version [0] EXPLICIT
        parts = parts[1:]
    if len(parts) < 3 or parts[0][0] != 0x02 or parts[2][0] != 0x30:
        raise FormatError("certificate: tbsCertificate is not serialNumber, signature, issuer, ...", field="certificate")
    return _tlv(0x30, parts[2][1] + parts[0][1])


def _content_info(sid: bytes, attributes: bytes, signature_algorithm: bytes, signature: bytes,
                  certificates: bytes = b"") -> bytes:
    """ContentInfo { signedData, SignedData v1 { {sha256}, {id-data} (detached), [0]
    certificates (habtool: the signer's; CST: none), { SignerInfo v1 } } } (RFC 5652 §5)."""
    signer_info = _tlv(0x30, _VERSION_1 + sid + SHA256 + _tlv(0xA0, attributes) + signature_algorithm
                       + _tlv(0x04, signature))
    signed_data = _VERSION_1 + _tlv(0x31, SHA256) + _tlv(0x30, OID_DATA)
    if certificates:
        signed_data += _tlv(0xA0, certificates)
    signed_data += _tlv(0x31, signer_info)
    return _tlv(0x30, OID_SIGNED_DATA + _tlv(0xA0, _tlv(0x30, signed_data)))


def signed_attributes(data: bytes, signing_time: datetime) -> bytes:
    """The DER SET (tag 0x31) of the signed attributes over ``data``: what is signed
    (RFC 5652 §5.4); in the SignerInfo the same content carries the tag [0]."""
    return _tlv(0x31, _attributes(hashlib.sha256(data).digest(), _signing_time_attribute(signing_time)))


def sign(data: bytes, signer, signing_time: datetime) -> bytes:
    """Detached CMS SignedData over ``data`` (the exact signed bytes), DER.

    Args:
        data: the bytes HAB authenticates (CSF command area, image blocks, DCD).
        signer: a :class:`signing.keys.Signer` (its certificate names the signer, no
            certificate is embedded).
        signing_time: the signingTime attribute (aware datetime; naive = UTC).

    Returns:
        DER bytes (509 bytes for RSA-2048 with a CST-style certificate).

    Raises:
        SigningError: the signer failed or has an unusable key type.
    """
    attributes = _attributes(hashlib.sha256(data).digest(), _signing_time_attribute(signing_time))
    signature = signer.sign(_tlv(0x31, attributes))  # universal SET tag 0x31, as RFC 5652 §5.4 requires
    kind = "rsa" if signer.key_type.startswith("rsa") else "ec"
    return _content_info(_issuer_and_serial(signer.certificate), attributes, SIGNATURE_ALGORITHMS[kind][0], signature)


@dataclass(frozen=True)
class CmsInfo:
    """What a CMS signature blob says about itself (for ``info`` and verification).

    Attributes:
        issuer: RFC 4514 string of the signer certificate's issuer; ``serial``: its serial.
        digest_algorithm: ``"sha256"``...; ``signature_algorithm``: ``"rsassa_pkcs1v15"`` or
        ``"sha256_ecdsa"``; ``signing_time``: aware datetime or ``None``; ``message_digest``:
        bytes or ``None``; ``certificates``: number of embedded certificates (habtool embeds
        one, CST none); ``detached``: no eContent.
    """

    issuer: str
    serial: int
    digest_algorithm: str
    signature_algorithm: str
    signing_time: datetime | None
    message_digest: bytes | None
    certificates: int
    detached: bool


def _load(der: bytes):
    from asn1crypto import cms

    try:
        info = cms.ContentInfo.load(der)
        if info["content_type"].native != "signed_data":
            raise ValueError(f"content type {info['content_type'].native}, expected signed_data")
        sd = info["content"]
        signer_infos = sd["signer_infos"]
        if len(signer_infos) != 1:
            raise ValueError(f"{len(signer_infos)} signer infos, expected 1")
        return sd, signer_infos[0]
    except (ValueError, TypeError, KeyError) as exc:
        raise SigningError(f"CMS signature: not a CMS SignedData blob ({exc})") from None


def describe(der: bytes) -> CmsInfo:
    """Parse a CMS SignedData blob (DER) and return :class:`CmsInfo`.

    Raises:
        SigningError: not a SignedData with exactly one SignerInfo.
    """
    sd, si = _load(der)
    try:
        sid = si["sid"].chosen
        issuer = sid["issuer"].human_friendly
        serial = sid["serial_number"].native
        signing_time = None
        message_digest = None
        if si["signed_attrs"].native is not None:
            for attr in si["signed_attrs"]:
                name = attr["type"].native
                if name == "signing_time":
                    signing_time = attr["values"][0].native
                elif name == "message_digest":
                    message_digest = attr["values"][0].native
        certs = sd["certificates"]
        return CmsInfo(
            issuer=issuer,
            serial=serial,
            digest_algorithm=si["digest_algorithm"]["algorithm"].native,
            signature_algorithm=si["signature_algorithm"]["algorithm"].native,
            signing_time=signing_time,
            message_digest=message_digest,
            certificates=0 if certs.native is None else len(certs),
            detached=sd["encap_content_info"]["content"].native is None,
        )
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise SigningError(f"CMS signature: malformed SignerInfo ({exc})") from None


def verify(der: bytes, data: bytes, certificate) -> str | None:
    """Check a detached CMS signature over ``data`` with ``certificate``'s public key, and
    that the blob is exactly what CST or habtool writes for it.

    The signature covers only the signed attributes, so everything else a ROM parses is
    checked against the one encoding each tool writes (see the constants above): ContentInfo
    contentType signedData; SignedData version 1, digestAlgorithms exactly {sha256}
    (parameters absent), encapContentInfo id-data with no eContent (detached), no CRLs, the
    certificates absent (CST) or exactly ``certificate`` (habtool); one SignerInfo v1 naming
    ``certificate`` by issuer and serial byte for byte, digestAlgorithm sha256,
    signatureAlgorithm rsaEncryption/NULL or sha256WithRSAEncryption (RSA) or
    ecdsa-with-SHA256 (EC), no unsigned attributes; signed attributes exactly contentType
    id-data, signingTime and messageDigest = SHA-256(``data``), in DER order; the whole blob
    canonical DER (rebuilt from its parts, it must give the same bytes).

    Returns:
        ``None`` when the signature is good, else a short reason naming the field
        (``"SignerInfo.signatureAlgorithm: ..."``). Never raises for a bad signature.
    """
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    try:
        public_key = certificate.public_key()
    except (ValueError, UnsupportedAlgorithm) as exc:
        return f"the certificate's public key does not load ({exc})"
    if isinstance(public_key, rsa.RSAPublicKey):
        kind = "rsa"
    elif isinstance(public_key, ec.EllipticCurvePublicKey):
        kind = "ec"
    else:
        return f"unsupported key type {type(public_key).__name__}"
    try:
        sd, si = _split(bytes(der))
    except FormatError as exc:
        return f"CMS signature: not a CMS SignedData blob as CST writes it ({exc})"
    try:
        sid = _issuer_and_serial(certificate)
        cert_der = certificate.public_bytes(serialization.Encoding.DER)
        for name, want in (("SignedData.version", _VERSION_1), ("SignedData.digestAlgorithms", _tlv(0x31, SHA256)),
                           ("SignedData.encapContentInfo", _tlv(0x30, OID_DATA)), ("SignerInfo.version", _VERSION_1),
                           ("SignerInfo.sid", sid), ("SignerInfo.digestAlgorithm", SHA256)):
            if (sd if name.startswith("SignedData") else si).get(name.split(".")[1]) != want:
                return f"{name}: {_what(name)}"
        embedded = sd.get("certificates", b"")
        if embedded and embedded != _tlv(0xA0, cert_der):
            return "SignedData.certificates: expected none (CST) or exactly the signing certificate (habtool)"
        algorithm = si.get("signatureAlgorithm")
        if algorithm not in SIGNATURE_ALGORITHMS[kind]:
            want = " or ".join(_ALGORITHM_NAMES[a] for a in SIGNATURE_ALGORITHMS[kind])
            return f"SignerInfo.signatureAlgorithm: expected {want} for the {kind.upper()} key"
        digest = hashlib.sha256(data).digest()
        if "signedAttrs" not in si:
            return "SignerInfo.signedAttrs: none, expected contentType, signingTime and messageDigest"
        _t, start, end = element(si["signedAttrs"])
        attrs = [a for _t, a in children(si["signedAttrs"], start, end)]
        digests = [a for a in attrs if a.startswith(_ATTR_MESSAGE_DIGEST[:13])]
        if digests and digests != [_ATTR_MESSAGE_DIGEST + digest]:
            return "message digest does not match the signed bytes"
        times = [a for a in attrs if a[2:2 + len(_OID_SIGNING_TIME)] == _OID_SIGNING_TIME]
        if len(times) != 1 or not _valid_time_attribute(times[0]):
            return "SignerInfo.signedAttrs: expected one signingTime (UTCTime or GeneralizedTime, seconds, Z)"
        attributes = _attributes(digest, times[0])
        if si["signedAttrs"] != _tlv(0xA0, attributes):
            return "SignerInfo.signedAttrs: expected exactly contentType id-data, signingTime and messageDigest, in DER order"
        _t, start, end = element(si["signature"])
        signature = si["signature"][start:end]
        if _content_info(sid, attributes, algorithm, signature, cert_der if embedded else b"") != bytes(der):
            return "CMS blob is not the canonical DER encoding of its fields (lengths or encodings differ)"
        spki = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        if not _signature_verifies(spki, signature, _tlv(0x31, attributes)):
            return "signature does not verify with the certificate's public key"
    except (FormatError, ValueError, TypeError, KeyError, IndexError) as exc:
        return f"malformed CMS ({exc})"
    return None


@functools.lru_cache(maxsize=64)
def _signature_verifies(spki: bytes, signature: bytes, signed: bytes) -> bool:
    """RSA PKCS#1 v1.5 or ECDSA, SHA-256, of ``signed`` with the key ``spki`` (DER
    SubjectPublicKeyInfo). Cached: verify-after-sign and repeated checks of one image
    (both flavours, ``info`` then ``verify``) do the public-key operation once."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    key = load_der_public_key(spki)
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, signed, ec.ECDSA(hashes.SHA256()))
        else:
            key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


_ALGORITHM_NAMES = {RSA_ENCRYPTION: "rsaEncryption (NULL parameters)",
                    SHA256_WITH_RSA: "sha256WithRSAEncryption (no parameters)",
                    ECDSA_WITH_SHA256: "ecdsa-with-SHA256 (no parameters)"}

#: The fields of SignedData and SignerInfo (RFC 5652 §5.1, §5.3) by position and tag.
_SIGNED_DATA = (("version", 0x02), ("digestAlgorithms", 0x31), ("encapContentInfo", 0x30),
                ("certificates", 0xA0), ("crls", 0xA1), ("signerInfos", 0x31))
_SIGNER_INFO = (("version", 0x02), ("sid", 0x30), ("digestAlgorithm", 0x30), ("signedAttrs", 0xA0),
                ("signatureAlgorithm", 0x30), ("signature", 0x04), ("unsignedAttrs", 0xA1))


def _fields(der: bytes, start: int, end: int, layout, what: str) -> dict[str, bytes]:
    """The elements of a SEQUENCE content matched to ``layout`` in order (OPTIONAL ones
    may be missing; CRLs and unsigned attributes are refused: CST and habtool write none).

    Raises:
        FormatError: an element that is not the next field of ``layout``.
    """
    out: dict[str, bytes] = {}
    fields = iter(layout)
    for tag, whole in children(der, start, end):
        for name, want in fields:
            if tag == want:
                out[name] = whole
                break
            if name not in ("certificates", "crls", "signedAttrs", "unsignedAttrs"):
                raise FormatError(f"{what}.{name} missing (found tag 0x{tag:02x})", field=what)
        else:
            raise FormatError(f"{what}: element with tag 0x{tag:02x} after the last field", field=what)
    for name in ("crls", "unsignedAttrs"):
        if name in out:
            raise FormatError(f"{what}.{name}: expected none", field=what)
    return out


def _split(der: bytes) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """``(SignedData fields, SignerInfo fields)`` of a ContentInfo, each field as its
    whole DER element (see :data:`_SIGNED_DATA`, :data:`_SIGNER_INFO`).

    Raises:
        FormatError: not ContentInfo { signedData, [0] SignedData } with one SignerInfo.
    """
    _t, start, end = element(der)
    if _t != 0x30 or end != len(der):
        raise FormatError("ContentInfo: not one DER SEQUENCE", field="ContentInfo")
    parts = children(der, start, end)
    if len(parts) != 2 or parts[0][1] != OID_SIGNED_DATA or parts[1][0] != 0xA0:
        raise FormatError("ContentInfo: contentType is not signedData", field="ContentInfo")
    outer = parts[1][1]
    _t, start, end = element(outer)
    _t, start, end = element(outer, start, end)
    sd = _fields(outer, start, end, _SIGNED_DATA, "SignedData")
    infos = sd.get("signerInfos", b"")
    _t, start, end = element(infos) if infos else (0, 0, 0)
    signers = children(infos, start, end) if infos else []
    if len(signers) != 1 or signers[0][0] != 0x30:
        raise FormatError(f"SignedData.signerInfos: {len(signers)} signer infos, expected 1", field="SignedData")
    one = signers[0][1]
    _t, start, end = element(one)
    return sd, _fields(one, start, end, _SIGNER_INFO, "SignerInfo")


def _what(name: str) -> str:
    return {
        "SignedData.version": "expected 1",
        "SignedData.digestAlgorithms": "expected exactly {sha256} with parameters absent",
        "SignedData.encapContentInfo": "expected id-data with no content (detached)",
        "SignerInfo.version": "expected 1",
        "SignerInfo.sid": "signer info names another certificate (issuer/serial differ from the installed certificate)",
        "SignerInfo.digestAlgorithm": "expected sha256 with parameters absent",
    }[name]


def _valid_time_attribute(attribute: bytes) -> bool:
    """True for a signingTime attribute exactly as :func:`_signing_time_attribute` writes it."""
    for size in (13, 15):
        text = attribute[-size:]
        if not (text[:-1].isdigit() and text[-1:] == b"Z"):
            continue
        digits = text[:-1].decode()
        year = int(digits[:4]) if size == 15 else int(digits[:2]) + (1900 if int(digits[:2]) >= 50 else 2000)
        rest = digits[4:] if size == 15 else digits[2:]
        try:
            t = datetime(year, int(rest[0:2]), int(rest[2:4]), int(rest[4:6]), int(rest[6:8]), int(rest[8:10]),
                         tzinfo=timezone.utc)
        except ValueError:
            continue
        if _signing_time_attribute(t) == attribute:
            return True
    return False
