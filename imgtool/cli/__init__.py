"""The command line: runs the typer app, maps errors to exit codes and one-line messages.

The apps live in :mod:`imgtool.cli.app`; each ``imgtool/cli/cmd_*.py`` registers its
commands there and imports heavy modules inside the command bodies, so ``imgtool --help``
stays fast. :func:`main` turns every error a user can cause into one line on stderr and
exit code 2 (bad input) or 1 (a check failed); it never shows a traceback for them.
"""

from __future__ import annotations

import copy
import sys

import typer

# The command modules register themselves on the apps of imgtool.cli.app; the order of
# these lines is the order of the commands in `imgtool --help`.
from imgtool.cli import cmd_crc  # noqa: F401
from imgtool.cli import cmd_elf  # noqa: F401
from imgtool.cli import cmd_hab  # noqa: F401
from imgtool.cli import cmd_imx  # noqa: F401
from imgtool.cli import cmd_boards  # noqa: F401
from imgtool.cli import cmd_reloc  # noqa: F401
from imgtool.cli import cmd_rpi  # noqa: F401
from imgtool.cli import cmd_size  # noqa: F401
from imgtool.cli import cmd_uefi  # noqa: F401
from imgtool.cli import cmd_gce  # noqa: F401
from imgtool.cli.app import app, error, flush_warnings, held_warnings, warn

__all__ = ["app", "error", "main", "warn"]


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the process exit code (0 ok, 1 check failed, 2 bad input)."""
    from formats.errors import FormatError
    from imgtool.errors import ImgtoolError
    from signing.errors import SigningError
    from signing.files import tracking_inputs

    args = sys.argv[1:] if argv is None else argv
    held: list[str] = []
    try:
        # tracking_inputs: no output may replace a file the command read; held_warnings:
        # a refused input ends in one error line, without the warnings that came before it
        with tracking_inputs(), held_warnings() as held:
            result = _app_for(args)(args=args, prog_name="imgtool", standalone_mode=False)
    except (FormatError, SigningError) as exc:
        error(str(exc))
        return 2
    except ImgtoolError as exc:
        if exc.exit_code != 2:
            flush_warnings(held)
        error(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        error("interrupted")
        return 130
    except typer.Exit as exc:  # pragma: no cover - typer's own Exit
        if exc.exit_code != 2:
            flush_warnings(held)
        return exc.exit_code
    except Exception as exc:  # click usage errors and the like
        show = getattr(exc, "show", None)
        if show is not None and hasattr(exc, "exit_code"):
            show()
            return 2 if exc.exit_code not in (0, 1) else exc.exit_code
        raise
    if result == 130:  # typer (0.28) turns Ctrl-C into exit status 130 instead of raising
        error("interrupted")
        return 130
    flush_warnings(held)
    return result if isinstance(result, int) else 0


def _app_for(args: list[str]) -> typer.Typer:
    """The app to run ``args`` with: when the first argument names one top-level command
    or group, a copy of :data:`app` that holds only it; else :data:`app` itself (options,
    ``--help``, an unknown name: the whole tree, for the listing and the suggestions).

    Typer turns the whole tree of commands into click commands on every run, inspecting
    the signature of each of the 40-odd commands; building only the branch that runs
    saves about 10 ms per command (bench/bench_size.py). The root callback (``--version``)
    stays, so the copy is still a group and usage lines and errors read the same.
    """
    from typer.main import get_command_name

    if not args or args[0].startswith("-"):
        return app
    name = args[0]
    cmds = [c for c in app.registered_commands if (c.name or get_command_name(c.callback.__name__)) == name]
    groups = [g for g in app.registered_groups if g.name == name]
    if len(cmds) + len(groups) != 1:
        return app
    slim = copy.copy(app)
    slim.registered_commands, slim.registered_groups = cmds, groups
    return slim
