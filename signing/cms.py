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
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone

from signing.errors import SigningError


# AlgorithmIdentifier { id-sha256 } with parameters absent (RFC 5754 §2: "implementations
# MUST generate SHA2 AlgorithmIdentifiers with absent parameters"), as CST/OpenSSL write it.
# asn1crypto would add NULL when the structure is built field by field, so it is loaded.
_SHA256_ABSENT_PARAMS = bytes.fromhex("300b0609608648016503040201")


def _utc(t: datetime) -> datetime:
    if t.tzinfo is None:
        t = t.replace(tzinfo=timezone.utc)
    return t.astimezone(timezone.utc).replace(microsecond=0)


def _asn1_cert(certificate):
    from asn1crypto import x509 as ax509
    from cryptography.hazmat.primitives import serialization

    return ax509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


def signed_attributes(data: bytes, signing_time: datetime):
    """The signed attributes (asn1crypto ``CMSAttributes``), in DER SET OF order.

    Order by encoding (X.690 §11.6) gives contentType, signingTime, messageDigest.
    """
    from asn1crypto import cms

    t = _utc(signing_time)
    time = cms.Time({"utc_time": t}) if 1950 <= t.year <= 2049 else cms.Time({"generalized_time": t})
    attrs = [
        cms.CMSAttribute({"type": "content_type", "values": ["data"]}),
        cms.CMSAttribute({"type": "signing_time", "values": [time]}),
        cms.CMSAttribute({"type": "message_digest", "values": [hashlib.sha256(data).digest()]}),
    ]
    attrs.sort(key=lambda a: a.dump())
    return cms.CMSAttributes(attrs)


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
    from asn1crypto import algos, cms, core

    cert = _asn1_cert(signer.certificate)
    attrs = signed_attributes(data, signing_time)
    to_sign = attrs.dump()  # universal SET tag 0x31, as RFC 5652 §5.4 requires
    signature = signer.sign(to_sign)
    if signer.key_type.startswith("rsa"):
        sig_alg = algos.SignedDigestAlgorithm({"algorithm": "rsassa_pkcs1v15", "parameters": core.Null()})
    else:
        sig_alg = algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"})
    sha256 = algos.DigestAlgorithm.load(_SHA256_ABSENT_PARAMS)
    signer_info = cms.SignerInfo(
        {
            "version": "v1",
            "sid": cms.SignerIdentifier(
                {"issuer_and_serial_number": cms.IssuerAndSerialNumber({"issuer": cert.issuer, "serial_number": cert.serial_number})}
            ),
            "digest_algorithm": sha256,
            "signed_attrs": cms.CMSAttributes.load(to_sign),
            "signature_algorithm": sig_alg,
            "signature": signature,
        }
    )
    signed_data = cms.SignedData(
        {
            "version": "v1",
            "digest_algorithms": [algos.DigestAlgorithm.load(_SHA256_ABSENT_PARAMS)],
            "encap_content_info": {"content_type": "data"},
            "signer_infos": [signer_info],
        }
    )
    return cms.ContentInfo({"content_type": "signed_data", "content": signed_data}).dump()


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
    """Check a detached CMS signature over ``data`` with ``certificate``'s public key.

    Checks: SignedData with one SignerInfo; the SignerInfo names ``certificate`` (issuer
    and serial); digest SHA-256; contentType id-data and messageDigest = SHA-256(data) in
    the signed attributes; the signature over the DER SET of signed attributes.

    Returns:
        ``None`` when the signature is good, else a short reason (``"message digest does
        not match the signed bytes"``...). Never raises for a bad signature.
    """
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

    try:
        sd, si = _load(der)
    except SigningError as exc:
        return str(exc)
    try:
        cert = _asn1_cert(certificate)
        sid = si["sid"].chosen
        if si["sid"].name != "issuer_and_serial_number":
            return "signer identified by key id, expected issuer and serial number"
        if sid["issuer"] != cert.issuer or sid["serial_number"].native != cert.serial_number:
            return "signer info names another certificate (issuer/serial differ)"
        if si["digest_algorithm"]["algorithm"].native != "sha256":
            return f"digest algorithm {si['digest_algorithm']['algorithm'].native}, expected sha256"
        attrs = si["signed_attrs"]
        if attrs.native is None:
            return "no signed attributes"
        content_type = message_digest = None
        for attr in attrs:
            name = attr["type"].native
            if name == "content_type":
                content_type = attr["values"][0].native
            elif name == "message_digest":
                message_digest = attr["values"][0].native
        if content_type != "data":
            return f"contentType {content_type}, expected data"
        if message_digest != hashlib.sha256(data).digest():
            return "message digest does not match the signed bytes"
        signed = _set_der(attrs)
        signature = si["signature"].native
        public_key = certificate.public_key()
        if isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, signed, ec.ECDSA(hashes.SHA256()))
        else:
            return f"unsupported key type {type(public_key).__name__}"
    except InvalidSignature:
        return "signature does not verify with the certificate's public key"
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        return f"malformed CMS ({exc})"
    return None


def _set_der(attrs) -> bytes:
    """DER of the signed attributes with the universal SET tag (0x31) instead of [0]."""
    raw = attrs.dump()
    # In the SignerInfo the attributes carry the implicit tag [0] (0xA0); RFC 5652 §5.4
    # hashes the same content with the EXPLICIT SET OF tag 0x31.
    return b"\x31" + raw[1:]
