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
"""

from __future__ import annotations

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


def setup(app):
    app.set_html_assets_policy("always")
    app.connect("doctree-read", merge_stream_outputs)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
