"""``imgtool size --why PKG``: a shortest chain of direct calls that links a package in.

The call graph has one node per pclntab function (so names are there on stripped ELFs
too) and one edge per direct call or tail jump that :mod:`formats.calls` decodes in the
machine code. A breadth-first search from the roots finds a shortest chain to any
function of the package. Roots, in the order they are tried:

1. ``main.main`` and every package init function (``P.init``, ``P.init.N``) except the
   asked package's own: the runtime calls them through data (``runtime.main``, the
   ``..inittask`` tables), so they are where the program's own reasons start;
2. if nothing is found, the function holding the ELF entry point (the runtime's start-up
   code, ``_rt0_*``): the package is needed by the runtime itself;
3. if still nothing, the package's own init functions: it is linked because it is
   imported, and its package-level variables or ``init`` code run at start-up.

A package matches exactly (``crypto/sha256``); ``PKG/...`` matches PKG and every package
below it, as in ``go list``. Calls through interfaces, closures, func values and method
tables carry no target in the instruction and are invisible, so the chain is *a* reason
the package is linked, not all of them; when there is none, :class:`WhyReport` lists the
direct callers from other packages and the package's functions whose address is stored
in data (itabs, func values).
"""

from __future__ import annotations

import bisect
import re
from collections import deque
from dataclasses import dataclass, field

from formats.calls import ARCHES, direct_calls
from formats.elf import ElfFile
from formats.go.moduledata import locate
from imgtool.errors import InputError
from imgtool.size.packages import function_packages, symbol_package

SCHEMA = "imgtool-size-why/1"
_INIT = re.compile(r"[^./]+\.init(?:\.\d+)?")
_TRAMP = re.compile(r"(.+)-tramp\d+")
#: rows of callers / data references kept when there is no path
LIST_MAX = 10


@dataclass(frozen=True)
class Step:
    """One edge of a chain: ``caller`` calls (``tail`` False) or tail-jumps to ``callee``
    at virtual address ``site``; ``entry`` is the callee's entry address; ``via`` names
    the linker trampolines passed on the way (riscv64 ``X-tramp0``), outermost first."""

    caller: str
    site: int
    callee: str
    entry: int
    tail: bool = False
    via: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return {"caller": self.caller, "site": self.site, "callee": self.callee, "entry": self.entry,
                "tail": self.tail, "via": list(self.via)}


@dataclass
class WhyReport:
    """The answer for one package pattern.

    ``package`` is the pattern as asked; ``functions`` how many functions of the binary
    match it; ``root`` the function the chain starts at and ``root_kind`` why it is a root
    (``"main"``, ``"init"``, ``"entry"``, ``"own-init"``), both None when no chain
    exists; ``path`` the chain (empty when the root itself is in the package);
    ``callers`` (only without a chain) direct calls into the package from functions of
    other packages, at most :data:`LIST_MAX`; ``data_refs`` (only without a chain) its
    functions whose entry address is stored as a word in a non-code section;
    ``nfuncs``/``ncalls`` the size of the call graph (functions, distinct edges).
    """

    package: str
    arch: str
    functions: int
    root: str | None = None
    root_kind: str | None = None
    path: list[Step] = field(default_factory=list)
    callers: list[Step] = field(default_factory=list)
    data_refs: list[str] = field(default_factory=list)
    nfuncs: int = 0
    ncalls: int = 0

    @property
    def found(self) -> bool:
        return self.root is not None


