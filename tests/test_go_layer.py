"""The Go layer (formats/go/) reads an executable only through its narrow reader.

Every Go view (build info, build ID, package paths, pclntab and moduledata, the layout
check, the itab repair) is computed twice on real Go ELFs: from the ElfFile, and from a
proxy that offers exactly the members of :class:`formats.go.reader.BinaryReader` (and of
its section, symbol and note views) and fails on anything else. Equal answers show the
protocol is enough and is all the layer uses. Plus the one varint decoder, property-tested
against an encoder written from the spec, and the ``.go.module`` check at the CLI.
"""

from __future__ import annotations

import subprocess
from array import array

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import GO_TARGET_NAMES, objcopy
from formats.elf import ElfFile
from formats.errors import FormatError
from formats.go import reader as R
from formats.go.binary import GoElfFile, check_go_layout
from formats.go.buildinfo import build_id, parse_buildinfo
from formats.go.itab import fix_itabs
from formats.go.moduledata import function_entry, locate
from formats.go.symbols import package_paths
from formats.go.varint import uvarint
from formats.loadimage import segment_buffer
from formats.reloc import relocate
from test_pclntab_old import goroot_file
from test_reloc import LOW, build_pie


def _members(proto) -> set[str]:
    return {n for n in vars(proto) if not n.startswith("_")}


class _View:
    """Exposes only the members of ``proto`` of the wrapped object."""

    def __init__(self, obj, proto) -> None:
        self._obj, self._allowed = obj, _members(proto)

    def __getattr__(self, name):
        if name not in self._allowed:
            raise AssertionError(f"the Go layer read {name!r}, which the reader protocol does not offer")
        return getattr(self._obj, name)


class NarrowReader(_View):
    """An ElfFile behind :class:`BinaryReader` and nothing else."""

    def __init__(self, elf: ElfFile) -> None:
        super().__init__(elf, R.BinaryReader)
        self.sections = [_View(s, R.SectionView) for s in elf.sections]
        self.symbols = [_View(s, R.SymbolView) for s in elf.symbols]
        self.notes = [_View(n, R.NoteView) for n in elf.notes]

    def section(self, name):
        return next((s for s in self.sections if s.name == name), None)

    def section_data(self, sec):
        return self._obj.section_data(sec._obj)


@pytest.fixture(scope="module", params=GO_TARGET_NAMES + ["arm7-stripped", "go117"])
def pair(request, go_elf, tmp_path_factory):
    if request.param == "go117":  # Go 1.17: build info through string-header pointers (reader.read)
        import base64

        data = base64.b64decode(goroot_file("src/debug/buildinfo/testdata/go117/go117.base64").read_bytes())
    else:
        data = go_elf(request.param).read_bytes()
    elf = ElfFile.parse(data, request.param)
    return elf, NarrowReader(elf)


def test_protocol_members_are_few():
    """The reader is narrow: no program headers, machine, entry or raw file bytes."""
    assert _members(R.BinaryReader) == {"source", "little_endian", "word_size", "sections", "symbols", "notes",
                                        "section", "section_data", "read"}
    assert not _members(R.BinaryReader) & {"segments", "loads", "data", "machine", "entry", "elfclass"}


def test_build_info_and_id_through_the_reader(pair):
    elf, narrow = pair
    info = parse_buildinfo(narrow)
    assert info is not None and info == parse_buildinfo(elf) and info.go_version.startswith("go1.")
    assert build_id(narrow) == build_id(elf) == GoElfFile.parse(elf.data).go_build_id
    check_go_layout(narrow)


def test_package_paths_through_the_reader(pair):
    elf, narrow = pair
    paths = list(package_paths(narrow))
    assert paths == list(package_paths(elf))
    assert ("main" in paths) == bool(elf.symbols) and ("runtime" in paths) == bool(elf.symbols)


