"""Browser checks of the built website (issue 6): fixtures shared by tests/browser/.

The site is taken from ``$MGIE_SITE_DIR`` (default ``_build/html``; ``make test`` builds it
first) and served on a free localhost port from a thread of the test session. Every page is
loaded ONCE in headless Debian Chromium (driven by Python Playwright) and everything the tests
look at is collected during that visit (:class:`PageVisit`), so each page costs one load.

Without ``/usr/bin/chromium`` or the ``playwright`` package the browser tests skip, saying
what is missing; the link and determinism tests need neither.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin

import pytest

from mgie_lessons.website import (AXE_JS, ROOT, browser_missing, chapter_pages, chromium_context,
                                  is_local, serve, site_dir, site_pages)

SCREENSHOTS = ROOT / "artifacts" / "screenshots"


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
    site = site_dir()
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

    with sync_playwright() as playwright, chromium_context(playwright) as context:
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
  const views = Array.from(document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]'));
  const rendered = (view) => {
    const area = view.previousElementSibling;
    return !!(area && area.classList.contains('widget-subarea') && area.children.length);
  };
  const start = Date.now();
  while (views.some((v) => !rendered(v)) && Date.now() - start < 15000) { await sleep(100); }
  await sleep(200);
  await mathjaxIdle();
  await document.fonts.ready;
  return {views: views.length, pending: views.filter((v) => !rendered(v)).length,
          broken: document.querySelectorAll('.jupyter-widgets-error-widget').length};
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
    staticSliders: Array.from(document.querySelectorAll('div.mgie-static input[type=range]')).map((s) => s.id),
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

SLIDER_STATE = """
(id) => {
  const slider = document.getElementById(id);
  const root = slider.closest('div.mgie-static');
  const img = root.querySelector('img');
  const output = document.getElementById(id + '-value');
  return {value: slider.value, max: slider.max, src: img.getAttribute('src'), alt: img.getAttribute('alt'),
          shown: output ? output.textContent : null};
}
"""


REFRESH = re.compile(r'<meta[^>]+http-equiv=["\']refresh["\'][^>]*content=["\'][^"\']*url=([^"\'>\s]+)', re.I)


def redirect_target(path: Path) -> str | None:
    """The URL a meta-refresh redirect page sends the reader to, or None for a normal page."""
    match = REFRESH.search(path.read_text(encoding="utf-8", errors="replace")[:4000])
    return match.group(1) if match else None


@dataclass
class SliderCheck:
    slider: str
    key: str
    before: dict
    after: dict

    @property
    def changed(self) -> bool:
        return self.after["src"] != self.before["src"] and self.after["value"] != self.before["value"]


@dataclass
class PageVisit:
    page: str
    seconds: float
    console: list = field(default_factory=list)       # (type, text, url)
    page_errors: list = field(default_factory=list)   # uncaught exceptions
    requests: list = field(default_factory=list)      # every URL the page asked for
    failed: list = field(default_factory=list)        # (url, status or failure text)
    widgets: dict = field(default_factory=dict)       # {"views": n, "pending": n}
    facts: dict = field(default_factory=dict)         # what COLLECT returned
    axe: list | None = None                           # violations, or None when axe is missing
    sliders: list = field(default_factory=list)       # SliderCheck per kernel-free slider
    screenshot: Path | None = None


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
        target = redirect_target(site_dir() / page_path)
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
        # Last, because it changes the page: move every kernel-free slider with the keyboard.
        for slider in visit.facts["staticSliders"]:
            before = page.evaluate(SLIDER_STATE, slider)
            key = "ArrowLeft" if before["value"] == before["max"] else "ArrowRight"
            page.focus(f"#{slider}")
            page.keyboard.press(key)
            page.wait_for_timeout(50)
            visit.sliders.append(SliderCheck(slider, key, before, page.evaluate(SLIDER_STATE, slider)))
    finally:
        visit.seconds = time.perf_counter() - started
        page.close()
    return visit


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
