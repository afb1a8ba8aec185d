"""Every page of the built site, loaded in headless Chromium with only localhost reachable.

One load per page (see ``visits`` in conftest.py); each test reads one aspect of it:
console errors, requests leaving localhost, no widget snapshots, the page's weight (under 5 MB
with every shared asset), no dead controls (every visible control of the content changes what
is shown), MathJax output, axe-core, alt text, control labels, and a screenshot of each chapter
(artifacts/screenshots/, gitignored). The explorers are checked further in test_site_explorers.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tools.website import axe_js, is_local, shorten

AXE_JS = axe_js(Path(__file__).resolve().parents[2])

# Console messages that are known and harmless, each with its reason. Anything else logged at
# error level (or thrown and not caught) fails the page.
ALLOWED_CONSOLE_ERRORS = [
    # sphinx-thebe adds its configuration script (`const THEBE_JS_URL = ...`) twice to every
    # page under Jupyter Book 1.x, so the second copy throws a SyntaxError. Thebe itself is off
    # (launch_buttons.thebe: false) and only loads on a click, so nothing depends on it.
    (re.compile(r"Identifier 'THEBE_JS_URL' has already been declared"), "sphinx-thebe declares its config twice"),
]


def _not_allowed(message: str) -> bool:
    return not any(pattern.search(message) for pattern, _reason in ALLOWED_CONSOLE_ERRORS)


def test_page_has_no_console_errors(page, visits):
    visit = visits(page)
    problems = [f"console.{kind}: {text} ({url})" for kind, text, url in visit.console
                if kind in {"error", "assert"} and _not_allowed(text)]
    problems += [f"uncaught: {error}" for error in visit.page_errors if _not_allowed(error)]
    problems += [f"failed request: {shorten(url)} -> {why}" for url, why in visit.failed
                 if is_local(url)]
    assert not problems, f"{page}:\n  " + "\n  ".join(problems)


def test_no_request_leaves_localhost(page, visits, browser_context):
    visit = visits(page)
    external = sorted({url for url in visit.requests if not is_local(url)})
    assert not external, f"{page} asked for {len(external)} URL(s) off this machine:\n  " + "\n  ".join(
        shorten(url) for url in external)


#: Issue 9: every page transfers less than this on a first visit, shared assets included.
PAGE_BUDGET_BYTES = 5_000_000


def test_no_widget_snapshots(page, visits):
    widgets = visits(page).widgets
    assert widgets.get("views", 0) == 0, (
        f"{page}: {widgets['views']} frozen widget view(s) on the page; tag the panel's cell remove-cell "
        "(the explorer is the website's Explore)")
    assert widgets.get("explorers", 0) == 0, f"{page}: {widgets['explorers']} explorer(s) did not start (script error?)"


def test_page_weighs_under_5_mb(page, visits, site, base_url, report):
    weight, files = visits(page).weight(site, base_url)
    report.setdefault(page, {}).update(weight=weight, files=files)
    assert weight < PAGE_BUDGET_BYTES, (f"{page} transfers {weight / 1e6:.2f} MB in {files} files on a first visit "
                                        f"(budget {PAGE_BUDGET_BYTES / 1e6:.0f} MB, shared assets included)")


def test_no_dead_controls(page, visits, report):
    visit = visits(page)
    report.setdefault(page, {}).update(controls=len(visit.controls), dead=len(visit.dead))
    assert not visit.dead, f"{page}: {len(visit.dead)} of {len(visit.controls)} visible controls change nothing:\n  " + \
        "\n  ".join(f"{c.kind} {c.label!r}" + (f" in #{c.explorer}" if c.explorer else "") + f" ({c.how})"
                     for c in visit.dead[:20])


def test_math_is_typeset(page, visits):
    facts = visits(page).facts
    if facts["mathNodes"]:
        assert facts["mjx"] > 0, f"{page} has {facts['mathNodes']} math nodes but no MathJax output"
    assert not facts["untypeset"], f"{page}: math nodes without MathJax output:\n  " + "\n  ".join(facts["untypeset"][:10])
    assert not facts["rawTex"], f"{page}: raw TeX delimiters in the visible text:\n  " + "\n  ".join(facts["rawTex"][:10])
    assert not facts["widgetDollars"], f"{page}: untypeset $...$ in widgets:\n  " + "\n  ".join(facts["widgetDollars"][:10])


def test_axe_finds_no_critical_or_serious_violation(page, visits):
    if not AXE_JS.exists():
        pytest.skip(f"{AXE_JS} is missing: run `make web-assets` (npm ci in web/)")
    violations = [v for v in visits(page).axe if v["impact"] in {"critical", "serious"}]
    report = [f"[{v['impact']}] {v['id']}: {v['help']} ({v['count']} node(s))\n      " + "\n      ".join(v["nodes"])
              for v in violations]
    assert not violations, f"{page}:\n  " + "\n  ".join(report)


def test_every_image_has_alt_text(page, visits):
    facts = visits(page).facts
    assert not facts["noAlt"], f"{page}: {len(facts['noAlt'])} of {facts['images']} images without alt text:\n  " + \
        "\n  ".join(facts["noAlt"][:10])


def test_every_control_has_a_label(page, visits):
    facts = visits(page).facts
    assert not facts["unlabelled"], f"{page}: {len(facts['unlabelled'])} of {facts['controls']} controls without a label:\n  " + \
        "\n  ".join(facts["unlabelled"][:10])


def test_chapter_screenshot_saved(chapter, visits):
    visit = visits(chapter)
    assert visit.screenshot is not None and visit.screenshot.stat().st_size > 1000, \
        f"no screenshot of {chapter} under artifacts/screenshots/"
