"""Chapter 9's explorer: one guided step of the toy edit for the image scale s_V, the instruction
scale s_X and the instruction (the panel's controls)."""

from __future__ import annotations

from .kit import Explorer, PanelFrames, Range, Select
from ..widgets.guidance import INSTRUCTIONS, make_panel

__all__ = ["make_explorer"]


def make_explorer() -> Explorer:
    """s_V x s_X x instruction, frames from the chapter's panel."""
    parameters = [
        Range("s_image", [0.0, 0.5, 1.0, 1.5, 2.0, 3.0], label="image scale s_V", initial=1.5),
        Range("s_text", [0.0, 1.0, 3.0, 5.0, 7.5, 10.0], label="instruction scale s_X", initial=7.5),
        Select("instruction", list(INSTRUCTIONS), label="instruction"),
    ]
    view = PanelFrames(make_panel, caption="The (s_V, s_X) plane and the toy image after one guided step.")
    return Explorer("guidance-explorer", parameters, [view], title="Classifier-free guidance with two scales")
