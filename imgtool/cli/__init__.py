"""The typer application: command groups, exit codes and one-line errors.

Command modules (``imgtool/cli/cmd_*.py``) register their commands on the apps defined
here and import heavy modules inside the command bodies, so ``imgtool --help`` stays fast.
``main`` turns every error a user can cause into one line on stderr and exit code 2 (bad
input) or 1 (a check failed); it never shows a traceback for them.
"""

from __future__ import annotations

import sys

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
    """Print one error line on stderr (``imgtool: error: ...``)."""
    sys.stderr.write(f"imgtool: error: {message}\n")


def warn(message: str) -> None:
    """Print one warning line on stderr (``imgtool: warning: ...``)."""
    sys.stderr.write(f"imgtool: warning: {message}\n")


# Command modules register themselves on the apps above.
from imgtool.cli import cmd_crc, cmd_elf, cmd_hab, cmd_imx, cmd_reloc, cmd_size  # noqa: E402,F401


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the process exit code (0 ok, 1 check failed, 2 bad input)."""
    from formats.errors import FormatError
    from imgtool.errors import ImgtoolError
    from signing.errors import SigningError

    args = sys.argv[1:] if argv is None else argv
    try:
        result = app(args=args, prog_name="imgtool", standalone_mode=False)
    except (FormatError, SigningError) as exc:
        error(str(exc))
        return 2
    except ImgtoolError as exc:
        error(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        error("interrupted")
        return 130
    except typer.Exit as exc:  # pragma: no cover - typer's own Exit
        return exc.exit_code
    except Exception as exc:  # click usage errors and the like
        show = getattr(exc, "show", None)
        if show is not None and hasattr(exc, "exit_code"):
            show()
            return 2 if exc.exit_code not in (0, 1) else exc.exit_code
        raise
    return result if isinstance(result, int) else 0
