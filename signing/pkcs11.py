"""PKCS#11 signer (python-pkcs11): the private key stays on the token, only digests go in.

Source: PKCS#11 v2.40 §2.1.6 (CKM_RSA_PKCS: the caller supplies the DER DigestInfo),
§2.3.6 (CKM_ECDSA: raw digest in, ``r || s`` out); RFC 3447 §9.2 (DigestInfo for
SHA-256); RFC 5753 §7.2 (ECDSA-Sig-Value in CMS).

Usage::

    signer = Pkcs11Signer.open("/usr/lib/softhsm/libsofthsm2.so", token_label="hab",
                               pin="1234", key_label="CSF_1", certificate=cert)

The certificate comes from a file (``certificate=``) or, when omitted, from a certificate
object on the token with the same label (or id). RSA signatures are deterministic;
token ECDSA usually is not (signing twice gives different bytes, both valid).
"""

from __future__ import annotations

import os

from signing.errors import SigningError
from signing.keys import DigestSigner, key_type_of, parse_certificate, public_keys_equal

# DER DigestInfo prefix for SHA-256 (RFC 3447 §9.2 note 1).
SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")


def _import():
    try:
        import pkcs11
    except ImportError:
        raise SigningError("PKCS#11 needs python-pkcs11: pip install python-pkcs11 (or 'baremetal-imgtool[pkcs11]')") from None
    return pkcs11


class Pkcs11Signer(DigestSigner):
    """A :class:`signing.keys.Signer` whose private key is a PKCS#11 token object.

    Args:
        session: an open, logged-in python-pkcs11 session (kept open by this object).
        key: the private key object.
        certificate: the key's ``cryptography`` certificate.
        name: a label for messages (``token:label``).

    Raises:
        SigningError: the certificate's public key type is unusable.
    """

    def __init__(self, session, key, certificate, name: str) -> None:
        self._session = session
        self._key = key
        self._cert = certificate
        self.name = name
        self._type = key_type_of(certificate.public_key())

    @classmethod
    def open(
        cls,
        library: str | os.PathLike[str],
        *,
        token_label: str,
        pin: str,
        key_label: str | None = None,
        key_id: bytes | None = None,
        certificate=None,
    ) -> "Pkcs11Signer":
        """Open ``library``, log in to the token ``token_label`` and find the private key.

        Raises:
            SigningError: library, token, key or certificate not found; wrong PIN; the
                certificate does not belong to the key.
        """
        _import()
        from pkcs11 import Attribute, ObjectClass
        from pkcs11.exceptions import NoSuchKey, PKCS11Error

        where = f"{token_label}:{key_label or (key_id.hex() if key_id else '?')}"
        session = open_session(library, token_label=token_label, pin=pin)
        attrs = {}
        if key_label is not None:
            attrs[Attribute.LABEL] = key_label
        if key_id is not None:
            attrs[Attribute.ID] = key_id
        try:
            key = session.get_key(object_class=ObjectClass.PRIVATE_KEY, **_key_kwargs(key_label, key_id))
        except NoSuchKey:
            raise SigningError(f"PKCS#11 {where}: no private key with that label/id on the token; check the key label") from None
        except PKCS11Error as exc:
            raise SigningError(f"PKCS#11 {where}: {type(exc).__name__} {exc}") from None
        if certificate is None:
            certificate = _token_certificate(session, attrs, where)
        signer = cls(session, key, certificate, where)
        pub = _token_public_key(session, key_label, key_id)
        if pub is not None and not public_keys_equal(pub, certificate.public_key()):
            raise SigningError(f"PKCS#11 {where}: the certificate does not belong to this key; give the matching certificate")
        return signer

    def sign_digest(self, digest: bytes) -> bytes:
        """Sign a 32-byte SHA-256 digest on the token (CKM_RSA_PKCS with DigestInfo, or CKM_ECDSA)."""
        from pkcs11 import Mechanism
        from pkcs11.exceptions import PKCS11Error

        if len(digest) != 32:
            raise SigningError(f"PKCS#11 {self.name}: expected a 32-byte SHA-256 digest, got {len(digest)} bytes")
        try:
            if self._type.startswith("rsa"):
                return bytes(self._key.sign(SHA256_DIGEST_INFO + digest, mechanism=Mechanism.RSA_PKCS))
            raw = bytes(self._key.sign(digest, mechanism=Mechanism.ECDSA))
        except PKCS11Error as exc:
            raise SigningError(f"PKCS#11 {self.name}: signing failed ({type(exc).__name__} {exc})") from None
        from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

        half = len(raw) // 2
        return encode_dss_signature(int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big"))


_SESSIONS: dict = {}
_PINS: dict = {}


def open_session(library: str | os.PathLike[str], *, token_label: str, pin: str, rw: bool = False):
    """A logged-in session on ``token_label``, shared per (module, token) in this process.

    PKCS#11 login state belongs to the application, not the session, so signers of one
    token share one session (a second ``C_Login`` fails with CKR_USER_ALREADY_LOGGED_IN and
    closing a session may log all of them out). Sessions live until the process ends.

    Raises:
        SigningError: module cannot be loaded, token not found, wrong PIN.
    """
    pkcs11 = _import()
    from pkcs11.exceptions import NoSuchToken, PinIncorrect, PKCS11Error, UserAlreadyLoggedIn

    key = (str(library), token_label, rw)
    known = _PINS.get(key[:2])
    if known is not None and known != pin:
        # Logged in already with the token's one user PIN: a different PIN is a wrong one.
        raise SigningError(f"PKCS#11 token {token_label!r}: wrong PIN; give the user PIN of the token")
    if key in _SESSIONS:
        return _SESSIONS[key]
    try:
        lib = pkcs11.lib(str(library))
    except (RuntimeError, OSError, PKCS11Error) as exc:
        raise SigningError(f"{library}: cannot load the PKCS#11 module ({exc}); give the token's .so file") from None
    try:
        token = lib.get_token(token_label=token_label)
        try:
            session = token.open(user_pin=pin, rw=rw)
        except UserAlreadyLoggedIn:
            session = token.open(rw=rw)
    except NoSuchToken:
        raise SigningError(f"PKCS#11 token {token_label!r} not found in {library}; check the token label") from None
    except PinIncorrect:
        raise SigningError(f"PKCS#11 token {token_label!r}: wrong PIN; give the user PIN of the token") from None
    except PKCS11Error as exc:
        raise SigningError(f"PKCS#11 token {token_label!r}: {type(exc).__name__} {exc}") from None
    _SESSIONS[key] = session
    _PINS[key[:2]] = pin
    return session


def _key_kwargs(label: str | None, key_id: bytes | None) -> dict:
    kw = {}
    if label is not None:
        kw["label"] = label
    if key_id is not None:
        kw["id"] = key_id
    return kw


def _token_certificate(session, attrs: dict, where: str):
    from pkcs11 import Attribute, ObjectClass

    for obj in session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE, **attrs}):
        return parse_certificate(bytes(obj[Attribute.VALUE]), f"PKCS#11 {where}: certificate")
    raise SigningError(f"PKCS#11 {where}: no certificate on the token with that label/id; give the certificate file")


