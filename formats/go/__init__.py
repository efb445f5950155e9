"""What a Go linker puts in an executable, read above the ELF model.

The modules here know the Go toolchain's structures; :mod:`formats.elf` knows none of
them. They read the executable only through :class:`formats.go.reader.BinaryReader`, a
narrow protocol (sections by name and their bytes, ``read(addr, n)``, byte order and
word size, symbols and notes), the way Go's ``debug/buildinfo`` depends on ``debug/elf``
only through a small interface; :class:`formats.elf.ElfFile` satisfies it as it is.

========================== ==============================================================
module                     what it reads
========================== ==============================================================
:mod:`~formats.go.reader`  the reader protocol, and the word layout of a reader
:mod:`~formats.go.varint`  unsigned LEB128 varints, bounds-checked (buildinfo, pclntab)
:mod:`~formats.go.buildinfo` ``.go.buildinfo`` (``go version -m``), the Go build ID note
:mod:`~formats.go.pclntab` the pc-line table: functions, names, pc-value tables, extents
:mod:`~formats.go.moduledata` finding the pclntab and ``runtime.firstmoduledata``
:mod:`~formats.go.symbols` Go symbol names -> package paths
:mod:`~formats.go.itab`    the itab slots Go's linker leaves without a dynamic relocation
:mod:`~formats.go.binary`  the ``.go.module`` layout check, and :class:`GoElfFile` (an
                           ElfFile with these views as attributes, for scripts)
========================== ==============================================================

This package's ``__init__`` imports nothing, so that importing one module (the layout
check ``imgtool bin`` runs) does not load the pclntab reader.
"""
