"""The base of every chapter's widget panel.

A :class:`Panel` holds named controls, a message line and an image of a figure. When a control
changes, the panel reads every control's value and calls the chapter's ``update(values)``.
``update`` recomputes with the package and mutates the figure's existing artists; the panel then
re-renders the PNG. If ``update`` raises ``ValueError`` (the package's way of saying a parameter
is wrong), the message appears next to the controls and the last good figure stays.
"""

from __future__ import annotations

import html
import traceback
from typing import Callable

import ipywidgets as widgets
import numpy as np
import traitlets

from ..plots.common import display_size, figure_png, freeze_layout
from ..validation import as_array

__all__ = ["Panel", "parse_matrix", "parse_vector", "matrix_text"]


def parse_matrix(text: str, name: str, *, shape: tuple | None = None) -> np.ndarray:
    """Read a matrix typed as rows separated by ';' and entries by ',' or spaces.

    ``"0.2, 0.2; 0.2, 0.2"`` is the 2x2 matrix [[0.2, 0.2], [0.2, 0.2]]. Raises ``ValueError``
    naming ``name`` for a non-numeric entry, ragged rows or the wrong shape.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{name} is empty: type rows separated by ';' and entries by ','")
    rows = []
    for row_number, row in enumerate(text.strip().strip(";").split(";"), start=1):
        entries = row.replace(",", " ").split()
        values = []
        for entry in entries:
            try:
                values.append(float(entry))
            except ValueError:
                raise ValueError(f"{name}: row {row_number} has a non-numeric entry {entry!r}") from None
        rows.append(values)
    lengths = {len(row) for row in rows}
    if len(lengths) != 1 or 0 in lengths:
        raise ValueError(f"{name}: every row needs the same number of entries, got {[len(r) for r in rows]}")
    return as_array(rows, name, shape=shape)


def parse_vector(text: str, name: str, *, length: int | None = None) -> np.ndarray:
    """Read a vector typed as entries separated by ',' or spaces."""
    matrix = parse_matrix(text.replace(";", ","), name)
    return as_array(matrix.ravel(), name, shape=(length,))


def matrix_text(matrix) -> str:
    """The inverse of :func:`parse_matrix`: '0.2, 0.2; 0.2, 0.2'."""
    values = np.atleast_2d(np.asarray(matrix, dtype=float))
    return "; ".join(", ".join(f"{v:g}" for v in row) for row in values)


def _raised_by_matplotlib(error: BaseException) -> bool:
    """True when ``error`` came from inside matplotlib (drawing), not from the package's checks."""
    frames = traceback.extract_tb(error.__traceback__)
    return bool(frames) and "matplotlib" in frames[-1].filename.replace("\\", "/").split("/")


def _check_slider_value(control, name: str, value) -> None:
    """A slider holds only numbers in [min, max] (whole numbers for an IntSlider); ipywidgets
    would move any other value into range without a word, so refuse it instead."""
    if not isinstance(control, (widgets.IntSlider, widgets.FloatSlider)):
        return
    whole = isinstance(control, widgets.IntSlider)
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} is a slider: give a number, got {value!r}")
    if not control.min <= value <= control.max:                 # NaN fails this too
        raise ValueError(f"{name} must lie in the slider's range [{control.min:g}, {control.max:g}], got {value!r}")
    if whole and float(value) != int(value):
        raise ValueError(f"{name} is a slider of whole numbers, got {value!r}")


class FigureImage(widgets.Image):
    """The panel's figure: an ipywidgets Image whose text alternative travels with the widget
    state (ipywidgets' Image has no alt text). On the website, web/src/widgets-setup.js puts it on
    the ``<img>`` of the frozen snapshot."""

    alt = traitlets.Unicode("", help="text alternative for the figure").tag(sync=True)


