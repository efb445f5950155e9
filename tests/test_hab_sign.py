"""HAB signing: CST layout, sign -> verify, tampering, reproducibility, openssl cross-check, errors."""

from __future__ import annotations

import random
import struct

import pytest

from formats.imx import csf as C
from hab_helpers import SIGNING_TIME, hab4_pki_tree, mkimage_imx, openssl_verify_csf, pki, sample_payload
from signing import hab
from signing.errors import CsfTooLargeError, SigningError
from signing.hab_verify import walk_csf
from signing.pki import load_hab_keys

# CST 4.0.1 output for RSA-2048 / 4 SRKs / one block (reference/imx-hab.md §6 step 7).
CST_COMMANDS = bytes.fromhex(
    "d4004840"
    "be000c00031700000000 0048"
    "be000c02090000010000 0488"
    "ca000c0001c500000000 0cd4"
    "be000c00090000020000 07ac"
    "ca00140002c500000000 0ad0 8000f400 00002c00".replace(" ", "")
)


@pytest.fixture(scope="module")
def imx(tmp_path_factory):
    return mkimage_imx(tmp_path_factory.mktemp("imx"), sample_payload(4452), entry=0x80010100)


@pytest.fixture(scope="module")
def nxp_pki():
    return hab4_pki_tree()


@pytest.fixture(scope="module")
def keys():
    return load_hab_keys(pki(), 1)


def _sign(imx, keys, **kw):
    args = dict(engine=C.HAB_ENG_ANY, csf_size=0x4000, signing_time=SIGNING_TIME)
    args.update(kw)
    return hab.sign_imx(imx, keys, **args)


def _expected_commands(csf: bytes) -> bytes:
    """The CST command bytes with offsets recomputed from this CSF's blob lengths."""
    table_len = struct.unpack_from(">H", csf, 0x49)[0]
    csfk = 0x48 + ((table_len + 3) & ~3)
    img = csfk + ((struct.unpack_from(">H", csf, csfk + 1)[0] + 3) & ~3)
    img_sig = img + ((struct.unpack_from(">H", csf, img + 1)[0] + 3) & ~3)
    csf_sig = img_sig + ((struct.unpack_from(">H", csf, img_sig + 1)[0] + 3) & ~3)
    out = bytearray(CST_COMMANDS)
    for pos, value in ((0x0C, 0x48), (0x18, csfk), (0x24, csf_sig), (0x30, img), (0x3C, img_sig)):
        struct.pack_into(">I", out, pos, value)
    return bytes(out)


def test_cst_layout(imx, keys):
    signed = _sign(imx, keys)
    csf = signed.csf
    assert csf[:0x48] == _expected_commands(csf)
    assert csf[0x48:0x48 + len(keys.srk_table)] == keys.srk_table
    assert len(csf) % 4 == 0
    # Blob lengths exclude the pad (CST), the CSF signature is the last blob.
    last = struct.unpack_from(">I", csf, 0x24)[0]  # Authenticate CSF -> CSF signature
    assert csf[last] == C.HAB_TAG_SIG and last + ((struct.unpack_from(">H", csf, last + 1)[0] + 3) & ~3) == len(csf)
    assert signed.data == imx + csf + bytes(0x4000 - len(csf))


def test_cst_layout_with_hab4_pki_tree(nxp_pki, imx):
    """With CST-made certificates (800-byte DER) the command area is the §6 hexdump verbatim."""
    keys = load_hab_keys(nxp_pki, 1)
    signed = _sign(imx, keys)
    assert len(signed.csf) == 3800
    assert signed.csf[:0x48] == CST_COMMANDS


def test_verify_passes_and_reports(imx, keys):
    signed = _sign(imx, keys)
    report = hab.verify_imx(signed.data, srk_hash=keys.srk_hash)
    assert report.ok, report.to_dict()
    names = [c.name for c in report.checks]
    for needed in ("CSF signature", "image signature 1", "blocks cover the IVT", "blocks cover the DCD",
                   "blocks cover the boot data", "blocks cover the entry point", "SRK hash matches the fuses"):
        assert needed in names
    assert report.to_dict()["flavour"] == "sd"
    wrong = hab.verify_imx(signed.data, srk_hash=bytes(32))
    assert not wrong.ok and "SRK hash" in wrong.first_failure()


