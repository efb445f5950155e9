"""``imgtool imx sign`` and ``imgtool imx verify``: the HABv4 pipelines.

sign: ELF -> flat -> ``.imx`` (:mod:`imgtool.imxbuild`) -> CSF (:mod:`signing.hab`) ->
signed image, verified before it is returned; an existing ``.imx`` is signed as it is.
The CMS signingTime comes from ``--signing-time``, else ``SOURCE_DATE_EPOCH``, else it
is derived from the content: the later ``notBefore`` of the CSF and IMG certificates, so
the same inputs always give the same bytes (the HAB ROM does not check the time).
"""

from __future__ import annotations

import datetime as _dt
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from formats.errors import FormatError
from imgtool.boards import Board
from imgtool.errors import CheckFailed, InputError
from imgtool.output import read_input
from signing.errors import SigningError


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


def _token_keys(keys_dir: str | os.PathLike[str], srk_index: int, tok: TokenOptions):
    from signing.keys import load_certificate
    from signing.pkcs11 import hab_keys_from_token

    root = Path(keys_dir)
    tables = [p for p in (root / "SRK_1_2_3_4_table.bin", root / "crts" / "SRK_1_2_3_4_table.bin") if p.is_file()]
    tables = tables or sorted(root.glob("**/*table*.bin"))
    if not tables:
        raise InputError(f"{root}: no SRK table (SRK_1_2_3_4_table.bin) for the token's keys; make one with 'imgtool hab srk'")

    def cert(label: str):
        found = sorted(root.glob(f"{label}_crt.pem")) + sorted(root.glob(f"crts/{label}*_crt.pem"))
        return load_certificate(found[0]) if found else None

    return hab_keys_from_token(tok.library, token_label=tok.token, pin=tok.pin, srk_table=tables[0].read_bytes(),
                               srk_index=srk_index, csf_label=tok.csf_label, img_label=tok.img_label,
                               csf_certificate=cert(tok.csf_label), img_certificate=cert(tok.img_label))


@dataclass(frozen=True)
class SignResult:
    """What :func:`sign_file` made: the signed SD/eMMC image, the SDP flavour (or
    ``None``), the board used (or ``None``), the SRK hash (32 bytes), the signing time,
    and where it came from (``"--signing-time"``, ``"SOURCE_DATE_EPOCH"`` or
    ``"certificates"``)."""

    signed: bytes
    sdp: bytes | None
    board: Board | None
    srk_hash: bytes
    signing_time: _dt.datetime
    time_source: str


def parse_signing_time(text: str) -> _dt.datetime:
    """``--signing-time``: seconds since the epoch, or ISO 8601 (``2026-01-01T00:00:00Z``).

    Raises:
        InputError: neither form.
    """
    if re.fullmatch(r"\d+", text.strip()):
        return _dt.datetime.fromtimestamp(int(text), _dt.timezone.utc)
    try:
        t = _dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"--signing-time: {text!r} is neither seconds since the epoch nor ISO 8601") from None
    return t if t.tzinfo else t.replace(tzinfo=_dt.timezone.utc)


def _signing_time(option: str | None, keys) -> tuple[_dt.datetime, str]:
    if option:
        return parse_signing_time(option), "--signing-time"
    env = os.environ.get("SOURCE_DATE_EPOCH")
    if env:
        if not env.strip().isdigit():
            raise InputError(f"SOURCE_DATE_EPOCH={env!r} is not a whole number of seconds")
        return _dt.datetime.fromtimestamp(int(env), _dt.timezone.utc), "SOURCE_DATE_EPOCH"
    nb = max(s.certificate.not_valid_before_utc for s in (keys.csf, keys.img) if s is not None)
    return nb, "certificates"


