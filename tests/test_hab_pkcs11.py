"""PKCS#11 signing against a real SoftHSM2 token created here; the keys are generated on the token."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from formats.imx import csf as C
from hab_helpers import SIGNING_TIME, mkimage_imx, need, pki, run, sample_payload
from signing import hab
from signing.errors import SigningError

import pkcs11  # noqa: F401  (the [pkcs11] extra; scripts/setup.sh installs it)
LIB = Path("/usr/lib/softhsm/libsofthsm2.so")


@pytest.fixture(scope="module")
def token(tmp_path_factory):
    need("softhsm2-util")
    if not LIB.is_file():
        pytest.fail("SoftHSM2 module is needed (apt-get install softhsm2; scripts/setup.sh does)", pytrace=False)
    root = tmp_path_factory.mktemp("softhsm")
    (root / "tokens").mkdir()
    conf = root / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {root / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    old = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    run("softhsm2-util", "--init-token", "--free", "--label", "hab", "--pin", "1234", "--so-pin", "5678")
    yield "hab"
    if old is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = old


def _on_token_cert(token, label: str, key_type: str, srk_key, srk_cert):
    """Generate a key pair on the token; return a certificate for it signed by the SRK file key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID
    from pkcs11 import Attribute, KeyType

    from signing.pkcs11 import _token_public_key, open_session

    session = open_session(LIB, token_label=token, pin="1234", rw=True)
    if key_type == "rsa2048":
        session.generate_keypair(KeyType.RSA, 2048, label=label, id=label.encode(), store=True)
    else:
        from pkcs11.util.ec import encode_named_curve_parameters

        params = session.create_domain_parameters(
            KeyType.EC, {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")}, local=True)
        params.generate_keypair(label=label, id=label.encode(), store=True)
    public = _token_public_key(session, label, None)
    start = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, label)]))
        .issuer_name(srk_cert.subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(srk_key, hashes.SHA256())
    )


@pytest.mark.parametrize("key_type", ["rsa2048", "p256"])
def test_token_signing_verifies(tmp_path, token, key_type):
    from signing.keys import load_certificate, load_private_key
    from signing.pkcs11 import hab_keys_from_token

    folder = pki(key_type=key_type)
    srk_key = load_private_key(folder / "SRK_1_key.pem")
    srk_cert = load_certificate(folder / "SRK_1_crt.pem")
    csf_cert = _on_token_cert(token, f"CSF_{key_type}", key_type, srk_key, srk_cert)
    img_cert = _on_token_cert(token, f"IMG_{key_type}", key_type, srk_key, srk_cert)
    keys = hab_keys_from_token(LIB, token_label=token, pin="1234", srk_table=(folder / "SRK_1_2_3_4_table.bin").read_bytes(),
                               csf_label=f"CSF_{key_type}", img_label=f"IMG_{key_type}",
                               csf_certificate=csf_cert, img_certificate=img_cert)
    imx = mkimage_imx(tmp_path, sample_payload(3000))
    signed = hab.sign_imx(imx, keys, engine=C.HAB_ENG_SW, csf_size=0x4000, signing_time=SIGNING_TIME, sdp=True)
    report = hab.verify_imx(signed.data, srk_table=keys.srk_table)
    assert report.ok, report.to_dict()
    assert hab.verify_imx(signed.sdp, srk_table=keys.srk_table).ok
    if key_type == "rsa2048":
        again = hab.sign_imx(imx, keys, engine=C.HAB_ENG_SW, csf_size=0x4000, signing_time=SIGNING_TIME)
        assert again.data == signed.data


def test_wrong_pin_and_missing_key(token):
    from signing.pkcs11 import Pkcs11Signer

    with pytest.raises(SigningError, match="wrong PIN"):
        Pkcs11Signer.open(LIB, token_label=token, pin="0000", key_label="CSF_rsa2048")
    with pytest.raises(SigningError, match="no private key"):
        Pkcs11Signer.open(LIB, token_label=token, pin="1234", key_label="nope", certificate=object())
    with pytest.raises(SigningError, match="not found"):
        Pkcs11Signer.open(LIB, token_label="other", pin="1234", key_label="x")


def test_certificate_not_signed_by_srk(token):
    from signing.keys import load_certificate, load_private_key
    from signing.pkcs11 import hab_keys_from_token

    folder = pki()
    # Certificates issued by SRK 2, table index 1 selected.
    srk2_key = load_private_key(folder / "SRK_2_key.pem")
    srk2_cert = load_certificate(folder / "SRK_2_crt.pem")
    csf_cert = _on_token_cert(token, "CSF_other", "rsa2048", srk2_key, srk2_cert)
    img_cert = _on_token_cert(token, "IMG_other", "rsa2048", srk2_key, srk2_cert)
    kwargs = dict(token_label=token, pin="1234", srk_table=(folder / "SRK_1_2_3_4_table.bin").read_bytes(),
                  csf_label="CSF_other", img_label="IMG_other", csf_certificate=csf_cert, img_certificate=img_cert)
    with pytest.raises(SigningError, match="not signed by SRK 1"):
        hab_keys_from_token(LIB, srk_index=1, **kwargs)
    assert hab_keys_from_token(LIB, srk_index=2, **kwargs).srk_index == 2


def test_cli_signs_a_real_elf_with_token_keys(tmp_path, token, go_elf, run_imgtool):
    """imgtool imx sign --pkcs11: the CSF and IMG keys stay on the token; the image verifies."""
    from cryptography.hazmat.primitives.serialization import Encoding

    from signing.keys import load_certificate, load_private_key

    folder = pki()
    public = tmp_path / "public"
    public.mkdir()
    (public / "SRK_1_2_3_4_table.bin").write_bytes((folder / "SRK_1_2_3_4_table.bin").read_bytes())
    srk_key = load_private_key(folder / "SRK_1_key.pem")
    srk_cert = load_certificate(folder / "SRK_1_crt.pem")
    for label in ("CSF_cli", "IMG_cli"):
        cert = _on_token_cert(token, label, "rsa2048", srk_key, srk_cert)
        (public / f"{label}_crt.pem").write_bytes(cert.public_bytes(Encoding.PEM))
    (tmp_path / "pin").write_text("1234\n")
    out = tmp_path / "signed.imx"
    env = {"SOFTHSM2_CONF": os.environ["SOFTHSM2_CONF"], "SOURCE_DATE_EPOCH": "1767225600"}
    r = run_imgtool("imx", "sign", go_elf("arm7"), "--board", "usbarmory-mk2", "--keys", public, "--pkcs11", LIB,
                    "--token", token, "--pin-file", tmp_path / "pin", "--csf-key-label", "CSF_cli",
                    "--img-key-label", "IMG_cli", "-o", out, env=env)
    assert r.returncode == 0, r.stderr
    assert not any(p.name.endswith("_key.pem") for p in public.iterdir())
    run_imgtool("imx", "verify", out, "--srk-table", public / "SRK_1_2_3_4_table.bin", check=True)
    r = run_imgtool("imx", "sign", go_elf("arm7"), "--board", "usbarmory-mk2", "--keys", public, "--pkcs11", LIB,
                    "--token", token, "--pin-file", tmp_path / "pin", "-o", tmp_path / "x.imx", env=env)
    assert r.returncode == 2 and "CSF_1" in r.stderr and not (tmp_path / "x.imx").exists()
