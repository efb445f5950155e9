"""Reading input files: the one reader of the project.

``formats`` takes bytes and never touches the file system, so the lowest layer that
reads files is this one; :func:`imgtool.output.read_input` is :func:`read_file`
raising the application's :class:`imgtool.errors.InputError`. Every error names the
file and says what was expected, in one line.
"""

from __future__ import annotations

import os
from pathlib import Path

from signing.errors import SigningError


def read_file(
    path: str | os.PathLike[str],
    *,
    what: str | None = None,
    hint: str | None = None,
    error: type[Exception] = SigningError,
) -> bytes:
    """The whole contents of the file at ``path``.

    Args:
        path: the file.
        what: what the file is, for messages (``"private key"``); ``None`` for any input.
        hint: what to do when it is missing (appended after ``;``).
        error: the exception class raised (``SigningError`` here, ``InputError`` in the
            application layer); it is called with the message.

    Raises:
        error: the file is missing (``PATH: cannot read: no such file``, or ``PATH:
            private key not found; HINT`` with ``what``), is a folder, or cannot be read
            (the OS reason).
    """
    p = Path(path)
    try:
        return p.read_bytes()
    except FileNotFoundError:
        message = f"{p}: cannot read: no such file" if what is None else f"{p}: {what} not found"
    except IsADirectoryError:
        message = f"{p}: is a folder, expected {'a file' if what is None else 'the ' + what}"
        hint = None
    except OSError as exc:
        message = f"{p}: cannot read{'' if what is None else ' the ' + what}: {exc.strerror}"
        hint = None
    raise error(message + (f"; {hint}" if hint else "")) from None