class CallGraph:
    """The direct-call graph of a Go ELF.

    ``names[i]``, ``entries[i]``, ``packages[i]`` describe pclntab function ``i`` (address
    order); ``edges[i]`` maps a callee index to ``(site, tail)``: the lowest call site in
    ``i`` calling it, and whether that is a tail jump. Build with :meth:`build`.
    """

    def __init__(self, elf: ElfFile, names, entries, end, packages, edges, tab=None) -> None:
        self.elf = elf
        self.tab = tab
        self.names: list[str] = names
        self.entries: list[int] = entries
        self.end: int = end
        self.packages: list[str] = packages
        self.edges: list[dict[int, tuple[int, bool]]] = edges
        #: indexes of linker trampolines (``X-trampN``): no package's own code
        self.tramps = {i for i, nm in enumerate(names) if _TRAMP.fullmatch(nm)}

    def function_at(self, addr: int) -> int | None:
        """Index of the function whose range holds virtual address ``addr``, or None."""
        i = bisect.bisect_right(self.entries, addr) - 1
        return i if i >= 0 and addr < self.end else None

    @classmethod
    def build(cls, elf: ElfFile) -> "CallGraph":
        """Decode every function of ``elf``'s pclntab and link calls to functions.

        A call whose target is inside a function (Duff's device on arm) counts as a call
        of that function; targets outside every function are dropped, as are jumps of a
        function to its own entry. A trampoline whose code is not decoded (arm, arm64
        ``X-trampN``) is linked to ``X`` by name.

        Raises:
            FormatError: no or a malformed pclntab. InputError: an architecture without
                a call decoder.
        """
        if elf.arch not in ARCHES:
            raise InputError(f"{elf.source}: no call decoder for {elf.arch} "
                             f"(supported: {', '.join(ARCHES)})", field="why")
        tab = locate(elf).pclntab
        funcs = tab.funcs
        if not funcs:
            return cls(elf, [], [], 0, [], [], tab)
        names = [f.name for f in funcs]
        entries = [f.entry for f in funcs]
        packages = function_packages(tab, names)
        lo, hi = entries[0], funcs[-1].end
        code = elf.read(lo, hi - lo)
        index = {e: i for i, e in enumerate(entries)}
        calls = direct_calls(elf.arch, code, lo, entries=index, little_endian=elf.little_endian,
                             bounds=[(f.entry, f.end) for f in funcs])
        edges: list[dict[int, tuple[int, bool]]] = [{} for _ in funcs]
        caller = 0
        n = len(funcs)
        for c in calls:
            while caller + 1 < n and entries[caller + 1] <= c.site:
                caller += 1
            callee = index.get(c.target)
            if callee is None:
                if not lo <= c.target < hi:
                    continue
                callee = bisect.bisect_right(entries, c.target) - 1
            if callee == caller:
                continue
            out = edges[caller]
            if callee not in out:
                out[callee] = (c.site, not c.link)
        by_name = {nm: i for i, nm in enumerate(names)}
        for i, nm in enumerate(names):
            m = _TRAMP.fullmatch(nm)
            if m and not edges[i] and m.group(1) in by_name:
                edges[i][by_name[m.group(1)]] = (entries[i], True)
        return cls(elf, names, entries, hi, packages, edges, tab)

    def matcher(self, pattern: str):
        """A predicate on function indexes for ``pattern`` (exact package, or ``P/...``);
        trampolines match no package."""
        pk, tr = self.packages, self.tramps
        if pattern.endswith("/..."):
            base = pattern[:-4]
            return lambda i: (pk[i] == base or pk[i].startswith(base + "/")) and i not in tr
        return lambda i: pk[i] == pattern and i not in tr

    def shortest(self, roots: list[int], goal) -> list[int] | None:
        """Function indexes of a shortest chain from any of ``roots`` (tried in order on
        ties) to a function for which ``goal(index)`` is true, or None."""
        prev: dict[int, int] = {}
        queue = deque()
        for r in roots:
            if r not in prev:
                prev[r] = -1
                queue.append(r)
        while queue:
            i = queue.popleft()
            if goal(i):
                chain = [i]
                while prev[chain[-1]] >= 0:
                    chain.append(prev[chain[-1]])
                return chain[::-1]
            for j in self.edges[i]:
                if j not in prev:
                    prev[j] = i
                    queue.append(j)
        return None

    def steps(self, chain: list[int]) -> list[Step]:
        """The edges of ``chain`` as :class:`Step` values. Trampolines and ABI wrappers
        (a function followed in the chain by one of the same name: the pclntab names an
        ABI0 wrapper like the function it wraps) are folded into ``via``."""
        out: list[Step] = []
        via: list[str] = []
        first = None
        for k, (a, b) in enumerate(zip(chain, chain[1:])):
            site, tail = self.edges[a][b]
            if first is None:
                first = (a, site, tail)
            if b in self.tramps and b != chain[-1]:
                via.append(self.names[b])
                continue
            if k + 2 < len(chain) and self.names[chain[k + 2]] == self.names[b]:
                via.append(f"{self.names[b]} (ABI wrapper)")
                continue
            ca, csite, ctail = first
            out.append(Step(self.names[ca], csite, self.names[b], self.entries[b], ctail, tuple(via)))
            via, first = [], None
        return out


