"""Chapter 12's dashboard: change an embedding or a weight and watch it reach L_all.

Every control feeds :func:`mgie_lessons.end_to_end.run_pipeline`; the four-panel figure is
updated in place (heatmap data, line data, bar heights), never re-created.
"""

from __future__ import annotations

import html

import ipywidgets as widgets
import numpy as np

from .. import end_to_end, walkthrough
from ..plots import end_to_end as pipeline_plots
from ..plots.common import Blitter, figure_png, set_pixel_scale
from .panel import Panel, parse_vector

__all__ = ["make_panel", "BENCH_SETTINGS", "render_from_scratch", "pipeline_for", "DEFAULTS"]

DEFAULTS = {
    "word": "hat",
    "shift": "0, 0",
    "attention_scale": 1.0,
    "ffn_scale": 1.0,
    "coupling": 0.5,
    "eta": 0.1,
    "T": 3,
    "alpha": 0.5,
}
#: The figure's density at its display size (CSS pixels per inch) and device pixels per CSS pixel.
#: 1.5, not HIDPI_SCALE: this is the largest panel (four axes), and at 2 device pixels per CSS
#: pixel encoding its PNG alone takes most of the 16 ms an update may cost on a busy 2-core
#: machine (python -m tools.bench_widgets --cpu end_to_end: about 16 ms at 2, 12 ms at 1.5).
DPI, SCALE = 64, 1.5

#: A reader's drag: small moves of one slider at a time, and a change of T (new axis limits: the
#: first time, a full draw of the figure; then its background is reused).
BENCH_SETTINGS = [
    {**DEFAULTS, "shift": "0, 0"},
    {**DEFAULTS, "shift": "0.05, 0"},
    {**DEFAULTS, "shift": "0.1, 0"},
    {**DEFAULTS, "shift": "0.1, 0", "coupling": 0.6},
    {**DEFAULTS, "shift": "0.1, 0", "coupling": 0.7, "alpha": 0.6},
    {**DEFAULTS, "shift": "0.1, 0", "coupling": 0.7, "alpha": 0.7, "attention_scale": 1.25},
    {**DEFAULTS, "shift": "0.1, 0", "T": 6, "eta": 0.2},
]


def pipeline_for(values: dict) -> end_to_end.PipelineResult:
    """Turn the dashboard's control values into one run of the pipeline."""
    word = values["word"]
    if word not in walkthrough.EMBEDDING_TABLE:
        raise ValueError(f"word must be one of the table's words, got {word!r}")
    shift = parse_vector(values["shift"], f"shift of {word!r}", length=2)
    table = {w: np.asarray(v, dtype=float) for w, v in walkthrough.EMBEDDING_TABLE.items()}
    table[word] = table[word] + shift
    scale = float(values["attention_scale"])
    ffn_scale = float(values["ffn_scale"])
    return end_to_end.run_pipeline(
        table=table,
        W_q=scale * np.asarray(walkthrough.W_Q), W_k=scale * np.asarray(walkthrough.W_K),
        W1=ffn_scale * np.asarray(walkthrough.W1), W2=ffn_scale * np.asarray(walkthrough.W2),
        coupling=float(values["coupling"]), eta=float(values["eta"]),
        T=values["T"], alpha=float(values["alpha"]))


def _summary_html(result: end_to_end.PipelineResult, alpha: float) -> str:
    final = float(np.ravel(result.denoise.final)[0])
    noise = ", ".join(f"{v:.4f}" for v in result.predicted_noise)
    rows = "; ".join(", ".join(f"{v:.3f}" for v in row) for row in result.U)
    return (f"<p>U = [{html.escape(rows)}]<br>"
            f"predicted noise (t = T..1): {html.escape(noise)}<br>"
            f"final z_0 = {final:.4f}<br>"
            f"L_ins = {result.l_ins:.4f}, L_edit = {result.l_edit:.4f}, "
            f"L_all = L_ins + {alpha:g} &times; L_edit = {result.l_all:.4f}</p>")


def make_panel() -> Panel:
    """The whole-pipeline dashboard (chapter 12)."""
    controls = {
        "word": widgets.Dropdown(options=list(walkthrough.EMBEDDING_TABLE), value=DEFAULTS["word"],
                                 description="word to move"),
        "shift": widgets.Text(value=DEFAULTS["shift"], description="shift (dx, dy)"),
        "attention_scale": widgets.FloatSlider(value=1.0, min=0.0, max=6.0, step=0.25,
                                               description="W^Q, W^K scale"),
        "ffn_scale": widgets.FloatSlider(value=1.0, min=-3.0, max=3.0, step=0.25, description="W1, W2 scale"),
        "coupling": widgets.FloatSlider(value=0.5, min=-5.0, max=5.0, step=0.1, description="kappa"),
        "eta": widgets.FloatSlider(value=DEFAULTS["eta"], min=0.0, max=1.0, step=0.01, description="eta"),
        "T": widgets.IntSlider(value=3, min=1, max=12, description="T"),
        "alpha": widgets.FloatSlider(value=0.5, min=0.0, max=2.0, step=0.1, description="alpha"),
    }
    for control in controls.values():
        control.style.description_width = "initial"
    summary = widgets.HTML()
    first = pipeline_for(DEFAULTS)
    drawn = _figure(first, DEFAULTS["alpha"], annotate_U=False, label_bars=False)
    # Ticks, labels and titles are drawn once per set of axis limits and reused; only the data
    # artists are redrawn.
    renderer = Blitter(drawn.figure, drawn.dynamic_artists())

    def update(values: dict) -> None:
        result = pipeline_for(values)
        # New axis limits (returned True) need no invalidate: the renderer keeps a background per set of limits.
        pipeline_plots.update_pipeline_figure(drawn, result, float(values["alpha"]))
        summary.value = _summary_html(result, float(values["alpha"]))
        return result

    panel = Panel(controls, update, drawn.figure, title="The whole pipeline: instruction to L_all",
                  outputs=[summary], render=renderer.png, describe=pipeline_plots.pipeline_alt)
    return panel


def _figure(result, alpha: float, **options) -> pipeline_plots.PipelineFigure:
    drawn = pipeline_plots.pipeline_figure(result, alpha, dpi=DPI * SCALE, **options)
    set_pixel_scale(drawn.figure, SCALE)
    return drawn


def render_from_scratch(values: dict) -> bytes:
    """Benchmark baseline: compute, build a new figure, render it."""
    result = pipeline_for(values)
    return figure_png(_figure(result, float(values["alpha"])).figure)
