"""Widget panel for chapter 10: the edit head's output U and where one row of U acts on the image.

Controls (sliders): the number of learned queries (rows of U), the width d_out of U, the number
of attention heads, and which row of U to show. The figure shows U as a heat map (the chosen row
marked) and that row's attention map over the toy image (Eq. 10.9); the text shows the row's
values and the map's range, computed by :mod:`mgie_lessons.edit_head`. The edit head is only
recomputed for a combination of queries, d_out and heads not seen before (the last eight are
kept); choosing another row only reads a different column of the same attention weights.
"""

from __future__ import annotations

import html

import ipywidgets as widgets
import numpy as np

from ..edit_head import ChapterExample
from ..plots.common import HIDPI_SCALE, Blitter, figure_png, set_pixel_scale
from ..plots.edit_head import EditHeadView
from .panel import Panel

__all__ = ["make_panel", "BENCH_SETTINGS", "render_from_scratch", "DEFAULTS", "MAX_QUERIES", "MAX_D_OUT",
           "HEAD_CHOICES"]

#: The sliders' ranges: up to MGIE's 77 queries, a width d_out up to 32 (MGIE: 768), and the
#: numbers of heads that divide the toy's d_model = 8 (MGIE: 4).
MAX_QUERIES, MAX_D_OUT, HEAD_CHOICES = 77, 32, (1, 2, 4, 8)
#: The figure's density at its display size (CSS pixels per inch) and device pixels per CSS pixel.
DPI, SCALE = 80, HIDPI_SCALE

DEFAULTS = {"n_queries": 77, "d_out": 12, "n_heads": 4, "row": 0}

#: Settings the benchmark cycles through (each sets every control).
BENCH_SETTINGS = [
    dict(DEFAULTS),
    {**DEFAULTS, "row": 38},
    {**DEFAULTS, "row": 76},
    {**DEFAULTS, "n_heads": 2, "row": 5},
    {**DEFAULTS, "row": 5},
    {**DEFAULTS, "n_queries": 20, "d_out": 6, "row": 3},
    {**DEFAULTS, "row": 3},
]


def _read(values: dict) -> tuple[tuple[int, int, int], int]:
    values = {**DEFAULTS, **values}
    return (values["n_queries"], values["d_out"], values["n_heads"]), values["row"]


def _example(key: tuple[int, int, int]) -> ChapterExample:
    n_queries, d_out, n_heads = key
    return ChapterExample(n_queries=n_queries, d_out=d_out, n_heads=n_heads)


def _summary_html(example: ChapterExample, row: int) -> str:
    U = example.output.U
    weights_map = example.attention_map(row)
    values = ", ".join(f"{v:.3f}" for v in U[row])
    gap = float(np.abs(U - example.null.U).mean())
    return (
        f"<p>U has shape {U.shape[0]} x {U.shape[1]}; row {row} of U = [{html.escape(values)}]<br>"
        f"attention to row {row} over the 8 x 8 positions: min {weights_map.min():.4f}, "
        f"max {weights_map.max():.4f}, sum {weights_map.sum():.4f}<br>"
        f"mean |U - U_null| = {gap:.4f}</p>"
    )


def make_panel() -> Panel:
    """The chapter 10 panel: sliders for the number of queries, d_out, the heads and the row of U."""
    style = {"description_width": "initial"}
    controls = {
        "n_queries": widgets.IntSlider(value=DEFAULTS["n_queries"], min=1, max=MAX_QUERIES,
                                       description="queries (rows of U)", style=style,
                                       tooltip="number of learned queries = rows of U (MGIE: 77)"),
        "d_out": widgets.IntSlider(value=DEFAULTS["d_out"], min=1, max=MAX_D_OUT, description="d_out (width of U)",
                                   style=style, tooltip="width of U (MGIE: 768)"),
        "n_heads": widgets.SelectionSlider(options=list(HEAD_CHOICES), value=DEFAULTS["n_heads"],
                                           description="attention heads", style=style,
                                           tooltip="heads divide d_model = 8 (MGIE: 4)"),
        "row": widgets.IntSlider(value=DEFAULTS["row"], min=0, max=MAX_QUERIES - 1, description="row of U",
                                 style=style, tooltip="which row of U to show over the image (< queries)"),
    }
    state = {"key": None, "example": None}
    first_key, first_row = _read({})
    state["key"], state["example"] = first_key, _example(first_key)
    view = _view(state["example"], first_row)
    summary = widgets.HTML(value="")

    examples = {first_key: state["example"]}   # edit heads already computed, by (queries, d_out, heads)

    def update(values: dict):
        key, row = _read(values)
        if key not in examples:
            if len(examples) >= 8:
                examples.pop(next(iter(examples)))      # forget the oldest
            examples[key] = _example(key)
        example = examples[key]
        state["key"], state["example"] = key, example
        weights_map = example.attention_map(row)          # validates the row before anything is drawn
        view.update(example, row)           # a new shape of U changes only tick-less axis limits
        summary.value = _summary_html(example, row)
        return example.output.U, row, weights_map

    renderer = Blitter(view.figure, view.dynamic_artists())
    panel = Panel(controls, update, view.figure, title="The edit head's U and where one row acts",
                  outputs=[summary], render=renderer.png, describe=alt_text)
    panel.view = view
    panel.summary = summary
    panel.state = state
    return panel


def alt_text(shown) -> str:
    """The figure's text alternative for (U, row, attention map of that row)."""
    U, row, weights_map = shown
    return (f"Left: a heat map of U, {U.shape[0]} rows by {U.shape[1]} columns, with row {row} marked. "
            f"Right: the toy image with the attention weight each of its 8 by 8 positions gives to row {row}, "
            f"from {weights_map.min():.3f} to {weights_map.max():.3f}.")


def _view(example: ChapterExample, row: int) -> EditHeadView:
    view = EditHeadView(example, row, dpi=DPI * SCALE)
    set_pixel_scale(view.figure, SCALE)
    return view


def render_from_scratch(values: dict) -> bytes:
    """Benchmark baseline: recompute the edit head and draw a brand-new figure."""
    key, row = _read(values)
    return figure_png(_view(_example(key), row).figure)
