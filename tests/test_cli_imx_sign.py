"""``imgtool imx sign`` / ``imx verify`` / ``info`` end to end on real Go ARM ELFs: the
headline job, with fresh development keys, NXP hab4_pki_tree.sh folders and bad input."""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path

import pytest

from hab_helpers import hab4_pki_tree, pki, pki_copy
from formats.imx.image import parse_imx
from signing.hab import describe_csf

EPOCH = {"SOURCE_DATE_EPOCH": "1767225600"}  # 2026-01-01T00:00:00Z


@pytest.fixture(scope="module")
def board_elf():
    from conftest import build_go

    src = Path(__file__).resolve().parent / "goboard"
    return build_go(src, "boardprog-arm7", {"GOARCH": "arm", "GOARM": "7"}, "-T 0x80010000 -R 0x1000")


@pytest.fixture(scope="module")
def keys():
    return pki()


def _sign(run_imgtool, elf, keys, out, *extra, env=EPOCH, check=True):
    return run_imgtool("imx", "sign", elf, "--keys", keys, "-o", out, *extra, env=env, check=check)


def test_sign_then_verify_on_real_elf(board_elf, keys, tmp_path, run_imgtool):
    out = tmp_path / "signed.imx"
    _sign(run_imgtool, board_elf, keys, out)
    r = run_imgtool("imx", "verify", out, "--fuses", keys / "SRK_1_2_3_4_fuse.bin", check=True)
    assert "FAIL" not in r.stdout and "PASS  CSF signature" in r.stdout
    fuse = (keys / "SRK_1_2_3_4_fuse.bin").read_bytes()
    run_imgtool("imx", "verify", out, "--srk-hash", fuse.hex(), check=True)
    run_imgtool("imx", "verify", out, "--srk-table", keys / "SRK_1_2_3_4_table.bin", check=True)
    # the text `hab srk` prints (each word twice: SRK_HASH[i] and the fuse prog line) is a fuse file too
    text = tmp_path / "fuses.txt"
    text.write_text(run_imgtool("hab", "srk", *sorted(keys.glob("SRK*_crt.pem")), "-o", tmp_path / "t.bin",
                                check=True).stdout)
    assert text.read_text().count("0x") >= 16
    run_imgtool("imx", "verify", out, "--fuses", text, check=True)
    d = json.loads(run_imgtool("imx", "verify", out, "--json", check=True).stdout)
    assert d["ok"] is True and d["flavour"] == "sd"
    # The signed image is the unsigned build followed by the CSF, padded to the board's reservation.
    unsigned = tmp_path / "app.imx"
    run_imgtool("imx", "build", board_elf, "-o", unsigned, check=True)
    data, imx = out.read_bytes(), unsigned.read_bytes()
    assert data[:len(imx)] == imx and len(data) == len(imx) + 0x4000
    assert parse_imx(data).ivt.csf == parse_imx(imx).ivt.csf


def test_wrong_fuses_fail_with_exit_1(board_elf, keys, tmp_path, run_imgtool):
    out = tmp_path / "signed.imx"
    _sign(run_imgtool, board_elf, keys, out)
    r = run_imgtool("imx", "verify", out, "--srk-hash", "00" * 32)
    assert r.returncode == 1 and "FAIL" in r.stdout and "verification failed" in r.stderr


def test_single_byte_flips_fail_verification(board_elf, keys, tmp_path, run_imgtool):
    out = tmp_path / "signed.imx"
    _sign(run_imgtool, board_elf, keys, out)
    data = out.read_bytes()
    img = parse_imx(data)
    csf = describe_csf(data)
    csf_off = img.csf_offset
    cert_offs = [csf_off + c["key_offset"] for c in csf["commands"] if c["command"] in ("Install CSFK", "Install Key")]
    rng = random.Random(11)
    positions = [0, 4, 0x20, 0x2C + 9, 0xC00 + 3, rng.randrange(0xC00, csf_off), csf_off - 1,  # IVT, boot data, DCD, payload
                 csf_off + 2, csf_off + 0x48 + 20,  # CSF commands, SRK table
                 cert_offs[0] + 200, cert_offs[1] + 300]  # CSFK and IMG certificates
    bad = tmp_path / "bad.imx"
    for pos in positions:
        flipped = bytearray(data)
        flipped[pos] ^= 0x01
        bad.write_bytes(flipped)
        r = run_imgtool("imx", "verify", bad, "--fuses", keys / "SRK_1_2_3_4_fuse.bin")
        assert r.returncode == 1, (hex(pos), r.stdout)
        assert "Traceback" not in r.stderr


def test_same_epoch_same_bytes(board_elf, keys, tmp_path, run_imgtool):
    a, b, c = tmp_path / "a.imx", tmp_path / "b.imx", tmp_path / "c.imx"
    _sign(run_imgtool, board_elf, keys, a)
    _sign(run_imgtool, board_elf, keys, b)
    _sign(run_imgtool, board_elf, keys, c, env={"SOURCE_DATE_EPOCH": "1767225601"})
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()
    # Without SOURCE_DATE_EPOCH the time comes from the certificates: still reproducible.
    d, e = tmp_path / "d.imx", tmp_path / "e.imx"
    env = {"SOURCE_DATE_EPOCH": ""}
    _sign(run_imgtool, board_elf, keys, d, env=env)
    _sign(run_imgtool, board_elf, keys, e, env=env)
    assert d.read_bytes() == e.read_bytes()
    sig = describe_csf(d.read_bytes())["signatures"][0]["signing_time"]
    assert sig.startswith("2024-01-01")


