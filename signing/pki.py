"""HABv4 development PKI: generate it, and load key folders as habtool and NXP CST lay them out.

Source: CST User Guide §"Key and certificate generation" and ``hab4_pki_tree.sh``
(names ``crts/SRK1_sha256_2048_65537_v3_ca_crt.pem``, ``keys/…_key.pem``,
``keys/key_pass.txt``); crucible ``habtool`` (names ``SRK_1_key.pem``, ``CSF_1_crt.pem``,
``SRK_1_2_3_4_table.bin``); reference/imx-hab.md §2.4, §2.5, §6.

Two layouts, read unchanged:

* ``habtool``: one folder with ``SRK_{i}_key.pem``, ``SRK_{i}_crt.pem`` (i = 1..4),
  ``CSF_1_key.pem``, ``CSF_1_crt.pem``, ``IMG_1_key.pem``, ``IMG_1_crt.pem``,
  ``SRK_1_2_3_4_table.bin``, ``SRK_1_2_3_4_fuse.bin`` (and ``key_pass.txt`` if encrypted).
  For SRK index n, ``CSF_{n}_*``/``IMG_{n}_*`` are used when present, else ``CSF_1_*``.
* ``nxp``: ``crts/`` and ``keys/`` (certificates ``SRK{i}_sha256_<kl>_65537_v3_ca_crt.pem``,
  ``CSF{n}_1_sha256_…_v3_usr_crt.pem``, ``IMG{n}_1_…``; keys named with ``crt`` -> ``key``
  in ``keys/``; password on the first line of ``keys/key_pass.txt``). The SRK table is
  ``crts/SRK_*_table.bin`` if present, else it is built from the SRK certificates.

Generation returns ``{relative path: bytes}``; writing is up to the caller.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from formats.imx import srk as srkfmt
from signing import hab_srk
from signing.errors import SigningError
from signing.files import read_file
from signing.keys import KEY_TYPES, FileSigner, Signer, load_certificate, load_private_key, read_secret_file

_NXP_KEY_TAG = {"rsa2048": "2048_65537", "rsa3072": "3072_65537", "rsa4096": "4096_65537",
                "p256": "prime256v1", "p384": "secp384r1", "p521": "secp521r1"}


def generate_private_key(key_type: str):
    """A new private key of ``key_type`` (one of :data:`signing.keys.KEY_TYPES`).

    Raises:
        SigningError: unknown key type.
    """
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    if key_type.startswith("rsa") and key_type in KEY_TYPES:
        return rsa.generate_private_key(public_exponent=65537, key_size=int(key_type[3:]))
    curves = {"p256": ec.SECP256R1, "p384": ec.SECP384R1, "p521": ec.SECP521R1}
    if key_type in curves:
        return ec.generate_private_key(curves[key_type]())
    raise SigningError(f"key type {key_type!r} is not one of {', '.join(KEY_TYPES)}")


def make_certificate(subject_cn: str, key, *, issuer_cert=None, issuer_key=None, ca: bool,
                     not_before: _dt.datetime, days: int, serial: int | None = None):
    """An X.509 v3 certificate for ``key`` (self-signed when ``issuer_key`` is None).

    CA certificates get basicConstraints CA:TRUE (critical) and keyUsage keyCertSign,
    cRLSign (what srktool reads as the SRK CA flag); others CA:FALSE and digitalSignature.
    Signature SHA-256 with RSA PKCS#1 v1.5 or ECDSA.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject_cn)])
    signing_key = issuer_key or key
    issuer = issuer_cert.subject if issuer_cert is not None else name
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(serial if serial is not None else x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_before + _dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signing_key.public_key()), critical=False
        )
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
    )
    return builder.sign(signing_key, hashes.SHA256())


def _key_bytes(key, password: bytes | None, der: bool = False) -> bytes:
    from cryptography.hazmat.primitives import serialization

    enc = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    return key.private_bytes(
        serialization.Encoding.DER if der else serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc
    )


def _cert_bytes(cert, der: bool = False) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return cert.public_bytes(serialization.Encoding.DER if der else serialization.Encoding.PEM)


def table_file_name(count: int) -> str:
    """``SRK_1_2_3_4_table.bin`` for 4 keys, ``SRK_1_2_table.bin`` for 2..."""
    return "SRK_" + "_".join(str(i) for i in range(1, count + 1)) + "_table.bin"


