"""The chapter 2 panel: self-attention of the seed instruction with weights you type.

Controls: W^Q, W^K, W^V (2x2, typed as "1, 0; 0, 1"), the 1/sqrt(d_k) scaling on/off, a
temperature tau and the causal mask on/off. The panel shows the 10x10 weights A as an annotated
heatmap (:class:`~mgie_lessons.plots.attention.FastWeightsHeatmap`, updated in place) and, as
LaTeX, the output H = A V with a few numbers that say how far A is from uniform.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from .. import attention, pipeline, walkthrough
from ..plots.attention import FastWeightsHeatmap
from ..plots.common import HIDPI_SCALE, figure_png, set_pixel_scale
from .panel import Panel, matrix_text, parse_matrix

__all__ = ["make_panel", "BENCH_SETTINGS", "render_from_scratch", "compute", "output_latex", "alt_text"]

TITLE = "Attention weights A of the seed instruction"
#: The figure's density at its display size (CSS pixels per inch) and device pixels per CSS pixel.
DPI, SCALE = 72, HIDPI_SCALE

#: Valid settings the benchmark cycles through (each changes the picture).
BENCH_SETTINGS: list[dict] = [
    {"W_q": "1, 0; 0, 1", "W_k": "1, 0; 0, 1", "W_v": "1, 0; 0, 1", "scale": True, "temperature": 1.0, "causal": False},
    {"W_q": "1, 0; 0, 1", "W_k": "1, 0; 0, 1", "W_v": "1, 0; 0, 1", "scale": True, "temperature": 0.05, "causal": False},
    {"W_q": "10, 0; 0, 10", "W_k": "10, 0; 0, 10", "W_v": "1, 0; 0, 1", "scale": True, "temperature": 1.0, "causal": False},
    {"W_q": "10, 0; 0, 10", "W_k": "10, 0; 0, 10", "W_v": "1, 0; 0, 1", "scale": True, "temperature": 1.0, "causal": True},
    {"W_q": "0, 1; 1, 0", "W_k": "5, 0; 0, 5", "W_v": "1, 0; 0, -1", "scale": False, "temperature": 0.5, "causal": False},
    {"W_q": "1, 0; 0, 1", "W_k": "1, 0; 0, 1", "W_v": "1, 0; 0, 1", "scale": True, "temperature": 0.02, "causal": True},
]


def compute(values: dict):
    """Parse the controls' values and run :func:`mgie_lessons.attention.self_attention`.

    Returns (tokens, result). Raises ValueError naming the control for a bad entry.
    """
    run = pipeline.seed_run()
    W_q = parse_matrix(values["W_q"], "W^Q", shape=(2, 2))
    W_k = parse_matrix(values["W_k"], "W^K", shape=(2, 2))
    W_v = parse_matrix(values["W_v"], "W^V", shape=(2, 2))
    result = attention.self_attention(run.X, W_q, W_k, W_v, causal=bool(values["causal"]),
                                      scale=bool(values["scale"]), temperature=values["temperature"])
    return run.words, result


def _bmatrix(matrix, fmt: str = ".3f") -> str:
    rows = [" & ".join(format(v, fmt) for v in row) for row in np.atleast_2d(matrix)]
    return r"\begin{bmatrix}" + r" \\ ".join(rows) + r"\end{bmatrix}"


def output_latex(result, causal: bool) -> str:
    """The HTML/LaTeX text under the figure: H = A V and how far A is from uniform."""
    spread = attention.weight_spread(result.weights, causal=causal)
    return (
        f"<p>$H = AV = {_bmatrix(result.output)}$</p>"
        f"<p>Largest weight {spread.largest_weight:.3f}, smallest {spread.smallest_weight:.3f}; "
        f"largest distance from uniform $\\max_{{ij}}|a_{{ij}} - 1/m_i| = {spread.max_abs_deviation:.4f}$; "
        f"least spread row $\\min_i \\mathcal{{H}}_i/\\ln m_i = {spread.min_entropy_ratio:.4f}$.</p>"
    )


def make_panel() -> Panel:
    """The panel over W^Q, W^K, W^V, scaling, temperature and the causal mask (chapter 2)."""
    run = pipeline.seed_run()
    heat = _heatmap(run.attention.weights, run.words)
    style = {"description_width": "initial"}
    controls = {
        "W_q": widgets.Text(value=matrix_text(walkthrough.W_Q), description="W^Q", style=style),
        "W_k": widgets.Text(value=matrix_text(walkthrough.W_K), description="W^K", style=style),
        "W_v": widgets.Text(value=matrix_text(walkthrough.W_V), description="W^V", style=style),
        "scale": widgets.Checkbox(value=True, description="divide by sqrt(d_k)", style=style),
        "temperature": widgets.FloatSlider(value=1.0, min=0.01, max=2.0, step=0.01,
                                           description="temperature tau", readout_format=".2f",
                                           style=style, continuous_update=True),
        "causal": widgets.Checkbox(value=False, description="causal mask", style=style),
    }
    text = widgets.HTMLMath(value="")

    shown = {}

    def update(values: dict):
        token_list, result = compute(values)
        heat.update(result.weights)
        text.value = output_latex(result, bool(values["causal"]))
        shown.update(values=values, tokens=token_list)
        return result

    panel = Panel(controls, update, heat.figure, title="Self-attention of the seed instruction",
                  outputs=[text], render=heat.png,
                  describe=lambda result: alt_text(shown["values"], shown["tokens"], result))
    panel.heatmap = heat
    panel.text = text
    return panel


def alt_text(values: dict, token_list, result) -> str:
    """The figure's text alternative: the settings, and the largest weights it shows."""
    spread = attention.weight_spread(result.weights, causal=bool(values["causal"]))
    hat = token_list.index("hat") if "hat" in token_list else len(token_list) - 1
    row = result.weights[hat]
    strongest = int(np.argmax(row))
    scaling = "divided by sqrt(d_k)" if values["scale"] else "not scaled"
    mask = "with the causal mask" if values["causal"] else "without a mask"
    return (f"Heatmap of the {len(token_list)} by {len(token_list)} attention weights of the seed instruction "
            f"(scores {scaling}, temperature {values['temperature']:g}, {mask}), each weight written in its "
            f"cell. The largest weight is {spread.largest_weight:.3f}, the smallest {spread.smallest_weight:.3f}; "
            f"the row of '{token_list[hat]}' gives its largest weight, {row[strongest]:.3f}, to "
            f"'{token_list[strongest]}'.")


def _heatmap(weights, token_list) -> FastWeightsHeatmap:
    heat = FastWeightsHeatmap(weights, token_list, title=TITLE, dpi=DPI * SCALE)
    set_pixel_scale(heat.figure, SCALE)
    return heat


def render_from_scratch(values: dict) -> bytes:
    """The benchmark's baseline: a NEW figure for ``values``, rendered to PNG bytes."""
    token_list, result = compute(values)
    return figure_png(_heatmap(result.weights, token_list).figure)
