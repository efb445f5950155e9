"""Go symbol names to package paths: the Go linker's naming, as data about the format.

Rules (reference/size-analysis.md §4; the linker's naming: ``cmd/internal/objabi``
``PathToPrefix``, ``cmd/link`` generated symbols):

1. Generated names first: ``go:itab.*T,I`` / ``go.itab.*T,I`` go to the concrete type's
   package; ``type:.eq.T``/``type:.hash.T`` (``type..eq.T`` before 1.20) to ``T``'s package
   (``<generated>`` for literal and layout-named types such as Go 1.26's ``type:.eq.SM10``);
   other ``type:``/``type.`` names to ``<types>``; ``go:string.*`` to ``<strings>``,
   ``go:func.*`` to ``<funcdata>``, ``runtime.gcbits.*`` to ``<gc-metadata>``,
   ``$f64.``/``$f32.``/``$i64.`` constants to ``<consts>``, any other ``go:`` name to
   ``<generated>``. A ``go.`` name is generated unless its first path element is a domain
   (``go.uber.org/zap.New``).
2. Every balanced ``[...]`` group (generic instantiations, which may hold ``/`` and
   ``.``) is removed before splitting.
3. The package is everything before the first ``.`` after the last ``/``; ``%xx``
   escapes (``gopkg.in/yaml%2ev3``) are undone after splitting.
4. Closures and wrappers (``.func1``, ``.func1.2``, ``-fm``, ``.deferwrap1``,
   ``.gowrap1``, ``..inittask``, ``.init.0``) need nothing more: rule 3 keeps the prefix.
5. A name with no package (assembly stubs such as ``memeqbody``) returns None; the caller
   resolves it from the function's source file (:func:`package_from_file`).

:func:`symbol_packages` applies them to a list of names; the C core (``go_packages`` in
``formats/_accel_names.c``) decides the plain ones (rule 3 alone) and this module the rest.

:func:`package_paths` applies them to the symbol table of an executable, read through
:class:`formats.go.reader.BinaryReader`.
"""

from __future__ import annotations

import re
from typing import Iterator

from formats._native import accel
from formats.go.reader import BinaryReader

_PCT = re.compile(r"%([0-9a-fA-F]{2})")

#: generated-name prefix -> pseudo package
_PREFIXES = (
    ("type:.namedata.", "<types>"), ("type..namedata.", "<types>"),
    ("type:.importpath.", "<types>"), ("type..importpath.", "<types>"),
    ("go:string.", "<strings>"), ("go.string.", "<strings>"),
    ("go:func.", "<funcdata>"), ("go.func.", "<funcdata>"), ("go:funcdesc", "<funcdata>"),
    ("runtime.gcbits.", "<gc-metadata>"),
    ("go:buildinfo", "<buildinfo>"), ("go.buildinfo", "<buildinfo>"),
    ("$f64.", "<consts>"), ("$f32.", "<consts>"), ("$i64.", "<consts>"), ("$i32.", "<consts>"),
)
_PREFIX_PKG = dict(_PREFIXES)
_PREFIX_RE = re.compile("|".join(map(re.escape, _PREFIX_PKG)))
#: Go <= 1.19 generated ``go.`` names (a module path such as go.uber.org/zap is not one)
_GO_GENERATED = ("go.shape.", "go.builtin.", "go.info.", "go.cuinfo.", "go.map.", "go.importpath.", "go.link.",
                 "go.track.", "go.loc.", "go.range.", "go.debuglines.", "go.constinfo.", "go.weak.")
_BUILDINFO = {"runtime.modinfo.str", "runtime.buildVersion.str"}

#: first characters of every name rule 1 handles (one ``startswith`` screens the rest out)
_GENERATED_HEADS = ("go:", "go.", "type:", "type.", "$", "runtime.gcbits.")
#: pseudo packages (not import paths); all roll up to the module class "generated"
PSEUDO_PREFIX = "<"


_BRACKETS = re.compile(r"[\[\](){}]")
_INNERMOST = re.compile(r"\[[^\[\]]*\]")


def strip_brackets(name: str) -> str:
    """``name`` without its balanced ``[...]`` groups (unbalanced brackets are kept)."""
    if "[" not in name:
        return name
    out = name
    while True:  # innermost groups first; a fixpoint with a "[" left has an unclosed one
        cut = _INNERMOST.sub("", out)
        if cut == out:
            return name if "[" in out else out
        out = cut


def _core(name: str) -> str | None:
    base = strip_brackets(name)
    slash = base.rfind("/")
    dot = base.find(".", slash + 1)
    if dot <= 0:
        return None
    pkg = base[:dot]
    return _PCT.sub(lambda m: chr(int(m.group(1), 16)), pkg) if "%" in pkg else pkg


