"""A rich progress bar for long writes, shown only on a terminal.

``with progress_bar("disk.raw", enabled=not quiet) as tick:`` gives ``tick(done, total)``
(bytes) to hand to a pipeline, or ``None`` when stderr is not a terminal or the bar is
disabled (quiet in pipes and with ``-q``). The bar goes to stderr and disappears when done.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator, Optional


@contextmanager
def progress_bar(description: str, *, enabled: bool = True) -> Iterator[Optional[Callable[[int, int], None]]]:
    """A ``tick(done, total)`` callback driving a transient rich bar on stderr, or ``None``
    when ``enabled`` is false or stderr is not a terminal."""
    if not enabled:
        yield None
        return
    from rich.console import Console

    console = Console(stderr=True)
    if not console.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(binary_units=True),
               TransferSpeedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(description, total=None)

        def tick(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield tick
