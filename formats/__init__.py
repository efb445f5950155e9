"""Binary formats: bytes in, bytes out.

This layer parses and builds the formats imgtool exists for (ELF program model, flat load
images, dynamic relocations, i.MX boot images, checksums and CRCs), and reads what a Go
linker puts in an ELF (:mod:`formats.go`, a layer above the ELF model). It imports nothing from ``signing`` or
``imgtool``, touches no keys and prints nothing; errors are :class:`formats.errors.FormatError`.
"""

from formats.errors import FormatError

__all__ = ["FormatError"]
