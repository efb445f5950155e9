"""The board behind a HAB signature: an ``.imx`` names its board by its DCD (and load
address), the i.MX6 ROMs verify RSA only, and ``info`` reads the SD/eMMC image
``imx build --sd-image`` writes. All through the CLI, on a real Go ELF."""

from __future__ import annotations

import json

import pytest

from formats.imx import csf as C
from hab_helpers import mkimage_imx, pki, sample_payload
from test_cli_imx_sign import EPOCH, board_elf  # noqa: F401  (fixture)


def _engines(run_imgtool, image) -> set[str]:
    doc = json.loads(run_imgtool("info", image, "--json", check=True).stdout)
    return {c["engine"] for c in doc["hab"]["commands"] if "engine" in c}


@pytest.mark.parametrize("board,engine", [("usbarmory-mk2", "SW"), ("usbarmory-mk2-1gb", "SW"), ("mx6ullevk", "SW")])
def test_imx_input_board_detected_from_its_dcd(board, engine, board_elf, tmp_path, run_imgtool):  # noqa: F811
    """A built .imx signed without --board gets its board's engine (i.MX6ULL: SW, erratum
    ERR010449), not ANY, silently; -v says which board."""
    imx = tmp_path / "app.imx"
    run_imgtool("imx", "build", board_elf, "--board", board, "-o", imx, check=True)
    out = tmp_path / "signed.imx"
    r = run_imgtool("imx", "sign", imx, "--keys", pki(), "-o", out, "-v", env=EPOCH, check=True)
    assert f"board {board}" in r.stderr and "warning" not in r.stderr
    assert _engines(run_imgtool, out) == {engine}


def test_imx_with_unknown_dcd_says_engine_any(tmp_path, run_imgtool):
    imx = tmp_path / "custom.imx"
    imx.write_bytes(mkimage_imx(tmp_path, sample_payload(100)))
    out = tmp_path / "signed.imx"
    r = run_imgtool("imx", "sign", imx, "--keys", pki(), "-o", out, env=EPOCH, check=True)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "match no board profile: HAB engine ANY" in lines[0] and str(imx) in lines[0]
    assert _engines(run_imgtool, out) == {C.engine_name(C.HAB_ENG_ANY)}
    # an explicit engine is a choice: nothing to say
    r = run_imgtool("imx", "sign", imx, "--keys", pki(), "-o", out, "--engine", "sw", env=EPOCH, check=True)
    assert r.stderr == ""


@pytest.mark.parametrize("key_type", ["p256", "p384"])
def test_ecdsa_keys_refused_for_imx6_boards(key_type, board_elf, tmp_path, run_imgtool):  # noqa: F811
    keys = pki(key_type=key_type)
    out = tmp_path / "signed.imx"
    for source in ("elf", "imx"):
        src = board_elf
        if source == "imx":
            src = tmp_path / "app.imx"
            run_imgtool("imx", "build", board_elf, "-o", src, check=True)
        r = run_imgtool("imx", "sign", src, "--keys", keys, "-o", out, env=EPOCH)
        assert r.returncode == 2, r.stderr
        line = r.stderr.strip()
        assert len(line.splitlines()) == 1 and "Traceback" not in line
        assert "board usbarmory-mk2 (i.MX6ULL)" in line and "RSA signatures only" in line and "ECDSA" in line
        assert "SRK key 1 of" in line and str(keys) in line  # the key named by its file
        assert not out.exists()
    # an explicit i.MX6 board refuses too; with a custom DCD and no board the ROM is unknown
    r = run_imgtool("imx", "sign", board_elf, "--board", "mx6ullevk", "--keys", keys, "-o", out, env=EPOCH)
    assert r.returncode == 2 and "board mx6ullevk" in r.stderr
    imx = tmp_path / "custom.imx"
    imx.write_bytes(mkimage_imx(tmp_path, sample_payload(100)))
    run_imgtool("imx", "sign", imx, "--keys", keys, "-o", out, env=EPOCH, check=True)


def test_info_reads_the_sd_image(board_elf, tmp_path, run_imgtool):  # noqa: F811
    imx, sd = tmp_path / "app.imx", tmp_path / "sd.img"
    run_imgtool("imx", "build", board_elf, "-o", imx, "--sd-image", sd, check=True)
    text = run_imgtool("info", sd, check=True).stdout
    first = text.splitlines()[0]
    assert first.startswith(f"{sd}: SD/eMMC image, {sd.stat().st_size} bytes: i.MX boot image at offset 0x400")
    assert text.splitlines()[1:] == run_imgtool("info", imx, check=True).stdout.splitlines()[1:]
    doc = json.loads(run_imgtool("info", sd, "--json", check=True).stdout)
    assert doc["format"] == "imx" and doc["sd_image"] == {"boot_offset": 0x400, "imx_size": imx.stat().st_size}
    # a signed SD image shows its CSF too
    signed, signed_sd = tmp_path / "signed.imx", tmp_path / "signed-sd.img"
    run_imgtool("imx", "sign", imx, "--keys", pki(), "-o", signed, env=EPOCH, check=True)
    signed_sd.write_bytes(bytes(0x400) + signed.read_bytes())
    assert "CSF commands" in run_imgtool("info", signed_sd, check=True).stdout
    # a damaged IVT at 0x400 is one line naming the SD image and the offset
    bad = bytearray(sd.read_bytes())
    bad[0x400 + 16 : 0x400 + 20] = bytes(4)  # IVT.boot_data = 0
    sd.write_bytes(bytes(bad))
    r = run_imgtool("info", sd)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert f"{sd}: offset 0x4" in r.stderr and "SD/eMMC image with an IVT at 0x400" in r.stderr
