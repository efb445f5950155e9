"""The fixed PE/COFF header structures, declared with ``construct``.

Each declaration reads like the table of the Microsoft PE/COFF specification (revision
11, "PE Format") that it implements; field names are the specification's. A declaration
parses and builds (``S.parse(b)`` / ``S.build(dict)``), so one table serves the reader
and the writer. Bounds are checked by :func:`parse_struct` before ``construct`` sees the
bytes, so a malformed file gives a :class:`formats.errors.FormatError`, never a
``construct`` exception.
"""

from __future__ import annotations

from construct import (Array, Bytes, Const, ConstructError, GreedyBytes, Int8ul, Int16ul, Int32ul, Int64ul, Struct,
                       this)

from formats.errors import FormatError

# Optional header magic ("Optional Header Standard Fields").
PE32_MAGIC, PE32PLUS_MAGIC = 0x10B, 0x20B

#: MS-DOS 2.0 header ("MS-DOS Stub (Image Only)"; the field names of winnt.h's
#: IMAGE_DOS_HEADER). Only ``e_magic`` and ``e_lfanew`` (offset 0x3C: where the PE
#: signature is) matter to a PE loader.
IMAGE_DOS_HEADER = Struct(
    "e_magic" / Const(b"MZ"),
    "e_cblp" / Int16ul,  # bytes on the last 512-byte page of the DOS program
    "e_cp" / Int16ul,  # 512-byte pages in the DOS program
    "e_crlc" / Int16ul,  # relocation entries
    "e_cparhdr" / Int16ul,  # header size in 16-byte paragraphs
    "e_minalloc" / Int16ul,
    "e_maxalloc" / Int16ul,
    "e_ss" / Int16ul,
    "e_sp" / Int16ul,
    "e_csum" / Int16ul,
    "e_ip" / Int16ul,
    "e_cs" / Int16ul,
    "e_lfarlc" / Int16ul,  # file offset of the DOS relocation table
    "e_ovno" / Int16ul,
    "e_res" / Array(4, Int16ul),
    "e_oemid" / Int16ul,
    "e_oeminfo" / Int16ul,
    "e_res2" / Array(10, Int16ul),
    "e_lfanew" / Int32ul,
)

#: "PE\\0\\0" at ``e_lfanew`` ("Signature (Image Only)").
PE_SIGNATURE = Const(b"PE\0\0")

#: COFF File Header (Object and Image).
IMAGE_FILE_HEADER = Struct(
    "Machine" / Int16ul,
    "NumberOfSections" / Int16ul,
    "TimeDateStamp" / Int32ul,
    "PointerToSymbolTable" / Int32ul,
    "NumberOfSymbols" / Int32ul,
    "SizeOfOptionalHeader" / Int16ul,
    "Characteristics" / Int16ul,
)

#: One data directory entry ("Optional Header Data Directories"): RVA and size; for the
#: Certificate Table (index 4) ``VirtualAddress`` is a file offset.
IMAGE_DATA_DIRECTORY = Struct("VirtualAddress" / Int32ul, "Size" / Int32ul)


