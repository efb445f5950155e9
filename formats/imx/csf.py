"""HABv4 Command Sequence File (CSF): header, commands, and HAB event records.

Source: HABv4 API Reference Manual ("Command Sequence File", "Commands", "Events",
``hab_types.h`` names), CST User Guide (CSF description keywords); reference/imx-hab.md
§3.1, §3.6, §3.10. A CSF is ``D4 LLLL VV`` followed by commands; ``LLLL`` (big-endian)
counts the header and the commands only, the certificates and signatures that follow are
found through the offsets in the commands. Each command here is a small value with
``build() -> bytes``; :func:`parse_commands` gives them back.

All multi-byte fields are big-endian.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from formats.errors import FormatError
from formats.imx.ivt import expect_hab_structure

# --- structure tags (HAB_TAG_*) -------------------------------------------------------
HAB_TAG_IVT = 0xD1
HAB_TAG_DCD = 0xD2
HAB_TAG_CSF = 0xD4
HAB_TAG_CRT = 0xD7
HAB_TAG_SIG = 0xD8
HAB_TAG_EVT = 0xDB
HAB_TAG_RVT = 0xDD
HAB_TAG_WRP = 0x81
HAB_TAG_MAC = 0xAC

# --- command tags (HAB_CMD_*) ---------------------------------------------------------
HAB_CMD_SET = 0xB1
HAB_CMD_INS_KEY = 0xBE
HAB_CMD_AUT_DAT = 0xCA
HAB_CMD_WRT_DAT = 0xCC
HAB_CMD_CHK_DAT = 0xCF
HAB_CMD_NOP = 0xC0
HAB_CMD_INIT = 0xB4
HAB_CMD_UNLK = 0xB2

# --- protocols (HAB_PCL_*) ------------------------------------------------------------
HAB_PCL_SRK = 0x03
HAB_PCL_X509 = 0x09
HAB_PCL_CMS = 0xC5
HAB_PCL_BLOB = 0xBB
HAB_PCL_AEAD = 0xA3

# --- algorithms (HAB_ALG_*) -----------------------------------------------------------
HAB_ALG_ANY = 0x00
HAB_ALG_SHA1 = 0x11
HAB_ALG_SHA256 = 0x17
HAB_ALG_SHA512 = 0x1B
HAB_ALG_PKCS1 = 0x21
HAB_ALG_ECDSA = 0x27
HAB_ALG_AES = 0x55
HAB_ALG_CCM = 0x66
HAB_ALG_BLOB = 0x71

# --- engines (HAB_ENG_*) --------------------------------------------------------------
HAB_ENG_ANY = 0x00
HAB_ENG_SCC = 0x03
HAB_ENG_RTIC = 0x05
HAB_ENG_SAHARA = 0x06
HAB_ENG_CSU = 0x0A
HAB_ENG_SRTC = 0x0C
HAB_ENG_DCP = 0x1B
HAB_ENG_CAAM = 0x1D
HAB_ENG_SNVS = 0x1E
HAB_ENG_OCOTP = 0x21
HAB_ENG_DTCP = 0x22
HAB_ENG_HDCP = 0x24
HAB_ENG_ROM = 0x36
HAB_ENG_RTL = 0x77
HAB_ENG_SW = 0xFF

ENGINE_NAMES = {
    HAB_ENG_ANY: "ANY", HAB_ENG_SCC: "SCC", HAB_ENG_RTIC: "RTIC", HAB_ENG_SAHARA: "SAHARA",
    HAB_ENG_CSU: "CSU", HAB_ENG_SRTC: "SRTC", HAB_ENG_DCP: "DCP", HAB_ENG_CAAM: "CAAM",
    HAB_ENG_SNVS: "SNVS", HAB_ENG_OCOTP: "OCOTP", HAB_ENG_DTCP: "DTCP", HAB_ENG_HDCP: "HDCP",
    HAB_ENG_ROM: "ROM", HAB_ENG_RTL: "RTL", HAB_ENG_SW: "SW",
}
"""Engine id -> CST keyword (``Engine = SW``); the API RM names are ``HAB_ENG_<name>``."""

# --- Install Key flags (HAB_CMD_INS_KEY_*) and Authenticate Data flags -----------------
HAB_CMD_INS_KEY_CLR = 0x00
HAB_CMD_INS_KEY_ABS = 0x01
HAB_CMD_INS_KEY_CSF = 0x02
HAB_CMD_INS_KEY_DAT = 0x04
HAB_CMD_INS_KEY_CFG = 0x08
HAB_CMD_INS_KEY_FID = 0x10
HAB_CMD_INS_KEY_MID = 0x20
HAB_CMD_INS_KEY_CID = 0x40
HAB_CMD_INS_KEY_HSH = 0x80
HAB_CMD_AUT_DAT_CLR = 0x00
HAB_CMD_AUT_DAT_ABS = 0x01

# --- key slots ------------------------------------------------------------------------
HAB_IDX_SRK = 0
HAB_IDX_CSFK = 1
HAB_IDX_IMG_MIN = 2
HAB_IDX_IMG_MAX = 4

# --- Set command items (HAB_VAR_CFG_ITM_*) --------------------------------------------
HAB_VAR_CFG_ITM_MID = 0x01
HAB_VAR_CFG_ITM_ENG = 0x03

# --- Unlock / Init values --------------------------------------------------------------
HAB_CAAM_UNLOCK_MID = 0x01
HAB_CAAM_UNLOCK_RNG = 0x02
HAB_CAAM_INIT_RNG = 0x02
HAB_SNVS_UNLOCK_LP_SWR = 0x01
HAB_SNVS_UNLOCK_ZMK_WRITE = 0x02
HAB_OCOTP_UNLOCK_FIELD_RETURN = 0x01
HAB_OCOTP_UNLOCK_SRK_REVOKE = 0x02
HAB_OCOTP_UNLOCK_SCS = 0x04
HAB_OCOTP_UNLOCK_JTAG = 0x08

COMMAND_NAMES = {
    HAB_CMD_SET: "Set", HAB_CMD_INS_KEY: "Install Key", HAB_CMD_AUT_DAT: "Authenticate Data",
    HAB_CMD_WRT_DAT: "Write Data", HAB_CMD_CHK_DAT: "Check Data", HAB_CMD_NOP: "NOP",
    HAB_CMD_INIT: "Init", HAB_CMD_UNLK: "Unlock",
}

CSF_VERSIONS = (0x40, 0x41, 0x42, 0x43, 0x44, 0x45)
"""CSF ``Version`` 4.0 .. 4.5 as the header parameter byte."""


def _hdr(tag: int, length: int, par: int) -> bytes:
    return struct.pack(">BHB", tag, length, par)


@dataclass(frozen=True)
class InstallKey:
    """Install Key (``BE 000C flg | pcl alg src tgt | key_dat``, + certificate hash if HSH).

    ``key_dat`` is the offset of the key material (SRK table, certificate blob) from the
    CSF start, or an absolute address with ``HAB_CMD_INS_KEY_ABS``. ``src`` is the SRK index
    (0-based) for Install SRK, else the verifying key slot; ``tgt`` is the slot installed.
    """

    flags: int
    pcl: int
    alg: int
    src: int
    tgt: int
    key_dat: int
    crt_hash: bytes = b""

    @classmethod
    def srk(cls, table_offset: int, srk_index: int) -> "InstallKey":
        """``[Install SRK]``: SRK table at ``table_offset``, ``srk_index`` 0..3 (CST ``Source index``)."""
        return cls(HAB_CMD_INS_KEY_CLR, HAB_PCL_SRK, HAB_ALG_SHA256, srk_index, HAB_IDX_SRK, table_offset)

    @classmethod
    def csfk(cls, cert_offset: int) -> "InstallKey":
        """``[Install CSFK]``: CSFK X.509 certificate verified with the SRK, into slot 1."""
        return cls(HAB_CMD_INS_KEY_CSF, HAB_PCL_X509, HAB_ALG_ANY, HAB_IDX_SRK, HAB_IDX_CSFK, cert_offset)

    @classmethod
    def nocak(cls, cert_offset: int) -> "InstallKey":
        """``[Install NOCAK]`` (fast authentication): the SRK's own certificate into slot 1."""
        return cls(HAB_CMD_INS_KEY_CSF, HAB_PCL_X509, HAB_ALG_ANY, HAB_IDX_SRK, HAB_IDX_CSFK, cert_offset)

    @classmethod
    def img(cls, cert_offset: int, target: int = 2, source: int = HAB_IDX_SRK) -> "InstallKey":
        """``[Install Key]``: an IMG certificate verified with slot ``source`` into slot ``target``."""
        return cls(HAB_CMD_INS_KEY_CLR, HAB_PCL_X509, HAB_ALG_ANY, source, target, cert_offset)

    def build(self) -> bytes:
        length = 12 + len(self.crt_hash)
        return (
            _hdr(HAB_CMD_INS_KEY, length, self.flags)
            + bytes([self.pcl, self.alg, self.src, self.tgt])
            + struct.pack(">I", self.key_dat)
            + self.crt_hash
        )

    def describe(self) -> dict:
        if self.pcl == HAB_PCL_SRK:
            name = "Install SRK"
        elif self.flags & HAB_CMD_INS_KEY_CSF:
            name = "Install CSFK"
        else:
            name = "Install Key"
        return {
            "command": name,
            "flags": self.flags,
            "protocol": self.pcl,
            "algorithm": self.alg,
            "source_index": self.src,
            "target_index": self.tgt,
            "key_offset": self.key_dat,
        }


