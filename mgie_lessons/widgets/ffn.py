"""Chapter 3 widget: edit W1, b1, W2, b2 and watch P, Z = ReLU(P) and F update.

The input is the attention output H: either the one computed in chapter 2 or the one the
seed prints (a dropdown), so a reader can tell a wrong input from wrong arithmetic.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from .. import ffn, pipeline, walkthrough, tokens
from ..plots.common import HIDPI_SCALE, Blitter, figure_png, set_pixel_scale
from ..plots.ffn import ffn_strip_figure
from .panel import Panel, matrix_text, parse_matrix, parse_vector

__all__ = ["make_panel", "BENCH_SETTINGS", "render_from_scratch", "compute", "summary_html", "alt_text"]

#: The figure's size (inches), density at its display size (CSS pixels per inch) and device
#: pixels per CSS pixel.
WIDTH, HEIGHT, DPI, SCALE = 4.6, 2.8, 80, HIDPI_SCALE

INPUT_OPTIONS = [("computed in chapter 2", "computed"), ("as the seed prints it", "printed")]

DEFAULTS = {
    "source": "computed",
    "W1": matrix_text(walkthrough.W1),
    "b1": matrix_text(walkthrough.B1),
    "W2": matrix_text(walkthrough.W2),
    "b2": matrix_text(walkthrough.B2),
}

BENCH_SETTINGS = [
    dict(DEFAULTS),
    {**DEFAULTS, "W1": "-0.5, -0.5; -0.5, -0.5"},
    {**DEFAULTS, "source": "printed"},
    {**DEFAULTS, "source": "printed", "W1": "-0.25, -0.25; -0.25, -0.25"},
    {**DEFAULTS, "W1": "0.2, -0.2; 0.2, -0.2", "b1": "0, 0"},
    {**DEFAULTS, "W2": "0, 0; 0, 0"},
]


def _row_labels() -> list[str]:
    return tokens.tokenize(walkthrough.INSTRUCTION)


def compute(values: dict) -> tuple[np.ndarray, ffn.FFNResult]:
    """Parse the controls and run the FFN (Eq. 3.1); raises ValueError naming a bad control."""
    source = values["source"]
    X = pipeline.seed_ffn_input(source)
    W1 = parse_matrix(values["W1"], "W1", shape=(2, 2))
    b1 = parse_vector(values["b1"], "b1", length=2)
    W2 = parse_matrix(values["W2"], "W2", shape=(2, 2))
    b2 = parse_vector(values["b2"], "b2", length=2)
    return X, ffn.feed_forward(X, W1, b1, W2, b2)


def _pair(row) -> str:
    return ", ".join(f"{v:.4f}" for v in row)


def summary_html(X, result: ffn.FFNResult) -> str:
    """The numbers behind the figure: a table of H, P, Z, F per token, ReLU count and rank of Z."""
    zeroed = int(ffn.zeroed_by_relu(result.pre_activation).sum())
    rank = int(np.linalg.matrix_rank(result.hidden, tol=1e-12))
    rows = "".join(
        f"<tr><td>{word}</td><td>{_pair(x)}</td><td>{_pair(z)}</td><td>{_pair(h)}</td><td>{_pair(y)}</td></tr>"
        for word, x, z, h, y in zip(_row_labels(), X, result.pre_activation, result.hidden, result.output)
    )
    return (
        f"<p>ReLU set <b>{zeroed}</b> of {result.pre_activation.size} entries of P to 0; "
        f"rank of Z = <b>{rank}</b>; F ranges from {result.output.min():.4f} to {result.output.max():.4f}.</p>"
        '<table style="font-size:85%"><tr><th>token</th><th>H row</th><th>P row</th>'
        f"<th>Z row</th><th>F row</th></tr>{rows}</table>"
    )


def make_panel() -> Panel:
    """The chapter 3 panel: input choice, W1, b1, W2, b2 (2x2 / length 2, as typed text)."""
    layout = widgets.Layout(width="22em")
    style = {"description_width": "9em"}
    controls = {
        "source": widgets.Dropdown(options=INPUT_OPTIONS, value=DEFAULTS["source"],
                                   description="input H", style=style, layout=layout),
        "W1": widgets.Text(value=DEFAULTS["W1"], description="W1 (2x2)", style=style, layout=layout),
        "b1": widgets.Text(value=DEFAULTS["b1"], description="b1 (length 2)", style=style, layout=layout),
        "W2": widgets.Text(value=DEFAULTS["W2"], description="W2 (2x2)", style=style, layout=layout),
        "b2": widgets.Text(value=DEFAULTS["b2"], description="b2 (length 2)", style=style, layout=layout),
    }
    X, result = compute(DEFAULTS)
    figure = _strip(X, result)
    renderer = Blitter(figure.figure, figure.dynamic_artists())
    summary = widgets.HTML(value=summary_html(X, result))

    def update(values: dict):
        X, result = compute(values)
        figure.update(X, result)
        summary.value = summary_html(X, result)
        return result

    panel = Panel(controls, update, figure.figure, outputs=[summary], render=renderer.png,
                  title="Chapter 3: the feed-forward network (rows separated by ';')", describe=alt_text)
    panel.ffn_figure = figure
    panel.summary = summary
    return panel


def alt_text(result: ffn.FFNResult) -> str:
    """The figure's text alternative for the FFN result shown."""
    zeroed = int(ffn.zeroed_by_relu(result.pre_activation).sum())
    return (f"One strip of heatmaps, one row per token: the FFN input H, the pre-activation P, the hidden "
            f"layer Z = ReLU(P) and the output F, each scaled to its largest entry (blue below 0, red above). "
            f"ReLU set {zeroed} of the {result.pre_activation.size} entries of P to 0; F ranges from "
            f"{result.output.min():.4f} to {result.output.max():.4f}.")


def _strip(X, result: ffn.FFNResult):
    strip = ffn_strip_figure(X, result, dpi=DPI * SCALE, width=WIDTH, height=HEIGHT)
    set_pixel_scale(strip.figure, SCALE)
    return strip


def render_from_scratch(values: dict) -> bytes:
    """Benchmark baseline: a new figure for ``values``, rendered to PNG."""
    return figure_png(_strip(*compute(values)).figure)
