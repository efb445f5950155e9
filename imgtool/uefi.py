"""``imgtool uefi ...``: the UEFI pipelines.

app: ELF -> PE32+ (:func:`formats.pe.fromelf.elf_to_efi`) -> optionally Authenticode-
signed (:mod:`signing.authenticode`) and verified before it is returned. sign: an
existing PE image -> signed. verify: a signed image -> :class:`signing.authenticode.
Verification`. :func:`esp_files` is the file tree an ESP (FAT) writer puts on the
partition: ``{"EFI/BOOT/BOOTX64.EFI": bytes}`` (UEFI 2.10 §3.5.1.1, removable media).

The signing time is written only when asked: ``--signing-time``, else
``SOURCE_DATE_EPOCH``; without either there is no signingTime attribute (UEFI does not
read it), so the same inputs always give the same bytes.

Go knowledge stays here, above the format: the ``.go.module`` check and the warnings about
what a TamaGo program expects of its UEFI image (:func:`tamago_warnings`).
"""

from __future__ import annotations

import datetime as _dt
import os
from dataclasses import dataclass
from pathlib import Path

from formats.errors import FormatError
from imgtool.errors import CheckFailed, InputError
from imgtool.output import read_input
from signing.errors import SigningError

_Path = str | os.PathLike


@dataclass(frozen=True)
class AppResult:
    """What :func:`build_app` made: ``pe`` (the bytes to write: signed when a signer was
    given), ``app`` (the :class:`formats.pe.fromelf.EfiApplication`), ``signed`` and the
    ``signing_time`` used (or ``None``)."""

    pe: bytes
    app: object
    signed: bool
    signing_time: _dt.datetime | None
    warnings: tuple[str, ...] = ()


def open_signer(*, key: _Path | None, cert: _Path | None, password_file: _Path | None = None,
                pkcs11: _Path | None = None, token: str | None = None, key_label: str | None = None,
                pin_file: _Path | None = None):
    """A :class:`signing.keys.Signer`: the key file ``key`` with its certificate ``cert``
    (PEM or DER; an encrypted key's password is the first line of ``password_file``), or
    the key ``key_label`` on the PKCS#11 token ``token`` of module ``pkcs11`` (PIN from
    ``pin_file`` or ``$IMGTOOL_PKCS11_PIN``; certificate from ``cert`` or the token).

    Raises:
        InputError: missing options. SigningError: key, password, token or certificate problems.
    """
    from signing.keys import FileSigner, load_certificate

    if pkcs11 is None:
        if not key or not cert:
            raise InputError("signing needs a key and its certificate (--key/--cert, or --sign-key/--sign-cert)")
        return FileSigner.from_files(key, cert, password_file=password_file)
    from signing.pkcs11 import Pkcs11Signer

    if not token or not key_label:
        raise InputError("--pkcs11 needs --token LABEL and --key-label LABEL")
    from signing.keys import user_pin

    pin = user_pin(pin_file)
    if not pin:
        raise InputError("--pkcs11: give the user PIN with --pin-file or IMGTOOL_PKCS11_PIN")
    return Pkcs11Signer.open(str(pkcs11), token_label=token, pin=pin, key_label=key_label,
                             certificate=load_certificate(cert) if cert else None)


def _sign_checked(pe: bytes, signer, when: _dt.datetime | None, source: str) -> bytes:
    from signing import authenticode

    try:
        signed = authenticode.sign(pe, signer, signing_time=when)
    except FormatError as exc:
        raise exc.with_source(source) from None
    report = authenticode.verify(signed, signer.certificate)
    if not report.ok:  # pragma: no cover - a signer that signs something else
        raise SigningError(f"{source}: the new signature does not verify ({report.failure})")
    return signed


def build_app(elf_path: str | os.PathLike[str], *, image_base: int | None = None, subsystem: str = "app",
              relocs_stripped: bool = True, relocatable: bool = False, signer=None,
              signing_time: _dt.datetime | None = None) -> AppResult:
    """Convert the ELF at ``elf_path`` into a UEFI application; sign it with ``signer``.

    Raises:
        InputError: unreadable file, unknown subsystem name.
        FormatError: see :func:`formats.pe.fromelf.elf_to_efi`.
        SigningError: the signer fails.
    """
    from formats.go.binary import check_go_layout
    from formats.go.buildinfo import parse_buildinfo
    from formats.pe.fromelf import SUBSYSTEMS, elf_to_efi
    from imgtool.elfinput import load_elf

    if subsystem not in SUBSYSTEMS:
        raise InputError(f"--subsystem {subsystem!r}: expected one of {', '.join(SUBSYSTEMS)}")
    elf = load_elf(elf_path)
    check_go_layout(elf)
    app = elf_to_efi(elf, image_base=image_base, subsystem=SUBSYSTEMS[subsystem],
                     relocs_stripped=relocs_stripped, require_relocatable=relocatable)
    warnings = tuple(tamago_warnings(elf, app, parse_buildinfo(elf)))
    if signer is None:
        return AppResult(app.pe, app, False, None, warnings)
    return AppResult(_sign_checked(app.pe, signer, signing_time, str(elf_path)), app, True, signing_time, warnings)