@dataclass(frozen=True)
class Authenticate:
    """Authenticate Data / Authenticate CSF (``CA len flg | key pcl eng cfg | aut_start | blocks``).

    ``key`` is the verifying slot (1 = CSFK for Authenticate CSF, 2..4 image keys);
    ``aut_start`` the offset of the signature blob from the CSF start; ``blocks`` a tuple
    of ``(absolute start address, length in bytes)``. Authenticate CSF has no blocks and
    covers the CSF header and commands.
    """

    key: int
    aut_start: int
    blocks: tuple[tuple[int, int], ...] = ()
    pcl: int = HAB_PCL_CMS
    eng: int = HAB_ENG_ANY
    cfg: int = 0
    flags: int = HAB_CMD_AUT_DAT_CLR

    def build(self) -> bytes:
        length = 12 + 8 * len(self.blocks)
        out = _hdr(HAB_CMD_AUT_DAT, length, self.flags) + bytes([self.key, self.pcl, self.eng, self.cfg])
        out += struct.pack(">I", self.aut_start)
        for start, size in self.blocks:
            out += struct.pack(">II", start, size)
        return out

    def describe(self) -> dict:
        return {
            "command": "Authenticate Data" if self.blocks else "Authenticate CSF",
            "verification_index": self.key,
            "protocol": self.pcl,
            "engine": ENGINE_NAMES.get(self.eng, f"0x{self.eng:02x}"),
            "engine_configuration": self.cfg,
            "signature_offset": self.aut_start,
            "blocks": [{"start": s, "length": n} for s, n in self.blocks],
        }