def test_pclntab_and_moduledata_through_the_reader(pair):
    elf, narrow = pair
    a, b = locate(narrow), locate(elf)
    assert (a.how, a.address, a.text_start, a.gofunc, a.moduledata) == (b.how, b.address, b.text_start, b.gofunc,
                                                                       b.moduledata)
    assert [(f.entry, f.name) for f in a.pclntab.funcs] == [(f.entry, f.name) for f in b.pclntab.funcs]
    assert len(a.pclntab.funcs) > 500  # the runtime alone has more
    assert function_entry(narrow, "main.main") == function_entry(elf, "main.main") is not None


def test_itab_repair_through_the_reader():
    """On a PIE from Go's internal linker the repair moves slots; through the narrow
    reader it moves the same ones, to the same words."""
    elf = ElfFile.parse(build_pie("amd64-internal", LOW).read_bytes())
    done = relocate(elf, 0x4000_0000, fix_go_itabs=False)
    want = relocate(elf, 0x4000_0000)
    assert want.go_itab_slots > 0
    link_base, _, _ = segment_buffer(elf)
    image = bytearray(done.image.data)
    sites = array("Q", (link_base + s for s in done.sites))
    assert fix_itabs(NarrowReader(elf), image, link_base, done.delta, sites) == want.go_itab_slots
    assert bytes(image) == want.image.data
    assert sorted(s - link_base for s in sites) == list(want.sites)


def test_missing_go_module_is_refused(go_elf, tmp_path, run_imgtool):
    """A Go 1.26 ELF whose .go.module was removed does not start: bin and imx build refuse it."""
    src = go_elf("arm7")
    cut = tmp_path / "cut.elf"
    subprocess.run([objcopy(), "--remove-section", ".go.module", str(src), str(cut)], check=True)
    elf = ElfFile.parse(cut.read_bytes(), str(cut))
    with pytest.raises(FormatError, match="no .go.module section") as exc:
        check_go_layout(elf)
    assert exc.value.field == ".go.module" and exc.value.source == str(cut)
    for fmt in ("bin", "hex"):
        r = run_imgtool("bin", cut, "-o", tmp_path / f"x.{fmt}", "--format", fmt)
        assert r.returncode == 2 and ".go.module" in r.stderr and not (tmp_path / f"x.{fmt}").exists()
    r = run_imgtool("imx", "build", cut, "--board", "usbarmory-mk2", "-o", tmp_path / "x.imx")
    assert r.returncode == 2 and ".go.module" in r.stderr and not (tmp_path / "x.imx").exists()
    check_go_layout(ElfFile.parse(src.read_bytes()))  # the whole file passes


# ------------------------------------------------------------------------------ varints

def _encode(value: int) -> bytes:
    """Unsigned LEB128 (encoding/binary.PutUvarint), written from the format's definition."""
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, (1 << 64) - 1), max_size=6), st.binary(max_size=4))
def test_uvarint_round_trip(values, tail):
    blob = b"".join(_encode(v) for v in values) + tail
    pos = 0
    for v in values:
        got, pos = uvarint(blob, pos)
        assert got == v
    assert blob[pos:] == tail


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=16), st.integers(0, 16), st.sampled_from([5, 10]))
def test_uvarint_is_bounded_and_only_raises_format_errors(blob, start, max_len):
    try:
        value, end = uvarint(memoryview(blob), start, max_len=max_len, field="t")
    except FormatError as exc:
        assert exc.field == "t" and exc.offset == start
        assert start >= len(blob) or all(b & 0x80 for b in blob[start:start + max_len])
        return
    assert start < end <= min(len(blob), start + max_len)
    assert _encode(value) == blob[start:end] or blob[end - 1] == 0  # a zero final group may pad


def test_uvarint_limits():
    assert uvarint(_encode(1 << 63), 0) == (1 << 63, 10)
    with pytest.raises(FormatError, match="longer than 5 bytes"):
        uvarint(_encode(1 << 35), 0, max_len=5)
    with pytest.raises(FormatError, match="runs past the end") as exc:
        uvarint(b"\x01\x80\x80", 1, base=0x100, field="pctab")
    assert exc.value.offset == 0x101 and exc.value.field == "pctab"
    with pytest.raises(FormatError, match="runs past the end"):
        uvarint(b"\x80\x01", 0, end=1)
