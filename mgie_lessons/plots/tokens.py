"""Figures for chapter 1 (tokens and embeddings).

* :func:`embedding_scatter`: the rows of X as points in the plane, labelled with their words;
  words that share a point share one label ("the x2", or "Add, in").
* :func:`one_hot_figure`: the product X = O E (Eq. 1.2) as three heatmaps.
* :func:`tokens_figure`: X as a heatmap with room for up to ``MAX_TOKENS`` rows (the widget's
  figure), optionally beside the scatter (the kernel-free controls' frames); built once and
  updated in place by :meth:`TokensFigure.update`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib import patheffects
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import blended_transform_factory

from .. import tokens as tokens_module
from .common import Blitter, figure_png, label_axes, matrix_heatmap, new_figure

__all__ = [
    "MAX_TOKENS",
    "point_labels",
    "embedding_alt",
    "embedding_scatter",
    "one_hot_figure",
    "TokensFigure",
    "tokens_figure",
]

#: The most tokens the widget's heatmap has rows for.
MAX_TOKENS = 12


def point_labels(words, points) -> list[str]:
    """One label per point: words at the same point are joined on the first of them.

    A word repeated at one point is written once with a count ("the x2"); different words at one
    point are listed ("Add, in"); the later points of a group get "" so nothing is drawn twice.
    """
    points = np.asarray(points, dtype=float)
    groups: dict[tuple, list[int]] = {}
    for index, point in enumerate(points):
        groups.setdefault(tuple(np.round(point, 12)), []).append(index)
    labels = [""] * len(words)
    for members in groups.values():
        counts: dict[str, int] = {}
        for index in members:
            counts[words[index]] = counts.get(words[index], 0) + 1
        parts = [word if count == 1 else f"{word} \u00d7{count}" for word, count in counts.items()]
        labels[members[0]] = ", ".join(parts)
    return labels


def embedding_alt(words, X) -> str:
    """Alt text for the scatter of X: every labelled point with its coordinates."""
    X = np.asarray(X, dtype=float)
    labels = point_labels(words, X)
    described = [f"{label} at ({X[i, 0]:.3g}, {X[i, 1]:.3g})" for i, label in enumerate(labels) if label]
    return (f"Scatter plot of the {len(words)} token embeddings (rows of X) in the plane, "
            f"{len(described)} distinct points: " + "; ".join(described) + ".")


def _set_scatter_limits(ax, X) -> None:
    low = np.minimum(X.min(axis=0), 0.0)
    high = np.maximum(X.max(axis=0), 0.0)
    span = np.maximum(high - low, 1e-9)
    ax.set_xlim(low[0] - 0.12 * span[0], high[0] + 0.35 * span[0])
    ax.set_ylim(low[1] - 0.12 * span[1], high[1] + 0.15 * span[1])


@dataclass
class TokenScatter:
    """The scatter of X's rows, with up to ``capacity`` labels that can be moved in place."""

    ax: object
    points: object
    texts: list

    def update(self, words, X) -> None:
        X = np.asarray(X, dtype=float)
        self.points.set_offsets(X)
        labels = point_labels(words, X)
        for index, text in enumerate(self.texts):
            if index < len(labels) and labels[index]:
                text.xy = (X[index, 0], X[index, 1])
                text.set_text(labels[index])
                text.set_visible(True)
            else:
                text.set_visible(False)
        _set_scatter_limits(self.ax, X)


def _draw_scatter(ax, words, X, *, capacity: int, title: str) -> TokenScatter:
    X = np.asarray(X, dtype=float)
    points = ax.scatter(X[:, 0], X[:, 1], s=36, color="#1f77b4", zorder=3)
    texts = [ax.annotate("", (0.0, 0.0), xytext=(5, 4), textcoords="offset points", fontsize=9)
             for _ in range(capacity)]
    label_axes(ax, title=title, xlabel="dimension 1 of the embedding", ylabel="dimension 2 of the embedding")
    ax.axhline(0, color="0.8", linewidth=0.8, zorder=1)
    ax.axvline(0, color="0.8", linewidth=0.8, zorder=1)
    ax.grid(True, color="0.92")
    scatter = TokenScatter(ax, points, texts)
    scatter.update(words, X)
    return scatter


