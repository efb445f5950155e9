"""imgtool size output details: names shortened in the middle (never alike), the JSON
writer (identical to json.dumps), 'imgtool size why' as a subcommand, the RAM summary,
build information found by its magic without a .go.buildinfo section."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from formats.elf import ElfFile
from formats.go.buildinfo import parse_buildinfo
from imgtool.size.render import ELLIPSIS, short_names, shorten
from imgtool.size.views import dumps
from test_gopclntab import run_size


def test_shorten_keeps_first_and_last_path_elements():
    name = "github.com/embeddedgo/stm32/devboard/f4-discovery/board/leds"
    assert shorten(name, 44) == f"github.com/{ELLIPSIS}/f4-discovery/board/leds"
    assert shorten("fmt", 44) == "fmt" and len(shorten("x" * 100, 20)) == 20


def test_three_embeddedgo_packages_stay_distinct():
    base = "github.com/embeddedgo/stm32/devboard/f4-discovery/board/"
    names = [base + s for s in ("leds", "buttons", "system")] + ["a" * 30 + c + "b" * 30 for c in "XY"]
    short = short_names(names, 44)
    assert len(set(short.values())) == len(names) and all(len(v) <= 44 for v in short.values())
    assert short[base + "leds"].endswith("/board/leds")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet="ab/.c", min_size=1, max_size=90), min_size=1, max_size=12, unique=True),
       st.integers(min_value=8, max_value=60))
def test_short_names_never_collide(names, width):
    short = short_names(names, width)
    assert len(set(short.values())) == len(names)
    assert all(len(v) <= width for v in short.values())
    assert all(v == n for n, v in short.items() if len(n) <= width)


_json = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
                     lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=5), c, max_size=4),
                     max_leaves=20)


@settings(max_examples=80, deadline=None)
@given(_json)
def test_json_writer_equals_json_dumps(doc):
    assert dumps(doc) == json.dumps(doc, indent=1) + "\n"


_scalar = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | \
    st.text(alphabet=st.sampled_from('ab{},[]:" \n\\\u00e9'), max_size=8)
_row = st.dictionaries(st.text(alphabet="ab{},\n", max_size=4) | st.integers(), _scalar, min_size=1, max_size=5)


@st.composite
def _uniform_table(draw):
    """Rows with the same keys in the same order, each column of one kind (ints, strings
    holding JSON's special characters, or any scalar)."""
    keys = draw(st.lists(st.text(alphabet='ab%{"\n', max_size=4) | st.integers(), min_size=1, max_size=4,
                         unique=True))
    kinds = [draw(st.sampled_from([st.integers(), st.text(alphabet='a%s"\\\n\u00e9\U0001f600', max_size=6),
                                   _scalar])) for _ in keys]
    return [{k: draw(v) for k, v in zip(keys, kinds)} for _ in range(draw(st.integers(1, 6)))]


@settings(max_examples=120, deadline=None)
@given(st.lists(_row, min_size=1, max_size=6) | _uniform_table(),
       st.lists(_row | st.lists(_scalar), min_size=1, max_size=4))
def test_json_writer_equals_json_dumps_on_tables(table, mixed):
    # tables (lists of flat rows, strings holding the separators' characters) take the
    # row-at-a-time C encoder path; a list mixing rows with other values does not
    for doc in (table, {"t": table, "n": {"x": table}}, mixed, {"m": mixed}):
        assert dumps(doc) == json.dumps(doc, indent=1) + "\n"


def test_long_names_in_text_table_are_shortened_not_cut(go_elf):
    r = run_size(go_elf("arm7"), "--by", "symbol", "--top", "400")
    assert r.returncode == 0, r.stderr
    rows = [line[6:50].rstrip() for line in r.stdout.splitlines()[2:] if line[:4].strip().isdigit()]
    assert any(ELLIPSIS in x for x in rows) and len(set(rows)) == len(rows)
    doc = json.loads(run_size(go_elf("arm7"), "--format", "json").stdout)
    assert all(ELLIPSIS not in x["name"] for x in doc["symbols"])  # full names in JSON


def test_why_subcommand_and_deprecated_flag(go_elf, run_imgtool):
    elf = go_elf("arm7-stripped")
    new = run_imgtool("size", "why", elf, "crypto/sha256")
    assert new.returncode == 0 and "calls crypto/sha256.Sum256" in new.stdout and new.stderr == ""
    old = run_imgtool("size", elf, "--why", "crypto/sha256")
    assert old.returncode == 0 and old.stdout == new.stdout and "deprecated" in old.stderr
    js = json.loads(run_imgtool("size", "why", elf, "crypto/sha256", "--format", "json").stdout)
    assert js["schema"] == "imgtool-size-why/1" and js["found"]
    bad = run_imgtool("size", "why", elf, "crypto/sha256", "--format", "csv")
    assert bad.returncode == 2 and "--format" in bad.stderr
    assert run_imgtool("size", elf, "--top", "2").returncode == 0  # the report is still the default


def test_ram_summary_names_the_big_symbol(go_elf):
    head = run_size(go_elf("arm7")).stdout.splitlines()[0]
    assert "of the RAM is crypto/internal/fips140/drbg.memory (33554432 bytes)" in head


def test_build_info_found_by_magic_without_its_section(go_elf, tmp_path, run_imgtool):
    data = bytearray(go_elf("arm7").read_bytes())
    elf = ElfFile.parse(bytes(data))
    want = parse_buildinfo(elf)
    i = data.find(b".go.buildinfo\0", elf.sections[-1].offset)
    data[i:i + 13] = b".data.buildx"[:12] + b"\0"  # the blob now sits in a section of another name
    got = parse_buildinfo(ElfFile.parse(bytes(data)))
    assert got is not None and got.go_version == want.go_version and got.deps == want.deps
    assert want.found == ".go.buildinfo" and got.found.startswith("by magic in .data.buildx+0x0 (0x")
    path = tmp_path / "nobuildinfo.elf"
    path.write_bytes(bytes(data))
    info = run_imgtool("info", path)
    assert info.returncode == 0 and "go1.26" in info.stdout and "build info found by magic" in info.stdout
    assert "go1.26" in run_size(path).stdout.splitlines()[0]


def _symbol_rows_by_tuple_sort(r) -> list[dict]:
    """The JSON symbols table as the first version built it (sums per symbol, then one sort
    of (-flash, -mem, -file, name) tuples): the reference for views.symbol_rows."""
    from imgtool.size.engine import CATEGORIES

    acc = {}
    for si in r.sections.values():
        counted = si.category in CATEGORIES
        for p in si.pieces:
            a = acc.setdefault(p.symbol, [0, 0, 0, 0, 0, 0, p.package])
            a[2] += p.size if si.section.file_size else 0
            if counted:
                a[1] += p.size
                a[0] += p.size if si.flash else 0
                a[3] += p.size if si.ram else 0
                a[4] += p.size if si.category == "text" else 0
                a[5] += p.size if si.category == "pclntab" else 0
    order = sorted((-a[0], -a[1], -a[2], name, a) for name, a in acc.items())
    return [{"name": n, "package": a[6], "mem": a[1], "flash": a[0], "ram": a[3], "text": a[4], "pclntab": a[5]}
            for _, _, _, n, a in order if a[1]]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["text", "rodata", "pclntab", "data", "bss", "other"]), st.booleans(),
                          st.booleans(), st.booleans(),
                          st.lists(st.tuples(st.sampled_from("abcdef"), st.sampled_from([0, 1, 2, 7, 2**40, 2**63])),
                                   max_size=6)),
                min_size=1, max_size=4))
def test_symbol_table_order_equals_the_tuple_sort(sections):
    # ties on every count, counts past 2^40 and 2^63, symbols in several sections
    from formats.elf import Section
    from imgtool.size.engine import Piece, SectionInfo, SizeReport
    from imgtool.size.packages import ModuleMap
    from imgtool.size.views import symbol_rows

    infos = {}
    for i, (cat, nobits, flash, ram, pieces) in enumerate(sections, 1):
        size = sum(n for _, n in pieces)
        sec = Section(i, f".s{i}", 8 if nobits else 1, 2, 0, 0, size, 0, 0, 1, 0)
        infos[i] = SectionInfo(sec, cat, flash, ram, 0,
                               [Piece(sec.name, sym, "pkg/" + sym, n) for sym, n in pieces])
    r = SizeReport(None, sum(si.section.file_size for si in infos.values()), "arm", None, infos, [], [], [], 0, 0,
                   {}, ModuleMap(), [])
    assert symbol_rows(r) == _symbol_rows_by_tuple_sort(r)
