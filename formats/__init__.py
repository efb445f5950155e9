"""Binary formats: bytes in, bytes out.

This layer parses and builds the formats imgtool exists for (ELF program model, flat load
images, i.MX boot images, checksums and CRCs). It imports nothing from ``signing`` or
``imgtool``, touches no keys and prints nothing; errors are :class:`formats.errors.FormatError`.
"""

from formats.errors import FormatError

__all__ = ["FormatError"]
