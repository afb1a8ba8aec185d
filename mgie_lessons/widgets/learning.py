"""Chapter 13's panel: a parameter's gradient as a heatmap, and a learning rate for a training run.

The model is the seed's one-layer language model (chapter 12), trained on the seed instruction
with Adam. All 25 learning rates of the slider (10^-3 to 1, eight per decade) are trained at once
when the panel opens (:func:`mgie_lessons.plots.learning.explore_runs`, about 0.3 s, with the
hand-written gradients of :mod:`mgie_lessons.learning`), recording the gradients of W^Q, W^K,
W^V, W_1 and W_2 at every step. Moving a slider then only looks the run up and redraws the
changing artists over a cached background.
"""

from __future__ import annotations

import html

import ipywidgets as widgets
import numpy as np

from ..plots import learning as learning_plots
from ..plots.common import Blitter, figure_png
from ..validation import check_finite_number
from .panel import Panel

__all__ = ["make_panel", "BENCH_SETTINGS", "render_from_scratch", "compute", "DEFAULTS", "PARAMETER_OPTIONS",
           "TRAINING_OPTIONS"]

PARAMETER_OPTIONS = [("W^Q (attention queries)", "W_q"), ("W^K (attention keys)", "W_k"),
                     ("W^V (attention values)", "W_v"), ("W_1 (FFN, first layer)", "W1"),
                     ("W_2 (FFN, second layer)", "W2")]
TRAINING_OPTIONS = [("every parameter", "all"), ("as MGIE: only E and W_out", "mgie")]
DEFAULTS = {"parameter": "W1", "lr": 0.1, "steps": learning_plots.MAX_STEPS, "train": "all"}

#: Valid settings for the benchmark; each changes the picture.
BENCH_SETTINGS = [
    dict(DEFAULTS),
    {**DEFAULTS, "lr": 10 ** -2.0},
    {**DEFAULTS, "lr": 10 ** -0.75, "steps": 120},
    {**DEFAULTS, "parameter": "W_q", "lr": 1.0},
    {**DEFAULTS, "parameter": "W_v", "lr": 10 ** -1.5, "steps": 40},
    {**DEFAULTS, "parameter": "W2", "train": "mgie"},
    {**DEFAULTS, "parameter": "W_k", "lr": 10 ** -2.5, "steps": 200, "train": "mgie"},
]


def compute(values: dict) -> dict:
    """Check the controls' values; returns (parameter, index of the learning rate, steps, training set)."""
    parameter = learning_plots.check_parameter(values["parameter"])
    lr = check_finite_number(values["lr"], "lr")
    index = learning_plots.nearest_rate_index(lr)
    steps = learning_plots.check_steps(values["steps"])
    which = values["train"]
    if which not in learning_plots.TRAINING_SETS:
        raise ValueError(f"train must be one of {sorted(learning_plots.TRAINING_SETS)}, got {which!r}")
    return {"parameter": parameter, "rate_index": index, "steps": steps, "which": which}


def _summary_html(shown: dict) -> str:
    start = np.abs(shown["gradient_start"]).max()
    now = np.abs(shown["gradient_now"]).max()
    frozen = " It is frozen in this run: its gradient is computed but never applied." if shown["frozen"] else ""
    return (f"<p>Adam with lr = {shown['lr']:.3g}: L<sub>ins</sub> goes from {shown['loss_start']:.4f} to "
            f"<b>{shown['loss_now']:.4f}</b> in {shown['steps']} steps. Largest |gradient| entry of "
            f"{html.escape(shown['parameter'])}: {start:.3g} at the seed's weights, {now:.3g} now.{frozen}</p>")


def make_panel() -> Panel:
    """The chapter 13 panel: parameter, learning rate, number of steps, what is trained."""
    style = {"description_width": "initial"}
    controls = {
        "parameter": widgets.Dropdown(options=PARAMETER_OPTIONS, value=DEFAULTS["parameter"],
                                      description="gradient of", style=style),
        "lr": widgets.FloatLogSlider(value=DEFAULTS["lr"], base=10, min=-3, max=0, step=0.125,
                                     readout_format=".2g", description="learning rate", style=style,
                                     continuous_update=True),
        "steps": widgets.IntSlider(value=DEFAULTS["steps"], min=0, max=learning_plots.MAX_STEPS, step=5,
                                   description="Adam steps k", style=style, continuous_update=True),
        "train": widgets.Dropdown(options=TRAINING_OPTIONS, value=DEFAULTS["train"], description="train",
                                  style=style),
    }
    drawn, first = learning_plots.explore_figure(DEFAULTS["parameter"], DEFAULTS["lr"], DEFAULTS["steps"],
                                                 DEFAULTS["train"], scale=learning_plots.HIDPI_SCALE)
    renderer = Blitter(drawn.figure, drawn.dynamic_artists(), key=lambda: drawn.which)   # grey curves
    summary = widgets.HTML(value=_summary_html(first))

    def update(values: dict) -> dict:
        settings = compute(values)
        drawn.set_runs(settings["which"])
        shown = drawn.update(settings["parameter"], settings["rate_index"], settings["steps"])
        summary.value = _summary_html(shown)
        return shown

    panel = Panel(controls, update, drawn.figure, title="Gradients and a training run of the seed's language model",
                  outputs=[summary], render=renderer.png, describe=learning_plots.explore_alt_text,
                  alt=learning_plots.explore_alt_text(first))
    panel.drawn = drawn
    return panel


def render_from_scratch(values: dict) -> bytes:
    """Benchmark baseline: a NEW figure for ``values`` (the runs themselves are cached)."""
    settings = compute(values)
    lr = learning_plots.LEARNING_RATES[settings["rate_index"]]
    drawn, _ = learning_plots.explore_figure(settings["parameter"], lr, settings["steps"], settings["which"],
                                             scale=learning_plots.HIDPI_SCALE)
    return figure_png(drawn.figure)
