"""``imgtool crc``: output, slicing, listing, JSON and exit codes."""

from __future__ import annotations

import json
import zlib

import pytest

from imgtool.cli import main


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def check_file(tmp_path):
    p = tmp_path / "check.bin"
    p.write_bytes(b"123456789")
    return p


@pytest.mark.parametrize("model,want", [
    ("CRC-32/ISO-HDLC", "0xcbf43926"), ("crc-32/mpeg-2", "0x0376e6e7"), ("XMODEM", "0x31c3"),
    ("CRC-64/XZ", "0x995dc9bbdf1939fa"), ("CRC-8/SMBUS", "0xf4"), ("CRC-3/GSM", "0x4"),
    ("width=16 poly=0x1021 init=0xffff refin=false refout=false xorout=0", "0x29b1"),
])
def test_models(capsys, check_file, model, want):
    code, out, err = run(capsys, "crc", str(check_file), "--model", model)
    assert (code, out, err) == (0, want + "\n", "")


def test_offset_length_and_json(capsys, tmp_path):
    data = bytes(range(256)) * 100
    p = tmp_path / "img.bin"
    p.write_bytes(data)
    code, out, _ = run(capsys, "crc", str(p), "-m", "CRC-32", "--offset", "0x100", "--length", "1K", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["crc"] == zlib.crc32(data[0x100 : 0x100 + 1024])
    assert doc["offset"] == 256 and doc["length"] == 1024 and doc["model"] == "CRC-32/ISO-HDLC"
    assert bytes.fromhex(doc["bytes_le"]) == doc["crc"].to_bytes(4, "little")
    code, out, _ = run(capsys, "crc", str(p), "-m", "CRC-32", "--offset", "25000")
    assert out.strip() == f"0x{zlib.crc32(data[25000:]):08x}"


def test_empty_file(capsys, tmp_path):
    p = tmp_path / "empty.bin"
    p.write_bytes(b"")
    assert run(capsys, "crc", str(p), "-m", "CRC-32/MPEG-2")[1] == "0xffffffff\n"


def test_word_swap(capsys, tmp_path):
    p = tmp_path / "w.bin"
    p.write_bytes(bytes(range(16)))
    assert run(capsys, "crc", str(p), "-m", "CRC-32/MPEG-2", "--word-swap")[1] == "0x081b46ca\n"
    p.write_bytes(bytes(range(15)))
    code, _, err = run(capsys, "crc", str(p), "-m", "CRC-32/MPEG-2", "--word-swap")
    assert code == 2 and "multiple of the 4-byte word size" in err


def test_list(capsys):
    code, out, _ = run(capsys, "crc", "--list")
    assert code == 0
    assert "CRC-32/ISO-HDLC" in out and "CRC-16/XMODEM" in out and "CCITT-FALSE" in out
    code, out, _ = run(capsys, "crc", "--list", "--json")
    rows = json.loads(out)
    assert {"name": "CRC-16/XMODEM", "check": 0x31C3}.items() <= next(r for r in rows if r["name"] == "CRC-16/XMODEM").items()


@pytest.mark.parametrize("args,message", [
    (["-m", "CRC-99/NOPE"], "unknown CRC model 'CRC-99/NOPE'"),
    (["-m", "CRC-32", "--offset", "10"], "--offset 10 is past the end of the file (9 bytes)"),
    (["-m", "CRC-32", "--offset", "4", "--length", "6"], "--length 6 at offset 4 runs past the end"),
    (["-m", "CRC-32", "--offset", "zz"], "--offset: 'zz' is not a number"),
    ([], "missing --model"),
    (["-m", "width=65 poly=0x3"], "width must be 1..64"),
])
def test_errors(capsys, check_file, args, message):
    code, out, err = run(capsys, "crc", str(check_file), *args)
    assert code == 2 and out == ""
    assert err.startswith("imgtool: error: ") and message in err
    assert "Traceback" not in err


def test_missing_file(capsys, tmp_path):
    code, _, err = run(capsys, "crc", str(tmp_path / "nope.bin"), "-m", "CRC-32")
    assert code == 2 and "cannot read" in err
