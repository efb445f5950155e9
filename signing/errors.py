"""The one error type of the ``signing`` layer (and its subclasses)."""

from __future__ import annotations


class SigningError(ValueError):
    """A key, certificate, password, token or signing layout that cannot be used.

    The message names the file (or token object) and says what to do, e.g.
    ``"hab-keys/CSF_1_key.pem: wrong password (read from hab-keys/key_pass.txt)"``.
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
