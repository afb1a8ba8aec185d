"""Browser checks of the built website (issue 6): fixtures shared by tests/browser/.

The site is taken from ``$MGIE_SITE_DIR`` (default ``_build/html``; ``make test`` builds it
first) and served on a free localhost port from a thread of the test session. Every page is
loaded ONCE in headless Debian Chromium (driven by Python Playwright) and everything the tests
look at is collected during that visit (:class:`PageVisit`), so each page costs one load: what
it requested (and so what it weighs), console messages, facts about math, images and controls,
axe-core's findings, a screenshot and, last because it changes the page, what each visible
control of the page content does when it is operated (:data:`PROBE_CONTROLS`). At the end the
session prints a table of every page's weight, dead controls and explorer controls.

Without ``/usr/bin/chromium`` or the ``playwright`` package the browser tests skip, saying
what is missing; the link and determinism tests need neither.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest

from tools.website import (axe_js, browser_missing, chapter_pages, chromium_context, is_local, serve,
                           site_dir, site_pages)

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "artifacts" / "screenshots"
AXE_JS = axe_js(REPO)


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes minutes (builds the site); run by `make test` "
                                       "with MGIE_RUN_SLOW=1")


def pytest_collection_modifyitems(config, items):
    if os.environ.get("MGIE_RUN_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow (builds the site twice): set MGIE_RUN_SLOW=1 or run `make test`")
    here = Path(__file__).parent
    for item in items:
        if "slow" in item.keywords and here in Path(item.path).parents:
            item.add_marker(skip)


def _site_or_reason() -> tuple[Path, str | None]:
    site = site_dir(REPO)
    if not (site / "index.html").exists():
        return site, f"no built site at {site}: run `make book` (or set MGIE_SITE_DIR)"
    return site, None


def pytest_generate_tests(metafunc):
    """Parametrize ``page`` over every page and ``chapter`` over every chapter page."""
    for name, select in (("page", lambda pages: pages), ("chapter", chapter_pages)):
        if name not in metafunc.fixturenames:
            continue
        site, reason = _site_or_reason()
        pages = [] if reason else select(site_pages(site))
        if not pages:
            why = reason or f"the site at {site} has no {name} pages"
            metafunc.parametrize(name, [pytest.param(None, marks=pytest.mark.skip(reason=why))], ids=["none"])
        else:
            metafunc.parametrize(name, pages, ids=pages)


@pytest.fixture(scope="session")
def site() -> Path:
    path, reason = _site_or_reason()
    if reason:
        pytest.skip(reason)
    return path


@pytest.fixture(scope="session")
def base_url(site):
    with serve(site) as url:
        yield url


@pytest.fixture(scope="session")
def browser_context(base_url):
    reason = browser_missing()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    # Clipboard access lets the code cells' copy buttons do their job (and show "Copied!").
    with sync_playwright() as playwright, chromium_context(
            playwright, permissions=["clipboard-read", "clipboard-write"]) as context:
        context.external_requests = []

        def guard(route):
            # Record and refuse anything that would leave this machine (the tests also see it
            # through the page's request log); local requests go through untouched.
            if is_local(route.request.url):
                route.continue_()
            else:
                context.external_requests.append(route.request.url)
                route.abort()

        context.route("**/*", guard)
        yield context


# --- what one visit collects ------------------------------------------------------------------

WAIT_FOR_PAGE = """
async () => {
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const mathjaxIdle = async () => {
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  };
  await mathjaxIdle();
  await sleep(200);
  await mathjaxIdle();
  await document.fonts.ready;
  return {views: document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]').length,
          explorers: Array.from(document.querySelectorAll('div.mgie-explorer')).filter((e) => !e.getAttribute('data-ready')).length};
}
"""

COLLECT = r"""
() => {
  const short = (el) => el.outerHTML.replace(/data:[^"']{60,}/g, 'data:...').slice(0, 240);
  const SKIP = 'pre, code, script, style, textarea, mjx-container, mjx-assistive-mml, .highlight';

  // Math: every Sphinx/MyST math node holds MathJax output, and no TeX delimiters are left in
  // the visible text (code excluded).
  const mathNodes = Array.from(document.querySelectorAll('span.math, div.math'));
  const untypeset = mathNodes.filter((el) => !el.querySelector('mjx-container')).map(short);
  const rawTex = [];
  const widgetDollars = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const parent = node.parentElement;
    if (!parent || parent.closest(SKIP) || !parent.checkVisibility()) continue;
    const text = node.nodeValue;
    if (/\\\(|\\\[|\$\$/.test(text)) rawTex.push(text.trim().slice(0, 160));
    if (parent.closest('.jupyter-widgets') && /\$[^$\s][^$]*\$/.test(text)) widgetDollars.push(text.trim().slice(0, 160));
  }

  // Images: alt text (an empty alt only for images marked decorative).
  const images = Array.from(document.querySelectorAll('img'));
  const noAlt = images.filter((img) => {
    const alt = img.getAttribute('alt');
    if (alt !== null && alt.trim()) return false;
    const decorative = alt === '' && (img.getAttribute('role') === 'presentation' || img.getAttribute('aria-hidden') === 'true');
    return !decorative;
  }).map(short);

  // Controls: an accessible name from <label>, aria-label(ledby), title or (buttons) text.
  const named = (el) => {
    if ((el.getAttribute('aria-label') || '').trim()) return true;
    const by = el.getAttribute('aria-labelledby');
    if (by && by.split(/\s+/).some((id) => { const t = document.getElementById(id); return t && t.textContent.trim(); })) return true;
    if (el.labels && Array.from(el.labels).some((l) => l.textContent.trim())) return true;
    if ((el.getAttribute('title') || '').trim()) return true;
    if (el.tagName === 'BUTTON' && el.textContent.trim()) return true;
    if (el.tagName === 'INPUT' && ['button', 'submit', 'reset'].includes(el.type) && (el.value || '').trim()) return true;
    if (el.tagName === 'INPUT' && el.type === 'image' && (el.alt || '').trim()) return true;
    return false;
  };
  const controls = Array.from(document.querySelectorAll('input, select, textarea, button'))
    .filter((el) => !(el.tagName === 'INPUT' && el.type === 'hidden'));
  const unlabelled = controls.filter((el) => !named(el)).map(short);

  return {
    mathNodes: mathNodes.length,
    mjx: document.querySelectorAll('mjx-container').length,
    untypeset, rawTex, widgetDollars,
    images: images.length, noAlt,
    controls: controls.length, unlabelled,
    explorers: Array.from(document.querySelectorAll('div.mgie-explorer')).map((root) => {
      const spec = JSON.parse(document.getElementById(root.id + '-data').textContent);
      const rows = Array.from(root.querySelectorAll('.mgie-explorer-row'));
      return {id: root.id, bytes: root.outerHTML.length,
              params: spec.params.map((p) => ({name: p.name, kind: p.kind, values: p.values.length, covers: p.covers})),
              shown: rows.filter((r) => r.checkVisibility()).length,
              scripts: spec.views.filter((v) => v.type === 'script').length,
              frames: spec.views.filter((v) => v.type === 'frames').reduce((n, v) => n + v.frames.length, 0)};
    }),
  };
}
"""

RUN_AXE = """
async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ') + ' :: ' + n.html.replace(/data:[^"']{60,}/g, 'data:...').slice(0, 200)),
    count: v.nodes.length,
  }));
}
"""

# The content whose controls must all do something: the theme's article element (the header
# bar, sidebars and search are theme navigation, outside it; the search page's own search form
# is navigation too). Every visible input, select, textarea and button in it is tagged with
# data-mgie-probe so Playwright can operate it.
PROBE_CONTROLS = """
() => {
  const root = document.querySelector('article.bd-article');
  if (!root) return [];
  const controls = Array.from(root.querySelectorAll('input, select, textarea, button'))
    .filter((el) => !(el.tagName === 'INPUT' && el.type === 'hidden') && el.checkVisibility() && !el.disabled
                    && !el.closest('form[role="search"], .bd-search, #search-documentation'));
  return controls.map((el, i) => {
    el.setAttribute('data-mgie-probe', String(i));
    const kind = el.tagName === 'INPUT' ? el.type : el.tagName.toLowerCase();
    return {index: i, kind: kind, id: el.id, label: (el.getAttribute('aria-label') || (el.labels && el.labels[0] && el.labels[0].textContent)
            || el.textContent || el.className || '').trim().slice(0, 60),
            max: el.max || null, value: el.value, options: el.tagName === 'SELECT' ? el.options.length : 0,
            explorer: el.closest('div.mgie-explorer') ? el.closest('div.mgie-explorer').id : null};
  });
}
"""

# What the reader sees around a control, as a short fingerprint: the markup of the explorer (or
# code cell, or section) the control sits in, without the control readouts (<output> and
# aria-valuetext echo the control that moved). Input values are properties, not markup, so only
# the effects of operating a control show up here.
SNAPSHOT_JS = """
() => { window.mgieSnapshot = (el) => {
  const root = el.closest('div.mgie-explorer, div.cell, section, article') || document.body;
  const copy = root.cloneNode(true);
  copy.querySelectorAll('output').forEach((o) => o.remove());
  copy.querySelectorAll('[aria-valuetext]').forEach((e) => e.removeAttribute('aria-valuetext'));
  copy.querySelectorAll('[data-mgie-probe]').forEach((e) => e.removeAttribute('data-mgie-probe'));
  const text = copy.innerHTML;
  let hash = 2166136261;
  for (let i = 0; i < text.length; i++) { hash ^= text.charCodeAt(i); hash = Math.imul(hash, 16777619); }
  return text.length + ':' + (hash >>> 0);
}; }
"""
SNAPSHOT = "(index) => window.mgieSnapshot(document.querySelector(`[data-mgie-probe=\"${index}\"]`))"

# Buttons outside the explorers (copy buttons of code cells, toggles of solutions), clicked in
# the page itself: there are dozens per chapter.
CLICK_BUTTONS = """
async (indices) => {
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const out = {};
  for (const index of indices) {
    const el = document.querySelector(`[data-mgie-probe="${index}"]`);
    const before = window.mgieSnapshot(el);
    el.click();
    let alive = false;
    for (const wait of [30, 300]) {
      await sleep(wait);
      if (window.mgieSnapshot(el) !== before) { alive = true; break; }
    }
    out[index] = alive;
  }
  return out;
}
"""


REFRESH = re.compile(r'<meta[^>]+http-equiv=["\']refresh["\'][^>]*content=["\'][^"\']*url=([^"\'>\s]+)', re.I)


def redirect_target(path: Path) -> str | None:
    """The URL a meta-refresh redirect page sends the reader to, or None for a normal page."""
    match = REFRESH.search(path.read_text(encoding="utf-8", errors="replace")[:4000])
    return match.group(1) if match else None


@dataclass
class ControlCheck:
    """A visible control of the page content and whether operating it changed what is shown."""

    kind: str
    label: str
    explorer: str | None
    alive: bool
    how: str


@dataclass
class PageVisit:
    page: str
    seconds: float
    console: list = field(default_factory=list)       # (type, text, url)
    page_errors: list = field(default_factory=list)   # uncaught exceptions
    requests: list = field(default_factory=list)      # every URL the page asked for
    failed: list = field(default_factory=list)        # (url, status or failure text)
    widgets: dict = field(default_factory=dict)       # {"views": n widget views left, "explorers": n not started}
    facts: dict = field(default_factory=dict)         # what COLLECT returned
    axe: list | None = None                           # violations, or None when axe is missing
    controls: list = field(default_factory=list)      # ControlCheck per visible control of the content
    screenshot: Path | None = None

    @property
    def dead(self) -> list:
        return [check for check in self.controls if not check.alive]

    def weight(self, site: Path, base_url: str) -> tuple[int, int]:
        """(bytes, files): every local file the page requested (itself included), once each.

        The server sends ``Cache-Control: no-store``, so this is what a first visit transfers;
        data: URLs are inside the HTML already."""
        files = set()
        for url in self.requests:
            if url.startswith(base_url):
                path = site / unquote(urlsplit(url).path).lstrip("/")
                path = path / "index.html" if path.is_dir() else path
                if path.is_file():
                    files.add(path)
        return sum(p.stat().st_size for p in files), len(files)


def _changed(page, index: int, before: str, wait_ms: int = 40) -> bool:
    page.wait_for_timeout(wait_ms)
    return page.evaluate(SNAPSHOT, index) != before


def probe_controls(page) -> list:
    """Operate each visible control of the content as a reader would and record whether what is
    shown around it changed. An explorer's controls are operated with the keyboard and mouse, each
    from the explorer's starting values (a slider: one arrow key, then End and Home; a checkbox: a
    click; a list: each other option in turn), and the explorer is put back afterwards; the other
    buttons (copy buttons, solution toggles) are clicked in the page."""
    page.evaluate(SNAPSHOT_JS)
    controls = page.evaluate(PROBE_CONTROLS)
    starts = page.evaluate("() => Object.fromEntries(Object.entries(window.mgieExplorers || {})"
                           ".map(([id, e]) => [id, e.values()]))")
    buttons = [c["index"] for c in controls if c["explorer"] is None and c["kind"] in {"submit", "button", "reset"}]
    clicked = page.evaluate(CLICK_BUTTONS, buttons) if buttons else {}
    checks = []
    for control in controls:
        index, kind = control["index"], control["kind"]
        if str(index) in clicked:
            checks.append(ControlCheck(kind, control["label"], None, clicked[str(index)], "click"))
            continue
        locator = page.locator(f'[data-mgie-probe="{index}"]')
        before = page.evaluate(SNAPSHOT, index)
        alive, how = False, ""
        try:
            if kind == "range":
                first = "ArrowLeft" if control["value"] == control["max"] else "ArrowRight"
                locator.focus()
                for key in (first, "End", "Home"):
                    page.keyboard.press(key)
                    how = key
                    if _changed(page, index, before):
                        alive = True
                        break
            elif kind in {"checkbox", "radio"}:
                locator.click()
                how = "click"
                alive = _changed(page, index, before)
            elif kind == "select":
                for option in range(control["options"]):
                    if str(option) == control["value"]:
                        continue
                    locator.select_option(index=option)
                    how = f"option {option}"
                    if _changed(page, index, before):
                        alive = True
                        break
            elif kind in {"text", "textarea", "number", "search"}:
                locator.fill((control["value"] or "") + "1")
                how = "typed"
                alive = _changed(page, index, before)
            else:
                locator.click()
                how = "click"
                alive = _changed(page, index, before)
            if not alive:
                alive = _changed(page, index, before, wait_ms=300)
        except Exception as error:  # noqa: BLE001 - a control that cannot be operated is reported as dead
            how = f"{how} failed: {str(error).splitlines()[0]}".strip()
        if control["explorer"] in starts:
            page.evaluate("([id, values]) => window.mgieExplorers[id].set(values)",
                          [control["explorer"], starts[control["explorer"]]])
        checks.append(ControlCheck(kind, control["label"], control["explorer"], alive, how))
    return checks


def _visit(context, base_url: str, page_path: str) -> PageVisit:
    page = context.new_page()
    started = time.perf_counter()
    visit = PageVisit(page=page_path, seconds=0.0)
    page.on("console", lambda m: visit.console.append((m.type, m.text, m.location.get("url", ""))))
    page.on("pageerror", lambda e: visit.page_errors.append(str(e)))
    page.on("request", lambda r: visit.requests.append(r.url))
    page.on("requestfailed", lambda r: visit.failed.append((r.url, r.failure)))
    page.on("response", lambda r: r.status >= 400 and visit.failed.append((r.url, r.status)))
    try:
        page.goto(base_url + page_path, wait_until="load", timeout=60_000)
        target = redirect_target(site_dir(REPO) / page_path)
        if target is not None:
            # index.html is a meta-refresh redirect to the first chapter: check the page the
            # reader lands on (the redirect itself is checked by the link test).
            page.wait_for_url(urljoin(base_url + page_path, target), wait_until="load", timeout=30_000)
        visit.widgets = page.evaluate(WAIT_FOR_PAGE)
        try:
            page.wait_for_load_state("networkidle", timeout=10_000)
        except Exception:  # noqa: BLE001 - a page that keeps loading is reported by the request tests
            pass
        visit.facts = page.evaluate(COLLECT)
        if page_path.startswith("book/"):
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            visit.screenshot = SCREENSHOTS / (page_path.replace("/", "__").removesuffix(".html") + ".png")
            page.screenshot(path=str(visit.screenshot), full_page=True)
        if AXE_JS.exists():
            page.add_script_tag(content=AXE_JS.read_text(encoding="utf-8"))
            visit.axe = page.evaluate(RUN_AXE)
        # Last, because it changes the page: operate every visible control of the content.
        visit.controls = probe_controls(page)
    finally:
        visit.seconds = time.perf_counter() - started
        page.close()
    return visit


#: Filled by the tests (page -> figures) and printed as one table at the end of the session.
REPORT: dict[str, dict] = {}


@pytest.fixture(scope="session")
def report() -> dict:
    """The table printed at the end of the session: tests add their figures per page."""
    return REPORT


def pytest_terminal_summary(terminalreporter):
    if not REPORT:
        return
    write = terminalreporter.write_line
    write("")
    write("website figures (issue 9): weight = every file a first visit transfers, shared assets included")
    write(f"  {'page':30} {'weight':>8} {'files':>5} {'controls':>8} {'dead':>4} {'explorer':>8} "
          f"{'panel':>5} {'explorer KB':>11} {'computed':>8}")
    for page in sorted(REPORT):
        row = REPORT[page]
        explorer = row.get("explorer_controls")
        explorer_text = "" if explorer is None else str(explorer)
        kilobytes = "" if explorer is None else f"{row.get('explorer_bytes', 0) / 1e3:.0f}"
        write(f"  {page:30} {row.get('weight', 0) / 1e6:6.2f}MB {row.get('files', 0):5d} {row.get('controls', 0):8d} "
              f"{row.get('dead', 0):4d} {explorer_text:>8} {str(row.get('panel', '')):>5} "
              f"{kilobytes:>11} {row.get('computed', ''):>8}")
    write("  controls: visible inputs/selects/buttons of the article; dead: those that changed nothing; explorer: "
          "its controls (all parameters); panel: the Jupyter panel's controls it covers; computed: in the page "
          "(script) or precomputed frames")


@pytest.fixture(scope="session")
def visits(browser_context, base_url):
    """``visits(page) -> PageVisit``; each page is loaded once per session."""
    cache: dict[str, PageVisit] = {}

    def get(page_path: str) -> PageVisit:
        if page_path not in cache:
            cache[page_path] = _visit(browser_context, base_url, page_path)
        return cache[page_path]

    get.cache = cache
    return get
