"""``imgtool imx ...`` (i.MX boot images and HABv4) and ``imgtool boards``."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Optional

import typer

from imgtool.cli.app import app, imx_app, warn


def _default_output(elf: Path, suffix: str) -> Path:
    return elf.with_suffix(suffix) if elf.suffix in (".elf", "") else elf.with_name(elf.name + suffix)


def _sibling(path: Path, tag: str, suffix: str) -> Path:
    return path.with_name(f"{path.stem}-{tag}{suffix}")


@imx_app.command("build")
def imx_build(
    elf: Path = typer.Argument(..., help="The linked ARM ELF (TEXT_START as the board expects)."),
    board: Optional[str] = typer.Option(None, "--board", "-b", help="Board profile (see 'imgtool boards'); default: detected from the ELF."),
    dcd: Optional[Path] = typer.Option(None, "--dcd", help="An imximage.cfg to use instead of the board's."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Output .imx (default: ELF name with .imx)."),
    sdp: bool = typer.Option(False, "--sdp", help="Also write the USB serial-download flavour: OUT-sdp.imx (IVT DCD pointer zeroed) and OUT-sdp.dcd."),
    sd_image: Optional[Path] = typer.Option(None, "--sd-image", help="Also write a raw SD/eMMC image with the .imx at byte 0x400."),
    verbose: bool = typer.Option(False, "-v", "--verbose", help="Say which board and DCD were used."),
) -> None:
    """Build an i.MX boot image (IVT, boot data, DCD) from ELF, byte-compatible with mkimage -T imximage."""
    from imgtool.elfinput import load_elf
    from imgtool.imxbuild import build_imx_from_elf, sd_card_image, sdp_images
    from imgtool.output import write_atomic

    result = build_imx_from_elf(load_elf(elf), board_name=board, dcd_path=dcd, warn=warn)
    out = output or _default_output(elf, ".imx")
    outputs = [(out, result.imx)]
    if sdp:
        sdp_imx, dcd_bytes = sdp_images(result.imx)
        outputs += [(_sibling(out, "sdp", ".imx"), sdp_imx), (_sibling(out, "sdp", ".dcd"), dcd_bytes)]
    if sd_image is not None:
        outputs.append((sd_image, sd_card_image(result.imx, result.board.boot_offset if result.board else 0x400)))
    for path, data in outputs:
        write_atomic(path, data)
    if verbose:
        typer.echo(f"board: {result.board.name if result.board else '(none, --dcd)'}; DCD: {result.cfg_origin}", err=True)


@app.command("boards")
def boards_cmd(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the board profiles (link address, DCD, CSF size, HAB engine)."""
    from imgtool.boards import list_boards

    boards = list_boards()
    if as_json:
        typer.echo(json.dumps([b.to_dict() for b in boards], indent=2))
        return
    typer.echo(f"{'board':<20} {'soc':<10} {'TEXT_START':>10} {'CSF':>7} {'engine':<7} description")
    for b in boards:
        typer.echo(f"{b.name:<20} {b.soc:<10} {b.text_start:#10x} {b.csf_size:#7x} {b.hab_engine:<7} {b.description}")