def type_package(t: str) -> str:
    """Package of a type string as it appears in generated names (``*main.T``,
    ``[]crypto/x509.Certificate``, ``[8]main.T``, ``map[string]fmt.pp``);
    ``<generated>`` for literal types (struct, func, interface) and layout signatures."""
    t = t.strip()
    while True:
        if t.startswith("*"):
            t = t[1:]
        elif t.startswith("[]"):
            t = t[2:]
        elif t.startswith("[") and "]" in t:
            t = t[t.index("]") + 1:]
        elif t.startswith("map["):
            t = t[t.rindex("]") + 1:] if "]" in t else t[4:]
        elif t.startswith("chan ") or t.startswith("<-chan "):
            t = t.split(" ", 1)[1]
        else:
            break
    if t.startswith(("struct {", "struct{", "func(", "interface {", "interface{", "noalg.", "go.shape.", "go:shape.")):
        return "<generated>"
    return _core(t) or "<generated>"


def symbol_package(name: str) -> str | None:
    """The package path of a Go symbol or function name, a ``<pseudo>`` package for
    generated names, or None for names without a package (assembly stubs, C names)."""
    if not name:
        return None
    if name.startswith(_GENERATED_HEADS):
        special = _special(name)
        if special is not False:
            return special
    elif name in _BUILDINFO:
        return "<buildinfo>"
    if "[" in name or "%" in name:
        return _core(name)
    dot = name.find(".", name.rfind("/") + 1)
    return name[:dot] if dot > 0 else None


def symbol_packages(names: list[str]) -> list[str | None]:
    """``[symbol_package(n) for n in names]``: the plain names (ASCII, not generated, no
    ``[`` or ``%``) decided by the C core when it is built, the others here.

    Raises:
        TypeError: an item of ``names`` is not a str.
    """
    if accel is None:
        return [symbol_package(n) for n in names]
    out = accel.go_packages(names)
    for i in [i for i, p in enumerate(out) if p is None]:
        out[i] = symbol_package(names[i])
    return out


def _special(name: str) -> str | None | bool:
    """The package of a generated name (rule 1), or False when ``name`` is not one."""
    m = _PREFIX_RE.match(name)  # the first prefix of _PREFIXES that matches, in one call
    if m is not None:
        return _PREFIX_PKG[m.group()]
    if name.startswith(("go:itab.", "go.itab.")):
        rest = name[8:]
        cut = _top_level_comma(rest)
        return type_package(rest[:cut] if cut >= 0 else rest)
    for pre in ("type:.eq.", "type..eq.", "type:.hash.", "type..hash."):
        if name.startswith(pre):
            return type_package(name[len(pre):])
    if name.startswith(("type:", "type.")):
        return "<types>"
    if name.startswith("go:"):
        return "<generated>"
    if name.startswith("go."):
        first = name.split("/", 1)[0]
        if "/" not in name or name.startswith(_GO_GENERATED) or not _is_domain(first):
            return "<generated>"
    return False


def _is_domain(elem: str) -> bool:
    return bool(re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)+", elem))


def _top_level_comma(s: str) -> int:
    if not _BRACKETS.search(s):  # the common itab: no nesting to track
        return s.find(",")
    depth = 0
    for i, ch in enumerate(s):
        if ch in "[({":
            depth += 1
        elif ch in "])}":
            depth -= 1
        elif ch == "," and depth == 0:
            return i
    return -1


def package_from_file(path: str) -> str | None:
    """Package directory of a source path from the pcfile table: module cache paths
    (``.../pkg/mod/github.com/x/y@v1.2.3/sub/f.s`` -> ``github.com/x/y/sub``), GOROOT
    paths (``.../src/internal/bytealg/x.s`` -> ``internal/bytealg``); None otherwise."""
    d = path.rsplit("/", 1)[0] if "/" in path else ""
    if not d or path.startswith("<"):
        return None
    if "/pkg/mod/" in d:
        d = d.split("/pkg/mod/", 1)[1]
        return re.sub(r"@[^/]+", "", d)
    if d.startswith("$GOROOT/src/"):
        return d[len("$GOROOT/src/"):]
    if "/src/" in d:
        return d.rsplit("/src/", 1)[1]
    return None


def package_paths(reader: BinaryReader) -> Iterator[str]:
    """Distinct Go package paths that define symbols in ``reader`` (``a/b/c.Func`` ->
    ``a/b/c``), in symbol-table order; generated names (``<pseudo>`` packages) and names
    without a package are left out; nothing for a stripped binary.

    Raises:
        FormatError: the symbol table is malformed.
    """
    seen = set()
    for pkg in symbol_packages([sym.name for sym in reader.symbols]):
        if pkg and not pkg.startswith(PSEUDO_PREFIX) and pkg not in seen:
            seen.add(pkg)
            yield pkg
