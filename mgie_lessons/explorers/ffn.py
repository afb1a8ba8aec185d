"""Chapter 3's explorer: the feed-forward network on the attention output, for the input H and
the weights W1, b1, W2, b2 (every control of the Jupyter panel; typed matrices become presets)."""

from __future__ import annotations

from .kit import Explorer, PanelFrames, Select
from ..widgets.ffn import make_panel

__all__ = ["make_explorer", "W1_PRESETS", "B1_PRESETS", "W2_PRESETS", "B2_PRESETS"]

#: W1 as typed into the panel: the seed's, negative (ReLU zeroes everything), two different
#: columns (rank of Z), larger.
W1_PRESETS = {"the seed's: 0.2 everywhere": "0.2, 0.2; 0.2, 0.2", "negative: -1 everywhere": "-1, -1; -1, -1",
              "two columns: 0.2, -0.2; 0.2, -0.2": "0.2, -0.2; 0.2, -0.2", "larger: 1 everywhere": "1, 1; 1, 1"}
B1_PRESETS = {"the seed's: 0.1, 0.1": "0.1, 0.1", "zero: 0, 0": "0, 0", "negative: -0.3, -0.3": "-0.3, -0.3"}
W2_PRESETS = {"the seed's: 0.3 everywhere": "0.3, 0.3; 0.3, 0.3", "zero (then F = b2)": "0, 0; 0, 0",
              "swap: 0, 1; 1, 0": "0, 1; 1, 0"}
B2_PRESETS = {"the seed's: 0.1, 0.1": "0.1, 0.1", "zero: 0, 0": "0, 0"}


def make_explorer() -> Explorer:
    """Input x W1 x b1 x W2 x b2, frames from the chapter's panel."""
    parameters = [
        Select("source", [("computed in chapter 2", "computed"), ("as the seed prints it", "printed")],
               label="attention output H"),
        Select("W1", W1_PRESETS, label="W1"),
        Select("b1", B1_PRESETS, label="b1"),
        Select("W2", W2_PRESETS, label="W2"),
        Select("b2", B2_PRESETS, label="b2"),
    ]
    view = PanelFrames(make_panel, caption="H, P = H W1 + b1, Z = ReLU(P) and F = Z W2 + b2, each coloured by sign.")
    return Explorer("ffn-explorer", parameters, [view], title="The feed-forward network, your weights")
