"""Figures for chapter 6 (losses): two ways to compare y with yhat, and the loss breakdown.

Every function builds a fresh Agg figure with :mod:`mgie_lessons.plots.common` and only calls
:mod:`mgie_lessons.losses`. :class:`LossPlot` can be updated in place (the widget uses it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.ticker import FormatStrFormatter, MaxNLocator

from .. import losses, walkthrough
from .common import Blitter, label_axes, new_figure, nice_ceiling

__all__ = [
    "comparison_figure",
    "LossPlot",
    "loss_plot",
    "loss_figure",
    "freeze_plot",
    "loss_alt_text",
    "seed_edit_noises",
]

MATCH = "#2ca02c"
MISMATCH = "#d62728"
EXTRA = "#ff7f0e"
BAR_COLOURS = ["#1f77b4", "#9467bd", "#c5b0d5", "#2ca02c"]
LOSS_NAMES = ("L_ins", "L_edit", "\u03b1 L_edit", "L_all")


def _token_row(ax, tokens, y, colours):
    for x, (token, colour) in enumerate(zip(tokens, colours)):
        ax.text(x, y, token, ha="center", va="center", fontsize=8, rotation=90,
                bbox=dict(boxstyle="round,pad=0.25", facecolor="white", edgecolor=colour, linewidth=1.5))


def comparison_figure(target, generated, *, dpi: int = 80):
    """Two panels: y vs yhat position by position, and after a minimal alignment (Eq. 6.8).

    Left: a line joins position i of y to position i of yhat, green when the tokens agree, red
    when they differ; unpartnered tokens are orange. Right: lines join the tokens the alignment
    matches; inserted tokens of yhat are orange.
    """
    comparison = losses.positional_comparison(target, generated)
    alignment = losses.align_tokens(target, generated)
    figure, (left, right) = new_figure(width=9.0, height=3.6, dpi=dpi, ncols=2)
    width = max(len(target), len(generated))

    for i in range(comparison.compared):
        colour = MATCH if i in comparison.matching_positions else MISMATCH
        left.plot([i, i], [0.8, 0.2], color=colour, linewidth=2)
    target_colours = [MATCH if i in comparison.matching_positions else (MISMATCH if i < comparison.compared else EXTRA)
                      for i in range(len(target))]
    generated_colours = [MATCH if i in comparison.matching_positions else (MISMATCH if i < comparison.compared else EXTRA)
                         for i in range(len(generated))]
    _token_row(left, target, 1.0, target_colours)
    _token_row(left, generated, 0.0, generated_colours)
    label_axes(left, title=(f"Position by position: {comparison.matches} match, {comparison.mismatches} differ, "
                            f"{comparison.extra} extra"),
               xlabel="position i (0-based)", ylabel="")
    left.title.set_fontsize(9)

    i = j = 0
    target_colours, generated_colours = [], []
    for kind, _, _ in alignment.operations:
        if kind in ("match", "substitute"):
            colour = MATCH if kind == "match" else MISMATCH
            right.plot([i, j], [0.8, 0.2], color=colour, linewidth=2)
            target_colours.append(colour)
            generated_colours.append(colour)
            i, j = i + 1, j + 1
        elif kind == "insert":
            generated_colours.append(EXTRA)
            j += 1
        else:
            target_colours.append(EXTRA)
            i += 1
    _token_row(right, target, 1.0, target_colours)
    _token_row(right, generated, 0.0, generated_colours)
    label_axes(right, title=(f"After alignment: {alignment.matches} match, {alignment.insertions} inserted "
                             f"({', '.join(alignment.inserted_tokens())})"),
               xlabel="position j (0-based)", ylabel="")
    right.title.set_fontsize(9)

    for ax in (left, right):
        ax.set_xlim(-0.7, width - 0.3)
        ax.set_ylim(-0.6, 1.6)
        ax.set_yticks([0.0, 1.0])
        ax.set_yticklabels(["yhat (generated)", "y (target)"])
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.tick_params(labelsize=8)
    return figure


def seed_edit_noises() -> tuple[np.ndarray, np.ndarray]:
    """The seed's true noise (0.2 at t = 3, 2, 1) and predicted noise (0.2 t), ordered t = 3, 2, 1."""
    steps = sorted(walkthrough.TRUE_NOISE, reverse=True)
    true = np.array([walkthrough.TRUE_NOISE[t] for t in steps], dtype=float)
    predicted = np.array([walkthrough.NOISE_SLOPE * t for t in steps], dtype=float)
    return true, predicted


