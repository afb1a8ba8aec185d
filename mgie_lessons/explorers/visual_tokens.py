"""Chapter 4's explorer: the toy edit head's cross-attention over the [IMG] tokens, for the
number of tokens m, of queries q and the random seed of its parameters (the panel's controls)."""

from __future__ import annotations

from .kit import Explorer, PanelFrames, Range
from ..widgets.visual_tokens import make_panel

__all__ = ["make_explorer"]


def make_explorer() -> Explorer:
    """m x q x seed, frames from the chapter's panel."""
    parameters = [
        Range("n_tokens", [1, 2, 4, 6, 8], label="[IMG] tokens m", initial=4),
        Range("n_queries", [1, 2, 4, 6, 12], label="queries q", initial=6),
        Range("seed", [0, 1, 2], label="edit-head seed", initial=0),
    ]
    view = PanelFrames(make_panel, caption="Cross-attention weights (queries x [IMG] tokens) and the head's output U.")
    return Explorer("visual-tokens-explorer", parameters, [view], title="The toy edit head over the [IMG] tokens")
