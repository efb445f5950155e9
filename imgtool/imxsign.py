"""``imgtool imx sign`` and ``imgtool imx verify``: the HABv4 pipelines.

sign: ELF -> flat -> ``.imx`` (:mod:`imgtool.imxbuild`) -> CSF (:mod:`signing.hab`) ->
signed image, verified before it is returned; an existing ``.imx`` is signed as it is.
The CMS signingTime comes from the ``signing_time`` argument (``--signing-time``), else
``SOURCE_DATE_EPOCH``, else it
is derived from the content: the later ``notBefore`` of the CSF and IMG certificates, so
the same inputs always give the same bytes (the HAB ROM does not check the time).
"""

from __future__ import annotations

import datetime as _dt
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from formats.errors import FormatError
from imgtool.boards import Board
from imgtool.errors import CheckFailed, InputError
from imgtool.output import read_input
from signing.errors import SigningError

if TYPE_CHECKING:
    from signing.hab_verify import VerifyReport
    from signing.pki import HabKeys


@dataclass(frozen=True)
class TokenOptions:
    """Where the CSF and IMG private keys live when they are on a PKCS#11 token:
    the module ``library`` (e.g. ``/usr/lib/softhsm/libsofthsm2.so``), the token label,
    the user PIN, and the key labels. The key folder then provides only public parts:
    the SRK table and, where the token holds none, the CSF/IMG certificates."""

    library: str
    token: str
    pin: str
    csf_label: str = "CSF_1"
    img_label: str = "IMG_1"

    @classmethod
    def find(cls, library: str | os.PathLike[str], token: str | None, pin_file: str | os.PathLike[str] | None = None,
             csf_label: str = "CSF_1", img_label: str = "IMG_1") -> "TokenOptions":
        """The token options with the user PIN from the first line of ``pin_file``, else
        from ``$IMGTOOL_PKCS11_PIN``.

        Raises:
            InputError: no token label (``field="token"``), no PIN (``field="pin"``).
            SigningError: an unreadable or empty PIN file.
        """
        from signing.keys import user_pin

        if not token:
            raise InputError("a PKCS#11 module needs a token label", field="token")
        pin = user_pin(pin_file)
        if not pin:
            raise InputError("give the user PIN of the token in a PIN file or IMGTOOL_PKCS11_PIN", field="pin")
        return cls(str(library), token, pin, csf_label, img_label)


def _token_keys(keys_dir: str | os.PathLike[str], srk_index: int, tok: TokenOptions) -> HabKeys:
    """The token's CSF and IMG keys with the SRK table (and any certificates named by the
    key labels) from the key folder, found as :func:`signing.pki.find_key_folder` finds
    them for every layout."""
    from signing.keys import load_certificate
    from signing.pkcs11 import hab_keys_from_token
    from signing.pki import find_key_folder, load_srk_table

    kf = find_key_folder(keys_dir, srk_index, labels=(tok.csf_label, tok.img_label))
    table, _, _ = load_srk_table(kf)
    csf, img = (load_certificate(p) if p is not None else None for p in (kf.csf_certificate, kf.img_certificate))
    return hab_keys_from_token(tok.library, token_label=tok.token, pin=tok.pin, srk_table=table,
                               srk_index=srk_index, csf_label=tok.csf_label, img_label=tok.img_label,
                               csf_certificate=csf, img_certificate=img)


@dataclass(frozen=True)
class SignResult:
    """What :func:`sign_file` made: the signed SD/eMMC image, the SDP flavour (or
    ``None``), the board used (or ``None``), the SRK hash (32 bytes), the signing time,
    where it came from (``"option"``: the ``signing_time`` argument,
    ``"SOURCE_DATE_EPOCH"`` or ``"certificates"``), and the files to write
    (``[(path, bytes)]``: the signed image, then ``OUT-sdp.imx``)."""

    signed: bytes
    sdp: bytes | None
    board: Board | None
    srk_hash: bytes
    signing_time: _dt.datetime
    time_source: str
    outputs: tuple[tuple[Path, bytes], ...] = ()


def _signing_time(given: str | None, keys: HabKeys) -> tuple[_dt.datetime, str]:
    from imgtool.epoch import signing_time

    when = signing_time(given)
    if when is not None:
        return when, "option" if given else "SOURCE_DATE_EPOCH"
    return max(s.certificate.not_valid_before_utc for s in (keys.csf, keys.img)), "certificates"


