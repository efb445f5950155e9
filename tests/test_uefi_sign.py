"""Authenticode signing and verification (signing/authenticode.py, ``imgtool uefi sign``
and ``uefi verify``), against the reference tools: osslsigncode (byte-identical output
with the same key and ``-time``; its verifier), sbsign/sbverify (sbverify accepts
imgtool's signature; imgtool accepts sbsign's and rejects every single-byte tamper of
the hashed ranges). Keys: Debian's OVMF snakeoil key (the one in the snakeoil Secure
Boot variable store), a generated CA and leaf, P-256, and a SoftHSM2 token.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from formats.pe import authenticode as pe_auth
from formats.pe import parse
from signing import authenticode
from signing.keys import FileSigner
from hab_helpers import need
from uefi_helpers import SNAKEOIL_CERT, SNAKEOIL_KEY, need_file, snakeoil_password

T0 = 1700000000


def imgtool(*args, env=None, input=None):
    return subprocess.run([sys.executable, "-m", "imgtool", *map(str, args)], capture_output=True, text=True,
                          env=dict(os.environ, **(env or {})), input=input)


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    """The snakeoil key (encrypted, as Debian ships it) and a decrypted copy for sbsign."""
    need_file(SNAKEOIL_KEY, "ovmf")
    d = tmp_path_factory.mktemp("sb-keys")
    password = snakeoil_password(d)
    plain = d / "snakeoil.key"
    subprocess.run([need("openssl"), "rsa", "-in", str(SNAKEOIL_KEY), "-passin", "pass:snakeoil", "-out", str(plain)],
                   check=True, capture_output=True)
    return {"key": SNAKEOIL_KEY, "cert": SNAKEOIL_CERT, "password": password, "plain": plain,
            "signer": FileSigner.from_files(plain, SNAKEOIL_CERT)}


@pytest.fixture(scope="module")
def images(tmp_path_factory, uefi_payloads, go_elf):
    """Unsigned .efi files made by ``imgtool uefi app``."""
    d = tmp_path_factory.mktemp("sb-images")
    out = {}
    for name, elf in (("fixed", uefi_payloads["fixed"]), ("pie", uefi_payloads["pie"]), ("go", go_elf("amd64"))):
        out[name] = d / f"{name}.efi"
        r = imgtool("uefi", "app", elf, "-o", out[name])
        assert r.returncode == 0, r.stderr
    return out


@pytest.mark.parametrize("name", ["fixed", "pie", "go"])
def test_signature_is_byte_identical_to_osslsigncode(images, keys, tmp_path, name):
    theirs = tmp_path / "oss.efi"
    r = subprocess.run([need("osslsigncode"), "sign", "-h", "sha256", "-time", str(T0), "-key", str(keys["plain"]),
                        "-certs", str(keys["cert"]), "-in", str(images[name]), "-out", str(theirs)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    ours = tmp_path / "ours.efi"
    r = imgtool("uefi", "sign", images[name], "--key", keys["key"], "--cert", keys["cert"], "--password-file",
                keys["password"], "--signing-time", T0, "-o", ours)
    assert r.returncode == 0, r.stderr
    assert ours.read_bytes() == theirs.read_bytes()


def test_reference_verifiers_accept_imgtool_signature(images, keys, tmp_path):
    signed = tmp_path / "signed.efi"
    r = imgtool("uefi", "sign", images["pie"], "--key", keys["key"], "--cert", keys["cert"],
                "--password-file", keys["password"], "-o", signed)
    assert r.returncode == 0, r.stderr
    sb = subprocess.run([need("sbverify"), "--cert", str(keys["cert"]), str(signed)], capture_output=True, text=True)
    assert sb.returncode == 0 and "Signature verification OK" in sb.stdout + sb.stderr
    # no "gaps between PE/COFF sections" warning: the sections cover the file
    assert "data remaining" not in sb.stdout + sb.stderr
    oss = subprocess.run([need("osslsigncode"), "verify", "-CAfile", str(keys["cert"]), "-in", str(signed)],
                         capture_output=True, text=True)
    assert oss.returncode == 0 and "Signature verification: ok" in oss.stdout
    other = subprocess.run(["sbverify", "--cert", str(Path(__file__)), str(signed)], capture_output=True, text=True)
    assert other.returncode != 0  # sbverify does check: a non-certificate is refused


def test_signatures_are_reproducible_and_carry_a_time_only_when_asked(images, keys, tmp_path):
    a, b, c = tmp_path / "a.efi", tmp_path / "b.efi", tmp_path / "c.efi"
    common = ["uefi", "sign", images["fixed"], "--key", keys["key"], "--cert", keys["cert"],
              "--password-file", keys["password"]]
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    for out in (a, b):
        r = subprocess.run([sys.executable, "-m", "imgtool", *map(str, common), "-o", str(out)], env=env,
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    assert a.read_bytes() == b.read_bytes()
    assert authenticode.describe(a.read_bytes())[0].signing_time is None
    assert imgtool(*common, "-o", c, env={"SOURCE_DATE_EPOCH": str(T0)}).returncode == 0
    assert authenticode.describe(c.read_bytes())[0].signing_time == dt.datetime.fromtimestamp(T0, dt.timezone.utc)


def test_opus_info_matches_osslsigncode(images, keys, tmp_path):
    theirs = tmp_path / "oss.efi"
    subprocess.run([need("osslsigncode"), "sign", "-h", "sha256", "-time", str(T0), "-n", "imgtool test", "-i",
                    "https://example.org/app", "-key", str(keys["plain"]), "-certs", str(keys["cert"]), "-in",
                    str(images["fixed"]), "-out", str(theirs)], check=True, capture_output=True)
    ours = authenticode.sign(images["fixed"].read_bytes(), keys["signer"],
                             signing_time=dt.datetime.fromtimestamp(T0, dt.timezone.utc), program_name="imgtool test",
                             more_info_url="https://example.org/app")
    assert ours == theirs.read_bytes()
    assert authenticode.describe(ours)[0].program_name == "imgtool test"


@pytest.fixture(scope="module")
def sbsigned(images, keys, tmp_path_factory):
    out = tmp_path_factory.mktemp("sbsign") / "sbsigned.efi"
    r = subprocess.run([need("sbsign"), "--key", str(keys["plain"]), "--cert", str(keys["cert"]), "--output",
                        str(out), str(images["fixed"])], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return out


def test_imgtool_verify_accepts_sbsign(sbsigned, keys):
    r = imgtool("uefi", "verify", sbsigned, "--cert", keys["cert"])
    assert r.returncode == 0, r.stderr
    assert "OK    signature image digest" in r.stdout and "OK    signature chain" in r.stdout
    r = imgtool("uefi", "verify", sbsigned)
    assert r.returncode == 0 and "embedded signer certificate only" in r.stdout
    report = json.loads(imgtool("uefi", "verify", sbsigned, "--cert", keys["cert"], "--json").stdout)
    assert report["ok"] and report["trusted"] and [c["name"] for c in report["checks"]] == [
        "signature image digest", "signature signer", "signature chain"]
    sig = authenticode.describe(sbsigned.read_bytes())[0]
    assert sig.signing_time is not None and sig.subject == keys["signer"].certificate.subject.rfc4514_string()


@pytest.mark.parametrize("digest", ["sha1", "sha384", "sha512"])
def test_verify_accepts_other_digests_osslsigncode_writes(images, keys, tmp_path, digest):
    out = tmp_path / f"{digest}.efi"
    subprocess.run([need("osslsigncode"), "sign", "-h", digest, "-key", str(keys["plain"]), "-certs",
                    str(keys["cert"]), "-in", str(images["fixed"]), "-out", str(out)], check=True, capture_output=True)
    r = imgtool("uefi", "verify", out, "--cert", keys["cert"])
    assert r.returncode == 0 and f"OK    signature image digest: {digest} " in r.stdout, r.stdout + r.stderr


def test_every_single_byte_tamper_of_the_hashed_ranges_is_rejected(sbsigned, keys):
    """Exhaustive: every byte the Authenticode hash covers (headers and all section data
    of the small payload, 3 KiB), each flipped, through the verifier the CLI uses."""
    data = sbsigned.read_bytes()
    trusted = keys["signer"].certificate
    assert authenticode.verify(data, trusted).ok
    ranges = pe_auth.hashed_ranges(parse(data))
    offsets = [i for a, b in ranges for i in range(a, b)]
    assert len(offsets) == sum(b - a for a, b in ranges) > 3000
    accepted = []
    for i in offsets:
        bad = bytearray(data)
        bad[i] ^= 0xFF
        try:
            if authenticode.verify(bytes(bad), trusted).ok:
                accepted.append(i)
        except Exception as exc:  # the verifier may only fail through FormatError (exit 1 in the CLI)
            assert type(exc).__name__ == "FormatError", (i, exc)
    assert accepted == []
    # the excluded fields are just that: the CheckSum (not signed) changes nothing
    p = parse(data)
    bad = bytearray(data)
    bad[p.checksum_offset] ^= 0xFF
    assert authenticode.verify(bytes(bad), trusted).ok


@pytest.mark.parametrize("where", ["header", "text", "data", "appended"])
def test_cli_verify_reports_a_tamper_in_one_line(sbsigned, keys, tmp_path, where):
    data = bytearray(sbsigned.read_bytes())
    p = parse(bytes(data))
    sec = {s.name: s for s in p.sections}
    if where == "appended":
        data += b"\0" * 8
    else:
        off = {"header": 0x4E, "text": sec[".text"].PointerToRawData + 5, "data": sec[".data"].PointerToRawData + 0x90}
        data[off[where]] ^= 1
    f = tmp_path / "bad.efi"
    f.write_bytes(bytes(data))
    r = imgtool("uefi", "verify", f, "--cert", keys["cert"])
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "verification failed" in lines[0]
    assert ("follow the certificate table" if where == "appended" else "digest") in lines[0]


def _ca_and_leaf(tmp_path: Path, key_type: str = "rsa"):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import NameOID

    def key():
        return rsa.generate_private_key(65537, 2048) if key_type == "rsa" else ec.generate_private_key(ec.SECP256R1())

    def cert(subject, issuer, pub, signer, ca):
        start = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
        return (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
                .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)])).public_key(pub)
                .serial_number(x509.random_serial_number()).not_valid_before(start)
                .not_valid_after(start + dt.timedelta(days=3650))
                .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
                .sign(signer, hashes.SHA256()))

    ca_key, leaf_key, other_key = key(), key(), key()
    ca = cert("imgtool test db CA", "imgtool test db CA", ca_key.public_key(), ca_key, True)
    other = cert("another CA", "another CA", other_key.public_key(), other_key, True)
    leaf = cert("imgtool test signer", "imgtool test db CA", leaf_key.public_key(), ca_key, False)
    pem = serialization.Encoding.PEM
    files = {}
    for name, obj in (("ca.pem", ca), ("other.pem", other), ("leaf.pem", leaf)):
        files[name] = tmp_path / name
        files[name].write_bytes(obj.public_bytes(pem))
    files["leaf.key"] = tmp_path / "leaf.key"
    files["leaf.key"].write_bytes(leaf_key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                                          serialization.NoEncryption()))
    files["ca.key"] = tmp_path / "ca.key"
    files["ca.key"].write_bytes(ca_key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                                      serialization.NoEncryption()))
    return files


@pytest.mark.parametrize("key_type", ["rsa", "p256"])
def test_chain_to_a_trusted_ca(images, tmp_path, key_type):
    f = _ca_and_leaf(tmp_path, key_type)
    signed = tmp_path / "signed.efi"
    r = imgtool("uefi", "sign", images["fixed"], "--key", f["leaf.key"], "--cert", f["leaf.pem"], "-o", signed)
    assert r.returncode == 0, r.stderr
    for trusted in ("ca.pem", "leaf.pem"):
        r = imgtool("uefi", "verify", signed, "--cert", f[trusted])
        assert r.returncode == 0, r.stdout + r.stderr
    r = imgtool("uefi", "verify", signed, "--cert", f["other.pem"])
    assert r.returncode == 1 and "does not chain to the trusted certificate" in r.stderr
    oss = subprocess.run([need("osslsigncode"), "verify", "-CAfile", str(f["ca.pem"]), "-in", str(signed)],
                         capture_output=True, text=True)
    assert oss.returncode == 0, oss.stdout + oss.stderr


def test_a_self_made_certificate_naming_the_trusted_ca_as_issuer_does_not_chain(images, tmp_path):
    """The chain is followed by signatures, not by names: a self-signed certificate whose
    issuer field names the trusted CA, with the (public) CA certificate embedded as its
    chain, is refused; the real leaf with the same embedded chain is accepted."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    f = _ca_and_leaf(tmp_path, "p256")
    ca = x509.load_pem_x509_certificate(f["ca.pem"].read_bytes())
    evil = ec.generate_private_key(ec.SECP256R1())
    start = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    forged = (x509.CertificateBuilder().subject_name(x509.Name.from_rfc4514_string("CN=attacker"))
              .issuer_name(ca.subject).public_key(evil.public_key()).serial_number(7)
              .not_valid_before(start).not_valid_after(start + dt.timedelta(days=30)).sign(evil, hashes.SHA256()))
    pe = images["fixed"].read_bytes()
    bad = authenticode.verify(authenticode.sign(pe, FileSigner(evil, forged), chain=[ca]), trusted=ca)
    assert not bad.ok and "does not chain to the trusted certificate" in bad.failure
    leaf = x509.load_pem_x509_certificate(f["leaf.pem"].read_bytes())
    leaf_key = serialization.load_pem_private_key(f["leaf.key"].read_bytes(), None)
    assert authenticode.verify(authenticode.sign(pe, FileSigner(leaf_key, leaf), chain=[ca]), trusted=ca).ok