@dataclass(frozen=True)
class Unlock:
    """Unlock (``B2 len eng | values``): leave engine features unlocked for later software.

    ``values`` are big-endian u32 words: CAAM ``[HAB_CAAM_UNLOCK_MID | ..._RNG]``, SNVS
    ``[LP_SWR | ZMK_WRITE]``, OCOTP ``[features]`` (+ 2 words of UID for FIELD_RETURN/JTAG/SCS).
    """

    eng: int
    values: tuple[int, ...] = ()

    def build(self) -> bytes:
        body = b"".join(struct.pack(">I", v) for v in self.values)
        return _hdr(HAB_CMD_UNLK, 4 + len(body), self.eng) + body

    def describe(self) -> dict:
        return {"command": "Unlock", "engine": ENGINE_NAMES.get(self.eng, f"0x{self.eng:02x}"), "values": list(self.values)}


@dataclass(frozen=True)
class Init:
    """Init (``B4 len eng | values``): initialise engine features, e.g. CAAM ``[HAB_CAAM_INIT_RNG]``."""

    eng: int
    values: tuple[int, ...] = ()

    def build(self) -> bytes:
        body = b"".join(struct.pack(">I", v) for v in self.values)
        return _hdr(HAB_CMD_INIT, 4 + len(body), self.eng) + body

    def describe(self) -> dict:
        return {"command": "Init", "engine": ENGINE_NAMES.get(self.eng, f"0x{self.eng:02x}"), "values": list(self.values)}


