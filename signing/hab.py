"""HABv4 CSF assembly in NXP CST 4.x's layout (or CST 3.3.1's), and signing of ``.imx`` images.

Source: HABv4 API Reference Manual ("CSF", "Install Key", "Authenticate Data"); CST User
Guide (CSF description: ``[Header]``, ``[Install SRK]``, ``[Install CSFK]``,
``[Authenticate CSF]``, ``[Install Key]``, ``[Authenticate Data]``); reference/imx-hab.md
§3.6-§3.9 and the CST 4.0.1 hexdump of §6 step 7, which :func:`assemble_csf` reproduces;
Debian's CST 3.3.1 (``/usr/bin/cst``, run by the tests through ``tests/c/cst_shim.c``), which
``layout="cst3"`` reproduces byte for byte.

CSF layout ``cst4``, NXP CST 4.x (all offsets from the CSF start, every blob 4-byte
aligned, zero pad)::

    D4 LLLL VV  commands          LLLL = header + commands only (what Authenticate CSF signs)
    SRK table   D7 LLLL 40 ...    (table version stays 0x40)
    CSFK cert   D7 LLLL VV DER    LLLL = 4 + DER length (the pad is not counted)
    IMG cert    D7 LLLL VV DER
    IMG sig(s)  D8 LLLL VV CMS    one per Authenticate Data command, in command order
    CSF sig     D8 LLLL VV CMS    last, so its length moves nothing else

Layout ``cst3``, CST 3.3.1: the same blobs in the order of the commands that use them
(SRK table, CSFK certificate, CSF signature, IMG certificate, image signatures); the CSF
signature's room is its length over a header of the same length (exact for RSA).

The signed image is ``imx || CSF`` zero-padded to the CSF reservation. The SDP
(serial download) flavour signs a copy whose IVT.dcd is 0 and adds an Authenticate Data
over the DCD as the loader places it in OCRAM (the board's ``sdp_dcd_address``, 0x00910000
on i.MX6); its file is the unmodified
``.imx`` followed by that CSF (the SDP loader zeroes IVT.dcd itself, as habtool ``-s``).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, replace

from formats.align import align_up
from formats.imx import csf as C
from formats.imx import srk as srkfmt
from formats.imx.image import SDP_DCD_ADDRESS
from signing import cms
from signing.errors import CsfTooLargeError, SigningError
from signing.hab_verify import VerifyReport, describe_csf, verify_imx  # noqa: F401  (re-exported)
from signing.pki import HabKeys

__all__ = ["AuthBlock", "CSF_LAYOUTS", "ENGINES", "SDP_DCD_ADDRESS", "SignedImx", "VerifyReport", "assemble_csf", "describe_csf",
           "parse_csf_version", "parse_engine", "sign_imx", "verify_imx"]

#: Largest CSF reservation signed (bytes): a CSF's header carries a 16-bit length (HABv4
#: RM, "CSF header"), so a boot data length reserving more after IVT.csf is damage, and
#: padding up to it would only make a huge image.
CSF_RESERVE_MAX = 0x10000

ENGINES = {name.lower(): eng for eng, name in C.ENGINE_NAMES.items()}
"""CST ``Engine =`` keywords (lower case) -> engine id: ``any``, ``sw``, ``dcp``, ``caam``..."""


def _der(cert) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return cert.public_bytes(serialization.Encoding.DER)


@dataclass(frozen=True)
class AuthBlock:
    """One ``[Authenticate Data]``: absolute ``blocks`` ``((address, bytes), ...)`` and the
    exact bytes they hold (``data``, concatenated in block order) that get signed."""

    blocks: tuple[tuple[int, int], ...]
    data: bytes


def assemble_csf(
    keys: HabKeys,
    auths: list[AuthBlock],
    *,
    engine: int,
    signing_time: _dt.datetime,
    srk_index: int | None = None,
    version: int = 0x40,
    engine_cfg: int = 0,
    nocak: bool = False,
    extra_commands: tuple = (),
    layout: str = "cst4",
) -> bytes:
    """Build and sign a CSF (unpadded) in NXP CST 4.x's layout, or CST 3.3.1's.

    Args:
        keys: the SRK table and the CSF and IMG signers (:class:`signing.pki.HabKeys`).
        auths: the Authenticate Data commands to emit, in order.
        engine: HAB engine id for authentication (``HAB_ENG_ANY`` 0x00, ``HAB_ENG_SW``
            0xFF for i.MX6ULL/ULZ because of ERR010449, ``HAB_ENG_CAAM``, ``HAB_ENG_DCP``).
        signing_time: CMS signingTime of every signature.
        srk_index: SRK used, 1..4 (CSF ``Source index`` = srk_index - 1); default
            ``keys.srk_index``.
        version: CSF version byte 0x40..0x45 (header, certificate and signature blobs).
        engine_cfg: engine configuration byte (0 with ANY).
        nocak: fast authentication: ``keys.csf`` is the SRK key itself; emits Install NOCAK
            and Authenticate Data with key 0, no IMG certificate.
        extra_commands: commands from :mod:`formats.imx.csf` (Unlock, Init, Set, NOP) put
            after the Authenticate Data commands.
        layout: the blob order, one of :data:`CSF_LAYOUTS`: ``"cst4"`` (byte-identical to
            NXP CST 4.0.1) or ``"cst3"`` (byte-identical to Debian's CST 3.3.1). The blobs,
            and the commands but for their offsets, are the same in both.

    Returns:
        The CSF bytes (3800 bytes for RSA-2048, 4 SRKs, one image block).

    Raises:
        SigningError: bad version, engine or SRK index; signer failures.
    """
    if version not in C.CSF_VERSIONS:
        raise SigningError(f"CSF version 0x{version:02x} is not one of 4.0..4.5 (0x40..0x45)")
    if not 0 <= engine <= 0xFF or engine not in C.ENGINE_NAMES:
        raise SigningError(f"engine 0x{engine:02x} is not a HAB engine ({', '.join(sorted(ENGINES))})")
    if not auths:
        raise SigningError("nothing to authenticate: give at least one block")
    if layout not in CSF_LAYOUTS:
        raise SigningError(f"{layout!r} is not one of {', '.join(CSF_LAYOUTS)}", field="csf_layout")
    if srk_index is None:
        srk_index = keys.srk_index
    table = keys.srk_table
    n_keys = len(srkfmt.table_entries_raw(table))
    if not 1 <= srk_index <= n_keys:
        raise SigningError(f"SRK index {srk_index} is out of range; the SRK table holds {n_keys} key(s), use 1..{n_keys}")

    # Image signatures first: they do not depend on the CSF.
    img_signer = keys.csf if nocak else keys.img
    img_sigs = [cms.sign(a.data, img_signer, signing_time) for a in auths]
    data_key = C.HAB_IDX_SRK if nocak else C.HAB_IDX_IMG_MIN

    def commands(offsets: dict) -> list:
        cmds = [C.InstallKey.srk(offsets["table"], srk_index - 1)]
        cmds.append(C.InstallKey.nocak(offsets["csfk"]) if nocak else C.InstallKey.csfk(offsets["csfk"]))
        cmds.append(C.Authenticate(C.HAB_IDX_CSFK, offsets["csf_sig"], (), C.HAB_PCL_CMS, engine, engine_cfg))
        if not nocak:
            cmds.append(C.InstallKey.img(offsets["img"], C.HAB_IDX_IMG_MIN))
        for a, off in zip(auths, offsets["img_sigs"]):
            cmds.append(C.Authenticate(data_key, off, a.blocks, C.HAB_PCL_CMS, engine, engine_cfg))
        cmds.extend(extra_commands)
        return cmds

    dummy = {"table": 0, "csfk": 0, "csf_sig": 0, "img": 0, "img_sigs": [0] * len(auths)}
    cmd_len = C.Csf(tuple(commands(dummy)), version).length
    csfk_blob = C.build_blob(C.HAB_TAG_CRT, _der(keys.csf.certificate), version)
    img_blob = b"" if nocak else C.build_blob(C.HAB_TAG_CRT, _der(keys.img.certificate), version)
    sig_blobs = [C.build_blob(C.HAB_TAG_SIG, sig, version) for sig in img_sigs]
    # The CSF signature's room: CST 3.3.1 places it before the IMG certificate, so its
    # length is predicted from a signature over a header of the same length (exact for
    # RSA; an ECDSA signature that comes out longer moves the blobs after it, and the
    # header is signed again).
    room = 0
    if layout == "cst3":
        room = len(C.build_blob(C.HAB_TAG_SIG, cms.sign(bytes(cmd_len), keys.csf, signing_time), version))
    while True:
        offsets, blobs = _place(layout, align_up(cmd_len, 4), bytes(table), csfk_blob, img_blob, sig_blobs, room)
        header = C.Csf(tuple(commands(offsets)), version).build()
        assert len(header) == cmd_len
        csf_sig = C.build_blob(C.HAB_TAG_SIG, cms.sign(header, keys.csf, signing_time), version)
        if layout == "cst4" or len(csf_sig) <= room:
            break
        room = len(csf_sig)
    blobs[offsets["csf_sig"]] = csf_sig
    out = bytearray(header)
    for at in sorted(blobs):
        out += bytes(at - len(out)) + blobs[at]
    return bytes(out + bytes(align_up(len(out), 4) - len(out)))


CSF_LAYOUTS = ("cst4", "cst3")
"""Blob orders of :func:`assemble_csf`: ``cst4`` NXP CST 4.x (the CSF signature last),
``cst3`` NXP CST 3.3.1 as Debian ships it (each blob in the order of the command that
uses it: SRK table, CSFK certificate, CSF signature, IMG certificate, image signatures)."""


def _place(layout: str, start: int, table: bytes, csfk: bytes, img: bytes, sigs: list[bytes],
           csf_sig_room: int) -> tuple[dict, dict[int, bytes]]:
    """The blob offsets from ``start`` on, each 4-byte aligned: ``(offsets, {offset: blob})``.

    The CSF signature's offset is reserved (its blob is added by the caller); in ``cst4``
    it comes last, in ``cst3`` it takes ``csf_sig_room`` bytes after the CSFK certificate.
    """
    order = ("table", "csfk", "img", "sigs", "csf_sig") if layout == "cst4" else ("table", "csfk", "csf_sig", "img", "sigs")
    parts = {"table": [table], "csfk": [csfk], "img": [img] if img else [], "sigs": sigs, "csf_sig": [b""]}
    offsets: dict = {"img": 0, "img_sigs": []}
    blobs: dict[int, bytes] = {}
    pos = start
    for name in order:
        for blob in parts[name]:
            if name == "sigs":
                offsets["img_sigs"].append(pos)
            else:
                offsets[name] = pos
            if blob:
                blobs[pos] = blob
            pos = align_up(pos + (csf_sig_room if name == "csf_sig" else len(blob)), 4)
    return offsets, blobs


@dataclass(frozen=True)
class SignedImx:
    """Result of :func:`sign_imx`.

    Attributes:
        data: the signed image, ``imx || CSF`` zero-padded to ``csf_size`` (bytes).
        csf: the CSF itself (unpadded).
        csf_size: the CSF reservation in bytes.
        sdp: the SDP-flavour signed image (``imx || SDP CSF`` padded), or ``None``.
        sdp_csf: the SDP CSF (unpadded), or ``None``.
        srk_hash: 32-byte SRK hash (fuse value) of the table in the CSF.
        report: the verify-after-sign :class:`VerifyReport` of ``data`` (and ``sdp_report``).
    """

    data: bytes
    csf: bytes
    csf_size: int
    sdp: bytes | None
    sdp_csf: bytes | None
    srk_hash: bytes
    report: VerifyReport
    sdp_report: VerifyReport | None = None


def _pad_csf(csf: bytes, csf_size: int, what: str) -> bytes:
    if len(csf) > csf_size:
        short = len(csf) - csf_size
        raise CsfTooLargeError(
            f"{what}: the CSF needs {len(csf)} bytes (0x{len(csf):x}) but the image reserves {csf_size} "
            f"(0x{csf_size:x}): {short} bytes short; raise CSF in the imximage.cfg (board csf_size) to at "
            f"least 0x{align_up(len(csf), 0x1000):x}",
            needed=len(csf),
            available=csf_size,
        )
    return csf + b"\0" * (csf_size - len(csf))


def sign_imx(
    imx: bytes,
    keys: HabKeys,
    *,
    engine: int,
    csf_size: int | None,
    signing_time: _dt.datetime,
    srk_index: int | None = None,
    version: int = 0x40,
    sdp: bool = False,
    sdp_dcd_address: int = SDP_DCD_ADDRESS,
    layout: str = "cst4",
) -> SignedImx:
    """Sign an ``.imx`` (IVT at offset 0, as mkimage writes it) with a CSF in an NXP CST layout.

    The image block is ``(IVT.self, N)`` with N = IVT.csf - IVT.self (the whole .imx);
    an image that already carries a CSF is re-signed (the old CSF is dropped).

    Args:
        imx: the ``.imx`` bytes (IVT.csf must be set: ``CSF`` line in the cfg).
        keys: the SRK table and the CSF and IMG signers (checked here, :meth:`HabKeys.check`).
        engine: HAB engine id (``signing.hab.ENGINES["sw"]`` for i.MX6ULL/ULZ).
        csf_size: bytes reserved for the CSF (the cfg ``CSF`` value); ``None`` = what the
            boot data reserves. Must not exceed the boot data reservation.
        signing_time: CMS signingTime (from SOURCE_DATE_EPOCH or --signing-time).
        srk_index: SRK to sign with, 1..4; default ``keys.srk_index``.
        version: CSF version byte, 0x40..0x45.
        sdp: also produce the serial-download flavour.
        sdp_dcd_address: where the SDP loader writes the DCD: the board profile's
            ``sdp_dcd_address`` (default :data:`formats.imx.image.SDP_DCD_ADDRESS`,
            i.MX6 OCRAM 0x00910000).
        layout: the CSF blob order (:data:`CSF_LAYOUTS`): ``"cst4"`` as NXP CST 4.x,
            ``"cst3"`` as CST 3.3.1 writes it.

    Returns:
        :class:`SignedImx`; both flavours were verified (:func:`verify_imx`) before return.

    Raises:
        formats.errors.FormatError: the input is not a parsable .imx.
        SigningError: no CSF pointer, CSF too large (:class:`CsfTooLargeError`, says by
            how many bytes), SRK index out of range, certificates not chaining to the SRK.
    """
    from formats.imx import image as imxfmt

    img = imxfmt.parse_imx(imx)
    if not img.ivt.csf or img.csf_offset is None:
        raise SigningError("image has no CSF pointer (IVT.csf is 0); add a 'CSF 0x4000' line to the imximage.cfg and rebuild")
    n = img.csf_offset
    if len(imx) < n:
        raise SigningError(f"image is {len(imx)} bytes but IVT.csf points at offset 0x{n:x}; the .imx is truncated")
    reserve = img.csf_size
    if reserve > CSF_RESERVE_MAX:
        from formats.errors import FormatError

        bd = img.ivt.boot_data - img.ivt.self_addr
        raise FormatError(
            f"the boot data (start 0x{img.boot_data.start:08x}, length 0x{img.boot_data.length:x}) reserves "
            f"0x{reserve:x} bytes after IVT.csf, more than a CSF can use (its header length is 16 bits: at most "
            f"0x{CSF_RESERVE_MAX:x}); the boot data length or the IVT.boot_data pointer is damaged",
            offset=bd + 4, field="boot data length")
    if csf_size is None:
        csf_size = reserve
    elif csf_size > reserve:
        raise SigningError(
            f"CSF size 0x{csf_size:x} exceeds the 0x{reserve:x} bytes the boot data loads after the image; "
            f"rebuild the .imx with 'CSF 0x{csf_size:x}' in the cfg"
        )
    body = bytes(imx[:n])
    if srk_index is not None and srk_index != keys.srk_index:
        keys = replace(keys, srk_index=srk_index)
    keys.check()
    block = imxfmt.hab_blocks(img)[0]
    auths = [AuthBlock(((block[0], block[2]),), body[block[1] : block[1] + block[2]])]
    csf = assemble_csf(keys, auths, engine=engine, signing_time=signing_time, version=version, layout=layout)
    signed = body + _pad_csf(csf, csf_size, "signed image")
    report = verify_imx(signed, srk_table=keys.srk_table)
    if not report.ok:
        raise SigningError(f"verify-after-sign failed: {report.first_failure()}; the image was not written")
    sdp_bytes = sdp_csf = sdp_report = None
    if sdp:
        zeroed = imxfmt.clear_dcd_pointer(body)
        sdp_auths = [AuthBlock(((block[0], block[2]),), zeroed[block[1] : block[1] + block[2]])]
        for addr, off, length in imxfmt.dcd_blocks(img, sdp_dcd_address):
            sdp_auths.append(AuthBlock(((addr, length),), body[off : off + length]))
        sdp_csf = assemble_csf(keys, sdp_auths, engine=engine, signing_time=signing_time, version=version, layout=layout)
        sdp_bytes = body + _pad_csf(sdp_csf, csf_size, "SDP image")
        sdp_report = verify_imx(sdp_bytes, srk_table=keys.srk_table)
        if not sdp_report.ok:
            raise SigningError(f"verify-after-sign of the SDP image failed: {sdp_report.first_failure()}")
    return SignedImx(
        data=signed,
        csf=csf,
        csf_size=csf_size,
        sdp=sdp_bytes,
        sdp_csf=sdp_csf,
        srk_hash=srkfmt.table_hash(keys.srk_table),
        report=report,
        sdp_report=sdp_report,
    )


def parse_csf_version(text: str) -> int:
    """A CSF version as CST's ``Version = 4.x`` writes it (``"4.0"`` .. ``"4.5"``) -> the
    version byte 0x40 .. 0x45.

    Raises:
        SigningError: another value (``field="csf_version"``).
    """
    t = text.strip()
    if len(t) == 3 and t[:2] == "4." and t[2] in "012345":
        return 0x40 + int(t[2])
    raise SigningError(f"{text!r}, expected 4.0 .. 4.5", field="csf_version")


def parse_engine(value: str | int) -> int:
    """Engine from a CST keyword (``any``, ``sw``, ``dcp``, ``caam``...) or a number (``0xff``).

    Raises:
        SigningError: unknown engine.
    """
    if isinstance(value, int):
        eng = value
    else:
        text = value.strip().lower()
        if text in ENGINES:
            return ENGINES[text]
        try:
            eng = int(text, 0)
        except ValueError:
            raise SigningError(f"engine {value!r}: use one of {', '.join(sorted(ENGINES))} or a number") from None
    if eng not in C.ENGINE_NAMES:
        raise SigningError(f"engine 0x{eng:02x} is not a HAB engine ({', '.join(sorted(ENGINES))})")
    return eng
