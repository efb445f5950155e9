"""The pclntab walk (formats/pclntab_walk.c, bound as formats._accel.pcln_decode/charge)
against its pure-Python twin (formats/go/pclnwalk.py): identical columns, totals and
status codes on real Go ELFs of every architecture and Go layout, on corrupted tables,
and with the C file compiled alone under AddressSanitizer and UBSan."""

from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from formats._native import accel
from formats.elf import ElfFile
from formats.go import pclnwalk
from formats.go.moduledata import locate
from test_gopclntab import ELVES, go119_elves, go122_elf  # noqa: F401  (fixtures)

REPO = Path(__file__).resolve().parents[1]


def _table(path: Path):
    t = locate(ElfFile.parse(path.read_bytes(), str(path))).pclntab
    fd = t.findfunctab - t.gofunc if t.go126 and t.gofunc is not None and t.findfunctab > t.gofunc else None
    return t, t._job(fd)


@pytest.fixture(scope="module")
def tables(go_elf, go122_elf, go119_elves):
    out = {name: _table(go_elf(name)) for name in ELVES}
    out["go1.22"] = _table(go122_elf)
    for name, path in go119_elves.items():
        out[f"go1.19-{name}"] = _table(path)
    return out


def test_c_core_is_built():
    if os.environ.get("CI") and os.environ.get("IMGTOOL_PURE_PYTHON") != "1":
        assert accel is not None and hasattr(accel, "pcln_decode"), "formats._accel was not built"


def _both(data, job):
    c = pclnwalk.decode(data, job, engine="c")
    p = pclnwalk.decode(data, job, engine="python")
    return c, p


def test_twin_gives_identical_columns_and_totals(tables):
    if accel is None:
        pytest.skip("the C core is not built (IMGTOOL_PURE_PYTHON=1)")
    for name, (t, job) in tables.items():
        c, p = _both(t.data, job)
        assert c == p and c.status == pclnwalk.OK, name
        sc = pclnwalk.charge(t.data, job, c.cols, engine="c")
        sp = pclnwalk.charge(t.data, job, p.cols, engine="python")
        assert sc == sp and c.cols == p.cols, name
        # the charges never exceed the sub-tables they come from, and funcs agree with the old decoder
        ext = {x.name: x.size for x in t.extents()}
        for part, n in zip(pclnwalk.PARTS, sc[1]):
            assert 0 <= n <= ext.get(part, 0), (name, part)
        assert sum(c.cols[pclnwalk.OWN::pclnwalk.NCOL]) == sum(sc[1])
        assert t.funcs == t._funcs_py(), name


