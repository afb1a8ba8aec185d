"""Figures for chapter 3 (the feed-forward network). Agg figures only, no pyplot state."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib import colormaps
from matplotlib.patches import Circle

from .. import ffn, pipeline, walkthrough
from .common import label_axes, matrix_heatmap, new_figure

__all__ = [
    "ffn_diagram",
    "relu_figure",
    "FFNFigure",
    "ffn_figure",
    "FFNStrip",
    "ffn_strip_figure",
    "seed_comparison_figure",
    "static_result",
]

PANELS = (
    ("input", "H (attention output)"),
    ("pre_activation", "P = H W1 + b1"),
    ("hidden", "Z = ReLU(P)"),
    ("output", "F = Z W2 + b2"),
)


def ffn_diagram(W1=walkthrough.W1, W2=walkthrough.W2, *, dpi: int = 80):
    """One token through the FFN (Eq. 3.1): a row h of H -> 2 hidden units (ReLU) -> 2 outputs.

    Each arrow is labelled with its weight, so equal weights are visible at a glance.
    """
    W1 = np.asarray(W1, dtype=float)
    W2 = np.asarray(W2, dtype=float)
    figure, ax = new_figure(6.4, 3.4, dpi=dpi)
    layers = {
        0: ["$h_1$", "$h_2$"],
        1: ["$z_1$", "$z_2$"],
        2: ["$f_1$", "$f_2$"],
    }
    heights = [1.0, 0.0]
    for layer, weights in ((0, W1), (1, W2)):
        for i, y_from in enumerate(heights):
            for j, y_to in enumerate(heights):
                ax.annotate("", xy=(layer + 0.86, y_to), xytext=(layer + 0.14, y_from),
                            arrowprops=dict(arrowstyle="->", color="0.45", lw=1.2))
                # weight label placed a third of the way along the arrow
                t = 0.3 if i == j else 0.25
                x_label = layer + 0.14 + t * 0.72
                y_label = y_from + t * (y_to - y_from) + (0.1 if i == j else 0)
                ax.text(x_label, y_label, f"{weights[i, j]:g}", fontsize=9, ha="center",
                        va="center", color="#1f4e79",
                        bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none"))
    colours = {0: "#cfe2f3", 1: "#fce5cd", 2: "#d9ead3"}
    for layer, names in layers.items():
        for name, y in zip(names, heights):
            ax.add_patch(Circle((layer, y), 0.13, fc=colours[layer], ec="0.3", lw=1))
            ax.text(layer, y, name, ha="center", va="center", fontsize=11)
    ax.text(1, -0.45, "ReLU applied here", ha="center", fontsize=9, color="#7f3f00")
    ax.text(0.5, 1.35, "$W_1$ (+ $b_1$)", ha="center", fontsize=10)
    ax.text(1.5, 1.35, "$W_2$ (+ $b_2$)", ha="center", fontsize=10)
    ax.set_xlim(-0.4, 2.4)
    ax.set_ylim(-0.65, 1.6)
    ax.set_aspect("equal")
    ax.set_xticks([0, 1, 2], ["input $h$\n(a row of $H$)", "hidden $z$", "output $f$"])
    ax.set_yticks([1, 0], ["unit 1", "unit 2"])
    label_axes(ax, title="One token through the FFN, Eq. 3.1 (seed weights)",
               xlabel="layer", ylabel="unit")
    return figure


def relu_figure(pre_activations: dict, *, dpi: int = 80):
    """The ReLU curve (Eq. 3.3) with the given pre-activations marked on it.

    ``pre_activations`` maps a legend label to an array of P entries.
    """
    figure, ax = new_figure(6.0, 3.2, dpi=dpi)
    z = np.linspace(-0.4, 0.4, 161)
    ax.plot(z, ffn.relu(z), color="0.2", lw=2, label="ReLU(p) = max(0, p)")
    ax.axvspan(-0.4, 0, color="#f4cccc", alpha=0.5, label="ReLU sets these to 0")
    styles = [dict(marker="o", ms=11, mfc="none", mew=1.5), dict(marker="s", ms=5),
              dict(marker="^", ms=5), dict(marker="D", ms=5)]
    for (label, values), style in zip(pre_activations.items(), styles):
        values = np.ravel(np.asarray(values, dtype=float))
        ax.plot(values, ffn.relu(values), linestyle="none", alpha=0.8, label=label, **style)
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)
    label_axes(ax, title="ReLU and the seed's pre-activations", xlabel="pre-activation p",
               ylabel="ReLU(p)")
    return figure


@dataclass
class FFNFigure:
    """Four heatmaps (H, P, Z, F) side by side that :meth:`update` refreshes in place."""

    figure: object
    heatmaps: dict

    def update(self, X, result: ffn.FFNResult) -> None:
        matrices = {"input": X, "pre_activation": result.pre_activation,
                    "hidden": result.hidden, "output": result.output}
        for key, heatmap in self.heatmaps.items():
            values = np.asarray(matrices[key], dtype=float)
            limit = max(float(np.abs(values).max()), 1e-9)
            heatmap.update(values, vmin=-limit, vmax=limit)


def ffn_figure(X, result: ffn.FFNResult, *, row_labels=None, dpi: int = 72,
               width: float = 8.0, height: float = 3.6, panels=("input", "pre_activation", "hidden", "output"),
               fmt: str = ".3f", suptitle: str | None = None) -> FFNFigure:
    """Heatmaps of the FFN's input and intermediates (Eqs. 3.2-3.5), one panel each.

    Colours are symmetric around 0 (blue negative, red positive), so an entry ReLU zeroes
    stands out. Returns an :class:`FFNFigure`; call ``.update(X, result)`` to refresh.
    """
    titles = dict(PANELS)
    figure, axes = new_figure(width, height, dpi=dpi, ncols=len(panels))
    axes = np.atleast_1d(axes)
    matrices = {"input": X, "pre_activation": result.pre_activation,
                "hidden": result.hidden, "output": result.output}
    heatmaps = {}
    for ax, key in zip(axes, panels):
        values = np.asarray(matrices[key], dtype=float)
        limit = max(float(np.abs(values).max()), 1e-9)
        first = ax is axes[0]
        heatmap = matrix_heatmap(
            values, title=titles[key], xlabel="column", ylabel="token" if first and row_labels is not None else "row",
            fmt=fmt, ax=ax, cmap="coolwarm", colorbar=False, vmin=-limit, vmax=limit)
        heatmap.ax.set_xticks(range(values.shape[1]), [str(j + 1) for j in range(values.shape[1])])
        labels = row_labels if first and row_labels is not None else [str(i + 1) for i in range(values.shape[0])]
        heatmap.ax.set_yticks(range(values.shape[0]), labels)
        heatmap.ax.title.set_fontsize(9)
        for text in heatmap.texts:
            text.set_fontsize(7.5)
        heatmaps[key] = heatmap
    if suptitle:
        figure.suptitle(suptitle, fontsize=10)
    return FFNFigure(figure, heatmaps)


def _strip_matrix(X, result: ffn.FFNResult) -> np.ndarray:
    """[H | gap | P | gap | Z | gap | F], each block divided by its largest |entry|.

    Colours then show the sign and relative size inside each matrix (the numbers are shown
    as text beside the figure). Gaps are NaN, drawn white.
    """
    blocks = [X, result.pre_activation, result.hidden, result.output]
    gap = np.full((np.asarray(X).shape[0], 1), np.nan)
    pieces = []
    for block in blocks:
        block = np.asarray(block, dtype=float)
        largest = float(np.abs(block).max())
        pieces += [block / largest if largest > 0 else block, gap]
    return np.hstack(pieces[:-1])


@dataclass
class FFNStrip:
    """One heatmap showing H, P, Z and F side by side (the widget's figure).

    Few text artists, so a redraw is cheap; the numbers themselves are shown as text next
    to the figure. :meth:`update` mutates the image and the title.
    """

    figure: object
    ax: object
    image: object
    title: object

    def dynamic_artists(self) -> list:
        """The artists an update changes (for a :class:`~.common.Blitter`): the image; the
        title is always redrawn."""
        return [self.image]

    def update(self, X, result: ffn.FFNResult) -> None:
        values = _strip_matrix(X, result)
        if values.shape != self.image.get_array().shape:
            raise ValueError(f"the FFN widget keeps d_ff = 2; got matrices of shape {values.shape}")
        self.image.set_data(values)
        self.title.set_text(_strip_title(result))


def _strip_title(result: ffn.FFNResult) -> str:
    zeroed = int(ffn.zeroed_by_relu(result.pre_activation).sum())
    return f"ReLU zeroed {zeroed} of {result.pre_activation.size} in P"


def ffn_strip_figure(X, result: ffn.FFNResult, *, dpi: int = 72, width: float = 5.2,
                     height: float = 3.0) -> FFNStrip:
    """The four matrices H, P, Z, F as one heatmap (blue < 0 < red, scaled per matrix)."""
    figure, ax = new_figure(width, height, dpi=dpi)
    values = _strip_matrix(X, result)
    cmap = colormaps["coolwarm"].with_extremes(bad="white")
    image = ax.imshow(values, cmap=cmap, aspect="auto", interpolation="nearest", vmin=-1, vmax=1)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    label_axes(ax, title=_strip_title(result), xlabel="columns (blue < 0 < red)",
               ylabel="token")
    # y=1.0: a fixed place at the top of the axes, which have no ticks
    ax.set_title(ax.get_title(), fontsize=10, pad=16, y=1.0)
    ncols = np.asarray(X).shape[1]
    for index, name in enumerate(["H", "P", "Z", "F"]):
        centre = index * (ncols + 1) + (ncols - 1) / 2
        ax.text(centre, -0.65, name, ha="center", va="bottom", fontsize=9)
    strip = FFNStrip(figure, ax, image, ax.title)
    return strip


def seed_comparison_figure(printed, from_printed_input, from_computed_input, *, dpi: int = 80):
    """First column of the FFN output per token: the seed's printed values vs two computations."""
    figure, ax = new_figure(6.4, 3.4, dpi=dpi)
    rows = np.arange(1, len(printed) + 1)
    ax.plot(rows, np.asarray(printed)[:, 0], "o-", color="#c0392b", label="seed prints")
    ax.plot(rows, np.asarray(from_printed_input)[:, 0], "s--", color="#2471a3",
            label="FFN of the seed's printed attention output")
    ax.plot(rows, np.asarray(from_computed_input)[:, 0], "^-", color="#1e8449",
            label="FFN of the correctly computed attention output")
    ax.set_xticks(rows)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    label_axes(ax, title="FFN output, column 1: printed vs computed", xlabel="token (row of F)",
               ylabel="$F_{i1}$")
    return figure


def static_result(source: str, c: float, b1: float) -> tuple[np.ndarray, ffn.FFNResult]:
    """The input and FFN result for W1 = c * seed W1 and b1 = (b1, b1) (seed W2, b2)."""
    X = pipeline.seed_ffn_input(source)
    W1 = c * np.asarray(walkthrough.W1, dtype=float)
    return X, ffn.feed_forward(X, W1, [b1, b1], walkthrough.W2, walkthrough.B2)
