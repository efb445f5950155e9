"""``imgtool size --why PKG`` and the call decoder of formats/calls.py.

The reference is the Go toolchain's own disassembler, ``go tool objdump``: every edge of
a reported chain must be a direct call (or tail jump) it prints at that address, and for
a handful of functions per architecture the call set the decoder finds must equal the
set objdump prints.
"""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess

import pytest

from formats.calls import Call, direct_calls
from formats.elf import ElfFile
from formats.go.moduledata import locate
from imgtool.errors import InputError
from imgtool.size.why import CallGraph, why

ARCHES = ["arm7", "arm5", "arm64", "amd64", "riscv64"]
#: Go-compiled functions (objdump's x86 decoder loses sync on AVX assembly, so none of that)
SAMPLE = ["main.main", "main.main.func1", "fmt.Fprintln", "fmt.(*pp).doPrintln", "crypto/sha256.Sum256",
          "net/http/httptest.NewServer", "encoding/json.(*Encoder).Encode", "runtime.mallocgc", "os.Getenv"]
_LINE = re.compile(r"^\s+\S+\s+0x([0-9a-f]+)\s+[0-9a-f]+\s+(\S+)\s*(.*?)\s*$")


def _go() -> str:
    go = shutil.which("go")
    if go is None:
        pytest.fail("the Go toolchain is needed (go tool objdump is the reference)", pytrace=False)
    return go


def objdump(path, names: list[str]) -> dict[str, list[tuple[int, str, str]]]:
    """``go tool objdump -s '^(names)$'``: function name -> [(pc, mnemonic, operands)].
    Assembly functions are ``NAME.abi0`` in the symbol table, ``NAME`` in the pclntab:
    both are looked up, and listed under NAME."""
    rx = "^(" + "|".join(re.escape(n) for n in names) + r")(\.abi0)?$"
    out = subprocess.run([_go(), "tool", "objdump", "-s", rx, str(path)], capture_output=True, text=True,
                         check=True).stdout
    funcs: dict[str, list] = {}
    cur = None
    for line in out.splitlines():
        if line.startswith("TEXT "):
            cur = funcs.setdefault(line[5:].rsplit("(SB)", 1)[0].removesuffix(".abi0"), [])
        elif cur is not None and (m := _LINE.match(line)):
            cur.append((int(m.group(1), 16), m.group(2), m.group(3)))
    return funcs


def nm(path) -> dict[str, int]:
    """Text symbol name -> address (``go tool nm``)."""
    out = subprocess.run([_go(), "tool", "nm", str(path)], capture_output=True, text=True, check=True).stdout
    syms: dict[str, int] = {}
    for line in out.splitlines():
        p = line.split(None, 2)
        if len(p) == 3 and p[1] in "Tt":
            syms.setdefault(p[2], int(p[0], 16))
    return syms


def objdump_calls(fname: str, lines, syms: dict[str, int]) -> set[tuple[int, int, bool]]:
    """The direct calls objdump prints for one function: (site, target, link)."""
    out = set()
    prev = None
    for pc, mn, args in lines:
        op = mn.split(".")[0]
        sym = re.fullmatch(r"(?:X(\d+), )?(.+)\(SB\)", args)
        if op in ("CALL", "BL", "JAL") and sym and sym.group(2) in syms:
            out.add((pc, syms[sym.group(2)], sym.group(1) != "0"))
        elif op in ("CALL", "BL") and mn == op and re.fullmatch(r"0x[0-9a-f]+", args):
            out.add((pc, int(args, 16), True))  # into a function's body: Duff's device
        elif mn in ("JMP", "B") and sym and sym.group(2) in syms and sym.group(2) != fname:
            out.add((pc, syms[sym.group(2)], False))
        elif mn == "JMP" and prev and prev[1] == "AUIPC":  # riscv64 AUIPC+JALR pair
            j, a = re.fullmatch(r"(-?\d*)\(X(\d+)\)", args), re.fullmatch(r"\$(-?\d+), X(\d+)", prev[2])
            if j and a and j.group(2) == a.group(2):
                hi = int(a.group(1))
                hi -= (1 << 20) if hi >= 1 << 19 else 0
                out.add((prev[0], prev[0] + (hi << 12) + int(j.group(1) or 0), False))
        prev = (pc, mn, args)
    return out


