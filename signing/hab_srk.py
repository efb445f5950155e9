"""SRK tables from X.509 certificates, SRK public keys, and certificate chaining to an SRK.

Source: CST User Guide, "srktool" (checked byte for byte against Debian ``srktool -h 4 -d
sha256 -f 1``); HABv4 API RM, "Install Key" (the ROM verifies the CSFK/IMG certificate
with the public key in the SRK table entry, not with an SRK certificate).

The CA flag (0x80) of an entry is what OpenSSL ``X509_check_ca`` says (as srktool does):
basicConstraints CA:TRUE and keyUsage absent or containing keyCertSign, or a self-signed
version 1 certificate. srktool refuses a mix of CA and non-CA certificates; so does this.
"""

from __future__ import annotations

from typing import Iterable, Sequence

from formats.imx import srk as srkfmt
from signing.errors import SigningError

_CURVE_IDS = {"secp256r1": srkfmt.HAB_EC_P256, "secp384r1": srkfmt.HAB_EC_P384, "secp521r1": srkfmt.HAB_EC_P521}


def is_ca_certificate(cert) -> bool:
    """True if ``cert`` is a CA certificate in OpenSSL's ``X509_check_ca`` sense."""
    from cryptography import x509

    try:
        bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        bc = None
    if bc is None:
        return cert.version == x509.Version.v1 and cert.issuer == cert.subject
    if not bc.ca:
        return False
    try:
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return True
    return bool(ku.key_cert_sign)


def srk_entry_for_certificate(cert, name: str = "certificate") -> srkfmt.SrkEntry:
    """The SRK table entry (:class:`formats.imx.srk.RsaKey` or ``EcKey``) for a certificate.

    Raises:
        SigningError: the key is neither RSA nor ECDSA P-256/384/521 (``name`` is the file).
    """
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    pub = cert.public_key()
    flags = srkfmt.HAB_KEY_FLG_CA if is_ca_certificate(cert) else 0
    if isinstance(pub, rsa.RSAPublicKey):
        nums = pub.public_numbers()
        return srkfmt.RsaKey(nums.n, nums.e, flags)
    if isinstance(pub, ec.EllipticCurvePublicKey):
        curve = _CURVE_IDS.get(pub.curve.name)
        if curve is None:
            raise SigningError(f"{name}: EC curve {pub.curve.name} cannot be an SRK (use P-256, P-384 or P-521)")
        nums = pub.public_numbers()
        return srkfmt.EcKey(curve, nums.x, nums.y, flags)
    raise SigningError(f"{name}: {type(pub).__name__} cannot be an SRK (use RSA or ECDSA keys)")


def build_srk_table(certs: Sequence, names: Sequence[str] | None = None, hash_only: Iterable[int] = ()) -> srkfmt.SrkTable:
    """Build the SRK table of 1 to 4 certificates (srktool ``-c a,b,%c``).

    Args:
        certs: ``cryptography`` certificates, SRK 1 first.
        names: file names for messages (same order).
        hash_only: 0-based positions written as hash-only entries (srktool ``%``).

    Raises:
        SigningError: 0 or more than 4 certificates, unusable key, or CA and non-CA
            certificates mixed.
    """
    names = list(names) if names is not None else [f"SRK {i + 1}" for i in range(len(certs))]
    if not 1 <= len(certs) <= 4:
        raise SigningError(f"an SRK table holds 1 to 4 certificates, {len(certs)} given; pass 1 to 4 SRK certificates")
    hashed = set(hash_only)
    entries = []
    cas = set()
    for i, (cert, name) in enumerate(zip(certs, names)):
        entry = srk_entry_for_certificate(cert, name)
        cas.add(bool(entry.flags & srkfmt.HAB_KEY_FLG_CA))
        entries.append(srkfmt.hash_entry_for(entry) if i in hashed else entry)
    if len(cas) > 1:
        raise SigningError(
            f"{', '.join(names)}: SRK certificates mix CA and non-CA keys; all must be CA certificates "
            "(or all not, for fast authentication / NOCAK)"
        )
    return srkfmt.SrkTable(tuple(entries))


def public_key_of_entry(entry: srkfmt.SrkEntry):
    """The ``cryptography`` public key of an RSA or EC SRK entry.

    Raises:
        SigningError: a hash-only entry (it cannot verify anything); numbers that are no
            public key (an even RSA exponent, a point off the curve: ``cryptography``'s
            ValueError, re-raised naming the entry's field).
    """
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    curves = {srkfmt.HAB_EC_P256: ec.SECP256R1, srkfmt.HAB_EC_P384: ec.SECP384R1, srkfmt.HAB_EC_P521: ec.SECP521R1}
    try:
        if isinstance(entry, srkfmt.RsaKey):
            return rsa.RSAPublicNumbers(entry.exponent, entry.modulus).public_key()
        if isinstance(entry, srkfmt.EcKey) and entry.curve in curves:
            return ec.EllipticCurvePublicNumbers(entry.x, entry.y, curves[entry.curve]()).public_key()
    except Exception as exc:  # ValueError, UnsupportedAlgorithm
        kind = "RSA modulus/exponent" if isinstance(entry, srkfmt.RsaKey) else "EC point"
        raise SigningError(f"SRK table entry: the {kind} is not a valid public key ({exc})") from None
    if isinstance(entry, srkfmt.EcKey):
        raise SigningError(f"SRK table entry: unknown EC curve id {entry.curve}")
    raise SigningError("the selected SRK table entry is hash-only and cannot verify a certificate; select another SRK index")


def certificate_signed_by(cert, public_key) -> bool:
    """True if ``cert``'s signature verifies with ``public_key`` (RSA PKCS#1 v1.5 or ECDSA)."""
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

    try:
        if isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), cert.signature_hash_algorithm)
        elif isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm))
        else:
            return False
    except (InvalidSignature, UnsupportedAlgorithm, ValueError, TypeError):  # an unknown or odd signatureAlgorithm
        return False
    return True


def entry_matches_certificate(entry: srkfmt.SrkEntry, cert) -> bool:
    """True if a table entry (full or hash-only) stands for ``cert``'s public key."""
    try:
        full = srk_entry_for_certificate(cert)
    except SigningError:
        return False
    if isinstance(entry, srkfmt.HashKey):
        return srkfmt.hash_entry_for(full) == entry
    return type(full) is type(entry) and full.build()[8:] == entry.build()[8:]
