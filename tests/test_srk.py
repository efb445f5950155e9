"""SRK table and fuse hash: round trip, and byte-identical to Debian srktool."""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

import pytest

from formats.errors import FormatError
from formats.imx import srk as srkfmt
from hab_helpers import need, pki, run
from signing import hab_srk
from signing.errors import SigningError
from signing.keys import load_certificate


def _srk_certs(folder: Path, n: int) -> list[Path]:
    return [folder / f"SRK_{i}_crt.pem" for i in range(1, n + 1)]


def test_rsa_entry_layout():
    entry = srkfmt.RsaKey(modulus=(1 << 2047) | 1, exponent=65537)
    raw = entry.build()
    assert raw[:12] == bytes.fromhex("e1010f21 00000080 01000003".replace(" ", ""))
    assert len(raw) == 271
    parsed, size = srkfmt.parse_entry(raw)
    assert parsed == entry and size == 271


def test_table_roundtrip_and_hash():
    entries = tuple(srkfmt.RsaKey((1 << 2047) | (2 * i + 1), 65537) for i in range(4))
    table = srkfmt.SrkTable(entries)
    raw = table.build()
    assert raw[:4] == bytes.fromhex("d7044040") and len(raw) == 1088
    assert srkfmt.SrkTable.parse(raw) == table
    expect = hashlib.sha256(b"".join(hashlib.sha256(e.build()).digest() for e in entries)).digest()
    assert table.hash() == expect == srkfmt.table_hash(raw)


def test_hash_entry_keeps_srk_hash():
    entries = [srkfmt.RsaKey((1 << 2047) | 3, 65537), srkfmt.RsaKey((1 << 2047) | 5, 3)]
    full = srkfmt.SrkTable(tuple(entries))
    mixed = srkfmt.SrkTable((entries[0], srkfmt.hash_entry_for(entries[1])))
    assert mixed.hash() == full.hash()
    assert srkfmt.SrkTable.parse(mixed.build()) == mixed


def test_fuse_words_little_endian():
    digest = bytes(range(32))
    words = srkfmt.fuse_words(digest)
    assert words[0] == 0x03020100 and words[7] == 0x1F1E1D1C
    with pytest.raises(FormatError):
        srkfmt.fuse_words(b"\0" * 31)


@pytest.mark.parametrize("raw", [b"", b"\xd7\x00\x03\x40", b"\xd6\x00\x04\x40", b"\xd7\x00\x10\x40" + b"\xe1\x00\x0c\x21" + b"\0" * 8])
def test_bad_tables_raise(raw):
    with pytest.raises(FormatError):
        srkfmt.SrkTable.parse(raw)


# RSA-4096 keys are slow to make: two table sizes for it, all four for the others.
@pytest.mark.parametrize("key_type,count", [(k, n) for k in ("rsa2048", "p256", "p384", "p521") for n in (1, 2, 3, 4)]
                         + [("rsa4096", 1), ("rsa4096", 4)])
def test_matches_srktool(tmp_path, key_type, count):
    need("srktool")
    folder = pki(key_type=key_type)
    certs = _srk_certs(folder, count)
    table_ref, fuse_ref = tmp_path / "t.bin", tmp_path / "f.bin"
    run("srktool", "-h", "4", "-d", "sha256", "-f", "1", "-t", table_ref, "-e", fuse_ref, "-c", ",".join(str(c) for c in certs))
    table = hab_srk.build_srk_table([load_certificate(c) for c in certs])
    assert table.build() == table_ref.read_bytes()
    assert table.hash() == fuse_ref.read_bytes()
    assert srkfmt.SrkTable.parse(table_ref.read_bytes()) == table


def test_hash_only_matches_srktool(tmp_path):
    need("srktool")
    folder = pki()
    certs = _srk_certs(folder, 3)
    table_ref, fuse_ref = tmp_path / "t.bin", tmp_path / "f.bin"
    run("srktool", "-h", "4", "-d", "sha256", "-f", "1", "-t", table_ref, "-e", fuse_ref,
        "-c", f"{certs[0]},{certs[1]},%{certs[2]}")
    table = hab_srk.build_srk_table([load_certificate(c) for c in certs], hash_only=[2])
    assert table.build() == table_ref.read_bytes()
    assert table.hash() == fuse_ref.read_bytes()


def test_non_ca_certificate_flag_matches_srktool(tmp_path):
    need("srktool")
    folder = pki()
    cert = folder / "CSF_1_crt.pem"  # CA:FALSE, digitalSignature
    table_ref, fuse_ref = tmp_path / "t.bin", tmp_path / "f.bin"
    run("srktool", "-h", "4", "-d", "sha256", "-f", "1", "-t", table_ref, "-e", fuse_ref, "-c", cert)
    table = hab_srk.build_srk_table([load_certificate(cert)])
    assert table.build() == table_ref.read_bytes()
    assert table.build()[11] == 0


def test_mixed_ca_rejected():
    folder = pki()
    with pytest.raises(SigningError, match="mix CA and non-CA"):
        hab_srk.build_srk_table([load_certificate(folder / "SRK_1_crt.pem"), load_certificate(folder / "CSF_1_crt.pem")])


def test_ec_entry_layout():
    folder = pki(key_type="p256")
    entry = hab_srk.srk_entry_for_certificate(load_certificate(folder / "SRK_1_crt.pem"))
    raw = entry.build()
    assert len(raw) == 0x4C
    assert raw[:12] == bytes([0xE1, 0x00, 0x4C, 0x27, 0, 0, 0, 0x80, 0x4B, 0x00]) + struct.pack(">H", 256)
