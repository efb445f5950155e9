"""formats/pe: build and parse PE32/PE32+ images, base relocations, the certificate
table and the Authenticode hashed ranges.

References: pefile (an independent parser) and binutils (objcopy writes PE32+ and PE32
UEFI images, objdump -p reads them); osslsigncode computes the Authenticode digest.
Hypothesis checks that build and parse are inverse on generated images, and that the
parser raises nothing but FormatError on damaged ones.
"""

from __future__ import annotations

import re
import subprocess

import pefile
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from formats import pe
from formats.errors import FormatError
from formats.pe import authenticode as A
from formats.pe import constants as C
from hab_helpers import need

# -- generated images -------------------------------------------------------------------------


@st.composite
def images(draw):
    magic = draw(st.sampled_from([pe.image.PE32PLUS_MAGIC, pe.image.PE32_MAGIC]))
    fa = draw(st.sampled_from([0x200, 0x1000]))
    sa = draw(st.sampled_from([max(fa, 0x1000), 0x2000]))
    rva, sections = 0x1000 * (sa // 0x1000), []
    rva = max(rva, sa)
    for i in range(draw(st.integers(1, 4))):
        data = draw(st.binary(max_size=700))
        vsize = draw(st.integers(0 if data else 1, 0x3000))
        flags = draw(st.sampled_from([0x60000020, 0x40000040, 0xC0000040, 0xC0000080, 0x42000040]))
        name = draw(st.text(alphabet="abcdefghijklmnopqrstuvwxyz._", min_size=1, max_size=8))
        sections.append(pe.Section(name, rva, vsize, data, flags))
        rva += -(-max(vsize, len(data)) // sa) * sa + draw(st.integers(0, 2)) * sa
    word = 64 if magic == pe.image.PE32PLUS_MAGIC else 32
    ndirs = draw(st.integers(5, 16))
    dirs = tuple((0, 0) if i == 4 else (draw(st.integers(0, 0xFFFF)), draw(st.integers(0, 0xFFFF)))
                 for i in range(ndirs))
    certs = tuple(pe.Certificate(0x200, draw(st.sampled_from([1, 2])), draw(st.binary(min_size=1, max_size=90)))
                  for _ in range(draw(st.integers(0, 2))))
    return pe.PeImage(
        machine=draw(st.sampled_from([C.IMAGE_FILE_MACHINE_AMD64, C.IMAGE_FILE_MACHINE_ARM64,
                                      C.IMAGE_FILE_MACHINE_I386])),
        sections=tuple(sections), address_of_entry_point=draw(st.integers(0, rva - 1)),
        image_base=draw(st.integers(0, (1 << (word - 16)) - 1)) << 16, magic=magic,
        subsystem=draw(st.sampled_from([10, 11, 12])), dll_characteristics=draw(st.integers(0, 0xFFFF)),
        characteristics=draw(st.integers(0, 0xFFFF)) & ~C.IMAGE_FILE_32BIT_MACHINE,
        section_alignment=sa, file_alignment=fa, data_directories=dirs, number_of_rva_and_sizes=ndirs,
        certificates=certs, time_date_stamp=draw(st.integers(0, 0xFFFFFFFF)),
        overlay=draw(st.binary(max_size=40)))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(images())
def test_build_and_parse_are_inverse_and_agree_with_pefile(img):
    data = pe.build(img)
    parsed = pe.parse(data)
    back = parsed.image()
    assert pe.build(back) == data  # symmetric: what parse reads, build writes again
    for a, b in zip(img.sections, back.sections):
        assert (a.name, a.virtual_address, a.virtual_size, a.characteristics) == \
               (b.name, b.virtual_address, b.virtual_size, b.characteristics)
        assert b.data[:len(a.data)] == a.data and not b.data[len(a.data):].strip(b"\0")
        assert len(b.data) % img.file_alignment == 0
    for field in ("machine", "address_of_entry_point", "image_base", "magic", "subsystem", "dll_characteristics",
                  "characteristics", "section_alignment", "file_alignment", "time_date_stamp",
                  "number_of_rva_and_sizes"):
        assert getattr(back, field) == getattr(img, field), field
    # the zeros that align the certificate table to 8 bytes read back as trailing data
    pad = -len(img.overlay) % 8 if img.certificates else 0
    assert back.overlay == img.overlay + bytes(pad)
    assert [d for i, d in enumerate(back.data_directories) if i != 4] == \
           [d for i, d in enumerate(img.data_directories) if i != 4]
    assert [(c.revision, c.type, c.data.rstrip(b"\0")) for c in back.certificates] == \
           [(c.revision, c.type, c.data.rstrip(b"\0")) for c in img.certificates]
    ref = pefile.PE(data=data, fast_load=True)
    oh = ref.OPTIONAL_HEADER
    assert oh.CheckSum == ref.generate_checksum() == parsed.stored_checksum
    assert (oh.Magic, oh.ImageBase, oh.AddressOfEntryPoint, oh.SizeOfImage, oh.SizeOfHeaders) == \
           (img.magic, img.image_base, img.address_of_entry_point, parsed.optional_header.SizeOfImage,
            parsed.optional_header.SizeOfHeaders)
    assert oh.SizeOfImage % img.section_alignment == 0 and oh.SizeOfHeaders % img.file_alignment == 0
    assert [(s.Name.rstrip(b"\0").decode(), s.VirtualAddress, s.SizeOfRawData, s.PointerToRawData)
            for s in ref.sections] == [(s.name, s.VirtualAddress, s.SizeOfRawData, s.PointerToRawData)
                                       for s in parsed.sections]


def _sample() -> bytes:
    return pe.build(pe.PeImage(
        machine=C.IMAGE_FILE_MACHINE_AMD64, address_of_entry_point=0x1000, image_base=0x10000000,
        sections=(pe.Section(".text", 0x1000, 0x300, b"\x90" * 0x300, 0x60000020),
                  pe.Section(".reloc", 0x2000, 12, pe.base_relocations([0x1008, 0x1010]), 0x42000040)),
        data_directories=((0, 0),) * 5 + ((0x2000, 12),),
        certificates=(pe.Certificate(0x200, 2, b"\x30\x03\x02\x01\x01"),)))


def _exercise(data: bytes) -> None:
    """Everything a reader of an untrusted image calls; FormatError is the only way out."""
    try:
        p = pe.parse(data)
        p.base_relocations
        p.image()
        A.image_digest(p)
        for s in p.sections:
            p.section_data(s)
    except FormatError as exc:
        assert exc.field or exc.offset is not None, f"an error must name a structure or offset: {exc}"


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_damaged_images_raise_only_format_error(data):
    buf = bytearray(_sample())
    for _ in range(data.draw(st.integers(1, 6))):
        pos = data.draw(st.integers(0, len(buf) - 1))
        buf[pos] = data.draw(st.integers(0, 255))
    cut = data.draw(st.one_of(st.none(), st.integers(0, len(buf))))
    _exercise(bytes(buf if cut is None else buf[:cut]))


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=600))
def test_arbitrary_bytes_raise_only_format_error(tail):
    _exercise(b"MZ" + tail)
    _exercise(b"MZ" + bytes(0x3A) + (0x40).to_bytes(4, "little") + b"PE\0\0" + tail)


