"""Library errors name fields of the data, never CLI options; the commands map them.

``formats`` raises :class:`FormatError` with ``field`` set to the argument to change
(``fill``, ``pad_to``, ``max_gap``, ``base``, ``symbols``, ``skip_unsupported``); the
commands wrap their one library call in :func:`imgtool.cli.app.option_names`, so the
error line the user reads names the option instead. A source check makes sure no raise in
``formats/`` spells one of the CLI's option names.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from formats.elf import ElfFile
from formats.errors import FormatError
from formats.loadimage import flatten, flatten_segments
from formats.reloc import relocate
from imgtool.cli.app import option_names
from test_reloc import LOW, build_pie

ROOT = Path(__file__).resolve().parent.parent
#: raises that still name a CLI command, left to the change that splits formats/crc.py
KNOWN = {("formats/crc.py", "--list")}


def cli_options() -> set[str]:
    """Every ``--option`` of every imgtool command, from the typer app itself."""
    import typer

    import imgtool.cli  # noqa: F401  (registers the commands)
    from imgtool.cli.app import app

    out: set[str] = set()

    def walk(cmd) -> None:
        for p in cmd.params:
            out.update(o for o in [*getattr(p, "opts", ()), *getattr(p, "secondary_opts", ())] if o.startswith("--"))
        for sub in getattr(cmd, "commands", {}).values():
            walk(sub)

    walk(typer.main.get_command(app))
    return out


def raised_options(source: str, options: set[str]) -> list[tuple[int, str]]:
    """(line, option) for every option name in a string of a ``raise`` statement."""
    hits = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Raise) and node.exc is not None:
            for sub in ast.walk(node.exc):
                if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                    hits += [(node.lineno, o) for o in re.findall(r"--[a-z][a-z0-9-]*", sub.value) if o in options]
    return hits


def test_no_raise_in_formats_names_a_cli_option():
    options = cli_options()
    assert {"--fill", "--max-gap", "--base", "--define", "--pad-to"} <= options
    bad = []
    for path in sorted((ROOT / "formats").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        bad += [f"{rel}:{line}: {o}" for line, o in raised_options(path.read_text(encoding="utf-8"), options)
                if (rel, o) not in KNOWN]
    assert bad == []


def test_the_source_check_sees_options():
    src = 'def f(x):\n    raise E(f"bad {x}; allow it with --max-gap", field="--fill")\n"""--base in a docstring"""\n'
    assert raised_options(src, {"--max-gap", "--fill", "--base"}) == [(2, "--max-gap"), (2, "--fill")]


def _field(call) -> FormatError:
    with pytest.raises(FormatError) as exc:
        call()
    assert "--" not in exc.value.message
    return exc.value


def test_flatten_errors_name_the_argument(go_elf):
    elf = ElfFile.parse(go_elf("arm7").read_bytes())
    assert _field(lambda: flatten(elf, fill=300)).field == "fill"
    assert _field(lambda: flatten_segments(elf, fill=-1)).field == "fill"
    assert _field(lambda: flatten(elf).padded_to(0x1000)).field == "pad_to"
    far = ElfFile.parse(go_elf("arm7-fardata").read_bytes())
    err = _field(lambda: flatten(far))
    assert err.field == "max_gap" and "hole of 0x" in err.message
    assert _field(lambda: flatten_segments(far, max_gap=0x10)).field == "max_gap"


def test_relocate_errors_name_the_argument():
    arm = ElfFile.parse(build_pie("arm-ld", LOW).read_bytes())
    assert _field(lambda: relocate(arm, 0x90000800, allow_undefined=True)).field == "base"
    assert _field(lambda: relocate(arm, 0xFFFF0000, allow_undefined=True)).field == "base"
    assert _field(lambda: relocate(arm, 0x90000000, allow_undefined=True, symbols={"no_such": 1})).field == "symbols"
    err = _field(lambda: relocate(arm, 0x90000000))
    assert err.field == "symbols" and "undefined symbol" in err.message
    riscv = ElfFile.parse(build_pie("riscv64-ld", LOW).read_bytes())
    err = _field(lambda: relocate(riscv, 0x90000000, allow_undefined=True))
    assert err.field == "skip_unsupported" and "R_RISCV_TLS_TPREL64" in err.message


def test_option_names_maps_only_its_fields():
    with pytest.raises(FormatError) as exc:
        with option_names(max_gap="--max-gap"):
            raise FormatError("a hole", source="x.elf", offset=4, field="max_gap")
    assert str(exc.value) == "x.elf: offset 0x4: --max-gap: a hole"
    with pytest.raises(FormatError) as exc:
        with option_names(max_gap="--max-gap"):
            raise FormatError("bad magic", source="x.elf", field="e_ident")
    assert str(exc.value) == "x.elf: e_ident: bad magic"
    with pytest.raises(KeyError):
        with option_names(max_gap="--max-gap"):
            raise KeyError("not a format error")


def test_the_cli_names_its_options(go_elf, run_imgtool, tmp_path):
    far = go_elf("arm7-fardata")
    r = run_imgtool("bin", far, "-o", tmp_path / "x.bin")
    assert r.returncode == 2 and f"{far}: --max-gap: a hole of 0x" in r.stderr
    r = run_imgtool("bin", go_elf("arm7"), "-o", tmp_path / "x.bin", "--pad-to", "0x1000")
    assert r.returncode == 2 and "--pad-to: pad address 0x1000 is below the end" in r.stderr
    pie = build_pie("arm-ld", LOW)
    r = run_imgtool("relocate", pie, "--base", "0x90000000", "-o", tmp_path / "x.bin")
    assert r.returncode == 2 and "--define: DT_" in r.stderr and "undefined symbol" in r.stderr
    r = run_imgtool("relocate", pie, "--base", "0x90000800", "-o", tmp_path / "x.bin", "--allow-undefined")
    assert r.returncode == 2 and "--base: base 0x90000800" in r.stderr
    r = run_imgtool("relocate", build_pie("riscv64-ld", LOW), "--base", "0x90000000", "-o", tmp_path / "x.bin",
                    "--allow-undefined")
    assert r.returncode == 2 and "--skip-unsupported: " in r.stderr
    assert not (tmp_path / "x.bin").exists()
