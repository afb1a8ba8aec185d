"""Figures for chapter 2 (self-attention). Every function returns an Agg figure built with
:mod:`mgie_lessons.plots.common` (title, labelled axes) and only calls :mod:`mgie_lessons.attention`.

:class:`FastWeightsHeatmap` is the widget's figure: the annotated heatmap of
:func:`weights_heatmap`, redrawn by :class:`~mgie_lessons.plots.common.Blitter` (cells painted, the
100 numbers stamped from glyph bitmaps over a cached picture of the frame).
"""

from __future__ import annotations

import numpy as np

from .. import attention, pipeline, walkthrough
from ..validation import as_matrix
from .common import Blitter, label_axes, matrix_heatmap, new_figure

__all__ = [
    "QUERY_LABEL",
    "KEY_LABEL",
    "weights_heatmap",
    "idea_figure",
    "causal_weights_figure",
    "exp_linearity_figure",
    "sharpness_figure",
    "printed_shapes_figure",
    "difference_heatmap",
    "row_sums_figure",
    "FastWeightsHeatmap",
]

QUERY_LABEL = "query token i (row: who attends)"
KEY_LABEL = "key token j (column: attended to)"


def _token_labels(token_list) -> list[str]:
    return [f"{i + 1} {word}" for i, word in enumerate(token_list)]



def weights_heatmap(weights, token_list, *, title: str, ax=None, fmt: str = ".3f",
                    colorbar: bool = True, vmin: float = 0.0, vmax: float | None = None,
                    cmap: str = "viridis", dpi: int = 80):
    """The attention weights A as an annotated heatmap with token labels (Eq. 2.4)."""
    labels = _token_labels(token_list)
    if ax is None:
        _, ax = new_figure(7.4, 5.4, dpi=dpi)
    heat = matrix_heatmap(weights, title=title, xlabel=KEY_LABEL, ylabel=QUERY_LABEL,
                          row_labels=labels, col_labels=labels, fmt=fmt, ax=ax,
                          colorbar=colorbar, vmin=vmin, vmax=vmax, cmap=cmap)
    return heat


# ---------------------------------------------------------------------------
# The idea: the output of a token is a weighted average of the value vectors
# ---------------------------------------------------------------------------


def _draw_average(ax, token_list, result, query: int, title: str) -> None:
    V = result.values
    weights = result.weights[query]
    centroid = V.mean(axis=0)
    # Tokens that share a vector (e.g. "blue" and "to") share a point and get one joint label;
    # they also get the same weight, because their keys are equal.
    groups: dict[tuple, list[int]] = {}
    for j, vector in enumerate(np.round(V, 12)):
        groups.setdefault(tuple(vector), []).append(j)
    for (x, y), members in groups.items():
        weight = weights[members[0]]
        ax.scatter([x], [y], s=30 + 1500 * weight * len(members), color="tab:blue", alpha=0.45,
                   edgecolor="tab:blue", zorder=2)
        words = ", ".join(dict.fromkeys(token_list[j] for j in members))
        each = " each" if len(members) > 1 else ""
        ax.annotate(f"{words}\n{weight:.3f}{each}", (x, y), textcoords="offset points",
                    xytext=(9, 4), fontsize=8, va="bottom")
    ax.scatter([centroid[0]], [centroid[1]], marker="x", s=70, color="black", zorder=3,
               label="plain mean of the v_j")
    output = result.output[query]
    ax.scatter([output[0]], [output[1]], marker="*", s=220, color="tab:red", zorder=4,
               label=f"output h_{query + 1} of \"{token_list[query]}\"")
    ax.scatter([], [], s=60, color="tab:blue", alpha=0.45, label=f"v_j, area ~ weight a_{query + 1},j")
    low, high = V.min(axis=0), V.max(axis=0)
    pad = 0.25 * (high - low) + 1e-9
    ax.set_xlim(low[0] - pad[0], high[0] + 2.2 * pad[0])
    ax.set_ylim(low[1] - 1.6 * pad[1], high[1] + pad[1])
    label_axes(ax, title=title, xlabel="value coordinate 1", ylabel="value coordinate 2")
    ax.legend(loc="lower left", fontsize=7)


