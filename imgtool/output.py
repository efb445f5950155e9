"""The edges of every pipeline: inputs read whole, outputs written atomically (a temp
file in the target's folder, fsync, then rename).

A failed or interrupted command therefore never leaves a half-written or stale output
behind, and a reader never sees a partial file. Before anything is written every output
is checked (:func:`check_outputs`): an output that is (or links to) a file the command
read, an output that is a folder or a FIFO, and two outputs that are the same file are
refused, once here for every command.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Sequence

from imgtool.errors import InputError

if TYPE_CHECKING:
    from formats.sparse import SparseImage


def check_outputs(paths: Sequence[str | os.PathLike[str]]) -> None:
    """Refuse outputs that cannot be written as asked, before anything is written.

    Raises:
        InputError: an output is an existing folder, FIFO, device or socket; it is (or is
            a symbolic or hard link to) a file read as an input of this command (inputs
            are known inside :func:`signing.files.tracking_inputs`, which the CLI enters);
            two outputs name the same file.
    """
    from signing.files import file_kind, input_named

    seen: dict[object, Path] = {}
    for path in paths:
        target = Path(path)
        try:
            st = os.stat(target)
        except OSError:
            st = None
        if st is not None:
            kind = file_kind(st.st_mode)
            if kind is not None:
                raise InputError(f"{target}: is {kind}; give the name of a file to write")
            source = input_named(st)
            if source is not None:
                same = "" if Path(source) == target else f" (the same file as {source})"
                raise InputError(f"{target}: is also an input of this command{same}; write the output to another file")
        # a new file: the real path of the name, so "a/x" and "b/x" with b -> a are one file
        key = (st.st_dev, st.st_ino) if st is not None else os.path.realpath(target)
        if key in seen:
            also = "" if seen[key] == target else f" (also as {seen[key]})"
            raise InputError(f"{target}: given for two outputs{also}; give each output its own file")
        seen[key] = target


def write_atomic(path: str | os.PathLike[str], data: bytes | Iterable[bytes], mode: int = 0o644) -> None:
    """Write ``data`` (bytes, or an iterable of byte chunks) to ``path`` atomically.

    The file appears under its final name only once it is complete; on any error the
    temporary file is removed and nothing is left at ``path`` that was not there before.

    Raises:
        InputError: the folder does not exist or cannot be written.
    """
    write_all_atomic([(path, data)], mode)


def write_all_atomic(outputs: Sequence[tuple], mode: int = 0o644, *,
                     progress: Callable[[int], None] | None = None) -> None:
    """Write several files so that either all appear or none: each is written completely
    to a temporary file in its folder first, and only then are they renamed into place.

    ``outputs`` are ``(path, data)`` pairs, or ``(path, data, mode)`` for a file whose
    permission bits differ from ``mode``. Each ``data`` is bytes, an iterable of byte
    chunks (streamed: a generator is never held whole), or a
    :class:`formats.sparse.SparseImage`, written as a sparse file (only its extents, each
    at its offset; the file then extended to ``image.size``, so the bytes between extents
    are holes on file systems that have them).

    Args:
        progress: called with the byte count of each sparse-image extent written
            (streamed outputs report their own progress, e.g. ``formats.tar.build_gz``).

    Raises:
        InputError: a folder does not exist or a file cannot be written, an output is
            refused by :func:`check_outputs` (nothing is written).
    """
    import tempfile  # here, not at the top: a command that only reads (size, info) skips random

    check_outputs([out[0] for out in outputs])
    staged: list[tuple[str, Path]] = []
    target = Path(".")
    try:
        for path, data, *file_mode in outputs:
            target = Path(path)
            folder = target.parent if str(target.parent) else Path(".")
            if not folder.is_dir():
                raise InputError(f"{target}: cannot write: folder {folder} does not exist")
            try:
                fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
            except OSError as exc:
                raise InputError(f"{target}: cannot write: {exc.strerror}") from None
            staged.append((tmp, target))
            try:
                _write_fd(fd, data, progress)
                os.fchmod(fd, file_mode[0] if file_mode else mode)
            except OSError as exc:
                raise InputError(f"{target}: cannot write: {exc.strerror}") from None
            finally:
                os.close(fd)
        for tmp, target in staged:
            os.replace(tmp, target)
    except BaseException as exc:
        for tmp, _ in staged:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        if isinstance(exc, OSError):  # a full disk, a quota, an I/O error
            raise InputError(f"{target}: cannot write: {exc.strerror or exc}") from None
        raise


def _write_fd(fd: int, data, progress: Callable[[int], None] | None) -> None:
    """Write ``data`` (see :func:`write_all_atomic`) to the empty file ``fd`` and fsync it."""
    from formats.sparse import SparseImage

    if isinstance(data, SparseImage):
        for offset, extent in data.extents:
            view = memoryview(extent)
            while view:
                written = os.pwrite(fd, view, offset)
                offset, view = offset + written, view[written:]
            if progress is not None:
                progress(len(extent))
        os.ftruncate(fd, data.size)
    else:
        for chunk in [data] if isinstance(data, (bytes, bytearray, memoryview)) else data:
            view = memoryview(chunk)
            while view:
                view = view[os.write(fd, view):]
    os.fsync(fd)


def read_input(path: str | os.PathLike[str]) -> bytes:
    """Read a whole input file (:func:`signing.files.read_file`, the one reader).

    Raises:
        InputError: the file is missing, is a folder or cannot be read (message names it).
    """
    from signing.files import read_file

    return read_file(path, error=InputError)


def write_sparse_atomic(path: str | os.PathLike[str], image: "SparseImage", mode: int = 0o644,
                        progress: Callable[[int, int], None] | None = None) -> None:
    """Write a :class:`formats.sparse.SparseImage` to ``path`` atomically as a sparse file.

    Only the image's data extents are written (each at its offset, by seeking); the bytes
    between them are left as holes, and the file is then extended to ``image.size``, so a
    1 GiB disk of a few MB of data costs a few MB of writing and of disk space (on file
    systems with holes; elsewhere the holes read as zeros just the same). Temp file in the
    target's folder, fsync, rename, as :func:`write_atomic`.

    Args:
        progress: optional ``progress(done, total)`` in bytes of extent data, after each write.

    Raises:
        InputError: the folder does not exist or cannot be written (nothing is left behind).
    """
    total, done = image.data_size, 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        progress(done, total)  # type: ignore[misc]

    write_all_atomic([(path, image)], mode, progress=tick if progress is not None else None)