@settings(max_examples=60, deadline=None)
@given(st.sets(st.integers(0, 0xFFFFF), max_size=300))
def test_base_relocation_blocks_round_trip(rvas):
    table = pe.base_relocations(rvas)
    assert pe.parse_base_relocations(table) == [(r, pe.IMAGE_REL_BASED_DIR64) for r in sorted(rvas)]
    assert len(table) % 4 == 0


def test_base_relocations_read_like_pefile():
    data = _sample()
    ref = pefile.PE(data=data)
    theirs = [(e.rva, e.type) for block in ref.DIRECTORY_ENTRY_BASERELOC for e in block.entries if e.type]
    assert pe.parse(data).base_relocations == theirs == [(0x1008, 10), (0x1010, 10)]


def test_errors_name_the_structure_and_offset():
    good = _sample()
    cases = {
        b"MX" + good[2:]: "IMAGE_DOS_HEADER.e_magic",
        good[:0x3C] + (0x10000).to_bytes(4, "little") + good[0x40:]: "Signature",
        good[:0x3C] + (0x20).to_bytes(4, "little") + good[0x40:]: "e_lfanew",
        good[:0x90]: "IMAGE_FILE_HEADER",
    }
    for data, field in cases.items():
        with pytest.raises(FormatError) as exc:
            pe.parse(data)
        assert exc.value.field == field, str(exc.value)
    bad = bytearray(good)
    bad[0x80 + 4 + 20:0x80 + 4 + 22] = b"\x0c\x02"
    with pytest.raises(FormatError, match="Magic 0x20c"):
        pe.parse(bytes(bad))


