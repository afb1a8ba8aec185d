"""tools/website.py, the helpers of the site checks and the site benchmark (issue 12: tooling
lives in tools/, takes the repository from the current directory or an argument, and the runtime
package never imports it)."""

from __future__ import annotations

import ast
import urllib.request
from pathlib import Path

import pytest

from tools import website

REPO = Path(__file__).resolve().parents[1]


def test_site_dir_is_the_environment_variable_or_the_build_under_the_given_root(tmp_path, monkeypatch):
    monkeypatch.delenv("MGIE_SITE_DIR", raising=False)
    assert website.site_dir(tmp_path) == tmp_path.resolve() / "_build" / "html"
    monkeypatch.chdir(tmp_path)
    assert website.site_dir() == tmp_path.resolve() / "_build" / "html"
    monkeypatch.setenv("MGIE_SITE_DIR", str(tmp_path / "elsewhere"))
    assert website.site_dir(REPO) == (tmp_path / "elsewhere").resolve()


def test_axe_js_is_found_under_the_given_root(tmp_path):
    assert website.axe_js(tmp_path) == tmp_path.resolve() / "web" / "node_modules" / "axe-core" / "axe.min.js"


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_site_pages_lists_html_pages_not_assets_and_chapter_pages_keeps_book(tmp_path):
    for name in ("index.html", "search.html", "book/02_attention.html", "book/01_tokens.html",
                 "_static/x.html", "_sources/y.html", "_images/z.html"):
        _write(tmp_path / name, "<html></html>")
    pages = website.site_pages(tmp_path)
    assert pages == ["book/01_tokens.html", "book/02_attention.html", "index.html", "search.html"]
    assert website.chapter_pages(pages) == ["book/01_tokens.html", "book/02_attention.html"]


@pytest.mark.parametrize("url, local", [
    ("data:image/png;base64,AAAA", True), ("blob:http://x/1", True), ("about:blank", True),
    ("http://127.0.0.1:8000/a.js", True), ("ws://localhost/x", True), ("http://[::1]:80/", True),
    ("https://cdn.jsdelivr.net/npm/mathjax", False), ("ftp://127.0.0.1/x", False),
])
def test_is_local(url, local):
    assert website.is_local(url) is local


def test_shorten_cuts_data_urls_after_their_media_type():
    assert website.shorten("data:image/png;base64," + "A" * 500) == "data:image/png,..."
    assert len(website.shorten("http://x/" + "a" * 500)) == 200


def test_serve_serves_the_folder_without_caching(tmp_path):
    _write(tmp_path / "book" / "page.html", "<p>hello</p>")
    with website.serve(tmp_path) as base:
        assert website.is_local(base)
        with urllib.request.urlopen(base + "book/page.html", timeout=10) as response:
            assert response.read() == b"<p>hello</p>"
            assert response.headers["Cache-Control"] == "no-store"


def test_browser_missing_names_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(website, "CHROMIUM", str(tmp_path / "no-chromium"))
    reason = website.browser_missing()
    assert "no-chromium" in reason and "apt-get install -y chromium" in reason


def _imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_the_runtime_package_never_imports_tools():
    sources = sorted((REPO / "mgie_lessons").rglob("*.py"))
    assert len(sources) > 30
    offenders = {str(path.relative_to(REPO)): sorted(name for name in _imported_modules(path)
                                                      if name == "tools" or name.startswith("tools."))
                 for path in sources}
    assert not {path: names for path, names in offenders.items() if names}


def test_the_tools_are_not_in_the_package():
    for name in ("website", "bench_site", "bench"):
        assert not (REPO / "mgie_lessons" / f"{name}.py").exists(), f"mgie_lessons/{name}.py is back: it lives in tools/"