def idea_figure(*, query: str = "hat", sharp_scale: float = 20.0, dpi: int = 80):
    """Two panels: the output of ``query`` as a weighted average of the value vectors.

    Left: the seed (W^Q = W^K = W^V = I); right: W^Q = W^K = c I with c =
    ``sharp_scale``, which multiplies every score by c^2 (Eqs. 2.1-2.5). Line
    widths are the weights a_{query, j}.
    """
    run = pipeline.seed_run()
    token_list, X = run.words, run.X
    if query not in token_list:
        raise ValueError(f"query must be a word of the instruction {token_list}, got {query!r}")
    q = token_list.index(query)
    identity = np.eye(2)
    figure, axes = new_figure(9.0, 4.2, dpi=dpi, ncols=2)
    seed_result = run.attention
    sharp_result = attention.self_attention(X, sharp_scale * identity, sharp_scale * identity, identity)
    _draw_average(axes[0], token_list, seed_result, q,
                  f"Seed weights: \"{query}\" averages almost evenly")
    _draw_average(axes[1], token_list, sharp_result, q,
                  f"$W^Q = W^K = {sharp_scale:g}\\,I$: \"{query}\" picks a few")
    return figure


# ---------------------------------------------------------------------------
# The causal mask
# ---------------------------------------------------------------------------


def causal_weights_figure(weights, token_list, *, title: str = "Causal attention weights (masked cells in grey)",
                          dpi: int = 80):
    """The causal weights with the masked cells (j > i) drawn grey and marked with a dash (Eq. 2.6)."""
    A = np.asarray(weights, dtype=float)
    n = A.shape[0]
    shown = np.where(np.triu(np.ones((n, n), dtype=bool), k=1), np.nan, A)
    figure, ax = new_figure(6.4, 5.2, dpi=dpi)
    heat = weights_heatmap(shown, token_list, title=title, ax=ax, vmin=0.0, vmax=1.0)
    heat.image.set_cmap(heat.image.cmap.with_extremes(bad="0.85"))
    for text, value in zip(heat.texts, shown.ravel()):
        if np.isnan(value):
            text.set_text("–")
    return figure


# ---------------------------------------------------------------------------
# Why the seed's weights are nearly uniform
# ---------------------------------------------------------------------------


def exp_linearity_figure(scaled_scores, *, dpi: int = 80):
    """exp(x) beside its tangent 1 + x, with the range of the seed's scaled scores shaded (Eq. 2.8)."""
    S = np.asarray(scaled_scores, dtype=float)
    low, high = float(S.min()), float(S.max())
    x = np.linspace(-0.1, 1.0, 300)
    figure, ax = new_figure(5.6, 3.8, dpi=dpi)
    ax.plot(x, np.exp(x), label="exp(x)", color="tab:blue")
    ax.plot(x, 1 + x, label="1 + x (tangent at 0)", color="tab:orange", linestyle="--")
    ax.axvspan(low, high, color="tab:green", alpha=0.25,
               label=f"seed's scaled scores [{low:.3f}, {high:.3f}]")
    label_axes(ax, title="On the seed's scores, exp is almost a straight line",
               xlabel="scaled score x", ylabel="value")
    ax.legend(fontsize=8)
    return figure


def _tau_to_scale(tau):
    """c = 1/sqrt(tau): the top axis of :func:`sharpness_figure`."""
    return 1.0 / np.sqrt(np.clip(np.asarray(tau, dtype=float), 1e-12, None))


def _scale_to_tau(c):
    """tau = 1/c^2, the inverse of :func:`_tau_to_scale`."""
    return 1.0 / np.clip(np.asarray(c, dtype=float), 1e-6, None) ** 2


