"""The Go module cache: where ``go mod download`` keeps module sources, and which version
of a module a Go binary was built with.

Source: ``go help modules`` / ``go help environment`` (``GOMODCACHE``, default
``$GOPATH/pkg/mod``, ``GOPATH`` default ``~/go``); the module cache layout
``<cache>/<escaped module path>@<version>/`` with the case-encoding of
golang.org/x/mod/module (``EscapePath``: an upper-case letter becomes ``!`` + its lower
case). Running ``go env GOMODCACHE`` is the one way to learn a non-default setting made
with ``go env -w``; it is tried only when ``$GOMODCACHE`` is unset, with a timeout.

Public API::

    gomodcache() -> Path | None
    escape_module_path(path) -> str
    module_file(module, version, relpath, cache=None) -> Path | None
    module_version(build_info, module) -> str | None
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path


def gomodcache() -> Path | None:
    """The Go module cache: ``$GOMODCACHE``, ``go env GOMODCACHE``, ``$GOPATH/pkg/mod``
    (first ``GOPATH`` entry), else ``~/go/pkg/mod``; the first of them that is a
    directory, or None."""
    env = os.environ.get("GOMODCACHE")
    candidates: list[str] = [env] if env else []
    go = shutil.which("go")
    if not env and go:
        try:
            out = subprocess.run([go, "env", "GOMODCACHE"], capture_output=True, text=True, timeout=10)
            if out.returncode == 0 and out.stdout.strip():
                candidates.append(out.stdout.strip())
        except (OSError, subprocess.SubprocessError):
            pass
    gopath = os.environ.get("GOPATH")
    if gopath:
        candidates.append(os.path.join(gopath.split(os.pathsep)[0], "pkg", "mod"))
    candidates.append(os.path.join(os.path.expanduser("~"), "go", "pkg", "mod"))
    for c in candidates:
        if c and os.path.isdir(c):
            return Path(c)
    return None


def escape_module_path(path: str) -> str:
    """A module path as the cache spells it on disk: ``A`` -> ``!a``
    (``github.com/BurntSushi/toml`` -> ``github.com/!burnt!sushi/toml``)."""
    return "".join("!" + c.lower() if c.isupper() else c for c in path)


def module_file(module: str, version: str, relpath: str, cache: str | os.PathLike | None = None) -> Path | None:
    """The file ``relpath`` of ``module@version`` in the module cache, or None when the
    cache, that version or that file is not there.

    Args:
        module: module path, e.g. ``github.com/usbarmory/tamago``.
        version: a module version as ``go.mod`` and build information give it (``v1.26.0``).
        relpath: a path inside the module (``board/usbarmory/mk2/imximage.cfg``).
        cache: the module cache to look in (default: :func:`gomodcache`).
    """
    root = Path(cache) if cache is not None else gomodcache()
    if root is None:
        return None
    path = root / f"{escape_module_path(module)}@{version}" / relpath
    return path if path.is_file() else None


def module_version(build_info, module: str) -> str | None:
    """The version of ``module`` in Go build information (an object with ``main`` and
    ``deps`` entries that have ``path``, ``version`` and ``replace``, as
    ``formats.go.buildinfo.BuildInfo``), following a ``replace`` by the same module at a
    version; None when the binary does not use the module, replaces it by a directory,
    or has no build information."""
    if build_info is None:
        return None
    for dep in list(getattr(build_info, "deps", None) or []) + [getattr(build_info, "main", None)]:
        if dep is None or dep.path != module:
            continue
        rep = getattr(dep, "replace", None)
        if rep is not None:
            return rep.version if rep.path == module and rep.version and rep.version != "(devel)" else None
        return dep.version if dep.version and dep.version != "(devel)" else None
    return None