def test_builder_refuses_what_the_specification_forbids():
    base = dict(machine=C.IMAGE_FILE_MACHINE_AMD64, address_of_entry_point=0x1000)
    text = pe.Section(".text", 0x1000, 0x10, b"\xc3", 0x60000020)
    with pytest.raises(FormatError, match="64 KiB"):
        pe.build(pe.PeImage(image_base=0x1000, sections=(text,), **base))
    with pytest.raises(FormatError, match="SectionAlignment"):
        pe.build(pe.PeImage(image_base=0, sections=(pe.Section(".text", 0x1800, 1, b"\xc3", 0),), **base))
    with pytest.raises(FormatError, match="8 ASCII"):
        pe.build(pe.PeImage(image_base=0, sections=(pe.Section(".toolongname", 0x1000, 1, b"", 0),), **base))
    with pytest.raises(FormatError, match="previous section|headers"):
        pe.build(pe.PeImage(image_base=0, sections=(text, text), **base))
    with pytest.raises(FormatError, match="AddressOfEntryPoint"):
        pe.build(pe.PeImage(image_base=0, sections=(text,), machine=C.IMAGE_FILE_MACHINE_AMD64,
                            address_of_entry_point=0x9000))


# -- binutils' PE images -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def objcopy_images(tmp_path_factory, uefi_payloads):
    """PE32+ (efi-app-x86_64) and PE32 (efi-app-ia32) images written by GNU objcopy."""
    gcc, objcopy = need("gcc"), need("objcopy")
    d = tmp_path_factory.mktemp("objcopy-pe")
    src = d / "t32.c"
    src.write_text("int efi_main(void *h, void *st) { return h == st; }\n")
    elf32 = d / "t32.elf"
    subprocess.run([gcc, "-m32", "-O2", "-ffreestanding", "-nostdlib", "-static", "-Wl,-e,efi_main",
                    "-Wl,-Ttext-segment=0x1000f000", "-o", str(elf32), str(src)], check=True, capture_output=True)
    out = {}
    for name, elf, target in (("pe32plus", uefi_payloads["fixed"], "efi-app-x86_64"), ("pe32", elf32, "efi-app-ia32")):
        dst = d / f"{name}.efi"
        subprocess.run([objcopy, "-R", ".comment", "--output-target", target, "--image-base", "0x10000000",
                        str(elf), str(dst)], check=True, capture_output=True)
        out[name] = dst.read_bytes()
    return out


@pytest.mark.parametrize("kind", ["pe32plus", "pe32"])
def test_objcopy_images_parse_like_pefile_and_objdump(objcopy_images, kind, tmp_path):
    data = objcopy_images[kind]
    p = pe.parse(data)
    ref = pefile.PE(data=data)
    assert p.pe32plus == (kind == "pe32plus")
    for name in ("Magic", "AddressOfEntryPoint", "BaseOfCode", "ImageBase", "SectionAlignment", "FileAlignment",
                 "SizeOfImage", "SizeOfHeaders", "CheckSum", "Subsystem", "DllCharacteristics", "SizeOfCode",
                 "SizeOfInitializedData", "SizeOfUninitializedData", "NumberOfRvaAndSizes", "SizeOfStackReserve"):
        assert p.optional_header[name] == getattr(ref.OPTIONAL_HEADER, name), name
    if kind == "pe32":
        assert p.optional_header.BaseOfData == ref.OPTIONAL_HEADER.BaseOfData
    assert p.file_header.Characteristics == ref.FILE_HEADER.Characteristics
    assert p.computed_checksum == ref.generate_checksum()
    assert [(s.Name, s.VirtualAddress, s.VirtualSize, s.SizeOfRawData) for s in p.sections] == \
           [(s.Name, s.VirtualAddress, s.Misc_VirtualSize, s.SizeOfRawData) for s in ref.sections]
    path = tmp_path / f"{kind}.efi"
    path.write_bytes(data)
    dump = subprocess.run([need("objdump"), "-p", "-h", str(path)], capture_output=True, text=True, check=True).stdout
    # objdump resolves long names (/N) through the COFF string table, as parse does
    assert re.findall(r"^\s+\d+ (\S+)\s+[0-9a-f]{8} ", dump, re.M) == [s.name for s in p.sections]
    if kind == "pe32":  # .note.gnu.build-id is longer than 8 bytes: a /N name
        assert any(s.header.Name.startswith(b"/") for s in p.sections)
    assert int(re.search(r"ImageBase\s+([0-9a-f]+)", dump).group(1), 16) == p.optional_header.ImageBase
    assert f"{p.optional_header.Magic:04x}" in dump


