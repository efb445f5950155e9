"""CMS SignedData as CST makes it: compared with `openssl cms -sign`, verified by `openssl cms -verify`."""

from __future__ import annotations

import datetime as dt

import pytest

from hab_helpers import SIGNING_TIME, need, pki, run, sample_payload
from signing import cms
from signing.keys import FileSigner


def _signer(key_type="rsa2048"):
    folder = pki(key_type=key_type)
    return folder, FileSigner.from_files(folder / "IMG_1_key.pem", folder / "IMG_1_crt.pem")


def _openssl_sign(tmp_path, folder, data: bytes) -> bytes:
    (tmp_path / "data.bin").write_bytes(data)
    out = tmp_path / "ref.der"
    run("openssl", "cms", "-sign", "-binary", "-nocerts", "-nosmimecap", "-md", "sha256", "-outform", "DER",
        "-signer", folder / "IMG_1_crt.pem", "-inkey", folder / "IMG_1_key.pem", "-in", tmp_path / "data.bin", "-out", out)
    return out.read_bytes()


def _openssl_verify(tmp_path, cert, data: bytes, sig: bytes) -> bool:
    (tmp_path / "vdata.bin").write_bytes(data)
    (tmp_path / "vsig.der").write_bytes(sig)
    res = run("openssl", "cms", "-verify", "-binary", "-noverify", "-inform", "DER", "-certfile", cert,
              "-content", tmp_path / "vdata.bin", "-in", tmp_path / "vsig.der", "-out", "/dev/null", check=False)
    return res.returncode == 0


def test_rsa_identical_to_openssl(tmp_path):
    need("openssl")
    folder, signer = _signer()
    data = sample_payload(3000)
    ref = _openssl_sign(tmp_path, folder, data)
    when = cms.describe(ref).signing_time
    ours = cms.sign(data, signer, when)
    assert ours == ref  # RSA PKCS#1 v1.5 is deterministic: same time -> same bytes
    assert len(ours) in range(500, 520)


@pytest.mark.parametrize("key_type", ["p256", "p384", "p521"])
def test_ecdsa_structure_matches_openssl(tmp_path, key_type):
    need("openssl")
    from asn1crypto import cms as acms

    folder, signer = _signer(key_type)
    data = sample_payload(2000)
    ref = acms.ContentInfo.load(_openssl_sign(tmp_path, folder, data))
    when = ref["content"]["signer_infos"][0]["signed_attrs"][1]["values"][0].native
    ours_der = cms.sign(data, signer, when)
    ours = acms.ContentInfo.load(ours_der)
    # Everything except the (randomised in OpenSSL) ECDSA signature value is the same DER.
    for part in ("digest_algorithms", "encap_content_info", "certificates"):
        assert ours["content"][part].dump() == ref["content"][part].dump(), part
    a, b = ours["content"]["signer_infos"][0], ref["content"]["signer_infos"][0]
    for part in ("version", "sid", "digest_algorithm", "signed_attrs", "signature_algorithm"):
        assert a[part].dump() == b[part].dump(), part
    assert _openssl_verify(tmp_path, folder / "IMG_1_crt.pem", data, ours_der)
    assert cms.sign(data, signer, when) == ours_der  # RFC 6979: deterministic


@pytest.mark.parametrize("key_type", ["rsa2048", "p256"])
def test_openssl_verifies_ours_and_rejects_tampering(tmp_path, key_type):
    need("openssl")
    folder, signer = _signer(key_type)
    data = sample_payload(1000, seed=7)
    sig = cms.sign(data, signer, SIGNING_TIME)
    cert = folder / "IMG_1_crt.pem"
    assert _openssl_verify(tmp_path, cert, data, sig)
    assert cms.verify(sig, data, signer.certificate) is None
    bad = bytearray(data)
    bad[10] ^= 1
    assert not _openssl_verify(tmp_path, cert, bytes(bad), sig)
    assert cms.verify(sig, bytes(bad), signer.certificate) == "message digest does not match the signed bytes"


def test_signing_time_encodings():
    _, signer = _signer()
    utc = cms.describe(cms.sign(b"x", signer, dt.datetime(2049, 12, 31, 23, 59, 59)))
    gen = cms.describe(cms.sign(b"x", signer, dt.datetime(2050, 1, 1, tzinfo=dt.timezone.utc)))
    assert utc.signing_time == dt.datetime(2049, 12, 31, 23, 59, 59, tzinfo=dt.timezone.utc)
    assert gen.signing_time.year == 2050


def test_describe_fields():
    _, signer = _signer()
    info = cms.describe(cms.sign(b"abc", signer, SIGNING_TIME))
    assert info.detached and info.certificates == 0
    assert info.digest_algorithm == "sha256" and info.signature_algorithm == "rsassa_pkcs1v15"
    assert info.serial == signer.certificate.serial_number
    assert info.signing_time == SIGNING_TIME


def test_verify_rejects_other_certificate():
    folder, signer = _signer()
    from signing.keys import load_certificate

    sig = cms.sign(b"abc", signer, SIGNING_TIME)
    other = load_certificate(folder / "CSF_1_crt.pem")
    assert "another certificate" in cms.verify(sig, b"abc", other)
    assert cms.verify(b"\x30\x03\x02\x01\x00", b"abc", other) is not None