def loss_alt_text(per_token, l_ins, l_edit, alpha) -> str:
    per_token = np.asarray(per_token, dtype=float)
    costliest = int(np.argmax(per_token))
    return (f"Two bar charts. Left: the loss -log p of each of the {len(per_token)} target tokens; the largest is "
            f"{per_token[costliest]:.4g} at position {costliest + 1}. Right: L_ins = {l_ins:.4g}, L_edit = "
            f"{l_edit:.4g}, alpha L_edit = {alpha * l_edit:.4g} with alpha = {alpha:g}, and L_all = "
            f"{losses.total_loss(l_ins, l_edit, alpha):.4g}.")


@dataclass
class LossPlot:
    """The loss breakdown figure and the bars that :meth:`update` mutates."""

    figure: object
    token_ax: object
    total_ax: object
    token_bars: object
    total_bars: object

    def update(self, per_token, l_edit: float, alpha: float) -> None:
        """New per-token losses (same count), L_edit and alpha: change bar heights, rescale."""
        per_token = np.asarray(per_token, dtype=float)
        if per_token.shape != (len(self.token_bars),):
            raise ValueError(f"per_token must hold {len(self.token_bars)} values, got shape {per_token.shape}")
        l_ins = float(per_token.mean())
        for bar, value in zip(self.token_bars, per_token):
            bar.set_height(value)
        totals = [l_ins, l_edit, alpha * l_edit, losses.total_loss(l_ins, l_edit, alpha)]
        for bar, value in zip(self.total_bars, totals):
            bar.set_height(value)
        # Tops on a ladder of "nice" values: most changes keep the same axes (and tick labels).
        self.token_ax.set_ylim(0, nice_ceiling(max(1.0, float(per_token.max())) * 1.05))
        self.total_ax.set_ylim(0, nice_ceiling(max(1.0, max(totals)) * 1.05))


def loss_plot(per_token, tokens, l_edit: float, alpha: float, *, width: float = 7.0, height: float = 3.0,
              dpi: int = 80, title: str = "Where the loss comes from") -> LossPlot:
    """Left: -log p(y_i | y_<i) per target token; right: L_ins, L_edit, alpha L_edit and L_all."""
    per_token = np.asarray(per_token, dtype=float)
    figure, (token_ax, total_ax) = new_figure(width=width, height=height, dpi=dpi, ncols=2)
    positions = np.arange(len(per_token))
    token_bars = token_ax.bar(positions, per_token, color=BAR_COLOURS[0])
    token_ax.set_xticks(positions)
    token_ax.set_xticklabels(tokens, rotation=60, ha="right", fontsize=7)
    label_axes(token_ax, title="-log p of each target token", xlabel="target token y_i", ylabel="-log p (nats)")
    total_bars = total_ax.bar(np.arange(4), np.zeros(4), color=BAR_COLOURS)
    total_ax.set_xticks(np.arange(4))
    total_ax.set_xticklabels(LOSS_NAMES, fontsize=8)
    label_axes(total_ax, title=title, xlabel="loss", ylabel="value")
    for ax in (token_ax, total_ax):
        ax.title.set_fontsize(9)
        ax.yaxis.set_major_locator(MaxNLocator(4))
        ax.yaxis.set_major_formatter(FormatStrFormatter("%.1f"))   # same label width for any data
        ax.tick_params(axis="y", labelsize=8)
    plot = LossPlot(figure, token_ax, total_ax, token_bars, total_bars)
    plot.update(per_token, l_edit, alpha)
    return plot


def freeze_plot(plot: LossPlot) -> Blitter:
    """For the widget: only the bars are redrawn at each update (a :class:`Blitter`)."""
    return Blitter(plot.figure, [*plot.token_bars, *plot.total_bars])


def loss_figure(per_token, tokens, l_edit: float, alpha: float, **options):
    """The figure of :func:`loss_plot`."""
    return loss_plot(per_token, tokens, l_edit, alpha, **options).figure
