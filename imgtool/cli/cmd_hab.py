"""``imgtool hab``: development keys, SRK tables and fuse values, HAB event logs.

Nothing here burns fuses or talks to a device; ``hab srk`` prints the commands a person
would run.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from imgtool.cli.app import hab_app


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
    from imgtool.output import write_atomic
    from signing.keys import KEY_TYPES, read_password_file
    from signing.pki import generate_pki

    if key_type not in KEY_TYPES:
        raise InputError(f"--key-type {key_type}: use one of {', '.join(KEY_TYPES)}")
    if layout not in ("habtool", "nxp"):
        raise InputError(f"--layout {layout}: use habtool or nxp")
    if password_file is not None and no_password:
        raise InputError("--password-file and --no-password exclude each other; give one")
    password = read_password_file(password_file) if password_file is not None else None
    for marker in ("SRK_1_key.pem", "SRK_1_crt.pem", "CSF_1_key.pem", "crts", "keys"):
        if (folder / marker).exists():
            raise InputError(f"{folder / marker}: exists; keys are never overwritten, choose an empty folder")
    files = generate_pki(key_type=key_type, srks=srks, layout=layout, password=password, days=days)
    existing = [rel for rel in files if (folder / rel).exists()]
    if existing:
        raise InputError(f"{folder / existing[0]}: exists; keys are never overwritten, choose an empty folder")
    for rel in sorted({str(Path(r).parent) for r in files}):
        try:
            (folder / rel).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"{folder / rel}: cannot create the folder ({exc.strerror})") from None
    for rel, data in files.items():
        private = rel.endswith(("_key.pem", "_key.der", "key_pass.txt"))
        write_atomic(folder / rel, data, mode=0o600 if private else 0o644)


@hab_app.command("srk")
def srk_cmd(
    certs: List[Path] = typer.Argument(..., help="1 to 4 SRK certificates (PEM or DER), SRK 1 first; prefix with % for a hash-only entry (srktool)."),
    output: Path = typer.Option(..., "-o", "--output", help="SRK table file to write (e.g. SRK_1_2_3_4_table.bin)."),
    fuse_out: Optional[Path] = typer.Option(None, "--fuse-out", help="Also write the 32-byte SRK hash (SRK_1_2_3_4_fuse.bin)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON instead of text."),
) -> None:
    """Build the SRK table and print the SRK hash as fuse words and U-Boot commands (never burns)."""
    import json

    from formats.imx.srk import fuse_words
    from imgtool.output import write_atomic
    from signing.hab_srk import build_srk_table
    from signing.keys import load_certificate

    hashed = [i for i, c in enumerate(certs) if str(c).startswith("%")]
    paths = [Path(str(c)[1:]) if str(c).startswith("%") else c for c in certs]
    table = build_srk_table([load_certificate(p) for p in paths], [str(p) for p in paths], hash_only=hashed)
    digest = table.hash()
    write_atomic(output, table.build())
    if fuse_out is not None:
        write_atomic(fuse_out, digest)
    words = fuse_words(digest)
    if json_out:
        typer.echo(json.dumps({"srk_hash": digest.hex(), "table": str(output), "keys": len(table.entries),
                               "fuse_words": [f"0x{w:08x}" for w in words], "bank": 3}, indent=2))
        return
    typer.echo(f"SRK hash: {digest.hex()}")
    typer.echo("SRK fuse words (OCOTP bank 3, words 0-7, i.MX6/7):")
    for i, w in enumerate(words):
        typer.echo(f"  SRK_HASH[{i}] = 0x{w:08X}")
    typer.echo("U-Boot commands (irreversible; check them against 'imgtool imx verify --srk-hash' first):")
    for i, w in enumerate(words):
        typer.echo(f"  fuse prog 3 {i} 0x{w:08x}")


@hab_app.command("events")
def events_cmd(
    file: Path = typer.Argument(..., help="HAB event log: U-Boot 'hab_status' or TamaGo output (text), or raw event bytes."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON instead of text."),
) -> None:
    """Decode a HAB event log into status, reason, context and engine names."""
    import json

    from formats.errors import FormatError
    from formats.imx.habevents import parse_event_log
    from imgtool.output import read_input

    try:
        log = parse_event_log(read_input(file))
    except FormatError as exc:
        raise exc.with_source(str(file)) from None
    info = log.describe()
    if json_out:
        typer.echo(json.dumps(info, indent=2))
        return
    if info["config"] is not None:
        typer.echo(f"HAB configuration: {info['config']}, state: {info['state']}")
    if not info["events"]:
        typer.echo("no HAB events")
    for i, ev in enumerate(info["events"], 1):
        typer.echo(f"event {i}: {ev['status']}  {ev['reason']}  {ev['context']}  {ev['engine']}  (HAB {ev['version']})")
        if "assertion" in ev:
            a = ev["assertion"]
            typer.echo(f"  {a['type']}: 0x{a['address']:08x} + 0x{a['length']:x} is not authenticated "
                       f"(the signed blocks must cover it)")
        elif "command" in ev:
            typer.echo(f"  failing command: {ev['command']['command']} ({ev['data']})")
        elif ev["data"]:
            typer.echo(f"  data: {ev['data']}")
