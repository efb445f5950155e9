"""formats.go.pclntab / formats.go.moduledata on real Go ELFs of several Go versions.

Go 1.26 (the machine's toolchain) for every test architecture, Go 1.22 fetched through the
module proxy (``GOTOOLCHAIN=go1.22.12``), and Debian ``golang-1.19`` for the 1.18-format
table (magic 0xfffffff0). Byte order is exercised by rewriting a real table big-endian.
"""

from __future__ import annotations

import os
import random
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import build_go
from formats.go.binary import GoElfFile as ElfFile
from formats.errors import FormatError
from formats.go.moduledata import locate
from formats.go.pclntab import MAGIC_118, MAGIC_120, PcLnTab, findfunctab_size, pcvalue_table_len

ELVES = ["arm7", "arm5", "arm64", "amd64", "riscv64", "arm7-stripped"]

OLDPROG = {
    "go.mod": "module example.com/oldprog\n\ngo 1.18\n",
    "main.go": """package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
)

type List[T any] struct{ items []T }

//go:noinline
func (l *List[T]) Push(v T) { l.items = append(l.items, v) }

type Item struct {
	Name string `json:"name"`
	N    int    `json:"n"`
}

func main() {
	l := &List[Item]{}
	for i := 0; i < 3; i++ {
		l.Push(Item{fmt.Sprint("item", i), i})
	}
	sort.Slice(l.items, func(i, j int) bool { return l.items[i].N > l.items[j].N })
	defer fmt.Println("done")
	b, _ := json.Marshal(l.items)
	os.Stdout.Write(b)
}
""",
}