def _resigned(image: bytes, edit) -> bytes:
    """``image`` with its signature's ContentInfo changed by ``edit(content_info)``."""
    from asn1crypto import cms

    from formats.der import element
    from formats.pe.image import Certificate

    (cert,) = parse(image).certificates
    ci = cms.ContentInfo.load(cert.data[:element(cert.data)[2]])
    edit(ci)
    return pe_auth.with_certificates(pe_auth.without_certificates(image), [Certificate(0x200, 2, ci.dump(force=True))])


def test_malformed_signatures_are_one_line_errors(images, keys, tmp_path):
    """An empty signingTime attribute and a digest algorithm outside Authenticode's
    (SHAKE128, which hashlib has but cannot size) are refused by info and verify in one
    line, exit 2 / 1, no traceback."""
    signed = authenticode.sign(images["fixed"].read_bytes(), keys["signer"],
                               signing_time=dt.datetime.fromtimestamp(T0, dt.timezone.utc))

    def empty_time(ci):
        for a in ci["content"]["signer_infos"][0]["signed_attrs"]:
            if a["type"].dotted == "1.2.840.113549.1.9.5":
                a["values"] = []

    def shake(ci):
        from asn1crypto import core

        blob = ci["content"]["encap_content_info"]["content"]
        raw = blob.contents.replace(bytes.fromhex("0609608648016503040201"), bytes.fromhex("060960864801650304020b"), 1)
        assert raw != blob.contents  # the DigestInfo's SHA-256 OID is now SHAKE128's
        ci["content"]["encap_content_info"]["content"] = core.ParsableOctetString(raw)

    for name, edit, info_match in (("time", empty_time, "not an Authenticode PKCS#7 SignedData"),
                                   ("shake", shake, "digest algorithm 'shake128'")):
        bad = tmp_path / f"{name}.efi"
        bad.write_bytes(_resigned(signed, edit))
        for args, codes in ((("info", bad), (0, 2)), (("uefi", "verify", bad), (1,))):
            r = imgtool(*args)
            assert "Traceback" not in r.stderr and r.returncode in codes, (name, args, r.stderr)
            if r.returncode:
                assert len(r.stderr.strip().splitlines()) == 1, r.stderr
        with pytest.raises(Exception, match=info_match):
            if name == "time":
                authenticode.describe(bad.read_bytes())
            else:
                pe_auth.image_digest(bad.read_bytes(), "shake128")