def why(elf: ElfFile, pattern: str, graph: CallGraph | None = None) -> WhyReport:
    """Explain why the package ``pattern`` is in ``elf`` (see the module notes).

    Raises:
        InputError: no function of ``elf`` belongs to ``pattern`` (the message suggests
            package paths that contain it), or an unsupported architecture.
        FormatError: no or a malformed pclntab.
    """
    pattern = pattern.strip()
    if not pattern or pattern == "/...":
        raise InputError("expected a package path such as crypto/sha256 or net/http/...", field="why")
    g = graph or CallGraph.build(elf)
    goal = g.matcher(pattern)
    mine = [i for i in range(len(g.names)) if goal(i)]
    if not mine:
        raise InputError(f"package {pattern} has no functions in {elf.source or 'the ELF'}"
                         f"{_inlined(g, pattern) or _suggest(g, pattern)}", field="why")
    rep = WhyReport(pattern, elf.arch, len(mine), nfuncs=len(g.names), ncalls=sum(map(len, g.edges)))
    inits = [i for i, nm in enumerate(g.names) if _INIT.fullmatch(nm.rsplit("/", 1)[-1])]
    main = [i for i, nm in enumerate(g.names) if nm == "main.main"]
    entry = g.function_at(elf.entry)
    for roots, kind in ((main + [i for i in inits if not goal(i)], None),
                        ([entry] if entry is not None else [], "entry"),
                        ([i for i in inits if goal(i)], "own-init")):
        chain = g.shortest(roots, goal)
        if chain:
            rep.root = g.names[chain[0]]
            rep.root_kind = kind or ("main" if chain[0] in main else "init")
            rep.path = g.steps(chain)
            if kind != "own-init":
                return rep
            break
    inside = set(mine)
    for a in range(len(g.names)):
        if a in inside or a in g.tramps:
            continue
        for b, (site, tail) in g.edges[a].items():
            while b in g.tramps and g.edges[b]:
                b = next(iter(g.edges[b]))
            if b in inside and len(rep.callers) < LIST_MAX:
                rep.callers.append(Step(g.names[a], site, g.names[b], g.entries[b], tail))
    rep.data_refs = _data_refs(g, mine)
    return rep


def _inlined(g: CallGraph, pattern: str) -> str:
    """A note naming functions of ``pattern`` that only occur inlined: the pclntab's
    funcnametab (1.16+) also holds the names of inlined callees."""
    tab = g.tab
    if tab is None or tab.version == "1.2":
        return ""
    own = set(g.names)
    base = pattern[:-4] if pattern.endswith("/...") else pattern
    hits = set()
    for raw in bytes(tab.data[tab.funcnametab:tab.cutab]).split(b"\0"):
        nm = raw.decode("utf-8", "replace")
        pkg = symbol_package(nm) if nm and nm not in own else None
        if pkg and (pkg == base or (pattern != base and pkg.startswith(base + "/"))):
            hits.add(nm)
    if not hits:
        return ""
    shown = ", ".join(sorted(hits)[:3]) + (", ..." if len(hits) > 3 else "")
    return f": all of its code that is used was inlined into its callers ({shown})"


def _suggest(g: CallGraph, pattern: str) -> str:
    base = pattern[:-4] if pattern.endswith("/...") else pattern
    near = sorted({p for p in g.packages if base and base in p})
    if not near:
        return ""
    more = f", ... ({len(near)} packages)" if len(near) > 5 else ""
    return " (packages containing it: " + ", ".join(near[:5]) + more + ")"


