"""The house's layers, read from the source: imports point down, no cycles, ELF knows no Go.

Every module of ``formats/``, ``signing/`` and ``imgtool/`` is parsed with :mod:`ast` and
every import statement in it is collected: at module level, inside functions (lazy
imports) and under ``if TYPE_CHECKING:`` alike, relative ones resolved against the
module's package, and ``from x import y`` taken as an edge to the submodule ``x.y`` when
there is one (else to ``x``). An edge to ``a.b.c`` is an edge to that module only, not
to its parent packages. On that graph:

(a) no upward import: ``formats`` imports neither ``signing`` nor ``imgtool``; ``signing``
    does not import ``imgtool`` (DESIGN.md, "Layers");
(b) no cycle (any strongly connected component of more than one module, or a module
    importing itself);
(c) ``formats/elf.py`` imports nothing about Go: the Go linker's structures live in
    ``formats/go/`` above it.

The checker is plain functions over a folder, so the unit tests below feed it synthetic
trees with a cycle, an upward import and relative imports, and see it fail.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("formats", "signing", "imgtool")
#: layer rank: an import may only point to the same or a lower rank
RANK = {"formats": 0, "signing": 1, "imgtool": 2}


def module_files(root: Path, packages=PACKAGES) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` file under ``root/<package>``."""
    out = {}
    for pkg in packages:
        for path in sorted((root / pkg).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


def _is_package(files: dict[str, Path], module: str) -> bool:
    return files[module].name == "__init__.py"


def imports_of(module: str, source: str, files: dict[str, Path]) -> set[str]:
    """The modules of ``files`` that ``module`` (with ``source``) imports, lazily or not."""
    pkg = module if _is_package(files, module) else module.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name in files)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split(".")
                base = base[:len(base) - (node.level - 1)] if node.level > 1 else base
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if alias.name != "*" and sub in files:
                    out.add(sub)
                elif target in files:
                    out.add(target)
    return out


def import_graph(root: Path, packages=PACKAGES) -> dict[str, set[str]]:
    """module -> the modules of the tree it imports."""
    files = module_files(root, packages)
    return {m: imports_of(m, p.read_text(encoding="utf-8"), files) for m, p in files.items()}


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """``"a -> b"`` for every import from a lower layer to a higher one."""
    bad = []
    for m, deps in sorted(graph.items()):
        for d in sorted(deps):
            if RANK[d.split(".")[0]] > RANK[m.split(".")[0]]:
                bad.append(f"{m} -> {d}")
    return bad


