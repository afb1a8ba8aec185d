"""Chapter 7's explorer: the seed's printed matrices minus the computed ones (the panel's two
drop-down lists)."""

from __future__ import annotations

from .kit import Explorer, PanelFrames, Select
from ..widgets.errata import ATTENTION_MATRICES, FFN_MATRICES, make_panel

__all__ = ["make_explorer"]


def make_explorer() -> Explorer:
    """Attention matrix x 10 x 2 matrix, frames from the chapter's panel."""
    parameters = [
        Select("attention", list(ATTENTION_MATRICES), label="attention matrix"),
        Select("ffn", list(FFN_MATRICES), label="10 x 2 matrix"),
    ]
    view = PanelFrames(make_panel, caption="Printed minus computed: red and blue cells are where the seed is wrong.")
    return Explorer("errata-explorer", parameters, [view], title="The seed's printed matrices, checked")