def sign_file(
    path: str | os.PathLike[str],
    *,
    keys_dir: str | os.PathLike[str],
    output: str | os.PathLike[str] | None = None,
    board_name: str | None = None,
    dcd_path: str | os.PathLike[str] | None = None,
    srk_index: int = 1,
    engine: str | None = None,
    version: int = 0x40,
    sdp: bool = False,
    signing_time: str | None = None,
    password_file: str | os.PathLike[str] | None = None,
    token: TokenOptions | None = None,
    warn: Callable[[str], None] | None = None,
    compact: bool = False,
    csf_layout: str = "cst4",
) -> SignResult:
    """Sign the ELF or ``.imx`` at ``path`` with the HAB key folder ``keys_dir``.

    The engine is ``engine`` (``any``, ``sw``, ``caam``, ``dcp`` or a number) or the
    board's default (SW on i.MX6ULL/ULZ because of erratum ERR010449), else ANY; the SDP
    flavour places the DCD at the board's ``sdp_dcd_address`` (else i.MX6 OCRAM
    0x00910000). ``password_file`` holds the key password on its first line (default:
    ``key_pass.txt`` in the folder). With ``token`` the CSF and IMG keys are used on the
    PKCS#11 token and never leave it. The outputs are ``output`` (default
    ``NAME-signed.imx`` next to ``path``) and, with ``sdp``, ``OUT-sdp.imx``. With
    ``compact`` an ELF becomes a compact image first (the BSS-zeroing stub inside the
    signed blocks, docs/compact.md); an existing compact ``.imx`` is signed as it is. ``csf_layout``
    is the CSF blob order (``cst4``: NXP CST 4.x, ``cst3``: CST 3.3.1; see
    :data:`signing.hab.CSF_LAYOUTS`).

    Raises:
        InputError: unreadable input, a bad ``signing_time`` (``field="signing_time"``),
            ``compact`` for an ``.imx`` input (``field="compact"``).
        FormatError: a malformed ELF or ``.imx``, or a file that is neither.
        SigningError: key folder, password, certificate chain, SRK index
            (``field="srk_index"``) or CSF size problems.
    """
    from formats.imx.image import SDP_DCD_ADDRESS
    from imgtool.imxbuild import sibling
    from signing.hab import parse_engine, sign_imx
    from signing.keys import read_secret_file
    from signing.pki import load_hab_keys

    data = read_input(path)
    board = None
    if data[:4] == b"\x7fELF":
        from formats.elf import ElfFile
        from imgtool.imxbuild import build_imx_from_elf

        built = build_imx_from_elf(ElfFile.parse(data, source=str(path)), board_name=board_name,
                                   dcd_path=dcd_path, warn=warn, compact=compact)
        imx, board = built.imx, built.board
    elif data[:1] == b"\xd1":
        if compact:
            raise InputError(f"{path}: a compact image is built from the ELF; an .imx is signed as it is",
                             field="compact")
        if dcd_path is not None:
            raise InputError(f"{path}: the DCD of an .imx is already in it; give the ELF to build with another DCD",
                             field="dcd")
        imx = data
        board = _board_of_imx(imx, path, board_name, engine, warn)
    else:
        raise FormatError("neither an ELF nor an i.MX image (no IVT at offset 0)", source=str(path), offset=0)
    password = read_secret_file(password_file) if password_file is not None else None
    keys = _token_keys(keys_dir, srk_index, token) if token else load_hab_keys(keys_dir, srk_index, password)
    if board is not None:
        check_key_types(keys, board)
    if engine is not None:
        eng = parse_engine(engine)
    elif board is not None:
        eng = board.hab_engine_tag
    else:
        eng = parse_engine("any")
    when, source = _signing_time(signing_time, keys)
    try:
        signed = sign_imx(imx, keys, engine=eng, csf_size=None, signing_time=when, srk_index=srk_index,
                          version=version, sdp=sdp,
                          sdp_dcd_address=board.sdp_dcd_address if board is not None else SDP_DCD_ADDRESS,
                          layout=csf_layout)
    except FormatError as exc:
        raise exc.with_source(str(path)) from None
    except SigningError as exc:  # CSF layout problems: say which input they concern
        raise SigningError(f"{path}: {exc.message}", field=exc.field) from None
    out = Path(output) if output is not None else Path(path).with_name(f"{Path(path).stem}-signed.imx")
    files = [(out, signed.data)] + ([(sibling(out, "sdp", ".imx"), signed.sdp)] if signed.sdp is not None else [])
    return SignResult(signed.data, signed.sdp, board, signed.srk_hash, when, source, tuple(files))


def _board_of_imx(imx: bytes, path, board_name: str | None, engine: str | None, warn) -> Board | None:
    """The board an ``.imx`` is signed for: ``board_name``, else the one whose DCD and
    TEXT_START the image carries (:func:`imgtool.boards.imxcfg.boards_for_image`), else
    None, said in one line through ``warn`` when it decides the engine (ANY)."""
    from formats.imx.image import parse_imx
    from imgtool.boards import get_board
    from imgtool.boards.imxcfg import boards_for_image

    if board_name:
        return get_board(board_name, "imx")
    try:
        img = parse_imx(imx)
    except FormatError as exc:
        raise exc.with_source(str(path)) from None
    found = boards_for_image(img.dcd, img.payload_address) if img.dcd is not None else []
    if not found and engine is None and warn is not None:
        warn(f"{path}: its DCD and load address match no board profile: HAB engine ANY "
             "(give --board, or --engine sw for i.MX6ULL/ULZ, erratum ERR010449)")
    return found[0] if found else None


