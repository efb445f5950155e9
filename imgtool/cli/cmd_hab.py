"""``imgtool hab``: development keys, SRK tables and fuse values, HAB event logs.

Nothing here burns fuses or talks to a device; ``hab srk`` prints the commands a person
would run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from imgtool.cli.app import hab_app, option_names


@hab_app.command("keygen")
def keygen_cmd(
    folder: Path = typer.Argument(..., help="Folder to create the keys in (created if missing; existing keys are never overwritten)."),
    key_type: str = typer.Option("rsa2048", "--key-type", help="rsa2048, rsa3072, rsa4096, p256, p384 or p521 (ECDSA needs HAB 4.5, i.MX8M Plus; i.MX6 ROMs take RSA only)."),
    srks: int = typer.Option(4, "--srks", help="Number of SRK keys, 1..4 (4 lets you revoke 3)."),
    layout: str = typer.Option("habtool", "--layout", help="habtool (SRK_1_key.pem, CSF_1_crt.pem, ...) or nxp (crts/, keys/, key_pass.txt as hab4_pki_tree.sh)."),
    password_file: Optional[Path] = typer.Option(None, "--password-file", help="Encrypt the private keys with the password on the first line of this file (copied to key_pass.txt)."),
    no_password: bool = typer.Option(False, "--no-password", help="Write unencrypted private keys (the default when no --password-file is given)."),
    days: int = typer.Option(3650, "--days", help="Certificate validity in days."),
) -> None:
    """Generate a development HAB PKI: SRK CA keys, CSF and IMG keys, SRK table and fuse hash."""
    from imgtool.errors import InputError
    from imgtool.hab import keygen
    from signing.keys import KEY_TYPES, read_secret_file

    if key_type not in KEY_TYPES:
        raise InputError(f"--key-type {key_type}: use one of {', '.join(KEY_TYPES)}")
    if layout not in ("habtool", "nxp"):
        raise InputError(f"--layout {layout}: use habtool or nxp")
    if password_file is not None and no_password:
        raise InputError("--password-file and --no-password exclude each other; give one")
    password = read_secret_file(password_file) if password_file is not None else None
    with option_names(srks="--srks"):
        keygen(folder, key_type=key_type, srks=srks, layout=layout, password=password, days=days)


@hab_app.command("srk")
def srk_cmd(
    certs: List[Path] = typer.Argument(..., help="1 to 4 SRK certificates (PEM or DER), SRK 1 first; prefix with % for a hash-only entry (srktool)."),
    output: Path = typer.Option(..., "-o", "--output", help="SRK table file to write (e.g. SRK_1_2_3_4_table.bin)."),
    fuse_out: Optional[Path] = typer.Option(None, "--fuse-out", help="Also write the 32-byte SRK hash (SRK_1_2_3_4_fuse.bin)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON instead of text."),
) -> None:
    """Build the SRK table and print the SRK hash as fuse words and U-Boot commands (never burns)."""
    from formats.imx.srk import fuse_words
    from imgtool.hab import fuse_text, srk_table
    from imgtool.output import write_all_atomic

    table = srk_table(certs)
    digest = table.hash()
    write_all_atomic([(output, table.build())] + ([(fuse_out, digest)] if fuse_out is not None else []))
    if json_out:
        typer.echo(json.dumps({"srk_hash": digest.hex(), "table": str(output), "keys": len(table.entries),
                               "fuse_words": [f"0x{w:08x}" for w in fuse_words(digest)], "bank": 3}, indent=2))
    else:
        typer.echo(fuse_text(digest), nl=False)


@hab_app.command("events")
def events_cmd(
    file: Path = typer.Argument(..., help="HAB event log: U-Boot 'hab_status' or TamaGo output (text), or raw event bytes."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON instead of text."),
) -> None:
    """Decode a HAB event log into status, reason, context and engine names."""
    from imgtool.hab import events_text, read_event_log

    info = read_event_log(file)
    typer.echo(json.dumps(info, indent=2) if json_out else events_text(info), nl=json_out)