def sharpness_figure(X, temperatures, *, W_q=None, W_k=None, W_v=None, dpi: int = 80):
    """How far the weights are from uniform as the temperature tau changes (Eqs. 2.3, 2.7).

    Left: max |a_ij - 1/n|; right: the smallest row entropy divided by ln n. The top axis shows the
    equivalent scale c of X (c X with tau = 1 gives the same weights as X with
    tau = 1/c^2, because the scores scale with c^2).
    """
    W_q = walkthrough.W_Q if W_q is None else W_q
    W_k = walkthrough.W_K if W_k is None else W_k
    W_v = walkthrough.W_V if W_v is None else W_v
    taus = np.asarray(temperatures, dtype=float)
    spreads = [attention.weight_spread(attention.self_attention(X, W_q, W_k, W_v, temperature=t).weights)
               for t in taus]
    deviation = [s.max_abs_deviation for s in spreads]
    ratio = [s.min_entropy_ratio for s in spreads]
    figure, axes = new_figure(9.0, 3.6, dpi=dpi, ncols=2)
    for ax, values, title, ylabel in (
            (axes[0], deviation, "Largest distance from the uniform weight 1/n", r"$\max_{ij} |a_{ij} - 1/n|$"),
            (axes[1], ratio, "Least spread row: entropy / ln n", r"$\min_i \mathcal{H}_i / \ln n$")):
        ax.plot(taus, values, marker="o", markersize=3)
        ax.set_xscale("log")
        ax.axvline(1.0, color="tab:red", linestyle=":", label="seed (tau = 1)")
        label_axes(ax, title=title, xlabel="temperature tau (log scale)", ylabel=ylabel)
        top = ax.secondary_xaxis("top", functions=(_tau_to_scale, _scale_to_tau))
        top.set_xlabel("equivalent scale c of X (tau = 1/c²)")
        ax.legend(fontsize=8)
    return figure


# ---------------------------------------------------------------------------
# What the seed prints
# ---------------------------------------------------------------------------


