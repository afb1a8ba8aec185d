"""Chapter 14's explorer: a gallery of the trained toy MGIE's edits, for every instruction (the
verbs "make" and "remove": 3 kinds x (6 colours + removal)) on each picture of the Jupyter
panel's list, precomputed by the panel itself when the book is built. An instruction naming a
shape the picture does not have shows the panel's message."""

from __future__ import annotations

from .kit import Explorer, PanelFrames, Select
from ..widgets.toy_mgie import DEFAULTS, PICTURES, instructions, make_panel

__all__ = ["make_explorer"]


def make_explorer() -> Explorer:
    """picture x instruction, frames from the chapter's panel (the typed texts become lists)."""
    parameters = [
        Select("image", PICTURES, label="picture", initial=DEFAULTS["image"]),
        Select("instruction", instructions(), label="instruction", initial=DEFAULTS["instruction"]),
    ]
    view = PanelFrames(make_panel, caption="Input, the model's edit and the exact target, with the expressive "
                                           "instruction the model wrote.")
    return Explorer("toy-mgie-explorer", parameters, [view], title="The trained toy MGIE: every instruction on "
                                                                    "three pictures")
