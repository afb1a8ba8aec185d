"""Widget panel for chapter 10: the edit head's output U and where one row of U acts on the image.

Controls: the number of learned queries (rows of U), the width d_out of U, the number of
attention heads, and which row of U to show. The figure shows U as a heat map (the chosen row
marked) and that row's attention map over the toy image (Eq. 10.9); the text shows the row's
values and the map's range, computed by :mod:`mgie_lessons.edit_head`. The edit head is only
recomputed for a combination of queries, d_out and heads not seen before (the last eight are
kept); choosing another row only reads a different column of the same attention weights.
"""

from __future__ import annotations

import html

import ipywidgets as widgets
import numpy as np

from ..plots.common import BlitRenderer, figure_png
from ..plots.edit_head import ChapterExample, EditHeadView
from .panel import Panel, parse_matrix

__all__ = ["make_panel", "BENCH_SETTINGS", "render_from_scratch", "DEFAULTS"]

DEFAULTS = {"n_queries": "77", "d_out": "12", "n_heads": "4", "row": "0"}

BENCH_SETTINGS = [
    {"row": "0"},
    {"row": "38"},
    {"row": "76"},
    {"n_heads": "2", "row": "5"},
    {"n_heads": "4", "row": "5"},
    {"n_queries": "20", "d_out": "6", "row": "3"},
    {"n_queries": "77", "d_out": "12", "row": "3"},
]


def _whole(text, name: str) -> int:
    value = float(parse_matrix(str(text), name, shape=(1, 1))[0, 0])
    if not value.is_integer():
        raise ValueError(f"{name} must be a whole number, got {value:g}")
    return int(value)


def _read(values: dict) -> tuple[tuple[int, int, int], int]:
    values = {**DEFAULTS, **values}
    key = (_whole(values["n_queries"], "n_queries"), _whole(values["d_out"], "d_out"),
           _whole(values["n_heads"], "n_heads"))
    return key, _whole(values["row"], "row")


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
    controls = {
        "n_queries": widgets.Text(value=DEFAULTS["n_queries"], description="queries",
                                  tooltip="number of learned queries = rows of U (MGIE: 77)"),
        "d_out": widgets.Text(value=DEFAULTS["d_out"], description="d_out",
                              tooltip="width of U (MGIE: 768)"),
        "n_heads": widgets.Text(value=DEFAULTS["n_heads"], description="heads",
                                tooltip="attention heads; must divide d_model = 8 (MGIE: 4)"),
        "row": widgets.Text(value=DEFAULTS["row"], description="row of U",
                            tooltip="which row of U to show over the image"),
    }
    state = {"key": None, "example": None}
    first_key, first_row = _read({})
    state["key"], state["example"] = first_key, _example(first_key)
    view = EditHeadView(state["example"], first_row)
    summary = widgets.HTML(value="")

    examples = {first_key: state["example"]}   # edit heads already computed, by (queries, d_out, heads)

    def update(values: dict) -> None:
        key, row = _read(values)
        if key not in examples:
            if len(examples) >= 8:
                examples.pop(next(iter(examples)))      # forget the oldest
            examples[key] = _example(key)
        example = examples[key]
        state["key"], state["example"] = key, example
        example.attention_map(row)          # validates the row before anything is drawn
        if view.update(example, row):
            renderer.invalidate()            # new shape of U: new axis limits, redraw everything
        summary.value = _summary_html(example, row)

    renderer = BlitRenderer(view.figure, view.dynamic_artists())
    panel = Panel(controls, update, view.figure, title="The edit head's U and where one row acts",
                  outputs=[summary], render=renderer.png,
                  alt="Heat map of U and the attention map of one row of U over the toy image")
    panel.view = view
    panel.summary = summary
    panel.state = state
    return panel


def render_from_scratch(values: dict) -> bytes:
    """Benchmark baseline: recompute the edit head and draw a brand-new figure."""
    key, row = _read(values)
    example = _example(key)
    return figure_png(EditHeadView(example, row).figure)