def cycles(graph: dict[str, set[str]], known=frozenset()) -> list[list[str]]:
    """The import cycles of ``graph``: each strongly connected component of two or more
    modules (or a module importing itself), as a sorted list, except those in ``known``
    (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in graph:
                    continue
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    comp = []
                    while True:
                        x = stack.pop()
                        on_stack.discard(x)
                        comp.append(x)
                        if x == node:
                            break
                    if (len(comp) > 1 or node in graph[node]) and frozenset(comp) not in known:
                        out.append(sorted(comp))
    return sorted(out)


def go_imports_of_elf(graph: dict[str, set[str]], source: str) -> list[str]:
    """What ``formats/elf.py`` imports that is about Go: a module of the tree under
    ``formats.go``/``formats.go*``, or any imported name with a ``go`` component."""
    bad = {d for d in graph.get("formats.elf", ()) if any(p.startswith("go") for p in d.split(".")[1:])}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] + ([node.module] if getattr(node, "module", None) else [])
            bad.update(n for n in names if any(p.lower().startswith("go") for p in n.split(".")))
    return sorted(bad)


# ------------------------------------------------------------------------------ the tree

def test_the_tree_has_modules_and_edges():
    graph = import_graph(ROOT)
    assert {"formats.elf", "formats.go.buildinfo", "signing.hab", "imgtool.cli.app"} <= graph.keys()
    assert "formats.elf" in graph["formats.loadimage"]  # the walker sees real edges


def test_no_upward_import():
    assert upward_imports(import_graph(ROOT)) == []


def test_no_import_cycle():
    assert cycles(import_graph(ROOT), set()) == []


def test_elf_knows_nothing_of_go():
    graph = import_graph(ROOT)
    assert go_imports_of_elf(graph, (ROOT / "formats/elf.py").read_text(encoding="utf-8")) == []
    from formats.elf import ElfFile

    assert [a for a in ("build_info", "go_build_id", "iter_package_paths") if hasattr(ElfFile, a)] == []


# ------------------------------------------------------------------- the checker itself

def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    for pkg in PACKAGES:
        (tmp_path / pkg).mkdir(exist_ok=True)
        (tmp_path / pkg / "__init__.py").touch()
    return tmp_path


def test_checker_finds_a_lazy_cycle_through_a_submodule(tmp_path):
    root = _tree(tmp_path, {
        "formats/a.py": "def f():\n    from formats import b\n",           # from x import <submodule>
        "formats/b.py": "from .c import thing\n",                          # relative
        "formats/c.py": "if False:\n    import formats.a\nthing = 1\n",    # guarded import counts
        "formats/d.py": "import formats.a\n",                              # into the cycle, not in it
    })
    graph = import_graph(root)
    assert graph["formats.a"] == {"formats.b"} and graph["formats.b"] == {"formats.c"}
    assert cycles(graph) == [["formats.a", "formats.b", "formats.c"]]
    assert cycles(graph, {frozenset({"formats.a", "formats.b", "formats.c"})}) == []
    # a known pair does not excuse a larger cycle that contains it
    assert cycles(graph, {frozenset({"formats.a", "formats.b"})}) == [["formats.a", "formats.b", "formats.c"]]


def test_checker_counts_edges_to_the_module_not_its_parents(tmp_path):
    root = _tree(tmp_path, {
        "imgtool/cli/__init__.py": "from imgtool.cli import cmd_x\n",
        "imgtool/cli/app.py": "app = 1\n",
        "imgtool/cli/cmd_x.py": "from imgtool.cli.app import app\n",
        "imgtool/cli/cmd_y.py": "from imgtool.cli import app\n",
    })
    graph = import_graph(root)
    assert graph["imgtool.cli.cmd_x"] == {"imgtool.cli.app"} and graph["imgtool.cli.cmd_y"] == {"imgtool.cli.app"}
    assert cycles(graph) == []
    (root / "imgtool/cli/cmd_x.py").write_text("from imgtool.cli import app, main\n")  # main: a name of the package
    assert cycles(import_graph(root)) == [["imgtool.cli", "imgtool.cli.cmd_x"]]


def test_checker_finds_upward_imports_and_self_imports(tmp_path):
    root = _tree(tmp_path, {
        "formats/x.py": "def f():\n    from signing.k import sign\n",
        "signing/k.py": "import imgtool.out\nimport formats.x\n",
        "imgtool/out.py": "from ..formats import x\n",
        "imgtool/me.py": "from . import me\n",
    })
    graph = import_graph(root)
    assert upward_imports(graph) == ["formats.x -> signing.k", "signing.k -> imgtool.out"]
    assert graph["imgtool.out"] == {"formats.x"} and graph["imgtool.me"] == {"imgtool.me"}
    assert cycles(graph) == [["formats.x", "imgtool.out", "signing.k"], ["imgtool.me"]]


def test_checker_sees_go_in_elf(tmp_path):
    root = _tree(tmp_path, {"formats/elf.py": "def f():\n    from formats.go.buildinfo import parse\n",
                            "formats/go/__init__.py": "", "formats/go/buildinfo.py": ""})
    src = (root / "formats/elf.py").read_text()
    assert go_imports_of_elf(import_graph(root), src) == ["formats.go.buildinfo"]
    assert go_imports_of_elf({"formats.elf": set()}, "from formats import gosymbols\n") == ["gosymbols"]
