"""One key-folder discovery (signing.pki.find_key_folder) for file keys and token keys,
habtool and NXP hab4_pki_tree.sh layouts; board constants reaching the signer."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType
import shutil

import pytest

from formats.imx import csf as C
from formats.imx.image import SDP_DCD_ADDRESS
from hab_helpers import SIGNING_TIME, hab4_pki_tree, mkimage_imx, pki, pki_copy, sample_payload
from signing.errors import SigningError
from signing.hab_verify import walk_csf
from signing.pki import find_key_folder, load_hab_keys, load_srk_table


def test_habtool_folder():
    folder = pki(srks=2)
    kf = find_key_folder(folder, 1)
    assert kf.layout == "habtool" and kf.srk_table == folder / "SRK_1_2_table.bin"
    assert kf.srk_certificates == (folder / "SRK_1_crt.pem", folder / "SRK_2_crt.pem")
    assert (kf.csf_certificate, kf.csf_key) == (folder / "CSF_1_crt.pem", folder / "CSF_1_key.pem")
    assert (kf.img_certificate, kf.img_key) == (folder / "IMG_1_crt.pem", folder / "IMG_1_key.pem")
    # SRK 2 has no CSF_2 pair in a habtool folder: CSF_1 is used (as load_hab_keys always did)
    assert find_key_folder(folder, 2).csf_certificate == folder / "CSF_1_crt.pem"


def test_nxp_folder_from_root_keys_or_crts():
    root = hab4_pki_tree()
    for given in (root, root / "keys", root / "crts"):
        kf = find_key_folder(given, 3)
        assert kf.layout == "nxp" and kf.root == given
        assert kf.csf_certificate.parent == root / "crts" and kf.csf_certificate.name.startswith("CSF3_1_sha256_")
        assert kf.csf_certificate.suffix == ".pem"  # PEM before DER
        assert kf.csf_key == root / "keys" / kf.csf_certificate.name.replace("_crt", "_key")
        assert kf.password_file == root / "keys" / "key_pass.txt"
        assert [p.name[:4] for p in kf.srk_certificates] == ["SRK1", "SRK2", "SRK3", "SRK4"]
    assert load_hab_keys(root / "keys", 3).files["csf_key"] == str(find_key_folder(root, 3).csf_key)


def test_token_labels_find_certificates_and_table(tmp_path):
    """With token labels the same function finds the public parts: the table in the
    folder or crts/, certificates NAME_crt.pem or crts/NAME*_crt.pem, no private keys."""
    folder = pki()
    public = tmp_path / "public"
    (public / "crts").mkdir(parents=True)
    shutil.copy(folder / "SRK_1_2_3_4_table.bin", public / "crts" / "SRK_1_2_3_4_table.bin")
    shutil.copy(folder / "CSF_1_crt.pem", public / "CSF_1_crt.pem")
    shutil.copy(folder / "IMG_1_crt.pem", public / "crts" / "IMG_1_sha256_crt.pem")
    kf = find_key_folder(public, 1, labels=("CSF_1", "IMG_1"))
    assert kf.srk_table == public / "crts" / "SRK_1_2_3_4_table.bin"
    assert (kf.csf_certificate, kf.img_certificate) == (public / "CSF_1_crt.pem", public / "crts" / "IMG_1_sha256_crt.pem")
    assert kf.csf_key is None and kf.img_key is None
    assert load_srk_table(kf)[0] == (folder / "SRK_1_2_3_4_table.bin").read_bytes()
    assert find_key_folder(public, 1, labels=("CSF_x", "IMG_x")).csf_certificate is None


def test_missing_folder_and_index(tmp_path):
    with pytest.raises(SigningError, match="imgtool hab keygen"):
        find_key_folder(tmp_path / "nope")
    with pytest.raises(SigningError) as info:
        load_hab_keys(pki_copy(tmp_path), 5)
    assert info.value.field == "srk_index" and "--" not in str(info.value)


def test_board_sdp_dcd_address_reaches_the_csf(tmp_path, monkeypatch):
    """imgtool imx sign --sdp: the SDP Authenticate Data covers the DCD where the board
    profile says the loader puts it (Board.sdp_dcd_address), not a constant."""
    import imgtool.boards
    from imgtool.imxsign import sign_file

    board = imgtool.boards.get_board("usbarmory-mk2")
    assert board.sdp_dcd_address == SDP_DCD_ADDRESS  # the profiles' value is the formats default
    moved = dataclasses.replace(board, name="test-ocram-high",
                                fields=MappingProxyType({**board.fields, "sdp_dcd_address": 0x00920000}))
    monkeypatch.setattr(imgtool.boards, "get_board", lambda name, family=None: moved if name == moved.name else board)
    imx = tmp_path / "app.imx"
    imx.write_bytes(mkimage_imx(tmp_path, sample_payload(3000)))
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(SIGNING_TIME.timestamp())))
    result = sign_file(imx, keys_dir=pki(), board_name="test-ocram-high", sdp=True)
    sdp_csf = result.sdp[len(imx.read_bytes()):]
    auths = walk_csf(sdp_csf).auths
    assert [c.blocks[0][0] for c, _ in auths][1:] == [0x00920000]
    assert all(c.eng == C.HAB_ENG_SW for c, _ in auths)  # the board's engine flows too
    assert [p.name for p, _ in result.outputs] == ["app-signed.imx", "app-signed-sdp.imx"]
    default = sign_file(imx, keys_dir=pki(), sdp=True)  # no board: the formats default
    assert [c.blocks[0][0] for c, _ in walk_csf(default.sdp[len(imx.read_bytes()):]).auths][1:] == [SDP_DCD_ADDRESS]
