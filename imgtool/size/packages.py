"""Package paths to modules (the roll-up of ``imgtool size``).

The symbol-name rules themselves are part of the Go binary format and live in
:mod:`formats.go.symbols`; they are re-exported here for the size engine.
"""

from __future__ import annotations

from typing import NamedTuple

from formats.go.symbols import (
    PSEUDO_PREFIX,
    package_from_file,
    strip_brackets,
    symbol_package,
    symbol_packages,
    type_package,
)

__all__ = ["ModuleInfo", "ModuleMap", "PSEUDO_PREFIX", "function_packages", "package_from_file", "strip_brackets",
           "symbol_package", "symbol_packages", "type_package"]


def function_packages(tab, names: list[str]) -> list[str]:
    """The package of each function of the pclntab ``tab`` (a
    :class:`formats.go.pclntab.PcLnTab`; ``names[i]`` is function ``i``'s name): its
    name's (:func:`symbol_packages`), else the folder of its first source file
    (:func:`package_from_file`: assembly stubs such as ``memeqbody``), else ``<asm>``."""
    from formats.go.pclntab import first_file

    pkgs = symbol_packages(names)
    for i in [i for i, p in enumerate(pkgs) if p is None]:
        pkgs[i] = package_from_file(first_file(tab, tab.func(i)) or "") or "<asm>"
    return pkgs


class ModuleInfo(NamedTuple):
    """A module a package rolls up to: ``path`` and ``cls`` (main, std, dependency,
    generated)."""

    path: str
    cls: str


class ModuleMap:
    """Package -> module from Go build information (main module, ``dep`` lines with
    ``=>`` replacements honoured for naming); longest-prefix match, memoised."""

    def __init__(self, build_info=None) -> None:
        self.main = ""
        self.deps: list[str] = []
        if build_info is not None:
            if build_info.main is not None:
                self.main = build_info.main.path
            self.deps = sorted((m.path for m in build_info.deps), key=len, reverse=True)
        self._memo: dict[str, ModuleInfo] = {}

    def module(self, pkg: str) -> ModuleInfo:
        m = self._memo.get(pkg)
        if m is None:
            m = self._memo[pkg] = self._classify(pkg)
        return m

    def _classify(self, pkg: str) -> ModuleInfo:
        if pkg.startswith(PSEUDO_PREFIX):
            return ModuleInfo(pkg, "generated")
        if pkg == "main" or (self.main and (pkg == self.main or pkg.startswith(self.main + "/"))):
            return ModuleInfo(self.main or "main", "main")
        for d in self.deps:
            if pkg == d or pkg.startswith(d + "/"):
                return ModuleInfo(d, "dependency")
        first = pkg.split("/", 1)[0]
        if "." not in first:
            return ModuleInfo("std", "std")
        return ModuleInfo(pkg, "dependency")
