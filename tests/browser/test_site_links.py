"""Links and assets of the built site, read from the HTML files (no browser needed).

* every relative ``href``/``src`` points at a file that exists in the site, and every
  ``#fragment`` names an ``id`` (or ``<a name>``) in the target page;
* nothing a page loads by itself (scripts, stylesheets, images, frames, media, preloads)
  comes from another host: links (``<a href>``) may point anywhere, requests may not;
* MathJax is the site's own copy; no page carries widget snapshots or loads the widget manager;
* every local asset link carries the checksum of its file (the same on every build).

Parsed with ``html.parser`` from the standard library.
"""

from __future__ import annotations

import functools
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from tools.website import site_dir

REPO = Path(__file__).resolve().parents[2]

# <link rel=...> values that are navigation, not something the browser fetches.
NAVIGATION_RELS = {"index", "search", "next", "prev", "previous", "canonical", "author", "license",
                   "alternate", "help", "home", "up", "first", "last", "contents", "glossary", "copyright"}
# Attributes the browser fetches by itself when it renders the element.
FETCHED = {("script", "src"), ("img", "src"), ("iframe", "src"), ("frame", "src"), ("embed", "src"),
           ("audio", "src"), ("video", "src"), ("video", "poster"), ("source", "src"), ("track", "src"),
           ("input", "src"), ("object", "data")}


class _PageParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.references: list[tuple[str, str, str]] = []   # (tag, attribute, url)
        self.fetched: list[tuple[str, str]] = []            # (tag, url) loaded by the page itself
        self.redirect: str | None = None                     # meta refresh target

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if attributes.get("id"):
            self.ids.add(attributes["id"])
        if tag == "a" and attributes.get("name"):
            self.ids.add(attributes["name"])
        if tag == "meta" and (attributes.get("http-equiv") or "").lower() == "refresh":
            content = attributes.get("content") or ""
            if "url=" in content.lower():
                self.redirect = content[content.lower().index("url=") + 4:].strip().strip("'\"")
                self.references.append(("meta", "refresh", self.redirect))
        for name in ("href", "src", "poster", "data"):
            value = attributes.get(name)
            if value is None:
                continue
            self.references.append((tag, name, value.strip()))
            if (tag, name) in FETCHED:
                self.fetched.append((tag, value.strip()))
        if tag == "link" and attributes.get("href"):
            rels = set((attributes.get("rel") or "").lower().split())
            if not rels <= NAVIGATION_RELS:
                self.fetched.append((f"link rel={'/'.join(sorted(rels))}", attributes["href"].strip()))
        srcset = attributes.get("srcset")
        if srcset:
            for candidate in srcset.split(","):
                url = candidate.strip().split(" ")[0]
                if url:
                    self.references.append((tag, "srcset", url))
                    self.fetched.append((tag, url))


@functools.lru_cache(maxsize=None)
def parse(path: Path) -> _PageParser:
    parser = _PageParser()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    parser.close()
    return parser


def _is_external(url: str) -> bool:
    parts = urlsplit(url)
    return bool(parts.scheme and parts.scheme not in {"data", "blob"}) or url.startswith("//")


def test_internal_links_and_anchors_resolve(page):
    site = site_dir(REPO)
    source = site / page
    broken = []
    for tag, attribute, url in parse(source).references:
        parts = urlsplit(url)
        if parts.scheme or url.startswith("//") or not url or url.startswith("javascript:"):
            continue  # other hosts (links are allowed), mailto:, data:, ...
        if parts.path:
            target = (source.parent / unquote(parts.path)).resolve()
            if target.is_dir():
                target = target / "index.html"
            try:
                target.relative_to(site)
            except ValueError:
                broken.append(f"<{tag} {attribute}={url!r}>: points outside the site")
                continue
            if not target.exists():
                broken.append(f"<{tag} {attribute}={url!r}>: {target.relative_to(site)} does not exist")
                continue
        else:
            target = source
        fragment = unquote(parts.fragment)
        if fragment and target.suffix == ".html" and fragment not in parse(target).ids:
            broken.append(f"<{tag} {attribute}={url!r}>: no id {fragment!r} in {target.relative_to(site)}")
    assert not broken, f"{page}: {len(broken)} broken internal reference(s):\n  " + "\n  ".join(sorted(set(broken))[:40])


