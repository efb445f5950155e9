"""The one error type of the ``formats`` layer.

Every parser in ``formats`` raises :class:`FormatError` for input it cannot accept. The
error carries the pieces a user needs to find the problem (the file, the byte offset, the
field or structure) so that the CLI can print one clear line; ``formats`` itself never
prints.
"""

from __future__ import annotations


class FormatError(ValueError):
    """Malformed, truncated or unsupported input.

    Args:
        message: what is wrong and what was expected, e.g. ``"e_phoff points past the end
            of the file (expected <= 4096)"``.
        source: the file name, when known (parsers that get bytes leave it ``None``; the
            caller adds it with :meth:`with_source`).
        offset: byte offset in the input where the problem is, or ``None``.
        field: the field or structure concerned (``"e_phoff"``, ``"DCD"``, ``"line 7"``).
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        offset: int | None = None,
        field: str | None = None,
    ) -> None:
        if "\n" in message:  # third-party messages (asn1crypto, cryptography) span lines; ours never do
            message = "; ".join(part.strip() for part in message.splitlines() if part.strip())
        super().__init__(message)
        self.message = message
        self.source = source
        self.offset = offset
        self.field = field

    def with_source(self, source: str) -> "FormatError":
        """Return a copy of this error that names ``source`` (a file path)."""
        return FormatError(self.message, source=source, offset=self.offset, field=self.field)

    def __str__(self) -> str:
        parts = []
        if self.source:
            parts.append(self.source)
        if self.offset is not None:
            parts.append(f"offset 0x{self.offset:x}")
        if self.field:
            parts.append(self.field)
        parts.append(self.message)
        return ": ".join(parts)
