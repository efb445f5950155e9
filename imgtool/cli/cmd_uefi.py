"""``imgtool uefi ...``: UEFI PE32+ applications, Authenticode signing and verification."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from imgtool.cli.app import app, option_names, warn

uefi_app = typer.Typer(help="UEFI applications (PE32+) and Secure Boot (Authenticode) signatures.", no_args_is_help=True)
app.add_typer(uefi_app, name="uefi")

_TIME = "signingTime (epoch seconds or ISO 8601); default SOURCE_DATE_EPOCH, else none is written."
_PASSWORD = "File whose first line is the key password."


@uefi_app.command("app")
def uefi_app_cmd(
    elf: Path = typer.Argument(..., help="The linked x86-64 (or AArch64) ELF."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Output (default: ELF name with .efi), e.g. BOOTX64.EFI."),
    image_base: Optional[str] = typer.Option(None, "--image-base", help="Preferred load address (default: TEXT_START - 0x10000)."),
    subsystem: str = typer.Option("app", "--subsystem", help="app (10), boot (11, boot service driver) or runtime (12)."),
    no_relocs_stripped: bool = typer.Option(False, "--no-relocs-stripped", help="Fixed-address ELF: clear RELOCS_STRIPPED (go-boot's 0x0226)."),
    relocatable: bool = typer.Option(False, "--relocatable", help="Refuse an ELF that is not position-independent."),
    sign_key: Optional[Path] = typer.Option(None, "--sign-key", help="Also sign with this key (PEM/DER)."),
    sign_cert: Optional[Path] = typer.Option(None, "--sign-cert", help="The signing key's certificate."),
    password_file: Optional[Path] = typer.Option(None, "--password-file", help=_PASSWORD),
    when: Optional[str] = typer.Option(None, "--signing-time", help=_TIME),
) -> None:
    """Convert ELF into a UEFI PE32+ image: one section per PT_LOAD, .reloc for a PIE, correct checksum."""
    from imgtool.cli.params import parse_int
    from imgtool.epoch import signing_time
    from imgtool.output import write_atomic
    from imgtool.uefi import build_app, default_output, open_signer

    signer = None
    if sign_key or sign_cert:
        signer = open_signer(key=sign_key, cert=sign_cert, password_file=password_file)
    with option_names(signing_time="--signing-time"):
        when_signed = signing_time(when) if signer else None
    result = build_app(elf, image_base=parse_int(image_base, "--image-base"), subsystem=subsystem,
                       relocs_stripped=not no_relocs_stripped, relocatable=relocatable, signer=signer,
                       signing_time=when_signed)
    for w in result.warnings:
        warn(f"{elf}: {w}")
    write_atomic(output or default_output(elf, ".efi"), result.pe)


@uefi_app.command("sign")
def uefi_sign_cmd(
    image: Path = typer.Argument(..., help="A PE image (signed or not: an old signature is replaced)."),
    key: Optional[Path] = typer.Option(None, "--key", help="Private key (PEM/DER)."),
    cert: Optional[Path] = typer.Option(None, "--cert", help="The key's certificate (with --pkcs11: default from the token)."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Signed image (default: NAME-signed.efi)."),
    password_file: Optional[Path] = typer.Option(None, "--password-file", help=_PASSWORD),
    when: Optional[str] = typer.Option(None, "--signing-time", help=_TIME),
    pkcs11: Optional[Path] = typer.Option(None, "--pkcs11", help="PKCS#11 module holding the key (instead of --key)."),
    token: Optional[str] = typer.Option(None, "--token", help="Token label (with --pkcs11)."),
    key_label: Optional[str] = typer.Option(None, "--key-label", help="Label of the key on the token."),
    pin_file: Optional[Path] = typer.Option(None, "--pin-file", help="File with the token user PIN (default: $IMGTOOL_PKCS11_PIN)."),
) -> None:
    """Authenticode-sign a PE image for UEFI Secure Boot (SHA-256, PKCS#7), verified before it is written."""
    from imgtool.epoch import signing_time
    from imgtool.output import write_atomic
    from imgtool.uefi import default_output, open_signer, sign_file

    signer = open_signer(key=key, cert=cert, password_file=password_file, pkcs11=pkcs11, token=token,
                         key_label=key_label, pin_file=pin_file)
    with option_names(signing_time="--signing-time"):
        when_signed = signing_time(when)
    write_atomic(output or default_output(image, "-signed.efi"), sign_file(image, signer, signing_time=when_signed))


@uefi_app.command("verify")
def uefi_verify_cmd(
    image: Path = typer.Argument(..., help="A signed PE image."),
    cert: Optional[Path] = typer.Option(None, "--cert", help="Trusted certificate (e.g. a db entry): signer or its CA."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Recompute the Authenticode digest, check the signature and the chain to --cert; exit 1 on any mismatch."""
    from imgtool.uefi import report_dict, require_ok, verification_lines, verify_file

    report = verify_file(image, cert)
    typer.echo(json.dumps(report_dict(report, image), indent=2) if as_json else "\n".join(verification_lines(report)))
    require_ok(report, image)


@uefi_app.command("esp")
def uefi_esp_cmd(
    image: Path = typer.Argument(..., help="The UEFI application (.efi) to boot."),
    output: Path = typer.Option(..., "-o", "--output", help="The disk image to write, e.g. esp.img."),
    size: str = typer.Option("64M", "--size", help="Disk size (FAT32: at least 35M with gpt, 33M superfloppy)."),
    layout: str = typer.Option("gpt", "--layout", help="gpt (one EF00 partition) or superfloppy (FAT32 on the whole disk)."),
) -> None:
    """Write an ESP disk image with the application as \\EFI\\BOOT\\BOOTX64.EFI (FAT32), reproducible."""
    from imgtool.cli.params import parse_int
    from imgtool.esp import build_esp
    from imgtool.output import write_sparse_atomic

    with option_names(**{"disk size": "--size", "layout": "--layout"}):
        esp = build_esp(image, size=parse_int(size, "--size"), layout=layout)
    write_sparse_atomic(output, esp.disk)
