"""Chapter 5's panel: the seed's denoising loop with your own start, noise, eta, T and noise rule.

The numbers are sliders (drag and watch); every change reruns :func:`mgie_lessons.diffusion.denoise`
and moves the existing line of the trajectory figure (``line.set_data``) over a cached picture of
the axes, instead of drawing a new figure.
"""

from __future__ import annotations

import html

import ipywidgets as widgets

from .. import diffusion, walkthrough
from ..plots import diffusion as diffusion_plots
from ..plots.common import HIDPI_SCALE, figure_png, set_pixel_scale
from ..validation import check_int
from .panel import Panel

__all__ = ["make_panel", "BENCH_SETTINGS", "render_from_scratch", "RULES", "MAX_STEPS", "noise_rule",
           "summary_text"]

#: The noise-prediction rules offered in the panel (label -> key).
RULES = {
    "the seed's: eps_hat_t = 0.2 t": "seed",
    "linear: eps_hat_t = c t": "linear",
    "constant: eps_hat_t = c": "constant",
}
#: The panel draws at most this many steps (the package itself has no limit).
MAX_STEPS = 50
#: The figure's density at its display size (CSS pixels per inch) and device pixels per CSS pixel.
DPI, SCALE = 80, HIDPI_SCALE

DEFAULTS = {
    "image": walkthrough.IMAGE_VALUE,
    "noise": walkthrough.NOISE_VALUE,
    "eta": walkthrough.ETA,
    "T": walkthrough.T,
    "rule": "seed",
    "c": walkthrough.NOISE_SLOPE,
}

#: Settings the benchmark cycles through (each sets every control, on the sliders' steps).
BENCH_SETTINGS = [
    dict(DEFAULTS),
    {**DEFAULTS, "eta": 0.083},
    {**DEFAULTS, "eta": 0.3, "T": 5},
    {**DEFAULTS, "rule": "linear", "c": 0.05, "T": 8},
    {**DEFAULTS, "rule": "constant", "c": 0.1, "eta": 0.5, "T": 2},
    {**DEFAULTS, "image": 0.2, "noise": -0.1, "rule": "constant", "c": -0.05, "T": 10},
]


def noise_rule(rule: str, c: float):
    """The noise-prediction function for a rule key ("seed", "linear", "constant") and constant c."""
    if rule == "seed":
        return diffusion.linear_noise_rule(walkthrough.NOISE_SLOPE)
    if rule == "linear":
        return diffusion.linear_noise_rule(c)
    if rule == "constant":
        return diffusion.constant_noise_rule(c)
    raise ValueError(f"rule must be one of {sorted(set(RULES.values()))}, got {rule!r}")


def _compute(values: dict):
    """Read the controls, run the package; returns (clean value I, DenoiseResult)."""
    steps = check_int(values["T"], "T", minimum=1, maximum=MAX_STEPS)
    c = values["c"] if values["rule"] != "seed" else walkthrough.NOISE_SLOPE
    rule = noise_rule(values["rule"], c)
    start = diffusion.noisy_start(values["image"], values["noise"])
    result = diffusion.denoise(start, values["eta"], steps, rule)
    return float(values["image"]), result


def _summary_html(image: float, result: diffusion.DenoiseResult) -> str:
    """The trajectory and the noise budget as text (short for long runs)."""
    pairs = [(result.T - i, float(z)) for i, z in enumerate(result.trajectory)]
    if len(pairs) > 8:
        shown = pairs[:3] + [None] + pairs[-3:]
    else:
        shown = pairs
    parts = ["\u2026" if p is None else f"z<sub>{p[0]}</sub> = {p[1]:.4g}" for p in shown]
    start = float(result.trajectory[0])
    removed = start - float(result.final)
    error = float(result.final) - image
    return (
        "<div>" + ", ".join(parts) + "</div>"
        f"<div>noise added \u03b5 = z<sub>T</sub> \u2212 I = {start - image:.4g}; "
        f"removed \u03b7 \u03a3 \u03b5\u0302<sub>t</sub> = {removed:.4g}; "
        f"<b>z<sub>0</sub> \u2212 I = {error:+.4g}</b></div>"
    )


def make_panel() -> Panel:
    """The chapter 5 panel: start value I, noise eps, eta, T, the noise rule and its constant c."""
    style = {"description_width": "initial"}
    controls = {
        "image": widgets.FloatSlider(value=DEFAULTS["image"], min=-1.0, max=1.0, step=0.01,
                                     description="clean value I", style=style),
        "noise": widgets.FloatSlider(value=DEFAULTS["noise"], min=-1.0, max=1.0, step=0.01,
                                     description="noise \u03b5", style=style),
        "eta": widgets.FloatSlider(value=DEFAULTS["eta"], min=0.0, max=1.0, step=0.001, readout_format=".3f",
                                   description="step size \u03b7", style=style),
        "T": widgets.IntSlider(value=DEFAULTS["T"], min=1, max=MAX_STEPS, description="steps T", style=style),
        "rule": widgets.Dropdown(options=list(RULES.items()), value=DEFAULTS["rule"],
                                 description="rule", layout=widgets.Layout(width="24em")),
        "c": widgets.FloatSlider(value=DEFAULTS["c"], min=-1.0, max=1.0, step=0.01,
                                 description="constant c (not for the seed's rule)", style=style),
    }
    image, result = _compute(DEFAULTS)
    plot = _plot(result, image)
    background = diffusion_plots.freeze_plot(plot)   # text is painted only when the axes change
    summary = widgets.HTML(value=_summary_html(image, result))
    alt = widgets.HTML(value="")   # the figure's description in words, for screen readers in Jupyter

    def update(values: dict):
        image, result = _compute(values)
        plot.update(result, image)
        summary.value = _summary_html(image, result)
        alt.value = html.escape(diffusion_plots.trajectory_alt_text(result, image))
        return image, result

    panel = Panel(controls, update, plot.figure, title="The seed's denoising loop, your numbers",
                  outputs=[summary, alt], render=background.png,
                  describe=lambda shown: diffusion_plots.trajectory_alt_text(shown[1], shown[0]))
    panel.plot = plot
    panel.summary = summary
    panel.alt_text = alt
    return panel


def _plot(result, image) -> diffusion_plots.TrajectoryPlot:
    plot = diffusion_plots.trajectory_plot(result, image, title="Your denoising run", width=5.2,
                                           height=2.8, dpi=DPI * SCALE, legend="outside")
    set_pixel_scale(plot.figure, SCALE)
    return plot


def render_from_scratch(values: dict) -> bytes:
    """Benchmark baseline: compute and draw a NEW trajectory figure for ``values``, return its PNG."""
    image, result = _compute(values)
    return figure_png(_plot(result, image).figure)


def summary_text(values: dict) -> str:
    """The summary line the panel shows for ``values`` (plain text, for tests and the dashboard)."""
    image, result = _compute(values)
    return html.unescape(_summary_html(image, result))
