"""Signers: who holds a private key, and how a digest gets signed.

A :class:`Signer` signs a SHA-256 digest (or data it hashes first) with a private key it
may never reveal, and exposes the X.509 certificate of that key and its key type. CMS
(:mod:`signing.cms`) and HAB (:mod:`signing.hab`) only talk to this protocol, so keys can
live in files (:class:`FileSigner`), on a PKCS#11 token (:mod:`signing.pkcs11`) or in a
cloud KMS (a class with the same four members: ``certificate``, ``key_type``,
``sign_digest``, ``sign``; KMS APIs such as Cloud KMS ``AsymmetricSign`` take a SHA-256
digest, which is exactly ``sign_digest``).

Signature encodings are what CMS carries (RFC 5652 §5.3, RFC 3447 §8.2, RFC 5753 §7.2):
RSA PKCS#1 v1.5 (modulus-sized bytes) and ECDSA as a DER ``ECDSA-Sig-Value``.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Protocol, runtime_checkable

from signing.errors import KeyPasswordError, SigningError
from signing.files import read_file

KEY_TYPES = ("rsa2048", "rsa3072", "rsa4096", "p256", "p384", "p521")
"""Key types imgtool generates and signs with (the ``--key-type`` values)."""

_CURVE_NAMES = {"secp256r1": "p256", "secp384r1": "p384", "secp521r1": "p521"}


@runtime_checkable
class Signer(Protocol):
    """A private key behind an interface that signs SHA-256 digests.

    Members:
        certificate: the ``cryptography`` X.509 certificate of the key.
        key_type: one of :data:`KEY_TYPES` (``"rsa2048"``, ``"p256"``, ...).
        sign_digest(digest): signature over a 32-byte SHA-256 digest (RSA PKCS#1 v1.5
            bytes, or DER ECDSA-Sig-Value). Raises :class:`SigningError`.
        sign(data): ``sign_digest(sha256(data))``.
    """

    @property
    def certificate(self): ...  # noqa: D102

    @property
    def key_type(self) -> str: ...  # noqa: D102

    def sign_digest(self, digest: bytes) -> bytes: ...  # noqa: D102

    def sign(self, data: bytes) -> bytes: ...  # noqa: D102


def key_type_of(public_key) -> str:
    """The :data:`KEY_TYPES` name of a ``cryptography`` public key.

    Raises:
        SigningError: a key type HAB cannot use (DSA, Ed25519, other curves, odd RSA sizes
            are reported as ``rsa<bits>``).
    """
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    if isinstance(public_key, rsa.RSAPublicKey):
        return f"rsa{public_key.key_size}"
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        name = _CURVE_NAMES.get(public_key.curve.name)
        if name:
            return name
        raise SigningError(f"EC curve {public_key.curve.name} is not usable with HAB (use P-256, P-384 or P-521)")
    raise SigningError(f"{type(public_key).__name__} keys are not usable with HAB (use RSA or ECDSA)")


def public_keys_equal(a, b) -> bool:
    """True if two ``cryptography`` public keys are the same key."""
    from cryptography.hazmat.primitives import serialization

    fmt = serialization.PublicFormat.SubjectPublicKeyInfo
    enc = serialization.Encoding.DER
    return a.public_bytes(enc, fmt) == b.public_bytes(enc, fmt)


class DigestSigner:
    """Base of the signer backends: ``certificate`` and ``key_type`` from the ``_cert`` and
    ``_type`` the backend sets; ``sign(data)`` hashes with SHA-256 and calls ``sign_digest``."""

    _cert = None
    _type = ""

    @property
    def certificate(self):
        """The signer's X.509 certificate (``cryptography``), or None."""
        return self._cert

    @property
    def key_type(self) -> str:
        """The :data:`KEY_TYPES` name of the key (e.g. ``"rsa2048"``)."""
        return self._type

    def sign(self, data: bytes) -> bytes:
        """Sign ``data`` (hashed with SHA-256 first)."""
        return self.sign_digest(hashlib.sha256(data).digest())  # type: ignore[attr-defined]


