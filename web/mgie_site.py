"""A small Sphinx extension for the mgie-lessons website (``sphinx.local_extensions`` in _config.yml).

MathJax on every page. Sphinx only adds MathJax to pages that contain equations, but the
navigation sidebar shown on every page renders chapter titles, and some titles contain math
(e.g. the losses chapter). On pages without equations of their own (bibliography, search,
index) those titles stayed raw TeX. The "always" assets policy makes Sphinx add MathJax (served
from the site itself, see ``mathjax_path``) to every page; it is one file that every page
shares, so the browser caches it.

One block per output stream. A ``print`` reaches the notebook as one or several stream
messages depending on when the kernel flushes stdout, so two executions of the same cell can
store the same text split differently, and the page showed one box or two. MyST-NB's
``nb_merge_streams`` does not help: it strips each piece and joins them with a newline, which
breaks a line wherever a flush fell inside it (seen on the schedules chapter). Here adjacent
stdout (and stderr) blocks of a cell are joined with their text concatenated exactly, so the
HTML is the same on every build (tests/browser/test_site_determinism.py) and lines stay whole.

No widget snapshots. The website's Explore sections are kernel-free explorers
(``mgie_lessons/explorers/``); the Jupyter panels' cells carry the ``remove-cell`` tag. A notebook
still stores the state of the widgets its kernel made, and MyST-NB would embed that state in the
page and load the ipywidgets manager (3.6 MB) to render views that are no longer there: the
state is dropped here, so no page loads the manager (tests/browser/test_site_links.py checks
that no widget view or state is left).

The same asset links on every build. Sphinx appends ``?v=<checksum>`` to a stylesheet or script
only if the file is already in the output folder when the page is written; MyST-NB and
sphinx-exercise copy theirs (``mystnb.*.css``, ``exercise.css``) at the end of the build, so a
clean build wrote them without the query and a second build with it. After the build every
local ``_static/*.css|js`` link gets the checksum of the file it points to, whatever came
before.

No Font Awesome JavaScript. pydata-sphinx-theme loads ``fontawesome.js`` (1.5 MB) on every
page to turn icon elements into SVG; its stylesheet already draws the same icons from the Font
Awesome web fonts, so the script tag is removed (every page stays under 5 MB, issue 9).
"""

from __future__ import annotations

import re
import zlib
from pathlib import Path

from docutils import nodes

STREAM_KINDS = ("stream", "stderr")   # MyST-NB's classes for stdout and stderr outputs


def _stream_kind(node) -> str | None:
    if not isinstance(node, nodes.literal_block):
        return None
    classes = node.get("classes", [])
    if "output" not in classes:
        return None
    return next((kind for kind in STREAM_KINDS if kind in classes), None)


def merge_stream_outputs(app, doctree) -> None:
    """Join consecutive stdout (stderr) literal blocks of a cell into one, text unchanged."""
    merged_away: set[int] = set()
    for block in list(doctree.findall(nodes.literal_block)):
        kind = _stream_kind(block)
        parent = block.parent
        if kind is None or parent is None or id(block) in merged_away:
            continue   # not a stream output, or already merged into the block before it
        index = parent.index(block)
        text = block.astext()
        merged = False
        while index + 1 < len(parent.children) and _stream_kind(parent[index + 1]) == kind:
            following = parent[index + 1]
            text += following.astext()
            parent.remove(following)
            merged_away.add(id(following))
            merged = True
        if merged:
            block.children = []
            block += nodes.Text(text)
            block.rawsource = text


def drop_widget_state(app, doctree) -> None:
    """Forget the ipywidgets state MyST-NB collected for this page (and with it the manager)."""
    metadata = getattr(app.env, "nb_metadata", {}).get(app.env.docname, {})
    js_files = metadata.get("js_files", {})
    for key in [key for key in js_files if key.startswith("ipywidgets")]:
        del js_files[key]


# href/src of a local stylesheet or script under _static/, with or without Sphinx's ?v= checksum.
ASSET_LINK = re.compile(r'((?:href|src)=")([^"?#:]*_static/[^"?#]+\.(?:css|js))(?:\?v=[0-9a-f]{8})?(")')
FONTAWESOME_JS = re.compile(r'<script[^>]*src="[^"]*_static/scripts/fontawesome\.js[^"]*"[^>]*></script>\s*')


def _checksum(path: Path) -> str:
    """Sphinx's own asset checksum (sphinx.builders.html._assets._file_checksum)."""
    content = path.read_bytes().translate(None, b"\r")
    return f"{zlib.crc32(content):08x}"


def normalise_pages(app, exception) -> None:
    """Give every local asset link its checksum and drop the Font Awesome script (see above)."""
    if exception is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    checksums: dict[Path, str] = {}

    def stamp(match, folder: Path) -> str:
        target = (folder / match.group(2)).resolve()
        if not target.is_file():
            return match.group(0)
        if target not in checksums:
            checksums[target] = _checksum(target)
        return f"{match.group(1)}{match.group(2)}?v={checksums[target]}{match.group(3)}"

    for page in sorted(outdir.rglob("*.html")):
        if page.relative_to(outdir).parts[0] == "_sources":
            continue
        text = page.read_text(encoding="utf-8")
        updated = FONTAWESOME_JS.sub("", text)
        updated = ASSET_LINK.sub(lambda match: stamp(match, page.parent), updated)
        if updated != text:
            page.write_text(updated, encoding="utf-8")


def setup(app):
    app.set_html_assets_policy("always")
    app.connect("doctree-read", merge_stream_outputs)
    app.connect("doctree-read", drop_widget_state)
    # After MyST-NB and sphinx-exercise have copied their stylesheets (default priority 500).
    app.connect("build-finished", normalise_pages, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
