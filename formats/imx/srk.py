"""HABv4 Super Root Key (SRK) table and its public key entries.

Source: HABv4 API Reference Manual, "Certificates and keys" (``HAB_TAG_CRT`` 0xD7,
``HAB_KEY_PUBLIC`` 0xE1, ``HAB_KEY_HASH`` 0xEE); CST User Guide, "srktool". Checked byte
for byte against Debian ``srktool -h 4 -d sha256 -f 1``.

An SRK table is a HAB header ``D7 LLLL 40`` followed by 1 to 4 key entries back to back,
without padding between them. Multi-byte fields are big-endian. The SRK hash that goes into
the fuses (i.MX6: OCOTP bank 3, words 0..7) is ``SHA-256(SHA-256(entry1) || ... ||
SHA-256(entryN))`` over the complete entries, headers included.

This module handles bytes and integers only; turning an X.509 certificate into an entry is
done by ``signing`` (it needs a crypto library).
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from typing import Union

from formats.errors import FormatError
from formats.imx.ivt import expect_hab_structure

HAB_TAG_CRT = 0xD7
"""Tag of certificates, SRK tables (HAB_TAG_CRT)."""
HAB_KEY_PUBLIC = 0xE1
"""Tag of a public key entry."""
HAB_KEY_HASH = 0xEE
"""Tag of a hash-only entry (srktool ``%cert``); cannot be selected by Install SRK."""

HAB_ALG_SHA256 = 0x17
HAB_ALG_PKCS1 = 0x21
HAB_ALG_ECDSA = 0x27

HAB_KEY_FLG_CA = 0x80
"""Key flag: CA key (SRK may sign CSFK and IMG certificates)."""

HAB_EC_P256 = 0x4B
HAB_EC_P384 = 0x4D
HAB_EC_P521 = 0x4E

EC_CURVES = {HAB_EC_P256: ("P-256", 256), HAB_EC_P384: ("P-384", 384), HAB_EC_P521: ("P-521", 521)}
"""HAB curve id -> (NIST name, key size in bits)."""

TABLE_VERSION = 0x40
MAX_KEYS = 4


def _be16(data: bytes, off: int) -> int:
    return (data[off] << 8) | data[off + 1]


def _minimal_be(value: int) -> bytes:
    """Big-endian bytes of a positive integer with no leading zero byte (at least 1 byte)."""
    return value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")


@dataclass(frozen=True)
class RsaKey:
    """RSA public key entry: ``E1 LLLL 21 | 00 00 00 flags | modlen BE16 | explen BE16 | N | e``.

    ``modulus``/``exponent`` are integers; ``modulus_bytes`` is the encoded modulus length
    (the key size in bytes, e.g. 256 for RSA-2048). ``flags`` is 0x80 for a CA SRK.
    """

    modulus: int
    exponent: int
    flags: int = HAB_KEY_FLG_CA

    @property
    def key_bits(self) -> int:
        return self.modulus.bit_length()

    def build(self) -> bytes:
        mod = _minimal_be(self.modulus)
        exp = _minimal_be(self.exponent)
        length = 12 + len(mod) + len(exp)
        return (
            struct.pack(">BHB3xBHH", HAB_KEY_PUBLIC, length, HAB_ALG_PKCS1, self.flags, len(mod), len(exp))
            + mod
            + exp
        )


@dataclass(frozen=True)
class EcKey:
    """ECDSA public key entry (HAB 4.5, i.MX8MP):
    ``E1 LLLL 27 | 00 00 00 flags | curve 00 keybits BE16 | X | Y``.

    ``curve`` is a HAB curve id (0x4B P-256, 0x4D P-384, 0x4E P-521); X and Y are encoded
    on ``ceil(keybits/8)`` bytes each.
    """

    curve: int
    x: int
    y: int
    flags: int = HAB_KEY_FLG_CA

    @property
    def key_bits(self) -> int:
        return EC_CURVES[self.curve][1]

    def build(self) -> bytes:
        if self.curve not in EC_CURVES:
            raise FormatError(f"unknown HAB EC curve 0x{self.curve:02x} (expected 0x4b, 0x4d or 0x4e)", field="SRK entry")
        bits = self.key_bits
        size = (bits + 7) // 8
        coords = self.x.to_bytes(size, "big") + self.y.to_bytes(size, "big")
        length = 12 + len(coords)
        return (
            struct.pack(">BHB3xBBxH", HAB_KEY_PUBLIC, length, HAB_ALG_ECDSA, self.flags, self.curve, bits)
            + coords
        )


@dataclass(frozen=True)
class HashKey:
    """Hash-only entry ``EE LLLL 17 | SHA-256 of the full public key entry`` (srktool ``%cert``).

    ``digest`` is the 32-byte SHA-256 of the key entry it stands for; the entry still
    contributes to the SRK hash but cannot be used to sign.
    """

    digest: bytes

    def build(self) -> bytes:
        return struct.pack(">BHB", HAB_KEY_HASH, 4 + len(self.digest), HAB_ALG_SHA256) + self.digest


SrkEntry = Union[RsaKey, EcKey, HashKey]


def parse_entry(data: bytes, offset: int = 0) -> tuple[SrkEntry, int]:
    """Parse one key entry at ``offset``; return ``(entry, length in bytes)``.

    Raises:
        FormatError: unknown tag/algorithm, or the entry runs past the end of ``data``.
    """
    if offset + 4 > len(data):
        raise FormatError("SRK key entry truncated (need a 4-byte header)", offset=offset, field="SRK table")
    tag, length, alg = struct.unpack_from(">BHB", data, offset)
    if length < 4 or offset + length > len(data):
        raise FormatError(f"SRK key entry length {length} runs past the table end", offset=offset, field="SRK table")
    body = data[offset : offset + length]
    if tag == HAB_KEY_HASH:
        return HashKey(bytes(body[4:])), length
    if tag != HAB_KEY_PUBLIC:
        raise FormatError(f"SRK key entry tag 0x{tag:02x} (expected 0xe1 or 0xee)", offset=offset, field="SRK table")
    if length < 12:
        raise FormatError(f"SRK key entry length {length} too short", offset=offset, field="SRK table")
    flags = body[7]
    if alg == HAB_ALG_PKCS1:
        modlen, explen = _be16(body, 8), _be16(body, 10)
        if modlen == 0 or explen == 0:
            raise FormatError("RSA key entry with an empty modulus or exponent", offset=offset, field="SRK table")
        if 12 + modlen + explen != length:
            raise FormatError(
                f"RSA key entry: 12 + modulus {modlen} + exponent {explen} != entry length {length}",
                offset=offset,
                field="SRK table",
            )
        modulus = int.from_bytes(body[12 : 12 + modlen], "big")
        exponent = int.from_bytes(body[12 + modlen :], "big")
        return RsaKey(modulus, exponent, flags), length
    if alg == HAB_ALG_ECDSA:
        curve, bits = body[8], _be16(body, 10)
        if curve not in EC_CURVES:
            raise FormatError(f"EC key entry: unknown curve 0x{curve:02x}", offset=offset, field="SRK table")
        size = (bits + 7) // 8
        if 12 + 2 * size != length:
            raise FormatError(f"EC key entry length {length} does not fit {bits}-bit coordinates", offset=offset, field="SRK table")
        x = int.from_bytes(body[12 : 12 + size], "big")
        y = int.from_bytes(body[12 + size :], "big")
        return EcKey(curve, x, y, flags), length
    raise FormatError(f"SRK key entry algorithm 0x{alg:02x} (expected 0x21 PKCS#1 or 0x27 ECDSA)", offset=offset, field="SRK table")


@dataclass(frozen=True)
class SrkTable:
    """An SRK table: 1 to 4 entries. ``entries[i]`` is SRK index ``i + 1`` (CSF source index ``i``)."""

    entries: tuple[SrkEntry, ...]
    version: int = TABLE_VERSION

    def __post_init__(self) -> None:
        if not 1 <= len(self.entries) <= MAX_KEYS:
            raise FormatError(f"SRK table holds {len(self.entries)} keys (expected 1 to 4)", field="SRK table")

    def entry_bytes(self) -> list[bytes]:
        """The encoded entries, in order."""
        return [e.build() for e in self.entries]

    def build(self) -> bytes:
        """Table bytes ``D7 LLLL VV`` + entries (no padding)."""
        body = b"".join(self.entry_bytes())
        return struct.pack(">BHB", HAB_TAG_CRT, 4 + len(body), self.version) + body

    def hash(self) -> bytes:
        """The 32-byte SRK hash (fuse value): SHA-256 over the SHA-256 of each entry."""
        return srk_hash_of_entries(self.entry_bytes())

    @classmethod
    def parse(cls, data: bytes, offset: int = 0) -> "SrkTable":
        """Parse a table at ``offset`` (length from its header; trailing bytes ignored).

        Raises:
            FormatError: wrong tag, bad length, malformed or too many entries.
        """
        entries, _raw, version = _split(data, offset)
        return cls(tuple(entries), version)


def _split(data: bytes, offset: int) -> tuple[list[SrkEntry], list[bytes], int]:
    _, length, version = expect_hab_structure(data, offset, HAB_TAG_CRT, "SRK table")
    entries: list[SrkEntry] = []
    raw: list[bytes] = []
    pos = offset + 4
    end = offset + length
    while pos < end:
        entry, size = parse_entry(data[:end], pos)
        entries.append(entry)
        raw.append(bytes(data[pos : pos + size]))
        pos += size
    if not 1 <= len(entries) <= MAX_KEYS:
        raise FormatError(f"SRK table holds {len(entries)} keys (expected 1 to 4)", offset=offset, field="SRK table")
    return entries, raw, version


def table_entries_raw(data: bytes, offset: int = 0) -> list[bytes]:
    """The raw bytes of each entry of the table at ``offset`` (for hashing exactly what is there)."""
    return _split(data, offset)[1]


def entry_digest(entry: bytes) -> bytes:
    """The per-entry digest that goes into the SRK hash: SHA-256 of a key entry, or the
    stored digest of a hash-only (0xEE) entry (so a table with ``%cert`` entries has the
    same SRK hash as the full table; checked against srktool)."""
    if entry[:1] == bytes([HAB_KEY_HASH]):
        return bytes(entry[4:])
    return hashlib.sha256(entry).digest()


def srk_hash_of_entries(entries: list[bytes]) -> bytes:
    """SHA-256( d1 || ... || dN ) with ``di`` = :func:`entry_digest` of entry i; 32 bytes."""
    return hashlib.sha256(b"".join(entry_digest(e) for e in entries)).digest()


def table_hash(data: bytes, offset: int = 0) -> bytes:
    """SRK hash (fuse value) of the raw table at ``offset``, hashing its entries as stored."""
    return srk_hash_of_entries(table_entries_raw(data, offset))


def table_length(data: bytes, offset: int = 0) -> int:
    """Length of the table at ``offset`` from its header (header included)."""
    if offset + 4 > len(data) or data[offset] != HAB_TAG_CRT:
        raise FormatError("not an SRK table (expected tag 0xd7)", offset=offset, field="SRK table")
    return _be16(data, offset + 1)


def hash_entry_for(entry: SrkEntry) -> HashKey:
    """The hash-only entry that stands for ``entry`` (what srktool writes for ``%cert``)."""
    return HashKey(hashlib.sha256(entry.build()).digest())


def fuse_words(srk_hash: bytes) -> list[int]:
    """The eight 32-bit fuse words of a 32-byte SRK hash: word i = little-endian u32 of bytes [4i:4i+4].

    These go to OCOTP bank 3 words 0..7 on i.MX6 (U-Boot ``fuse prog 3 <i> <word>``).

    Raises:
        FormatError: ``srk_hash`` is not 32 bytes.
    """
    if len(srk_hash) != 32:
        raise FormatError(f"SRK hash is {len(srk_hash)} bytes (expected 32)", field="SRK hash")
    return list(struct.unpack("<8I", srk_hash))