def test_sign_existing_imx_equals_sign_elf(board_elf, keys, tmp_path, run_imgtool):
    imx = tmp_path / "app.imx"
    run_imgtool("imx", "build", board_elf, "-o", imx, check=True)
    from_imx, from_elf = tmp_path / "x.imx", tmp_path / "y.imx"
    _sign(run_imgtool, imx, keys, from_imx, "--board", "usbarmory-mk2")
    _sign(run_imgtool, board_elf, keys, from_elf)
    assert from_imx.read_bytes() == from_elf.read_bytes()


def test_sdp_flavour(board_elf, keys, tmp_path, run_imgtool):
    out = tmp_path / "signed.imx"
    _sign(run_imgtool, board_elf, keys, out, "--sdp")
    sdp = tmp_path / "signed-sdp.imx"
    d = json.loads(run_imgtool("imx", "verify", sdp, "--json", check=True).stdout)
    assert d["flavour"] == "sdp" and d["ok"]
    assert json.loads(run_imgtool("imx", "verify", out, "--json", check=True).stdout)["flavour"] == "sd"


def test_openssl_accepts_the_signatures(board_elf, keys, tmp_path, run_imgtool):
    """Every CMS blob in the CSF verifies with openssl over the exact signed bytes."""
    out = tmp_path / "signed.imx"
    _sign(run_imgtool, board_elf, keys, out)
    data = out.read_bytes()
    img = parse_imx(data)
    csf = describe_csf(data)
    base = img.csf_offset
    cmds = {c["command"]: c for c in csf["commands"]}
    cases = [(cmds["Authenticate CSF"]["signature_offset"], data[base:base + csf["length"]], keys / "CSF_1_crt.pem"),
             (cmds["Authenticate Data"]["signature_offset"], data[:img.csf_offset], keys / "IMG_1_crt.pem")]
    for off, content, cert in cases:
        blob = data[base + off:]
        length = int.from_bytes(blob[1:3], "big")
        (tmp_path / "sig.der").write_bytes(blob[4:length])
        (tmp_path / "content.bin").write_bytes(content)
        r = subprocess.run(["openssl", "cms", "-verify", "-binary", "-noverify", "-inform", "DER", "-in",
                            str(tmp_path / "sig.der"), "-content", str(tmp_path / "content.bin"), "-certfile", str(cert),
                            "-out", "/dev/null"], capture_output=True, text=True)
        assert r.returncode == 0 and "Verification successful" in r.stderr, r.stderr


def test_nxp_pki_tree_folder_signs_unchanged(board_elf, tmp_path, run_imgtool):
    folder = hab4_pki_tree()
    from signing.hab_srk import build_srk_table
    from signing.keys import load_certificate

    table = build_srk_table([load_certificate(p) for p in sorted((folder / "crts").glob("SRK?_*_ca_crt.pem"))])
    out = tmp_path / "signed.imx"
    _sign(run_imgtool, board_elf, folder, out)
    run_imgtool("imx", "verify", out, "--srk-hash", table.hash().hex(), check=True)


def test_info_shows_csf(board_elf, keys, tmp_path, run_imgtool):
    out = tmp_path / "signed.imx"
    _sign(run_imgtool, board_elf, keys, out)
    text = run_imgtool("info", out, check=True).stdout
    assert "Authenticate Data" in text and "CN=IMG_sha256_2048" in text
    assert (keys / "SRK_1_2_3_4_fuse.bin").read_bytes().hex() in text


@pytest.mark.parametrize("case", ["wrong-password", "missing-key", "bad-index", "csf-too-small", "no-folder", "foreign-cert"])
def test_bad_signing_inputs_exit_2(case, board_elf, tmp_path, run_imgtool):
    out = tmp_path / "signed.imx"
    args: list = []
    if case == "wrong-password":
        folder = pki_copy(tmp_path, password=b"right")
        (tmp_path / "pw").write_text("wrong\n")
        args = ["--password-file", tmp_path / "pw"]
        word = "password"
    elif case == "missing-key":
        folder = pki_copy(tmp_path)
        (folder / "IMG_1_key.pem").unlink()
        word = "IMG_1_key.pem"
    elif case == "bad-index":
        folder = pki()
        args = ["--srk-index", "5"]
        word = "--srk-index"
    elif case == "csf-too-small":
        folder = pki()
        cfg = tmp_path / "small.cfg"
        cfg.write_text("IMAGE_VERSION 2\nBOOT_FROM sd\nCSF 0x400\nDATA 4 0x020c4068 0xffffffff\n")
        args = ["--dcd", cfg]
        word = "bytes"
    elif case == "no-folder":
        folder = tmp_path / "nope"
        word = "keygen"
    else:  # a CSF certificate signed by another SRK
        folder = pki_copy(tmp_path)
        other = pki(key_type="rsa2048", srks=1)
        (folder / "CSF_1_crt.pem").write_bytes((other / "CSF_1_crt.pem").read_bytes())
        (folder / "CSF_1_key.pem").write_bytes((other / "CSF_1_key.pem").read_bytes())
        word = "CSF_1_crt.pem"
    r = _sign(run_imgtool, board_elf, folder, out, *args, check=False)
    assert r.returncode == 2, (case, r.stderr)
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("imgtool: error: ")]
    assert len(errors) == 1 and "Traceback" not in r.stderr, r.stderr
    assert word in errors[0], (case, errors[0])
    assert not out.exists()