def _add_key_pair(files: dict[str, bytes], layout: str, habtool_stem: str, nxp_base: str, key, cert,
                  password: bytes | None) -> None:
    """Add a key and its certificate to ``files`` under the names of ``layout``:
    habtool's ``STEM_key.pem``/``STEM_crt.pem``, or NXP's ``keys/BASE_key.{pem,der}`` and
    ``crts/BASE_crt.{pem,der}``."""
    if layout == "habtool":
        files[f"{habtool_stem}_key.pem"] = _key_bytes(key, password)
        files[f"{habtool_stem}_crt.pem"] = _cert_bytes(cert)
        return
    for der, ext in ((False, "pem"), (True, "der")):
        files[f"keys/{nxp_base}_key.{ext}"] = _key_bytes(key, password, der=der)
        files[f"crts/{nxp_base}_crt.{ext}"] = _cert_bytes(cert, der=der)


def generate_pki(
    *,
    key_type: str = "rsa2048",
    srks: int = 4,
    layout: str = "habtool",
    password: bytes | None = None,
    not_before: _dt.datetime | None = None,
    days: int = 3650,
    signing_srks: Sequence[int] | None = None,
) -> dict[str, bytes]:
    """Generate a development HAB PKI; return ``{relative path: file bytes}``.

    Args:
        key_type: ``rsa2048|rsa3072|rsa4096|p256|p384|p521`` for every key (ECDSA SRKs
            need HAB 4.5, i.e. i.MX8M Plus; i.MX6 ROMs accept RSA only).
        srks: number of SRK CA keys, 1..4 (NXP recommends 4 so that 3 can be revoked).
        layout: ``"habtool"`` or ``"nxp"`` (see module doc).
        password: encrypt private keys (PKCS#8) with it and write ``key_pass.txt``; ``None``
            writes unencrypted keys.
        not_before: certificate validity start (default: now, UTC); ``days`` its length.
        signing_srks: SRK indices (1-based) that get a CSF and IMG key pair; default all
            for ``nxp`` (as hab4_pki_tree.sh), ``[1]`` for ``habtool``.

    Raises:
        SigningError: bad key type, SRK count or layout.
    """
    if layout not in ("habtool", "nxp"):
        raise SigningError(f"layout {layout!r}: use 'habtool' or 'nxp'")
    if not 1 <= srks <= 4:
        raise SigningError(f"{srks} SRKs: an SRK table holds 1 to 4 keys", field="srks")
    if key_type not in KEY_TYPES:
        raise SigningError(f"key type {key_type!r} is not one of {', '.join(KEY_TYPES)}")
    start = not_before or _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0)
    chosen = list(signing_srks) if signing_srks is not None else (list(range(1, srks + 1)) if layout == "nxp" else [1])
    for n in chosen:
        if not 1 <= n <= srks:
            raise SigningError(f"signing SRK {n} is out of range 1..{srks}")
    files: dict[str, bytes] = {}
    srk_keys, srk_certs = [], []
    tag = _NXP_KEY_TAG[key_type]
    bits = "".join(ch for ch in tag.split("_")[0] if ch.isdigit()) if key_type.startswith("rsa") else key_type[1:]
    for i in range(1, srks + 1):
        key = generate_private_key(key_type)
        cn = f"SRK{i}_sha256_{tag}_v3_ca" if layout == "nxp" else f"SRK_sha256_{bits}"
        cert = make_certificate(cn, key, ca=True, not_before=start, days=days)
        srk_keys.append(key)
        srk_certs.append(cert)
        _add_key_pair(files, layout, f"SRK_{i}", f"SRK{i}_sha256_{tag}_v3_ca", key, cert, password)
    for n in chosen:
        for role in ("CSF", "IMG"):
            key = generate_private_key(key_type)
            cn = f"{role}{n}_1_sha256_{tag}_v3_usr" if layout == "nxp" else f"{role}_sha256_{bits}"
            cert = make_certificate(
                cn, key, issuer_cert=srk_certs[n - 1], issuer_key=srk_keys[n - 1], ca=False, not_before=start, days=days
            )
            _add_key_pair(files, layout, f"{role}_{n}", f"{role}{n}_1_sha256_{tag}_v3_usr", key, cert, password)
    table = hab_srk.build_srk_table(srk_certs)
    prefix = "" if layout == "habtool" else "crts/"
    tname = table_file_name(srks)
    files[prefix + tname] = table.build()
    files[prefix + tname.replace("_table.bin", "_fuse.bin")] = table.hash()
    if password:
        files["key_pass.txt" if layout == "habtool" else "keys/key_pass.txt"] = password + b"\n" + password + b"\n"
    return files


