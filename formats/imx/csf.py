"""HABv4 Command Sequence File (CSF): header, commands, certificate/signature blobs.

Source: HABv4 API Reference Manual ("Command Sequence File", "Commands",
``hab_types.h`` names), CST User Guide (CSF description keywords); reference/imx-hab.md
§3.1, §3.6. The HAB event log (records the ROM writes, decoded from U-Boot
``hab_status`` output) is :mod:`formats.imx.habevents`. A CSF is ``D4 LLLL VV`` followed by commands; ``LLLL`` (big-endian)
counts the header and the commands only, the certificates and signatures that follow are
found through the offsets in the commands. Each command here is a small value with
``build() -> bytes``; :func:`parse_commands` gives them back.

All multi-byte fields are big-endian.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import ClassVar

from formats.errors import FormatError
from formats.imx.ivt import expect_hab_structure, hab_header

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


def engine_name(eng: int) -> str:
    """The CST keyword of engine ``eng`` (``SW``, ``CAAM``...), or ``0x..`` when unknown."""
    return ENGINE_NAMES.get(eng, f"0x{eng:02x}")


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
            hab_header(HAB_CMD_INS_KEY, length, self.flags)
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
        out = hab_header(HAB_CMD_AUT_DAT, length, self.flags) + bytes([self.key, self.pcl, self.eng, self.cfg])
        out += struct.pack(">I", self.aut_start)
        for start, size in self.blocks:
            out += struct.pack(">II", start, size)
        return out

    def describe(self) -> dict:
        return {
            "command": "Authenticate Data" if self.blocks else "Authenticate CSF",
            "verification_index": self.key,
            "protocol": self.pcl,
            "engine": engine_name(self.eng),
            "engine_configuration": self.cfg,
            "signature_offset": self.aut_start,
            "blocks": [{"start": s, "length": n} for s, n in self.blocks],
        }


@dataclass(frozen=True)
class _EngineValues:
    """A command ``tag len eng | values`` with big-endian u32 values (Unlock, Init)."""

    TAG: ClassVar[int]
    NAME: ClassVar[str]

    eng: int
    values: tuple[int, ...] = ()

    def build(self) -> bytes:
        body = b"".join(struct.pack(">I", v) for v in self.values)
        return hab_header(self.TAG, 4 + len(body), self.eng) + body

    def describe(self) -> dict:
        return {"command": self.NAME, "engine": engine_name(self.eng), "values": list(self.values)}


@dataclass(frozen=True)
class Unlock(_EngineValues):
    """Unlock (``B2 len eng | values``): leave engine features unlocked for later software.

    ``values`` are big-endian u32 words: CAAM ``[HAB_CAAM_UNLOCK_MID | ..._RNG]``, SNVS
    ``[LP_SWR | ZMK_WRITE]``, OCOTP ``[features]`` (+ 2 words of UID for FIELD_RETURN/JTAG/SCS).
    """

    TAG: ClassVar[int] = HAB_CMD_UNLK
    NAME: ClassVar[str] = "Unlock"


@dataclass(frozen=True)
class Init(_EngineValues):
    """Init (``B4 len eng | values``): initialise engine features, e.g. CAAM ``[HAB_CAAM_INIT_RNG]``."""

    TAG: ClassVar[int] = HAB_CMD_INIT
    NAME: ClassVar[str] = "Init"


@dataclass(frozen=True)
class SetEngine:
    """Set (``B1 0008 itm | 00 alg eng cfg``); item 3 selects the default engine for ``alg``."""

    eng: int
    alg: int = HAB_ALG_ANY
    cfg: int = 0
    item: int = HAB_VAR_CFG_ITM_ENG

    def build(self) -> bytes:
        return hab_header(HAB_CMD_SET, 8, self.item) + bytes([0, self.alg, self.eng, self.cfg])

    def describe(self) -> dict:
        return {"command": "Set", "item": self.item, "algorithm": self.alg, "engine": engine_name(self.eng), "engine_configuration": self.cfg}


@dataclass(frozen=True)
class Nop:
    """NOP (``C0 0004 00``)."""

    def build(self) -> bytes:
        return hab_header(HAB_CMD_NOP, 4, 0)

    def describe(self) -> dict:
        return {"command": "NOP"}


@dataclass(frozen=True)
class RawCommand:
    """A command this module does not model (Write Data, Check Data...), kept verbatim."""

    tag: int
    par: int
    body: bytes = b""

    def build(self) -> bytes:
        return hab_header(self.tag, 4 + len(self.body), self.par) + self.body

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
        return hab_header(HAB_TAG_CSF, 4 + len(body), self.version) + body

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
    return hab_header(tag, 4 + len(payload), version) + payload


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
    from formats.der import element

    if len(data) < 2 or data[0] != 0x30:
        raise FormatError("blob payload is not a DER SEQUENCE", field="CSF blob")
    try:
        return element(bytes(data))[2]
    except FormatError as exc:
        raise FormatError(f"blob payload: {exc.message}", field="CSF blob") from None
