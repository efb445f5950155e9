"""PE/COFF images for UEFI (Microsoft PE/COFF specification rev. 11; UEFI 2.10 §2.1.1).

- :mod:`formats.pe.structs`: the header structures, declared with ``construct``;
- :mod:`formats.pe.image`: :func:`build` (:class:`PeImage` -> bytes) and :func:`parse`
  (bytes -> :class:`PeFile`), PE32 and PE32+;
- :mod:`formats.pe.baserelocs`: the ``.reloc`` blocks (:func:`base_relocations`);
- :mod:`formats.pe.authenticode`: the Authenticode hashed ranges and digest, and the
  attribute certificate table a signature goes into;
- :mod:`formats.pe.fromelf`: an ELF executable as a UEFI PE32+ application.

The image checksum is :func:`formats.checksum.pe_checksum` (C core).
"""

from formats.pe.baserelocs import (IMAGE_REL_BASED_ABSOLUTE, IMAGE_REL_BASED_DIR64, IMAGE_REL_BASED_HIGHLOW,
                                   base_relocations, parse_base_relocations)
from formats.pe.image import Certificate, PeFile, PeImage, Section, build, parse

__all__ = ["base_relocations", "parse_base_relocations", "IMAGE_REL_BASED_ABSOLUTE", "IMAGE_REL_BASED_HIGHLOW",
           "IMAGE_REL_BASED_DIR64", "Certificate", "PeFile", "PeImage", "Section", "build", "parse"]
