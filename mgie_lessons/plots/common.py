"""Shared figure helpers: Agg figures (no pyplot state), the one way to PNG bytes, annotated
heatmaps updated in place, and the one blitting helper of the widget panels (:class:`Blitter`).

Figures are :class:`matplotlib.figure.Figure` objects created without pyplot, so widgets can
redraw them many times without leaking, and notebooks display them explicitly.
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass
from typing import Callable, Hashable

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.font_manager import findfont, get_font
from matplotlib.image import AxesImage
from matplotlib.text import Text

__all__ = ["new_figure", "MatrixHeatmap", "matrix_heatmap", "contrast_colours", "figure_png", "pixels_png",
           "compact_png", "png_size", "notebook_png", "freeze_layout", "label_axes", "Blitter", "nice_ceiling",
           "HIDPI_SCALE", "set_pixel_scale", "pixel_scale", "css_dpi", "display_size", "PALETTE_COLOURS"]


#: Device pixels per CSS pixel of the pictures a reader sees: 2 draws them sharp on high-density
#: screens (phones, laptops with "retina" displays) while they are shown at their 1x size.
HIDPI_SCALE = 2


def new_figure(width: float = 6.0, height: float = 4.0, dpi: int = 100, ncols: int = 1, nrows: int = 1,
               *, scale: float = 1):
    """A fresh Agg figure and its axes (an array when ncols * nrows > 1).

    ``dpi`` is the figure's density at its display size (CSS pixels per inch); ``scale`` > 1 draws
    it with ``scale`` device pixels per CSS pixel (see :func:`set_pixel_scale`).
    """
    figure = Figure(figsize=(width, height), dpi=dpi * scale, layout="constrained")
    FigureCanvasAgg(figure)
    set_pixel_scale(figure, scale)
    axes = figure.subplots(nrows, ncols, squeeze=True)
    return figure, axes


def set_pixel_scale(figure: Figure, scale: float) -> None:
    """Record that ``figure`` is drawn with ``scale`` device pixels per CSS pixel.

    It does not change the figure's dpi: a figure made at ``dpi = css_dpi * scale`` (as widget
    panels make theirs) calls this so that :func:`display_size` shows it at its CSS size.
    """
    if not scale > 0:
        raise ValueError(f"scale must be > 0, got {scale!r}")
    figure._mgie_pixel_scale = float(scale)


def pixel_scale(figure: Figure) -> float:
    """Device pixels per CSS pixel of ``figure`` as drawn at its own dpi (1 unless recorded)."""
    return getattr(figure, "_mgie_pixel_scale", 1.0)


def css_dpi(figure: Figure) -> float:
    """The figure's density at its display size: its dpi divided by its pixel scale."""
    return figure.dpi / pixel_scale(figure)


def display_size(figure: Figure, scale: float | None = None) -> tuple[float, float]:
    """(width, height) in CSS pixels at which ``figure`` is shown when drawn with ``scale`` device
    pixels per CSS pixel (default: its own pixel scale): its pixel size divided by ``scale``.

    Matplotlib truncates a canvas to whole pixels, so this may end in .5 at scale 2 (a 5.4 inch
    figure at 144 dpi is 777 pixels, shown 388.5 CSS pixels wide)."""
    scale = pixel_scale(figure) if scale is None else float(scale)
    width, height = (int(size) for size in np.asarray(figure.get_size_inches()) * css_dpi(figure) * scale)
    return width / scale, height / scale


