"""The website's kernel-free explorers, one module per chapter (``make_explorer()`` in each).

Each explorer offers every numeric parameter of the chapter's Jupyter panel
(``mgie_lessons.widgets.<topic>.make_panel``) as a slider, checkbox or drop-down list (matrices
and instructions typed into text boxes become a few presets) and shows what the package
computes for the chosen values: precomputed frames, or the chapter's maths run in the page.
See :mod:`mgie_lessons.explorers.kit` (the kit every explorer is built with).
"""

from __future__ import annotations

import importlib

__all__ = ["TOPICS", "make_explorer", "panel_controls", "is_numeric_control", "explorer_topic"]

#: Chapter topics with an explorer, in chapter order (the modules of this package).
TOPICS = ("tokens", "attention", "ffn", "visual_tokens", "diffusion", "losses", "errata", "schedules",
          "guidance", "edit_head", "blending", "end_to_end", "learning", "toy_mgie")


def make_explorer(topic: str):
    """The explorer of chapter ``topic`` (one of :data:`TOPICS`)."""
    if topic not in TOPICS:
        raise ValueError(f"topic must be one of {TOPICS}, got {topic!r}")
    return importlib.import_module(f"{__name__}.{topic}").make_explorer()


def explorer_topic(explorer_id: str) -> str:
    """The chapter topic of an explorer's element id ('end-to-end-explorer' -> 'end_to_end')."""
    return explorer_id.removesuffix("-explorer").replace("-", "_")


def panel_controls(topic: str) -> dict:
    """The controls {name: widget} of chapter ``topic``'s Jupyter panel, read from its make_panel()
    (so the explorers' tests follow the panels as they change); the widgets are closed."""
    if topic not in TOPICS:
        raise ValueError(f"topic must be one of {TOPICS}, got {topic!r}")
    panel = importlib.import_module(f"mgie_lessons.widgets.{topic}").make_panel()
    controls = dict(panel.controls)
    for control in [*controls.values(), panel.widget, panel.image, panel.message, *panel.outputs]:
        control.close()
    return controls


def is_numeric_control(control) -> bool:
    """A numeric parameter of a panel: a slider, number box, checkbox, drop-down list or other
    selection, or a text box that holds one number. Text boxes for matrices, vectors and
    instructions are not (an explorer may offer those as presets)."""
    import ipywidgets as widgets

    if isinstance(control, widgets.Text):
        try:
            float(control.value)
        except (TypeError, ValueError):
            return False
        return True
    return isinstance(control, (widgets.ValueWidget,)) and not isinstance(control, (widgets.Textarea, widgets.HTML,
                                                                                      widgets.Label))
