"""Figures for chapter 4 (visual tokens and the toy edit head). Agg figures only."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.patches import FancyBboxPatch

from .. import visual_tokens as vt
from .common import label_axes, matrix_heatmap, new_figure

__all__ = [
    "pipeline_diagram",
    "token_plane_figure",
    "edit_head_figure",
    "ResizableHeatmap",
    "EditHeadFigure",
    "edit_head_panel_figure",
]


def _box(ax, x, y, width, height, text, colour):
    ax.add_patch(FancyBboxPatch((x, y), width, height, boxstyle="round,pad=0.02,rounding_size=0.05",
                                fc=colour, ec="0.35", lw=1))
    ax.text(x + width / 2, y + height / 2, text, ha="center", va="center", fontsize=7.5)


def pipeline_diagram(*, dpi: int = 80):
    """From [IMG] tokens to U: the real MGIE sizes (top row) and this chapter's toy (bottom row)."""
    real = vt.MGIE_SHAPES
    figure, ax = new_figure(10.0, 3.7, dpi=dpi)
    stages_real = [
        ("instruction +\n8 [IMG] tokens", "#cfe2f3"),
        (f"LLaVA-7B last layer:\nh_IMG ({real['n_img_tokens']} x {real['d_llm']})\n+ E_IMG", "#fce5cd"),
        (f"Linear {real['d_llm']}->{real['d_edit_head']}\nS ({real['n_img_tokens']} x {real['d_edit_head']})", "#d9ead3"),
        (f"Transformer (4+4 layers):\n{real['n_queries']} queries attend\nto the 8 states", "#ead1dc"),
        (f"Linear {real['d_edit_head']}->{real['d_out']}\nU ({real['n_queries']} x {real['d_out']})", "#fff2cc"),
    ]
    stages_toy = [
        ("instruction +\nm [IMG] tokens\n(E_IMG = seed's u_i)", "#cfe2f3"),
        ("attention (ch. 2) + FFN\n(ch. 3), one layer:\nh_IMG (m x 2) + E_IMG", "#fce5cd"),
        ("Linear 2->d_e\nS (m x d_e)", "#d9ead3"),
        ("1 cross-attention:\nq queries attend\nto the m states", "#ead1dc"),
        ("Linear d_e->d_out\nU (q x d_out)", "#fff2cc"),
    ]
    width, height, gap = 1.85, 1.0, 0.3
    for row, (stages, y) in enumerate(((stages_real, 1.45), (stages_toy, 0.1))):
        for i, (text, colour) in enumerate(stages):
            x = i * (width + gap)
            _box(ax, x, y, width, height, text, colour)
            if i:
                ax.annotate("", xy=(x - 0.03, y + height / 2), xytext=(x - gap + 0.03, y + height / 2),
                            arrowprops=dict(arrowstyle="->", color="0.3"))
    right = len(stages_real) * (width + gap) - gap
    ax.text(right + 0.1, 1.95, "to the UNet's\ncross-attention\n(chapter 10)", fontsize=8, va="center")
    ax.set_xlim(-0.1, right + 1.5)
    ax.set_ylim(-0.05, 2.6)
    ax.set_xticks([])
    ax.set_yticks([0.6, 1.95], ["this chapter's\ntoy", "real MGIE\n(mgie_llava.py)"])
    label_axes(ax, title="How MGIE turns [IMG] tokens into the visual condition U",
               xlabel="processing order (left to right)", ylabel="model")
    return figure


def token_plane_figure(seed_tokens, hidden_states, edit_head_input, instruction_outputs=None, *,
                       dpi: int = 80):
    """The 2-d plane: the seed's u_i, h_IMG, h_IMG + E_IMG (and the instruction rows of F)."""
    figure, ax = new_figure(5.4, 4.2, dpi=dpi)
    line = np.linspace(0, 0.75, 2)
    ax.plot(line, line, color="0.8", lw=1, label="the line x1 = x2")
    if instruction_outputs is not None:
        points = np.asarray(instruction_outputs)
        ax.plot(points[:, 0], points[:, 1], "x", color="0.4", label="F at instruction tokens")
    series = [
        (seed_tokens, "o", "#c0392b", "seed's u_i (given; used as E_IMG)"),
        (hidden_states, "s", "#2471a3", "h_IMG: F one row before each [IMG]"),
        (edit_head_input, "^", "#1e8449", "h_IMG + E_IMG (edit-head input)"),
    ]
    for points, marker, colour, label in series:
        points = np.asarray(points)
        ax.plot(points[:, 0], points[:, 1], marker, color=colour, ms=7, label=label)
        for i, (x, y) in enumerate(points, start=1):
            ax.annotate(str(i), (x, y), textcoords="offset points", xytext=(5, -9), fontsize=7, color=colour)
    ax.set_xlim(0, 0.75)
    ax.set_ylim(0, 0.75)
    ax.set_aspect("equal")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    label_axes(ax, title="Visual tokens in the 2-d plane", xlabel="coordinate 1", ylabel="coordinate 2")
    return figure


