"""``imgtool size``: text, JSON, CSV, HTML (rendered in headless Chromium), diff, budgets."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess

import pytest

from test_gopclntab import run_size


def test_default_text_table(go_elf):
    r = run_size(go_elf("arm7"))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "go1.26" in lines[0] and "unknown" in lines[0]
    head = lines[1].split()
    assert head[1:] == ["package", "flash", "ram", "text", "rodata", "pclntab", "data", "bss", "%"]
    body = lines[2:]
    assert sum(1 for x in body if x.split()[0].isdigit()) >= 20
    assert any("<unknown>" in x for x in body) and body[-2].split()[0] == "total"
    assert body[-1].startswith("image: stored 3") and "compact" in body[-1]  # the 32 MiB BSS of Go 1.26
    assert "runtime" in r.stdout and "fmt" in r.stdout


@pytest.mark.parametrize("by", ["section", "segment", "module", "symbol", "file", "pclntab"])
def test_by_views(go_elf, by):
    r = run_size(go_elf("arm7-stripped"), "--by", by, "--top", "5", "--bytes")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[1].split()[1] == by


def test_json_schema_and_csv(go_elf, tmp_path):
    out = tmp_path / "s.json"
    r = run_size(go_elf("arm64"), "--format", "json", "-o", out)
    assert r.returncode == 0, r.stderr
    doc = json.loads(out.read_text())
    assert doc["schema"] == "imgtool-size/1"
    t = doc["totals"]
    assert t["file"] == go_elf("arm64").stat().st_size
    assert sum(x["flash"] for x in doc["packages"]) == t["flash"]
    assert sum(x["file"] for x in doc["file_layout"]) == t["file"]
    assert all(s["labelled"] == s["size"] for s in doc["sections"])
    r = run_size(go_elf("arm64"), "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert sum(int(x["ram"]) for x in rows) == t["ram"]


def test_diff_against_elf_and_json(go_elf, tmp_path):
    base = tmp_path / "base.json"
    assert run_size(go_elf("arm5"), "--format", "json", "-o", base).returncode == 0
    r = run_size(go_elf("arm7"), "--diff", base)
    assert r.returncode == 0, r.stderr
    assert "packages:" in r.stdout and "sections:" in r.stdout and "symbols:" in r.stdout
    r = run_size(go_elf("arm7"), "--diff", go_elf("arm7-stripped"), "--format", "json")
    d = json.loads(r.stdout)
    assert d["totals"]["file"] == go_elf("arm7").stat().st_size - go_elf("arm7-stripped").stat().st_size
    assert any(x["name"] == ".symtab" and x["delta"] > 0 for x in d["sections"])
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": "other/1"}')
    r = run_size(go_elf("arm7"), "--diff", bad)
    assert r.returncode == 2 and "imgtool-size/1" in r.stderr


def test_budget(go_elf):
    ok = run_size(go_elf("arm7"), "--budget", "flash=64M,pkg:fmt=1M")
    assert ok.returncode == 0, ok.stderr
    r = run_size(go_elf("arm7"), "--budget", "flash=1M,ram=256K,pkg:fmt=1K,mod:std=100M")
    assert r.returncode == 1
    assert "EXCEEDED" in r.stderr and "pkg:fmt" in r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith("imgtool: error: size budget exceeded: flash by")
    r = run_size(go_elf("arm7"), "--budget", "flosh=1M")
    assert r.returncode == 2 and "budget key" in r.stderr


def test_bad_input(tmp_path):
    p = tmp_path / "x.elf"
    p.write_bytes(b"not an elf")
    r = run_size(p)
    assert r.returncode == 2 and "not an ELF" in r.stderr and "Traceback" not in r.stderr
    r = run_size(p, "--by", "nothing")
    assert r.returncode == 2


def test_html_treemap_renders_in_chromium(go_elf, tmp_path):
    out = tmp_path / "size.html"
    r = run_size(go_elf("arm7"), "--format", "html", "-o", out, "--board", "usbarmory-mk2")
    assert r.returncode == 0, r.stderr
    page = out.read_text()
    assert "http://" not in page.replace("http://www.w3.org", "") and "https://" not in page
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.fail("headless Chromium is needed (apt-get install -y chromium)", pytrace=False)
    dom = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                          "--window-size=1200,800", "--virtual-time-budget=5000", "--dump-dom", out.as_uri()],
                         capture_output=True, text=True, timeout=120).stdout
    doc = json.loads(run_size(go_elf("arm7"), "--format", "json").stdout)
    flash = doc["totals"]["flash"]
    assert f'id="total-flash" data-bytes="{flash}"' in dom
    assert f"({flash})" in dom
    assert dom.count('class="box"') >= 5  # the treemap drew module boxes
    ddr = json.loads(run_size(go_elf("arm7"), "--format", "json", "--board", "usbarmory-mk2").stdout)["regions"]["rows"][0]
    assert f'<span class="region" data-bytes="{ddr["used"]}">DDR: ' in dom


def test_html_placeholders_in_names_stay_text(go_elf, tmp_path):
    """The page's placeholders are filled in one pass: an ELF named ``__DATA__.elf``
    gets its name in the title, not the report's JSON."""
    elf = tmp_path / "__DATA__.elf"
    shutil.copy(go_elf("arm7"), elf)
    out = tmp_path / "size.html"
    r = run_size(elf, "--format", "html", "-o", out)
    assert r.returncode == 0, r.stderr
    page = out.read_text()
    title = page[page.index("<title>"):page.index("</title>")]
    assert "__DATA__.elf" in title and len(title) < 500
    assert page.count('"totals":') == 1
