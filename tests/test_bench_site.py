"""tools/bench_site.py: the page weights it reports (the static estimate, which needs no browser)
and its command line, run against a small site in a temporary folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tools import bench_site

THEME = "body { color: black }\n" * 50          # loaded by every page
FONT = "@font-face {}\n" * 20                    # loaded by two of the three pages


def _site(root: Path) -> Path:
    site = root / "_build" / "html"
    (site / "_static").mkdir(parents=True)
    (site / "book").mkdir()
    (site / "_static" / "theme.css").write_text(THEME)
    (site / "_static" / "font.css").write_text(FONT)
    (site / "_static" / "own.js").write_text("let x = 1;\n")
    head = '<link rel="stylesheet" href="../_static/theme.css">'
    (site / "book" / "01_a.html").write_text(head + '<link rel="stylesheet" href="../_static/font.css">')
    (site / "book" / "02_b.html").write_text(head + '<link rel="stylesheet" href="../_static/font.css">'
                                             '<script src="../_static/own.js"></script>'
                                             '<img src="https://example.org/remote.png">')
    (site / "search.html").write_text('<link rel="stylesheet" href="_static/theme.css">')
    (site / "index.html").write_text('<meta http-equiv="refresh" content="0; url=book/01_a.html">')
    return site


@pytest.fixture
def no_browser(monkeypatch):
    monkeypatch.setattr(bench_site, "browser_missing", lambda: "no browser in this test")


def test_page_weights_from_the_html_count_shared_and_reused_assets(tmp_path, no_browser):
    site = _site(tmp_path)
    weights = bench_site.page_weights(site)
    assert weights["method"] == "static estimate (no browser in this test)"
    assert weights["shared_files"] == ["_static/theme.css"]
    assert weights["reused_files"] == ["_static/font.css", "_static/theme.css"]
    assert weights["chapters"] == ["book/01_a.html", "book/02_b.html"]
    rows = {row["page"]: row for row in weights["pages"]}
    assert set(rows) == {"book/01_a.html", "book/02_b.html", "search.html"}   # index.html only redirects
    page = rows["book/02_b.html"]
    html = (site / "book" / "02_b.html").stat().st_size
    assert page["requests"] == 4                                             # itself, two stylesheets, one script
    assert page["total_bytes"] == html + len(THEME) + len(FONT) + len("let x = 1;\n")
    assert page["without_shared_bytes"] == html + len(FONT) + len("let x = 1;\n")
    assert page["own_bytes"] == html + len("let x = 1;\n")


def test_main_measures_a_given_site_and_writes_json_from_any_folder(tmp_path, no_browser, monkeypatch, capsys):
    site = _site(tmp_path / "repo")
    monkeypatch.chdir(tmp_path)                                              # no _toc.yml here: not needed
    out = tmp_path / "figures" / "bench.json"
    assert bench_site.main(["--site", str(site), "--skip-nbval", "--json", str(out)]) == 0
    figures = json.loads(out.read_text())
    assert figures["largest_chapter"]["page"] == "book/02_b.html"
    assert figures["heaviest_page"]["page"] == "book/02_b.html"
    assert "largest chapter page without shared assets: book/02_b.html" in capsys.readouterr().out


def test_main_refuses_a_folder_that_is_not_the_repository(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit):
        bench_site.main(["--skip-nbval"])
    assert "has no _toc.yml" in capsys.readouterr().err
