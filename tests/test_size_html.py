"""The HTML treemap in a real browser: Debian's Chromium, driven headless by Playwright
(the PyPI ``playwright`` package, pointed at /usr/bin/chromium: no browser download).

Each view (flash, RAM, file) must draw labelled boxes, search must mark matching boxes,
a click must zoom in and the breadcrumb out, the summary tables must be there, and the
page must load nothing but itself. With ``IMGTOOL_WRITE_SCREENSHOTS=1`` the screenshots
of the three views are written to docs/images/ (the README shows them)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from test_gopclntab import run_size

DOCS = Path(__file__).resolve().parents[1] / "docs" / "images"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the playwright package is needed (pip install -e '.[test]')", pytrace=False)
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.fail("Debian's chromium is needed (scripts/setup.sh installs it)", pytrace=False)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=ARGS, headless=True)
        yield b
        b.close()


def _page(browser, path: Path):
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    problems, requests = [], []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)

    def route(r):
        requests.append(r.request.url)
        r.continue_() if r.request.url.startswith("file://") else r.abort()

    page.route("**/*", route)
    page.goto(path.as_uri())
    return page, problems, requests


def _labels(page) -> list[str]:
    return page.locator(".box[data-label]").all_text_contents()


@pytest.mark.parametrize("name", ["arm7", "arm64"])
def test_treemap_views_search_zoom(go_elf, browser, tmp_path, name):
    out = tmp_path / "size.html"
    r = run_size(go_elf(name), "--format", "html", "-o", out)
    assert r.returncode == 0, r.stderr
    doc = json.loads(run_size(go_elf(name), "--format", "json").stdout)
    page, problems, requests = _page(browser, out)
    assert page.get_attribute("#view-flash", "aria-pressed") == "true"  # opens on flash
    shots = DOCS if os.environ.get("IMGTOOL_WRITE_SCREENSHOTS") == "1" and name == "arm7" else tmp_path
    shots.mkdir(parents=True, exist_ok=True)
    expect = {"flash": "runtime", "ram": "drbg.memory", "file": ".debug_info"}
    for view in ("flash", "ram", "file"):
        page.click(f"#view-{view}")
        labels = _labels(page)
        assert labels, f"the {view} view drew no labelled box"
        assert any(expect[view] in x for x in labels), (view, labels[:20])
        assert all(" B" in x or "iB" in x for x in labels)  # name and size
        page.screenshot(path=str(shots / f"size-treemap-{view}.png"))
    page.click("#view-ram")
    assert any("(bss)" in x for x in _labels(page))  # BSS shown as what it is
    # the flash view's root is the flash total
    page.click("#view-flash")
    crumb = page.locator("#crumbs a").first.text_content()
    assert crumb.startswith("flash (") and f"{doc['totals']['flash'] / 1048576:.2f} MiB" in crumb
    # search marks boxes, and counts matches in the whole tree
    page.fill("#search", "net/http")
    assert page.locator(".box[data-hit]").count() >= 1 and "matches" in page.text_content("#hits")
    page.fill("#search", "")
    assert page.locator(".box[data-hit]").count() == 0
    # zoom into the runtime package, then out with the breadcrumb
    page.locator('.box[data-group][data-name="runtime"]').first.click(position={"x": 4, "y": 4})  # its header
    assert [a.split(" (")[0] for a in page.locator("#crumbs a").all_text_contents()][-1] == "runtime"
    assert any(x.startswith("runtime.") for x in _labels(page))
    page.locator("#crumbs a").first.click()
    assert page.locator("#crumbs a").count() == 1
    # summary tables: top packages and the largest symbols of each view
    assert page.locator("#top-packages tr").count() > 10
    assert "crypto/internal/fips140/drbg.memory" in page.text_content("#largest-ram")
    for view in ("flash", "ram", "file"):
        assert page.locator(f"#largest-{view} tr").count() > 5
    assert problems == [] and all(u.startswith("file://") for u in requests), (problems, requests)
    page.close()
