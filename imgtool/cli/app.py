"""The typer application objects and the one-line messages every command uses.

Command modules (``imgtool/cli/cmd_*.py``) import the apps from here and register their
commands on them; :mod:`imgtool.cli` imports the command modules and runs the app. The
arrow therefore points one way (``cmd_* -> app``, ``imgtool.cli -> cmd_*``): no cycle.
A command group of its own (``imgtool rpi ...``) is a ``typer.Typer`` that its command
module creates and adds to :data:`app` with ``app.add_typer``.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Iterator

import typer

from imgtool import __version__

app = typer.Typer(
    name="imgtool",
    help="Boot images, signing and size analysis for bare-metal Go (TamaGo, embeddedgo) ELF files.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
imx_app = typer.Typer(help="NXP i.MX boot images (IVT, DCD, boot data) and HABv4 signing.", no_args_is_help=True)
hab_app = typer.Typer(help="HABv4 keys, SRK tables and fuses, event logs.", no_args_is_help=True)
app.add_typer(imx_app, name="imx")
app.add_typer(hab_app, name="hab")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"imgtool {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
) -> None:
    """Boot images, signing and size analysis for bare-metal Go ELF files."""


def error(message: str) -> None:
    """Print one error line on stderr (``imgtool: error: ...``); line breaks in
    ``message`` (a third-party text) become ``"; "``."""
    from signing.errors import one_line

    sys.stderr.write(f"imgtool: error: {one_line(message)}\n")


_held: list[str] | None = None


def warn(message: str) -> None:
    """Print one warning line on stderr (``imgtool: warning: ...``); inside
    :func:`held_warnings` the line is held until the command ends."""
    line = f"imgtool: warning: {message}\n"
    if _held is not None:
        _held.append(line)
    else:
        sys.stderr.write(line)


@contextmanager
def held_warnings() -> Iterator[list[str]]:
    """Hold the warnings of one command (:func:`warn`) in the list this yields; the
    caller prints them when the command ends (:func:`flush_warnings`) or drops them when
    the input is refused, so that a refusal is the one error line the user sees."""
    global _held
    outer, _held = _held, []
    try:
        yield _held
    finally:
        _held = outer


def flush_warnings(lines: list[str]) -> None:
    """Print the warning lines :func:`held_warnings` collected."""
    sys.stderr.write("".join(lines))


@contextmanager
def option_names(**options: str) -> Iterator[None]:
    """Show library errors in the words of the command line: inside the block, an error
    (``FormatError``, ``SigningError``, ``ImgtoolError``) whose ``field`` is a key of
    ``options`` names the option instead, e.g. ``option_names(format="--format")`` turns
    ``format: unknown format 'elf'`` into ``--format: unknown format 'elf'``.

    The libraries name fields of the data, never options; this is the one place the
    CLI maps them.
    """
    try:
        yield
    except Exception as exc:
        field = getattr(exc, "field", None)
        if isinstance(field, str) and field in options:
            exc.field = options[field]  # type: ignore[attr-defined]
        raise