def read_secret_file(path: str | os.PathLike[str], what: str = "password") -> bytes:
    """The secret in a password or PIN file: its first line, without the line ending.

    CST's ``key_pass.txt`` holds the password twice (two lines); only the first counts.
    ``what`` names the secret in messages (``"password"``, ``"PIN"``).

    Raises:
        SigningError: the file is missing, unreadable or its first line is empty.
    """
    data = read_file(path, what=f"{what} file", hint="give an existing file")
    lines = data.splitlines()
    if not lines or not lines[0]:
        raise SigningError(f"{Path(path)}: the {what} file is empty; put the {what} on its first line")
    return lines[0]


def read_pin_file(path: str | os.PathLike[str]) -> str:
    """The PKCS#11 user PIN on the first line of the file at ``path`` (UTF-8).

    Raises:
        SigningError: the file is missing, unreadable or empty, or not UTF-8 text.
    """
    pin = read_secret_file(path, "PIN")
    try:
        return pin.decode("utf-8")
    except UnicodeDecodeError:
        raise SigningError(f"{Path(path)}: the PIN is not UTF-8 text") from None


def user_pin(pin_file: str | os.PathLike[str] | None) -> str | None:
    """The PKCS#11 user PIN: the first line of ``pin_file`` (:func:`read_pin_file`) when
    one is given, else ``$IMGTOOL_PKCS11_PIN``; None (or empty) when neither gives one.

    Raises:
        SigningError: as :func:`read_pin_file`.
    """
    return read_pin_file(pin_file) if pin_file else os.environ.get("IMGTOOL_PKCS11_PIN")


def load_certificate(path: str | os.PathLike[str]):
    """Load an X.509 certificate from a PEM or DER file.

    Raises:
        SigningError: missing file, or not a certificate (message names the file).
    """
    data = read_file(path, what="certificate", hint="generate keys with 'imgtool hab keygen' or give the right key folder")
    return parse_certificate(data, str(Path(path)))


def parse_certificate(data: bytes, name: str = "certificate"):
    """Parse PEM or DER certificate bytes; ``name`` is used in errors.

    ``cryptography`` decodes a certificate's fields lazily, so a malformed version,
    validity, name, extension or public key would otherwise raise its own exceptions
    later, wherever the field is first read; every field the project reads is decoded
    here (:func:`check_certificate`), so a certificate this returns is safe to use.

    Raises:
        SigningError: not an X.509 certificate, or a field of it does not decode
            (the message names the X.509 field, RFC 5280 section 4.1).
    """
    from cryptography import x509

    try:
        if b"-----BEGIN" in data:
            cert = x509.load_pem_x509_certificate(data)
        else:
            cert = x509.load_der_x509_certificate(data)
    except Exception as exc:  # ValueError, and assorted errors of the DER decoder
        raise SigningError(f"{name}: not an X.509 certificate in PEM or DER ({exc}); give the *_crt.pem file") from None
    return check_certificate(cert, name)


#: The X.509 fields (RFC 5280 4.1) the project reads, and how ``cryptography`` decodes each.
_CERT_FIELDS = (
    ("version", lambda c: c.version),
    ("serialNumber", lambda c: c.serial_number),
    ("signature", lambda c: (c.signature, c.tbs_certificate_bytes)),
    ("issuer", lambda c: c.issuer.rfc4514_string()),
    ("subject", lambda c: c.subject.rfc4514_string()),
    ("validity", lambda c: (c.not_valid_before_utc, c.not_valid_after_utc)),
    ("extensions", lambda c: list(c.extensions)),
    ("subjectPublicKeyInfo", lambda c: c.public_key()),
)


def check_certificate(cert, name: str = "certificate"):
    """Decode every field of ``cert`` (a ``cryptography`` certificate) the project reads,
    and return it.

    Raises:
        SigningError: a field does not decode, e.g. ``"SRK_1_crt.pem: X.509 extensions:
            duplicate extension ..."`` (``cryptography``'s ValueError, UnsupportedAlgorithm,
            DuplicateExtension, InvalidVersion, re-raised with the field).
    """
    for field_name, decode in _CERT_FIELDS:
        try:
            decode(cert)
        except Exception as exc:  # cryptography raises several unrelated types here
            raise SigningError(f"{name}: X.509 {field_name} does not decode ({exc or type(exc).__name__})") from None
    return cert


