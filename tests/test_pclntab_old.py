"""The pre-1.18 pclntab layouts on real toolchain output from the installed Go's GOROOT.

* ``src/debug/gosym/testdata/pcln115.gz``: the raw ``.gopclntab`` of a Go 1.15 amd64
  hello world (magic 0xfffffffb, text at 0x1001000);
* ``src/debug/buildinfo/testdata/go117/go117.base64``: a whole Go 1.17 amd64 ELF (magic
  0xfffffffa, compressed ``.zdebug_*`` DWARF).

References are independent of our parser: Go's own ``debug/gosym`` (a small program
built here), ``go tool nm -size``, pyelftools' symbol table and section sizes, and the
slice words of the ELF's ``runtime.firstmoduledata`` (the linker's own extents). A
missing file fails the test: these artefacts ship with every Go toolchain.
"""

from __future__ import annotations

import base64
import gzip
import json
import struct
import subprocess
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from conftest import build_go, objcopy
from formats.go.binary import GoElfFile as ElfFile
from formats.go.moduledata import locate
from formats.go.pclntab import MAGIC_12, MAGIC_116, PcLnTab, file_line, first_file, pcvalue_table_len
from imgtool.size.engine import analyze
from test_gopclntab import nm_functions, run_size
from test_size_engine import assert_reconciles

PCLN115_TEXT = 0x1001000
PCLN115_MAIN = 0x105C280  # debug/gosym Test115PclnParsing: LineToPC("/tmp/hello.go", 3)

GOSYMREF = {
    "go.mod": "module example.com/gosymref\n\ngo 1.21\n",
    "main.go": """// gosymref prints what debug/gosym reads from a pclntab: each function (entry, end,
// name) and the file:line of its entry, middle and last byte, as JSON lines.
// Usage: gosymref ELF | gosymref -raw TABLE TEXTSTART
package main

import (
	"debug/elf"
	"debug/gosym"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
)

func main() {
	var data []byte
	var text uint64
	var err error
	if os.Args[1] == "-raw" {
		if data, err = os.ReadFile(os.Args[2]); err == nil {
			text, err = strconv.ParseUint(os.Args[3], 0, 64)
		}
	} else {
		var f *elf.File
		if f, err = elf.Open(os.Args[1]); err == nil {
			if data, err = f.Section(".gopclntab").Data(); err == nil {
				text = f.Section(".text").Addr
			}
		}
	}
	var tab *gosym.Table
	if err == nil {
		tab, err = gosym.NewTable(nil, gosym.NewLineTable(data, text))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	enc := json.NewEncoder(os.Stdout)
	for _, f := range tab.Funcs {
		var lines [][]any
		for _, pc := range []uint64{f.Entry, f.Entry + (f.End-f.Entry)/2, f.End - 1} {
			file, line, _ := tab.PCToLine(pc)
			lines = append(lines, []any{pc, file, line})
		}
		enc.Encode(map[string]any{"name": f.Name, "entry": f.Entry, "end": f.End, "lines": lines})
	}
}
""",
}


