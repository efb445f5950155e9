"""`imgtool hab keygen|srk|events` through the real CLI, and the HAB event decoder."""

from __future__ import annotations

import json

import pytest

from formats.errors import FormatError
from formats.imx import csf as C
from formats.imx import habevents as E
from hab_helpers import need, pki, run
from signing.pki import load_hab_keys

UBOOT_LOG = """\
=> hab_status

Secure boot disabled

HAB Configuration: 0xf0, HAB State: 0x66

--------- HAB Event 1 -----------------
event data:
\t0xdb 0x00 0x14 0x42 0x33 0x0c 0xa0 0x00
\t0x00 0x00 0x00 0x00 0x80 0x00 0xf4 0x00
\t0x00 0x00 0x00 0x20

STS = HAB_FAILURE (0x33)
RSN = HAB_INV_ASSERTION (0x0C)
CTX = HAB_CTX_ASSERT (0xA0)
ENG = HAB_ENG_ANY (0x00)

--------- HAB Event 2 -----------------
event data:
\t0xdb 0x00 0x14 0x42 0x33 0x18 0xc0 0x00
\t0xca 0x00 0x14 0x00 0x02 0xc5 0x00 0x00
\t0x00 0x00 0x0a 0xd0
"""


def test_keygen_both_layouts(tmp_path, run_imgtool):
    pw = tmp_path / "pw.txt"
    pw.write_text("hunter2\n")
    r = run_imgtool("hab", "keygen", tmp_path / "a", "--srks", "2", "--key-type", "p256")
    assert r.returncode == 0, r.stderr
    assert load_hab_keys(tmp_path / "a", 1).csf.key_type == "p256"
    r = run_imgtool("hab", "keygen", tmp_path / "b", "--layout", "nxp", "--srks", "1", "--password-file", pw)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "b/keys/key_pass.txt").read_text().splitlines()[0] == "hunter2"
    assert load_hab_keys(tmp_path / "b", 1).srk_index == 1
    r = run_imgtool("hab", "keygen", tmp_path / "a")
    assert r.returncode == 2 and "never overwritten" in r.stderr
    r = run_imgtool("hab", "keygen", tmp_path / "c", "--key-type", "rsa1024")
    assert r.returncode == 2 and r.stderr.count("\n") == 1


def test_srk_matches_srktool_and_prints_fuses(tmp_path, run_imgtool):
    need("srktool")
    folder = pki()
    certs = [folder / f"SRK_{i}_crt.pem" for i in range(1, 5)]
    run("srktool", "-h", "4", "-d", "sha256", "-f", "1", "-t", tmp_path / "ref_t.bin", "-e", tmp_path / "ref_f.bin",
        "-c", ",".join(map(str, certs)))
    r = run_imgtool("hab", "srk", *certs, "-o", tmp_path / "t.bin", "--fuse-out", tmp_path / "f.bin")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "t.bin").read_bytes() == (tmp_path / "ref_t.bin").read_bytes()
    digest = (tmp_path / "ref_f.bin").read_bytes()
    assert (tmp_path / "f.bin").read_bytes() == digest
    words = [int.from_bytes(digest[4 * i : 4 * i + 4], "little") for i in range(8)]
    for i, w in enumerate(words):
        assert f"fuse prog 3 {i} 0x{w:08x}" in r.stdout
    j = json.loads(run_imgtool("hab", "srk", *certs, "-o", tmp_path / "t2.bin", "--json").stdout)
    assert j["srk_hash"] == digest.hex()


def test_srk_errors(tmp_path, run_imgtool):
    r = run_imgtool("hab", "srk", tmp_path / "missing.pem", "-o", tmp_path / "t.bin")
    assert r.returncode == 2 and "missing.pem" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "t.bin").exists()


def test_events_cli(tmp_path, run_imgtool):
    log = tmp_path / "hab.txt"
    log.write_text(UBOOT_LOG)
    r = run_imgtool("hab", "events", log)
    assert r.returncode == 0, r.stderr
    assert "HAB_FAILURE  HAB_INV_ASSERTION  HAB_CTX_ASSERT  HAB_ENG_ANY" in r.stdout
    assert "0x8000f400 + 0x20" in r.stdout
    assert "HAB_INV_SIGNATURE" in r.stdout and "Authenticate Data" in r.stdout
    j = json.loads(run_imgtool("hab", "events", log, "--json").stdout)
    assert j["config"] == "HAB_CFG_OPEN" and j["state"] == "HAB_STATE_NONSECURE" and len(j["events"]) == 2
    bad = tmp_path / "bad.txt"
    bad.write_text("hello\n")
    r = run_imgtool("hab", "events", bad)
    assert r.returncode == 2 and "bad.txt" in r.stderr


def test_event_roundtrip_binary_and_hexdump():
    ev = E.HabEvent(0x33, 0x18, 0xC0, 0xFF, C.Authenticate(2, 0xAD0, ((0x8000F400, 0x2C00),)).build())
    raw = b"\0\0" + ev.build() + b"\xff"
    log = E.parse_event_log(raw)
    assert log.events == (ev,)
    d = ev.describe()
    assert d["engine"] == "HAB_ENG_SW" and d["command"]["command"] == "Authenticate Data"
    hexdump = "00000000  " + " ".join(f"{b:02x}" for b in ev.build()[:16]) + "  |................|\n"
    hexdump += "00000010  " + " ".join(f"{b:02x}" for b in ev.build()[16:]) + "\n"
    assert E.parse_event_log(hexdump.encode()).events == (ev,)
    assert E.parse_event_log(ev.build().hex().encode()).events == (ev,)
    with pytest.raises(FormatError):
        E.parse_event_log(b"\x00\x01\x02")
    assert E.parse_event_log(b"HAB Configuration: 0xcc, HAB State: 0x99\nNo HAB Events Found!\n").describe()["state"] == "HAB_STATE_TRUSTED"