def label_axes(ax, *, title: str, xlabel: str, ylabel: str) -> None:
    """Every figure in the book has a title and labelled axes."""
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times a power of ten that is >= ``value`` (> 0).

    Axis limits snapped to these change rarely as data moves, so a :class:`Blitter` can keep its
    cached background most of the time.
    """
    value = float(value)
    if not np.isfinite(value) or value <= 0:
        return 1.0
    power = 10.0 ** np.floor(np.log10(value))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        if step * power >= value * (1 - 1e-12):
            return step * power
    return 10.0 * power


# --------------------------------------------------------------------------------------------
# PNG bytes: one path (pixels_png), for widgets (fast) and for pages (compact)
# --------------------------------------------------------------------------------------------

#: Colours of a compact (palette) PNG by default: a PNG palette holds at most 256.
PALETTE_COLOURS = 256


def png_size(png: bytes) -> tuple[int, int]:
    """(width, height) in pixels of PNG bytes, read from the IHDR chunk."""
    if png[:8] != b"\x89PNG\r\n\x1a\n" or png[12:16] != b"IHDR":
        raise ValueError("png must be PNG bytes (signature and IHDR chunk)")
    return struct.unpack(">II", png[16:24])


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def pixels_png(pixels: np.ndarray, *, colours: int | None = None) -> bytes:
    """An (height, width, 3 or 4) uint8 array (RGB or RGBA) as PNG bytes: every PNG of the package
    is encoded here.

    ``colours=None`` (the widgets, at every update): the same channels, every row with filter type
    2 ("Up"), zlib level 1. A minimal writer (signature, IHDR, one IDAT, IEND) with one fixed filter
    is several times faster than a general encoder with adaptive filtering. "Up" stores each row as
    its difference from the row above: a figure's rows repeat a lot, so the data is mostly zeros,
    which zlib compresses faster and smaller. A canvas is encoded with its (opaque) alpha channel:
    copying RGB out of RGBA costs more than zlib spends on a channel of identical bytes.

    ``colours=k`` (pictures kept in pages: the website's frames, the chapters' figures): a palette
    PNG of at most k colours (<= 256) chosen by median cut without dithering (which would add
    noise), several times smaller. A figure's pixels are mostly a few flat colours plus
    anti-aliased edges, so text and colour maps look the same; pictures with at most k distinct
    colours are stored exactly.
    """
    pixels = np.asarray(pixels)
    if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] not in (3, 4):
        raise ValueError(f"pixels must be a (height, width, 3 or 4) uint8 array, got {pixels.dtype} {pixels.shape}")
    if colours is not None:
        from PIL import Image

        if not 1 <= colours <= 256:
            raise ValueError(f"colours must lie in [1, 256], got {colours!r}")
        picture = Image.fromarray(np.ascontiguousarray(pixels[:, :, :3]))
        palette = picture.quantize(colours, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        buffer = io.BytesIO()
        palette.save(buffer, format="png", optimize=True)
        return buffer.getvalue()
    height, width, channels = pixels.shape
    rows = np.empty((height, width * channels + 1), dtype=np.uint8)
    rows[:, 0] = 2                      # filter type "Up" for every row ...
    rows[0, 0] = 0                      # ... except the first, stored as it is ("None")
    data = rows[:, 1:]
    data.shape = (height, width, channels)     # a view of the rows' data bytes (raises rather than copy)
    data[0] = pixels[0]
    np.subtract(pixels[1:], pixels[:-1], out=data[1:])     # uint8 arithmetic wraps modulo 256, as PNG wants
    colour_type = 6 if channels == 4 else 2                # 8-bit RGBA or RGB, no interlace
    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
            + _png_chunk(b"IDAT", zlib.compress(rows, 1)) + _png_chunk(b"IEND", b""))


def compact_png(png: bytes, colours: int = PALETTE_COLOURS) -> bytes:
    """PNG bytes re-encoded as a palette PNG of at most ``colours`` colours (:func:`pixels_png`);
    the website's explorers store the panels' pictures this way."""
    from PIL import Image

    return pixels_png(np.asarray(Image.open(io.BytesIO(png)).convert("RGB")), colours=colours)


def figure_png(figure: Figure, dpi: float | None = None, *, scale: float | None = None,
               compact: bool = False, colours: int = PALETTE_COLOURS) -> bytes:
    """Render ``figure`` to PNG bytes (deterministic: no metadata).

    By default the figure is drawn at its own dpi. ``scale`` draws it with ``scale`` device pixels
    per CSS pixel instead (``scale=2``: twice the pixels of its display size in each direction, for
    high-density screens; show it at :func:`display_size`); ``dpi`` sets the density directly.
    ``compact=True`` stores a palette PNG of ``colours`` colours (slower: for pictures kept in a
    page, not for widgets).

    The canvas is drawn once and its pixels are encoded by :func:`pixels_png`, several times
    faster than ``savefig`` (which draws twice and filters every row).
    """
    target = dpi if dpi is not None else (css_dpi(figure) * scale if scale is not None else figure.dpi)
    if not target > 0:
        raise ValueError(f"dpi and scale must be > 0, got dpi={dpi!r}, scale={scale!r}")
    own = figure.dpi
    canvas = figure.canvas if isinstance(figure.canvas, FigureCanvasAgg) else FigureCanvasAgg(figure)
    if abs(target - own) > 1e-9:
        figure.set_dpi(target)
    try:
        canvas.draw()
        return pixels_png(np.asarray(canvas.buffer_rgba()), colours=colours if compact else None)
    finally:
        if figure.dpi != own:
            figure.set_dpi(own)


def notebook_png(figure: Figure) -> tuple[bytes, dict]:
    """How a notebook shows a figure: a compact PNG with twice the pixels of its display size, and
    that size (CSS pixels) as the output's width and height, so it is sharp on high-density screens
    and as large as a 1x picture everywhere (Jupyter and the website read the metadata)."""
    width, height = (int(size) if float(size).is_integer() else size for size in display_size(figure, HIDPI_SCALE))
    return figure_png(figure, scale=HIDPI_SCALE, compact=True), {"width": width, "height": height}


def _register_notebook_display() -> None:
    """Show the book's figures in notebooks whatever matplotlib backend the kernel uses.

    The figures are built without pyplot, so under a non-inline backend (e.g. MPLBACKEND=Agg, as
    in tests and nbval) IPython would only print ``<Figure size ...>``. Registering a PNG
    formatter for :class:`Figure` makes ``fig`` as a cell's last expression (or ``display(fig)``)
    produce the image in every case, drawn by :func:`notebook_png`.
    """
    try:
        from IPython import get_ipython
    except ImportError:  # plain Python: nothing to register
        return
    shell = get_ipython()
    if shell is None:
        return
    shell.display_formatter.formatters["image/png"].for_type(Figure, notebook_png)


_register_notebook_display()


# --------------------------------------------------------------------------------------------
# Annotated heatmaps
# --------------------------------------------------------------------------------------------

def contrast_colours(image: AxesImage, values) -> list[str]:
    """The colour of a label on each cell of ``image`` showing ``values``: black on light cells,
    white on dark ones, by the luminance of the cell's colour (Rec. 709 weights, > 0.5 is light).
    The one rule of every annotated heatmap (masked or NaN cells take the colour map's "bad")."""
    rgba = image.cmap(image.norm(np.asarray(values, dtype=float).ravel()))
    luminance = 0.2126 * rgba[:, 0] + 0.7152 * rgba[:, 1] + 0.0722 * rgba[:, 2]
    return ["black" if light else "white" for light in luminance > 0.5]


def _colour_texts(image, texts, values) -> None:
    for text, colour in zip(texts, contrast_colours(image, values) if texts else ()):
        text.set_color(colour)


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
        _colour_texts(self.image, self.texts, values)
        if title is not None:
            self.ax.set_title(title)


def matrix_heatmap(matrix, *, title: str, xlabel: str, ylabel: str,
                   row_labels=None, col_labels=None, fmt: str = ".3f", ax=None,
                   cmap: str = "viridis", annotate: bool = True, colorbar: bool = True,
                   vmin=None, vmax=None, dpi: int = 100) -> MatrixHeatmap:
    """Draw ``matrix`` as an annotated heatmap with a title, axis labels and tick labels; the
    labels are black or white by :func:`contrast_colours`.

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
        _colour_texts(image, texts, values)
    if colorbar:
        figure.colorbar(image, ax=ax)
    return MatrixHeatmap(figure, ax, image, texts, fmt)


# --------------------------------------------------------------------------------------------
# Redrawing only what changes (the widget panels)
# --------------------------------------------------------------------------------------------

def freeze_layout(figure: Figure) -> None:
    """Lay ``figure`` out once with everything visible, then keep those positions.

    Constrained layout costs a full layout computation per draw; a widget that only changes data
    can keep the first layout, which makes each update markedly cheaper. The layout engine is set
    to ``None`` (not ``"none"``, with which ``savefig`` draws twice). Every axes title is pinned
    where that layout put it (the flag ``Axes.set_title(y=...)`` sets): matplotlib would otherwise
    re-place each title at every draw from the extents of the texts around it, and a hidden text
    reports an extent at the canvas origin, which once sent titles off the canvas (issue 9). A
    title set again without ``y`` returns to the top of its axes. Calling it again does nothing.
    """
    if getattr(figure, "_mgie_layout_frozen", False):
        return
    if not isinstance(figure.canvas, FigureCanvasAgg):
        FigureCanvasAgg(figure)
    figure.draw_without_rendering()          # the layout (and the titles' places), no pixels
    figure.set_layout_engine(None)
    for ax in figure.axes:
        ax._autotitlepos = False
    figure._mgie_layout_frozen = True


def _titles(figure: Figure) -> list[Text]:
    """Every title of ``figure``: the three of each axes and the suptitle."""
    titles = [title for ax in figure.axes for title in (ax.title, ax._left_title, ax._right_title)]
    return titles + ([figure._suptitle] if figure._suptitle is not None else [])


def _axes_limits(figure: Figure) -> tuple:
    """The x and y limits of every axes of ``figure`` (rounded): what a cached background depends on."""
    return tuple(round(float(v), 12) for ax in figure.axes for v in (*ax.get_xlim(), *ax.get_ylim()))


class _PaintedImage:
    """Draw a nearest-neighbour :class:`~matplotlib.image.AxesImage` with numpy, straight into the
    canvas pixels: each pixel takes the colour of the cell under its centre (the same picture as
    matplotlib's, up to where a cell edge falls within a pixel).

    Matplotlib resamples an image to the output pixels and colours every pixel through the colour
    map; at two device pixels per CSS pixel that costs milliseconds per image. Colouring the cells
    once and repeating each cell over its pixels is many times faster.
    """

    def __init__(self, image: AxesImage):
        self.image = image
        self._geometry_key = None

    def _geometry(self, height: int):
        """Pixel ranges and, per pixel row and column, the cell it shows (cached while unchanged)."""
        ax = self.image.axes
        data = self.image.get_array()
        left, right, bottom, top = self.image.get_extent()
        key = (data.shape[:2], (left, right, bottom, top), tuple(ax.bbox.bounds), ax.get_xlim(), ax.get_ylim(), height)
        if key == self._geometry_key:
            return self._geometry_cache
        rows, cols = data.shape[:2]
        box = ax.bbox                                       # images are clipped to their axes
        to_data = ax.transData.inverted()
        first_col, last_col = int(np.ceil(box.x0 - 0.5)), int(np.floor(box.x1 - 0.5))
        first_row, last_row = int(np.ceil(height - box.y1 - 0.5)), int(np.floor(height - box.y0 - 0.5))
        xs = np.arange(first_col, last_col + 1) + 0.5       # pixel centres, display coordinates
        ys = height - (np.arange(first_row, last_row + 1) + 0.5)
        x_data = to_data.transform(np.column_stack([xs, np.full_like(xs, box.y0)]))[:, 0]
        y_data = to_data.transform(np.column_stack([np.full_like(ys, box.x0), ys]))[:, 1]
        col = np.floor((x_data - left) / (right - left) * cols).astype(int)
        # Row 0 is at ``top`` for origin "upper" (the extent then runs bottom -> top downwards).
        if self.image.origin == "upper":
            row = np.floor((y_data - top) / (bottom - top) * rows).astype(int)
        else:
            row = np.floor((y_data - bottom) / (top - bottom) * rows).astype(int)
        keep_col, keep_row = (col >= 0) & (col < cols), (row >= 0) & (row < rows)
        if not keep_col.any() or not keep_row.any():
            geometry = None
        else:
            c0, c1 = np.flatnonzero(keep_col)[[0, -1]]
            r0, r1 = np.flatnonzero(keep_row)[[0, -1]]
            geometry = (first_row + r0, first_row + r1 + 1, first_col + c0, first_col + c1 + 1,
                        row[r0:r1 + 1], col[c0:c1 + 1])
        self._geometry_key, self._geometry_cache = key, geometry
        return geometry

    def paint(self, pixels: np.ndarray) -> None:
        """Paint the image into ``pixels``, the canvas's (height, width, 4) uint8 RGBA buffer."""
        geometry = self._geometry(pixels.shape[0])
        if geometry is None:
            return
        top, bottom, left, right, rows, cols = geometry
        colours = self.image.to_rgba(self.image.get_array(), bytes=True)      # (rows, cols, 4) uint8
        cells = colours.take(rows, axis=0).take(cols, axis=1)
        target = pixels[top:bottom, left:right]
        alpha = colours[..., 3]
        if np.all(alpha == 255):
            target[...] = cells
        elif np.all((alpha == 0) | (alpha == 255)):         # blank (masked) cells show what is behind
            np.copyto(target, cells, where=cells[..., 3:] == 255)
        else:                                               # translucent cells: blend
            share = cells[..., 3:].astype(np.float32) / 255.0
            target[..., :3] = np.round(cells[..., :3] * share + target[..., :3] * (1.0 - share)).astype(np.uint8)


def _stampable(text: Text) -> bool:
    """A text :class:`Blitter` can stamp from a glyph bitmap: one line, no maths, no rotation,
    no box, no path effects (a heatmap's numbers)."""
    words = text.get_text()
    return (text.get_rotation() == 0 and text.get_bbox_patch() is None and not text.get_path_effects()
            and "\n" not in words and "$" not in words)


class _Stamp:
    """Draw a one-line text from a cached bitmap of its glyphs, blended into the canvas pixels.

    Laying a text out and rasterising its glyphs is the slow part of a matplotlib draw (about
    0.5 ms per text); a heatmap's numbers change at every update, but take few distinct strings.
    """

    ALIGN_X = {"left": 0.0, "center": 0.5, "right": 1.0}
    ALIGN_Y = {"top": 0.0, "center": 0.5, "center_baseline": 0.5, "bottom": 1.0}

    def __init__(self):
        self.bitmaps: dict = {}

    def _coverage(self, text: Text, dpi: float) -> tuple[np.ndarray, float, float]:
        """The text's glyph coverage (0 to 1), its descent below the baseline and its advance
        width (what matplotlib aligns), in pixels."""
        words, properties = text.get_text(), text.get_fontproperties()
        key = (words, hash(properties), dpi)
        if key not in self.bitmaps:
            font = get_font(findfont(properties))
            font.set_size(properties.get_size_in_points(), dpi)
            font.set_text(words, 0.0)
            font.draw_glyphs_to_bitmap(antialiased=True)
            self.bitmaps[key] = (np.asarray(font.get_image(), dtype=np.float32)[..., None] / 255.0,
                                 font.get_descent() / 64.0, font.get_width_height()[0] / 64.0)
        return self.bitmaps[key]

    def draw(self, text: Text, pixels: np.ndarray, dpi: float) -> None:
        if not text.get_text():
            return
        ink, descent, advance = self._coverage(text, dpi)
        height, width = ink.shape[:2]
        x, y = text.get_transform().transform(text.get_unitless_position())
        left = int(round(x - self.ALIGN_X[text.get_horizontalalignment()] * advance))
        align = text.get_verticalalignment()
        below = height - descent if align == "baseline" else self.ALIGN_Y[align] * height
        top = int(round(pixels.shape[0] - y - below))
        rows = slice(max(top, 0), min(top + height, pixels.shape[0]))
        cols = slice(max(left, 0), min(left + width, pixels.shape[1]))
        if rows.start >= rows.stop or cols.start >= cols.stop:
            return
        ink = ink[rows.start - top:rows.stop - top, cols.start - left:cols.stop - left]
        red, green, blue, alpha = to_rgba(text.get_color(), text.get_alpha())
        ink = ink * alpha
        box = pixels[rows, cols, :3]
        box[...] = np.round(box * (1.0 - ink) + np.array([red, green, blue], dtype=np.float32) * 255.0 * ink)


class Blitter:
    """Redraw only the artists that change (``dynamic``) over a cached picture of the rest.

    The classic blitting technique: a full draw of the figure without the dynamic artists is kept
    (the background), and :meth:`png` copies it into the canvas, draws the dynamic artists over it
    and encodes the pixels (pass it as a panel's ``render``). Ticks, tick labels, axis labels and
    colour bars, the slow part of a matplotlib draw, are then drawn once per background.

    * One background per state of what it shows: the axes limits, and ``key()`` when given (what
      else changes the static parts: chapter 13's grey curves depend on the training set). The
      ``size`` most recent are kept, so moving a control back and forth reuses them.
    * Titles are never part of what is blitted: they are left out of every background and drawn
      at every update (stamped, see below), so a title that follows the values needs no listing
      and a cached picture can never show a stale or misplaced one (issue 9). The layout is
      frozen first (:func:`freeze_layout`).
    * Nearest-neighbour images on linear axes are painted with numpy (:class:`_PaintedImage`), and
      the frame of their axes, which a full draw puts on top, is drawn again after them. Without it
      the attention (10 x 10 cells), errata and end-to-end panels miss the 16 ms target at 2x.
    * One-line texts (titles, a heatmap's numbers) are stamped from cached glyph bitmaps
      (:class:`_Stamp`): drawn by matplotlib, the attention panel's 100 numbers would cost about
      50 ms, and the titles 2 to 3 ms each (chapter 12's four, chapter 13's three and eight
      numbers, the errata panel's two would miss the 16 ms target).
    * Everything else is drawn by matplotlib, in the order given. Anything drawn on top of a
      dynamic artist must be dynamic too, or the dynamic artist covers it.

    Call :meth:`invalidate` after changing anything static not covered by the key.
    """

    def __init__(self, figure: Figure, dynamic, *, key: Callable[[], Hashable] | None = None, size: int = 8):
        freeze_layout(figure)
        self.figure = figure
        self.canvas = figure.canvas
        titles = _titles(figure)
        self.dynamic = [artist for artist in dynamic if not any(artist is title for title in titles)]
        self.painters = {id(artist): _PaintedImage(artist) for artist in self.dynamic
                         if isinstance(artist, AxesImage) and artist.get_interpolation() in ("nearest", "none")
                         and artist.axes.get_xscale() == artist.axes.get_yscale() == "linear"}
        for image in [artist for artist in self.dynamic if id(artist) in self.painters]:
            self.dynamic += [spine for spine in image.axes.spines.values()
                             if spine.get_visible() and spine not in self.dynamic]
        self.titles = titles
        self.key = key
        self.size = size
        self.stamp = _Stamp()
        self._backgrounds: dict = {}
        self._generation = 0
        self.full_draws = 0

    def invalidate(self) -> None:
        """Forget every background (something static changed)."""
        self._backgrounds.clear()
        self._generation += 1

    def _background(self) -> np.ndarray:
        key = (self._generation, _axes_limits(self.figure), self.key() if self.key is not None else None)
        if key not in self._backgrounds:
            hidden = self.dynamic + self.titles
            visible = [artist.get_visible() for artist in hidden]
            for artist in hidden:
                artist.set_visible(False)
            try:
                self.canvas.draw()
                background = np.asarray(self.canvas.buffer_rgba()).copy()
            finally:
                for artist, was_visible in zip(hidden, visible):
                    artist.set_visible(was_visible)
            if len(self._backgrounds) >= self.size:
                self._backgrounds.pop(next(iter(self._backgrounds)))      # forget the oldest
            self._backgrounds[key] = background
            self.full_draws += 1
        return self._backgrounds[key]

    def png(self) -> bytes:
        """The figure as PNG bytes: background, dynamic artists, titles (see the class)."""
        background = self._background()
        renderer = self.canvas.get_renderer()
        pixels = np.asarray(renderer.buffer_rgba())
        pixels[...] = background
        for artist in self.dynamic:
            if not artist.get_visible():
                continue
            painter = self.painters.get(id(artist))
            if painter is not None:
                painter.paint(pixels)
            elif isinstance(artist, Text) and _stampable(artist):
                self.stamp.draw(artist, pixels, self.figure.dpi)
            else:
                artist.draw(renderer)
        for title in self.titles:
            if title.get_visible() and title.get_text() and (title.axes is None or title.axes.get_visible()):
                if _stampable(title):
                    self.stamp.draw(title, pixels, self.figure.dpi)
                else:
                    title.draw(renderer)
        return pixels_png(pixels)