def test_page_loads_nothing_from_other_hosts(page):
    fetched = parse(site_dir(REPO) / page).fetched
    external = sorted({f"<{tag}> {url}" for tag, url in fetched if _is_external(url)})
    assert not external, f"{page} loads from other hosts:\n  " + "\n  ".join(external)


def test_mathjax_is_served_by_the_site_and_no_widget_manager(page):
    site = site_dir(REPO)
    if parse(site / page).redirect is not None:
        pytest.skip(f"{page} is a redirect page")
    scripts = [url for tag, url in parse(site / page).fetched if tag == "script"]
    names = [urlsplit(url).path for url in scripts]
    mathjax = [n for n in names if "mathjax" in n.lower()]
    assert mathjax, f"{page} does not load MathJax (expected on every page: web/mgie_site.py)"
    assert all(n.endswith("_static/mathjax/tex-mml-chtml.js") for n in mathjax), mathjax
    # Jupyter Book adds a <script> for every .js under a source folder named _static: one
    # MathJax component per page means no such folder leaked in (see web/build_assets.py).
    assert len(mathjax) == 1, f"{page} loads {len(mathjax)} MathJax scripts: {mathjax}"
    # No frozen widget snapshots (issue 9): no widget view or state, no manager, no RequireJS,
    # no Font Awesome script (web/mgie_site.py).
    html = (site / page).read_text(encoding="utf-8", errors="replace")
    for leftover in ("application/vnd.jupyter.widget-view+json", "application/vnd.jupyter.widget-state+json"):
        assert leftover not in html, f"{page} still holds {leftover} (a Jupyter panel cell without remove-cell?)"
    unwanted = [n for n in names if n.rsplit("/", 1)[-1] in {"embed-amd.js", "require.js", "fontawesome.js"}]
    assert not unwanted, f"{page} loads {unwanted}"
    for url in scripts:
        if not _is_external(url):
            assert (site / page).parent.joinpath(unquote(urlsplit(url).path)).resolve().exists(), url


def test_asset_links_carry_their_checksum(page):
    """Every local stylesheet and script link ends in ?v=<crc32 of the file>, as a second build
    writes it whatever the first one left (web/mgie_site.py; tests/browser/test_site_determinism.py)."""
    import zlib

    site = site_dir(REPO)
    wrong = []
    for tag, url in parse(site / page).fetched:
        parts = urlsplit(url)
        if parts.scheme or "_static/" not in parts.path or not parts.path.endswith((".css", ".js")):
            continue
        target = (site / page).parent.joinpath(unquote(parts.path)).resolve()
        if parts.query.startswith("digest="):
            continue  # the theme's own cache-busting (fixed in its templates)
        expected = None
        if target.exists():
            content = target.read_bytes().translate(None, b"\r")
            expected = f"v={zlib.crc32(content):08x}"
        if parts.query != expected:
            wrong.append(f"<{tag}> {url} (expected ?{expected})")
    assert not wrong, f"{page}:\n  " + "\n  ".join(wrong)


def test_no_source_folder_named_static():
    assert not (REPO / "_static").exists(), (
        "a folder named _static at the book root makes Jupyter Book add a <script> for every .js "
        "in it to every page; put site assets in web/src (see web/build_assets.py)")


def test_offline_assets_present_in_site(site):
    static = site / "_static"
    for relative in ("mathjax/tex-mml-chtml.js", "mathjax/output/chtml/fonts/woff-v2/MathJax_Main-Regular.woff",
                     "mathjax/input/tex/extensions/boldsymbol.js", "mgie/site.js", "mgie/site.css"):
        assert (static / relative).exists(), f"_static/{relative} missing: run `make web-assets` before building"
    assert not (static / "widgets").exists(), "_static/widgets/ is back: no page needs the widget manager (issue 9)"
