"""Build glue for the C core (``formats._accel``).

The extension is optional: where no C compiler is available the build still succeeds and
``formats`` falls back to its pure-Python twin, which gives identical results.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "formats._accel",
            sources=["formats/_accel.c", "formats/_accel_reloc.c"],
            depends=["formats/_accel.h"],
            optional=True,
            extra_compile_args=["-O3", "-std=c11"],
        )
    ]
)