def printed_shapes_figure(comparisons: dict, *, dpi: int = 72):
    """Entries in each printed row beside the computed width; red bars are wrong rows.

    ``comparisons`` maps a matrix name to its :class:`~mgie_lessons.printed.PrintedComparison`.
    """
    if not comparisons:
        raise ValueError("comparisons must name at least one printed matrix")
    n = len(comparisons)
    ncols = min(3, n)
    nrows = -(-n // ncols)
    figure, axes = new_figure(3.3 * ncols, 2.6 * nrows, dpi=dpi, ncols=ncols, nrows=nrows)
    axes = np.atleast_1d(axes).ravel()
    for ax, (name, comparison) in zip(axes, comparisons.items()):
        lengths = np.array(comparison.row_lengths)
        rows, cols = comparison.computed_shape
        positions = np.arange(1, len(lengths) + 1)
        wrong = (lengths != cols) | (positions > rows)
        ax.bar(positions, lengths, color=np.where(wrong, "tab:red", "tab:blue"))
        ax.axhline(cols, color="black", linestyle="--", linewidth=1)
        ax.axvline(rows + 0.5, color="black", linestyle=":", linewidth=1)
        label_axes(ax, title=f"{name}: {len(lengths)} rows (should be {rows})",
                   xlabel="printed row", ylabel="entries in the row")
        ax.title.set_fontsize(9)
    for ax in axes[n:]:
        ax.set_visible(False)
    return figure


def difference_heatmap(comparison, *, title: str, row_labels=None, col_labels=None,
                       fmt: str = "+.3f", dpi: int = 72, width: float | None = None,
                       height: float | None = None):
    """printed - computed for the rectangular part of a :class:`PrintedComparison`.

    Disagreeing entries (beyond printing precision) are annotated with the
    difference; agreeing ones get a dot; missing entries are grey with "–".
    """
    D = np.asarray(comparison.difference, dtype=float)
    rows, cols = D.shape
    bad = np.zeros(D.shape, dtype=bool)
    for entry in comparison.disagreements:
        bad[entry.row, entry.col] = True
    finite = D[np.isfinite(D)]
    limit = float(np.max(np.abs(finite))) if finite.size else 1.0
    limit = limit if limit > 0 else 1.0
    figure, ax = new_figure(width or min(1.8 + 0.6 * cols, 10), height or min(1.4 + 0.38 * rows, 8), dpi=dpi)
    heat = matrix_heatmap(D, title=title, xlabel="column j", ylabel="row i", row_labels=row_labels,
                          col_labels=col_labels, fmt=fmt, ax=ax, cmap="RdBu_r",
                          vmin=-limit, vmax=limit, colorbar=True)
    heat.image.set_cmap(heat.image.cmap.with_extremes(bad="0.8"))
    heat.figure.axes[-1].set_ylabel("printed − computed")
    for text, value, wrong in zip(heat.texts, D.ravel(), bad.ravel()):
        if np.isnan(value):
            text.set_text("–")
        elif not wrong:
            text.set_text("·")
    return figure


def row_sums_figure(row_sums: dict, token_list, *, dpi: int = 72):
    """Each printed softmax row's sum (grouped bars per printing) beside the required 1 (Eq. 2.4)."""
    if not row_sums:
        raise ValueError("row_sums must name at least one printing")
    n = max(len(v) for v in row_sums.values())
    figure, ax = new_figure(7.0, 3.6, dpi=dpi)
    width = 0.8 / len(row_sums)
    for k, (name, sums) in enumerate(row_sums.items()):
        sums = np.asarray(sums, dtype=float)
        ax.bar(np.arange(len(sums)) + (k - (len(row_sums) - 1) / 2) * width, sums, width=width, label=name)
    ax.axhline(1.0, color="black", linestyle="--", linewidth=1.2, label="softmax rows sum to exactly 1")
    ax.set_xticks(range(n))
    ax.set_xticklabels(_token_labels(token_list)[:n], rotation=45, ha="right")
    label_axes(ax, title="Row sums of the seed's printed softmax", xlabel="row (query token)",
               ylabel="sum of the printed row")
    ax.set_ylim(0, 1.3 * max(float(np.max(v)) for v in row_sums.values()))
    ax.legend(fontsize=8, loc="upper left", ncol=3)
    return figure


# ---------------------------------------------------------------------------
# The widget's fast figure
# ---------------------------------------------------------------------------


class FastWeightsHeatmap:
    """The weights heatmap of :func:`weights_heatmap` (colours fixed to [0, 1], a colour bar),
    redrawn in a few milliseconds by a :class:`~mgie_lessons.plots.common.Blitter`: the widget's
    figure. ``update`` replaces the weights; :meth:`png` draws them. ``self.values`` holds the
    weights shown.
    """

    def __init__(self, weights, token_list, *, title: str, dpi: int = 72,
                 width: float = 5.4, height: float = 4.5, fmt: str = ".3f", cmap: str = "viridis"):
        values = as_matrix(weights, "weights")
        self.figure, ax = new_figure(width, height, dpi=dpi)
        self.heat = weights_heatmap(values, token_list, title=title, ax=ax, fmt=fmt, vmin=0.0, vmax=1.0, cmap=cmap)
        self.figure.axes[-1].set_ylabel("weight a_ij")
        self.blitter = Blitter(self.figure, [self.heat.image, *self.heat.texts])
        self.update(values)

    def update(self, weights) -> None:
        """Show new weights (same shape): recolour the cells and rewrite the numbers."""
        values = np.asarray(weights, dtype=float)
        shape = self.heat.image.get_array().shape
        if values.shape != shape:
            raise ValueError(f"weights must keep shape {shape}, got {values.shape}")
        self.values = values
        self.heat.update(values, vmin=0.0, vmax=1.0)

    def png(self) -> bytes:
        """The picture as PNG bytes (:meth:`Blitter.png <mgie_lessons.plots.common.Blitter.png>`)."""
        return self.blitter.png()
