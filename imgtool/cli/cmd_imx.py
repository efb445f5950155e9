"""``imgtool imx build|sign|verify``: i.MX boot images and HABv4 signing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from imgtool.cli.app import imx_app, option_names, warn

COMPACT_HELP = "Store the image only up to its last initialised byte; a signed stub after the DCD zeroes the BSS."


@imx_app.command("build")
def imx_build(
    elf: Path = typer.Argument(..., help="The linked ARM ELF (TEXT_START as the board expects)."),
    board: Optional[str] = typer.Option(None, "--board", "-b", help="Board profile (see 'imgtool boards'); default: detected from the ELF."),
    dcd: Optional[Path] = typer.Option(None, "--dcd", help="An imximage.cfg to use instead of the board's."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Output .imx (default: ELF name with .imx)."),
    sdp: bool = typer.Option(False, "--sdp", help="Also write the USB serial-download flavour: OUT-sdp.imx (IVT DCD pointer zeroed) and OUT-sdp.dcd."),
    sd_image: Optional[Path] = typer.Option(None, "--sd-image", help="Also write a raw SD/eMMC image with the .imx at the board's boot offset (0x400)."),
    compact: bool = typer.Option(False, "--compact", help=COMPACT_HELP),
    verbose: bool = typer.Option(False, "-v", "--verbose", help="Say which board and DCD were used."),
) -> None:
    """Build an i.MX boot image (IVT, boot data, DCD) from ELF, byte-compatible with mkimage -T imximage."""
    from imgtool.imxbuild import build_files
    from imgtool.output import write_all_atomic

    with option_names(sd_image="--sd-image"):
        files = build_files(elf, output=output, board_name=board, dcd_path=dcd, sdp=sdp, sd_image=sd_image,
                            warn=warn, compact=compact)
    write_all_atomic(files.outputs)
    if verbose:
        b = files.build
        stub = f"; entry: BSS-zeroing stub at 0x{b.stub.address:08x}" if b.stub else ""
        typer.echo(f"board: {b.board.name if b.board else '(none, --dcd)'}; DCD: {b.cfg_origin}{stub}", err=True)


@imx_app.command("sign")
def imx_sign(
    file: Path = typer.Argument(..., help="The linked ARM ELF, or an existing .imx to sign as it is."),
    keys: Path = typer.Option(..., "--keys", "-k", help="HAB key folder (habtool or NXP hab4_pki_tree.sh layout)."),
    board: Optional[str] = typer.Option(None, "--board", "-b", help="Board profile; default: detected from the ELF."),
    dcd: Optional[Path] = typer.Option(None, "--dcd", help="An imximage.cfg to use instead of the board's (ELF input)."),
    srk_index: int = typer.Option(1, "--srk-index", help="SRK to sign with, 1..4."),
    engine: Optional[str] = typer.Option(None, "--engine", help="HAB engine: any, sw, dcp, caam or a number (default: the board's)."),
    csf_version: str = typer.Option("4.0", "--csf-version", help="CSF header version 4.0 .. 4.5."),
    csf_layout: str = typer.Option("cst4", "--csf-layout", help="CSF blob order: cst4 (NXP CST 4.x) or cst3 (CST 3.3.1, as Debian ships it)."),
    sdp: bool = typer.Option(False, "--sdp", help="Also write the USB serial-download flavour, OUT-sdp.imx."),
    compact: bool = typer.Option(False, "--compact", help=COMPACT_HELP + " (ELF input)"),
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
    from imgtool.imxsign import TokenOptions, sign_file
    from imgtool.output import write_all_atomic
    from signing.hab import parse_csf_version

    with option_names(srk_index="--srk-index", signing_time="--signing-time", password="--password-file",
                      csf_version="--csf-version", token="--token", pin="--pin-file", compact="--compact",
                      csf_layout="--csf-layout", dcd="--dcd"):
        tok = TokenOptions.find(pkcs11, token, pin_file, csf_key_label, img_key_label) if pkcs11 else None
        result = sign_file(file, keys_dir=keys, output=output, board_name=board, dcd_path=dcd, srk_index=srk_index,
                           engine=engine, version=parse_csf_version(csf_version), sdp=sdp, signing_time=signing_time,
                           password_file=password_file, token=tok, warn=warn, compact=compact,
                           csf_layout=csf_layout)
    write_all_atomic(result.outputs)
    if verbose:
        source = "--signing-time" if result.time_source == "option" else result.time_source
        typer.echo(f"SRK hash {result.srk_hash.hex()}; signingTime {result.signing_time.isoformat()} "
                   f"(from {source}); board {result.board.name if result.board else '(none)'}", err=True)


@imx_app.command("verify")
def imx_verify(
    image: Path = typer.Argument(..., help="A signed .imx (SD/eMMC or SDP flavour)."),
    srk_hash: Optional[str] = typer.Option(None, "--srk-hash", help="Expected SRK hash (64 hex digits) = the fuses."),
    fuses: Optional[Path] = typer.Option(None, "--fuses", help="SRK_1_2_3_4_fuse.bin, or a text file of the eight fuse words."),
    srk_table: Optional[Path] = typer.Option(None, "--srk-table", help="The SRK table whose hash the fuses hold."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Check a signed image offline: blocks cover IVT/DCD/boot data/entry, certificate chain, both CMS signatures, SRK hash."""
    from imgtool.errors import InputError
    from imgtool.imxsign import require_ok, verify_file

    if sum(x is not None for x in (srk_hash, fuses, srk_table)) > 1:
        raise InputError("give only one of --srk-hash, --fuses and --srk-table")
    with option_names(srk_hash="--srk-hash"):
        report = verify_file(image, srk_hash=srk_hash, fuses=fuses, srk_table=srk_table)
    if as_json:
        typer.echo(json.dumps(dict(report.to_dict(), file=str(image)), indent=2))
    else:
        for c in report.checks:
            typer.echo(f"{c.status.upper():<5} {c.name}" + (f": {c.detail}" if c.detail else ""))
    require_ok(report, image)