def sign_file(
    path: str | os.PathLike[str],
    *,
    keys_dir: str | os.PathLike[str],
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
) -> SignResult:
    """Sign the ELF or ``.imx`` at ``path`` with the HAB key folder ``keys_dir``.

    The engine is ``engine`` (``any``, ``sw``, ``caam``, ``dcp`` or a number) or the
    board's default (SW on i.MX6ULL/ULZ because of erratum ERR010449), else ANY. With
    ``token`` the CSF and IMG keys are used on the PKCS#11 token and never leave it.

    Raises:
        InputError: unreadable input, a file that is neither ELF nor ``.imx``, bad options.
        FormatError: a malformed ELF or ``.imx``.
        SigningError: key folder, password, certificate chain or CSF size problems.
    """
    from signing.hab import parse_engine, sign_imx
    from signing.pki import load_hab_keys

    data = read_input(path)
    board = None
    if data[:4] == b"\x7fELF":
        from formats.elf import ElfFile
        from imgtool.imxbuild import build_imx_from_elf

        built = build_imx_from_elf(ElfFile.parse(data, source=str(path)), board_name=board_name,
                                   dcd_path=dcd_path, warn=warn)
        imx, board = built.imx, built.board
    elif data[:1] == b"\xd1":
        from imgtool.boards import get_board

        imx = data
        board = get_board(board_name) if board_name else None
    else:
        raise FormatError("neither an ELF nor an i.MX image (no IVT at offset 0)", source=str(path), offset=0)
    password = None
    if password_file is not None:
        lines = read_input(password_file).splitlines()
        password = lines[0] if lines else b""
    keys = _token_keys(keys_dir, srk_index, token) if token else load_hab_keys(keys_dir, srk_index, password)
    if engine is not None:
        eng = parse_engine(engine)
    elif board is not None:
        eng = board.hab_engine_tag
    else:
        eng = parse_engine("any")
    when, source = _signing_time(signing_time, keys)
    try:
        signed = sign_imx(imx, keys, engine=eng, csf_size=None, signing_time=when, srk_index=srk_index,
                          version=version, sdp=sdp)
    except FormatError as exc:
        raise exc.with_source(str(path)) from None
    except SigningError as exc:  # CSF layout problems: say which input they concern
        raise SigningError(f"{path}: {exc}") from None
    return SignResult(signed.data, signed.sdp, board, signed.srk_hash, when, source)


def expected_srk_hash(*, srk_hash: str | None, fuses: str | None, srk_table: str | None) -> tuple[bytes | None, bytes | None]:
    """The fuse value to check against: ``(srk_hash, srk_table)`` for :func:`signing.hab.verify_imx`.

    ``srk_hash`` is 64 hex digits (spaces, ``0x`` and colons allowed); ``fuses`` a 32-byte
    ``SRK_1_2_3_4_fuse.bin`` or a text file of eight fuse words (``0x...``, bank 3 words
    0-7, as ``hab srk`` prints them); ``srk_table`` an SRK table file.

    Raises:
        InputError: more than one given, or a value of the wrong shape.
    """
    given = [x for x in (srk_hash, fuses, srk_table) if x]
    if len(given) > 1:
        raise InputError("give only one of --srk-hash, --fuses and --srk-table")
    if srk_hash:
        hexs = re.sub(r"0x|[\s:]", "", srk_hash)
        if not re.fullmatch(r"[0-9a-fA-F]{64}", hexs):
            raise InputError(f"--srk-hash: expected 64 hex digits (the SHA-256 SRK hash), got {len(hexs)}")
        return bytes.fromhex(hexs), None
    if fuses:
        raw = read_input(fuses)
        if len(raw) == 32:
            return raw, None
        words = re.findall(r"0x[0-9a-fA-F]{1,8}", raw.decode("ascii", "replace"))
        if len(words) != 8:
            raise InputError(f"{fuses}: expected the 32-byte fuse file or eight 0x... fuse words, found {len(words)} words")
        return b"".join(int(w, 16).to_bytes(4, "little") for w in words), None
    if srk_table:
        return None, read_input(srk_table)
    return None, None


def verify_file(path: str | os.PathLike[str], *, srk_hash: bytes | None = None, srk_table: bytes | None = None):
    """Verify the signed image at ``path``; return the :class:`signing.hab_verify.VerifyReport`.

    A file that does not even parse as an i.MX image (a flipped IVT tag, truncation) is a
    failed verification, not bad input: the question was whether the image is sound.

    Raises:
        InputError: the file cannot be read, or is an ELF (sign it first).
        CheckFailed: the image does not parse as a signed i.MX image.
    """
    from signing.hab import verify_imx

    data = read_input(path)
    if data[:4] == b"\x7fELF":
        raise InputError(f"{path}: is an ELF file; verify takes a signed .imx (make one with 'imgtool imx sign')")
    try:
        return verify_imx(data, srk_hash=srk_hash, srk_table=srk_table)
    except FormatError as exc:
        raise CheckFailed(f"verification failed: {exc.with_source(str(path))}") from None


def require_ok(report, path) -> None:
    """Raise :class:`CheckFailed` (exit 1) naming the first failed check, if any."""
    if not report.ok:
        raise CheckFailed(f"{path}: verification failed: {report.first_failure()}")

