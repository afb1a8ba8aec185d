"""Helpers for checking the built website: list its pages, serve it, drive headless Chromium.

Used by the browser tests (``tests/browser/``) and the site benchmark
(``python -m tools.bench_site``). Standard library only at import time; Playwright is
imported by the caller, so a machine without it can still list pages and serve the site.
Nothing here knows where the repository is: the functions that need it take its root as an
argument (default: the current directory, where the Makefile runs every tool).

The browser is Debian's Chromium (``apt-get install chromium``), driven by the Python
Playwright package. Never run ``playwright install``: it downloads a browser build, which this
project does not use.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import re
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

CHROMIUM = os.environ.get("MGIE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Where jupyter-book writes the site and where npm puts axe-core, relative to the repository root.
SITE_FOLDER = Path("_build") / "html"
AXE_SCRIPT = Path("web") / "node_modules" / "axe-core" / "axe.min.js"
# Folders of the built site that hold assets, not pages.
NOT_PAGES = {"_static", "_sources", "_images", "_downloads", "_panels_static"}
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "site_dir", "axe_js", "site_pages", "chapter_pages", "is_local",
           "shorten", "serve", "browser_missing", "chromium_context"]


def site_dir(root: str | Path = ".") -> Path:
    """The built site: ``$MGIE_SITE_DIR`` if set, else ``_build/html`` under the repository ``root``."""
    return Path(os.environ.get("MGIE_SITE_DIR") or Path(root) / SITE_FOLDER).resolve()


def axe_js(root: str | Path = ".") -> Path:
    """axe-core's script as ``make web-assets`` installs it (npm ci in web/) under the repository ``root``."""
    return (Path(root) / AXE_SCRIPT).resolve()


def site_pages(site: Path) -> list[str]:
    """Every HTML page of the built site, as paths relative to ``site`` ('book/01_tokens.html')."""
    pages = []
    for path in sorted(site.rglob("*.html")):
        relative = path.relative_to(site)
        if relative.parts[0] in NOT_PAGES:
            continue
        pages.append(relative.as_posix())
    return pages


def chapter_pages(pages: list[str]) -> list[str]:
    """The pages built from the book's chapters and other content (not index/search/genindex)."""
    return [page for page in pages if page.startswith("book/")]


def is_local(url: str) -> bool:
    """True for data:/blob:/about: URLs and URLs on this machine's loopback addresses."""
    parts = urlsplit(url)
    if parts.scheme in {"data", "blob", "about"}:
        return True
    return parts.scheme in {"http", "https", "ws", "wss"} and parts.hostname in LOCAL_HOSTS


def shorten(url: str) -> str:
    """A URL short enough for a message (data: URLs cut after their media type)."""
    return re.sub(r"^(data:[^,;]{0,40})[,;].*", r"\1,...", url)[:200]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - signature of the base class
        pass

    def end_headers(self):
        # Every load is a fresh transfer: sizes measured by the benchmark are honest and the
        # tests never see stale files.
        self.send_header("Cache-Control", "no-store")
        super().end_headers()


@contextlib.contextmanager
def serve(site: Path) -> Iterator[str]:
    """Serve ``site`` on a free localhost port from a thread; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="site-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def browser_missing() -> str | None:
    """Why the browser checks cannot run here, or None when they can."""
    if not Path(CHROMIUM).exists():
        return (f"{CHROMIUM} not found: install Debian's Chromium with "
                "`apt-get update && apt-get install -y chromium` (never `playwright install`)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the Python package `playwright` is not installed: pip install -e '.[test]'"
    return None


@contextlib.contextmanager
def chromium_context(playwright, **context_options):
    """A headless Chromium context with a fresh, temporary user-data-dir."""
    user_data_dir = tempfile.mkdtemp(prefix="mgie-chromium-")
    options = {"viewport": {"width": 1280, "height": 900}, "service_workers": "block"}
    options.update(context_options)
    context = playwright.chromium.launch_persistent_context(
        user_data_dir, executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, **options)
    try:
        yield context
    finally:
        context.close()
        shutil.rmtree(user_data_dir, ignore_errors=True)