def test_signing_times_past_year_9999_are_refused(images, keys, tmp_path):
    out = tmp_path / "out.efi"
    for args, env, match in (((), {"SOURCE_DATE_EPOCH": "99999999999999"}, "SOURCE_DATE_EPOCH: .*past the year 9999"),
                             (("--signing-time", "99999999999999"), {}, "--signing-time: .*past the year 9999")):
        r = imgtool("uefi", "sign", images["fixed"], "--key", keys["plain"], "--cert", keys["cert"], "-o", out, *args,
                    env=env)
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert re.search(match, r.stderr) and not out.exists(), r.stderr


def test_app_signs_in_one_step_like_sign(uefi_payloads, images, keys, tmp_path):
    one = tmp_path / "one.efi"
    r = imgtool("uefi", "app", uefi_payloads["fixed"], "-o", one, "--sign-key", keys["key"], "--sign-cert",
                keys["cert"], "--password-file", keys["password"], "--signing-time", T0)
    assert r.returncode == 0, r.stderr
    two = tmp_path / "two.efi"
    assert imgtool("uefi", "sign", images["fixed"], "--key", keys["plain"], "--cert", keys["cert"],
                   "--signing-time", T0, "-o", two).returncode == 0
    assert one.read_bytes() == two.read_bytes()
    # re-signing replaces the signature instead of adding one
    three = tmp_path / "three.efi"
    assert imgtool("uefi", "sign", one, "--key", keys["plain"], "--cert", keys["cert"], "--signing-time", T0,
                   "-o", three).returncode == 0
    assert three.read_bytes() == one.read_bytes()
    text = imgtool("info", one).stdout
    assert "signature          O=SnakeOil" in text and "(matches the image)" in text


