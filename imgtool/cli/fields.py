"""Library errors name fields of the data; a command names its options.

``formats`` and ``signing`` raise errors whose ``field`` is an argument's name (``fill``,
``pad_to``, ``max_gap``, ``base``, ``symbols``, ...), never a command-line option. A
command that passes an option to such an argument wraps the call in
:func:`option_fields` and the error line then names the option the user typed.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from formats.errors import FormatError


@contextmanager
def option_fields(**options: str) -> Iterator[None]:
    """Re-raise a :class:`FormatError` whose ``field`` is a key of ``options`` with the
    option name as its field (``option_fields(max_gap="--max-gap")``); other errors pass
    unchanged."""
    try:
        yield
    except FormatError as exc:
        option = options.get(exc.field or "")
        if option is None:
            raise
        raise FormatError(exc.message, source=exc.source, offset=exc.offset, field=option) from None
