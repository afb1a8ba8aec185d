"""Chapter 7's panel: pick printed matrices of the seed and see printed - computed."""

from __future__ import annotations

import html
from functools import lru_cache

import ipywidgets as widgets

from .. import pipeline, walkthrough
from ..printed import compare_printed
from ..plots import errata as errata_plots
from ..plots.common import HIDPI_SCALE, Blitter, figure_png, set_pixel_scale
from .panel import Panel

__all__ = ["make_panel", "BENCH_SETTINGS", "render_from_scratch", "ATTENTION_MATRICES", "FFN_MATRICES",
           "comparison_for"]

#: label -> (name of the printed data in ``walkthrough``, name of the true value)
ATTENTION_MATRICES = {
    "Q K^T": ("PRINTED_QK_T", "scores"),
    "Q K^T / sqrt(d_k)": ("PRINTED_SCALED_SCORES", "scaled_scores"),
    "softmax weights": ("PRINTED_ATTENTION_WEIGHTS", "weights"),
}
FFN_MATRICES = {
    "attention output": ("PRINTED_ATTENTION_OUTPUT", "output"),
    "X_attention W_1 + b_1": ("PRINTED_FFN_PRE_ACTIVATION", "pre_activation"),
    "ReLU(X_attention W_1 + b_1)": ("PRINTED_FFN_HIDDEN", "hidden"),
    "FFN output": ("PRINTED_FFN_OUTPUT", "ffn_output"),
}


def _true_values() -> dict:
    run = pipeline.seed_run()
    result, forward = run.attention, run.ffn
    return {"scores": result.scores, "scaled_scores": result.scaled_scores, "weights": result.weights,
            "output": result.output, "pre_activation": forward.pre_activation, "hidden": forward.hidden,
            "ffn_output": forward.output}


@lru_cache(maxsize=None)
def comparison_for(label: str):
    """The :class:`PrintedComparison` of one printed matrix (by its label) with its true value.

    The seed's matrices never change, so each comparison is computed once and kept."""
    table = {**ATTENTION_MATRICES, **FFN_MATRICES}
    if label not in table:
        raise ValueError(f"matrix must be one of {list(table)}, got {label!r}")
    printed_name, true_name = table[label]
    return compare_printed(getattr(walkthrough, printed_name), _true_values()[true_name])


def _summary(label: str, comparison) -> str:
    total = comparison.computed_shape[0] * comparison.computed_shape[1]
    return (f"{html.escape(label)}: the seed prints {len(comparison.row_lengths)} rows for "
            f"{comparison.computed_shape[0]} x {comparison.computed_shape[1]}; "
            f"{len(comparison.disagreements)} of {total} entries differ beyond printing precision "
            f"(largest difference {comparison.max_abs_difference:.4f}).")


def _group_limit(labels) -> float:
    """One colour scale for a whole group of matrices, so switching keeps the colour bar."""
    return max(errata_plots.difference_limit(comparison_for(label)) for label in labels)


def _alt_text(comparisons) -> str:
    """Alt text for the two heatmaps, from the comparisons ``update`` returns."""
    wide, narrow = comparisons
    return (f"Two heatmaps of printed minus computed values. Left, a 10 by 10 attention matrix: "
            f"{len(wide.disagreements)} of 100 entries differ, the largest by {wide.max_abs_difference:.3f}. "
            f"Right, a 10 by 2 matrix: {len(narrow.disagreements)} of 20 differ, the largest by "
            f"{narrow.max_abs_difference:.3f}.")


#: The figure's size (inches; narrower than the chapter's copy: fewer pixels to encode at each
#: update), density at its display size (CSS pixels per inch) and device pixels per CSS pixel.
WIDTH, HEIGHT, DPI, SCALE = 8.4, 4.2, 72, HIDPI_SCALE


def _figure_for(values: dict, *, annotate: bool = True):
    figure, left, right = errata_plots.two_difference_heatmaps(
        comparison_for(values["attention"]), comparison_for(values["ffn"]),
        wide_title=values["attention"], narrow_title=values["ffn"],
        wide_limit=_group_limit(ATTENTION_MATRICES), narrow_limit=_group_limit(FFN_MATRICES),
        annotate=annotate, dpi=DPI * SCALE, width=WIDTH, height=HEIGHT)
    figure.suptitle("printed - computed: what the seed prints minus the true value", fontsize=11)
    set_pixel_scale(figure, SCALE)
    return figure, left, right


def make_panel() -> Panel:
    """Two dropdowns, two difference heatmaps updated in place (chapter 7)."""
    controls = {
        "attention": widgets.Dropdown(options=list(ATTENTION_MATRICES), description="attention matrix"),
        "ffn": widgets.Dropdown(options=list(FFN_MATRICES), description="10 x 2 matrix"),
    }
    for control in controls.values():
        control.style.description_width = "initial"
    summary = widgets.HTML()
    # The cells are not labelled in the panel (each label costs time at every redraw); the
    # summary line and the colour bars carry the numbers, and the chapter shows labelled copies.
    figure, left, right = _figure_for({name: control.value for name, control in controls.items()},
                                      annotate=False)
    wide_limit, narrow_limit = _group_limit(ATTENTION_MATRICES), _group_limit(FFN_MATRICES)
    renderer = Blitter(figure, [left.image, right.image])

    def update(values: dict):
        wide, narrow = comparison_for(values["attention"]), comparison_for(values["ffn"])
        for heatmap, comparison, title, limit in (
                (left, wide, values["attention"], wide_limit),
                (right, narrow, values["ffn"], narrow_limit)):
            heatmap.update(comparison.difference, title=title, vmin=-limit, vmax=limit)
        summary.value = "<p>" + "<br>".join((_summary(values["attention"], wide), _summary(values["ffn"], narrow))) + "</p>"
        return wide, narrow

    return Panel(controls, update, figure, title="The seed's printed matrices, checked", outputs=[summary],
                 render=renderer.png, describe=_alt_text)


BENCH_SETTINGS = [
    {"attention": "Q K^T", "ffn": "attention output"},
    {"attention": "softmax weights", "ffn": "FFN output"},
    {"attention": "Q K^T / sqrt(d_k)", "ffn": "ReLU(X_attention W_1 + b_1)"},
]


def render_from_scratch(values: dict) -> bytes:
    """Benchmark baseline: compute and draw a new figure."""
    figure, _, _ = _figure_for(values)
    return figure_png(figure)