def _data_refs(g: CallGraph, mine: list[int]) -> list[str]:
    """Names of the functions in ``mine`` whose entry address is a pointer-aligned word of
    a non-executable, allocated section other than the pclntab (itab method slots,
    func values, closure descriptors)."""
    elf = g.elf
    want = {g.entries[i]: i for i in mine}
    found: set[int] = set()
    for sec in elf.sections:
        if not sec.is_alloc or sec.is_nobits or sec.is_executable or "pclntab" in sec.name or not sec.size:
            continue
        found.update(want.keys() & set(elf.structs.words(elf.section_data(sec))))
    return sorted(g.names[want[a]] for a in found)


def to_json(rep: WhyReport, source: str | None = None) -> dict:
    """The ``imgtool-size-why/1`` document (addresses as integers)."""
    return {"schema": SCHEMA, "file": source, "arch": rep.arch, "package": rep.package, "found": rep.found,
            "functions": rep.functions, "root": rep.root, "root_kind": rep.root_kind,
            "path": [s.to_json() for s in rep.path], "callers": [s.to_json() for s in rep.callers],
            "data_refs": rep.data_refs, "graph": {"functions": rep.nfuncs, "calls": rep.ncalls}}


_KIND = {"main": "", "init": " (a package init function)", "entry": " (the ELF entry point: runtime start-up)",
         "own-init": " (its own init function: the package is imported and its initialisation code runs)"}


def render_text(rep: WhyReport, source: str | None = None) -> str:
    """The report as lines of text for the terminal."""
    where = f"{source}: " if source else ""
    n = f"{rep.functions} function{'s' if rep.functions != 1 else ''}"
    if rep.found and rep.root_kind != "own-init":
        if rep.path:
            head = (f"{where}{rep.package} ({n}) is reached by {len(rep.path)} direct "
                    f"call{'s' if len(rep.path) != 1 else ''} from {rep.root}{_KIND[rep.root_kind]}:")
        else:
            head = f"{where}{rep.package} ({n}) holds {rep.root}{_KIND[rep.root_kind]} itself:"
        out = [head, f"  {rep.root}"]
        for s in rep.path:
            how = "jumps to" if s.tail else "calls"
            via = f" via {', '.join(s.via)}" if s.via else ""
            out.append(f"    0x{s.site:x} {how} {s.callee}{via}")
        out.append("note: one shortest chain of direct calls; calls through interfaces, closures and func values "
                   "are not seen, so other reasons may exist")
        return "\n".join(out) + "\n"
    if rep.found:
        out = [f"{where}{rep.package} ({n}) is imported: its own init function {rep.root} runs at start-up, "
               "but no chain of direct calls reaches it from main.main, other packages' init functions or the "
               "entry point.",
               "Its other uses are likely through data: method tables and itabs (interface calls), func values, "
               "closures stored in variables."]
    else:
        out = [f"{where}{rep.package} ({n}) is linked, but no chain of direct calls reaches it from main.main, "
               "the init functions or the entry point.",
               "It is likely reached only through data: method tables and itabs (interface calls), func values, "
               "closures stored in variables."]
    if rep.data_refs:
        more = f" (+{len(rep.data_refs) - LIST_MAX} more)" if len(rep.data_refs) > LIST_MAX else ""
        out.append(f"functions whose address is stored in data: {', '.join(rep.data_refs[:LIST_MAX])}{more}")
    if rep.callers:
        out.append("direct calls into it from other packages (callers not reached by direct calls):")
        out += [f"    0x{s.site:x} {s.caller} -> {s.callee}" for s in rep.callers]
    else:
        out.append("no function of another package calls it directly")
    return "\n".join(out) + "\n"


def why_file(path, pattern: str) -> WhyReport:
    """Read the ELF at ``path`` and explain ``pattern`` (:func:`why`).

    Raises:
        InputError: unreadable file, no function in the package, unsupported
            architecture. FormatError: not a valid ELF, no or a malformed pclntab.
    """
    from imgtool.elfinput import load_elf

    return why(load_elf(path), pattern)