def _token_public_key(session, label: str | None, key_id: bytes | None):
    """The public key object's value as a ``cryptography`` key, or None if not on the token."""
    from pkcs11 import Attribute, KeyType, ObjectClass
    from pkcs11.exceptions import PKCS11Error

    try:
        pub = session.get_key(object_class=ObjectClass.PUBLIC_KEY, **_key_kwargs(label, key_id))
    except PKCS11Error:
        return None
    try:
        if pub.key_type == KeyType.RSA:
            from cryptography.hazmat.primitives.asymmetric import rsa

            n = int.from_bytes(bytes(pub[Attribute.MODULUS]), "big")
            e = int.from_bytes(bytes(pub[Attribute.PUBLIC_EXPONENT]), "big")
            return rsa.RSAPublicNumbers(e, n).public_key()
        if pub.key_type == KeyType.EC:
            from pkcs11.util.ec import encode_ec_public_key
            from cryptography.hazmat.primitives.serialization import load_der_public_key

            return load_der_public_key(encode_ec_public_key(pub))
    except (PKCS11Error, ValueError, KeyError):
        return None
    return None


def hab_keys_from_token(
    library: str | os.PathLike[str],
    *,
    token_label: str,
    pin: str,
    srk_table: bytes,
    srk_index: int = 1,
    csf_label: str = "CSF_1",
    img_label: str = "IMG_1",
    csf_certificate=None,
    img_certificate=None,
):
    """:class:`signing.pki.HabKeys` whose CSF and IMG keys live on a PKCS#11 token (checked).

    Raises:
        SigningError: see :meth:`Pkcs11Signer.open` and :meth:`signing.pki.HabKeys.check`.
    """
    from signing.pki import HabKeys

    csf = Pkcs11Signer.open(library, token_label=token_label, pin=pin, key_label=csf_label, certificate=csf_certificate)
    img = Pkcs11Signer.open(library, token_label=token_label, pin=pin, key_label=img_label, certificate=img_certificate)
    keys = HabKeys(srk_table=srk_table, srk_index=srk_index, csf=csf, img=img, source=f"pkcs11:{token_label}",
                   files={"csf_crt": f"pkcs11:{token_label}:{csf_label}", "img_crt": f"pkcs11:{token_label}:{img_label}"})
    keys.check()
    return keys