def _oldprog(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("oldprog")
    for name, text in OLDPROG.items():
        (d / name).write_text(text)
    return d


@pytest.fixture(scope="session")
def go122_elf(tmp_path_factory) -> Path:
    """A small ARMv7 program built with Go 1.22.12 (toolchain from the Go module proxy)."""
    return build_go(_oldprog(tmp_path_factory), "old122-arm7",
                    {"GOARCH": "arm", "GOARM": "7", "GOTOOLCHAIN": "go1.22.12"}, "-T 0x80010000 -R 0x1000")


GO119 = "/usr/lib/go-1.19/bin/go"


def build_go119(src: Path, name: str, env: dict[str, str], ldflags: str) -> Path:
    """Build with Debian golang-1.19 (1.18-format pclntab); cached like conftest.build_go."""
    if not os.path.exists(GO119):
        pytest.fail("Debian golang-1.19-go is needed for the Go 1.18-format pclntab (scripts/setup.sh installs it)", pytrace=False)
    import hashlib

    h = hashlib.sha256(b"go1.19")
    for f in sorted(src.rglob("*")):
        h.update(f.name.encode() + f.read_bytes())
    h.update(repr((sorted(env.items()), ldflags)).encode())
    cache = Path(os.environ.get("IMGTOOL_TEST_CACHE", Path.home() / ".cache" / "imgtool-tests"))
    cache.mkdir(parents=True, exist_ok=True)
    out = cache / f"{name}-{h.hexdigest()[:16]}.elf"
    if not out.exists():
        full = dict(os.environ, GOOS="linux", CGO_ENABLED="0", GOFLAGS="-mod=mod", GOTOOLCHAIN="local", **env)
        r = subprocess.run([GO119, "build", "-o", str(out.with_suffix(".tmp")), "-ldflags", ldflags, "."],
                           cwd=src, env=full, capture_output=True, text=True)
        if r.returncode:
            pytest.fail(f"go1.19 build failed:\n{r.stderr}", pytrace=False)
        out.with_suffix(".tmp").replace(out)
    return out


@pytest.fixture(scope="session")
def go119_elves(tmp_path_factory) -> dict[str, Path]:
    src = _oldprog(tmp_path_factory)
    return {"arm7": build_go119(src, "old119-arm7", {"GOARCH": "arm", "GOARM": "7"}, "-T 0x80010000 -R 0x1000"),
            "amd64-stripped": build_go119(src, "old119-amd64s", {"GOARCH": "amd64"}, "-s -w")}


def nm_functions(path: Path) -> dict[int, tuple[int, str]]:
    """address -> (size, name) of the text symbols ``go tool nm -size`` prints (a sized
    symbol wins over a zero-size marker such as ``runtime.text`` at the same address)."""
    out = subprocess.run(["go", "tool", "nm", "-size", "-sort", "address", str(path)], capture_output=True,
                         text=True, check=True).stdout
    funcs = {}
    for line in out.splitlines():
        parts = line.split(None, 3)
        if len(parts) == 4 and parts[2] in ("T", "t") and (int(parts[1]) or int(parts[0], 16) not in funcs):
            funcs[int(parts[0], 16)] = (int(parts[1]), parts[3])
    return funcs


def _check_table(elf: ElfFile):
    g = locate(elf)
    tab = g.pclntab
    sec = elf.section(".gopclntab")
    ext = tab.extents()
    assert sum(x.size for x in ext) == sec.size == tab.size
    pos = 0
    for x in ext:
        assert x.offset == pos
        pos = x.end
    funcs = tab.funcs
    assert len(funcs) == tab.nfunc > 100
    assert all(a.entry <= b.entry for a, b in zip(funcs, funcs[1:]))
    text = elf.section(".text")
    assert funcs[0].entry == text.addr == g.text_start
    assert text.addr + text.size - 64 <= funcs[-1].end <= text.addr + text.size
    # deduplicated pc tables tile pctab: their lengths plus the leading pad byte fill it
    lens = tab.pctab_lengths()
    region = tab.functab - tab.pctab
    assert region - 8 < sum(lens.values()) + 1 <= region
    for off in list(lens)[:200]:
        assert pcvalue_table_len(tab.data, tab.pctab + off, tab.quantum) == lens[off]
    return g


@pytest.mark.parametrize("name", ELVES)
def test_tables_of_go126(go_elf, name):
    elf = ElfFile.parse(go_elf(name).read_bytes())
    g = _check_table(elf)
    tab = g.pclntab
    assert tab.magic == MAGIC_120 and tab.go126
    assert [x.name for x in tab.extents()][-2:] == ["funcdata", "findfunctab"]
    first = tab.funcs[0].entry
    assert tab.size - tab.findfunctab == findfunctab_size(tab.end_pc - first)
    assert g.moduledata is not None and g.moduledata.text == g.text_start
    assert tab.quantum == {"amd64": 1, "riscv64": 2}.get(elf.arch, 4)
    assert tab.ptrsize == elf.elfclass // 8
    if "stripped" not in name:
        syms = {s.name: s.value for s in elf.symbols}
        assert g.address + tab.gofunc == syms["go:func.*"]
        assert g.address + tab.findfunctab == syms["runtime.findfunctab"]


@pytest.mark.parametrize("name", ["arm7", "amd64", "riscv64"])
def test_function_sizes_match_go_tool_nm(go_elf, name):
    path = go_elf(name)
    tab = locate(ElfFile.parse(path.read_bytes())).pclntab
    by_entry = {f.entry: f for f in tab.funcs}
    nm = nm_functions(path)
    checked = 0
    for addr, (size, sym) in nm.items():
        if size == 0:
            continue
        f = by_entry[addr]
        # pclntab size = symbol size + alignment padding up to the next function
        assert 0 <= f.size - size < 64, (sym, f.size, size)
        checked += 1
    assert checked > 1000


def test_go122_table(go122_elf):
    elf = ElfFile.parse(go122_elf.read_bytes())
    assert elf.build_info.go_version == "go1.22.12"
    g = _check_table(elf)
    assert g.pclntab.magic == MAGIC_120 and not g.pclntab.go126
    assert g.pclntab.text_start == 0x80010000  # header word, pre-1.26
    assert g.gofunc == g.moduledata.gofunc == {s.name: s.value for s in elf.symbols}["go:func.*"]
    names = {f.name for f in g.pclntab.funcs}
    assert "main.main" in names and any(n.startswith("main.(*List[") for n in names)


def test_go119_tables(go119_elves):
    for name, path in go119_elves.items():
        elf = ElfFile.parse(path.read_bytes())
        g = locate(elf)
        tab = g.pclntab
        assert tab.magic == MAGIC_118 and tab.version == "1.18"
        assert sum(x.size for x in tab.extents()) == elf.section(".gopclntab").size
        assert g.moduledata is not None and g.gofunc == g.moduledata.gofunc
        # go1.19 elides generic arguments in funcnametab
        assert "main.(*List[...]).Push" in {f.name for f in tab.funcs}
    nm = nm_functions(go119_elves["arm7"])
    tab = locate(ElfFile.parse(go119_elves["arm7"].read_bytes())).pclntab
    by_entry = {f.entry: f for f in tab.funcs}
    for addr, (size, sym) in nm.items():
        if size:
            assert 0 <= by_entry[addr].size - size < 64, sym


# ----------------------------------------------------------------------------- byte order
def _to_big_endian(tab: PcLnTab) -> bytes:
    """Rewrite a little-endian 1.20 table big-endian: every multi-byte field swapped."""
    d = bytearray(tab.data)

    def sw(off: int, n: int = 1, width: int = 4) -> None:
        for i in range(n):
            o = off + i * width
            d[o:o + width] = d[o:o + width][::-1]

    sw(0)
    sw(8, 8, tab.ptrsize)
    sw(tab.cutab, (tab.filetab - tab.cutab) // 4)
    sw(tab.functab, 2 * tab.nfunc + 1)
    for f in tab.funcs:
        sw(f.record, 10)  # entryOff..startLine; the four bytes after are u8 fields
        sw(f.record + 44, len(f.pcdata) + len(f.funcdata))
    return bytes(d)


def test_big_endian_table(go_elf):
    elf = ElfFile.parse(go_elf("arm7").read_bytes())
    g = locate(elf)
    tab = g.pclntab
    be = PcLnTab.parse(_to_big_endian(tab), address=g.address, text_start=g.text_start, go126=True)
    assert not be.little_endian and be.nfunc == tab.nfunc
    assert be.funcs == tab.funcs
    assert be.extents() == tab.extents()
    assert be.pctab_lengths() == tab.pctab_lengths()


def test_quantum_and_pointer_size_header_checks():
    hdr = struct.pack("<IBBBB", MAGIC_120, 0, 0, 3, 4) + bytes(64)
    with pytest.raises(FormatError, match="quantum"):
        PcLnTab.parse(hdr)
    with pytest.raises(FormatError, match="bad magic"):
        PcLnTab.parse(b"\x00" * 64)
    with pytest.raises(FormatError, match="too short"):
        PcLnTab.parse(b"\xf1\xff\xff\xff")


# ----------------------------------------------------------------------------- corruption
def _exercise(data: bytes, g) -> None:
    try:
        t = PcLnTab.parse(data, address=g.address, text_start=g.text_start, go126=True)
        t.extents()
        t.funcs
        t.pctab_lengths()
    except FormatError as exc:
        assert exc.field  # names the sub-table


def test_random_byte_flips_and_truncation_never_crash(go_elf):
    elf = ElfFile.parse(go_elf("arm7").read_bytes())
    g = locate(elf)
    tab = g.pclntab
    good = bytes(tab.data)
    rnd = random.Random(5)
    hot = [0, 8, tab.functab, tab.functab + 8 * 10, tab.funcs[5].record, tab.funcs[-1].record, tab.pctab]
    for i in range(300):
        d = bytearray(good)
        base = rnd.choice(hot)
        for _ in range(rnd.randint(1, 8)):
            d[min(len(d) - 1, base + rnd.randrange(64))] = rnd.randrange(256)
        _exercise(bytes(d), g)
    for cut in (0, 3, 7, 20, 41, tab.funcnametab + 5, tab.functab + 3, tab.functab + 100, tab.functab_end - 1,
                len(good) // 2, len(good) - 1):
        _exercise(good[:cut], g)


def run_size(*args: str) -> subprocess.CompletedProcess:
    """``imgtool size ...`` in a subprocess (works before cmd_size is registered in imgtool.cli)."""
    code = "import sys, imgtool.cli.cmd_size; from imgtool.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, "size", *map(str, args)], capture_output=True, text=True)


def test_corrupted_elf_gives_error_row_or_exit_2(go_elf, tmp_path):
    path = go_elf("arm7-stripped")
    elf = ElfFile.parse(path.read_bytes())
    sec = elf.section(".gopclntab")
    d = bytearray(path.read_bytes())
    d[sec.offset + 8:sec.offset + 12] = b"\xff\xff\xff\x7f"  # nfunc
    bad = tmp_path / "bad.elf"
    bad.write_bytes(bytes(d))
    r = run_size(bad)
    assert r.returncode in (0, 2), r.stderr
    assert "Traceback" not in r.stderr
    assert "nfunc" in r.stdout + r.stderr
