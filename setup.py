"""Build glue for the C core (``formats._accel``).

The engines are plain C files without ``Python.h`` (``crc_engine.c``, ``pe_checksum.c``,
``reloc_walk.c``, ``pclntab_walk.c``); ``_accel.c``, ``_accel_reloc.c`` and ``_accel_pcln.c`` bind them to CPython;
``_accel_names.c`` decides the common Go symbol names' packages (twin: ``formats.go.symbols``),
``_accel_elfsym.c`` decodes ELF symbol tables (twin: ``formats.elf.decode_symbols``).
The extension is optional: where no C compiler is available the build still succeeds and
``formats`` falls back to its pure-Python twin, which gives identical results.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "formats._accel",
            sources=[
                "formats/_accel.c",
                "formats/_accel_reloc.c",
                "formats/_accel_pcln.c",
                "formats/_accel_names.c",
                "formats/_accel_elfsym.c",
                "formats/pclntab_walk.c",
                "formats/crc_engine.c",
                "formats/pe_checksum.c",
                "formats/reloc_walk.c",
            ],
            depends=[
                "formats/_accel.h",
                "formats/byteorder.h",
                "formats/crc_engine.h",
                "formats/pe_checksum.h",
                "formats/reloc_walk.h",
                "formats/pclntab_walk.h",
            ],
            optional=True,
            extra_compile_args=["-O3", "-std=c11", "-fvisibility=hidden"],
        )
    ]
)
