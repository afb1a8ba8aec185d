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
from matplotlib.image import AxesImage
from matplotlib.text import Text

__all__ = ["new_figure", "MatrixHeatmap", "matrix_heatmap", "figure_png", "freeze_layout", "label_axes",
           "BlitRenderer", "BackgroundCache", "nice_ceiling", "HIDPI_SCALE", "set_pixel_scale", "pixel_scale",
           "css_dpi", "display_size", "png_size", "compact_png_bytes", "notebook_png", "pixels_png", "pin_titles",
           "PaintedImage", "DynamicLayer", "axes_limits", "holds_pixel_pictures"]


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


def png_size(png: bytes) -> tuple[int, int]:
    """(width, height) in pixels of PNG bytes, read from the IHDR chunk."""
    if png[:8] != b"\x89PNG\r\n\x1a\n" or png[12:16] != b"IHDR":
        raise ValueError("png must be PNG bytes (signature and IHDR chunk)")
    return struct.unpack(">II", png[16:24])


def label_axes(ax, *, title: str, xlabel: str, ylabel: str) -> None:
    """Every figure in the book has a title and labelled axes."""
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def pixels_png(pixels: np.ndarray) -> bytes:
    """An (height, width, 3 or 4) uint8 array (RGB or RGBA) as a PNG of the same channels: every
    row with filter type 2 ("Up"), zlib level 1.

    A minimal PNG writer (signature, IHDR, one IDAT, IEND) with one fixed filter is several
    times faster than a general encoder with adaptive filtering, and the widgets encode a PNG on
    every update. "Up" stores each row as its difference from the row above: a figure's rows
    repeat a lot, so the data is mostly zeros, which zlib compresses faster and smaller. A canvas
    is encoded with its (opaque) alpha channel: copying RGB out of RGBA costs more than zlib
    spends on a channel of identical bytes.
    """
    pixels = np.asarray(pixels)
    if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] not in (3, 4):
        raise ValueError(f"pixels must be a (height, width, 3 or 4) uint8 array, got {pixels.dtype} {pixels.shape}")
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


def _encode_canvas(canvas: FigureCanvasAgg) -> bytes:
    """The canvas's pixels as a PNG (:func:`pixels_png`)."""
    return pixels_png(np.asarray(canvas.buffer_rgba()))


#: Colours kept by :func:`compact_png_bytes` (a PNG palette holds at most 256).
PALETTE_COLOURS = 256