def test_signing_and_verify_errors(images, keys, uefi_payloads, tmp_path):
    out = tmp_path / "out.efi"
    cases = [
        (("uefi", "sign", images["fixed"], "-o", out), 2, "needs a key and its certificate"),
        (("uefi", "sign", images["fixed"], "--key", keys["key"], "--cert", keys["cert"], "-o", out), 2, "encrypted"),
        (("uefi", "sign", uefi_payloads["fixed"], "--key", keys["plain"], "--cert", keys["cert"], "-o", out), 2,
         "is an ELF file"),
        (("uefi", "sign", images["fixed"], "--key", keys["plain"], "--cert", keys["key"], "-o", out), 2,
         "not an X.509 certificate"),
        (("uefi", "sign", images["fixed"], "--pkcs11", "/nonexistent.so", "--token", "t", "--key-label", "k",
          "-o", out), 2, "PIN"),
        (("uefi", "verify", images["fixed"]), 1, "not signed"),
        (("uefi", "verify", uefi_payloads["fixed"]), 2, "is an ELF file"),
        (("uefi", "verify", Path(__file__)), 1, "verification failed: .*IMAGE_DOS_HEADER"),
    ]
    env = {"IMGTOOL_PKCS11_PIN": ""}
    for args, code, match in cases:
        r = imgtool(*args, env=env)
        lines = r.stderr.strip().splitlines()
        assert r.returncode == code and len(lines) == 1, (args, r.stderr)
        assert re.search(match, lines[0]), (args, lines[0])
        assert not out.exists()


