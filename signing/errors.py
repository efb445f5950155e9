"""The one error type of the ``signing`` layer."""

from __future__ import annotations


class SigningError(ValueError):
    """A key, certificate, password, token or signing layout that cannot be used.

    The message names the file (or token object) and says what to do, e.g.
    ``"hab-keys/CSF_1_key.pem: wrong password (read from hab-keys/key_pass.txt)"``.
    """