def _palette_png(rgb: np.ndarray, colours: int = PALETTE_COLOURS) -> bytes:
    """RGB pixels as a small palette PNG (for pictures stored in pages, not for widgets).

    A figure's pixels are mostly a few flat colours plus anti-aliased edges; a palette of
    ``colours`` colours chosen by median cut (no dithering, which would add noise) keeps text and
    colour maps looking the same and makes the file several times smaller than RGB. Pictures
    with at most ``colours`` distinct colours are stored exactly.
    """
    from PIL import Image

    picture = Image.fromarray(np.ascontiguousarray(rgb[:, :, :3]))
    palette = picture.quantize(colours, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    buffer = io.BytesIO()
    palette.save(buffer, format="png", optimize=True)
    return buffer.getvalue()


def compact_png_bytes(png: bytes, colours: int = PALETTE_COLOURS) -> bytes:
    """Re-encode PNG bytes as a small palette PNG (what ``figure_png(..., compact=True)`` stores)."""
    from PIL import Image

    return _palette_png(np.asarray(Image.open(io.BytesIO(png)).convert("RGB")), colours)


def figure_png(figure: Figure, dpi: float | None = None, *, scale: float | None = None,
               compact: bool = False, colours: int = PALETTE_COLOURS) -> bytes:
    """Render ``figure`` to PNG bytes (deterministic: no timestamp metadata).

    By default the figure is drawn at its own dpi. ``scale`` draws it with ``scale`` device pixels
    per CSS pixel instead (``scale=2``: twice the pixels of its display size in each direction, for
    high-density screens; show it at :func:`display_size`); ``dpi`` sets the density directly.
    ``compact=True`` stores a palette PNG of ``colours`` colours (at most 256), several times
    smaller (slower: for pictures kept in a page, such as the website's precomputed frames and the
    chapters' figures, not for widgets).

    The canvas is drawn once and its pixels are encoded by a minimal PNG writer, several times
    faster than ``savefig`` (which draws twice and filters every row); the widgets call it on
    every update. A figure showing pictures cached at its own dpi (a :class:`BackgroundCache`)
    must be drawn at that dpi.
    """
    target = dpi if dpi is not None else (css_dpi(figure) * scale if scale is not None else figure.dpi)
    if not target > 0:
        raise ValueError(f"dpi and scale must be > 0, got dpi={dpi!r}, scale={scale!r}")
    own = figure.dpi
    if abs(target - own) > 1e-9 and holds_pixel_pictures(figure):
        raise ValueError(f"this figure shows pictures drawn at its own dpi ({own:g}); it can only be "
                         f"drawn at that dpi, not at {target:g} (make it at the density wanted)")
    canvas = figure.canvas if isinstance(figure.canvas, FigureCanvasAgg) else FigureCanvasAgg(figure)
    if abs(target - own) > 1e-9:
        figure.set_dpi(target)
    try:
        canvas.draw()
        return _palette_png(np.asarray(canvas.buffer_rgba()), colours) if compact else _encode_canvas(canvas)
    finally:
        if figure.dpi != own:
            figure.set_dpi(own)


def holds_pixel_pictures(figure: Figure) -> bool:
    """True when ``figure`` shows pictures copied pixel for pixel (``figimage``, a
    :class:`BackgroundCache`): they were drawn at the figure's dpi and do not scale with it."""
    return bool(figure.images) or any(isinstance(artist, _BackgroundPicture) for artist in figure.artists)


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


def pin_titles(figure: Figure) -> None:
    """Keep every axes title where it is now; call it after a draw with everything visible.

    At every draw matplotlib places each title just above the highest text of its axes, reading
    the extents of the axes' texts and of the other titles. A hidden text reports an extent at
    the canvas origin, so a draw that hides some artists (as :class:`BlitRenderer` and
    :class:`BackgroundCache` do to picture the rest) used to send the titles off the canvas: the
    first picture of a panel came without titles. Pinned titles stay where the full, visible
    layout put them (``set_title(y=...)`` pins them the same way; a title set again without ``y``
    returns to the top of its axes, where the panels' titles sit).
    """
    for ax in figure.axes:
        ax._autotitlepos = False     # the flag Axes.set_title(y=...) sets: no automatic placement


def freeze_layout(figure: Figure) -> None:
    """Lay ``figure`` out once with everything visible, then keep those positions.

    Constrained layout costs a full layout computation per draw; a widget that only changes
    data can keep the first layout, which makes each update markedly cheaper. The titles are
    pinned where that layout put them (:func:`pin_titles`). Calling it again does nothing.
    """
    if getattr(figure, "_mgie_layout_frozen", False):
        return
    if not isinstance(figure.canvas, FigureCanvasAgg):
        FigureCanvasAgg(figure)
    figure.draw_without_rendering()          # the layout (and the titles' places), no pixels
    figure.set_layout_engine(None)
    pin_titles(figure)
    figure._mgie_layout_frozen = True


class PaintedImage:
    """Draw a nearest-neighbour :class:`~matplotlib.image.AxesImage` with numpy, straight into the
    canvas pixels: each pixel takes the colour of the cell under its centre.

    Matplotlib draws an image by resampling its data to the output pixels and then colouring every
    pixel through the colour map; for the few cells of a widget's heatmap that costs milliseconds
    per image at two device pixels per CSS pixel. Colouring the cells once and repeating each cell
    over its pixels gives the same picture (up to where a cell edge falls within a pixel) many
    times faster. Only for images on linear axes drawn with ``interpolation`` "nearest" or "none".
    """

    def __init__(self, image: AxesImage):
        if image.get_interpolation() not in ("nearest", "none"):
            raise ValueError(f"only nearest-neighbour images can be painted, got {image.get_interpolation()!r}")
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
        if not self.image.get_visible():
            return
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


def axes_limits(figure: Figure) -> tuple:
    """The x and y limits of every axes of ``figure`` (rounded): what a cached background depends on."""
    return tuple(round(float(v), 12) for ax in figure.axes for v in (*ax.get_xlim(), *ax.get_ylim()))


class DynamicLayer:
    """Draws the artists a widget changes (``dynamic``) over a picture of the rest already in the
    canvas pixels: what :class:`BlitRenderer` and :class:`BackgroundCache` share.

    Nearest-neighbour images are painted with numpy (:class:`PaintedImage`), and the frame of
    their axes, which a full draw puts on top of them, is drawn again after them. Texts that lie
    outside every axes (titles, row labels) are drawn once per text and then copied
    (:meth:`_draw_text`). Everything else is drawn by matplotlib, in the order given.
    """

    #: Texts remembered (text, place and background -> pixels), the oldest forgotten first.
    TEXT_PICTURES = 64

    def __init__(self, figure: Figure, dynamic, *, paint_images: bool = True):
        self.figure = figure
        self.artists = list(dynamic)
        self.painters = {id(artist): PaintedImage(artist) for artist in self.artists
                         if paint_images and isinstance(artist, AxesImage)
                         and artist.get_interpolation() in ("nearest", "none")
                         and artist.axes.get_xscale() == artist.axes.get_yscale() == "linear"}
        for artist in [a for a in self.artists if id(a) in self.painters]:
            self.artists += [spine for spine in artist.axes.spines.values()
                             if spine.get_visible() and spine not in self.artists]
        self._outside_axes: dict = {}        # id(text) -> whether it lies outside every axes
        self._text_pictures: dict = {}

    def forget_texts(self) -> None:
        self._text_pictures.clear()

    def draw(self, renderer, pixels: np.ndarray, background_key) -> None:
        """Draw every visible dynamic artist into ``pixels`` (the canvas's RGBA buffer)."""
        for artist in self.artists:
            if not artist.get_visible():
                continue
            painter = self.painters.get(id(artist))
            if painter is not None:
                painter.paint(pixels)
            elif isinstance(artist, Text):
                self._draw_text(artist, renderer, pixels, background_key)
            else:
                artist.draw(renderer)

    def _text_key(self, text: Text, background_key) -> tuple:
        anchor = tuple(np.round(text.get_transform().transform(text.get_unitless_position()), 3))
        return (background_key, id(text), text.get_text(), str(text.get_color()), text.get_fontsize(),
                text.get_fontweight(), text.get_ha(), text.get_va(), text.get_rotation(),
                text.get_linespacing(), anchor)

    def _draw_text(self, text: Text, renderer, pixels: np.ndarray, background_key) -> None:
        """Draw a text, or copy its pixels from the last time it showed the same words there.

        A text outside every axes (a title, a row label) lies over the background only, so its
        pixels depend on nothing but its words, its properties, its place and the background; text
        is the slowest thing left to draw at two device pixels per CSS pixel. Texts inside an axes
        may overlap other dynamic artists and are always drawn.
        """
        if not text.get_text():
            return
        if self._outside_axes.get(id(text)) is False:
            text.draw(renderer)
            return
        key = self._text_key(text, background_key)
        stored = self._text_pictures.get(key)
        if stored is not None:
            (top, bottom, left, right), picture = stored
            pixels[top:bottom, left:right] = picture
            return
        text.draw(renderer)
        box = text.get_window_extent(renderer)
        if id(text) not in self._outside_axes:
            self._outside_axes[id(text)] = not any(box.overlaps(ax.bbox) for ax in self.figure.axes)
        if not self._outside_axes[id(text)]:
            return
        height, width = pixels.shape[:2]
        place = (max(0, int(np.floor(height - box.y1)) - 2), min(height, int(np.ceil(height - box.y0)) + 2),
                 max(0, int(np.floor(box.x0)) - 2), min(width, int(np.ceil(box.x1)) + 2))
        if len(self._text_pictures) >= self.TEXT_PICTURES:
            self._text_pictures.pop(next(iter(self._text_pictures)))
        top, bottom, left, right = place
        self._text_pictures[key] = (place, pixels[top:bottom, left:right].copy())


class BlitRenderer:
    """Redraw only the artists that change, over a cached picture of everything else.

    Ticks, tick labels, axis labels, colour bars and fixed titles are the slow part of a
    matplotlib draw and rarely change when a widget moves. This keeps pictures of the figure
    without the ``dynamic`` artists (backgrounds), one per set of axis limits (the ``size`` most
    recent; with ``per_limits=False`` one for all, for axes without ticks, whose background does
    not depend on their limits), and each :meth:`png` restores the picture for the current limits
    and draws only the dynamic artists over it (the classic blitting technique; see
    :class:`DynamicLayer`). A title
    whose text follows the values may be dynamic: the layout is frozen and the titles pinned first
    (:func:`freeze_layout`), so hiding it for the background never moves it. Anything drawn on
    top of a dynamic artist must be dynamic too (the frame of a painted image is added by itself),
    or the dynamic artist covers it. Call :meth:`invalidate` after changing anything else that
    is not dynamic (a fixed title, say): the next render draws the whole figure again.
    """

    def __init__(self, figure: Figure, dynamic, *, paint_images: bool = True, per_limits: bool = True,
                 size: int = 8):
        freeze_layout(figure)
        self.figure = figure
        self.canvas = figure.canvas if isinstance(figure.canvas, FigureCanvasAgg) else FigureCanvasAgg(figure)
        self.layer = DynamicLayer(figure, dynamic, paint_images=paint_images)
        self.dynamic = self.layer.artists
        self.size = size
        self.per_limits = per_limits
        self._backgrounds: dict = {}
        self._generation = 0
        self.full_draws = 0

    def invalidate(self) -> None:
        """Forget every background (something static changed)."""
        self._backgrounds.clear()
        self.layer.forget_texts()
        self._generation += 1

    def _key(self) -> tuple:
        return (self._generation, axes_limits(self.figure) if self.per_limits else None)

    def _capture_background(self, key) -> None:
        visible = [artist.get_visible() for artist in self.dynamic]
        for artist in self.dynamic:
            artist.set_visible(False)
        try:
            self.canvas.draw()
            background = self.canvas.copy_from_bbox(self.figure.bbox)
        finally:
            for artist, was_visible in zip(self.dynamic, visible):
                artist.set_visible(was_visible)
        if len(self._backgrounds) >= self.size:
            self._backgrounds.pop(next(iter(self._backgrounds)))      # forget the oldest
        self._backgrounds[key] = background
        self.full_draws += 1

    def draw(self) -> None:
        key = self._key()
        if key not in self._backgrounds:
            self._capture_background(key)
        self.canvas.restore_region(self._backgrounds[key])
        self.layer.draw(self.canvas.get_renderer(), np.asarray(self.canvas.buffer_rgba()), key)

    def png(self) -> bytes:
        """Draw (cheaply when the background is still valid) and encode as PNG."""
        self.draw()
        return _encode_canvas(self.canvas)


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


def notebook_png(figure: Figure) -> tuple[bytes, dict]:
    """How a notebook shows a figure: a compact PNG with twice the pixels of its display size, and
    that size (CSS pixels) as the output's width and height, so it is sharp on high-density screens
    and as large as a 1x picture everywhere (Jupyter and the website read the metadata). A figure
    holding pixel pictures (:func:`holds_pixel_pictures`) is drawn at its own pixel scale."""
    scale = None if holds_pixel_pictures(figure) else HIDPI_SCALE      # such a figure keeps its own dpi
    width, height = (int(size) if float(size).is_integer() else size for size in display_size(figure, scale))
    return figure_png(figure, scale=scale, compact=True), {"width": width, "height": height}


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
        freeze_layout(figure)
        self.figure = figure
        self.dynamic = list(dynamic)
        self.size = size
        self.pictures: dict = {}
        self.static = [figure.patch]
        for ax in figure.axes:
            self.static += [ax.patch, ax.title, ax._left_title, ax._right_title, *ax.spines.values()]
            self.static += [axis for axis in (ax.xaxis, ax.yaxis) if axis not in self.dynamic]
            self.static += [artist for artist in (ax.get_legend(), *ax.texts) if artist is not None]
        # The layer also redraws the frame of axes whose images it paints: that frame stays visible.
        self.layer = DynamicLayer(figure, self.dynamic)
        self.static = [artist for artist in self.static if artist not in self.layer.artists]
        self.picture = _BackgroundPicture()
        figure.add_artist(self.picture)
        self.refresh()

    def _key(self) -> tuple:
        return axes_limits(self.figure)

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

    def invalidate(self) -> None:
        """Forget every picture (something static changed); the next refresh renders anew."""
        self.pictures.clear()
        self.layer.forget_texts()
        self.refresh()

    def refresh(self) -> None:
        """Show the picture for the current limits, rendering it first if it is new."""
        key = self._key()
        if key not in self.pictures:
            if len(self.pictures) >= self.size:
                self.pictures.pop(next(iter(self.pictures)))      # forget the oldest
            self.pictures[key] = self._render()
        self.picture.show(self.pictures[key])

    def png(self) -> bytes:
        """The figure as PNG bytes, fast: the picture for the current limits is copied into the
        canvas and only the dynamic artists are drawn over it (a widget panel's ``render``)."""
        self.refresh()
        canvas = self.figure.canvas
        renderer = canvas.get_renderer()
        pixels = np.asarray(renderer.buffer_rgba())
        key = self._key()
        pixels[...] = self.pictures[key]
        self.layer.draw(renderer, pixels, key)
        return pixels_png(pixels)