def check_key_types(keys: HabKeys, board: Board) -> None:
    """Refuse keys the board's ROM cannot verify (``board.hab_key_types``; i.MX6: RSA).

    Raises:
        InputError: the selected SRK, the CSF key or the IMG key is of another kind; the
            message names the board and the key (file, or token label).
    """
    from formats.imx import srk as srkfmt

    allowed = set(board.hab_key_types)
    entry = srkfmt.SrkTable.parse(keys.srk_table).entries[keys.srk_index - 1]
    kinds = [("SRK", "ecdsa" if isinstance(entry, srkfmt.EcKey) else "rsa",
              f"{keys.srk_index} of {keys.files.get('srk_table') or keys.source or 'the SRK table'}")]
    for role, signer in (("CSF", keys.csf), ("IMG", keys.img)):
        kind = "rsa" if signer.key_type.startswith("rsa") else "ecdsa"
        kinds.append((role, kind, keys.files.get(f"{role.lower()}_key") or keys.files.get(f"{role.lower()}_crt")
                      or f"{role} key"))
    for role, kind, name in kinds:
        if kind not in allowed:
            raise InputError(f"board {board.name} ({board.soc}): its ROM verifies {' and '.join(sorted(allowed)).upper()} "
                             f"signatures only, but the {role} key {name} is {kind.upper()}; "
                             "use RSA keys (imgtool hab keygen --key-type rsa2048)")


def expected_srk_hash(*, srk_hash: str | None = None, fuses: str | os.PathLike[str] | None = None,
                      srk_table: str | os.PathLike[str] | None = None) -> tuple[bytes | None, bytes | None]:
    """The fuse value to check against: ``(srk_hash, srk_table)`` for :func:`signing.hab.verify_imx`.

    ``srk_hash`` is 64 hex digits (spaces, ``0x`` and colons allowed); ``fuses`` a 32-byte
    ``SRK_1_2_3_4_fuse.bin`` or a text file of eight fuse words (``0x...``, bank 3 words
    0-7, as ``hab srk`` prints them); ``srk_table`` an SRK table file. Give one (the
    first given counts), or none for ``(None, None)``: no fuse check.

    Raises:
        InputError: a value of the wrong shape (``field="srk_hash"``), an unreadable or
            malformed fuse file.
    """
    if srk_hash:
        hexs = re.sub(r"0x|[\s:]", "", srk_hash)
        if not re.fullmatch(r"[0-9a-fA-F]{64}", hexs):
            raise InputError(f"expected 64 hex digits (the SHA-256 SRK hash), got {len(hexs)}", field="srk_hash")
        return bytes.fromhex(hexs), None
    if fuses:
        raw = read_input(fuses)
        if len(raw) == 32:
            return raw, None
        text = raw.decode("ascii", "replace")
        # what `hab srk` prints names each word twice (SRK_HASH[i] = ..., fuse prog 3 i ...):
        # take the named form when it is there, else every 0x... word
        words = (re.findall(r"SRK_HASH\[\d\]\s*=\s*(0x[0-9a-fA-F]{1,8})", text)
                 or re.findall(r"fuse prog\s+(?:-y\s+)?3\s+\d\s+(0x[0-9a-fA-F]{1,8})", text)
                 or re.findall(r"0x[0-9a-fA-F]{1,8}", text))
        if len(words) != 8:
            raise InputError(f"{fuses}: expected the 32-byte fuse file or eight 0x... fuse words, found {len(words)} words")
        return b"".join(int(w, 16).to_bytes(4, "little") for w in words), None
    if srk_table:
        return None, read_input(srk_table)
    return None, None


def verify_file(path: str | os.PathLike[str], *, srk_hash: str | None = None,
                fuses: str | os.PathLike[str] | None = None, srk_table: str | os.PathLike[str] | None = None):
    """Verify the signed image at ``path`` against the fuse value :func:`expected_srk_hash`
    gives for ``srk_hash``/``fuses``/``srk_table``; return the
    :class:`signing.hab_verify.VerifyReport` (:func:`require_ok` turns a failure into
    exit 1).

    A file that does not even parse as an i.MX image (a flipped IVT tag, truncation) is a
    failed verification, not bad input: the question was whether the image is sound.

    Raises:
        InputError: the file cannot be read, or is an ELF (sign it first); a bad
            expected value (see :func:`expected_srk_hash`).
        CheckFailed: the image does not parse as a signed i.MX image.
    """
    from signing.hab import verify_imx

    want_hash, want_table = expected_srk_hash(srk_hash=srk_hash, fuses=fuses, srk_table=srk_table)
    data = read_input(path)
    if data[:4] == b"\x7fELF":
        raise InputError(f"{path}: is an ELF file; verify takes a signed .imx (make one with 'imgtool imx sign')")
    try:
        return verify_imx(data, srk_hash=want_hash, srk_table=want_table)
    except FormatError as exc:
        raise CheckFailed(f"verification failed: {exc.with_source(str(path))}") from None


def require_ok(report: VerifyReport, path: str | os.PathLike[str]) -> None:
    """Raise :class:`CheckFailed` (exit 1) naming the first failed check, if any."""
    if not report.ok:
        raise CheckFailed(f"{path}: verification failed: {report.first_failure()}")