def embedding_scatter(words, X, *, title: str = "The embedded tokens as points in the plane",
                      width: float = 5.0, height: float = 4.0, dpi: int = 80):
    """The rows of X (n x 2) as labelled points; returns the Figure."""
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] != 2 or X.shape[0] != len(words):
        raise ValueError(f"X must have shape ({len(words)}, 2) to be drawn in the plane, got {X.shape}")
    figure, ax = new_figure(width, height, dpi=dpi)
    _draw_scatter(ax, list(words), X, capacity=len(words), title=title)
    return figure


def one_hot_figure(result: tokens_module.OneHotEmbedding, *, dpi: int = 100):
    """Three heatmaps side by side: O (n x |V|), E (|V| x d) and X = O E (n x d)."""
    n, size = result.one_hot.shape
    figure, axes = new_figure(9.5, 1.3 + 0.34 * max(n, size), dpi=dpi, ncols=3)
    figure.get_layout_engine().set(w_pad=0.04, wspace=0.02)
    words, vocabulary = list(result.tokens), list(result.vocabulary)
    matrix_heatmap(result.one_hot, title=f"O, one-hot ({n}\u00d7{size})", xlabel="vocabulary word (column of O)",
                   ylabel="token (row)", row_labels=words, col_labels=vocabulary, fmt=".0f", ax=axes[0],
                   cmap="Greys", colorbar=False, vmin=0, vmax=1.6)
    matrix_heatmap(result.table, title=f"E, the table ({size}\u00d7{result.table.shape[1]})",
                   xlabel="embedding dimension", ylabel="vocabulary word (row of E)", row_labels=vocabulary,
                   col_labels=[f"d{j + 1}" for j in range(result.table.shape[1])], fmt=".2g", ax=axes[1],
                   colorbar=False)
    matrix_heatmap(result.embedded, title=f"X = O E ({n}\u00d7{result.embedded.shape[1]})",
                   xlabel="embedding dimension", ylabel="token (row)", row_labels=words,
                   col_labels=[f"d{j + 1}" for j in range(result.embedded.shape[1])], fmt=".2g", ax=axes[2],
                   colorbar=False)
    return figure