def edit_head_figure(result: vt.CrossAttentionHeadResult, *, dpi: int = 80, fmt: str = ".2f", annotate: bool = True):
    """Annotated heatmaps of the cross-attention weights (q x m) and of U (q x d_out)."""
    weights = result.attention.weights
    U = result.output
    q, m = weights.shape
    figure, axes = new_figure(min(3.0 + 0.55 * (m + U.shape[1]), 10), min(1.6 + 0.33 * q, 8),
                              dpi=dpi, ncols=2)
    left = matrix_heatmap(weights, title=f"cross-attention weights ({q} x {m})", xlabel="[IMG] token j",
                          ylabel="query i", row_labels=[str(i + 1) for i in range(q)],
                          col_labels=[f"IMG{j}" for j in range(m)], fmt=fmt, ax=axes[0],
                          cmap="viridis", colorbar=False, annotate=annotate, vmin=0, vmax=float(weights.max()))
    limit = float(np.abs(U).max())
    right = matrix_heatmap(U, title=f"U ({q} x {U.shape[1]}); MGIE: 77 x 768", xlabel="column of U",
                           ylabel="query i", row_labels=[str(i + 1) for i in range(q)],
                           col_labels=[str(j + 1) for j in range(U.shape[1])], fmt=fmt, ax=axes[1],
                           cmap="coolwarm", colorbar=False, annotate=annotate, vmin=-limit, vmax=limit)
    for heatmap in (left, right):
        heatmap.ax.title.set_fontsize(9)
        for text in heatmap.texts:
            text.set_fontsize(7)
    return figure, left, right


class ResizableHeatmap:
    """An un-annotated heatmap whose matrix may change shape; updated by mutating its image."""

    def __init__(self, ax, values, *, cmap: str, title: str, xlabel: str, ylabel: str):
        self.ax = ax
        values = np.asarray(values, dtype=float)
        self.image = ax.imshow(values, cmap=cmap, aspect="auto", interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        label_axes(ax, title=title, xlabel=xlabel, ylabel=ylabel)
        ax.set_title(title, fontsize=9, y=1.0)   # a fixed place (see plots.ffn.ffn_strip_figure)
        self.set(values, title=title)

    def set(self, values, *, title: str, vmin: float | None = None, vmax: float | None = None) -> None:
        values = np.asarray(values, dtype=float)
        rows, cols = values.shape
        self.image.set_data(values)
        self.image.set_extent((-0.5, cols - 0.5, rows - 0.5, -0.5))
        self.ax.set_xlim(-0.5, cols - 0.5)
        self.ax.set_ylim(rows - 0.5, -0.5)
        low = float(values.min()) if vmin is None else vmin
        high = float(values.max()) if vmax is None else vmax
        self.image.set_clim(low, max(high, low + 1e-12))
        self.ax.title.set_text(title)


@dataclass
class EditHeadFigure:
    """The widget's figure: the cross-attention map and U, both resizable."""

    figure: object
    weights: ResizableHeatmap
    output: ResizableHeatmap

    def dynamic_artists(self) -> list:
        """The artists an update changes (for a :class:`~.common.Blitter`; titles are always redrawn)."""
        return [self.weights.image, self.output.image]

    def update(self, result: vt.CrossAttentionHeadResult) -> None:
        weights = result.attention.weights
        U = result.output
        q, m = weights.shape
        self.weights.set(weights, title=f"weights: {q} queries x {m} [IMG]", vmin=0.0,
                         vmax=float(weights.max()))
        limit = max(float(np.abs(U).max()), 1e-12)
        self.output.set(U, title=f"U: {q} x {U.shape[1]}", vmin=-limit, vmax=limit)


def edit_head_panel_figure(result: vt.CrossAttentionHeadResult, *, dpi: int = 72, width: float = 5.4,
                           height: float = 2.9) -> EditHeadFigure:
    """Two un-annotated heatmaps (few text artists, so redraws are cheap); see :class:`EditHeadFigure`."""
    figure, axes = new_figure(width, height, dpi=dpi, ncols=2)
    weights = ResizableHeatmap(axes[0], result.attention.weights, cmap="viridis", title="weights",
                               xlabel="[IMG] token j (left to right)", ylabel="query i (top down)")
    output = ResizableHeatmap(axes[1], result.output, cmap="coolwarm", title="U", xlabel="column of U",
                              ylabel="query i (top down)")
    panel_figure = EditHeadFigure(figure, weights, output)
    panel_figure.update(result)
    return panel_figure
