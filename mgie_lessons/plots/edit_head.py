"""Figures for chapter 10 (the edit head and the denoiser's cross-attention).

Every figure is a fresh Agg figure built with :mod:`mgie_lessons.plots.common`; the numbers come
from :mod:`mgie_lessons.edit_head`.
"""

from __future__ import annotations

import numpy as np
from matplotlib import colormaps
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from .. import edit_head as eh
from ..images import toy_image
from .common import label_axes, new_figure

__all__ = [
    "architecture_figure",
    "u_figure",
    "cross_attention_figure",
    "attention_maps_figure",
    "EditHeadView",
    "overlay_rgb",
]

def _box(ax, x, y, w, h, text, colour):
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.02", facecolor=colour,
                                edgecolor="black", linewidth=0.8))
    ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=8)


def _arrow(ax, start, end):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=10, linewidth=0.9, color="black"))


def architecture_figure(dpi: int = 80):
    """A block diagram of the edit head with MGIE's shapes and the book's toy shapes."""
    figure, ax = new_figure(width=10.0, height=3.6, dpi=dpi)
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 4)
    _box(ax, 0.1, 2.5, 1.5, 1.0, "[IMG] states\n+ embeddings\n8 x 4096  (toy 8 x 2)", "#dbe9f6")
    _box(ax, 2.0, 2.5, 1.3, 1.0, "Linear\n4096 -> 512\n(toy 2 -> 8)", "#f2f2f2")
    _box(ax, 3.7, 2.5, 1.7, 1.0, "encoder x 4\nself-attn + FFN\n(pre-norm)", "#fde9c8")
    _box(ax, 5.8, 2.5, 1.5, 1.0, "memory\n8 x 512\n(toy 8 x 8)", "#fde9c8")
    _box(ax, 3.7, 0.3, 1.7, 1.0, "77 learned queries\n77 x 512\n(toy 77 x 8)", "#e3f1e0")
    _box(ax, 5.8, 0.3, 1.5, 1.0, "decoder x 4\nself-attn, cross-attn\nto memory, FFN", "#e3f1e0")
    _box(ax, 7.6, 0.3, 1.1, 1.0, "Linear\n512 -> 768\n(toy 8 -> 12)", "#f2f2f2")
    _box(ax, 7.6, 2.5, 2.3, 1.0, "U: 77 x 768 (toy 77 x 12)\nreplaces the CLIP text\nembedding in the UNet", "#f6dbe6")
    _arrow(ax, (1.6, 3.0), (2.0, 3.0))
    _arrow(ax, (3.3, 3.0), (3.7, 3.0))
    _arrow(ax, (5.4, 3.0), (5.8, 3.0))
    _arrow(ax, (6.55, 2.5), (6.55, 1.3))
    _arrow(ax, (5.4, 0.8), (5.8, 0.8))
    _arrow(ax, (7.3, 0.8), (7.6, 0.8))
    _arrow(ax, (8.15, 1.3), (8.6, 2.5))
    ax.set_xticks([])
    ax.set_yticks([])
    label_axes(ax, title="MGIE's edit head (EditMapper, mgie_llava.py) and the book's toy sizes",
               xlabel="data flows left to right, then through the decoder to U",
               ylabel="encoder (top) / decoder (bottom)")
    return figure