# -- PKCS#11 ------------------------------------------------------------------------------------

SOFTHSM = Path("/usr/lib/softhsm/libsofthsm2.so")


@pytest.fixture(scope="module")
def softhsm(tmp_path_factory):
    """A SoftHSM2 token "uefi" (user PIN 1234) in a folder of its own."""
    need("softhsm2-util")
    need_file(SOFTHSM, "softhsm2")
    root = tmp_path_factory.mktemp("softhsm-uefi")
    (root / "tokens").mkdir()
    conf = root / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {root / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    env = dict(os.environ, SOFTHSM2_CONF=str(conf))
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", "uefi", "--pin", "1234", "--so-pin", "5678"],
                   env=env, check=True, capture_output=True)
    return env


def test_pkcs11_token_key_signs(images, softhsm, tmp_path):
    """The key is generated on the token; its certificate is issued by a file CA."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID

    f = _ca_and_leaf(tmp_path)
    script = (
        "import pkcs11, sys\n"
        f"lib = pkcs11.lib({str(SOFTHSM)!r})\n"
        "with lib.get_token(token_label='uefi').open(user_pin='1234', rw=True) as s:\n"
        "    pub, _ = s.generate_keypair(pkcs11.KeyType.RSA, 2048, label='sb', id=b'sb', store=True)\n"
        "    from pkcs11.util.rsa import encode_rsa_public_key\n"
        "    sys.stdout.buffer.write(encode_rsa_public_key(pub))\n")
    der = subprocess.run([sys.executable, "-c", script], env=softhsm, capture_output=True, check=True).stdout
    public = serialization.load_der_public_key(der)
    ca_key = serialization.load_pem_private_key(f["ca.key"].read_bytes(), None)
    start = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "token key")]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "imgtool test db CA")]))
            .public_key(public).serial_number(7).not_valid_before(start)
            .not_valid_after(start + dt.timedelta(days=365)).sign(ca_key, hashes.SHA256()))
    cert_file = tmp_path / "token.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pin = tmp_path / "pin"
    pin.write_text("1234\n")
    signed, again = tmp_path / "signed.efi", tmp_path / "again.efi"
    for out in (signed, again):
        r = subprocess.run([sys.executable, "-m", "imgtool", "uefi", "sign", str(images["pie"]), "--pkcs11",
                            str(SOFTHSM), "--token", "uefi", "--key-label", "sb", "--cert", str(cert_file),
                            "--pin-file", str(pin), "-o", str(out)], env=softhsm, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    assert signed.read_bytes() == again.read_bytes()  # RSA PKCS#1 v1.5 on the token is deterministic too
    assert imgtool("uefi", "verify", signed, "--cert", f["ca.pem"]).returncode == 0
    sb = subprocess.run(["sbverify", "--cert", str(f["ca.pem"]), str(signed)], capture_output=True, text=True)
    assert sb.returncode == 0, sb.stdout + sb.stderr
    info = authenticode.describe(signed.read_bytes())[0]
    assert info.subject == "CN=token key" and info.serial == 7


def test_examples_makefile_efi_targets(uefi_payloads, keys, tmp_path):
    """The efi and efi_signed steps of examples/Makefile, as a project would run them."""
    import shutil

    app = tmp_path / "app.elf"
    shutil.copyfile(uefi_payloads["fixed"], app)
    root = Path(__file__).resolve().parent.parent
    r = subprocess.run([need("make"), "-f", str(root / "examples" / "Makefile"), f"APP={app}",
                        f"DB_PASS={keys['password']}", f"IMGTOOL={sys.executable} -m imgtool", "efi", "efi_signed"],
                       capture_output=True, text=True, cwd=root)
    assert r.returncode == 0, r.stdout + r.stderr
    assert parse((tmp_path / "app.efi").read_bytes()).certificate_table is None
    assert authenticode.verify((tmp_path / "app-signed.efi").read_bytes(), keys["signer"].certificate).ok