def test_reproducible(imx, keys):
    assert _sign(imx, keys).data == _sign(imx, keys).data
    other = SIGNING_TIME.replace(year=2025)
    assert _sign(imx, keys, signing_time=other).data != _sign(imx, keys).data


def test_resign_signed_image(imx, keys):
    signed = _sign(imx, keys).data
    assert _sign(signed, keys).data == signed


def _regions(imx, signed):
    csf = signed.csf
    n = len(imx)
    table_off = n + 0x48
    csfk = n + struct.unpack_from(">I", csf, 0x18)[0]
    img = n + struct.unpack_from(">I", csf, 0x30)[0]
    img_len = struct.unpack_from(">H", csf, img - n + 1)[0]
    csfk_len = struct.unpack_from(">H", csf, csfk - n + 1)[0]
    return {
        "image": range(0, n),
        "commands": range(n, n + 0x48),
        "srk table": range(table_off, table_off + struct.unpack_from(">H", csf, 0x49)[0]),
        "csfk cert": range(csfk, csfk + csfk_len),
        "img cert": range(img, img + img_len),
    }


@pytest.mark.parametrize("region", ["image", "commands", "srk table", "csfk cert", "img cert"])
def test_any_flipped_byte_fails(imx, keys, region):
    signed = _sign(imx, keys)
    rng = random.Random(region)
    positions = _regions(imx, signed)[region]
    picks = sorted(set(rng.sample(list(positions), min(60, len(positions)))) | {positions[0], positions[-1]})
    for pos in picks:
        bad = bytearray(signed.data)
        bad[pos] ^= 1 << rng.randrange(8)
        try:
            report = hab.verify_imx(bytes(bad), srk_hash=keys.srk_hash)
        except Exception as exc:  # only a broken IVT header may raise (not an .imx any more)
            assert pos < 4, (region, pos, exc)
            continue
        assert not report.ok, (region, hex(pos))


def test_signatures_verify_with_openssl(tmp_path, imx, keys):
    signed = _sign(imx, keys, sdp=True)
    assert openssl_verify_csf(tmp_path, signed.csf, imx, 0x8000F400) == 2
    sdp_body = imx[:12] + bytes(4) + imx[16:]
    assert openssl_verify_csf(tmp_path, signed.sdp_csf, sdp_body, 0x8000F400, {0x00910000: imx[0x2C:]}) == 3


def test_sdp_flavour(imx, keys):
    signed = _sign(imx, keys, sdp=True)
    assert signed.sdp[: len(imx)] == imx  # the loader zeroes IVT.dcd itself
    assert len(signed.sdp_csf) == len(signed.csf) + 20 + 4 + ((len(keys.img.certificate.signature) + 253 + 3) & ~3)
    contents = walk_csf(signed.sdp_csf)
    assert [c.blocks for c, _ in contents.auths] == [((0x8000F400, len(imx)),), ((0x00910000, 0x18),)]
    report = hab.verify_imx(signed.sdp, srk_table=keys.srk_table)
    assert report.ok and report.flavour == "sdp"
    # The SD image's signature does not hold for the SDP view and vice versa.
    bad = bytearray(signed.sdp)
    bad[0x2C + 8] ^= 0xFF  # DCD payload
    assert not hab.verify_imx(bytes(bad)).ok


@pytest.mark.parametrize("version", [0x40, 0x42, 0x45])
@pytest.mark.parametrize("engine", [C.HAB_ENG_ANY, C.HAB_ENG_SW, C.HAB_ENG_CAAM])
def test_version_and_engine(imx, keys, version, engine):
    signed = _sign(imx, keys, version=version, engine=engine)
    csf = signed.csf
    assert csf[3] == version and csf[0x48 + 3] == 0x40  # table keeps 0x40
    assert csf[struct.unpack_from(">I", csf, 0x18)[0] + 3] == version
    assert csf[0x22] == engine and csf[0x3A] == engine
    assert signed.report.ok


@pytest.mark.parametrize("srk_index", [1, 2, 3, 4])
def test_srk_index(imx, srk_index):
    folder = pki(layout="nxp", srks=4)
    keys = load_hab_keys(folder, srk_index)
    signed = _sign(imx, keys, srk_index=srk_index)
    assert signed.csf[0x0A] == srk_index - 1
    assert hab.verify_imx(signed.data, srk_hash=keys.srk_hash).srk_index == srk_index