# --------------------------------------------------------------------------------------
# Loading


@dataclass(frozen=True)
class HabKeys:
    """Everything HAB signing needs: the SRK table, the selected SRK, and two signers.

    Attributes:
        srk_table: raw SRK table bytes (``D7 ... 40``), 1..4 entries.
        srk_index: the selected SRK, 1-based (CSF ``Source index`` = srk_index - 1).
        csf: the :class:`signing.keys.Signer` of the CSFK (or of the SRK itself for NOCAK).
        img: the signer of the IMG key.
        srk_certificates: the SRK certificates found (may be empty).
        source: the folder or token the keys came from (for messages).
        files: role -> file path of what was loaded (for messages and ``info``).
    """

    srk_table: bytes
    srk_index: int
    csf: Signer
    img: Signer
    srk_certificates: tuple = ()
    source: str = ""
    files: dict = field(default_factory=dict)

    @property
    def srk_hash(self) -> bytes:
        """The 32-byte SRK hash (fuse value) of :attr:`srk_table`."""
        return srkfmt.table_hash(self.srk_table)

    def check(self) -> None:
        """Check the SRK index and that CSFK and IMG certificates chain to the selected SRK.

        Raises:
            SigningError: index out of range (``field="srk_index"``), hash-only SRK
                selected, a certificate not signed by the SRK (message names the file and
                what to do).
        """
        try:
            table = srkfmt.SrkTable.parse(self.srk_table)
        except Exception as exc:
            raise SigningError(f"{self.files.get('srk_table', 'SRK table')}: {exc}; regenerate it with 'imgtool hab srk'") from None
        count = len(table.entries)
        if not 1 <= self.srk_index <= count:
            raise SigningError(
                f"{self.files.get('srk_table', self.source or 'SRK table')}: SRK index {self.srk_index} is out of range; "
                f"the table holds {count} key(s), use 1..{count}", field="srk_index"
            )
        entry = table.entries[self.srk_index - 1]
        public_key = hab_srk.public_key_of_entry(entry)
        for role, signer in (("csf", self.csf), ("img", self.img)):
            cert = signer.certificate
            if role == "csf" and hab_srk.entry_matches_certificate(entry, cert):
                continue  # NOCAK: the SRK signs directly
            if not hab_srk.certificate_signed_by(cert, public_key):
                name = self.files.get(f"{role}_crt", f"{role.upper()} certificate")
                raise SigningError(
                    f"{name}: certificate is not signed by SRK {self.srk_index} of the SRK table; "
                    f"use the {role.upper()} certificate issued by SRK {self.srk_index} or the SRK index that issued it"
                )


@dataclass(frozen=True)
class KeyFolder:
    """The files of a HAB key folder, as :func:`find_key_folder` found them (paths; a
    file that is not there is ``None``).

    Attributes:
        root: the folder given.
        layout: ``"habtool"`` or ``"nxp"`` (``crts/`` and ``keys/``).
        srk_table: ``SRK_1_2_3_4_table.bin`` (or another ``SRK_*_table.bin``).
        srk_certificates: SRK 1..k certificates, the first contiguous run.
        csf_certificate, img_certificate: the certificates of the selected SRK's CSF
            and IMG keys; ``csf_key``, ``img_key`` their private keys (``None`` when
            looked up by token label).
        password_file: ``key_pass.txt`` next to the keys, if any.
        csf_hint: the name of the CSF certificate looked for (for messages).
    """

    root: Path
    layout: str
    srk_table: Path | None
    srk_certificates: tuple[Path, ...]
    csf_certificate: Path | None
    img_certificate: Path | None
    csf_key: Path | None = None
    img_key: Path | None = None
    password_file: Path | None = None
    csf_hint: str = "CSF_1_crt.pem"


