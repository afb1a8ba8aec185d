"""Benchmark the website: build times, nbval time and what each page transfers.

Run ``python -m tools.bench_site`` from the repository root (or ``make bench-site``, part of
``make bench``); ``--root`` names another checkout.

1. **Clean build with execution**: ``jupyter-book build --all`` into a new temporary output
   folder, so every notebook is executed (the execution cache lives in the output folder).
2. **Cached rebuild**: the same command again on that folder: nothing is executed, every page is
   written again (what ``make book`` does after a change).
3. **nbval**: ``pytest --nbval`` over every notebook, as ``make nbval`` runs it.
4. **Page weight**: every page of the freshly built site is loaded in headless Chromium from a
   localhost server; each URL it requests is counted once with the size of the file served
   (data: URLs are inside the HTML already). The table shows each page's total, the total
   without the assets EVERY page loads (theme, MathJax, site scripts), and the total without
   every asset that at least two pages load (which adds fonts: a browser fetches them once for
   the whole site), i.e. the page's own HTML, figures and data (its explorer included).
   Without Chromium or Playwright the sizes come from the HTML alone (scripts, stylesheets and
   images it names), marked as a static estimate.

Targets on the 2-core machine (issue 6): clean build <= 90 s, cached rebuild <= 15 s, largest
chapter page <= 2 MB excluding shared assets; issue 9: every page < 5 MB in all, shared assets
included (the browser tests assert it). This is a benchmark, not a test: it prints figures
to quote (and writes them as JSON with ``--json``); it fails nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

from tools.website import browser_missing, chapter_pages, chromium_context, serve, site_pages

TARGET_CLEAN_S = 90.0
TARGET_CACHED_S = 15.0
TARGET_PAGE_BYTES = 2_000_000
TARGET_TOTAL_BYTES = 5_000_000
NBVAL_FLAGS = ["--nbval", "--nbval-current-env", "--nbval-sanitize-with", "tests/nbval_sanitize.cfg",
               "-p", "no:randomly", "-q"]


def _bin(name: str) -> str:
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else name


def _timed(command: list[str], root: Path, log: Path) -> tuple[float, int]:
    started = time.perf_counter()
    with log.open("w") as out:
        result = subprocess.run(command, cwd=root, stdout=out, stderr=subprocess.STDOUT,
                                env={**os.environ, "MPLBACKEND": "Agg"})
    return time.perf_counter() - started, result.returncode


def build(root: Path, output: Path, toc: str | None, log: Path) -> tuple[float, int]:
    """Time ``jupyter-book build --all`` of the book at ``root`` into ``output``."""
    command = [_bin("jupyter-book"), "build", "--all", "--path-output", str(output)]
    if toc:
        command += ["--toc", toc]
    return _timed(command + ["."], root, log)


def nbval(root: Path, log: Path) -> tuple[float, int]:
    """Time nbval over every notebook of ``root/book``, as ``make nbval`` runs it."""
    notebooks = sorted(str(p.relative_to(root)) for p in (root / "book").glob("*.ipynb"))
    return _timed([sys.executable, "-m", "pytest", *NBVAL_FLAGS, *notebooks], root, log)


# --- page weight ------------------------------------------------------------------------------

def _file_for(url: str, base: str, site: Path) -> Path | None:
    if not url.startswith(base):
        return None
    path = site / unquote(urlsplit(url).path).lstrip("/")
    return path / "index.html" if path.is_dir() else path


def _loaded_by_browser(site: Path, pages: list[str]) -> dict[str, set[str]]:
    """page -> every site-relative file it made the browser request (itself included)."""
    from playwright.sync_api import sync_playwright

    loads: dict[str, set[str]] = {}
    with serve(site) as base, sync_playwright() as playwright, chromium_context(playwright) as context:
        for page_path in pages:
            requested: list[str] = []
            page = context.new_page()
            page.on("request", lambda request: requested.append(request.url))
            page.goto(base + page_path, wait_until="load", timeout=60_000)
            try:
                page.wait_for_load_state("networkidle", timeout=15_000)
            except Exception:  # noqa: BLE001 - report what was loaded so far
                pass
            page.close()
            files = set()
            for url in requested:
                path = _file_for(url, base, site)
                if path is not None and path.is_file():
                    files.add(path.relative_to(site).as_posix())
            loads[page_path] = files
    return loads


class _Assets(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag in {"script", "img"} and attributes.get("src"):
            self.urls.append(attributes["src"])
        if tag == "link" and "stylesheet" in (attributes.get("rel") or "") and attributes.get("href"):
            self.urls.append(attributes["href"])


def _loaded_by_html(site: Path, pages: list[str]) -> dict[str, set[str]]:
    loads = {}
    for page_path in pages:
        parser = _Assets()
        parser.feed((site / page_path).read_text(encoding="utf-8", errors="replace"))
        files = {page_path}
        for url in parser.urls:
            if urlsplit(url).scheme:
                continue
            path = (site / urljoin(page_path, unquote(urlsplit(url).path))).resolve()
            if path.is_file():
                files.add(path.relative_to(site.resolve()).as_posix())
        loads[page_path] = files
    return loads


def page_weights(site: Path) -> dict:
    pages = [p for p in site_pages(site) if p != "index.html"]   # index.html only redirects
    reason = browser_missing()
    loads = _loaded_by_html(site, pages) if reason else _loaded_by_browser(site, pages)
    # Assets every page loads (theme, MathJax, site scripts), and assets at least two pages load
    # (adds fonts): a browser fetches either once for the whole site.
    shared = set.intersection(*(files - {page} for page, files in loads.items())) if loads else set()
    users: dict[str, int] = {}
    for page, files in loads.items():
        for name in files - {page}:
            users[name] = users.get(name, 0) + 1
    reused = {name for name, count in users.items() if count > 1}

    def size(files):
        return sum((site / f).stat().st_size for f in files)

    rows = []
    for page, files in loads.items():
        rows.append({"page": page, "html_bytes": (site / page).stat().st_size, "requests": len(files),
                     "total_bytes": size(files), "without_shared_bytes": size(files - shared),
                     "own_bytes": size(files - reused)})
    return {"method": f"static estimate ({reason})" if reason else "headless Chromium",
            "shared_files": sorted(shared), "shared_bytes": size(shared),
            "reused_files": sorted(reused), "reused_bytes": size(reused), "pages": rows,
            "chapters": chapter_pages(pages)}


# --- report -----------------------------------------------------------------------------------

def _mark(ok: bool) -> str:
    return "ok" if ok else "OVER TARGET"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=".", help="the repository to build (default: the current directory)")
    parser.add_argument("--toc", help="a _toc.yml to build with instead of the book's (development)")
    parser.add_argument("--skip-nbval", action="store_true", help="do not time nbval")
    parser.add_argument("--site", help="measure page weights of this built site and skip the builds")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    parser.add_argument("--keep", action="store_true", help="keep the temporary build folder")
    args = parser.parse_args(argv)

    root = Path(args.root).resolve()
    if not (args.site and args.skip_nbval) and not (root / "_toc.yml").exists():
        parser.error(f"{root} has no _toc.yml: run from the repository root or pass --root")
    results: dict = {"cpus": os.cpu_count()}
    workdir = Path(tempfile.mkdtemp(prefix="mgie-bench-site-"))
    try:
        if args.site:
            site = Path(args.site).resolve()
        else:
            output = workdir / "out"
            clean_s, clean_rc = build(root, output, args.toc, workdir / "clean-build.log")
            cached_s, cached_rc = build(root, output, args.toc, workdir / "cached-build.log")
            results["clean_build_s"], results["cached_rebuild_s"] = round(clean_s, 1), round(cached_s, 1)
            print(f"clean build with execution : {clean_s:6.1f} s  (target <= {TARGET_CLEAN_S:.0f} s: {_mark(clean_s <= TARGET_CLEAN_S)})"
                  + ("" if clean_rc == 0 else f"  [exit {clean_rc}, log kept in {workdir}]"))
            print(f"cached rebuild (--all)     : {cached_s:6.1f} s  (target <= {TARGET_CACHED_S:.0f} s: {_mark(cached_s <= TARGET_CACHED_S)})"
                  + ("" if cached_rc == 0 else f"  [exit {cached_rc}]"))
            if clean_rc or cached_rc:
                args.keep = True
            site = output / "_build" / "html"
        if not args.skip_nbval:
            nbval_s, nbval_rc = nbval(root, workdir / "nbval.log")
            results["nbval_s"] = round(nbval_s, 1)
            print(f"nbval (every notebook)     : {nbval_s:6.1f} s" + ("" if nbval_rc == 0 else f"  [exit {nbval_rc}, log in {workdir}]"))
            if nbval_rc:
                args.keep = True
        if not (site / "index.html").exists():
            print(f"no built site at {site}: page weights skipped")
            return 0
        weights = page_weights(site)
        results["page_weights"] = weights
        print(f"\npage weight ({weights['method']}), each file counted once per page:")
        print(f"  'every'  = assets every page loads: {len(weights['shared_files'])} files, "
              f"{weights['shared_bytes'] / 1e6:.2f} MB (theme, MathJax, site scripts)")
        print(f"  'reused' = assets at least two pages load: {len(weights['reused_files'])} files, "
              f"{weights['reused_bytes'] / 1e6:.2f} MB (adds fonts)")
        print(f"  {'page':34} {'HTML':>8} {'requests':>8} {'total':>8} {'w/o every':>10} {'w/o reused':>11}")
        for row in weights["pages"]:
            print(f"  {row['page']:34} {row['html_bytes'] / 1e6:6.2f}MB {row['requests']:8d} "
                  f"{row['total_bytes'] / 1e6:6.2f}MB {row['without_shared_bytes'] / 1e6:8.2f}MB "
                  f"{row['own_bytes'] / 1e6:9.2f}MB")
        chapters = [row for row in weights["pages"] if row["page"] in weights["chapters"]]
        if chapters:
            largest = max(chapters, key=lambda row: row["own_bytes"])
            results["largest_chapter"] = largest
            print(f"largest chapter page without shared assets: {largest['page']} "
                  f"{largest['own_bytes'] / 1e6:.2f} MB (target <= {TARGET_PAGE_BYTES / 1e6:.0f} MB: "
                  f"{_mark(largest['own_bytes'] <= TARGET_PAGE_BYTES)}); "
                  f"without only the every-page assets: {max(r['without_shared_bytes'] for r in chapters) / 1e6:.2f} MB")
            heaviest = max(weights["pages"], key=lambda row: row["total_bytes"])
            results["heaviest_page"] = heaviest
            print(f"heaviest page in all: {heaviest['page']} {heaviest['total_bytes'] / 1e6:.2f} MB "
                  f"(target < {TARGET_TOTAL_BYTES / 1e6:.0f} MB: {_mark(heaviest['total_bytes'] < TARGET_TOTAL_BYTES)})")
        if args.json:
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
            print(f"figures written to {args.json}")
    finally:
        if args.keep:
            print(f"build folder and logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
