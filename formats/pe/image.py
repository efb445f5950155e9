"""PE32 and PE32+ images: :func:`build` writes one from a :class:`PeImage`, :func:`parse`
reads any file into a :class:`PeFile`, and ``parse(data).image()`` gives the
:class:`PeImage` back, so ``build(parse(build(x)).image()) == build(x)``.

Layout written by :func:`build` (Microsoft PE/COFF specification rev. 11, "Overview"):
the MS-DOS header and stub, ``PE\\0\\0`` at ``e_lfanew``, the COFF file header, the
optional header with its data directories, the section table, padding to
``SizeOfHeaders`` (a multiple of ``FileAlignment``), then each section's raw data in
section-table order (``SizeOfRawData`` = data rounded up to ``FileAlignment``), trailing
data, and the attribute certificate table on an 8-byte boundary at the very end. Sizes
the specification derives (``SizeOfCode``, ``SizeOfInitializedData``,
``SizeOfUninitializedData``, ``BaseOfCode``, ``BaseOfData``, ``SizeOfImage``,
``SizeOfHeaders``) are computed; ``CheckSum`` is the imagehlp checksum of the finished
file (:func:`formats.checksum.pe_checksum`, in the C core).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property

from construct import Container

from formats.align import align_up
from formats.checksum import pe_checksum
from formats.errors import FormatError
from formats.pe import constants as C
from formats.pe.baserelocs import parse_base_relocations
from formats.pe.structs import (IMAGE_DATA_DIRECTORY, IMAGE_DOS_HEADER, IMAGE_FILE_HEADER, IMAGE_SECTION_HEADER,
                                OPTIONAL_HEADERS, PE32_MAGIC, PE32PLUS_MAGIC, PE_SIGNATURE, WIN_CERTIFICATE,
                                WIN_CERTIFICATE_HEADER, parse_struct)

__all__ = ["Section", "Certificate", "PeImage", "PeFile", "SectionHeader", "build", "parse", "headers_size", "DOS_STUB",
           "PE32_MAGIC", "PE32PLUS_MAGIC"]

#: The 16-bit real-mode program DOS runs if someone starts the file there: it prints a
#: line and exits. Code at file offset 0x40 (e_cparhdr = 4 paragraphs), ``CS`` = the
#: program's segment, ``IP`` = 0.
DOS_STUB = (
    bytes([
        0x0E,  # push cs
        0x1F,  # pop ds             ; DS = CS: the message is in this segment
        0xBA, 0x0E, 0x00,  # mov dx, 0x000e  ; DS:DX -> the message, 14 bytes into the stub
        0xB4, 0x09,  # mov ah, 0x09       ; DOS "print $-terminated string"
        0xCD, 0x21,  # int 0x21
        0xB8, 0x01, 0x4C,  # mov ax, 0x4c01  ; DOS "terminate with return code 1"
        0xCD, 0x21,  # int 0x21
    ])
    + b"This program cannot be run in DOS mode.\r\r\n$"
).ljust(64, b"\0")

_SECTION_HEADER_SIZE = IMAGE_SECTION_HEADER.sizeof()
_DOS_HEADER_SIZE = IMAGE_DOS_HEADER.sizeof()
_MAX_SECTIONS = 96  # what Windows' loader accepts; EDK2 takes more, no UEFI image needs it


@dataclass(frozen=True)
class Section:
    """One section as :func:`build` takes it: ``name`` (at most 8 ASCII bytes),
    ``virtual_address`` (RVA, a multiple of SectionAlignment), ``virtual_size`` (bytes in
    memory; the loader zero-fills past the data), ``data`` (the initialised bytes; padded
    to FileAlignment on disk), ``characteristics`` (``IMAGE_SCN_*``)."""

    name: str
    virtual_address: int
    virtual_size: int
    data: bytes
    characteristics: int

    @property
    def memory_size(self) -> int:
        """Bytes the section spans in memory: VirtualSize, or the data size when it is 0."""
        return self.virtual_size or len(self.data)


@dataclass(frozen=True)
class Certificate:
    """One attribute certificate (WIN_CERTIFICATE): ``revision`` (``WIN_CERT_REVISION_2_0``),
    ``type`` (``WIN_CERT_TYPE_PKCS_SIGNED_DATA`` for Authenticode) and ``data``
    (``bCertificate``: for Authenticode the DER PKCS#7 SignedData, possibly followed by
    the zero padding to 8 bytes); ``offset`` is its file offset once parsed."""

    revision: int
    type: int
    data: bytes
    offset: int | None = field(default=None, compare=False)

    def entry(self) -> bytes:
        """The table entry: header + data, zero-padded to 8 bytes, ``dwLength`` counting the
        padding (as osslsigncode writes it; EDK2 and Windows step by the padded length)."""
        size = align_up(8 + len(self.data), 8)
        return WIN_CERTIFICATE.build(dict(dwLength=size, wRevision=self.revision, wCertificateType=self.type,
                                          bCertificate=self.data.ljust(size - 8, b"\0")))


@dataclass(frozen=True)
class PeImage:
    """Everything :func:`build` needs to write a PE image (fields named after the
    optional header's; RVAs and sizes in bytes).

    ``data_directories`` are ``(VirtualAddress, Size)`` pairs, index as in
    "Optional Header Data Directories" (missing ones are zero); entry 4, the Certificate
    Table, is owned by ``certificates`` and rewritten. ``overlay`` is file data after the
    last section and before the certificate table (hashed by Authenticode).
    """

    machine: int
    sections: tuple[Section, ...]
    address_of_entry_point: int
    image_base: int
    subsystem: int = C.IMAGE_SUBSYSTEM_EFI_APPLICATION
    characteristics: int = C.IMAGE_FILE_EXECUTABLE_IMAGE | C.IMAGE_FILE_LINE_NUMS_STRIPPED | C.IMAGE_FILE_DEBUG_STRIPPED
    dll_characteristics: int = 0
    magic: int = PE32PLUS_MAGIC
    section_alignment: int = 0x1000
    file_alignment: int = 0x200
    data_directories: tuple[tuple[int, int], ...] = ()
    number_of_rva_and_sizes: int = C.IMAGE_NUMBEROF_DIRECTORY_ENTRIES
    certificates: tuple[Certificate, ...] = ()
    time_date_stamp: int = 0
    linker_version: tuple[int, int] = (0, 0)
    os_version: tuple[int, int] = (0, 0)
    image_version: tuple[int, int] = (0, 0)
    subsystem_version: tuple[int, int] = (0, 0)
    size_of_stack_reserve: int = 0x10000
    size_of_stack_commit: int = 0x1000
    size_of_heap_reserve: int = 0x100000
    size_of_heap_commit: int = 0x1000
    dos_stub: bytes = DOS_STUB
    overlay: bytes = b""

    def directory(self, index: int) -> tuple[int, int]:
        """``(VirtualAddress, Size)`` of data directory ``index`` ((0, 0) when absent)."""
        return self.data_directories[index] if index < len(self.data_directories) else (0, 0)


def headers_size(sections: int, *, magic: int = PE32PLUS_MAGIC, file_alignment: int = 0x200,
                 dos_stub_size: int = len(DOS_STUB), directories: int = C.IMAGE_NUMBEROF_DIRECTORY_ENTRIES) -> int:
    """``SizeOfHeaders`` of an image with ``sections`` sections: DOS header, stub, PE
    headers and section table, rounded up to ``file_alignment`` (bytes)."""
    lfanew = align_up(_DOS_HEADER_SIZE + dos_stub_size, 8)
    opt = OPTIONAL_HEADERS[magic].sizeof() + 8 * directories
    return align_up(lfanew + 4 + IMAGE_FILE_HEADER.sizeof() + opt + _SECTION_HEADER_SIZE * sections, file_alignment)


def _headers_size(image: PeImage) -> int:
    return headers_size(len(image.sections), magic=image.magic, file_alignment=image.file_alignment,
                        dos_stub_size=len(image.dos_stub), directories=image.number_of_rva_and_sizes)


def _check(image: PeImage) -> None:
    sa, fa = image.section_alignment, image.file_alignment
    if image.magic not in OPTIONAL_HEADERS:
        raise FormatError(f"Magic 0x{image.magic:x} is neither PE32 (0x10b) nor PE32+ (0x20b)", field="Magic")
    if fa & (fa - 1) or not 512 <= fa <= 0x10000:
        raise FormatError(f"FileAlignment 0x{fa:x} is not a power of 2 from 512 to 64 KiB", field="FileAlignment")
    if sa & (sa - 1) or sa < fa:
        raise FormatError(f"SectionAlignment 0x{sa:x} is not a power of 2 >= FileAlignment 0x{fa:x}",
                          field="SectionAlignment")
    if not 0 <= image.number_of_rva_and_sizes <= C.IMAGE_NUMBEROF_DIRECTORY_ENTRIES:
        raise FormatError(f"NumberOfRvaAndSizes {image.number_of_rva_and_sizes} is not in 0..16",
                          field="NumberOfRvaAndSizes")
    word = 64 if image.magic == PE32PLUS_MAGIC else 32
    if not 0 <= image.image_base < 1 << word or image.image_base % 0x10000:
        raise FormatError(f"ImageBase 0x{image.image_base:x} is not a multiple of 64 KiB that fits {word} bits "
                          "(PE/COFF specification, optional header)", field="ImageBase")
    if len(image.sections) > _MAX_SECTIONS:
        raise FormatError(f"{len(image.sections)} sections, at most {_MAX_SECTIONS} are allowed",
                          field="NumberOfSections")
    end = align_up(_headers_size(image), sa)
    for i, s in enumerate(image.sections):
        where = f"section {i} ({s.name})"
        raw = s.name.encode("ascii", "replace")
        if len(raw) > 8 or not s.name.isascii():
            raise FormatError(f"{where}: a section name is at most 8 ASCII bytes", field="Name")
        if s.virtual_address % sa or s.virtual_address < end:
            raise FormatError(f"{where}: VirtualAddress 0x{s.virtual_address:x} must be a multiple of "
                              f"SectionAlignment 0x{sa:x} at or above 0x{end:x} (the headers or the previous section)",
                              field="VirtualAddress")
        if s.memory_size == 0:
            raise FormatError(f"{where}: empty (no data and VirtualSize 0)", field="VirtualSize")
        end = align_up(s.virtual_address + s.memory_size, sa)
        if end >= 1 << 32:
            raise FormatError(f"{where}: ends at RVA 0x{end:x}, past the 4 GiB an RVA can address",
                              field="VirtualAddress")
    if not 0 <= image.address_of_entry_point < end:
        raise FormatError(f"AddressOfEntryPoint 0x{image.address_of_entry_point:x} is outside the image "
                          f"(SizeOfImage 0x{end:x})", field="AddressOfEntryPoint")


def build(image: PeImage) -> bytes:
    """Write ``image`` as a PE file (layout in the module docstring), checksum included.

    Raises:
        FormatError: alignments that are not powers of two (FileAlignment 512..64 KiB,
            SectionAlignment >= FileAlignment), ImageBase not a multiple of 64 KiB,
            sections out of order, overlapping, unaligned, below the headers or beyond
            4 GiB, names longer than 8 bytes, an entry point outside the image.
    """
    _check(image)
    fa, sa = image.file_alignment, image.section_alignment
    lfanew = align_up(_DOS_HEADER_SIZE + len(image.dos_stub), 8)
    size_of_headers = _headers_size(image)
    pe32plus = image.magic == PE32PLUS_MAGIC

    headers, body = [], []
    pos = size_of_headers
    sums = {"code": 0, "init": 0, "uninit": 0}
    base_of_code = base_of_data = 0
    for s in image.sections:
        raw = align_up(len(s.data), fa)
        ch = s.characteristics
        if ch & C.IMAGE_SCN_CNT_CODE:
            sums["code"] += raw
            base_of_code = base_of_code or s.virtual_address
        elif not base_of_data and ch & (C.IMAGE_SCN_CNT_INITIALIZED_DATA | C.IMAGE_SCN_CNT_UNINITIALIZED_DATA):
            base_of_data = s.virtual_address
        if ch & C.IMAGE_SCN_CNT_INITIALIZED_DATA:
            sums["init"] += raw
        if ch & C.IMAGE_SCN_CNT_UNINITIALIZED_DATA:
            sums["uninit"] += align_up(s.memory_size, fa)
        headers.append(IMAGE_SECTION_HEADER.build(dict(
            Name=s.name.encode("ascii").ljust(8, b"\0"), VirtualSize=s.virtual_size, VirtualAddress=s.virtual_address,
            SizeOfRawData=raw, PointerToRawData=pos if raw else 0, PointerToRelocations=0, PointerToLinenumbers=0,
            NumberOfRelocations=0, NumberOfLinenumbers=0, Characteristics=ch)))
        if raw:
            body.append(s.data.ljust(raw, b"\0"))
            pos += raw
    body.append(image.overlay)
    pos += len(image.overlay)
    size_of_image = align_up(max([s.virtual_address + s.memory_size for s in image.sections] or [size_of_headers]), sa)

    directories = [image.directory(i) for i in range(image.number_of_rva_and_sizes)]
    if image.certificates:
        if image.number_of_rva_and_sizes <= C.IMAGE_DIRECTORY_ENTRY_SECURITY:
            raise FormatError("certificates need the Certificate Table directory entry (NumberOfRvaAndSizes >= 5)",
                              field="NumberOfRvaAndSizes")
        table = b"".join(c.entry() for c in image.certificates)
        start = align_up(pos, 8)
        body.append(bytes(start - pos) + table)
        directories[C.IMAGE_DIRECTORY_ENTRY_SECURITY] = (start, len(table))
    elif image.number_of_rva_and_sizes > C.IMAGE_DIRECTORY_ENTRY_SECURITY:
        directories[C.IMAGE_DIRECTORY_ENTRY_SECURITY] = (0, 0)

    opt = dict(
        MajorLinkerVersion=image.linker_version[0], MinorLinkerVersion=image.linker_version[1],
        SizeOfCode=sums["code"], SizeOfInitializedData=sums["init"], SizeOfUninitializedData=sums["uninit"],
        AddressOfEntryPoint=image.address_of_entry_point, BaseOfCode=base_of_code, ImageBase=image.image_base,
        SectionAlignment=sa, FileAlignment=fa,
        MajorOperatingSystemVersion=image.os_version[0], MinorOperatingSystemVersion=image.os_version[1],
        MajorImageVersion=image.image_version[0], MinorImageVersion=image.image_version[1],
        MajorSubsystemVersion=image.subsystem_version[0], MinorSubsystemVersion=image.subsystem_version[1],
        Win32VersionValue=0, SizeOfImage=size_of_image, SizeOfHeaders=size_of_headers, CheckSum=0,
        Subsystem=image.subsystem, DllCharacteristics=image.dll_characteristics,
        SizeOfStackReserve=image.size_of_stack_reserve, SizeOfStackCommit=image.size_of_stack_commit,
        SizeOfHeapReserve=image.size_of_heap_reserve, SizeOfHeapCommit=image.size_of_heap_commit,
        LoaderFlags=0, NumberOfRvaAndSizes=image.number_of_rva_and_sizes)
    if not pe32plus:
        opt["BaseOfData"] = base_of_data
    optional = OPTIONAL_HEADERS[image.magic].build(opt) + b"".join(
        IMAGE_DATA_DIRECTORY.build(dict(VirtualAddress=va, Size=size)) for va, size in directories)
    characteristics = image.characteristics | (0 if pe32plus else C.IMAGE_FILE_32BIT_MACHINE)
    file_header = IMAGE_FILE_HEADER.build(dict(
        Machine=image.machine, NumberOfSections=len(image.sections), TimeDateStamp=image.time_date_stamp,
        PointerToSymbolTable=0, NumberOfSymbols=0, SizeOfOptionalHeader=len(optional),
        Characteristics=characteristics))
    dos = IMAGE_DOS_HEADER.build(dict(
        e_cblp=lfanew % 512, e_cp=(lfanew + 511) // 512, e_crlc=0,  # the DOS program: header + stub
        e_cparhdr=_DOS_HEADER_SIZE // 16, e_minalloc=0, e_maxalloc=0xFFFF, e_ss=0, e_sp=0xB8, e_csum=0, e_ip=0,
        e_cs=0, e_lfarlc=_DOS_HEADER_SIZE, e_ovno=0, e_res=[0] * 4, e_oemid=0, e_oeminfo=0, e_res2=[0] * 10,
        e_lfanew=lfanew))
    head = (dos + image.dos_stub).ljust(lfanew, b"\0") + PE_SIGNATURE.build(None) + file_header + optional
    head = (head + b"".join(headers)).ljust(size_of_headers, b"\0")
    out = bytearray(head + b"".join(body))
    checksum_offset = lfanew + 4 + IMAGE_FILE_HEADER.sizeof() + 64
    out[checksum_offset:checksum_offset + 4] = pe_checksum(out, checksum_offset).to_bytes(4, "little")
    return bytes(out)


@dataclass(frozen=True)
class SectionHeader:
    """One parsed section-table entry: ``index``, ``name`` (long ``/N`` names resolved
    through the COFF string table), ``header`` (the ``construct`` Container with the
    specification's field names) and ``offset`` (file offset of the entry)."""

    index: int
    name: str
    header: Container
    offset: int

    def __getattr__(self, item):  # VirtualAddress, SizeOfRawData, ... as on the header
        if item.startswith("_") or item in ("index", "name", "header", "offset"):
            raise AttributeError(item)
        try:
            return self.header[item]
        except KeyError:
            raise AttributeError(item) from None

    @property
    def memory_size(self) -> int:
        """Bytes in memory: VirtualSize, or SizeOfRawData when VirtualSize is 0."""
        return self.header.VirtualSize or self.header.SizeOfRawData


class PeFile:
    """A parsed PE32 or PE32+ file (build with :func:`parse`).

    Attributes: ``data`` (the file bytes), ``dos_header``, ``file_header`` (COFF),
    ``optional_header`` (``construct`` Containers named as the specification's fields),
    ``pe_offset`` (``e_lfanew``), ``data_directories`` (list of ``(VirtualAddress,
    Size)``), ``sections`` (:class:`SectionHeader`), ``certificates``
    (:class:`Certificate`), ``checksum_offset`` and ``certificate_directory_offset``
    (file offsets of the ``CheckSum`` field and of data directory 4, or ``None``).
    """

    def __init__(self, data: bytes) -> None:
        self.data = bytes(data)
        d = self.data
        if len(d) < _DOS_HEADER_SIZE:
            raise FormatError(f"file is {len(d)} bytes, shorter than the 64-byte MS-DOS header", offset=0,
                              field="IMAGE_DOS_HEADER")
        self.dos_header = parse_struct(IMAGE_DOS_HEADER, d, 0, "IMAGE_DOS_HEADER")
        lfanew = self.pe_offset = self.dos_header.e_lfanew
        if lfanew < _DOS_HEADER_SIZE:
            raise FormatError(f"e_lfanew 0x{lfanew:x} points into the MS-DOS header (expected >= 0x40)", offset=0x3C,
                              field="e_lfanew")
        parse_struct(PE_SIGNATURE, d, lfanew, "Signature")
        self.file_header = parse_struct(IMAGE_FILE_HEADER, d, lfanew + 4, "IMAGE_FILE_HEADER")
        opt_off = lfanew + 4 + IMAGE_FILE_HEADER.sizeof()
        opt_size = self.file_header.SizeOfOptionalHeader
        if opt_size < 2 or opt_off + 2 > len(d):
            raise FormatError(f"SizeOfOptionalHeader {opt_size}: an image needs an optional header",
                              offset=lfanew + 20, field="SizeOfOptionalHeader")
        magic = int.from_bytes(d[opt_off:opt_off + 2], "little")
        if magic not in OPTIONAL_HEADERS:
            raise FormatError(f"optional header Magic 0x{magic:x} (expected 0x10b PE32 or 0x20b PE32+)",
                              offset=opt_off, field="Magic")
        st = OPTIONAL_HEADERS[magic]
        if opt_size < st.sizeof():
            raise FormatError(f"SizeOfOptionalHeader {opt_size} is below the {st.sizeof()} bytes of a "
                              f"{'PE32+' if magic == PE32PLUS_MAGIC else 'PE32'} optional header",
                              offset=lfanew + 20, field="SizeOfOptionalHeader")
        self.optional_header = opt = parse_struct(st, d, opt_off, "IMAGE_OPTIONAL_HEADER")
        n = opt.NumberOfRvaAndSizes
        if n > C.IMAGE_NUMBEROF_DIRECTORY_ENTRIES or st.sizeof() + 8 * n > opt_size:
            raise FormatError(f"NumberOfRvaAndSizes {n} (expected at most 16 entries inside the "
                              f"{opt_size}-byte optional header)", offset=opt_off + st.sizeof() - 4,
                              field="NumberOfRvaAndSizes")
        dd_off = opt_off + st.sizeof()
        self.data_directories = [(e.VirtualAddress, e.Size) for e in
                                 (parse_struct(IMAGE_DATA_DIRECTORY, d, dd_off + 8 * i, f"data directory {i}")
                                  for i in range(n))]
        self.checksum_offset = opt_off + 64
        self.certificate_directory_offset = (dd_off + 8 * C.IMAGE_DIRECTORY_ENTRY_SECURITY
                                             if n > C.IMAGE_DIRECTORY_ENTRY_SECURITY else None)
        sec_off = opt_off + opt_size
        nsec = self.file_header.NumberOfSections
        if sec_off + _SECTION_HEADER_SIZE * nsec > len(d):
            raise FormatError(f"section table ({nsec} x 40 bytes at 0x{sec_off:x}) runs past the end of the file "
                              f"({len(d)} bytes)", offset=lfanew + 6, field="NumberOfSections")
        if opt.SizeOfHeaders > len(d):
            raise FormatError(f"SizeOfHeaders 0x{opt.SizeOfHeaders:x} is past the end of the file ({len(d)} bytes)",
                              offset=opt_off + 60, field="SizeOfHeaders")
        self.sections = []
        for i in range(nsec):
            where = sec_off + _SECTION_HEADER_SIZE * i
            h = parse_struct(IMAGE_SECTION_HEADER, d, where, f"IMAGE_SECTION_HEADER[{i}]")
            if h.SizeOfRawData and h.PointerToRawData + h.SizeOfRawData > len(d):
                raise FormatError(f"section {i}: raw data 0x{h.PointerToRawData:x}+0x{h.SizeOfRawData:x} runs past "
                                  f"the end of the file ({len(d)} bytes)", offset=where + 16,
                                  field=f"IMAGE_SECTION_HEADER[{i}].SizeOfRawData")
            self.sections.append(SectionHeader(i, self._section_name(h.Name), h, where))
        self.certificates = self._read_certificates()

    # ------------------------------------------------------------------ pieces
    def _section_name(self, raw: bytes) -> str:
        name = raw.rstrip(b"\0").decode("latin-1")
        fh = self.file_header
        if name.startswith("/") and name[1:].isdigit() and fh.PointerToSymbolTable:
            table = fh.PointerToSymbolTable + 18 * fh.NumberOfSymbols
            at = table + int(name[1:])
            if table + 4 <= at < len(self.data):
                end = self.data.find(b"\0", at)
                return self.data[at:end if end >= 0 else len(self.data)].decode("latin-1")
        return name

    def _read_certificates(self) -> list[Certificate]:
        off, size = self.directory(C.IMAGE_DIRECTORY_ENTRY_SECURITY)
        if not size:
            return []
        where = self.certificate_directory_offset
        if off + size > len(self.data) or off < self.optional_header.SizeOfHeaders:
            raise FormatError(f"Certificate Table 0x{off:x}+0x{size:x} is not inside the file after the headers "
                              f"({len(self.data)} bytes)", offset=where, field="Certificate Table")
        out, pos, end = [], off, off + size
        while pos < end:
            if pos + 8 > end:
                raise FormatError(f"{end - pos} stray bytes at the end of the certificate table", offset=pos,
                                  field="WIN_CERTIFICATE")
            h = parse_struct(WIN_CERTIFICATE_HEADER, self.data, pos, "WIN_CERTIFICATE")
            if h.dwLength < 8 or pos + h.dwLength > end:
                raise FormatError(f"dwLength {h.dwLength} (expected 8 or more, ending inside the 0x{size:x}-byte "
                                  "certificate table)", offset=pos, field="WIN_CERTIFICATE.dwLength")
            c = WIN_CERTIFICATE.parse(self.data[pos:pos + h.dwLength])
            out.append(Certificate(c.wRevision, c.wCertificateType, c.bCertificate, pos))
            pos += align_up(h.dwLength, 8)
        return out

    # ------------------------------------------------------------------ queries
    @property
    def pe32plus(self) -> bool:
        """True for PE32+ (64-bit), False for PE32."""
        return self.optional_header.Magic == PE32PLUS_MAGIC

    def directory(self, index: int) -> tuple[int, int]:
        """``(VirtualAddress, Size)`` of data directory ``index`` ((0, 0) when absent)."""
        return self.data_directories[index] if index < len(self.data_directories) else (0, 0)

    @property
    def certificate_table(self) -> tuple[int, int] | None:
        """``(file offset, size)`` of the attribute certificate table, or ``None``."""
        off, size = self.directory(C.IMAGE_DIRECTORY_ENTRY_SECURITY)
        return (off, size) if size else None

    def section_data(self, sec: SectionHeader) -> memoryview:
        """The raw data of ``sec`` (``SizeOfRawData`` bytes; a zero-copy view)."""
        return memoryview(self.data)[sec.PointerToRawData:sec.PointerToRawData + sec.SizeOfRawData]

    def rva_to_offset(self, rva: int, size: int = 1) -> int:
        """The file offset of ``size`` bytes at ``rva``.

        Raises:
            FormatError: the range is not in the headers or in one section's raw data.
        """
        if 0 <= rva and rva + size <= self.optional_header.SizeOfHeaders:
            return rva
        for s in self.sections:
            if s.VirtualAddress <= rva and rva + size <= s.VirtualAddress + min(s.memory_size, s.SizeOfRawData):
                return s.PointerToRawData + rva - s.VirtualAddress
        raise FormatError(f"RVA range 0x{rva:x}+0x{size:x} is not backed by file data in any section", field="RVA")

    def read_rva(self, rva: int, size: int) -> bytes:
        """``size`` file bytes at ``rva`` (see :meth:`rva_to_offset`)."""
        off = self.rva_to_offset(rva, size)
        return self.data[off:off + size]

    @cached_property
    def base_relocations(self) -> list[tuple[int, int]]:
        """``(rva, type)`` of every base relocation (directory 5), padding left out.

        Raises:
            FormatError: the directory is not backed by file data, or a block is malformed.
        """
        rva, size = self.directory(C.IMAGE_DIRECTORY_ENTRY_BASERELOC)
        if not size:
            return []
        off = self.rva_to_offset(rva, size)
        return parse_base_relocations(self.data[off:off + size], off)

    @property
    def stored_checksum(self) -> int:
        """The ``CheckSum`` field as stored."""
        return self.optional_header.CheckSum

    @cached_property
    def computed_checksum(self) -> int:
        """The checksum this file should carry (:func:`formats.checksum.pe_checksum`)."""
        return pe_checksum(self.data, self.checksum_offset)

    @property
    def image_end(self) -> int:
        """End of the headers and section raw data (file offset): where trailing data starts."""
        return max([self.optional_header.SizeOfHeaders]
                   + [s.PointerToRawData + s.SizeOfRawData for s in self.sections if s.SizeOfRawData])

    def image(self) -> PeImage:
        """The :class:`PeImage` that :func:`build` turns back into this file when the file
        has :func:`build`'s layout (sections' data are their whole raw data).

        Raises:
            FormatError: the certificate table is not at the end of the file.
        """
        o = self.optional_header
        table = self.certificate_table
        end = len(self.data)
        if table is not None:
            if table[0] + table[1] != end:
                raise FormatError(f"{end - table[0] - table[1]} bytes follow the certificate table", offset=table[0],
                                  field="Certificate Table")
            end = table[0]
        stub = self.data[_DOS_HEADER_SIZE:self.pe_offset]
        return PeImage(
            machine=self.file_header.Machine,
            sections=tuple(Section(s.name, s.VirtualAddress, s.VirtualSize, bytes(self.section_data(s)),
                                   s.Characteristics) for s in self.sections),
            address_of_entry_point=o.AddressOfEntryPoint, image_base=o.ImageBase, subsystem=o.Subsystem,
            characteristics=self.file_header.Characteristics & ~(0 if self.pe32plus else C.IMAGE_FILE_32BIT_MACHINE),
            dll_characteristics=o.DllCharacteristics, magic=o.Magic, section_alignment=o.SectionAlignment,
            file_alignment=o.FileAlignment, data_directories=tuple(self.data_directories),
            number_of_rva_and_sizes=o.NumberOfRvaAndSizes,
            certificates=tuple(replace(c, offset=None) for c in self.certificates),
            time_date_stamp=self.file_header.TimeDateStamp,
            linker_version=(o.MajorLinkerVersion, o.MinorLinkerVersion),
            os_version=(o.MajorOperatingSystemVersion, o.MinorOperatingSystemVersion),
            image_version=(o.MajorImageVersion, o.MinorImageVersion),
            subsystem_version=(o.MajorSubsystemVersion, o.MinorSubsystemVersion),
            size_of_stack_reserve=o.SizeOfStackReserve, size_of_stack_commit=o.SizeOfStackCommit,
            size_of_heap_reserve=o.SizeOfHeapReserve, size_of_heap_commit=o.SizeOfHeapCommit,
            dos_stub=stub, overlay=self.data[self.image_end:max(end, self.image_end)])


def parse(data) -> PeFile:
    """Parse and validate a PE32 or PE32+ file (bytes-like).

    Checks: the MS-DOS header, ``e_lfanew``, the ``PE\\0\\0`` signature, the COFF header,
    the optional header (magic, size, at most 16 data directories), the section table
    and every section's raw data against the file size, and the attribute certificate
    table's entries. Base relocations are decoded on first use
    (:attr:`PeFile.base_relocations`).

    Raises:
        FormatError: for any malformed or truncated structure; the error names the
            structure and field and gives the file offset.
    """
    return PeFile(data)
