"""Widget panel for chapter 11: the toy blue-hat edit with blending and masking switched on and off.

Controls: blending on/off, which levels blend (typed as "0, 1, 2, 3"), sliders for the number k
of blended steps, the number of steps T and the step size eta, and masking on/off. The figure shows the edited
image and the per-pixel change; the text line shows the change outside and inside the hat
(Eq. 11.10), computed by :func:`mgie_lessons.blending.toy_edit`.
"""

from __future__ import annotations

import ipywidgets as widgets

from .. import blending
from ..plots.blending import EditView, describe
from ..plots.common import HIDPI_SCALE, Blitter, figure_png, set_pixel_scale
from .panel import Panel, parse_vector

__all__ = ["make_panel", "BENCH_SETTINGS", "render_from_scratch", "compute", "MAX_STEPS"]

#: The panel's largest number of steps T (the package allows up to blending.MAX_STEPS).
MAX_STEPS = 32
#: The figure's density at its display size (CSS pixels per inch) and device pixels per CSS pixel.
DPI, SCALE = 72, HIDPI_SCALE

DEFAULTS = {"blending": True, "levels": "0, 1, 2, 3", "blend_steps": 8, "masking": False, "T": 8, "eta": 0.25}

#: Settings the benchmark cycles through (each sets every control).
BENCH_SETTINGS = [
    {**DEFAULTS, "blending": False},
    dict(DEFAULTS),
    {**DEFAULTS, "blending": False, "masking": True},
    {**DEFAULTS, "masking": True},
    {**DEFAULTS, "levels": "0"},
    {**DEFAULTS, "blend_steps": 4},
    {**DEFAULTS, "T": 12, "eta": 0.2, "blend_steps": 6},
]


def compute(values: dict):
    """Read the controls' values and run the toy edit (raises ValueError for bad values)."""
    values = {**DEFAULTS, **values}
    levels = tuple(parse_vector(values["levels"], "levels"))
    for level in levels:
        if not float(level).is_integer():
            raise ValueError(f"levels must be whole numbers from 0 to 3, got {level:g}")
    levels = tuple(int(level) for level in levels)
    return blending.toy_edit(T=values["T"], eta=values["eta"],
                             blend_levels=levels if values["blending"] else (),
                             blend_steps=values["blend_steps"], masking=bool(values["masking"]))


def _numbers_html(result) -> str:
    return (
        f"<p>{describe(result)}: "
        f"change outside the hat $\\Delta_{{\\text{{out}}}} = {result.change_outside:.4f}$, "
        f"inside $\\Delta_{{\\text{{in}}}} = {result.change_inside:.4f}$</p>"
    )


def make_panel() -> Panel:
    """The chapter 11 panel: blending and its levels and steps, masking, T and eta."""
    style = {"description_width": "initial"}
    controls = {
        "blending": widgets.Checkbox(value=DEFAULTS["blending"], description="blending"),
        "levels": widgets.Text(value=DEFAULTS["levels"], description="levels",
                               tooltip="levels to blend, e.g. 0, 1, 2, 3 (0 = 32x32, 3 = 4x4)"),
        "blend_steps": widgets.IntSlider(value=DEFAULTS["blend_steps"], min=0, max=MAX_STEPS,
                                         description="blended steps k", style=style,
                                         tooltip="blend during the first k of the T steps (k <= T)"),
        "masking": widgets.Checkbox(value=DEFAULTS["masking"], description="masking"),
        "T": widgets.IntSlider(value=DEFAULTS["T"], min=1, max=MAX_STEPS, description="steps T", style=style),
        "eta": widgets.FloatSlider(value=DEFAULTS["eta"], min=0.0, max=1.0, step=0.01, description="step size eta",
                                   readout_format=".2f", style=style),
    }
    view = _view(blending.toy_edit(blend_levels=(0, 1, 2, 3)))
    numbers = widgets.HTMLMath(value="")

    def update(values: dict):
        result = compute(values)
        view.update(result)
        numbers.value = _numbers_html(result)
        return result

    renderer = Blitter(view.figure, view.dynamic_artists())
    panel = Panel(controls, update, view.figure, title="Toy blue-hat edit: blending and masking",
                  outputs=[numbers], render=renderer.png, describe=alt_text)
    panel.view = view
    panel.numbers = numbers
    return panel


def alt_text(result) -> str:
    """The figure's text alternative for the values shown."""
    return (f"Left, the toy image after the edit ({describe(result)}); right, how much each pixel "
            f"changed: mean change {result.change_outside:.4f} outside the hat and "
            f"{result.change_inside:.4f} inside it.")


def _view(result) -> EditView:
    view = EditView(result, dpi=DPI * SCALE)
    set_pixel_scale(view.figure, SCALE)
    return view


def render_from_scratch(values: dict) -> bytes:
    """Benchmark baseline: recompute and draw a brand-new figure."""
    return figure_png(_view(compute(values)).figure)