def _first(paths: list[Path]) -> Path | None:
    return sorted(paths)[0] if paths else None


def _find_table(folder: Path) -> Path | None:
    exact = folder / "SRK_1_2_3_4_table.bin"
    if exact.is_file():
        return exact
    return _first([p for p in folder.glob("SRK_*_table.bin") if p.is_file()])


def _nxp_paths(root: Path) -> tuple[Path, Path] | None:
    if (root / "crts").is_dir() and (root / "keys").is_dir():
        return root / "crts", root / "keys"
    if root.name in ("keys", "crts") and (root.parent / "crts").is_dir() and (root.parent / "keys").is_dir():
        return root.parent / "crts", root.parent / "keys"
    return None


def _match(folder: Path, pattern: str) -> Path | None:
    """The file of ``folder`` whose name matches ``pattern`` (PEM before DER), or None."""
    if not folder.is_dir():
        return None
    found = [p for p in folder.iterdir() if re.fullmatch(pattern, p.name) and p.is_file()]
    return _first([p for p in found if p.suffix == ".pem"]) or _first(found)


def _key_file(crt: Path | None, key_dir: Path) -> Path | None:
    """The private key next to certificate ``crt``: ``..._crt.pem`` -> ``..._key.pem`` in
    ``key_dir`` (the DER file when there is no PEM)."""
    if crt is None:
        return None
    key = key_dir / crt.name.replace("_crt", "_key")
    if not key.is_file() and key.suffix == ".pem" and key.with_suffix(".der").is_file():
        key = key.with_suffix(".der")
    return key


def find_key_folder(folder: str | os.PathLike[str], srk_index: int = 1,
                    labels: tuple[str, str] | None = None) -> KeyFolder:
    """Find the SRK table, certificates and keys in a HAB key folder, unchanged from how
    habtool or NXP ``hab4_pki_tree.sh`` lay them out (see the module doc). Nothing is read.

    Args:
        folder: the key folder (for the NXP layout: the folder holding ``crts/`` and
            ``keys/``, or either of them).
        srk_index: the SRK whose CSF and IMG keys are wanted, 1..4.
        labels: ``(csf, img)`` names when the private keys live elsewhere (a PKCS#11
            token): the certificates are then ``NAME_crt.pem`` in the folder or
            ``crts/NAME*_crt.pem``, and no private keys are looked for.

    Raises:
        SigningError: the folder does not exist.
    """
    root = Path(folder)
    if not root.is_dir():
        raise SigningError(f"{root}: key folder not found; create one with 'imgtool hab keygen {root}'")
    nxp = _nxp_paths(root)
    if nxp:
        crts, keys = nxp
        table = _find_table(crts) or _find_table(root)
        srks = [_match(crts, rf"SRK{i}_sha256_.*_crt\.(pem|der)") for i in range(1, 5)]
        csf = _match(crts, rf"CSF{srk_index}_1_sha256_.*_crt\.(pem|der)")
        img = _match(crts, rf"IMG{srk_index}_1_sha256_.*_crt\.(pem|der)")
        hint, key_dir = f"CSF{srk_index}_1_*_crt.pem", keys
    else:
        table = _find_table(root) or _find_table(root / "crts")
        srks = [p if p.is_file() else None for p in (root / f"SRK_{i}_crt.pem" for i in range(1, 5))]
        csf = next((p for p in (root / f"CSF_{srk_index}_crt.pem", root / "CSF_1_crt.pem") if p.is_file()), None)
        img = next((p for p in (root / f"IMG_{srk_index}_crt.pem", root / "IMG_1_crt.pem") if p.is_file()), None)
        hint, key_dir = "CSF_1_crt.pem", root
    run: list[Path] = []
    for p in srks:  # SRK 1..k: the first contiguous run
        if p is None:
            break
        run.append(p)
    password = key_dir / "key_pass.txt"
    layout = "nxp" if nxp else "habtool"
    if labels is not None:
        csf, img = (_match(root, rf"{re.escape(n)}_crt\.pem") or _match(root / "crts", rf"{re.escape(n)}.*_crt\.pem")
                    for n in labels)
        return KeyFolder(root, layout, table, tuple(run), csf, img, csf_hint=f"{labels[0]}_crt.pem")
    return KeyFolder(root, layout, table, tuple(run), csf, img, _key_file(csf, key_dir), _key_file(img, key_dir),
                     password if password.is_file() else None, hint)


