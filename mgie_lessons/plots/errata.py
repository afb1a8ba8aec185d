"""Figures for chapter 7: where the seed's printed values agree with the computed ones."""

from __future__ import annotations

import numpy as np

from .. import errata
from ..printed import PrintedComparison
from .common import label_axes, matrix_heatmap, new_figure

__all__ = ["status_chart", "difference_heatmap", "two_difference_heatmaps"]

COLOURS = {"agrees": "#1b7837", "differs": "#b2182b", "undefined": "#8c8c8c"}


def status_chart(rows=None, dpi: int = 80):
    """A stacked bar per chapter: how many printed items agree, differ or are undefined."""
    rows = errata.errata() if rows is None else rows
    chapters = sorted({row.chapter for row in rows})
    figure, ax = new_figure(width=6.5, height=3.4, dpi=dpi)
    bottom = np.zeros(len(chapters))
    for status in errata.STATUSES:
        counts = np.array([sum(1 for r in rows if r.chapter == c and r.status == status) for c in chapters])
        ax.bar([f"ch. {c}" for c in chapters], counts, bottom=bottom, color=COLOURS[status], label=status)
        bottom += counts
    label_axes(ax, title="The seed's printed items, checked", xlabel="chapter of this book",
               ylabel="number of printed items")
    ax.legend(loc="upper right")
    return figure


def difference_limit(comparison: PrintedComparison) -> float:
    """The colour range +-limit of a difference heatmap: the largest |printed - computed|."""
    difference = comparison.difference
    limit = float(np.nanmax(np.abs(difference))) if np.isfinite(difference).any() else 1.0
    return max(limit, 1e-6)


def difference_heatmap(comparison: PrintedComparison, *, title: str, dpi: int = 72, ax=None,
                       limit: float | None = None, annotate: bool = True):
    """printed - computed on the overlapping rows; blank where the seed printed nothing.

    The colour scale runs from -limit to +limit (default: the largest |difference|).
    """
    difference = comparison.difference
    limit = difference_limit(comparison) if limit is None else limit
    return matrix_heatmap(difference, title=title, xlabel="column", ylabel="row (first rows as printed)",
                          row_labels=[str(i + 1) for i in range(difference.shape[0])],
                          col_labels=[str(j + 1) for j in range(difference.shape[1])],
                          fmt="+.2f", cmap="RdBu_r", vmin=-limit, vmax=limit, dpi=dpi, ax=ax,
                          annotate=annotate)


def two_difference_heatmaps(wide: PrintedComparison, narrow: PrintedComparison, *, wide_title: str,
                            narrow_title: str, dpi: int = 72, wide_limit: float | None = None,
                            narrow_limit: float | None = None, annotate: bool = True,
                            width: float = 10.0, height: float = 4.6):
    """Side by side: a 10 x 10 attention matrix and a 10 x 2 FFN matrix, printed - computed."""
    figure, axes = new_figure(width=width, height=height, dpi=dpi, ncols=2)
    figure.get_layout_engine().set(w_pad=0.1)
    axes[0].set_box_aspect(1.0)
    left = difference_heatmap(wide, title=wide_title, ax=axes[0], limit=wide_limit, annotate=annotate)
    right = difference_heatmap(narrow, title=narrow_title, ax=axes[1], limit=narrow_limit, annotate=annotate)
    return figure, left, right


