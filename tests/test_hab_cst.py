"""imgtool's CSF against a real NXP CST: Debian's ``cst`` 3.3.1, run through the test-only
shim ``tests/c/cst_shim.c`` (see there why it needs one), on NXP's own PKI
(``hab4_pki_tree.sh`` + ``srktool``).

CST 3.3.1 places the blobs in the order of the commands that use them; imgtool writes NXP
CST 4.x's order (the CSF signature last) by default and CST 3.3.1's with
``--csf-layout cst3``. So: byte for byte under ``cst3``, blob for blob (same commands but
for the offsets, same blob bytes) by default, and ``imx verify`` accepts what CST signed.
CST is a reference tool: a missing ``cst`` (or gcc, srktool, mkimage) fails the test.
"""

from __future__ import annotations

import datetime as dt
import shutil

import pytest

from formats.imx import csf as C
from hab_helpers import hab4_pki_tree, mkimage_imx, need, run, run_cst, sample_payload
from signing.hab_verify import walk_csf

EPOCH = 1714564800  # 2024-05-01T12:00:00Z: the signingTime both tools write
WHEN = dt.datetime.fromtimestamp(EPOCH, dt.timezone.utc).isoformat()
HAB_BLOCK = "0x8000f400 0x00000000 0x00002c00"  # mkimage -l "HAB Blocks" of the test image
DCD_BLOCK = "0x00910000 0x0000002c 0x00000018"  # "DCD Blocks": the DCD as the SDP loader places it


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """A folder with NXP's PKI (crts/, keys/, the srktool table and fuse file) and app.imx."""
    root = tmp_path_factory.mktemp("cst")
    shutil.copytree(hab4_pki_tree(), root, dirs_exist_ok=True)
    need("srktool")
    srks = ",".join(str(p.relative_to(root / "crts")) for p in sorted((root / "crts").glob("SRK?_sha256_*_ca_crt.pem")))
    run("srktool", "-h", "4", "-d", "sha256", "-f", "1", "-t", "SRK_1_2_3_4_table.bin", "-e", "SRK_1_2_3_4_fuse.bin",
        "-c", srks, cwd=root / "crts")
    (root / "app.imx").write_bytes(mkimage_imx(root, sample_payload(4452)))
    zeroed = bytearray((root / "app.imx").read_bytes())
    zeroed[12:16] = bytes(4)  # IVT.dcd = 0: what the SDP loader hands the ROM
    (root / "app-sdp.imx").write_bytes(bytes(zeroed))
    return root


def _description(root, *, srk: int = 1, version: str = "4.0", engine: str = "ANY", sdp: bool = False) -> str:
    crt = lambda pattern: next((root / "crts").glob(pattern)).relative_to(root)  # noqa: E731
    text = (f"[Header]\nVersion = {version}\nHash Algorithm = sha256\nEngine = {engine}\nEngine Configuration = 0\n"
            "Certificate Format = X509\nSignature Format = CMS\n\n"
            f'[Install SRK]\nFile = "crts/SRK_1_2_3_4_table.bin"\nSource index = {srk - 1}\n\n'
            f'[Install CSFK]\nFile = "{crt(f"CSF{srk}_1_*_crt.pem")}"\n\n[Authenticate CSF]\n\n'
            f'[Install Key]\nVerification index = 0\nTarget index = 2\nFile = "{crt(f"IMG{srk}_1_*_crt.pem")}"\n\n'
            f'[Authenticate Data]\nVerification index = 2\nBlocks = {HAB_BLOCK} "{"app-sdp.imx" if sdp else "app.imx"}"\n')
    if sdp:
        text += f'\n[Authenticate Data]\nVerification index = 2\nBlocks = {DCD_BLOCK} "app.imx"\n'
    return text


def _imgtool_csf(run_imgtool, root, tmp_path, *, layout: str, srk: int = 1, version: str = "4.0",
                 engine: str = "any", sdp: bool = False) -> bytes:
    out = tmp_path / f"imgtool-{layout}.imx"
    run_imgtool("imx", "sign", root / "app.imx", "--keys", root, "-o", out, "--csf-layout", layout,
                "--srk-index", str(srk), "--csf-version", version, "--engine", engine, "--signing-time", WHEN,
                *(["--sdp"] if sdp else []), check=True)
    signed = (out.with_name(out.stem + "-sdp.imx") if sdp else out).read_bytes()
    csf = signed[len((root / "app.imx").read_bytes()):]
    return csf[: max(end for _start, end in walk_csf(csf).blobs) + 3 & ~3]


