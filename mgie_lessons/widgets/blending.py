"""Widget panel for chapter 11: the toy blue-hat edit with blending and masking switched on and off.

Controls: blending on/off, which levels blend (typed as "0, 1, 2, 3"), the number k of blended
steps, masking on/off, the number of steps T and the step size eta. The figure shows the edited
image and the per-pixel change; the text line shows the change outside and inside the hat
(Eq. 11.10), computed by :func:`mgie_lessons.blending.toy_edit`.
"""

from __future__ import annotations

import ipywidgets as widgets

from .. import blending
from ..plots.blending import EditView, describe
from ..plots.common import BlitRenderer, figure_png
from .panel import Panel, parse_matrix, parse_vector

__all__ = ["make_panel", "BENCH_SETTINGS", "render_from_scratch", "compute"]

DEFAULTS = {"blending": True, "levels": "0, 1, 2, 3", "blend_steps": "8", "masking": False, "T": "8", "eta": "0.25"}

BENCH_SETTINGS = [
    {"blending": False, "masking": False},
    {"blending": True, "masking": False, "levels": "0, 1, 2, 3", "blend_steps": "8"},
    {"blending": False, "masking": True},
    {"blending": True, "masking": True, "levels": "0, 1, 2, 3", "blend_steps": "8"},
    {"blending": True, "masking": False, "levels": "0", "blend_steps": "8"},
    {"blending": True, "masking": False, "levels": "0, 1, 2, 3", "blend_steps": "4"},
]


def _number(text, name: str) -> float:
    return float(parse_matrix(str(text), name, shape=(1, 1))[0, 0])


def compute(values: dict):
    """Read the controls' values and run the toy edit (raises ValueError for bad values)."""
    values = {**DEFAULTS, **values}
    levels = tuple(parse_vector(values["levels"], "levels"))
    for level in levels:
        if not float(level).is_integer():
            raise ValueError(f"levels must be whole numbers from 0 to 3, got {level:g}")
    levels = tuple(int(level) for level in levels)
    return blending.toy_edit(T=_number(values["T"], "T"), eta=_number(values["eta"], "eta"),
                             blend_levels=levels if values["blending"] else (),
                             blend_steps=_number(values["blend_steps"], "blend_steps"),
                             masking=bool(values["masking"]))


def _numbers_html(result) -> str:
    return (
        f"<p>{describe(result)}: "
        f"change outside the hat $\\Delta_{{\\text{{out}}}} = {result.change_outside:.4f}$, "
        f"inside $\\Delta_{{\\text{{in}}}} = {result.change_inside:.4f}$</p>"
    )


def make_panel() -> Panel:
    controls = {
        "blending": widgets.Checkbox(value=DEFAULTS["blending"], description="blending"),
        "levels": widgets.Text(value=DEFAULTS["levels"], description="levels",
                               tooltip="levels to blend, e.g. 0, 1, 2, 3 (0 = 32x32, 3 = 4x4)"),
        "blend_steps": widgets.Text(value=DEFAULTS["blend_steps"], description="blended k",
                                    tooltip="blend during the first k of the T steps"),
        "masking": widgets.Checkbox(value=DEFAULTS["masking"], description="masking"),
        "T": widgets.Text(value=DEFAULTS["T"], description="steps T"),
        "eta": widgets.Text(value=DEFAULTS["eta"], description="eta", tooltip="step size, 0 to 1"),
    }
    view = EditView(blending.toy_edit(blend_levels=(0, 1, 2, 3)))
    numbers = widgets.HTMLMath(value="")

    def update(values: dict) -> None:
        result = compute(values)
        view.update(result)
        numbers.value = _numbers_html(result)

    renderer = BlitRenderer(view.figure, view.dynamic_artists())
    panel = Panel(controls, update, view.figure, title="Toy blue-hat edit: blending and masking",
                  outputs=[numbers], render=renderer.png,
                  alt="Edited toy image and the map of how much each pixel changed")
    panel.view = view
    panel.numbers = numbers
    return panel


def render_from_scratch(values: dict) -> bytes:
    """Benchmark baseline: recompute and draw a brand-new figure."""
    view = EditView(compute(values))
    return figure_png(view.figure)
