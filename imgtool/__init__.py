"""imgtool: boot images, signing and size analysis for bare-metal Go ELF files.

Every command is a library call first (see :mod:`imgtool.pipeline` and the modules it
names); :mod:`imgtool.cli` is a thin typer shell around them.
"""

__version__ = "0.1.0"
