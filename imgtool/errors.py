"""Errors of the application layer and the exit codes they map to.

Exit codes (DESIGN.md "Command surface"): 0 success; 1 a check failed (verification,
budget, tampered image); 2 bad input or usage. :class:`formats.errors.FormatError` and
``signing`` errors count as bad input (2).

Like :class:`formats.errors.FormatError`, an error may name the ``field`` of the data it
concerns (``"signing_time"``, ``"budget"``); the CLI shows the option the user gave for
that field instead (:func:`imgtool.cli.app.option_names`), the library never names
options.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

from signing.errors import FieldMessage, SigningError

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_BAD_INPUT = 2


class ImgtoolError(FieldMessage, Exception):
    """Base of the errors the CLI turns into one line and an exit code.

    Args:
        message: what is wrong and what was expected.
        field: the data field concerned, or ``None``; ``str()`` is then
            ``"field: message"`` (:class:`signing.errors.FieldMessage`).
    """

    exit_code = EXIT_BAD_INPUT


class InputError(ImgtoolError):
    """Bad input or usage: a file that is not what the command needs, a bad option value.

    The message names the file, the offset or field, and what was expected.
    """

    exit_code = EXIT_BAD_INPUT


class CheckFailed(ImgtoolError):
    """A check the user asked for did not pass (verify, budget): exit code 1."""

    exit_code = EXIT_CHECK_FAILED


@contextmanager
def about_file(path: str | os.PathLike[str]) -> Iterator[None]:
    """Make every project error raised inside the block name ``path``: a
    :class:`formats.errors.FormatError` without a source gets it; a ``signing`` or
    ``imgtool`` error whose message does not name the file is prefixed with it. Used where
    a pipeline hands the bytes of one file to the libraries, which only see bytes.
    """
    from formats.errors import FormatError

    try:
        yield
    except FormatError as exc:
        if exc.source:
            raise
        raise exc.with_source(str(path)) from None
    except (SigningError, ImgtoolError) as exc:  # the FieldMessage errors of the two upper layers
        if str(path) not in exc.message:
            exc.message = f"{path}: {exc.message}"
        raise
