"""Chapter 9's panel: both guidance scales (s_V, s_X) and the instruction, on the toy noise model.

The two scales are sliders (drag and watch); the figure shows where the pair sits in the
(s_V, s_X) plane and the toy image after one guided step. The numbers
under it are the three predictions and the guided one at a latent cell inside the hat region.
Every change reruns :func:`mgie_lessons.guidance.one_step_edit` and mutates the existing figure.
"""

from __future__ import annotations

import html

import ipywidgets as widgets
import numpy as np

from .. import guidance
from ..plots import guidance as guidance_plots
from ..plots.common import HIDPI_SCALE, figure_png, set_pixel_scale
from .panel import Panel

__all__ = ["make_panel", "BENCH_SETTINGS", "render_from_scratch", "INSTRUCTIONS", "compute", "summary_html",
           "MAX_IMAGE_SCALE", "MAX_TEXT_SCALE"]

INSTRUCTIONS = ("add a blue hat", "null instruction")

STYLE = {"description_width": "9em"}
#: The sliders' ranges (InstructPix2Pix's defaults are 1.5 and 7.5).
MAX_IMAGE_SCALE, MAX_TEXT_SCALE = 8.0, 20.0
#: The figure's density at its display size (CSS pixels per inch) and device pixels per CSS pixel.
DPI, SCALE = 80, HIDPI_SCALE

DEFAULTS = {"s_image": 1.5, "s_text": 7.5, "instruction": "add a blue hat"}

#: Settings the benchmark cycles through (each sets every control, on the sliders' steps).
BENCH_SETTINGS = [
    dict(DEFAULTS),
    {**DEFAULTS, "s_image": 1.0, "s_text": 1.0},
    {**DEFAULTS, "s_image": 0.0, "s_text": 7.5},
    {**DEFAULTS, "s_image": 3.0, "s_text": 12.0},
    {**DEFAULTS, "s_image": 1.5, "s_text": 0.0, "instruction": "null instruction"},
    {**DEFAULTS, "s_image": 2.0, "s_text": 4.0},
]


def compute(values: dict):
    """Read the controls and run the package: (s_V, s_X, OneStepEdit)."""
    s_image, s_text = float(values["s_image"]), float(values["s_text"])
    edit = guidance_plots.toy_edit(s_image, s_text, instruction=values["instruction"])
    return s_image, s_text, edit


def _vector(values: np.ndarray) -> str:
    return "(" + ", ".join(f"{v:.3f}" for v in values) + ")"


def summary_html(s_image: float, s_text: float, edit: guidance.OneStepEdit) -> str:
    """The predictions at the hat cell, the guided one, and how much the edit changed outside the hat."""
    row, column = guidance_plots.HAT_CELL
    cell = (slice(None), row, column)
    outside = guidance.latent_region_mask("hat") == 0
    change = float(np.abs(edit.latent_edit - edit.image_latent)[:, outside].mean())
    hat = edit.image_edit[row * 8:(row + 1) * 8, column * 8:(column + 1) * 8].mean(axis=(0, 1))
    lines = [
        f"at latent cell {guidance_plots.HAT_CELL} (channels R, G, B mean, top&#8722;bottom), t = {edit.t}:",
        f"&#949;(z, 0, 0) = {_vector(edit.eps_uncond[cell])}",
        f"&#949;(z, V, 0) = {_vector(edit.eps_image[cell])}",
        f"&#949;(z, V, U) = {_vector(edit.eps_full[cell])}",
        f"<b>guided &#949;&#771; = {_vector(edit.terms.guided[cell])}</b> with s<sub>V</sub> = {s_image:g}, "
        f"s<sub>X</sub> = {s_text:g}",
        f"hat patch colour (RGB) = {_vector(hat)}; mean change of the latent outside the hat = {change:.3f}",
    ]
    return "<div>" + "</div><div>".join(lines) + "</div>"


def make_panel() -> Panel:
    """The chapter 9 panel: image scale s_V, instruction scale s_X, instruction."""
    controls = {
        "s_image": widgets.FloatSlider(value=DEFAULTS["s_image"], min=0.0, max=MAX_IMAGE_SCALE, step=0.1,
                                       description="image s_V", style=STYLE),
        "s_text": widgets.FloatSlider(value=DEFAULTS["s_text"], min=0.0, max=MAX_TEXT_SCALE, step=0.5,
                                      description="instruction s_X", style=STYLE),
        "instruction": widgets.Dropdown(options=list(INSTRUCTIONS), value=DEFAULTS["instruction"],
                                        description="instruction", style=STYLE),
    }
    s_image, s_text, edit = compute(DEFAULTS)
    plot = _plot(s_image, s_text, edit)
    plot.freeze()   # fix the layout and bake labels and ticks into one bitmap: redraws paint only what changes
    summary = widgets.HTML(value=summary_html(s_image, s_text, edit))
    alt = widgets.HTML(value=html.escape(guidance_plots.panel_alt_text(s_image, s_text, edit)))

    def update(values: dict):
        s_image, s_text, edit = compute(values)
        plot.update(s_image, s_text, edit)
        summary.value = summary_html(s_image, s_text, edit)
        alt.value = html.escape(guidance_plots.panel_alt_text(s_image, s_text, edit))
        return s_image, s_text, edit

    panel = Panel(controls, update, plot.figure, title="Two guidance scales on the toy model",
                  outputs=[summary, alt], render=plot.background.png,
                  describe=lambda shown: guidance_plots.panel_alt_text(*shown))
    panel.plot = plot
    panel.summary = summary
    panel.alt_text = alt
    return panel


def _plot(s_image: float, s_text: float, edit) -> guidance_plots.GuidancePanelPlot:
    plot = guidance_plots.guidance_panel_plot(s_image, s_text, edit, dpi=DPI * SCALE)
    set_pixel_scale(plot.figure, SCALE)
    return plot


def render_from_scratch(values: dict) -> bytes:
    """Benchmark baseline: compute and draw a NEW panel figure for ``values``, return its PNG."""
    return figure_png(_plot(*compute(values)).figure)