def load_private_key(path: str | os.PathLike[str], password: bytes | None = None, password_source: str | None = None):
    """Load a private key from a PEM or DER file (PKCS#8 or PKCS#1/SEC1, encrypted or not).

    Args:
        path: the key file.
        password: the password for an encrypted key, or ``None``.
        password_source: where the password came from (for error messages), e.g. the
            ``key_pass.txt`` path.

    Raises:
        KeyPasswordError: encrypted key without password, or wrong password.
        SigningError: missing file, not a private key.
    """
    from cryptography.hazmat.primitives import serialization

    p = Path(path)
    data = read_file(p, what="private key", hint="put the key next to its certificate or use a PKCS#11 token")
    loader = serialization.load_pem_private_key if b"-----BEGIN" in data else serialization.load_der_private_key
    try:
        return loader(data, password=password)
    except TypeError as exc:
        if password is None:
            raise KeyPasswordError(
                f"{p}: the key is encrypted; give its password (a password file, or key_pass.txt next to the keys)",
                field="password",
            ) from None
        raise KeyPasswordError(f"{p}: the key is not encrypted but a password was given ({exc})") from None
    except ValueError as exc:
        if password is not None and ("password" in str(exc).lower() or "decrypt" in str(exc).lower() or "bad" in str(exc).lower()):
            src = f" (read from {password_source})" if password_source else ""
            raise KeyPasswordError(f"{p}: wrong password{src}; give the password the key was encrypted with") from None
        if password is not None and b"ENCRYPTED" in data:
            src = f" (read from {password_source})" if password_source else ""
            raise KeyPasswordError(f"{p}: wrong password{src}; give the password the key was encrypted with") from None
        raise SigningError(f"{p}: not a private key in PEM or DER ({exc})") from None
    except Exception as exc:  # cryptography raises UnsupportedAlgorithm for odd keys
        raise SigningError(f"{p}: cannot load the private key ({exc})") from None


class FileSigner(DigestSigner):
    """A private key held in memory, loaded from a PEM/DER file.

    Args:
        private_key: a ``cryptography`` RSA or EC private key.
        certificate: its X.509 certificate.
        name: the key's file name (for messages).

    Raises:
        SigningError: the key does not match the certificate, or is of an unusable type.
    """

    def __init__(self, private_key, certificate, name: str = "key") -> None:
        self._key = private_key
        self._cert = certificate
        self.name = name
        self._type = key_type_of(certificate.public_key())
        if not public_keys_equal(private_key.public_key(), certificate.public_key()):
            raise SigningError(f"{name}: the private key does not belong to its certificate; pair the right *_key and *_crt files")

    @classmethod
    def from_files(
        cls,
        key_path: str | os.PathLike[str],
        cert_path: str | os.PathLike[str],
        *,
        password: bytes | None = None,
        password_file: str | os.PathLike[str] | None = None,
    ) -> "FileSigner":
        """Load a key file and its certificate; the password comes from ``password`` or ``password_file``.

        Raises:
            KeyPasswordError, SigningError: see :func:`load_private_key`, :func:`load_certificate`.
        """
        source = None
        if password is None and password_file is not None:
            password = read_secret_file(password_file)
            source = str(password_file)
        cert = load_certificate(cert_path)
        key = load_private_key(key_path, password, source)
        return cls(key, cert, str(key_path))

    @property
    def private_key(self):
        """The ``cryptography`` private key (file signers only; used by PKI generation)."""
        return self._key

    def sign_digest(self, digest: bytes) -> bytes:
        """Sign a 32-byte SHA-256 digest: RSA PKCS#1 v1.5, or deterministic ECDSA (RFC 6979)."""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

        if len(digest) != 32:
            raise SigningError(f"{self.name}: expected a 32-byte SHA-256 digest, got {len(digest)} bytes")
        prehashed = utils.Prehashed(hashes.SHA256())
        if isinstance(self._key, rsa.RSAPrivateKey):
            return self._key.sign(digest, padding.PKCS1v15(), prehashed)
        # RFC 6979 (cryptography >= 44): the same key and digest give the same signature
        return self._key.sign(digest, ec.ECDSA(prehashed, deterministic_signing=True))