@dataclass(frozen=True)
class SetEngine:
    """Set (``B1 0008 itm | 00 alg eng cfg``); item 3 selects the default engine for ``alg``."""

    eng: int
    alg: int = HAB_ALG_ANY
    cfg: int = 0
    item: int = HAB_VAR_CFG_ITM_ENG

    def build(self) -> bytes:
        return _hdr(HAB_CMD_SET, 8, self.item) + bytes([0, self.alg, self.eng, self.cfg])

    def describe(self) -> dict:
        return {"command": "Set", "item": self.item, "algorithm": self.alg, "engine": ENGINE_NAMES.get(self.eng, f"0x{self.eng:02x}"), "engine_configuration": self.cfg}


@dataclass(frozen=True)
class Nop:
    """NOP (``C0 0004 00``)."""

    def build(self) -> bytes:
        return _hdr(HAB_CMD_NOP, 4, 0)

    def describe(self) -> dict:
        return {"command": "NOP"}


@dataclass(frozen=True)
class RawCommand:
    """A command this module does not model (Write Data, Check Data...), kept verbatim."""

    tag: int
    par: int
    body: bytes = b""

    def build(self) -> bytes:
        return _hdr(self.tag, 4 + len(self.body), self.par) + self.body

    def describe(self) -> dict:
        return {"command": f"tag 0x{self.tag:02x}", "parameter": self.par, "body": self.body.hex()}


Command = InstallKey | Authenticate | Unlock | Init | SetEngine | Nop | RawCommand


@dataclass(frozen=True)
class Csf:
    """A CSF command area: version (0x40..0x45) and the commands in order.

    ``build()`` gives ``D4 LLLL VV`` + commands, the bytes Authenticate CSF signs.
    """

    commands: tuple[Command, ...] = field(default_factory=tuple)
    version: int = 0x40

    def build(self) -> bytes:
        body = b"".join(c.build() for c in self.commands)
        if 4 + len(body) > 0xFFFF:
            raise FormatError(f"CSF command area of {4 + len(body)} bytes exceeds 65535", field="CSF header")
        return _hdr(HAB_TAG_CSF, 4 + len(body), self.version) + body

    @property
    def length(self) -> int:
        """Header + commands, in bytes (the header's length field)."""
        return 4 + sum(len(c.build()) for c in self.commands)

    @classmethod
    def parse(cls, data: bytes, offset: int = 0) -> "Csf":
        """Parse the CSF header and commands at ``offset``.

        Raises:
            FormatError: wrong tag, length past the end of ``data``, malformed command.
        """
        _, length, version = expect_hab_structure(data, offset, HAB_TAG_CSF, "CSF header")
        return cls(tuple(parse_commands(data[offset + 4 : offset + length], offset + 4)), version)


def parse_commands(data: bytes, base: int = 0) -> list[Command]:
    """Parse back-to-back commands filling ``data``; ``base`` only shifts error offsets.

    Raises:
        FormatError: truncated command or a length that does not match the command.
    """
    out: list[Command] = []
    pos = 0
    while pos < len(data):
        if pos + 4 > len(data):
            raise FormatError("command header truncated", offset=base + pos, field="CSF command")
        tag, length, par = struct.unpack_from(">BHB", data, pos)
        if length < 4 or pos + length > len(data):
            raise FormatError(f"command 0x{tag:02x} length {length} runs past the CSF command area", offset=base + pos, field="CSF command")
        cmd = bytes(data[pos : pos + length])
        out.append(_parse_command(tag, length, par, cmd, base + pos))
        pos += length
    return out