def load_hab_keys(
    folder: str | os.PathLike[str], srk_index: int = 1, password: bytes | None = None
) -> HabKeys:
    """Load a HAB key folder in habtool's or NXP ``hab4_pki_tree.sh``'s layout, unchanged.

    Args:
        folder: the key folder (for the NXP layout: the folder holding ``crts/`` and
            ``keys/``, or either of them).
        srk_index: SRK to sign with, 1..4.
        password: password for encrypted keys; default: first line of ``key_pass.txt``
            (``keys/key_pass.txt`` for NXP, ``folder/key_pass.txt`` for habtool), if any.

    Returns:
        :class:`HabKeys`, already checked (:meth:`HabKeys.check`).

    Raises:
        SigningError: missing folder/certificate/key/table, wrong or missing password,
            SRK index out of range (``field="srk_index"``), a certificate not signed by
            the selected SRK, a table that does not match the SRK certificates.
    """
    root = Path(folder)
    kf = find_key_folder(root, srk_index)
    if not 1 <= srk_index <= 4:
        raise SigningError(f"{root}: SRK index {srk_index} is out of range; use 1..4", field="srk_index")
    table, srk_certs, table_name = load_srk_table(kf)
    files: dict[str, str] = {"srk_table": table_name}
    for role, crt in (("CSF", kf.csf_certificate), ("IMG", kf.img_certificate)):
        if crt is None:
            raise SigningError(f"{root}: {role} certificate {kf.csf_hint.replace('CSF', role)} not found; "
                               "generate it or give the right key folder")
    if password is not None:
        pw, pw_source = password, None
    elif kf.password_file is not None:
        pw, pw_source = read_secret_file(kf.password_file), str(kf.password_file)
    else:
        pw, pw_source = None, None
    signers = {}
    for role, crt, key_path in (("csf", kf.csf_certificate, kf.csf_key), ("img", kf.img_certificate, kf.img_key)):
        files[f"{role}_crt"] = str(crt)
        files[f"{role}_key"] = str(key_path)
        cert = load_certificate(crt)
        key = load_private_key(key_path, pw, pw_source)
        signers[role] = FileSigner(key, cert, str(key_path))
    keys = HabKeys(srk_table=table, srk_index=srk_index, csf=signers["csf"], img=signers["img"],
                   srk_certificates=tuple(srk_certs), source=str(root), files=files)
    keys.check()
    return keys


def load_srk_table(kf: KeyFolder) -> tuple[bytes, list, str]:
    """The SRK table of a key folder: ``(table bytes, SRK certificates, where it came
    from)``. The table file, checked against the SRK certificates found, or else the
    table built from them.

    Raises:
        SigningError: neither a table nor SRK certificates; a table that does not parse
            or does not match the certificates.
    """
    srk_certs = [load_certificate(p) for p in kf.srk_certificates]
    if kf.srk_table is None:
        if not srk_certs:
            raise SigningError(
                f"{kf.root}: no SRK table (SRK_1_2_3_4_table.bin) and no SRK certificates found; "
                f"create keys with 'imgtool hab keygen' or give the folder that holds them"
            )
        table = hab_srk.build_srk_table(srk_certs, [str(p) for p in kf.srk_certificates]).build()
        return table, srk_certs, f"{kf.root} (built from SRK certificates)"
    table = read_file(kf.srk_table, what="SRK table")
    try:
        parsed = srkfmt.SrkTable.parse(table)
    except Exception as exc:
        raise SigningError(f"{kf.srk_table}: not an SRK table ({exc}); regenerate it with 'imgtool hab srk'") from None
    for i, cert in enumerate(srk_certs[: len(parsed.entries)]):
        if not hab_srk.entry_matches_certificate(parsed.entries[i], cert):
            raise SigningError(
                f"{kf.srk_table}: entry {i + 1} does not match {kf.srk_certificates[i]}; regenerate the table with "
                f"'imgtool hab srk' from the SRK certificates"
            )
    return table, srk_certs, str(kf.srk_table)