def test_csf_too_large(imx, keys):
    with pytest.raises(CsfTooLargeError, match=r"short") as info:
        _sign(imx, keys, csf_size=0x800)
    assert info.value.short == len(_sign(imx, keys).csf) - 0x800
    assert "raise CSF" in str(info.value)


def test_csf_size_beyond_reservation(imx, keys):
    with pytest.raises(SigningError, match="exceeds"):
        _sign(imx, keys, csf_size=0x8000)


def test_unsigned_layout_without_csf_pointer(tmp_path, keys):
    raw = mkimage_imx(tmp_path, sample_payload(100), csf=0)
    with pytest.raises(SigningError, match="CSF 0x4000"):
        _sign(raw, keys)


def test_srk_index_out_of_range(imx):
    keys = load_hab_keys(pki(srks=2), 1)
    with pytest.raises(SigningError, match="out of range"):
        _sign(imx, keys, srk_index=3)


def test_ecdsa_and_rsa4096(imx):
    for key_type in ("p256", "rsa4096"):
        keys = load_hab_keys(pki(key_type=key_type), 1)
        signed = _sign(imx, keys)
        assert hab.verify_imx(signed.data, srk_hash=keys.srk_hash).ok
        assert _sign(imx, keys).data == signed.data  # RFC 6979 ECDSA is deterministic too


def test_describe_csf(imx, keys):
    signed = _sign(imx, keys)
    info = hab.describe_csf(signed.data)
    assert [c["command"] for c in info["commands"]] == [
        "Install SRK", "Install CSFK", "Authenticate CSF", "Install Key", "Authenticate Data"]
    assert info["srk_table"]["hash"] == keys.srk_hash.hex()
    assert {c["role"] for c in info["certificates"]} == {"CSFK", "IMG2"}
    assert all(s["signing_time"].startswith("2024-05-01") for s in info["signatures"])
    assert hab.describe_csf(signed.csf)["length"] == 0x48
    import json

    json.dumps(info)
    json.dumps(hab.verify_imx(signed.data).to_dict())


def test_nocak(imx):
    folder = pki(srks=1)
    from signing.keys import FileSigner
    from signing.pki import HabKeys

    srk = FileSigner.from_files(folder / "SRK_1_key.pem", folder / "SRK_1_crt.pem")
    keys = HabKeys(srk_table=(folder / "SRK_1_table.bin").read_bytes(), srk_index=1, csf=srk, img=srk)
    from formats.imx import image as imxfmt

    img = imxfmt.parse_imx(imx)
    csf = hab.assemble_csf(keys, [hab.AuthBlock(((img.ivt.self_addr, len(imx)),), imx)], engine=0,
                           signing_time=SIGNING_TIME, nocak=True)
    cmds = C.Csf.parse(csf).commands
    assert [type(c).__name__ for c in cmds] == ["InstallKey", "InstallKey", "Authenticate", "Authenticate"]
    assert cmds[3].key == 0
    report = hab.verify_imx(imx + csf)
    assert report.ok, report.to_dict()


def test_unlock_commands_roundtrip():
    cmds = (C.Unlock(C.HAB_ENG_CAAM, (C.HAB_CAAM_UNLOCK_MID | C.HAB_CAAM_UNLOCK_RNG,)),
            C.Unlock(C.HAB_ENG_OCOTP, (C.HAB_OCOTP_UNLOCK_SRK_REVOKE,)), C.Init(C.HAB_ENG_CAAM, (C.HAB_CAAM_INIT_RNG,)),
            C.SetEngine(C.HAB_ENG_SW, C.HAB_ALG_SHA256), C.Nop())
    raw = C.Csf(cmds, 0x42).build()
    assert raw[:4] == bytes([0xD4, 0, 4 + 8 + 8 + 8 + 8 + 4, 0x42])
    assert raw[4:12] == bytes.fromhex("b200081d00000003")
    assert C.Csf.parse(raw) == C.Csf(cmds, 0x42)
    assert C.SetEngine(0xFF, 0x17).build() == bytes.fromhex("b10008030017ff00")