def _optional_header(pe32plus: bool) -> Struct:
    """The optional header up to ``NumberOfRvaAndSizes`` ("Optional Header Standard
    Fields" + "Windows-Specific Fields"); PE32 has ``BaseOfData`` and 4-byte words
    where PE32+ has 8-byte ones."""
    word = Int64ul if pe32plus else Int32ul
    base_of_data = () if pe32plus else ("BaseOfData" / Int32ul,)
    return Struct(
        "Magic" / Const(PE32PLUS_MAGIC if pe32plus else PE32_MAGIC, Int16ul),
        "MajorLinkerVersion" / Int8ul,
        "MinorLinkerVersion" / Int8ul,
        "SizeOfCode" / Int32ul,
        "SizeOfInitializedData" / Int32ul,
        "SizeOfUninitializedData" / Int32ul,
        "AddressOfEntryPoint" / Int32ul,
        "BaseOfCode" / Int32ul,
        *base_of_data,
        "ImageBase" / word,
        "SectionAlignment" / Int32ul,
        "FileAlignment" / Int32ul,
        "MajorOperatingSystemVersion" / Int16ul,
        "MinorOperatingSystemVersion" / Int16ul,
        "MajorImageVersion" / Int16ul,
        "MinorImageVersion" / Int16ul,
        "MajorSubsystemVersion" / Int16ul,
        "MinorSubsystemVersion" / Int16ul,
        "Win32VersionValue" / Int32ul,
        "SizeOfImage" / Int32ul,
        "SizeOfHeaders" / Int32ul,
        "CheckSum" / Int32ul,
        "Subsystem" / Int16ul,
        "DllCharacteristics" / Int16ul,
        "SizeOfStackReserve" / word,
        "SizeOfStackCommit" / word,
        "SizeOfHeapReserve" / word,
        "SizeOfHeapCommit" / word,
        "LoaderFlags" / Int32ul,
        "NumberOfRvaAndSizes" / Int32ul,
    )


#: Magic -> the optional header without its data directories (96 / 112 bytes).
OPTIONAL_HEADERS = {PE32_MAGIC: _optional_header(False), PE32PLUS_MAGIC: _optional_header(True)}

#: Section Table entry ("Section Table (Section Headers)"), 40 bytes.
IMAGE_SECTION_HEADER = Struct(
    "Name" / Bytes(8),
    "VirtualSize" / Int32ul,
    "VirtualAddress" / Int32ul,
    "SizeOfRawData" / Int32ul,
    "PointerToRawData" / Int32ul,
    "PointerToRelocations" / Int32ul,
    "PointerToLinenumbers" / Int32ul,
    "NumberOfRelocations" / Int16ul,
    "NumberOfLinenumbers" / Int16ul,
    "Characteristics" / Int32ul,
)

#: Attribute certificate table entry ("The Attribute Certificate Table (Image Only)";
#: WIN_CERTIFICATE in the UEFI specification §32.2.4): ``dwLength`` counts the 8-byte
#: header; entries start on 8-byte boundaries.
WIN_CERTIFICATE = Struct(
    "dwLength" / Int32ul,
    "wRevision" / Int16ul,
    "wCertificateType" / Int16ul,
    "bCertificate" / Bytes(this.dwLength - 8),
)
WIN_CERTIFICATE_HEADER = Struct("dwLength" / Int32ul, "wRevision" / Int16ul, "wCertificateType" / Int16ul)

#: Base Relocation Block ("The .reloc Section (Image Only)"): the page RVA, the block size
#: in bytes (header included), then 2-byte entries ``type << 12 | offset``.
IMAGE_BASE_RELOCATION = Struct(
    "VirtualAddress" / Int32ul,
    "SizeOfBlock" / Int32ul,
    "TypeOffset" / GreedyBytes,
)
IMAGE_BASE_RELOCATION_HEADER = Struct("VirtualAddress" / Int32ul, "SizeOfBlock" / Int32ul)


def parse_struct(struct: Struct, data, offset: int, name: str):
    """Parse the fixed-size ``struct`` at ``offset`` of ``data`` (bytes-like).

    Returns:
        the ``construct`` Container (attributes named as the specification's fields).

    Raises:
        FormatError: the structure does not fit in ``data`` or a constant (magic) does
            not match; the error names ``name``, the field and the offset.
    """
    size = struct.sizeof()
    if offset < 0 or offset + size > len(data):
        raise FormatError(f"{name} ({size} bytes at 0x{offset:x}) runs past the end of the file ({len(data)} bytes)",
                          offset=offset, field=name)
    try:
        return struct.parse(bytes(data[offset:offset + size]))
    except ConstructError as exc:
        path = str(getattr(exc, "path", "") or "").split("->")[-1].strip()
        detail = str(exc).splitlines()[-1]
        raise FormatError(f"{detail}", offset=offset, field=f"{name}.{path}" if path else name) from None