class TokensFigure:
    """X as a heatmap with room for ``max_tokens`` rows, optionally beside the scatter of its rows.

    Built once; :meth:`update` changes data, colours, texts and limits of the existing artists.
    Row and column labels are plain texts rather than tick labels, and the cell values are
    written only when ``annotate`` is true (the widget shows them in LaTeX instead): every text
    costs time at each redraw, which is also why the widget leaves out the scatter
    (``scatter=False``); the kernel-free controls draw both.
    """

    def __init__(self, words, X, *, max_tokens: int = MAX_TOKENS, dpi: int = 72,
                 width: float | None = None, height: float = 3.4,
                 annotate: bool = False, scatter: bool = False, static_background: bool = False):
        self.max_tokens = max_tokens
        if width is None:
            width = 7.4 if scatter else 3.4
        self.figure, axes = new_figure(width, height, dpi=dpi, ncols=2 if scatter else 1)
        # Fixed margins (no layout engine): the row labels are plain texts that a layout engine
        # would not make room for, and a fixed layout makes every redraw cheaper.
        self.figure.set_layout_engine(None)
        heat_ax = axes[0] if scatter else axes
        label_room = 1.2 / width  # inches for "12 person" and the axis label, as a figure fraction
        heat_ax.set_position([label_room, 0.2, (0.45 if scatter else 0.95) - label_room, 0.7])
        if scatter:
            axes[1].set_position([0.60, 0.2, 0.37, 0.7])
        self.heat_ax = heat_ax
        self.image = heat_ax.imshow(np.full((max_tokens, 2), np.nan), cmap="viridis", aspect="auto",
                                    vmin=0.0, vmax=1.0, interpolation="nearest")
        label_axes(heat_ax, title="X, one row per token",
                   xlabel="embedding dimension\n(dark: low, yellow: high)", ylabel="token")
        heat_ax.set_xticks([])
        heat_ax.set_yticks([])
        heat_ax.yaxis.set_label_coords(0.06, 0.5, transform=blended_transform_factory(
            self.figure.transFigure, heat_ax.transAxes))
        heat_ax.xaxis.set_label_coords(0.5, -0.08)
        self.column_labels = [heat_ax.text(column, -0.015, name, ha="center", va="top", fontsize=9,
                                           transform=heat_ax.get_xaxis_transform())
                              for column, name in enumerate(["d1", "d2"])]
        # All row labels are ONE multi-line text (one text draws much faster than twelve). Its
        # line spacing is set so that line k sits level with row k: a line of a text with a
        # numeric spacing s is s times as tall as a one-line text with spacing 1.
        renderer = self.figure.canvas.get_renderer()
        probe = heat_ax.text(0, 0, "x", fontsize=9, linespacing=1.0)
        one_line = probe.get_window_extent(renderer).height
        probe.remove()
        row_height = heat_ax.get_window_extent(renderer).height / max_tokens
        self.row_labels = heat_ax.text(-0.03, 0.5, "", ha="right", va="center", fontsize=9,
                                       multialignment="right", linespacing=row_height / one_line,
                                       transform=heat_ax.transAxes)
        self.cell_texts = []
        if annotate:
            halo = [patheffects.withStroke(linewidth=2.5, foreground="white")]
            self.cell_texts = [heat_ax.text(column, row, "", ha="center", va="center", fontsize=8,
                                            color="black", path_effects=halo)
                               for row in range(max_tokens) for column in range(2)]
        self.scatter = None
        if scatter:
            self.scatter = _draw_scatter(axes[1], list(words), np.asarray(X, dtype=float),
                                         capacity=max_tokens, title="Rows of X in the plane")
            axes[1].xaxis.set_major_locator(MaxNLocator(4))
            axes[1].yaxis.set_major_locator(MaxNLocator(4))
        self.update(words, X)
        self.background = None
        if static_background and not scatter and not annotate:
            # Titles, axis labels and column names never change: keep them as one cached picture
            # and redraw only the colours and the row labels.
            self.background = Blitter(self.figure, [self.image, self.row_labels])

    def update(self, words, X) -> None:
        X = np.asarray(X, dtype=float)
        n = len(words)
        if X.shape != (n, 2):
            raise ValueError(f"X must have shape ({n}, 2) for this figure, got {X.shape}")
        if n > self.max_tokens:
            raise ValueError(f"instruction has {n} tokens; this figure shows at most {self.max_tokens}")
        padded = np.full((self.max_tokens, 2), np.nan)
        padded[:n] = X
        low, high = float(X.min()), float(X.max())
        self.image.set_data(padded)
        self.image.set_clim(low, high if high > low else low + 1e-12)
        self.row_labels.set_text("\n".join([f"{row + 1} {word}" for row, word in enumerate(words)]
                                           + [""] * (self.max_tokens - n)))
        for index, text in enumerate(self.cell_texts):
            row = index // 2
            text.set_visible(row < n)
            if row < n:
                text.set_text(f"{padded.flat[index]:.3g}")
        if self.scatter is not None:
            self.scatter.update(words, X)

    def png(self) -> bytes:
        return figure_png(self.figure)


def tokens_figure(words, X, **options) -> TokensFigure:
    """A new :class:`TokensFigure` for ``words`` and X."""
    return TokensFigure(words, X, **options)


