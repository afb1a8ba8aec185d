"""Shared figure helpers: Agg figures (no pyplot state), annotated heatmaps updated in place.

Figures are :class:`matplotlib.figure.Figure` objects created without pyplot, so widgets can
redraw them many times without leaking, and notebooks display them explicitly.
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass

import numpy as np
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["new_figure", "MatrixHeatmap", "matrix_heatmap", "figure_png", "freeze_layout", "label_axes",
           "BlitRenderer", "BackgroundCache", "nice_ceiling"]


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


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _encode_canvas(canvas: FigureCanvasAgg) -> bytes:
    """The canvas's pixels as an RGB PNG: rows with filter type 0, zlib level 1.

    A minimal PNG writer (signature, IHDR, one IDAT, IEND) is about three times faster than a
    general encoder with adaptive filtering, and the widgets encode a PNG on every update.
    """
    width, height = canvas.get_width_height(physical=True)
    rgb = np.asarray(canvas.buffer_rgba())[:, :, :3]
    rows = np.empty((height, width * 3 + 1), dtype=np.uint8)
    rows[:, 0] = 0  # filter type "None" for every row
    rows[:, 1:] = rgb.reshape(height, width * 3)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
            + _png_chunk(b"IDAT", zlib.compress(rows.tobytes(), 1)) + _png_chunk(b"IEND", b""))


def figure_png(figure: Figure, dpi: int | None = None) -> bytes:
    """Render ``figure`` to PNG bytes (deterministic: no timestamp metadata).

    At the figure's own dpi this draws the canvas once and encodes its pixels with a minimal PNG
    writer, several times faster than ``savefig`` (which draws twice and filters every row); the
    widgets call it on every update. Another ``dpi`` falls back to ``savefig``.
    """
    buffer = io.BytesIO()
    if dpi is not None and dpi != figure.dpi:
        figure.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
        return buffer.getvalue()
    canvas = figure.canvas if isinstance(figure.canvas, FigureCanvasAgg) else FigureCanvasAgg(figure)
    canvas.draw()
    return _encode_canvas(canvas)


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times a power of ten that is >= ``value`` (> 0).

    Axis limits snapped to these change rarely as data moves, so a :class:`BlitRenderer` can
    keep its cached background most of the time.
    """
    value = float(value)
    if not np.isfinite(value) or value <= 0:
        return 1.0
    power = 10.0 ** np.floor(np.log10(value))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        if step * power >= value * (1 - 1e-12):
            return step * power
    return 10.0 * power


class BlitRenderer:
    """Redraw only the artists that change, over a cached picture of everything else.

    Ticks, tick labels, titles, axis labels and colour bars are the slow part of a matplotlib
    draw and rarely change when a widget moves. This keeps a picture of the figure without the
    ``dynamic`` artists, and each :meth:`png` restores that picture and draws only the dynamic
    ones (the classic blitting technique). Call :meth:`invalidate` after changing anything that
    is not dynamic (axis limits, a title): the next render draws the whole figure again.
    """

    def __init__(self, figure: Figure, dynamic):
        self.figure = figure
        self.canvas = figure.canvas if isinstance(figure.canvas, FigureCanvasAgg) else FigureCanvasAgg(figure)
        self.dynamic = list(dynamic)
        self._background = None
        self.full_draws = 0

    def invalidate(self) -> None:
        self._background = None

    def _capture_background(self) -> None:
        visible = [artist.get_visible() for artist in self.dynamic]
        for artist in self.dynamic:
            artist.set_visible(False)
        self.canvas.draw()
        self._background = self.canvas.copy_from_bbox(self.figure.bbox)
        for artist, was_visible in zip(self.dynamic, visible):
            artist.set_visible(was_visible)
        self.full_draws += 1

    def draw(self) -> None:
        if self._background is None:
            self._capture_background()
        self.canvas.restore_region(self._background)
        renderer = self.canvas.get_renderer()
        for artist in self.dynamic:
            if artist.get_visible():
                artist.draw(renderer)

    def png(self) -> bytes:
        """Draw (cheaply when the background is still valid) and encode as PNG."""
        self.draw()
        return _encode_canvas(self.canvas)


def freeze_layout(figure: Figure) -> None:
    """Lay ``figure`` out once, then keep those positions (no layout pass on every redraw).

    Constrained layout costs a full layout computation per draw; a widget that only changes
    data can keep the first layout, which makes each update markedly cheaper.
    """
    canvas = figure.canvas if isinstance(figure.canvas, FigureCanvasAgg) else FigureCanvasAgg(figure)
    canvas.draw()
    figure.set_layout_engine("none")