def u_figure(example: eh.ChapterExample, dpi: int = 80):
    """U, U_null and their difference as heat maps (77 rows x d_out columns)."""
    figure, axes = new_figure(width=10.0, height=4.6, dpi=dpi, ncols=3)
    U, U_null = example.output.U, example.null.U
    limit = float(np.abs(np.concatenate([U, U_null])).max())
    panels = ((U, "U = EditHead(H_img + E_img)"), (U_null, "U_null = EditHead(0 + E_img)"),
              (U - U_null, "U - U_null"))
    for ax, (values, title) in zip(axes, panels):
        shown = ax.imshow(values, aspect="auto", cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
        label_axes(ax, title=title, xlabel="column (d_out)", ylabel="row of U (query)")
    figure.colorbar(shown, ax=axes, shrink=0.8, label="value")
    figure.suptitle("The edit head's output for the seed's [IMG] states, and for zero states (Eq. 10.10)")
    return figure


def cross_attention_figure(example: eh.ChapterExample, dpi: int = 80):
    """The last decoder layer's cross-attention: which [IMG] state each query reads, per head."""
    maps = example.output.last_cross_attention
    n_heads = maps.shape[0]
    figure, axes = new_figure(width=2.4 * n_heads + 1.2, height=4.2, dpi=dpi, ncols=n_heads)
    axes = np.atleast_1d(axes)
    for h, ax in enumerate(axes):
        shown = ax.imshow(maps[h], aspect="auto", cmap="viridis", vmin=0, vmax=float(maps.max()),
                          interpolation="nearest")
        label_axes(ax, title=f"head {h + 1}", xlabel="[IMG] token", ylabel="query" if h == 0 else "")
        ax.set_xticks(range(maps.shape[2]))
        ax.set_xticklabels([str(i + 1) for i in range(maps.shape[2])], fontsize=7)
    figure.colorbar(shown, ax=axes, shrink=0.8, label="attention weight")
    figure.suptitle("Last decoder layer: cross-attention of the 77 queries to the 8 memory rows")
    return figure


def _overlay(ax, weights_map: np.ndarray, title: str):
    ax.imshow(toy_image(32), interpolation="nearest")
    shown = ax.imshow(weights_map, cmap="magma", alpha=0.65, vmin=float(weights_map.min()),
                      vmax=float(weights_map.max()), interpolation="nearest", extent=(-0.5, 31.5, 31.5, -0.5))
    label_axes(ax, title=title, xlabel="x (pixel)", ylabel="y (pixel)")
    return shown


def attention_maps_figure(example: eh.ChapterExample, rows=(0, 1, 38, 76), dpi: int = 80):
    """Where chosen rows of U act: column j of the denoiser's weights on the 8 x 8 grid (Eq. 10.9).

    Each panel has its own colour scale, from its smallest (dark) to its largest (bright) weight,
    given in its title."""
    figure, axes = new_figure(width=2.6 * len(rows) + 0.4, height=3.3, dpi=dpi, ncols=len(rows))
    axes = np.atleast_1d(axes)
    for ax, row in zip(axes, rows):
        weights_map = example.attention_map(row)
        _overlay(ax, weights_map, f"row {row}: {weights_map.min():.3f} to {weights_map.max():.3f}")
    figure.suptitle("Weight each image position gives to a row of U (Eq. 10.9); dark = least, bright = most")
    return figure


def _rgb(values: np.ndarray, cmap: str, low: float, high: float) -> np.ndarray:
    """Colour an array with a colormap between low and high (RGB, no alpha)."""
    scaled = (values - low) / (high - low) if high > low else np.zeros_like(values)
    return colormaps[cmap](np.clip(scaled, 0, 1))[..., :3]


def overlay_rgb(weights_map: np.ndarray, alpha: float = 0.65) -> np.ndarray:
    """The toy image with an attention map on top (map scaled from its min to its max), as RGB."""
    size = 32
    factor = size // weights_map.shape[0]
    coloured = _rgb(weights_map, "magma", float(weights_map.min()), float(weights_map.max()))
    coloured = np.repeat(np.repeat(coloured, factor, axis=0), factor, axis=1)
    return (1 - alpha) * toy_image(size) + alpha * coloured


class EditHeadView:
    """The widget's figure: U as a heat map (left) and one row's attention map over the image (right).

    Both panels are drawn as ready-made RGB images (the colours computed with numpy), and the
    layout is computed at the first draw and then frozen, so an update only replaces pixels and
    the two titles.
    """

    def __init__(self, example: eh.ChapterExample, row: int = 0, dpi: int = 72):
        self.figure, (self.u_ax, self.map_ax) = new_figure(width=6.4, height=3.4, dpi=dpi, ncols=2)
        self.u_image = self.u_ax.imshow(np.zeros((2, 2, 3)), aspect="auto", interpolation="nearest")
        label_axes(self.u_ax, title="", xlabel="column", ylabel="row of U")
        self.row_line = self.u_ax.axhline(row, color="black", linewidth=1.0)
        self.map_image = self.map_ax.imshow(np.zeros((32, 32, 3)), interpolation="nearest")
        label_axes(self.map_ax, title="", xlabel="x", ylabel="y")
        for ax in (self.u_ax, self.map_ax):
            ax.set_xticks([])
            ax.set_yticks([])
        self.update(example, row)

    def dynamic_artists(self) -> list:
        """What changes from one update to the next (for a :class:`~.common.Blitter`; titles are
        always redrawn)."""
        artists = [self.u_image, self.row_line, self.map_image]
        for ax in (self.u_ax, self.map_ax):
            artists.extend(ax.spines.values())
        return artists

    def update(self, example: eh.ChapterExample, row: int) -> bool:
        """Show ``example`` and ``row``; returns True when U's shape (so the axis limits) changed."""
        U = example.output.U
        shape_changed = getattr(self, "U", None) is None or self.U.shape != U.shape
        limit = float(np.abs(U).max()) or 1.0
        self.U = U
        self.u_image.set_data(_rgb(U, "RdBu_r", -limit, limit))
        self.u_image.set_extent((-0.5, U.shape[1] - 0.5, U.shape[0] - 0.5, -0.5))
        self.u_ax.set_xlim(-0.5, U.shape[1] - 0.5)
        self.u_ax.set_ylim(U.shape[0] - 0.5, -0.5)
        self.row_line.set_ydata([row, row])
        self.u_ax.set_title(f"U {U.shape[0]}x{U.shape[1]}", fontsize=10)
        self.weights_map = example.attention_map(row)
        self.map_image.set_data(overlay_rgb(self.weights_map))
        self.map_ax.set_title(f"row {row}: {self.weights_map.min():.3f}-{self.weights_map.max():.3f}",
                              fontsize=10)
        return shape_changed
