"""Chapter 11's explorer: the toy blue-hat edit with blending and masking (every control of the
Jupyter panel; the typed list of levels becomes four presets)."""

from __future__ import annotations

from .kit import Checkbox, Explorer, PanelFrames, Range, Select
from ..widgets.blending import make_panel

__all__ = ["make_explorer", "LEVELS"]

#: Levels offered (the panel's text box): 0 is the full 32 x 32 image, 3 the 4 x 4 level.
LEVELS = {"all levels: 0, 1, 2, 3": "0, 1, 2, 3", "the image only: 0": "0",
          "the coarse levels: 2, 3": "2, 3", "the coarsest only: 3": "3"}


def make_explorer() -> Explorer:
    """blending x levels x blended steps x masking x T x eta, frames from the chapter's panel."""
    parameters = [
        Checkbox("blending", label="blending", initial=True),
        Select("levels", LEVELS, label="levels that blend"),
        Range("blend_steps", [1, 4, 8], label="blended steps k", initial=8),
        Checkbox("masking", label="cross-attention masking", initial=False),
        Range("T", [4, 8], label="steps T", initial=8),
        Range("eta", [0.1, 0.25, 0.5], label="step size eta", initial=0.25),
    ]
    view = PanelFrames(make_panel, caption="Edited toy image (left) and how much each pixel changed (right).")
    return Explorer("blending-explorer", parameters, [view], title="Toy blue-hat edit: blending and masking")