def _parse_command(tag: int, length: int, par: int, cmd: bytes, where: int) -> Command:
    if tag == HAB_CMD_INS_KEY:
        if length < 12:
            raise FormatError(f"Install Key length {length} (expected >= 12)", offset=where, field="CSF command")
        pcl, alg, src, tgt = cmd[4:8]
        (key_dat,) = struct.unpack_from(">I", cmd, 8)
        return InstallKey(par, pcl, alg, src, tgt, key_dat, cmd[12:])
    if tag == HAB_CMD_AUT_DAT:
        if length < 12 or (length - 12) % 8:
            raise FormatError(f"Authenticate Data length {length} (expected 12 + 8 per block)", offset=where, field="CSF command")
        key, pcl, eng, cfg = cmd[4:8]
        (aut_start,) = struct.unpack_from(">I", cmd, 8)
        blocks = tuple(struct.unpack_from(">II", cmd, 12 + 8 * i) for i in range((length - 12) // 8))
        return Authenticate(key, aut_start, blocks, pcl, eng, cfg, par)
    if tag in (HAB_CMD_UNLK, HAB_CMD_INIT):
        if (length - 4) % 4:
            raise FormatError(f"command 0x{tag:02x} length {length} (expected 4 + 4 per value)", offset=where, field="CSF command")
        values = struct.unpack(f">{(length - 4) // 4}I", cmd[4:])
        return (Unlock if tag == HAB_CMD_UNLK else Init)(par, tuple(values))
    if tag == HAB_CMD_SET and length == 8:
        return SetEngine(eng=cmd[6], alg=cmd[5], cfg=cmd[7], item=par)
    if tag == HAB_CMD_NOP and length == 4:
        return Nop()
    return RawCommand(tag, par, cmd[4:])


# --- blobs (certificates, signatures) -----------------------------------------------------


def build_blob(tag: int, payload: bytes, version: int = 0x40) -> bytes:
    """A CST-style blob: ``tag LLLL VV`` + payload, LLLL = 4 + len(payload) (no pad counted).

    The caller pads to a 4-byte boundary (CST writes zeros that the length excludes).
    """
    if 4 + len(payload) > 0xFFFF:
        raise FormatError(f"blob of {len(payload)} bytes is too large for a HAB header", field="CSF blob")
    return _hdr(tag, 4 + len(payload), version) + payload


def parse_blob(data: bytes, offset: int, tag: int | None = None) -> tuple[int, int, bytes]:
    """Read the blob at ``offset``: ``(tag, version, payload)``.

    habtool writes a length that includes the pad; its payload then carries trailing zeros
    after the DER, which DER parsers ignore. Raises :class:`FormatError` on a wrong tag or a
    length past the end.
    """
    t, length, version = expect_hab_structure(data, offset, tag, "CSF blob")
    return t, version, bytes(data[offset + 4 : offset + length])


def der_length(data: bytes) -> int:
    """Length of the DER element at the start of ``data`` (to drop habtool's trailing pad).

    Raises:
        FormatError: not a DER SEQUENCE or truncated.
    """
    if len(data) < 2 or data[0] != 0x30:
        raise FormatError("blob payload is not a DER SEQUENCE", field="CSF blob")
    first = data[1]
    if first < 0x80:
        return 2 + first
    n = first & 0x7F
    if n == 0 or n > 4 or len(data) < 2 + n:
        raise FormatError("bad DER length in blob payload", field="CSF blob")
    total = 2 + n + int.from_bytes(data[2 : 2 + n], "big")
    if total > len(data):
        raise FormatError("DER element runs past the blob", field="CSF blob")
    return total


# --- HAB event log (HABv4 API RM "hab_rvt.report_event", U-Boot ``hab_status``) ----------------

HAB_STATUS_NAMES = {0x00: "HAB_STS_ANY", 0x33: "HAB_FAILURE", 0x69: "HAB_WARNING", 0xF0: "HAB_SUCCESS"}
HAB_REASON_NAMES = {
    0x00: "HAB_RSN_ANY", 0x01: "HAB_ENG_FAIL_OLD", 0x03: "HAB_UNS_COMMAND", 0x05: "HAB_INV_IVT",
    0x06: "HAB_INV_COMMAND", 0x09: "HAB_UNS_STATE", 0x0A: "HAB_UNS_ENGINE", 0x0C: "HAB_INV_ASSERTION",
    0x0F: "HAB_INV_INDEX", 0x11: "HAB_INV_CSF", 0x12: "HAB_UNS_ALGORITHM", 0x14: "HAB_UNS_PROTOCOL",
    0x17: "HAB_INV_SIZE", 0x18: "HAB_INV_SIGNATURE", 0x1B: "HAB_UNS_KEY", 0x1D: "HAB_INV_KEY",
    0x1E: "HAB_INV_RETURN", 0x21: "HAB_INV_CERTIFICATE", 0x22: "HAB_INV_ADDRESS", 0x24: "HAB_UNS_ITEM",
    0x27: "HAB_INV_DCD", 0x28: "HAB_INV_CALL", 0x2B: "HAB_OVR_COUNT", 0x2D: "HAB_OVR_STORAGE",
    0x2E: "HAB_MEM_FAIL", 0x30: "HAB_ENG_FAIL",
}
HAB_CONTEXT_NAMES = {
    0x00: "HAB_CTX_ANY", 0xFF: "HAB_CTX_FAB", 0xE1: "HAB_CTX_ENTRY", 0x33: "HAB_CTX_TARGET",
    0x0A: "HAB_CTX_AUTHENTICATE", 0xDD: "HAB_CTX_DCD", 0xCF: "HAB_CTX_CSF", 0xC0: "HAB_CTX_COMMAND",
    0xDB: "HAB_CTX_AUT_DAT", 0xA0: "HAB_CTX_ASSERT", 0xEE: "HAB_CTX_EXIT",
}
HAB_CONFIG_NAMES = {0xF0: "HAB_CFG_OPEN", 0xCC: "HAB_CFG_CLOSED", 0x33: "HAB_CFG_RETURN"}
HAB_STATE_NAMES = {
    0x33: "HAB_STATE_INITIAL", 0x55: "HAB_STATE_CHECK", 0x66: "HAB_STATE_NONSECURE",
    0x99: "HAB_STATE_TRUSTED", 0xAA: "HAB_STATE_SECURE", 0xCC: "HAB_STATE_FAIL_SOFT",
    0xFF: "HAB_STATE_FAIL_HARD", 0xF0: "HAB_STATE_NONE",
}
HAB_ASSERT_NAMES = {0x00: "HAB_ASSERT_BLOCK"}


def _name(table: dict, value: int) -> str:
    return table.get(value, f"unknown 0x{value:02x}")


@dataclass(frozen=True)
class HabEvent:
    """One HAB event record ``DB LLLL VV | sts rsn ctx eng | data``.

    ``data`` is context-specific: the failing command for ``HAB_CTX_COMMAND``; for
    ``HAB_CTX_ASSERT`` an assertion type, address and length (big-endian u32 each).
    """

    status: int
    reason: int
    context: int
    engine: int
    data: bytes = b""
    version: int = 0x42

    def build(self) -> bytes:
        return _hdr(HAB_TAG_EVT, 8 + len(self.data), self.version) + bytes([self.status, self.reason, self.context, self.engine]) + self.data

    def describe(self) -> dict:
        out = {
            "status": _name(HAB_STATUS_NAMES, self.status),
            "reason": _name(HAB_REASON_NAMES, self.reason),
            "context": _name(HAB_CONTEXT_NAMES, self.context),
            "engine": "HAB_ENG_" + ENGINE_NAMES[self.engine] if self.engine in ENGINE_NAMES else f"unknown 0x{self.engine:02x}",
            "version": f"{self.version >> 4}.{self.version & 0xF}",
            "data": self.data.hex(),
        }
        if self.context == 0xA0 and len(self.data) >= 12:  # HAB_CTX_ASSERT: type, address, length
            kind, addr, length = struct.unpack_from(">III", self.data)
            out["assertion"] = {"type": _name(HAB_ASSERT_NAMES, kind), "address": addr, "length": length}
        elif self.context == HAB_CMD_NOP and len(self.data) >= 4:  # HAB_CTX_COMMAND: the command itself
            try:
                out["command"] = parse_commands(self.data[: struct.unpack_from(">H", self.data, 1)[0]])[0].describe()
            except (FormatError, struct.error, IndexError):  # the ROM may log a truncated command
                out["command"] = {"command": COMMAND_NAMES.get(self.data[0], f"tag 0x{self.data[0]:02x}"), "truncated": True}
        return out


def parse_events(data: bytes) -> list[HabEvent]:
    """Find HAB event records (tag 0xDB, version 0x4x, length >= 8) in raw bytes, in order."""
    events: list[HabEvent] = []
    pos = 0
    while pos + 8 <= len(data):
        if data[pos] == HAB_TAG_EVT and data[pos + 3] & 0xF0 == 0x40:
            length = (data[pos + 1] << 8) | data[pos + 2]
            if 8 <= length and pos + length <= len(data):
                rec = data[pos : pos + length]
                events.append(HabEvent(rec[4], rec[5], rec[6], rec[7], bytes(rec[8:]), rec[3]))
                pos += length
                continue
        pos += 1
    return events


@dataclass(frozen=True)
class EventLog:
    """A decoded HAB status dump: ``config``/``state`` (``None`` when not printed) and events."""

    config: int | None
    state: int | None
    events: tuple[HabEvent, ...]

    def describe(self) -> dict:
        return {
            "config": None if self.config is None else _name(HAB_CONFIG_NAMES, self.config),
            "state": None if self.state is None else _name(HAB_STATE_NAMES, self.state),
            "events": [e.describe() for e in self.events],
        }


def _hex_line_bytes(line: str) -> bytes | None:
    import re

    text = line.split("|")[0] if line.count("|") >= 2 else line  # hexdump -C ascii column
    text = text.replace(",", " ").strip()
    text = re.sub(r"^(event data:|[0-9a-fA-F]{4,8}:?)\s+", "", text) if re.match(r"^(event data:|[0-9a-fA-F]{4,8}:?\s)", text) else text
    tokens = text.split()
    if not tokens:
        return None
    out = bytearray()
    for tok in tokens:
        tok = tok[2:] if tok.lower().startswith("0x") else tok
        if not re.fullmatch(r"[0-9a-fA-F]+", tok) or len(tok) % 2:
            return None
        out += bytes.fromhex(tok)
    return bytes(out)


def parse_event_log(data: bytes) -> EventLog:
    """Decode a HAB event log: raw event bytes, or text as U-Boot ``hab_status`` or TamaGo
    print it (``0xdb 0x00 0x14 0x42 ...``, ``db001442...``, ``hexdump`` output).

    Raises:
        FormatError: no HAB event and no HAB configuration/state found.
    """
    import re

    try:
        text = data.decode("ascii")
        is_text = all(ch.isprintable() or ch in "\r\n\t" for ch in text)
    except UnicodeDecodeError:
        is_text = False
    config = state = None
    if is_text:
        m = re.search(r"HAB Configuration:\s*(0x[0-9a-fA-F]+)\s*,\s*HAB State:\s*(0x[0-9a-fA-F]+)", text)
        if m:
            config, state = int(m.group(1), 16), int(m.group(2), 16)
        events: list[HabEvent] = []
        chunk = bytearray()
        for line in text.splitlines():
            raw = _hex_line_bytes(line)
            if raw is not None:
                chunk += raw
            elif chunk:
                events += parse_events(bytes(chunk))
                chunk.clear()
        events += parse_events(bytes(chunk))
        if not events and config is None and "No HAB Events Found" not in text:
            raise FormatError("no HAB event (tag 0xdb) and no 'HAB Configuration' line found", field="HAB event log")
        return EventLog(config, state, tuple(events))
    events = parse_events(data)
    if not events:
        raise FormatError("no HAB event record (tag 0xdb, version 0x4x) found", field="HAB event log")
    return EventLog(None, None, tuple(events))
