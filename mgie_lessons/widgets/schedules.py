"""Chapter 8's panel: a schedule, a timestep t, and a DDIM run back from x_t to the toy image.

Controls: the schedule kind, and sliders for T, the timestep t (0-based, below T), the number of
DDIM steps (at most t + 1) and a bias added to the noise predictor's answer; the predictor ("true
noise" or "reads x_t"). Every change reruns :mod:`mgie_lessons.schedules` and mutates the existing
figure (curves with ``set_data``, images with ``set_data``, titles with ``set_text``) over a cached
picture of the axes; it never builds a new figure.
"""

from __future__ import annotations

import html

import ipywidgets as widgets
import numpy as np

from .. import schedules
from ..plots import schedules as schedule_plots
from ..plots.common import HIDPI_SCALE, figure_png, set_pixel_scale
from ..validation import check_int
from .panel import Panel

__all__ = ["make_panel", "BENCH_SETTINGS", "render_from_scratch", "MAX_T", "compute", "summary_html"]

#: The panel accepts at most this many timesteps (the package itself has no limit).
MAX_T = 2000
#: The sliders' ranges for the DDIM steps and the bias.
MAX_STEPS, MAX_BIAS = 100, 0.05

STYLE = {"description_width": "9em"}
#: The figure's density at its display size (CSS pixels per inch) and device pixels per CSS pixel.
DPI, SCALE = 80, HIDPI_SCALE

DEFAULTS = {"kind": "linear", "T": 1000, "t": 500, "steps": 10, "predictor": "true noise", "bias": 0.0}

#: Settings the benchmark cycles through (each sets every control, on the sliders' steps).
BENCH_SETTINGS = [
    dict(DEFAULTS),
    {**DEFAULTS, "kind": "cosine", "t": 750, "bias": 0.01},
    {**DEFAULTS, "kind": "scaled_linear", "t": 250, "steps": 5},
    {**DEFAULTS, "t": 999, "steps": 20, "bias": 0.02, "predictor": "reads x_t"},
    {**DEFAULTS, "T": 200, "t": 100, "steps": 50, "bias": -0.01},
    {**DEFAULTS, "kind": "cosine", "T": 500, "t": 400, "steps": 1, "bias": 0.001},
]


def compute(values: dict):
    """Read the controls and run the package: (kind, abar, t, x_t, Reconstruction)."""
    kind = values["kind"]
    T = check_int(values["T"], "T", minimum=1, maximum=MAX_T)
    abar = schedules.alphas_cumprod(schedules.beta_schedule(kind, T))
    t = check_int(values["t"], "t", minimum=0, maximum=T - 1)
    steps = check_int(values["steps"], "steps", minimum=1)
    if steps > t + 1:
        raise ValueError(f"steps must be <= t + 1 = {t + 1} (DDIM visits at most every timestep from t down to 0)")
    bias = float(values["bias"])
    x0, noise = schedules.toy_example()
    x_t = schedules.q_sample(x0, t, noise, abar)
    reconstruction = schedules.ddim_reconstruction(x0, noise, abar, steps, bias=bias,
                                                   predictor=values["predictor"], start=t)
    return kind, abar, t, x_t, reconstruction


def summary_html(kind: str, abar: np.ndarray, t: int, reconstruction: schedules.Reconstruction) -> str:
    """The key numbers as HTML: abar_t, SNR, the first DDIM step's a and b, the final error."""
    snr = abar[t] / (1.0 - abar[t])
    timesteps = reconstruction.trajectory.timesteps
    t_prev = int(timesteps[1]) if timesteps.size > 1 else -1
    first = schedules.ddim_coefficients(int(timesteps[0]), t_prev, abar)
    return (
        f"<div>{html.escape(kind)} schedule, T = {abar.size}: at t = {t}, "
        f"&#257;<sub>t</sub> = {abar[t]:.4g}, SNR = {snr:.4g}, "
        f"&#8730;&#257;<sub>t</sub> = {np.sqrt(abar[t]):.4g}, &#8730;(1&#8722;&#257;<sub>t</sub>) = "
        f"{np.sqrt(1 - abar[t]):.4g}</div>"
        f"<div>first DDIM step {first.t} &#8594; {first.t_prev}: x &#8592; a x &#8722; b &#949;&#770; with "
        f"a = {first.a:.4g}, b = {first.b:.4g} (the seed uses a = 1, b = &#951; = 0.1)</div>"
        f"<div><b>final RMS error = {reconstruction.rms_error:.4g}</b>, "
        f"largest pixel error = {reconstruction.max_error:.4g}</div>"
    )


def make_panel() -> Panel:
    """The chapter 8 panel: schedule kind, T, t, DDIM steps, predictor and its bias."""
    controls = {
        "kind": widgets.Dropdown(options=list(schedules.SCHEDULE_KINDS), value=DEFAULTS["kind"],
                                 description="schedule", style=STYLE),
        "T": widgets.IntSlider(value=DEFAULTS["T"], min=1, max=MAX_T, description="T", style=STYLE),
        "t": widgets.IntSlider(value=DEFAULTS["t"], min=0, max=MAX_T - 1, description="timestep t (< T)",
                               style=STYLE),
        "steps": widgets.IntSlider(value=DEFAULTS["steps"], min=1, max=MAX_STEPS,
                                   description="DDIM steps (\u2264 t + 1)", style=STYLE),
        "predictor": widgets.Dropdown(options=list(schedules.PREDICTORS), value=DEFAULTS["predictor"],
                                      description="predictor", style=STYLE),
        "bias": widgets.FloatSlider(value=DEFAULTS["bias"], min=-MAX_BIAS, max=MAX_BIAS, step=0.001,
                                    readout_format=".3f", description="bias \u03b4", style=STYLE),
    }
    kind, abar, t, x_t, reconstruction = compute(DEFAULTS)
    plot = _plot(kind, abar, t, x_t, reconstruction)
    plot.freeze()   # fix the layout and bake labels and ticks into one bitmap: redraws paint only what changes
    summary = widgets.HTML(value=summary_html(kind, abar, t, reconstruction))
    alt = widgets.HTML(value=html.escape(schedule_plots.panel_alt_text(kind, abar, t, reconstruction)))

    def update(values: dict):
        kind, abar, t, x_t, reconstruction = compute(values)
        plot.update(kind, abar, t, x_t, reconstruction)
        summary.value = summary_html(kind, abar, t, reconstruction)
        alt.value = html.escape(schedule_plots.panel_alt_text(kind, abar, t, reconstruction))
        return kind, abar, t, reconstruction

    panel = Panel(controls, update, plot.figure, title="Schedules, the forward process and DDIM",
                  outputs=[summary, alt], render=plot.background.png,
                  describe=lambda shown: schedule_plots.panel_alt_text(*shown))
    panel.plot = plot
    panel.summary = summary
    panel.alt_text = alt
    return panel


def _plot(kind, abar, t, x_t, reconstruction) -> schedule_plots.SchedulePanelPlot:
    plot = schedule_plots.schedule_panel_plot(kind, abar, t, x_t, reconstruction, dpi=DPI * SCALE)
    set_pixel_scale(plot.figure, SCALE)
    return plot


def render_from_scratch(values: dict) -> bytes:
    """Benchmark baseline: compute and draw a NEW panel figure for ``values``, return its PNG."""
    return figure_png(_plot(*compute(values)).figure)
