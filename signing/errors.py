"""The one error type of the ``signing`` layer (and its subclasses), and the field that
errors above ``formats`` carry."""

from __future__ import annotations


def one_line(message: str) -> str:
    """``message`` on one line: the line breaks that third-party messages carry
    (asn1crypto's ``"...\n    while parsing ..."``) become ``"; "``. Every error of the
    project is one line (DESIGN.md, "Exit codes")."""
    return "; ".join(part.strip() for part in message.splitlines() if part.strip()) if "\n" in message else message


class FieldMessage:
    """Mixin of the errors of ``signing`` and ``imgtool``: a message and, optionally, the
    ``field`` of the data it concerns (``"srk_index"``, ``"budget"``). ``str()`` is
    ``"field: message"`` (as :class:`formats.errors.FormatError` renders its field); the
    CLI swaps the field for the option the user gave (:func:`imgtool.cli.app.option_names`).
    """

    def __init__(self, message: str = "", *, field: str | None = None) -> None:
        message = one_line(message)
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class SigningError(FieldMessage, ValueError):
    """A key, certificate, password, token or signing layout that cannot be used.

    The message names the file (or token object) and says what to do, e.g.
    ``"hab-keys/CSF_1_key.pem: wrong password (read from hab-keys/key_pass.txt)"``.
    ``field`` names the value at fault when it is a parameter rather than a file
    (``"srk_index"``, ``"password"``); ``str()`` is then ``"field: message"``, and the
    CLI shows the option the user gave for it instead. Messages never name CLI options.
    """


class KeyPasswordError(SigningError):
    """An encrypted private key with a missing or wrong password."""


class CsfTooLargeError(SigningError):
    """The assembled CSF does not fit the CSF reservation of the image.

    Attributes:
        needed: CSF bytes needed; ``available``: bytes reserved; ``short``: the difference.
    """

    def __init__(self, message: str, *, needed: int, available: int) -> None:
        super().__init__(message)
        self.needed = needed
        self.available = available
        self.short = needed - available
