"""Development PKI generation and loading key folders in habtool's and NXP's layouts."""

from __future__ import annotations

import shutil

import pytest

from formats.imx import srk as srkfmt
from hab_helpers import SIGNING_TIME, hab4_pki_tree, mkimage_imx, pki, pki_copy, run, sample_payload
from signing import hab
from signing.errors import KeyPasswordError, SigningError
from signing.pki import load_hab_keys


@pytest.mark.parametrize("layout", ["habtool", "nxp"])
@pytest.mark.parametrize("key_type", ["rsa2048", "p384"])
def test_generated_folders_load(layout, key_type):
    folder = pki(key_type=key_type, layout=layout)
    keys = load_hab_keys(folder, 1)
    assert keys.csf.key_type == key_type and keys.img.key_type == key_type
    assert len(srkfmt.SrkTable.parse(keys.srk_table).entries) == 4
    fuse = folder / ("SRK_1_2_3_4_fuse.bin" if layout == "habtool" else "crts/SRK_1_2_3_4_fuse.bin")
    assert keys.srk_hash == fuse.read_bytes()


def test_habtool_names():
    folder = pki()
    names = {p.name for p in folder.iterdir()}
    assert {"SRK_1_key.pem", "SRK_4_crt.pem", "CSF_1_key.pem", "CSF_1_crt.pem", "IMG_1_key.pem", "IMG_1_crt.pem",
            "SRK_1_2_3_4_table.bin", "SRK_1_2_3_4_fuse.bin"} <= names


def test_nxp_names_and_all_srk_indices():
    folder = pki(layout="nxp")
    assert (folder / "crts/SRK1_sha256_2048_65537_v3_ca_crt.pem").is_file()
    assert (folder / "keys/CSF4_1_sha256_2048_65537_v3_usr_key.pem").is_file()
    for i in range(1, 5):
        assert load_hab_keys(folder, i).srk_index == i
    assert load_hab_keys(folder / "keys", 2).srk_index == 2  # the keys/ folder itself works too


def test_encrypted_keys_with_key_pass(tmp_path):
    folder = pki_copy(tmp_path, layout="nxp", password=b"s3cret")
    assert b"ENCRYPTED" in (folder / "keys/CSF1_1_sha256_2048_65537_v3_usr_key.pem").read_bytes()
    assert load_hab_keys(folder, 1).srk_index == 1
    (folder / "keys/key_pass.txt").write_text("wrong\nwrong\n")
    with pytest.raises(KeyPasswordError, match=r"CSF1_1_sha256_2048_65537_v3_usr_key\.pem: wrong password \(read from .*key_pass\.txt\)"):
        load_hab_keys(folder, 1)
    (folder / "keys/key_pass.txt").unlink()
    with pytest.raises(KeyPasswordError, match="encrypted"):
        load_hab_keys(folder, 1)
    assert load_hab_keys(folder, 1, password=b"s3cret").srk_index == 1


def test_hab4_pki_tree_folder_signs(tmp_path):
    folder = hab4_pki_tree()
    imx = mkimage_imx(tmp_path, sample_payload(2000))
    for index in (1, 4):
        keys = load_hab_keys(folder, index)
        signed = hab.sign_imx(imx, keys, engine=0xFF, csf_size=0x4000, signing_time=SIGNING_TIME, srk_index=index)
        assert hab.verify_imx(signed.data, srk_hash=keys.srk_hash).ok


def test_hab4_pki_tree_table_matches_srktool(tmp_path):
    folder = hab4_pki_tree()
    certs = ",".join(str(p) for p in sorted((folder / "crts").glob("SRK?_sha256_*_ca_crt.pem")))
    run("srktool", "-h", "4", "-d", "sha256", "-f", "1", "-t", tmp_path / "t.bin", "-e", tmp_path / "f.bin", "-c", certs)
    keys = load_hab_keys(folder, 1)
    assert keys.srk_table == (tmp_path / "t.bin").read_bytes()
    # With the srktool table in crts/ (as NXP's recipe leaves it) the folder loads unchanged.
    copy = tmp_path / "nxp"
    shutil.copytree(folder, copy)
    shutil.copy(tmp_path / "t.bin", copy / "crts/SRK_1_2_3_4_table.bin")
    assert load_hab_keys(copy, 2).srk_table == keys.srk_table


def test_hab4_pki_tree_ecc():
    keys = load_hab_keys(hab4_pki_tree(ecc=True), 1)
    assert keys.csf.key_type == "p256"


def test_missing_key(tmp_path):
    folder = pki_copy(tmp_path)
    (folder / "IMG_1_key.pem").unlink()
    with pytest.raises(SigningError, match=r"IMG_1_key\.pem: private key not found"):
        load_hab_keys(folder, 1)


def test_missing_folder(tmp_path):
    with pytest.raises(SigningError, match="imgtool hab keygen"):
        load_hab_keys(tmp_path / "nope", 1)


def test_certificate_not_signed_by_srk(tmp_path):
    folder = pki_copy(tmp_path)
    # IMG certificate from another PKI: not issued by this SRK 1.
    other = pki(key_type="rsa2048", layout="habtool", srks=2)
    shutil.copy(other / "IMG_1_crt.pem", folder / "IMG_1_crt.pem")
    shutil.copy(other / "IMG_1_key.pem", folder / "IMG_1_key.pem")
    with pytest.raises(SigningError, match=r"IMG_1_crt\.pem: certificate is not signed by SRK 1"):
        load_hab_keys(folder, 1)


def test_wrong_srk_index(tmp_path):
    folder = pki()
    with pytest.raises(SigningError, match="not signed by SRK 2"):
        load_hab_keys(folder, 2)  # habtool layout: CSF_1/IMG_1 are issued by SRK 1
    with pytest.raises(SigningError, match="out of range"):
        load_hab_keys(folder, 5)
    with pytest.raises(SigningError, match="out of range"):
        load_hab_keys(pki(srks=2), 3)


def test_key_not_matching_certificate(tmp_path):
    folder = pki_copy(tmp_path)
    shutil.copy(folder / "CSF_1_key.pem", folder / "IMG_1_key.pem")
    with pytest.raises(SigningError, match="does not belong to its certificate"):
        load_hab_keys(folder, 1)


def test_table_not_matching_certificates(tmp_path):
    folder = pki_copy(tmp_path)
    other = pki(srks=2)
    shutil.copy(other / "SRK_1_2_table.bin", folder / "SRK_1_2_3_4_table.bin")
    with pytest.raises(SigningError, match="does not match"):
        load_hab_keys(folder, 1)


def test_bad_key_type():
    from signing.pki import generate_pki

    with pytest.raises(SigningError, match="not one of"):
        generate_pki(key_type="rsa1024")
    with pytest.raises(SigningError, match="1 to 4"):
        generate_pki(srks=5)
