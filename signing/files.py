"""Reading input files: the one reader of the project.

``formats`` takes bytes and never touches the file system, so the lowest layer that
reads files is this one; :func:`imgtool.output.read_input` is :func:`read_file`
raising the application's :class:`imgtool.errors.InputError`. Every error names the
file and says what was expected, in one line.
"""

from __future__ import annotations

import os
import stat
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Iterator

from signing.errors import SigningError

#: (st_dev, st_ino) -> path of every file read while :func:`tracking_inputs` is active.
_INPUTS: ContextVar[dict[tuple[int, int], str] | None] = ContextVar("imgtool_inputs", default=None)

_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def file_kind(mode: int) -> str | None:
    """What a non-regular file is (``"a folder"``, ``"a FIFO (named pipe)"``, ...), from
    ``st_mode``; ``None`` for a regular file."""
    if stat.S_ISREG(mode):
        return None
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


@contextmanager
def tracking_inputs() -> Iterator[dict[tuple[int, int], str]]:
    """Inside the block, every file :func:`read_file` reads is remembered by its device and
    inode, so that an output about to replace one of them can be refused
    (:func:`input_named`); the CLI runs each command inside one."""
    token = _INPUTS.set({})
    try:
        yield _INPUTS.get()  # type: ignore[misc]
    finally:
        _INPUTS.reset(token)


def input_named(st: os.stat_result) -> str | None:
    """The path an input with ``st``'s device and inode was read as (the same file, a
    symbolic or a hard link to it), or ``None``; always ``None`` outside
    :func:`tracking_inputs`."""
    seen = _INPUTS.get()
    return None if seen is None else seen.get((st.st_dev, st.st_ino))


def read_file(
    path: str | os.PathLike[str],
    *,
    what: str | None = None,
    hint: str | None = None,
    error: type[Exception] = SigningError,
) -> bytes:
    """The whole contents of the regular file at ``path``.

    The file is opened without blocking and checked with ``fstat`` before anything is
    read, so a FIFO without a writer, a device or a socket is refused at once instead of
    hanging or streaming forever.

    Args:
        path: the file.
        what: what the file is, for messages (``"private key"``); ``None`` for any input.
        hint: what to do when it is missing (appended after ``;``).
        error: the exception class raised (``SigningError`` here, ``InputError`` in the
            application layer); it is called with the message.

    Raises:
        error: the file is missing (``PATH: cannot read: no such file``, or ``PATH:
            private key not found; HINT`` with ``what``), is a folder, a FIFO, a device
            or a socket, or cannot be read (the OS reason).
    """
    p = Path(path)
    expected = "a file" if what is None else "the " + what
    try:
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        message = f"{p}: cannot read: no such file" if what is None else f"{p}: {what} not found"
        raise error(message + (f"; {hint}" if hint else "")) from None
    except IsADirectoryError:
        raise error(f"{p}: is a folder, expected {expected}") from None
    except OSError as exc:
        raise error(f"{p}: cannot read{'' if what is None else ' the ' + what}: {exc.strerror}") from None
    try:
        st = os.fstat(fd)
        kind = file_kind(st.st_mode)
        if kind == "a folder":
            raise error(f"{p}: is a folder, expected {expected}")
        if kind is not None:
            raise error(f"{p}: is {kind}, expected {expected} (imgtool reads regular files only; copy it to one)")
        chunks = []
        while True:
            chunk = os.read(fd, max(st.st_size - sum(map(len, chunks)), 0) + 65536)
            if not chunk:
                break
            chunks.append(chunk)
    except OSError as exc:
        raise error(f"{p}: cannot read{'' if what is None else ' the ' + what}: {exc.strerror}") from None
    finally:
        os.close(fd)
    seen = _INPUTS.get()
    if seen is not None:
        seen.setdefault((st.st_dev, st.st_ino), str(p))
    return b"".join(chunks)