@pytest.fixture(scope="module")
def parsed(go_elf):
    cache = {}

    def get(name):
        if name not in cache:
            p = go_elf(name)
            elf = ElfFile.parse(p.read_bytes(), source=str(p))
            cache[name] = (p, elf, CallGraph.build(elf))
        return cache[name]

    return get


# ------------------------------------------------------------------ decoder vs objdump
@pytest.mark.parametrize("target", ARCHES)
def test_decoder_matches_objdump(parsed, target):
    path, elf, _ = parsed(target)
    funcs = {f.name: f for f in locate(elf).pclntab.funcs}
    entries = {f.entry for f in funcs.values()}
    ref = objdump(path, SAMPLE)
    syms = nm(path)
    assert set(SAMPLE) <= set(ref), set(SAMPLE) - set(ref)
    for name in SAMPLE:
        f = funcs[name]
        got = {(c.site, c.target, c.link)
               for c in direct_calls(elf.arch, elf.read(f.entry, f.size), f.entry, entries=entries)
               if c.link or c.target != f.entry}
        want = objdump_calls(name, ref[name], syms)
        assert got == want, (name, sorted(got ^ want))
        if name == "main.main":
            assert len(got) >= 8


# ------------------------------------------------------------------ every edge is a real call
@pytest.mark.parametrize("target", ARCHES)
@pytest.mark.parametrize("pkg", ["crypto/sha256", "strconv", "net/http/..."])
def test_path_edges_are_real_calls(parsed, target, pkg):
    path, elf, graph = parsed(target)
    rep = why(elf, pkg, graph)
    assert rep.found and rep.root == "main.main" and rep.root_kind == "main"
    assert rep.path and rep.path[0].caller == "main.main"
    last = rep.path[-1].callee
    base = pkg.removesuffix("/...")
    assert last.startswith(base + ".") or last.startswith(base + "/")
    check_edges(path, rep)


def check_edges(path, rep):
    """Every step of ``rep.path`` is a direct call or jump that objdump shows at its site."""
    for a, b in zip(rep.path, rep.path[1:]):
        assert a.callee == b.caller
    syms = nm(path)
    tramps = {v for s in rep.path for v in s.via if not v.endswith(" (ABI wrapper)")}
    dis = objdump(path, sorted({s.caller for s in rep.path} | tramps))
    for s in rep.path:
        first = s.via[0].removesuffix(" (ABI wrapper)") if s.via else s.callee
        line = [x for x in dis[s.caller] if x[0] == s.site]
        assert line, f"{s.caller}: no instruction at 0x{s.site:x}"
        _, mn, args = line[0]
        assert mn.split(".")[0] in ("CALL", "BL", "JAL", "JMP", "B"), line
        # the symbol table names an ABI wrapper NAME.abi0; the pclntab calls it NAME
        assert re.search(re.escape(first) + r"(\.abi0)?\(SB\)$", args), (s, line)
        assert syms.get(s.callee, syms.get(s.callee + ".abi0")) == s.entry
        for tramp in tramps & set(s.via):  # a riscv64 trampoline jumps straight to the callee
            assert {t for _, t, _ in objdump_calls(tramp, dis[tramp], syms)} == {s.entry}


def test_entry_point_root(parsed):
    # internal/cpu is needed by the runtime's start-up: rt0_go -> schedinit -> cpu.Initialize
    path, elf, graph = parsed("amd64")
    rep = why(elf, "internal/cpu", graph)
    assert rep.root_kind == "entry" and rep.root == "_rt0_amd64_linux"
    assert rep.path[-1].callee == "internal/cpu.Initialize"
    assert any(v.endswith("(ABI wrapper)") for s in rep.path for v in s.via)
    check_edges(path, rep)


def test_riscv64_path_goes_through_trampolines(parsed):
    _, elf, graph = parsed("riscv64")
    rep = why(elf, "crypto/sha256", graph)
    assert rep.path[0].via == ("crypto/sha256.Sum256-tramp0",)


def test_stripped_gives_the_same_path(parsed):
    _, elf, graph = parsed("arm7")
    _, selfs, sgraph = parsed("arm7-stripped")
    assert not selfs.symbols
    for pkg in ("crypto/sha256", "strconv", "internal/poll"):
        assert why(selfs, pkg, sgraph).path == why(elf, pkg, graph).path