@imx_app.command("sign")
def imx_sign(
    file: Path = typer.Argument(..., help="The linked ARM ELF, or an existing .imx to sign as it is."),
    keys: Path = typer.Option(..., "--keys", "-k", help="HAB key folder (habtool or NXP hab4_pki_tree.sh layout)."),
    board: Optional[str] = typer.Option(None, "--board", "-b", help="Board profile; default: detected from the ELF."),
    dcd: Optional[Path] = typer.Option(None, "--dcd", help="An imximage.cfg to use instead of the board's (ELF input)."),
    srk_index: int = typer.Option(1, "--srk-index", help="SRK to sign with, 1..4."),
    engine: Optional[str] = typer.Option(None, "--engine", help="HAB engine: any, sw, dcp, caam or a number (default: the board's)."),
    csf_version: str = typer.Option("4.0", "--csf-version", help="CSF header version 4.0 .. 4.5."),
    sdp: bool = typer.Option(False, "--sdp", help="Also write the USB serial-download flavour, OUT-sdp.imx."),
    signing_time: Optional[str] = typer.Option(None, "--signing-time", help="CMS signingTime (epoch seconds or ISO 8601); default SOURCE_DATE_EPOCH, else the certificates' notBefore."),
    password_file: Optional[Path] = typer.Option(None, "--password-file", help="File whose first line is the key password (default: key_pass.txt in the folder)."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Signed image (default: NAME-signed.imx)."),
    pkcs11: Optional[Path] = typer.Option(None, "--pkcs11", help="PKCS#11 module holding the CSF and IMG keys (the key folder then gives the SRK table and certificates)."),
    token: Optional[str] = typer.Option(None, "--token", help="Token label (with --pkcs11)."),
    pin_file: Optional[Path] = typer.Option(None, "--pin-file", help="File with the token user PIN (default: $IMGTOOL_PKCS11_PIN)."),
    csf_key_label: str = typer.Option("CSF_1", "--csf-key-label", help="Label of the CSF key on the token."),
    img_key_label: str = typer.Option("IMG_1", "--img-key-label", help="Label of the IMG key on the token."),
    verbose: bool = typer.Option(False, "-v", "--verbose", help="Print the SRK hash and the signing time."),
) -> None:
    """Build (for an ELF) and HABv4-sign an i.MX image; the result is verified before it is written."""
    import os

    from imgtool.errors import InputError
    from imgtool.imxsign import TokenOptions, sign_file
    from imgtool.output import read_input, write_atomic

    tok = None
    if pkcs11 is not None:
        if not token:
            raise InputError("--pkcs11 needs --token LABEL")
        pin = read_input(pin_file).decode().splitlines()[0] if pin_file else os.environ.get("IMGTOOL_PKCS11_PIN")
        if not pin:
            raise InputError("--pkcs11: give the user PIN with --pin-file or IMGTOOL_PKCS11_PIN")
        tok = TokenOptions(str(pkcs11), token, pin, csf_key_label, img_key_label)

    m = re.fullmatch(r"4\.([0-5])", csf_version.strip())
    if not m:
        raise InputError(f"--csf-version: {csf_version!r}, expected 4.0 .. 4.5")
    result = sign_file(file, keys_dir=keys, board_name=board, dcd_path=dcd, srk_index=srk_index, engine=engine,
                       version=0x40 + int(m.group(1)), sdp=sdp, signing_time=signing_time,
                       password_file=password_file, token=tok, warn=warn)
    out = output or file.with_name(f"{file.stem}-signed.imx")
    write_atomic(out, result.signed)
    if result.sdp is not None:
        write_atomic(_sibling(out, "sdp", ".imx"), result.sdp)
    if verbose:
        typer.echo(f"SRK hash {result.srk_hash.hex()}; signingTime {result.signing_time.isoformat()} "
                   f"(from {result.time_source})", err=True)


@imx_app.command("verify")
def imx_verify(
    image: Path = typer.Argument(..., help="A signed .imx (SD/eMMC or SDP flavour)."),
    srk_hash: Optional[str] = typer.Option(None, "--srk-hash", help="Expected SRK hash (64 hex digits) = the fuses."),
    fuses: Optional[Path] = typer.Option(None, "--fuses", help="SRK_1_2_3_4_fuse.bin, or a text file of the eight fuse words."),
    srk_table: Optional[Path] = typer.Option(None, "--srk-table", help="The SRK table whose hash the fuses hold."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Check a signed image offline: blocks cover IVT/DCD/boot data/entry, certificate chain, both CMS signatures, SRK hash."""
    from imgtool.imxsign import expected_srk_hash, require_ok, verify_file

    want_hash, want_table = expected_srk_hash(srk_hash=srk_hash, fuses=str(fuses) if fuses else None,
                                              srk_table=str(srk_table) if srk_table else None)
    report = verify_file(image, srk_hash=want_hash, srk_table=want_table)
    if as_json:
        typer.echo(json.dumps(dict(report.to_dict(), file=str(image)), indent=2))
    else:
        for c in report.checks:
            typer.echo(f"{c.status.upper():<5} {c.name}" + (f": {c.detail}" if c.detail else ""))
    require_ok(report, image)
