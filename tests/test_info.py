"""``imgtool info`` on real Go ELFs: the facts a user checks before flashing."""

from __future__ import annotations

import json
import subprocess

import pytest

from conftest import GO_TARGET_NAMES
from formats.elf import ElfFile


@pytest.mark.parametrize("name", GO_TARGET_NAMES)
def test_info_json_matches_readelf_and_go_version_m(name, go_elf, run_imgtool):
    path = go_elf(name)
    r = run_imgtool("info", "--json", path, check=True)
    d = json.loads(r.stdout)
    elf = ElfFile.parse(path.read_bytes())
    assert d["arch"] == {"arm7": "arm", "arm5": "arm"}.get(name, name)
    readelf = subprocess.run(["readelf", "-hlW", str(path)], capture_output=True, text=True, check=True).stdout
    entry = int(next(ln for ln in readelf.splitlines() if "Entry point" in ln).split()[-1], 16)
    assert d["entry"] == entry == elf.entry
    loads = [ln.split() for ln in readelf.splitlines() if ln.strip().startswith("LOAD")]
    assert [(int(l[2], 16), int(l[4], 16), int(l[5], 16)) for l in loads] == \
        [(s["vaddr"], s["filesz"], s["memsz"]) for s in d["segments"] if s["type"] == "LOAD"]
    gov = subprocess.run(["go", "version", "-m", str(path)], capture_output=True, text=True, check=True).stdout
    assert d["go"]["go_version"] == gov.splitlines()[0].split(": ")[1]
    deps = {ln.split("\t")[2]: ln.split("\t")[3] for ln in gov.splitlines() if ln.startswith("\tdep\t")}
    assert {x["path"]: x["version"] for x in d["go"]["deps"]} == deps == {"github.com/usbarmory/tamago": "v1.26.0"}
    assert d["text_start"] == elf.text_start
    assert d["go_build_id"] and d["pvh_entry"] is None


def test_info_text(go_elf, run_imgtool):
    r = run_imgtool("info", go_elf("arm7"), check=True)
    assert "ELF32 little-endian arm" in r.stdout
    assert "TEXT_START   0x80010000" in r.stdout
    assert "dep          github.com/usbarmory/tamago v1.26.0" in r.stdout


def test_version_and_help(run_imgtool):
    from imgtool import __version__

    assert run_imgtool("--version", check=True).stdout.strip() == f"imgtool {__version__}"
    h = run_imgtool("--help", check=True).stdout
    for cmd in ("info", "bin", "imx", "hab"):
        assert cmd in h