def _blobs(csf: bytes) -> tuple[list, list[bytes]]:
    """The commands with their offsets zeroed, and the blobs in command order (HAB's view)."""
    walked = walk_csf(csf)
    assert walked.problems == []
    commands, blobs = [], []
    for cmd in walked.csf.commands:
        if isinstance(cmd, C.InstallKey):
            at, cmd = cmd.key_dat, C.InstallKey(cmd.flags, cmd.pcl, cmd.alg, cmd.src, cmd.tgt, 0, cmd.crt_hash)
        else:
            at, cmd = cmd.aut_start, C.Authenticate(cmd.key, 0, cmd.blocks, cmd.pcl, cmd.eng, cmd.cfg, cmd.flags)
        start, end = next((s, e) for s, e in walked.blobs if s == at)
        commands.append(cmd)
        blobs.append(csf[start:end])
    return commands, blobs


CASES = {
    "sd": {},
    "srk3-v4.2-sw": {"srk": 3, "version": "4.2", "engine": "SW"},
    "sdp": {"sdp": True},
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_cst3_layout_is_byte_identical_to_cst(case, work, tmp_path, run_imgtool):
    args = CASES[case]
    ref = run_cst(work, _description(work, **args), epoch=EPOCH)
    ours = _imgtool_csf(run_imgtool, work, tmp_path, layout="cst3", **{**args, "engine": args.get("engine", "any").lower()})
    assert ours == ref, f"first difference at 0x{next(i for i, (a, b) in enumerate(zip(ours, ref)) if a != b):x}"


@pytest.mark.parametrize("case", sorted(CASES))
def test_default_layout_has_cst_blobs_in_cst4_order(case, work, tmp_path, run_imgtool):
    args = CASES[case]
    ref = run_cst(work, _description(work, **args), epoch=EPOCH)
    ours = _imgtool_csf(run_imgtool, work, tmp_path, layout="cst4", **{**args, "engine": args.get("engine", "any").lower()})
    assert len(ours) == len(ref) and ours != ref
    assert _blobs(ours)[1][:2] == _blobs(ref)[1][:2]  # SRK table, CSFK certificate
    # Same commands but for the offsets; the same image signatures and IMG certificate;
    # the CSF signatures differ only because they sign headers with other offsets.
    (cmds_ours, blobs_ours), (cmds_ref, blobs_ref) = _blobs(ours), _blobs(ref)
    assert cmds_ours == cmds_ref
    assert blobs_ours[3:] == blobs_ref[3:]
    assert len(blobs_ours[2]) == len(blobs_ref[2])
    # CST 4.x order: table, CSFK certificate, IMG certificate, image signatures, CSF signature
    walked = walk_csf(ours)
    csf_sig_at = walked.csf_auth[0].aut_start
    assert csf_sig_at == max(s for s, _e in walked.blobs)


@pytest.mark.parametrize("case", ["sd", "sdp"])
def test_verify_accepts_what_cst_signed(case, work, tmp_path, run_imgtool):
    """imx verify on images CST signed (not imgtool), checked against the srktool fuse file;
    one flipped signature bit makes it fail."""
    ref = run_cst(work, _description(work, **CASES[case]), epoch=EPOCH)
    imx = (work / "app.imx").read_bytes()
    signed = tmp_path / "cst-signed.imx"
    signed.write_bytes(imx + ref + bytes(0x4000 - len(ref)))
    fuses = work / "crts" / "SRK_1_2_3_4_fuse.bin"
    r = run_imgtool("imx", "verify", signed, "--fuses", fuses, "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    import json

    doc = json.loads(r.stdout)
    assert doc["ok"] and doc["flavour"] == case and all(c["status"] == "pass" for c in doc["checks"])
    bad = bytearray(signed.read_bytes())
    bad[len(imx) + len(ref) - 10] ^= 0x01  # inside the last blob's signature value
    signed.write_bytes(bytes(bad))
    r = run_imgtool("imx", "verify", signed, "--fuses", fuses)
    assert r.returncode == 1 and "FAIL" in r.stdout and "Traceback" not in r.stderr
