"""The one grammar of sizes and addresses (imgtool/cli/params.py) and the CLI layout rules:
every option and every budget read numbers the same way; command modules stay thin;
library errors name data fields and the CLI shows the options."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from formats.errors import FormatError
from imgtool.cli.app import option_names
from imgtool.cli.params import parse_budget, parse_byte, parse_int, parse_max_gap, parse_region, parse_size
from imgtool.errors import InputError
from signing.errors import SigningError

ROOT = Path(__file__).resolve().parent.parent
UNITS = {"": 1, "B": 1, "K": 1 << 10, "k": 1 << 10, "KB": 1 << 10, "KiB": 1 << 10, "kib": 1 << 10,
         "M": 1 << 20, "MiB": 1 << 20, "mb": 1 << 20, "G": 1 << 30, "GiB": 1 << 30, "gB": 1 << 30}


@pytest.mark.parametrize("text,value", [
    ("0x80010000", 0x80010000), ("4096", 4096), ("0o17", 15), ("0b101", 5), ("64K", 65536),
    ("0x10K", 0x4000), ("1.5M", 1536 << 10), ("2G", 1 << 31), (" 512MiB ", 512 << 20), ("1 M", 1 << 20),
    ("0x1B", 27), ("0x1KiB", 1024), ("0", 0), ("1.0", 1), ("0.5K", 512), ("64B", 64),
])
def test_grammar_examples(text, value):
    assert parse_size(text) == value
    assert parse_int(text, "--x") == value
    assert parse_budget(f"flash={text}") == [("flash", value)]  # budgets read sizes the same way


@pytest.mark.parametrize("text", ["", "x", "-1", "1_000", "0x_80", "017", "1.9", "0.5", "1.5", "0x1.8K",
                                  "1T", "1KK", "0x", "12Q", "1e3", "1%", "1.5.5"])
def test_grammar_refusals(text):
    with pytest.raises(ValueError):
        parse_size(text)
    with pytest.raises(InputError, match="^--x: "):
        parse_int(text, "--x")
    with pytest.raises(ValueError):
        parse_budget(f"flash={text}")


@settings(max_examples=200, deadline=None)
@given(n=st.integers(0, 1 << 40), base=st.sampled_from(["0x{:x}", "0X{:X}", "0o{:o}", "0b{:b}", "{:d}"]),
       unit=st.sampled_from(sorted(UNITS)))
def test_integers_in_any_base_with_any_unit(n, base, unit):
    text = base.format(n) + unit
    if base.lower().startswith("0x") and unit.upper().startswith("B"):
        return  # in hex a trailing B is a digit
    assert parse_size(text) == n * UNITS[unit]


@settings(max_examples=200, deadline=None)
@given(whole=st.integers(0, 4096), frac=st.integers(0, 9999), unit=st.sampled_from(["K", "M", "G", ""]))
def test_decimal_fractions_only_when_whole_bytes(whole, frac, unit):
    from fractions import Fraction

    digits = f"{frac:04d}"
    exact = (whole + Fraction(int(digits), 10 ** 4)) * UNITS[unit]
    text = f"{whole}.{digits}{unit}"
    if exact.denominator == 1:
        assert parse_size(text) == exact
    else:
        with pytest.raises(ValueError, match="whole number of bytes"):
            parse_size(text)


def test_byte_gap_and_region_use_the_grammar():
    assert parse_byte("0xff", "--fill") == 255
    with pytest.raises(InputError, match="--fill"):
        parse_byte("0x1K", "--fill")
    assert parse_max_gap("any") is None and parse_max_gap("1.5M") == 1536 << 10
    r = parse_region("flash=0x10K:1.5M")
    assert (r.start, r.size) == (0x4000, 1536 << 10)


def test_options_accept_what_budgets_accept(go_elf, tmp_path, run_imgtool):
    """--max-gap 1.5M and --pad-to 0x10K-style values work on the command line as in --budget."""
    out = tmp_path / "a.bin"
    run_imgtool("bin", go_elf("arm7"), "-o", out, "--max-gap", "1.5M", check=True)
    ref = out.read_bytes()
    run_imgtool("bin", go_elf("arm7"), "-o", out, "--max-gap", "1536K", check=True)
    assert out.read_bytes() == ref
    r = run_imgtool("bin", go_elf("arm7"), "-o", out, "--max-gap", "1.5")
    assert r.returncode == 2 and "--max-gap: '1.5' is not a whole number of bytes" in r.stderr


def test_option_names_maps_fields_of_every_layer():
    cases = [FormatError("unknown format 'elf'", field="format"), InputError("bad", field="format"),
             SigningError("bad", field="format")]
    for exc in cases:
        with pytest.raises(type(exc)) as info:
            with option_names(format="--format"):
                raise exc
        assert str(info.value).startswith("--format: "), str(info.value)
    with pytest.raises(FormatError) as info:  # a field the command does not map stays as it is
        with option_names(format="--format"):
            raise FormatError("x", field="e_phoff")
    assert str(info.value) == "e_phoff: x"


def test_flat_image_library_names_fields_not_options(go_elf):
    from formats.elf import ElfFile
    from imgtool.flatimage import FlatOptions, build_flat

    elf = ElfFile.parse(go_elf("arm7").read_bytes())
    with pytest.raises(FormatError) as info:
        build_flat(elf, FlatOptions(format="elf"))
    assert info.value.field == "format" and "--" not in str(info.value)
    with pytest.raises(FormatError) as info:
        build_flat(elf, FlatOptions(append_crc="CRC-32", crc_byteorder="middle"))
    assert info.value.field == "byteorder" and "--" not in str(info.value)


def test_command_modules_are_thin():
    """A command is option parsing, one library call, rendering: no imgtool/cli/cmd_*.py
    over about 100 lines (the pipeline belongs in imgtool/)."""
    modules = sorted((ROOT / "imgtool" / "cli").glob("cmd_*.py"))
    assert len(modules) >= 7
    long = {p.name: n for p in modules if (n := len(p.read_text(encoding="utf-8").splitlines())) > 110}
    assert not long, f"command modules over 110 lines: {long}"