def test_authenticode_digest_equals_osslsigncode(objcopy_images, tmp_path):
    """osslsigncode computes the digest independently ("Calculated message digest")."""
    from uefi_helpers import SNAKEOIL_CERT, SNAKEOIL_KEY

    tool = need("osslsigncode")
    for name, data in objcopy_images.items():
        src, dst = tmp_path / f"{name}.efi", tmp_path / f"{name}-signed.efi"
        src.write_bytes(data)
        r = subprocess.run([tool, "sign", "-h", "sha256", "-key", str(SNAKEOIL_KEY), "-pass", "snakeoil", "-certs",
                            str(SNAKEOIL_CERT), "-in", str(src), "-out", str(dst)], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        out = subprocess.run([tool, "verify", "-in", str(dst)], capture_output=True, text=True).stdout
        calculated = re.search(r"Calculated message digest\s*:\s*([0-9A-F]+)", out).group(1).lower()
        assert A.image_digest(dst.read_bytes()).hex() == calculated
        # what was hashed: the unsigned image padded to 8 bytes
        assert A.image_digest(A.prepare_for_signing(data)).hex() == calculated


def test_hashed_ranges_skip_checksum_and_certificate_entry():
    data = _sample()
    p = pe.parse(data)
    ranges = A.hashed_ranges(p)
    covered = set()
    for a, b in ranges:
        covered.update(range(a, b))
    assert p.checksum_offset not in covered and p.certificate_directory_offset not in covered
    off, size = p.certificate_table
    assert off not in covered and off + size == len(data)
    assert all(i in covered for i in range(off) if not (p.checksum_offset <= i < p.checksum_offset + 4
                                                        or p.certificate_directory_offset <= i
                                                        < p.certificate_directory_offset + 8))
    with pytest.raises(FormatError, match="follow the certificate table"):
        A.image_digest(data + b"x")


def test_certificate_table_entries_are_padded_and_replaced():
    data = pe.build(pe.PeImage(machine=C.IMAGE_FILE_MACHINE_AMD64, address_of_entry_point=0x1000, image_base=0,
                               sections=(pe.Section(".text", 0x1000, 1, b"\xc3", 0x60000020),)))
    prepared = A.prepare_for_signing(data + b"abc")  # odd-sized trailing data: padded to 8
    co = pe.parse(data).checksum_offset

    def without_checksum(b: bytes) -> bytes:
        return b[:co] + b[co + 4:]

    assert len(prepared) == len(data) + 8 and without_checksum(prepared) == without_checksum(data + b"abc" + bytes(5))
    signed = A.with_certificates(prepared, [pe.Certificate(0x200, 2, b"x" * 13)])
    p = pe.parse(signed)
    assert p.certificate_table == (len(prepared), 24) and p.certificates[0].data == b"x" * 13 + bytes(3)
    assert p.stored_checksum == p.computed_checksum
    assert A.without_certificates(signed) == pe.build(pe.parse(prepared).image()) == \
           A.prepare_for_signing(data + b"abc")
    with pytest.raises(FormatError, match="already has a certificate table"):
        A.with_certificates(signed, [])
