"""Chapter 10's explorer: the edit head's output U and where a row of U acts on the image, for
the number of queries, the width d_out, the number of heads and the row (the panel's controls)."""

from __future__ import annotations

from .kit import Explorer, PanelFrames, Range
from ..widgets.edit_head import make_panel

__all__ = ["make_explorer"]


def make_explorer() -> Explorer:
    """queries x d_out x heads x row, frames from the chapter's panel (a row past the last query
    gives the panel's message)."""
    parameters = [
        Range("n_queries", [1, 8, 77], label="learned queries (rows of U)", initial=77),
        Range("d_out", [4, 8, 12], label="width d_out", initial=12),
        Range("n_heads", [1, 2, 4], label="attention heads", initial=4),
        Range("row", [0, 1, 7, 38, 76], label="row of U", initial=0),
    ]
    view = PanelFrames(make_panel, caption="U (left, the chosen row marked) and that row's attention over the image.")
    return Explorer("edit-head-explorer", parameters, [view], title="The edit head: learned queries read the [IMG] states")
