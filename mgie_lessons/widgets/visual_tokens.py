"""Chapter 4 widget: how many [IMG] tokens, how many edit-head queries, and what U looks like.

The pipeline is the chapter's toy: m [IMG] tokens (embeddings u_i = (i/10, i/10), the seed's
u_1..u_4 first) are appended to the instruction, one attention + FFN layer gives their hidden
states, and the toy edit head's q queries cross-attend to them (Eqs. 4.1-4.5).
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from .. import visual_tokens as vt
from ..plots.common import HIDPI_SCALE, Blitter, figure_png, set_pixel_scale
from ..plots.visual_tokens import edit_head_panel_figure
from ..validation import check_int
from .panel import Panel

__all__ = ["make_panel", "BENCH_SETTINGS", "render_from_scratch", "compute", "summary_html",
           "MAX_TOKENS", "MAX_QUERIES", "alt_text"]

#: The figure's size (inches), density at its display size (CSS pixels per inch) and device
#: pixels per CSS pixel.
WIDTH, HEIGHT, DPI, SCALE = 5.4, 2.9, 80, HIDPI_SCALE
MAX_TOKENS = 8          # MGIE uses 8 [IMG] tokens
MAX_QUERIES = 16        # MGIE uses 77; 16 keep the picture readable
D_OUT = 3

DEFAULTS = {"n_tokens": 4, "n_queries": 6, "seed": 0}

BENCH_SETTINGS = [
    dict(DEFAULTS),
    {"n_tokens": 8, "n_queries": 6, "seed": 0},
    {"n_tokens": 1, "n_queries": 6, "seed": 0},
    {"n_tokens": 4, "n_queries": 16, "seed": 0},
    {"n_tokens": 2, "n_queries": 3, "seed": 1},
    {"n_tokens": 8, "n_queries": 12, "seed": 2},
]


def compute(values: dict):
    """Check the controls and run the toy pipeline; raises ValueError naming a bad control."""
    n_tokens = check_int(values["n_tokens"], "number of [IMG] tokens m", minimum=1, maximum=MAX_TOKENS)
    n_queries = check_int(values["n_queries"], "number of queries q", minimum=1, maximum=MAX_QUERIES)
    seed = check_int(values["seed"], "seed", minimum=0)
    return vt.seed_edit_head(n_tokens=n_tokens, n_queries=n_queries, d_out=D_OUT, seed=seed)


def _row(values) -> str:
    return "".join(f"<td>{v:.3f}</td>" for v in values)


def summary_html(token_pass: vt.ImageTokenPass, head: vt.CrossAttentionHeadResult) -> str:
    """The numbers as text: shapes, the weights table, U's first row, the real sizes."""
    weights = head.attention.weights
    q, m = weights.shape
    real = vt.MGIE_SHAPES
    header = "".join(f"<th>IMG{j}</th>" for j in range(m))
    rows = "".join(f"<tr><th>query {i + 1}</th>{_row(w)}</tr>" for i, w in enumerate(weights))
    spread = float(np.ptp(head.output, axis=0).max())
    return (
        f"<p>U has shape <b>{q} x {head.output.shape[1]}</b> ({q} queries, each a row); "
        f"its input h_IMG + E_IMG has shape {m} x {token_pass.edit_head_input.shape[1]}. "
        f"In MGIE: {real['n_queries']} x {real['d_out']} from {real['n_img_tokens']} x {real['d_llm']}.<br>"
        f"U row 1 = ({', '.join(f'{v:.3f}' for v in head.output[0])}); the rows of U differ by at most "
        f"{spread:.3f} in any column.</p>"
        f'<table style="font-size:85%"><tr><th></th>{header}</tr>{rows}</table>'
    )


def make_panel() -> Panel:
    """The chapter 4 panel: number of [IMG] tokens m, number of queries q, the edit head's seed."""
    style = {"description_width": "13em"}
    layout = widgets.Layout(width="20em")
    controls = {
        "n_tokens": widgets.IntSlider(value=DEFAULTS["n_tokens"], min=1, max=MAX_TOKENS,
                                      description="[IMG] tokens m", style=style, layout=layout),
        "n_queries": widgets.IntSlider(value=DEFAULTS["n_queries"], min=1, max=MAX_QUERIES,
                                       description="queries q", style=style, layout=layout),
        "seed": widgets.IntText(value=DEFAULTS["seed"], description="edit-head seed (>= 0)",
                                style=style, layout=layout),
    }
    token_pass, head = compute(DEFAULTS)
    figure = _figure(head)
    renderer = Blitter(figure.figure, figure.dynamic_artists())
    summary = widgets.HTML(value=summary_html(token_pass, head))

    def update(values: dict):
        token_pass, head = compute(values)
        figure.update(head)
        summary.value = summary_html(token_pass, head)
        return head

    panel = Panel(controls, update, figure.figure, outputs=[summary], render=renderer.png,
                  title="Chapter 4: the toy edit head (cross-attention map and U)", describe=alt_text)
    panel.edit_head_figure = figure
    panel.summary = summary
    return panel


def alt_text(head: vt.CrossAttentionHeadResult) -> str:
    """The figure's text alternative for the edit head shown."""
    weights = head.attention.weights
    q, m = weights.shape
    return (f"Left: a heatmap of the cross-attention weights of {q} queries (rows) over {m} [IMG] tokens "
            f"(columns); each row sums to 1, the largest weight is {weights.max():.3f} and the smallest "
            f"{weights.min():.3f}. Right: a heatmap of U, {q} rows by {head.output.shape[1]} columns, from "
            f"{head.output.min():.3f} to {head.output.max():.3f}.")


def _figure(head: vt.CrossAttentionHeadResult):
    figure = edit_head_panel_figure(head, dpi=DPI * SCALE, width=WIDTH, height=HEIGHT)
    set_pixel_scale(figure.figure, SCALE)
    return figure


def render_from_scratch(values: dict) -> bytes:
    """Benchmark baseline: a new figure for ``values``, rendered to PNG."""
    _, head = compute(values)
    return figure_png(_figure(head).figure)