def goroot_file(rel: str) -> Path:
    """``$(go env GOROOT)/rel``; fails (never skips) when Go or the file is missing."""
    try:
        root = subprocess.run(["go", "env", "GOROOT"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.fail(f"'go env GOROOT' failed ({exc}); the Go toolchain is needed", pytrace=False)
    path = Path(root) / rel
    if not path.is_file():
        pytest.fail(f"{path} is missing: the Go toolchain in {root} does not carry its test data", pytrace=False)
    return path


@pytest.fixture(scope="module")
def pcln115() -> bytes:
    return gzip.decompress(goroot_file("src/debug/gosym/testdata/pcln115.gz").read_bytes())


@pytest.fixture(scope="module")
def go117(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("go117") / "go117.elf"
    out.write_bytes(base64.b64decode(goroot_file("src/debug/buildinfo/testdata/go117/go117.base64").read_bytes()))
    return out


@pytest.fixture(scope="module")
def gosym(tmp_path_factory):
    """``gosym(*args) -> list[dict]``: the functions and lines Go's debug/gosym reads."""
    src = tmp_path_factory.mktemp("gosymref")
    for name, text in GOSYMREF.items():
        (src / name).write_text(text)
    exe = build_go(src, "gosymref", {}, "")

    def run(*args) -> list[dict]:
        out = subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True, check=True).stdout
        return [json.loads(line) for line in out.splitlines()]

    return run


def assert_same_as_gosym(tab: PcLnTab, ref: list[dict]) -> None:
    """Functions (entry, end, name) and file:line at entry, middle and last byte agree
    with debug/gosym (its "" / -1 for a pc past the pc tables is our None; for a function
    without a pc table, offset 0, gosym decodes the table header, we give None)."""
    assert [(f.entry, f.end, f.name) for f in tab.funcs] == [(r["entry"], r["end"], r["name"]) for r in ref]
    checked = 0
    for f, r in zip(tab.funcs, ref):
        for pc, file, line in r["lines"]:
            want = (file or None if f.pcfile else None, None if line == -1 or not f.pcln else line)
            assert file_line(tab, f, pc) == want, (f.name, hex(pc))
            checked += want[1] is not None
    assert checked > 1.5 * len(ref)


# ------------------------------------------------------------------------ Go 1.15 (0xfffffffb)
def test_pcln115_functions_and_lines_match_debug_gosym(pcln115, gosym, tmp_path):
    tab = PcLnTab.parse(pcln115)
    assert (tab.magic, tab.version, tab.ptrsize, tab.quantum) == (MAGIC_12, "1.2", 8, 1)
    raw = tmp_path / "pcln115"
    raw.write_bytes(pcln115)
    ref = gosym("-raw", raw, hex(PCLN115_TEXT))
    assert len(ref) == tab.nfunc > 1000
    assert_same_as_gosym(tab, ref)
    main = next(f for f in tab.funcs if f.name == "main.main")
    assert main.entry == PCLN115_MAIN
    assert file_line(tab, main, PCLN115_MAIN) == ("/tmp/hello.go", 3)
    # LineToPC: main.main's entry is the lowest pc of /tmp/hello.go
    assert all(first_file(tab, f) != "/tmp/hello.go" for f in tab.funcs if f.entry < main.entry)


def test_pcln115_entries_sorted_inside_text_and_table_covered(pcln115):
    tab = PcLnTab.parse(pcln115)
    funcs = tab.funcs
    assert funcs[0].entry == PCLN115_TEXT
    assert all(a.entry < b.entry == a.end for a, b in zip(funcs, funcs[1:]))
    assert funcs[-1].end == tab.end_pc > funcs[-1].entry
    ext = tab.extents()
    assert [x.name for x in ext] == ["header", "functab", "filetab_offset", "funcs"]
    assert ext[0].offset == 0 and all(a.end == b.offset for a, b in zip(ext, ext[1:]))
    assert sum(x.size for x in ext) == ext[-1].end == len(pcln115)
    body = ext[-1]
    # every record, name and pc table lies inside the "funcs" part; records do not overlap
    spans = sorted((f.record, f.record + f.record_size) for f in funcs)
    assert all(body.offset <= a and b <= body.end for a, b in spans)
    assert all(b <= c for (_, b), (c, _) in zip(spans, spans[1:]))
    for f in funcs:
        for t in (f.pcsp, f.pcfile, f.pcln, *f.pcdata):
            if t:
                assert body.offset <= t and t + pcvalue_table_len(tab.data, t, tab.quantum) <= body.end
        assert body.offset <= f.nameoff < body.end
    files = {first_file(tab, f) for f in funcs}
    assert "/tmp/hello.go" in files and None not in files - {first_file(tab, funcs[0])}


# ------------------------------------------------------------------------ Go 1.17 (0xfffffffa)
def test_go117_functions_match_nm_symtab_and_gosym(go117, gosym):
    elf = ElfFile.parse(go117.read_bytes(), str(go117))
    g = locate(elf)
    tab = g.pclntab
    assert (tab.magic, tab.version, elf.build_info.go_version) == (MAGIC_116, "1.16", "go1.17")
    assert_same_as_gosym(tab, gosym(go117))
    # ELF symbol table (pyelftools): every sized function symbol is a pclntab function at
    # the same address (Go 1.17 names assembly symbols NAME.abi0, the pclntab NAME)
    with go117.open("rb") as fh:
        symtab = ELFFile(fh).get_section_by_name(".symtab")
        funcs = {s["st_value"]: (s.name.removesuffix(".abi0"), s["st_size"]) for s in symtab.iter_symbols()
                 if s["st_info"]["type"] == "STT_FUNC" and s["st_size"]}
    assert {a: n for a, (n, _) in funcs.items()} == {f.entry: f.name for f in tab.funcs}
    # sizes: go tool nm -size plus the padding to the next 32-byte-aligned function
    nm = nm_functions(go117)
    for f in tab.funcs:
        assert nm[f.entry][1].removesuffix(".abi0") == f.name
        assert 0 <= f.size - nm[f.entry][0] < 32, f.name
    assert tab.funcs[-1].size == nm[tab.funcs[-1].entry][0]  # before 1.18 the end pc is unpadded


def test_go117_subtables_equal_the_linkers_extents(go117):
    elf = ElfFile.parse(go117.read_bytes(), str(go117))
    g = locate(elf)
    tab = g.pclntab
    with go117.open("rb") as fh:
        size = ELFFile(fh).get_section_by_name(".gopclntab")["sh_size"]
    ext = tab.extents()
    assert sum(x.size for x in ext) == size == tab.size
    assert ext[0].offset == 0 and all(a.end == b.offset for a, b in zip(ext, ext[1:]))
    # runtime.firstmoduledata: pcHeader, then (ptr, len, cap) of funcnametab, cutab,
    # filetab, pctab, pclntable (functab + _func records); the 1.17 linker writes every
    # len in bytes (cutab too). Each sub-table starts where the linker put it; its extent
    # runs to the next one, so it also holds the zero padding the linker aligned that
    # next symbol with (amd64: 32 bytes).
    md = g.moduledata
    w = struct.unpack("<16Q", elf.read(md.address, 16 * 8))
    assert w[0] == g.address == elf.section(".gopclntab").addr
    by = {x.name: x for x in ext}
    for i, name in ((1, "funcnametab"), (4, "cutab"), (7, "filetab"), (10, "pctab")):
        x = by[name]
        assert w[i] - g.address == x.offset and w[i + 1] == w[i + 2], name
        assert 0 <= x.size - w[i + 1] < 32 and not any(tab.data[x.offset + w[i + 1]:x.end]), name
    assert (w[13] - g.address, w[14]) == (tab.functab, by["functab"].size + by["_func"].size)
    # pc tables tile pctab after its leading zero byte; the rest is zero alignment padding
    lens = tab.pctab_lengths()
    assert min(lens) == 1 and tab.data[tab.pctab] == 0
    assert all(a + lens[a] == b for a, b in zip(sorted(lens), sorted(lens)[1:]))
    end = tab.pctab + max(lens) + lens[max(lens)]
    assert end <= tab.pctab + w[11] <= tab.functab and not any(tab.data[end:tab.functab])


def test_go117_size_reconciles(go117):
    elf = ElfFile.parse(go117.read_bytes(), str(go117))
    r = analyze(elf)
    assert r.pclntab_version == "1.16" and r.go_version == "go1.17"
    assert_reconciles(elf, r)
    res = run_size(go117, "--format", "json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert all(s["labelled"] == s["size"] for s in doc["sections"])
    assert sum(x["file"] for x in doc["file_layout"]) == doc["totals"]["file"] == go117.stat().st_size
    # .zdebug_* (zlib DWARF) is debug information, not unknown bytes
    dwarf = sum(s["size"] for s in doc["sections"] if s["name"].startswith((".zdebug_", ".debug_")))
    assert dwarf > 100_000
    assert {x["name"]: x["file"] for x in doc["packages"]}["<debug>"] == dwarf
    assert doc["totals"]["unknown"] < 0.02 * doc["totals"]["flash"]


def test_go117_stripped_has_no_bogus_gofunc(go117, tmp_path):
    """Regression: word 40 of a 1.16/1.17 moduledata is typelinks, not go:func.*."""
    out = tmp_path / "go117-stripped.elf"
    subprocess.run([objcopy(), "--strip-all", str(go117), str(out)], check=True)
    full = locate(ElfFile.parse(go117.read_bytes()))
    elf = ElfFile.parse(out.read_bytes(), str(out))
    g = locate(elf)
    assert elf.symbols == [] or not any(s.name == "go.func.*" for s in elf.symbols)
    assert g.moduledata is not None and g.gofunc is None
    assert full.gofunc == next(s.value for s in ElfFile.parse(go117.read_bytes()).symbols if s.name == "go.func.*")
    assert [(f.entry, f.name) for f in g.pclntab.funcs] == [(f.entry, f.name) for f in full.pclntab.funcs]
    assert_reconciles(elf, analyze(elf))
