"""Shared figure helpers: Agg figures (no pyplot state), annotated heatmaps updated in place.

Figures are :class:`matplotlib.figure.Figure` objects created without pyplot, so widgets can
redraw them many times without leaking, and notebooks display them explicitly.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from matplotlib import patheffects
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

__all__ = ["new_figure", "MatrixHeatmap", "matrix_heatmap", "figure_png", "freeze_layout", "label_axes"]


def new_figure(width: float = 6.0, height: float = 4.0, dpi: int = 100, ncols: int = 1, nrows: int = 1):
    """A fresh Agg figure and its axes (an array when ncols * nrows > 1)."""
    figure = Figure(figsize=(width, height), dpi=dpi, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(nrows, ncols, squeeze=True)
    return figure, axes


def label_axes(ax, *, title: str, xlabel: str, ylabel: str) -> None:
    """Every figure in the book has a title and labelled axes."""
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)


def figure_png(figure: Figure, dpi: int | None = None) -> bytes:
    """Render ``figure`` to PNG bytes (deterministic: no timestamp metadata).

    At the figure's own dpi this draws the canvas once and encodes its pixels with Pillow at a
    low compression level, which is about twice as fast as ``savefig`` (which draws twice); the
    widgets call it on every update. Another ``dpi`` falls back to ``savefig``.
    """
    buffer = io.BytesIO()
    if dpi is not None and dpi != figure.dpi:
        figure.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
        return buffer.getvalue()
    canvas = figure.canvas if isinstance(figure.canvas, FigureCanvasAgg) else FigureCanvasAgg(figure)
    canvas.draw()
    width, height = canvas.get_width_height(physical=True)
    pixels = Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    pixels.save(buffer, format="png", compress_level=1)
    return buffer.getvalue()


def freeze_layout(figure: Figure) -> None:
    """Lay ``figure`` out once, then keep those positions (no layout pass on every redraw).

    Constrained layout costs a full layout computation per draw; a widget that only changes
    data can keep the first layout, which makes each update markedly cheaper.
    """
    canvas = figure.canvas if isinstance(figure.canvas, FigureCanvasAgg) else FigureCanvasAgg(figure)
    canvas.draw()
    figure.set_layout_engine("none")


@dataclass
class MatrixHeatmap:
    """An annotated heatmap whose values can be replaced without re-creating the figure."""

    figure: Figure
    ax: object
    image: object
    texts: list
    fmt: str

    def update(self, matrix, *, title: str | None = None, vmin=None, vmax=None) -> None:
        """Replace the displayed values (same shape) by mutating the existing artists."""
        values = np.asarray(matrix, dtype=float)
        shape = self.image.get_array().shape
        if values.shape != shape:
            raise ValueError(f"matrix must keep shape {shape}, got {values.shape}")
        self.image.set_data(values)
        low = float(values.min()) if vmin is None else vmin
        high = float(values.max()) if vmax is None else vmax
        if high <= low:
            high = low + 1e-12
        self.image.set_clim(low, high)
        for text, value in zip(self.texts, values.ravel()):
            text.set_text(format(value, self.fmt))
        if title is not None:
            self.ax.set_title(title)


def matrix_heatmap(matrix, *, title: str, xlabel: str, ylabel: str,
                   row_labels=None, col_labels=None, fmt: str = ".3f", ax=None,
                   cmap: str = "viridis", annotate: bool = True, colorbar: bool = True,
                   vmin=None, vmax=None, dpi: int = 100) -> MatrixHeatmap:
    """Draw ``matrix`` as an annotated heatmap with a title, axis labels and tick labels.

    Without ``ax`` a new figure is made at ``dpi``, sized to the matrix.
    """
    values = np.asarray(matrix, dtype=float)
    if values.ndim != 2:
        raise ValueError(f"matrix must be 2-dimensional, got shape {values.shape}")
    if ax is None:
        rows, cols = values.shape
        figure, ax = new_figure(width=min(1.6 + 0.62 * cols, 10), height=min(1.2 + 0.42 * rows, 8), dpi=dpi)
    else:
        figure = ax.figure
    image = ax.imshow(values, cmap=cmap, aspect="auto",
                      vmin=values.min() if vmin is None else vmin,
                      vmax=values.max() if vmax is None else vmax)
    label_axes(ax, title=title, xlabel=xlabel, ylabel=ylabel)
    ax.set_xticks(range(values.shape[1]))
    ax.set_yticks(range(values.shape[0]))
    if col_labels is not None:
        ax.set_xticklabels(col_labels, rotation=45, ha="right")
    if row_labels is not None:
        ax.set_yticklabels(row_labels)
    texts = []
    if annotate:
        for (i, j), value in np.ndenumerate(values):
            # Black text with a white halo stays readable on every colour of the map.
            texts.append(ax.text(j, i, format(value, fmt), ha="center", va="center",
                                 color="black", fontsize=8,
                                 path_effects=[patheffects.withStroke(linewidth=2.5, foreground="white")]))
    if colorbar:
        figure.colorbar(image, ax=ax)
    return MatrixHeatmap(figure, ax, image, texts, fmt)


def _register_notebook_display() -> None:
    """Show the book's figures in notebooks whatever matplotlib backend the kernel uses.

    The figures are built without pyplot, so under a non-inline backend (e.g. MPLBACKEND=Agg, as
    in tests and nbval) IPython would only print ``<Figure size ...>``. Registering a PNG
    formatter for :class:`Figure` makes ``fig`` as a cell's last expression (or ``display(fig)``)
    produce the image in every case.
    """
    try:
        from IPython import get_ipython
    except ImportError:  # plain Python: nothing to register
        return
    shell = get_ipython()
    if shell is None:
        return
    shell.display_formatter.formatters["image/png"].for_type(Figure, figure_png)


_register_notebook_display()