class Panel:
    """Controls + message line + figure image; see the module docstring.

    Parameters
    ----------
    controls : dict of name -> ipywidgets control (each must have ``.value`` and a ``description``)
    update : callable(values: dict); raises ValueError for bad values. Whatever it returns (e.g.
        the package result it computed) is kept as ``panel.result`` after a good update.
    figure : the matplotlib Figure that ``update`` mutates (or None for text-only panels)
    title : a heading shown above the controls
    outputs : optional extra widgets (e.g. an HTMLMath showing a matrix) shown under the figure
    render : optional callable returning the figure's PNG (e.g. ``Blitter.png``); by
        default the whole figure is drawn with ``figure_png``
    describe : optional callable turning ``update``'s result into the figure's alt text, so the
        text alternative follows the figure
    """

    def __init__(self, controls: dict, update: Callable[[dict], None], figure=None, *,
                 title: str = "", outputs: list | None = None, alt: str = "",
                 render: Callable[[], bytes] | None = None, describe: Callable[[object], str] | None = None):
        self.controls = dict(controls)
        self._update = update
        self.figure = figure
        self._render = render if render is not None else (lambda: figure_png(figure))
        self._describe = describe
        self.message = widgets.HTML(value="", layout=widgets.Layout(min_height="1.5em"))
        self.image = FigureImage(format="png")
        self.image.layout.max_width = "100%"
        self.alt = alt or title  # never an image without a text alternative
        self.error: str | None = None
        self.result = None
        self.updates = 0
        self.outputs = list(outputs or [])
        if figure is not None:
            freeze_layout(figure)
            # Show the PNG at its display size (CSS pixels): a figure drawn with 2 device pixels per
            # CSS pixel is then sharp on high-density screens; it shrinks on narrow pages.
            self.image.layout.width = f"{display_size(figure)[0]:g}px"
            self.image.layout.height = "auto"
        header = [widgets.HTML(f"<b>{html.escape(title)}</b>")] if title else []
        children = header + list(self.controls.values()) + [self.message]
        if figure is not None:
            children.append(self.image)
        children += self.outputs
        self.widget = widgets.VBox(children)
        for control in self.controls.values():
            control.observe(self._on_change, names="value")
        self.refresh()

    @property
    def alt(self) -> str:
        """The figure's text alternative (kept on ``image.alt`` for the website)."""
        return self.image.alt

    @alt.setter
    def alt(self, text: str) -> None:
        self.image.alt = text or ""

    def values(self) -> dict:
        return {name: control.value for name, control in self.controls.items()}

    def _on_change(self, _change) -> None:
        self.refresh()

    def refresh(self) -> bool:
        """Recompute from the controls' current values; returns True when it succeeded.

        Computing and drawing both run under ``numpy.errstate(over="raise")``: numbers so large
        that a result overflows become a message too, never a figure full of inf or a traceback
        from inside matplotlib.
        """
        try:
            with np.errstate(over="raise"):
                result = self._update(self.values())
                png = self._render() if self.figure is not None else None
        except ValueError as error:
            if _raised_by_matplotlib(error):
                return self._refuse(f"these values are too large to draw ({error}); use smaller numbers")
            return self._refuse(str(error))
        except (FloatingPointError, OverflowError):
            return self._refuse("the values entered are too large: a result overflows "
                                "(it would exceed about 1e308); use smaller numbers")
        self.error = None
        self.result = result
        if self._describe is not None:
            self.alt = self._describe(result)
        self.message.value = ""
        if png is not None:
            self.image.value = png
        self.updates += 1
        return True

    def _refuse(self, reason: str) -> bool:
        """Show ``reason`` next to the controls and keep the last good figure."""
        self.error = reason
        self.message.value = (
            '<span role="alert" style="color:#b00020">&#9888; '
            f"{html.escape(reason)} (the figure still shows the last good values)</span>"
        )
        return False

    def set(self, **values) -> bool:
        """Set several controls at once (used by tests and the benchmark), then refresh once.

        Raises ``ValueError`` for an unknown control or a value a slider cannot hold (ipywidgets
        would silently move it into the slider's range)."""
        for name, value in values.items():
            if name not in self.controls:
                raise ValueError(f"unknown control {name!r}; this panel has {sorted(self.controls)}")
            _check_slider_value(self.controls[name], name, value)
        for name, value in values.items():
            control = self.controls[name]
            control.unobserve(self._on_change, names="value")
            try:
                control.value = value
            finally:
                control.observe(self._on_change, names="value")
        return self.refresh()

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)
