"""Chapter 5's panel: the seed's denoising loop with your own start, noise, eta, T and noise rule.

Numbers are typed into text boxes (so a non-numeric entry gives a message, not a traceback);
every change reruns :func:`mgie_lessons.diffusion.denoise` and moves the existing line of the
trajectory figure (``line.set_data``) instead of drawing a new figure.
"""

from __future__ import annotations

import html

import ipywidgets as widgets

from .. import diffusion, seed
from ..plots import diffusion as diffusion_plots
from ..plots.common import figure_png
from ..validation import check_int
from .panel import Panel, parse_vector

__all__ = ["make_panel", "BENCH_SETTINGS", "render_from_scratch", "RULES", "MAX_STEPS", "noise_rule"]

#: The noise-prediction rules offered in the panel (label -> key).
RULES = {
    "the seed's: eps_hat_t = 0.2 t": "seed",
    "linear: eps_hat_t = c t": "linear",
    "constant: eps_hat_t = c": "constant",
}
#: The panel draws at most this many steps (the package itself has no limit).
MAX_STEPS = 200

DEFAULTS = {
    "image": f"{seed.IMAGE_VALUE:g}",
    "noise": f"{seed.NOISE_VALUE:g}",
    "eta": f"{seed.ETA:g}",
    "T": f"{seed.T}",
    "rule": "seed",
    "c": f"{seed.NOISE_SLOPE:g}",
}

#: Valid settings for the benchmark (the controls' values, as the panel holds them).
BENCH_SETTINGS = [
    dict(DEFAULTS),
    {**DEFAULTS, "eta": "0.0833333"},
    {**DEFAULTS, "eta": "0.3", "T": "5"},
    {**DEFAULTS, "rule": "linear", "c": "0.05", "T": "8"},
    {**DEFAULTS, "rule": "constant", "c": "0.1", "eta": "0.5", "T": "2"},
    {**DEFAULTS, "image": "0.2", "noise": "-0.1", "rule": "constant", "c": "-0.05", "T": "10"},
]


def _number(text, name: str) -> float:
    return float(parse_vector(str(text), name, length=1)[0])


def noise_rule(rule: str, c: float):
    """The noise-prediction function for a rule key ("seed", "linear", "constant") and constant c."""
    if rule == "seed":
        return diffusion.linear_noise_rule(seed.NOISE_SLOPE)
    if rule == "linear":
        return diffusion.linear_noise_rule(c)
    if rule == "constant":
        return diffusion.constant_noise_rule(c)
    raise ValueError(f"rule must be one of {sorted(set(RULES.values()))}, got {rule!r}")


def _compute(values: dict):
    """Read the controls, run the package; returns (clean value I, DenoiseResult, rule label)."""
    image = _number(values["image"], "image I")
    noise = _number(values["noise"], "noise eps")
    eta = _number(values["eta"], "eta")
    steps = _number(values["T"], "T")
    check_int(steps, "T", minimum=1, maximum=MAX_STEPS)
    c = _number(values["c"], "c") if values["rule"] != "seed" else seed.NOISE_SLOPE
    rule = noise_rule(values["rule"], c)
    start = diffusion.noisy_start(image, noise)
    result = diffusion.denoise(start, eta, steps, rule)
    return image, result


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
    controls = {
        "image": widgets.Text(value=DEFAULTS["image"], description="clean I"),
        "noise": widgets.Text(value=DEFAULTS["noise"], description="noise \u03b5"),
        "eta": widgets.Text(value=DEFAULTS["eta"], description="step \u03b7"),
        "T": widgets.Text(value=DEFAULTS["T"], description="steps T"),
        "rule": widgets.Dropdown(options=list(RULES.items()), value=DEFAULTS["rule"],
                                 description="rule", layout=widgets.Layout(width="24em")),
        "c": widgets.Text(value=DEFAULTS["c"], description="constant c"),
    }
    image, result = _compute(DEFAULTS)
    plot = diffusion_plots.trajectory_plot(result, image, title="Your denoising run", width=5.2,
                                           height=2.8, dpi=72, legend="outside")
    background = diffusion_plots.freeze_plot(plot)   # text is painted only when the axes change
    summary = widgets.HTML(value=_summary_html(image, result))
    alt = widgets.HTML(value="")   # the figure's description, read by screen readers and tests

    state = {}

    def update(values: dict) -> None:
        image, result = _compute(values)
        plot.update(result, image)
        background.refresh()
        summary.value = _summary_html(image, result)
        description = diffusion_plots.trajectory_alt_text(result, image)
        alt.value = html.escape(description)
        if "panel" in state:
            state["panel"].alt = description

    state["panel"] = Panel(controls, update, plot.figure, title="The seed's denoising loop, your numbers",
                           outputs=[summary, alt], alt=diffusion_plots.trajectory_alt_text(result, image))
    return state["panel"]


def render_from_scratch(values: dict) -> bytes:
    """Benchmark baseline: compute and draw a NEW trajectory figure for ``values``, return its PNG."""
    image, result = _compute(values)
    plot = diffusion_plots.trajectory_plot(result, image, title="Your denoising run", width=5.2,
                                           height=2.8, dpi=72, legend="outside")
    return figure_png(plot.figure)


def summary_text(values: dict) -> str:
    """The summary line the panel shows for ``values`` (plain text, for tests and the dashboard)."""
    image, result = _compute(values)
    return html.unescape(_summary_html(image, result))