def tamago_warnings(elf, app, info) -> list[str]:
    """What a TamaGo program needs of its UEFI image that the conversion cannot check:
    ImageBase = TEXT_START - 64 KiB (go-boot's RamStart contract) and an entry that UEFI
    can call (``-E cpuinit``, not the ``_rt0_*`` boot-loader entry). ``elf`` the ELF,
    ``app`` its :class:`formats.pe.fromelf.EfiApplication`, ``info`` its Go build info
    (or ``None``); returns sentences, empty for a program not built for GOOS=tamago."""
    from formats.pe.fromelf import TEXT_OFFSET

    if info is None or info.settings.get("GOOS") != "tamago":
        return []
    out = []
    text = (app.text_start + app.delta) % (1 << 64)  # where .text runs: a PIE moves by delta
    if app.image_base != text - TEXT_OFFSET:
        out.append(f"ImageBase 0x{app.image_base:x} is not TEXT_START - 0x10000 (0x{text - TEXT_OFFSET:x}): the "
                   "TamaGo UEFI runtime takes RamStart = text - 64 KiB to be the image's first page")
    entry = next((s.name for s in elf.symbols if s.value == elf.entry and s.type == "FUNC"), None)
    if entry is not None and entry.startswith("_rt0_"):
        out.append(f"the entry point is {entry}, which expects to be started by a boot loader, not by UEFI; "
                   "go-boot links with -E cpuinit")
    return out


def read_pe(path: str | os.PathLike[str]) -> bytes:
    """The bytes of the PE image at ``path``.

    Raises:
        InputError: unreadable file, or an ELF (with a hint to run ``uefi app`` first).
    """
    data = read_input(path)
    if data[:4] == b"\x7fELF":
        raise InputError(f"{path}: is an ELF file; make the UEFI image first with 'imgtool uefi app'")
    return data


def sign_file(path: str | os.PathLike[str], signer, *, signing_time: _dt.datetime | None = None) -> bytes:
    """The PE image at ``path``, Authenticode-signed by ``signer`` (any old signature
    replaced) and verified.

    Raises:
        InputError: unreadable file or an ELF. FormatError: not a valid PE image.
        SigningError: the signer fails.
    """
    return _sign_checked(read_pe(path), signer, signing_time, str(path))


def verify_file(path: str | os.PathLike[str], cert: str | os.PathLike[str] | None = None):
    """Verify the Authenticode signature of the image at ``path`` against the
    certificate file ``cert`` (or only against the embedded signer certificate).

    A file that does not parse as a PE image is a failed verification (exit 1), as for
    ``imx verify``: the question was whether the image is sound.

    Returns:
        the :class:`signing.authenticode.Verification`.

    Raises:
        InputError: unreadable file or an ELF. SigningError: an unreadable ``cert``.
        CheckFailed: the file is not a PE image.
    """
    from signing import authenticode
    from signing.keys import load_certificate

    trusted = load_certificate(cert) if cert else None
    data = read_pe(path)
    try:
        return authenticode.verify(data, trusted)
    except FormatError as exc:
        raise CheckFailed(f"verification failed: {exc.with_source(str(path))}") from None


def require_ok(report, path) -> None:
    """Raise :class:`CheckFailed` (exit 1) naming the first failed check, if any."""
    if not report.ok:
        raise CheckFailed(f"{path}: verification failed: {report.failure}")


def verification_lines(report) -> list[str]:
    """``uefi verify``'s text: one ``OK``/``FAIL`` line per check of ``report`` (a
    :class:`signing.authenticode.Verification`), and a note when no trusted certificate
    was given."""
    lines = [f"{'OK' if ok else 'FAIL':<5} {name}: {detail}" for name, ok, detail in report.checks]
    if report.ok and not report.trusted:
        lines.append("note  checked against the embedded signer certificate only (give --cert for the chain)")
    return lines


def report_dict(report, path) -> dict:
    """``uefi verify --json``: ``{"file", "ok", "trusted", "checks": [{"name", "ok", "detail"}]}``."""
    return {"file": str(path), "ok": report.ok, "trusted": report.trusted,
            "checks": [{"name": n, "ok": ok, "detail": d} for n, ok, d in report.checks]}


def esp_files(pe: bytes) -> dict[str, bytes]:
    """The files an EFI System Partition needs to boot ``pe`` as removable media: the
    image at ``EFI/BOOT/BOOT<arch>.EFI`` (UEFI 2.10 §3.5.1.1; x86-64 BOOTX64.EFI,
    AArch64 BOOTAA64.EFI). For the FAT writer of ``imgtool uefi esp``.

    Raises:
        FormatError: not a PE image, or a machine without a removable-media file name.
    """
    from formats.pe import parse
    from formats.pe.constants import BOOT_FILE_NAMES

    machine = parse(pe).file_header.Machine
    name = BOOT_FILE_NAMES.get(machine)
    if name is None:
        raise FormatError(f"machine 0x{machine:x} has no UEFI removable-media boot file name", field="Machine")
    return {f"EFI/BOOT/{name}": pe}


def default_output(path: Path, suffix: str) -> Path:
    """``app.elf`` -> ``app.efi``; ``app.efi`` -> ``app-signed.efi`` (``suffix`` = ``-signed.efi``)."""
    if suffix.startswith("-"):
        return path.with_name(path.stem + suffix)
    return path.with_suffix(suffix) if path.suffix in (".elf", "") else path.with_name(path.name + suffix)
