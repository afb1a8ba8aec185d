"""Chapter 6's panel: alpha, the probabilities behind L_ins and the noises behind L_edit.

alpha is a slider; the probabilities and noises are typed as lists (a non-numeric entry gives a
message). Every change recomputes L_ins, L_edit and L_all with :mod:`mgie_lessons.losses` and
changes the heights of the existing bars over a cached picture of the axes instead of drawing a
new figure.
"""

from __future__ import annotations

import html

import ipywidgets as widgets
import numpy as np

from .. import losses, walkthrough
from ..plots import losses as loss_plots
from ..plots.common import HIDPI_SCALE, figure_png, set_pixel_scale
from .panel import Panel, parse_vector

__all__ = ["make_panel", "BENCH_SETTINGS", "render_from_scratch", "default_probabilities", "compute"]

TOKENS = walkthrough.TARGET_TOKENS
#: The figure's density at its display size (CSS pixels per inch) and device pixels per CSS pixel.
DPI, SCALE = 80, HIDPI_SCALE
#: The alpha slider's largest value.
MAX_ALPHA = 2.0


def default_probabilities() -> np.ndarray:
    """p(y_i | y_{i-1}) of the toy bigram model estimated from the generated yhat (chapter 6)."""
    vocabulary = losses.toy_vocabulary(walkthrough.TARGET_TOKENS, walkthrough.GENERATED_TOKENS)
    model = losses.bigram_model_logits(vocabulary, walkthrough.GENERATED_TOKENS)
    return losses.teacher_forced_loss(model, vocabulary, walkthrough.TARGET_TOKENS).target_probabilities


def _text(values) -> str:
    return ", ".join(f"{v:.3g}" for v in values)


_TRUE, _PREDICTED = loss_plots.seed_edit_noises()
DEFAULTS = {
    "alpha": walkthrough.ALPHA,
    "p_correct": _text(default_probabilities()),
    "true_noise": _text(_TRUE),
    "predicted_noise": _text(_PREDICTED),
}

#: Valid settings for the benchmark (the controls' values, as the panel holds them).
BENCH_SETTINGS = [
    dict(DEFAULTS),
    {**DEFAULTS, "alpha": 0.0},
    {**DEFAULTS, "alpha": 2.0, "p_correct": _text([0.9] * len(TOKENS))},
    {**DEFAULTS, "p_correct": _text([0.12] * len(TOKENS))},
    {**DEFAULTS, "predicted_noise": "0.2, 0.2, 0.2"},
    {**DEFAULTS, "alpha": 1.0, "true_noise": "0.1, -0.3, 0.5", "predicted_noise": "0, 0, 0"},
]


def compute(values: dict) -> dict:
    """Read the controls and compute every loss with the package."""
    p = parse_vector(values["p_correct"], "p_correct", length=len(TOKENS))
    true = parse_vector(values["true_noise"], "true_noise", length=len(_TRUE))
    predicted = parse_vector(values["predicted_noise"], "predicted_noise", length=len(_TRUE))
    alpha = float(values["alpha"])
    l_ins = losses.loss_from_target_probabilities(p)
    l_edit = losses.edit_loss(true, predicted)
    l_all = losses.total_loss(l_ins, l_edit, alpha)
    return {"p": p, "per_token": -np.log(p), "terms": losses.edit_loss_terms(true, predicted),
            "alpha": alpha, "l_ins": l_ins, "l_edit": l_edit, "l_all": l_all}


def _summary_html(result: dict) -> str:
    terms = " + ".join(f"{v:.4g}" for v in result["terms"])
    return (
        f"<div>L<sub>ins</sub> = mean of \u2212log p = <b>{result['l_ins']:.4g}</b></div>"
        f"<div>L<sub>edit</sub> = {terms} = <b>{result['l_edit']:.4g}</b></div>"
        f"<div>L<sub>all</sub> = {result['l_ins']:.4g} + {result['alpha']:g} \u00d7 {result['l_edit']:.4g} = "
        f"<b>{result['l_all']:.4g}</b></div>"
    )


def make_panel() -> Panel:
    """The chapter 6 panel: alpha, p(correct token) per position of y, true and predicted noise."""
    controls = {
        "alpha": widgets.FloatSlider(value=DEFAULTS["alpha"], min=0.0, max=MAX_ALPHA, step=0.05,
                                     description="weight \u03b1", style={"description_width": "initial"}),
        "p_correct": widgets.Text(value=DEFAULTS["p_correct"], description="p(y_i)",
                                  layout=widgets.Layout(width="40em")),
        "true_noise": widgets.Text(value=DEFAULTS["true_noise"], description="\u03b5_t"),
        "predicted_noise": widgets.Text(value=DEFAULTS["predicted_noise"], description="\u03b5\u0302_t"),
    }
    first = compute(DEFAULTS)
    plot = _plot(first)
    background = loss_plots.freeze_plot(plot)   # text is painted only when the axes change
    summary = widgets.HTMLMath(value=_summary_html(first))
    alt = widgets.HTML(value="")   # the figure's description in words, for screen readers in Jupyter

    def update(values: dict):
        result = compute(values)
        plot.update(result["per_token"], result["l_edit"], result["alpha"])
        summary.value = _summary_html(result)
        alt.value = html.escape(alt_text(result))
        return result

    panel = Panel(controls, update, plot.figure, title="The losses, your numbers", outputs=[summary, alt],
                  render=background.png, describe=alt_text)
    panel.plot = plot
    panel.summary = summary
    panel.alt_text = alt
    return panel


def alt_text(result: dict) -> str:
    """The figure's text alternative for the losses :func:`compute` returned."""
    return loss_plots.loss_alt_text(result["per_token"], result["l_ins"], result["l_edit"], result["alpha"])


def _plot(result: dict) -> loss_plots.LossPlot:
    plot = loss_plots.loss_plot(result["per_token"], TOKENS, result["l_edit"], result["alpha"],
                                width=6.4, height=2.8, dpi=DPI * SCALE, title="L_ins, L_edit and L_all")
    set_pixel_scale(plot.figure, SCALE)
    return plot


def render_from_scratch(values: dict) -> bytes:
    """Benchmark baseline: compute and draw a NEW loss figure for ``values``, return its PNG."""
    return figure_png(_plot(compute(values)).figure)
