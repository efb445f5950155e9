"""imgtool.size: every byte labelled exactly once; totals reconcile; package rules."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from formats.elf import ElfFile
from formats.go.moduledata import locate
from formats.loadimage import flatten
from imgtool.size.engine import analyze
from imgtool.size.packages import ModuleMap, package_from_file, symbol_package, type_package
from imgtool.size import views
from test_gopclntab import ELVES, nm_functions


@pytest.fixture(scope="module")
def analysed(go_elf):
    cache = {}

    def get(name):
        if name not in cache:
            elf = ElfFile.parse(go_elf(name).read_bytes(), str(go_elf(name)))
            cache[name] = (elf, analyze(elf))
        return cache[name]

    return get


@pytest.mark.parametrize("name", ELVES)
def test_every_byte_has_one_label(analysed, name):
    assert_reconciles(*analysed(name))


def assert_reconciles(elf, r) -> None:
    """Every section's labels sum to its size; the file, memory, flat-image, pclntab and
    per-table views sum to their totals (``elf`` and its :func:`analyze` report ``r``)."""
    assert r.errors == []
    for si in r.sections.values():
        assert sum(p.size for p in si.pieces) == si.section.size, si.section.name
        assert all(p.size > 0 for p in si.pieces)
    assert sum(p.size for p in views.file_view(r)) == r.file_size == len(elf.data)
    assert sum(p.size for p in views.memory_view(r)) == r.memory_size == sum(s.memsz for s in elf.loads)
    assert sum(p.size for p in views.flash_view(r, elf)) == r.flash_image_size == len(flatten(elf).data)
    # the pclntab split sums to the section, and per-package tables sum to the totals
    assert sum(r.pclntab_parts.values()) == elf.section(".gopclntab").size
    t = views.totals(r)
    for by in ("package", "module", "section", "symbol"):
        rows = views.table(r, by)
        for col in ("flash", "ram", "text", "rodata", "pclntab", "data", "bss"):
            assert sum(x[col] for x in rows) == t[col], (by, col)
    assert sum(x["file"] for x in views.table(r, "file")) == r.file_size
    assert any(x["name"] == "<unknown>" for x in views.table(r, "package"))


def test_unknown_is_small_with_symbols(analysed):
    _, r = analysed("arm7")
    t = views.totals(r)
    assert t["unknown"] < 0.02 * t["flash"]


def test_far_data_layout_reconciles(analysed):
    elf, r = analysed("arm7-fardata")
    assert sum(p.size for p in views.memory_view(r)) == r.memory_size
    assert sum(p.size for p in views.flash_view(r, elf)) == r.flash_image_size == len(flatten(elf, max_gap=None, max_size=None).data)


@pytest.mark.parametrize("name", ["arm7", "arm5", "arm64", "amd64", "riscv64"])
def test_function_text_matches_go_tool_nm(go_elf, analysed, name):
    elf, r = analysed(name)
    text = next(si for si in r.sections.values() if si.section.name == ".text")
    got = {}
    for p in text.pieces:
        if not p.symbol.startswith("["):
            got[p.symbol] = got.get(p.symbol, 0) + p.size
    nm = nm_functions(go_elf(name))
    n = 0
    for _, (size, sym) in nm.items():
        if size:
            assert got.get(sym) == size, sym
            n += 1
    assert n > 1000


def test_stripped_functions_come_from_pclntab(analysed):
    _, full = analysed("arm7")
    _, stripped = analysed("arm7-stripped")
    a = views.table(full, "package")
    b = views.table(stripped, "package")
    fa = {x["name"]: x["text"] for x in a}
    fb = {x["name"]: x["text"] for x in b}
    for pkg in ("runtime", "fmt", "net/http", "encoding/json", "main"):
        assert fb[pkg] > 0 and abs(fa[pkg] - fb[pkg]) <= 0.02 * fa[pkg]
    assert {x["name"]: x["pclntab"] for x in a}["fmt"] == {x["name"]: x["pclntab"] for x in b}["fmt"]


def test_module_rollup(analysed):
    _, r = analysed("arm7")
    mods = {x["name"]: x for x in views.table(r, "module")}
    assert mods["std"]["class"] == "std"
    assert all(x["class"] != "dependency" for x in mods.values()), "every package should classify"
    assert all(not n.startswith("go.") for n in mods)
    main = [x for x in mods.values() if x["class"] == "main"]
    assert main and main[0]["text"] > 0


def test_locates_by_symbols_and_scan(go_elf):
    """Without the section header name, the table is found by symbols, then by scan."""
    data = bytearray(go_elf("arm7").read_bytes())
    elf = ElfFile.parse(bytes(data))
    sec = elf.section(".gopclntab")
    shstr = elf.sections[-1]
    i = data.find(b".gopclntab\0", shstr.offset)
    data[i:i + 10] = b".xopclntab"
    g = locate(ElfFile.parse(bytes(data)))
    assert g.how == "symbols" and g.address == sec.addr and g.pclntab.nfunc > 1000
    sdata = bytearray(go_elf("arm7-stripped").read_bytes())
    selt = ElfFile.parse(bytes(sdata))
    i = sdata.find(b".gopclntab\0", selt.sections[-1].offset)
    sdata[i:i + 10] = b".xopclntab"
    ssec = selt.section(".gopclntab")
    g = locate(ElfFile.parse(bytes(sdata)))
    assert g.how == "scan" and g.address == ssec.addr and g.moduledata is not None
    assert sum(x.size for x in g.pclntab.extents()) == ssec.size


@pytest.mark.parametrize("name,pkg", [
    ("fmt.Println", "fmt"),
    ("net/http.(*Server).Serve", "net/http"),
    ("crypto/elliptic.(*nistCurve[*crypto/internal/nistec.P224Point]).Add", "crypto/elliptic"),
    ('main.(*List[go.shape.struct { Name string "json:\\"name\\"" }]).Push', "main"),
    ("gopkg.in/yaml%2ev3.Unmarshal", "gopkg.in/yaml.v3"),
    ("main.main.func1", "main"), ("main.main.func1.2", "main"), ("net/http.(*conn).serve-fm", "net/http"),
    ("main.run.deferwrap1", "main"), ("fmt..inittask", "fmt"), ("encoding/json.init.0", "encoding/json"),
    ("go:itab.*os.File,io.Writer", "os"), ("go.itab.*crypto/tls.Conn,net.Conn", "crypto/tls"),
    ("type:.eq.main.Item", "main"), ("type..eq.[8]crypto/x509.Certificate", "crypto/x509"),
    ("type:.eq.SM10", "<generated>"), ("type:.eq.struct { a int }", "<generated>"),
    ("type:*", "<types>"), ("type:.namedata.*foo", "<types>"), ("go:string.*", "<strings>"),
    ("go:func.*", "<funcdata>"), ("runtime.gcbits.0102", "<gc-metadata>"), ("$f64.3ff0000000000000", "<consts>"),
    ("go.uber.org/zap.New", "go.uber.org/zap"), ("go.shape.int", "<generated>"),
    ("go.shape.struct { unique.node = unique.node; unique.dead sync/atomic.Bool }.Load", "<generated>"),
    ("vendor/golang.org/x/net/http2/hpack.NewEncoder", "vendor/golang.org/x/net/http2/hpack"),
    ("memeqbody", None), ("runtime.modinfo.str", "<buildinfo>"),
])
def test_symbol_package(name, pkg):
    assert symbol_package(name) == pkg


def test_type_and_file_rules():
    assert type_package("map[string]*net/http.Cookie") == "net/http"
    assert type_package("[]main.T") == "main"
    assert package_from_file("/usr/lib/go/src/internal/bytealg/compare_arm.s") == "internal/bytealg"
    assert package_from_file("/root/go/pkg/mod/github.com/usbarmory/tamago@v1.26.1/bits/bits.go") == \
        "github.com/usbarmory/tamago/bits"
    assert package_from_file("<autogenerated>") is None


def test_module_classes():
    from formats.go.buildinfo import BuildInfo, Module

    m = ModuleMap(BuildInfo("go1.26.8", path="example.com/app", main=Module("example.com/app", "(devel)"),
                            deps=[Module("github.com/usbarmory/tamago", "v1.26.1")]))
    assert m.module("main").cls == "main"
    assert m.module("example.com/app/internal/x").path == "example.com/app"
    assert m.module("github.com/usbarmory/tamago/bits").path == "github.com/usbarmory/tamago"
    assert m.module("fmt").cls == "std" and m.module("vendor/golang.org/x/net/idna").cls == "std"
    assert m.module("<types>").cls == "generated"


def _strip_brackets_by_depth(name: str) -> str:
    """The reference: one pass counting depth (balanced groups out, an unclosed one keeps the name)."""
    if "[" not in name:
        return name
    out, depth = [], 0
    for ch in name:
        if ch == "[":
            depth += 1
        elif ch == "]" and depth:
            depth -= 1
        elif not depth:
            out.append(ch)
    return "".join(out) if depth == 0 else name


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="ab[].*/", max_size=24))
def test_strip_brackets_removes_balanced_groups_only(name):
    from formats.go.symbols import strip_brackets

    assert strip_brackets(name) == _strip_brackets_by_depth(name)
    assert strip_brackets("main.F[go.shape.int,main.T[int]].func1") == "main.F.func1"


_NAME_CHARS = st.sampled_from(list("ab./:[]%$*,()-_0") + ["go:", "go.", "type:", "type.", "runtime.gcbits.",
                                                        "runtime.modinfo.str", "\u00e9", "\U0001f600"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(_NAME_CHARS, max_size=8).map("".join), max_size=12))
def test_c_package_rule_equals_the_python_twin(names):
    from formats._native import accel
    from formats.go.symbols import symbol_packages

    want = [symbol_package(n) for n in names]
    assert symbol_packages(names) == want
    if accel is not None:  # what the C core decides, it decides as the Python rules do
        assert all(c is None or c == w for c, w in zip(accel.go_packages(names), want))


def test_c_package_rule_on_real_symbol_tables(analysed):
    from formats._native import accel
    from formats.go.symbols import symbol_packages

    tables = [[s.name for s in analysed(name)[0].symbols] for name in ELVES]
    assert sum(map(bool, tables)) >= 4  # unstripped ELVES of several architectures
    for names in filter(None, tables):
        assert symbol_packages(names) == [symbol_package(n) for n in names]
        if accel is not None:
            decided = [p for p in accel.go_packages(names) if p is not None]
            assert len(decided) > 0.5 * len(names)  # the plain rule is the common case
    with pytest.raises(TypeError):
        symbol_packages(["fmt.Println", b"fmt.Println"])


GO_PACKAGES_SANITIZER_SCRIPT = r'''
import random
from formats.go.symbols import symbol_package, symbol_packages
from formats._native import accel
assert accel is formats._accel
rnd = random.Random(5)
parts = ["a", "b", ".", "/", "[", "]", "%2e", ":", "$", "go:", "go.", "type.", "type:", "runtime.gcbits.",
         "runtime.modinfo.str", "runtime.buildVersion.str", "\u00e9", "\U0001f600", "x" * 300]
for _ in range(3000):
    names = ["".join(rnd.choice(parts) for _ in range(rnd.randrange(0, 9))) for _ in range(rnd.randrange(0, 40))]
    names += names[:5]  # repeats: the shared-string path
    assert symbol_packages(names) == [symbol_package(n) for n in names]
try:
    accel.go_packages(["a.b", 1])
except TypeError:
    pass
else:
    raise AssertionError("a non-str item was accepted")
print("sanitized OK")
'''


def test_c_package_rule_under_sanitizers(tmp_path):
    from sanitize_helpers import run_sanitized

    run_sanitized(tmp_path, GO_PACKAGES_SANITIZER_SCRIPT)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab,[](){}*.", max_size=16))
def test_top_level_comma_shortcut_equals_the_depth_walk(s):
    from formats.go.symbols import _top_level_comma

    # a trailing "[]" adds no comma and changes no depth before it, but takes the walk
    assert _top_level_comma(s) == _top_level_comma(s + "[]")
    assert _top_level_comma("*os.File,io.Writer") == 8 and _top_level_comma("a],b,c") == -1
    assert _top_level_comma("*p.T[a,b],io.R") == 9


@pytest.mark.allow_skip(reason="the C core is switched off (IMGTOOL_PURE_PYTHON=1)",
                        when=os.environ.get("IMGTOOL_PURE_PYTHON") == "1")
def test_c_package_rule_leaves_every_generated_name_to_python():
    # _accel_names.c keeps its own copies of _GENERATED_HEADS and _BUILDINFO: every name
    # the Python rules treat as generated must come back undecided (None) from the C core
    from formats._native import accel
    from formats.go import symbols

    names = [h + tail for h in symbols._GENERATED_HEADS for tail in ("", "x", "p.T", "a/b.F")]
    names += sorted(symbols._BUILDINFO)
    if accel is None:
        pytest.skip("the C core is switched off (IMGTOOL_PURE_PYTHON=1)")
    assert accel.go_packages(names) == [None] * len(names)
    assert accel.go_packages(["fmt.Println", "a/b.F"]) == ["fmt", "a/b"]