def _colour_texts_for_contrast(image, texts, values) -> None:
    """Black text on light cells, white text on dark ones (by the cell colour's luminance)."""
    if not texts:
        return
    rgba = image.cmap(image.norm(np.asarray(values, dtype=float).ravel()))
    luminance = 0.2126 * rgba[:, 0] + 0.7152 * rgba[:, 1] + 0.0722 * rgba[:, 2]
    for text, light in zip(texts, luminance > 0.5):
        text.set_color("black" if light else "white")


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
        _colour_texts_for_contrast(self.image, self.texts, values)
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
    image = ax.imshow(values, cmap=cmap, aspect="auto", interpolation="nearest",
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
            texts.append(ax.text(j, i, format(value, fmt), ha="center", va="center", fontsize=8))
        _colour_texts_for_contrast(image, texts, values)
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


# --- Two ways to redraw only what changes -------------------------------------------------
# BlitRenderer (above) restores a saved region and draws the dynamic artists on it; the panel
# renders through it. BackgroundCache (below) puts a picture of the static parts behind the
# figure, so an ordinary draw (figure_png) paints only that picture and the dynamic artists;
# it keeps one picture per set of axis limits.

class _BackgroundPicture(Artist):
    """A pre-rendered RGBA picture copied to the canvas pixel for pixel (no resampling)."""

    def __init__(self):
        super().__init__()
        self._rows_bottom_up = None
        self.set_zorder(-10)

    def show(self, rgba: np.ndarray) -> None:
        self._rows_bottom_up = rgba[::-1]          # the renderer counts rows from the bottom
        self.stale = True

    def draw(self, renderer) -> None:
        if not self.get_visible() or self._rows_bottom_up is None:
            return
        gc = renderer.new_gc()
        renderer.draw_image(gc, 0, 0, np.ascontiguousarray(self._rows_bottom_up))
        gc.restore()
        self.stale = False


class BackgroundCache:
    """Make a widget's redraws cheap: paint everything except the data only when it changes.

    Text is what makes matplotlib slow, and in a widget most text (titles, axis labels, tick
    labels, legends) only changes when the axes limits change. This class renders the figure
    WITHOUT the ``dynamic`` artists (the lines or bars an update moves) into a picture, keeps one
    picture per combination of axes limits (the ``size`` most recent ones), hides the artists it
    painted and shows the picture behind the data instead. Call :meth:`refresh` after every update
    that may have changed the limits. The layout is frozen (no layout engine), so pictures line up.
    Anything else that changes (a title, say) must be listed in ``dynamic``.
    """

    def __init__(self, figure, dynamic, size: int = 16):
        figure.canvas.draw()
        figure.set_layout_engine("none")
        self.figure = figure
        self.dynamic = list(dynamic)
        self.size = size
        self.pictures: dict = {}
        self.static = [figure.patch]
        for ax in figure.axes:
            self.static += [ax.patch, ax.title, ax._left_title, ax._right_title, *ax.spines.values()]
            self.static += [axis for axis in (ax.xaxis, ax.yaxis) if axis not in self.dynamic]
            self.static += [artist for artist in (ax.get_legend(), *ax.texts) if artist is not None]
        self.static = [artist for artist in self.static if artist not in self.dynamic]
        self.picture = _BackgroundPicture()
        figure.add_artist(self.picture)
        self.refresh()

    def _key(self) -> tuple:
        return tuple(round(float(v), 12) for ax in self.figure.axes for v in (*ax.get_xlim(), *ax.get_ylim()))

    def _render(self) -> np.ndarray:
        for artist in self.dynamic:
            artist.set_visible(False)
        for artist in self.static:
            artist.set_visible(True)
        self.picture.set_visible(False)
        self.figure.canvas.draw()
        rgba = np.asarray(self.figure.canvas.buffer_rgba()).copy()
        for artist in self.static:
            artist.set_visible(False)
        for artist in self.dynamic:
            artist.set_visible(True)
        self.picture.set_visible(True)
        return rgba

    def refresh(self) -> None:
        """Show the picture for the current limits, rendering it first if it is new."""
        key = self._key()
        if key not in self.pictures:
            if len(self.pictures) >= self.size:
                self.pictures.pop(next(iter(self.pictures)))      # forget the oldest
            self.pictures[key] = self._render()
        self.picture.show(self.pictures[key])