def test_reached_only_through_data(parsed):
    # encoding/json is called from main.main.func1, a func value given to http.HandlerFunc
    _, elf, graph = parsed("arm64")
    rep = why(elf, "encoding/json", graph)
    assert rep.root_kind == "own-init" and rep.root == "encoding/json.init"
    assert any(c.caller == "main.main.func1" and c.callee == "encoding/json.(*Encoder).Encode" for c in rep.callers)
    assert "encoding/json.init" in rep.data_refs


def test_pattern_matching(parsed):
    _, elf, graph = parsed("amd64")
    assert why(elf, "main", graph).path == []
    with pytest.raises(InputError, match="has no functions"):
        why(elf, "net/htt", graph)
    with pytest.raises(InputError, match="inlined"):
        why(elf, "github.com/usbarmory/tamago/bits", graph)
    assert why(elf, "net/http/...", graph).functions > why(elf, "net/http", graph).functions


# ------------------------------------------------------------------ CLI
def test_cli_text_and_json(go_elf, run_imgtool):
    elf = go_elf("arm7-stripped")
    r = run_imgtool("size", elf, "--why", "crypto/sha256")
    assert r.returncode == 0, r.stderr
    assert "main.main" in r.stdout and "calls crypto/sha256.Sum256" in r.stdout
    r = run_imgtool("size", elf, "--why", "crypto/sha256", "--format", "json")
    doc = json.loads(r.stdout)
    assert doc["schema"] == "imgtool-size-why/1" and doc["found"] and doc["root"] == "main.main"
    assert doc["path"][-1]["callee"] == "crypto/sha256.Sum256"
    r = run_imgtool("size", elf, "--why", "encoding/json")
    assert r.returncode == 0 and "through data" in r.stdout


@pytest.mark.parametrize("args, msg", [
    (["--why", "no/such/pkg"], "package no/such/pkg has no functions in"),
    (["--why", "crypto/sha256", "--format", "csv"], "--why goes with --format text or json"),
    (["--why", "crypto/sha256", "--budget", "flash=1M"], "--why goes with"),
])
def test_cli_errors(go_elf, run_imgtool, args, msg):
    r = run_imgtool("size", go_elf("arm7"), *args)
    assert r.returncode == 2
    assert msg in r.stderr and "Traceback" not in r.stderr


# ------------------------------------------------------------------ encodings, by hand
def test_encodings():
    base = 0x1000
    # A32: BL -8 words; B.EQ (conditional: skipped); B to an entry; BLX imm (Thumb: skipped)
    code = struct.pack("<4I", 0xEBFFFFF8, 0x0A000010, 0xEA000001, 0xFA000000)
    assert direct_calls("arm", code, base, entries={0x1014}) == [Call(0x1000, 0x1000 + 8 - 32, True),
                                                                 Call(0x1008, 0x1014, False)]
    # A64: BL -4; B +8 (an entry); B +12 (not an entry: dropped)
    code = struct.pack("<3I", 0x97FFFFFF, 0x14000002, 0x14000003)
    assert direct_calls("arm64", code, base, entries={0x100C}) == [Call(0x1000, 0xFFC, True), Call(0x1004, 0x100C, False)]
    # x86: E8 to an entry, E9 to a non-entry (dropped), E8 inside a MOV immediate to a non-entry
    code = b"\xe8\x0b\x00\x00\x00" + b"\xe9\x00\x00\x00\x00" + b"\xb8\xe8\x01\x02\x03" + bytes(4)
    assert direct_calls("amd64", code, base, entries={0x1010}) == [Call(0x1000, 0x1010, True)]
    # RISC-V: C.ADDI, JAL ra,-16, AUIPC x31,1 + JALR x0,-4(x31), C.J +4 (an entry), AUIPC alone
    jal = (1 << 31) | (0x3F8 << 21) | (1 << 20) | (0xFF << 12) | (1 << 7) | 0x6F  # imm -16
    auipc = (1 << 12) | (31 << 7) | 0x17
    jalr = (0xFFC << 20) | (31 << 15) | 0x67
    cj = (0b101 << 13) | (0b010 << 3) | 0b01  # imm 4
    code = struct.pack("<HIIIHI", 0x0001, jal, auipc, jalr, cj, 0x00001297)
    got = direct_calls("riscv64", code, base, entries={0x1012, 0x2002})
    assert got == [Call(0x1002, 0x1002 - 16, True), Call(0x1006, 0x1006 + 0x1000 - 4, False),
                   Call(0x100E, 0x1012, False)]
    with pytest.raises(ValueError):
        direct_calls("mips", b"", 0, entries=set())