def test_twin_agrees_on_corrupted_tables(tables):
    if accel is None:
        pytest.skip("the C core is not built")
    t, job = tables["arm7"]
    good = bytes(t.data)
    rnd = random.Random(16)
    hot = [job.functab, job.functab + 8 * 20, t.funcs[7].record, t.funcs[-1].record, job.pctab, job.funcnametab]
    seen = set()
    for _ in range(200):
        d = bytearray(good)
        base = rnd.choice(hot)
        for _ in range(rnd.randint(1, 6)):
            d[min(len(d) - 1, base + rnd.randrange(48))] = rnd.randrange(256)
        c, p = _both(bytes(d), job)
        assert (c.status, c.bad, c.functab_end) == (p.status, p.bad, p.functab_end)
        if c.status == pclnwalk.OK:
            assert c.cols == p.cols
            assert pclnwalk.charge(bytes(d), job, c.cols, engine="c") == pclnwalk.charge(bytes(d), job, p.cols,
                                                                                          engine="python")
        seen.add(c.status)
    for cut in (job.functab + 5, t.funcs[3].record + 3, len(good) // 2):
        c, p = _both(good[:cut], job)
        assert (c.status, c.bad) == (p.status, p.bad) and c.status != pclnwalk.OK
    assert len(seen) >= 3  # the flips reach several checks


def test_a_funcdata_offset_past_the_blob_is_not_charged(tables):
    """A damaged funcdata word (an offset past the go:func.* blob) is skipped by both
    twins: no 2 GiB function, no negative part."""
    if accel is None:
        pytest.skip("the C core is not built")
    t, job = tables["arm7"]
    assert job.charge_funcdata, "the test needs a Go 1.26 table whose funcdata is charged"
    good = pclnwalk.decode(t.data, job, engine="python")
    n = len(good.cols) // pclnwalk.NCOL
    i = next(i for i in range(n) if good.cols[i * pclnwalk.NCOL + pclnwalk.NFUNCDATA])
    b = i * pclnwalk.NCOL
    at = good.cols[b + pclnwalk.RECORD] + pclnwalk._fixed(job) + 4 * good.cols[b + pclnwalk.NPCDATA]
    d = bytearray(t.data)
    d[at:at + 4] = (0x7FFFFFF0).to_bytes(4, "big" if job.big else "little")
    c, p = _both(bytes(d), job)
    assert c.status == p.status == pclnwalk.OK and c.cols == p.cols
    sc = pclnwalk.charge(bytes(d), job, c.cols, engine="c")
    assert sc == pclnwalk.charge(bytes(d), job, p.cols, engine="python")
    ext = {x.name: x.size for x in t.extents()}
    for part, size in zip(pclnwalk.PARTS, sc[1]):
        assert 0 <= size <= ext.get(part, 0), part
    assert all(c.cols[k * pclnwalk.NCOL + pclnwalk.OWN] < 1 << 24 for k in range(n))


def test_a_text_start_in_the_upper_half_is_accepted_by_both_twins(tables):
    if accel is None:
        pytest.skip("the C core is not built")
    t, job = tables["amd64"]
    high = job._replace(text_start=job.text_start | 1 << 63)
    c, p = _both(t.data, high)
    assert c.status == p.status == pclnwalk.OK and c.cols == p.cols


def test_walk_file_includes_no_python_header():
    for name in ("pclntab_walk.c", "pclntab_walk.h"):
        includes = re.findall(r"^\s*#\s*include\s*([<\"][^>\"]+[>\"])", (REPO / "formats" / name).read_text(), re.M)
        assert includes and not any("Python" in i or "_accel" in i for i in includes), (name, includes)


def test_the_twins_share_the_pcdata_bound():
    header = (REPO / "formats" / "pclntab_walk.h").read_text()
    assert re.search(r"#define PCLN_MAX_NPCDATA (\d+)", header).group(1) == str(pclnwalk.MAX_NPCDATA)


def test_c_walk_alone_under_sanitizers(tables, tmp_path):
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.fail("gcc is needed to build the C walk test", pytrace=False)
    exe = tmp_path / "pcln_check"
    build = subprocess.run([gcc, "-std=c11", "-O1", "-g", "-Wall", "-Wextra", "-Werror",
                            "-fsanitize=address,undefined", "-fno-sanitize-recover=all", f"-I{REPO / 'formats'}",
                            str(REPO / "tests/c/pcln_check.c"), str(REPO / "formats/pclntab_walk.c"), "-o", str(exe)],
                           capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:exitcode=99", UBSAN_OPTIONS="halt_on_error=1:exitcode=98")
    rnd = random.Random(7)
    for name in ("arm7", "amd64", "go1.22", "go1.19-arm7"):
        t, job = tables[name]
        variants = [bytes(t.data)]
        for _ in range(3):
            d = bytearray(t.data)
            at = rnd.choice([job.functab + 16, t.funcs[11].record])
            d[at:at + 4] = rnd.randbytes(4)
            variants.append(bytes(d))
        for data in variants:
            blob = tmp_path / "tab.bin"
            blob.write_bytes(data)
            r = subprocess.run([str(exe), str(blob), *map(str, job)], capture_output=True, text=True, env=env,
                               timeout=300)
            assert r.returncode == 0 and "runtime error" not in r.stderr, r.stderr[-3000:]
            lines = r.stdout.splitlines()
            want = pclnwalk.decode_py(data, job)
            assert lines[0].split() == ["decode", str(want.status), str(want.bad), str(want.functab_end)], name
            if want.status == pclnwalk.OK:
                status, parts = pclnwalk.charge_py(data, job, want.cols)
                assert lines[-1].split() == ["charge", str(status), *map(str, parts)]
                got = [int(v) for line in lines[1:-1] for v in line.split()]
                assert got == want.cols.tolist(), name


@pytest.mark.parametrize("npcdata", [5, 40, 1024])
def test_a_function_with_many_repeated_pcdata_tables_is_charged_alike(tables, npcdata):
    """One function's _func record moved to the end of the table with npcdata pcdata
    words that repeat its own and its neighbours' pc tables: both twins count each table
    once per function (the C walk sorts the offsets of a function; past 16 with qsort)."""
    if accel is None:
        pytest.skip("the C core is not built")
    t, job = tables["arm7"]
    assert job.version == 120
    good = pclnwalk.decode(t.data, job, engine="python")
    cols, N = good.cols, pclnwalk.NCOL
    i = next(k for k in range(10, job.nfunc) if cols[k * N + pclnwalk.NPCDATA])
    e = "big" if job.big else "little"
    fx = pclnwalk._fixed(job)
    old = cols[i * N + pclnwalk.RECORD]
    fd_at = old + fx + 4 * cols[i * N + pclnwalk.NPCDATA]
    funcdata = bytes(t.data[fd_at:fd_at + 4 * cols[i * N + pclnwalk.NFUNCDATA]])  # kept after the new pcdata
    pool = [cols[k * N + c] for k in (i, i + 1) for c in (pclnwalk.PCSP, pclnwalk.PCFILE, pclnwalk.PCLN) if cols[k * N + c]]
    rnd = random.Random(npcdata)
    words = [rnd.choice(pool) for _ in range(npcdata)]
    record = bytearray(t.data[old:old + fx])
    record[28:32] = npcdata.to_bytes(4, e)
    d = bytearray(t.data)
    d.extend(bytes(-len(d) % 4))
    at = len(d)
    d += record + b"".join(w.to_bytes(4, e) for w in words) + funcdata
    slot = job.functab + (2 * i + 1) * 4  # functab: (entryoff, funcoff) pairs of u32
    d[slot:slot + 4] = (at - job.functab).to_bytes(4, e)
    c, p = _both(bytes(d), job)
    assert c.status == p.status == pclnwalk.OK and c.cols == p.cols
    assert c.cols[i * N + pclnwalk.NPCDATA] == npcdata
    sc = pclnwalk.charge(bytes(d), job, c.cols, engine="c")
    assert sc[0] == pclnwalk.OK and sc == pclnwalk.charge(bytes(d), job, p.cols, engine="python")
    assert c.cols == p.cols  # the own-bytes column too
