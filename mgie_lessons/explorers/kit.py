"""Kernel-free explorers for the website.

On the built site there is no kernel, so a Jupyter panel cannot recompute. A chapter's
*explorer* (``mgie_lessons/explorers/<topic>.py``) offers the panel's parameters as ordinary
HTML controls and shows, for every combination of their values, what the package computed for
it:

* a :class:`FrameView` holds a picture (a compact PNG drawn at twice its display size, for
  high-density screens) per combination of the parameters it depends on, with its alt text and
  any message or numbers, all computed at build time (:class:`PanelFrames` takes them from the
  chapter's Jupyter panel itself, so the website shows exactly what Jupyter shows);
* a :class:`ScriptView` computes the chapter's maths in the page with a few lines of
  JavaScript, for parameters too many to precompute (the browser tests compare that script with
  the package on many inputs, so the two cannot drift).

Parameters are range sliders over a list of values (:func:`Range`), checkboxes
(:func:`Checkbox`) and drop-down lists (:func:`Select`), each with a ``<label>``; sliders
announce their value in an ``<output>``. They are native controls, so they work with the
keyboard. A control that would change nothing for the current values of the others (the
constant of a noise rule that has none, say) is hidden until it matters: no visible control on
the page does nothing.

:func:`precomputed_controls` is the older single-view form (one range slider per parameter),
kept for code that still calls it.
"""

from __future__ import annotations

import base64
import html
import itertools
import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

from ..plots.common import compact_png, png_size

__all__ = ["Parameter", "Range", "Checkbox", "Select", "Frame", "FrameView", "PanelFrames", "ScriptView",
           "Explorer", "compact_png", "png_size", "precomputed_controls", "StaticControls",
           "EXPLORER_BUDGET_BYTES"]

#: The most an explorer may add to its page (issue 9): 2 MB.
EXPLORER_BUDGET_BYTES = 2_000_000

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]*")


# --------------------------------------------------------------------------------------------
# Pictures
# --------------------------------------------------------------------------------------------

#: Colours of an explorer frame's palette: 64 keep text and colour maps readable and make a
#: frame about a quarter of its RGB size (an explorer holds a hundred or more).
FRAME_COLOURS = 64


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


# --------------------------------------------------------------------------------------------
# Parameters
# --------------------------------------------------------------------------------------------

def _format_value(value) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


@dataclass(frozen=True)
class Parameter:
    """One control of an explorer.

    ``values`` are what the view renderers receive (JSON-serialisable: numbers, strings, booleans,
    or for a preset a dict of panel control values); ``texts`` what the reader sees for each.
    ``covers`` names the Jupyter panel's controls this parameter stands for (by default its own
    name; a preset of matrices may stand for several text boxes). ``visible_when`` maps another
    parameter's name to the values for which this one is shown.
    """

    name: str
    label: str
    kind: str
    values: tuple
    texts: tuple
    initial: int
    covers: tuple
    visible_when: dict = field(default_factory=dict)

    def index(self, value) -> int:
        """The position of ``value`` among the parameter's values."""
        frozen = _freeze(value)
        for i, candidate in enumerate(self.values):
            if _freeze(candidate) == frozen:
                return i
        raise ValueError(f"{self.name}: {value!r} is not one of its values {list(self.values)}")


def _check_name(name: str, what: str) -> str:
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise ValueError(f"{what} must be an identifier (letters, digits, '_'), got {name!r}")
    return name


def _parameter(name, label, kind, values, texts, initial, covers, visible_when) -> Parameter:
    _check_name(name, "parameter name")
    values = tuple(values)
    if not values:
        raise ValueError(f"parameter {name!r} has no values")
    if len(set(map(_freeze, values))) != len(values):
        raise ValueError(f"parameter {name!r} lists a value twice: {list(values)}")
    texts = tuple(texts)
    if initial is None:
        start = 0
    else:
        matches = [i for i, v in enumerate(values) if _freeze(v) == _freeze(initial)]
        if not matches:
            raise ValueError(f"initial value of {name!r}, {initial!r}, is not one of its values {list(values)}")
        start = matches[0]
    covers = tuple(covers) if covers else (name,)
    return Parameter(name, str(label or name), kind, values, texts, start, covers, dict(visible_when or {}))


def Range(name: str, values: Sequence, *, label: str = "", initial=None, fmt: str | None = None,
          covers: Iterable[str] | None = None, visible_when: dict | None = None) -> Parameter:
    """A range slider over ``values`` (in order), showing the current one in an ``<output>``."""
    values = list(values)
    texts = [format(v, fmt) if fmt else _format_value(v) for v in values]
    return _parameter(name, label, "range", values, texts, initial, covers, visible_when)


def Checkbox(name: str, *, label: str = "", initial: bool = False, covers: Iterable[str] | None = None,
             visible_when: dict | None = None) -> Parameter:
    """A checkbox: its values are False (unticked) and True (ticked)."""
    return _parameter(name, label, "checkbox", [False, True], ["off", "on"], bool(initial), covers, visible_when)


def Select(name: str, options, *, label: str = "", initial=None, covers: Iterable[str] | None = None,
           visible_when: dict | None = None) -> Parameter:
    """A drop-down list. ``options``: a list of values, of (text, value) pairs, or a dict text -> value."""
    if isinstance(options, dict):
        pairs = list(options.items())
    else:
        pairs = [tuple(o) if isinstance(o, (tuple, list)) and len(o) == 2 else (_format_value(o), o)
                 for o in options]
    return _parameter(name, label, "select", [v for _t, v in pairs], [t for t, _v in pairs], initial,
                      covers, visible_when)


def _freeze(value):
    """A hashable, order-independent stand-in for a parameter value (dicts are presets)."""
    return json.dumps(value, sort_keys=True, default=str)


# --------------------------------------------------------------------------------------------
# Views
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Frame:
    """What a frame view shows for one combination: a picture with its alt text, or a message.

    ``png`` is drawn at ``scale`` device pixels per CSS pixel; ``text`` is HTML computed by the
    package (numbers, possibly with $...$ math) shown under the picture.
    """

    png: bytes | None
    alt: str = ""
    message: str = ""
    text: str = ""
    scale: float = 2.0

    def __post_init__(self):
        if self.png is None and not self.message:
            raise ValueError("a frame needs a picture or a message")
        if self.png is not None and not self.alt.strip():
            raise ValueError("a frame with a picture needs alt text")

    @property
    def shown(self) -> tuple:
        """What a reader sees (alt text excluded): used to tell whether a control does anything."""
        return (self.png, self.message, self.text)


class FrameView:
    """Precomputed frames: ``render(**values)`` for every combination of ``depends``.

    ``render`` returns a :class:`Frame` or ``(png_bytes, alt_text)``; a ``ValueError`` becomes a
    frame showing its message (as the Jupyter panel does). ``depends`` lists the parameters the
    view reads (default: all of the explorer's).
    """

    kind = "frames"

    def __init__(self, render: Callable[..., Any], *, depends: Sequence[str] | None = None, caption: str = ""):
        self.render = render
        self.depends = list(depends) if depends is not None else None
        self.caption = caption

    def frame(self, values: dict) -> Frame:
        try:
            result = self.render(**values)
        except ValueError as error:
            return Frame(None, message=str(error))
        if isinstance(result, Frame):
            return result
        png, alt = result
        return Frame(png, alt=alt)

    def close(self) -> None:
        pass


def _control_value(control, value):
    """``value`` as the panel's control holds it (text boxes hold strings)."""
    import ipywidgets as widgets

    if isinstance(control, widgets.Text) and not isinstance(value, str):
        if isinstance(value, (list, tuple)):
            return ", ".join(_format_value(float(v)) for v in value)
        return _format_value(value)
    if isinstance(control, (widgets.IntText, widgets.IntSlider, widgets.BoundedIntText)) and isinstance(value, float):
        return int(value)
    return value


def _close_widget_tree(widget, seen=None) -> None:
    seen = set() if seen is None else seen
    if id(widget) in seen:
        return
    seen.add(id(widget))
    for child in getattr(widget, "children", ()) or ():
        _close_widget_tree(child, seen)
    widget.close()


_DISPLAY_MATH = re.compile(r"(?<!\\)\$\$(.+?)(?<!\\)\$\$", re.S)
_INLINE_MATH = re.compile(r"(?<![\\$])\$(?!\$)(.+?)(?<![\\$])\$", re.S)


def page_math(text: str) -> str:
    """Jupyter's $...$ and $$...$$ as the website's MathJax delimiters \\(...\\) and \\[...\\]."""
    text = _DISPLAY_MATH.sub(lambda m: "\\[" + m.group(1) + "\\]", text)
    return _INLINE_MATH.sub(lambda m: "\\(" + m.group(1) + "\\)", text)


def _outputs_html(panel) -> str:
    """The HTML a panel shows under its picture (numbers, math), with the website's math delimiters.
    An output that only repeats the picture's alt text is left out (the picture carries it)."""
    parts = []
    for output in getattr(panel, "outputs", []):
        value = getattr(output, "value", None)
        if isinstance(value, str) and value.strip() and html.unescape(value).strip() != panel.alt.strip():
            parts.append(page_math(value))
    return "".join(parts)


class PanelFrames(FrameView):
    """Frames taken from the chapter's Jupyter panel: the website shows what Jupyter shows.

    ``make_panel`` builds the panel (``mgie_lessons.widgets.<topic>.make_panel``). For each
    combination, every parameter's value is given to the panel's control of the same name (a
    dict value, a preset, sets several controls), the panel recomputes with the package, and the
    frame is its picture (re-encoded as a compact PNG), its alt text and the numbers it prints
    under the picture; a refused value gives the panel's message. ``fixed`` sets controls the
    explorer does not offer. The panel's widgets are closed afterwards (they never reach the
    notebook's saved widget state).
    """

    def __init__(self, make_panel: Callable[[], Any], *, depends: Sequence[str] | None = None, caption: str = "",
                 fixed: dict | None = None, text: bool = True):
        self.make_panel = make_panel
        self.fixed = dict(fixed or {})
        self.show_text = text
        self._panel = None
        super().__init__(self._render, depends=depends, caption=caption)

    @property
    def panel(self):
        if self._panel is None:
            self._panel = self.make_panel()
        return self._panel

    def control_values(self, values: dict) -> dict:
        """The panel control values for explorer ``values`` (presets expanded, types converted)."""
        controls = self.panel.controls
        merged = dict(self.fixed)
        for name, value in values.items():
            if isinstance(value, dict):
                merged.update(value)
            else:
                merged[name] = value
        unknown = sorted(set(merged) - set(controls))
        if unknown:
            raise KeyError(f"the panel has no control(s) {unknown}; it has {sorted(controls)}")
        return {name: _control_value(controls[name], value) for name, value in merged.items()}

    def _render(self, **values) -> Frame:
        panel = self.panel
        settings = self.control_values(values)
        accepted = panel.set(**settings)
        clamped = {name: (value, panel.controls[name].value) for name, value in settings.items()
                   if _freeze(panel.controls[name].value) != _freeze(value)}
        if clamped:
            # A slider silently clamps a value outside its range: the frame would lie.
            raise RuntimeError(f"the panel's controls did not take the explorer's values "
                               f"(asked, got): {clamped}; keep the explorer within the panel's ranges")
        if not accepted:
            return Frame(None, message=panel.error)
        png = compact_png(bytes(panel.image.value), FRAME_COLOURS)
        text = _outputs_html(panel) if self.show_text else ""
        return Frame(png, alt=panel.alt, text=text, scale=_pixel_scale(panel, png))

    def close(self) -> None:
        if self._panel is not None:
            _close_widget_tree(self._panel.widget)
            for control in self._panel.controls.values():
                control.close()
            self._panel.image.close()
            self._panel = None


def _pixel_scale(panel, png: bytes) -> float:
    """Device pixels per CSS pixel of the panel's picture (its displayed width vs its pixels)."""
    width, _height = png_size(png)
    shown = str(getattr(panel.image.layout, "width", "") or "")
    if shown.endswith("px"):
        try:
            css = float(shown[:-2])
        except ValueError:
            css = 0.0
        if css > 0:
            return max(width / css, 1.0)
    from ..plots.common import pixel_scale

    return pixel_scale(panel.figure)


class ScriptView:
    """A view computed in the page by JavaScript.

    ``script`` is the source of a JavaScript object literal with two functions:
    ``compute(values, data)`` returns the numbers (the chapter's maths; the browser tests compare
    it with the package) and ``draw(element, result, values)`` draws them into ``element`` with
    ``MGIEPlot`` (:data:`PLOT_JS`) and returns the alt text. ``data`` is JSON handed to both
    (e.g. a noise draw). ``depends`` lists the parameters it reads (default: all).
    """

    kind = "script"

    def __init__(self, script: str, *, data: Any = None, depends: Sequence[str] | None = None, caption: str = "",
                 label: str = ""):
        self.script = script.strip()
        self.data = data
        self.depends = list(depends) if depends is not None else None
        self.caption = caption
        self.label = label

    def close(self) -> None:
        pass


# --------------------------------------------------------------------------------------------
# The explorer
# --------------------------------------------------------------------------------------------

class Explorer:
    """Labelled controls over precomputed frames and in-page scripts; displayed as HTML.

    Parameters
    ----------
    name : unique on the page (letters, digits, '-'); used for element ids
    parameters : the controls, in order (:func:`Range`, :func:`Checkbox`, :func:`Select`)
    views : what is shown (:class:`FrameView`, :class:`PanelFrames`, :class:`ScriptView`)
    title : a heading shown above the controls (also the group's accessible name)

    Everything is computed when the explorer is made. ``nbytes`` is the size of its HTML.
    Raises ``ValueError`` for a bad name, duplicate parameters, a view depending on an unknown
    parameter, or a parameter that never changes anything.
    """

    def __init__(self, name: str, parameters: Sequence[Parameter], views: Sequence[Any], *, title: str,
                 note: str = "", require_effect: bool = True):
        if not _NAME.fullmatch(name or ""):
            raise ValueError(f"name must start with a letter and contain only letters, digits and '-', got {name!r}")
        if not parameters:
            raise ValueError("parameters must name at least one parameter")
        names = [p.name for p in parameters]
        if len(set(names)) != len(names):
            raise ValueError(f"parameters are listed twice: {names}")
        if not views:
            raise ValueError("views must list at least one view")
        self.name = name
        self.title = title
        self.note = note
        self.parameters = list(parameters)
        self.views = list(views)
        self.require_effect = require_effect
        self._index = {p.name: i for i, p in enumerate(self.parameters)}
        for parameter in self.parameters:
            for other, allowed in parameter.visible_when.items():
                if other not in self._index:
                    raise ValueError(f"{parameter.name}.visible_when names unknown parameter {other!r}")
                for value in allowed:
                    self.parameters[self._index[other]].index(value)
        for view in self.views:
            if view.depends is None:
                view.depends = list(names)
            unknown = [d for d in view.depends if d not in self._index]
            if unknown:
                raise ValueError(f"a view depends on unknown parameter(s) {unknown}; parameters are {names}")
            view.depends = [d for d in names if d in view.depends]   # the explorer's order
        try:
            self._compute()
        finally:
            for view in self.views:
                view.close()
        self.markup = self._markup()

    # --- computing -------------------------------------------------------------------------

    def _states(self, depends: list[str]):
        ranges = [range(len(self.parameters[self._index[d]].values)) for d in depends]
        return itertools.product(*ranges)

    def _values(self, depends: list[str], indices) -> dict:
        return {d: self.parameters[self._index[d]].values[i] for d, i in zip(depends, indices)}

    def _compute(self) -> None:
        self._frames: list[list[Frame]] = []          # per view: unique frames
        self.tables: list[list[int]] = []            # per view: frame number per state (row-major)
        self.frame_count = 0
        for view in self.views:
            if view.kind != "frames":
                self._frames.append([])
                self.tables.append([])
                continue
            unique: dict = {}
            frames: list[Frame] = []
            table = []
            for indices in self._states(view.depends):
                frame = view.frame(self._values(view.depends, indices))
                key = (frame.png, frame.alt, frame.message, frame.text)
                if key not in unique:
                    unique[key] = len(frames)
                    frames.append(frame)
                table.append(unique[key])
            self._frames.append(frames)
            self.tables.append(table)
            self.frame_count += len(frames)
        self._compute_liveness()

    def _shown(self, view_number: int, state: dict):
        view = self.views[view_number]
        indices = [state[d] for d in view.depends]
        number = 0
        for d, i in zip(view.depends, indices):
            number = number * len(self.parameters[self._index[d]].values) + i
        return self._frames[view_number][self.tables[view_number][number]].shown

    def _compute_liveness(self) -> None:
        """Which parameters change something, for every combination of the frame views' inputs.

        Parameters read by a script view always count as live (the script recomputes); a
        parameter only read by frame views is live in a state when another of its values shows
        something else. The table is keyed by every parameter the frame views read.
        """
        scripted = {d for view in self.views if view.kind == "script" for d in view.depends}
        framed = [p.name for p in self.parameters if any(p.name in v.depends for v in self.views if v.kind == "frames")]
        checked = [name for name in framed if name not in scripted]
        for parameter in self.parameters:
            if not any(parameter.name in view.depends for view in self.views):
                raise ValueError(f"parameter {parameter.name!r} is read by no view")
        self.live_depends, self.live_checked, self.live_table = framed, checked, []
        if not checked:
            return
        frame_views = [n for n, v in enumerate(self.views) if v.kind == "frames"]
        ever_live = set()
        for indices in self._states(framed):
            state = dict(zip(framed, indices))
            mask = 0
            for bit, name in enumerate(checked):
                parameter = self.parameters[self._index[name]]
                if not self._visible(parameter, state):
                    continue
                views = [n for n in frame_views if name in self.views[n].depends]
                here = [self._shown(n, state) for n in views]
                for other in range(len(parameter.values)):
                    if other == state[name]:
                        continue
                    moved = {**state, name: other}
                    if any(self._shown(n, moved) != shown for n, shown in zip(views, here)):
                        mask |= 1 << bit
                        ever_live.add(name)
                        break
            self.live_table.append(mask)
        never = [name for name in checked if name not in ever_live]
        if never and self.require_effect:
            raise ValueError(f"parameter(s) {never} never change what the explorer shows")

    def _visible(self, parameter: Parameter, state: dict) -> bool:
        for other, allowed in parameter.visible_when.items():
            source = self.parameters[self._index[other]]
            if other in state and state[other] not in [source.index(v) for v in allowed]:
                return False
        return True

    # --- what tests and notebooks read ----------------------------------------------------

    def content(self, **values) -> list:
        """What the frame views show for ``values`` (unspecified parameters at their initial values)."""
        state = {p.name: p.initial for p in self.parameters}
        for name, value in values.items():
            if name not in self._index:
                raise ValueError(f"unknown parameter {name!r}; the explorer has {list(self._index)}")
            state[name] = self.parameters[self._index[name]].index(value)
        return [self._shown(n, state) if v.kind == "frames" else None for n, v in enumerate(self.views)]

    def is_shown(self, name: str, **values) -> bool:
        """Whether the control of parameter ``name`` is visible for ``values`` (others initial)."""
        state = {p.name: p.initial for p in self.parameters}
        for key, value in values.items():
            state[key] = self.parameters[self._index[key]].index(value)
        parameter = self.parameters[self._index[name]]
        if not self._visible(parameter, state):
            return False
        if name not in self.live_checked:
            return True
        number = 0
        for d in self.live_depends:
            number = number * len(self.parameters[self._index[d]].values) + state[d]
        return bool(self.live_table[number] & (1 << self.live_checked.index(name)))

    @property
    def covered_controls(self) -> set[str]:
        """The Jupyter panel controls the explorer's parameters stand for."""
        return {control for p in self.parameters for control in p.covers}

    @property
    def nbytes(self) -> int:
        return len(self.markup.encode("utf-8"))

    def _repr_html_(self) -> str:
        return self.markup

    def __repr__(self) -> str:
        how = "computed in the page" if any(v.kind == "script" for v in self.views) else "precomputed"
        frames = f", {self.frame_count} frames" if self.frame_count else ""
        return f"<Explorer {self.name!r}: {len(self.parameters)} controls, {how}{frames}>"

    def __len__(self) -> int:
        return len(self.markup)

    # --- HTML ------------------------------------------------------------------------------

    def _spec(self) -> dict:
        params = []
        for p in self.parameters:
            entry = {"name": p.name, "kind": p.kind, "values": list(p.values), "texts": list(p.texts),
                     "initial": p.initial, "covers": list(p.covers)}
            if p.visible_when:
                entry["when"] = {str(self._index[o]): [self.parameters[self._index[o]].index(v) for v in allowed]
                                 for o, allowed in p.visible_when.items()}
            params.append(entry)
        views = []
        for n, view in enumerate(self.views):
            depends = [self._index[d] for d in view.depends]
            if view.kind == "frames":
                frames = []
                for frame in self._frames[n]:
                    item = {}
                    if frame.png is not None:
                        width, height = png_size(frame.png)
                        item.update(src=_data_uri(frame.png), alt=frame.alt,
                                    w=int(round(width / frame.scale)), h=int(round(height / frame.scale)))
                    if frame.message:
                        item["msg"] = frame.message
                    if frame.text:
                        item["text"] = frame.text
                    frames.append(item)
                views.append({"type": "frames", "depends": depends, "table": self.tables[n], "frames": frames})
            else:
                views.append({"type": "script", "depends": depends, "data": view.data})
        live = None
        if self.live_checked:
            live = {"depends": [self._index[d] for d in self.live_depends],
                    "params": [self._index[d] for d in self.live_checked], "table": self.live_table}
        return {"params": params, "views": views, "live": live}

    def _control(self, position: int, parameter: Parameter) -> str:
        control_id = f"{self.name}-p{position}"
        label = html.escape(parameter.label)
        hidden = "" if self.is_shown(parameter.name) else " hidden"
        row = f'<div class="mgie-explorer-row" data-param="{position}"{hidden}>'
        if parameter.kind == "range":
            text = html.escape(parameter.texts[parameter.initial])
            return (row + f'<label for="{control_id}">{label}</label> '
                    f'<input type="range" id="{control_id}" name="{html.escape(parameter.name)}" min="0" '
                    f'max="{len(parameter.values) - 1}" step="1" value="{parameter.initial}" '
                    f'aria-valuetext="{text}"> '
                    f'<output for="{control_id}" id="{control_id}-value">{text}</output></div>')
        if parameter.kind == "checkbox":
            checked = " checked" if parameter.values[parameter.initial] else ""
            return (row + f'<input type="checkbox" id="{control_id}" name="{html.escape(parameter.name)}"{checked}> '
                    f'<label for="{control_id}">{label}</label></div>')
        options = "".join(
            f'<option value="{i}"{" selected" if i == parameter.initial else ""}>{html.escape(t)}</option>'
            for i, t in enumerate(parameter.texts))
        return (row + f'<label for="{control_id}">{label}</label> '
                f'<select id="{control_id}" name="{html.escape(parameter.name)}">{options}</select></div>')

    def _view_markup(self, number: int) -> str:
        view = self.views[number]
        caption = f"<figcaption>{html.escape(view.caption)}</figcaption>" if view.caption else ""
        if view.kind == "script":
            label = html.escape(view.label or view.caption or self.title)
            return (f'<figure class="mgie-explorer-view" data-view="{number}">'
                    f'<div class="mgie-explorer-drawing" role="img" aria-label="{label}"></div>'
                    f'<noscript><p>This picture is drawn by JavaScript in the page.</p></noscript>'
                    f'{caption}</figure>')
        state = {p.name: p.initial for p in self.parameters}
        number_in_table = 0
        for d in view.depends:
            number_in_table = number_in_table * len(self.parameters[self._index[d]].values) + state[d]
        frame = self._frames[number][self.tables[number][number_in_table]]
        if frame.png is not None:
            width, _height = png_size(frame.png)
            image = (f'<img src="{_data_uri(frame.png)}" alt="{html.escape(frame.alt)}" '
                     f'width="{int(round(width / frame.scale))}" style="max-width:100%;height:auto">')
        else:
            image = '<img alt="" hidden style="max-width:100%;height:auto">'
        message = (f'<p class="mgie-explorer-message" role="status"{"" if frame.message else " hidden"}>'
                   f'{html.escape(frame.message)}</p>')
        # mathjax_process: MathJax typesets it on the website (the class MyST-NB's configuration names).
        text = f'<div class="mgie-explorer-text mathjax_process">{frame.text}</div>'
        return f'<figure class="mgie-explorer-view" data-view="{number}">{image}{message}{text}{caption}</figure>'

    def _markup(self) -> str:
        spec = json.dumps(self._spec(), separators=(",", ":"), sort_keys=True)
        spec = spec.replace("</", "<\\/")
        controls = "".join(self._control(i, p) for i, p in enumerate(self.parameters))
        views = "".join(self._view_markup(n) for n in range(len(self.views)))
        scripts = ""
        if any(v.kind == "script" for v in self.views):
            registered = ",".join(f'"{n}":{v.script}' for n, v in enumerate(self.views) if v.kind == "script")
            scripts = (f"<script>{PLOT_JS}</script>"
                       f"<script>(window.mgieExplorerScripts=window.mgieExplorerScripts||{{}})"
                       f'["{self.name}"]={{{registered}}};</script>')
        note = f'<p class="mgie-explorer-note">{html.escape(self.note)}</p>' if self.note else ""
        return (
            f'<div class="mgie-explorer" id="{self.name}" role="group" aria-labelledby="{self.name}-title">'
            f"<style>{EXPLORER_CSS}</style>"
            f'<p class="mgie-explorer-title" id="{self.name}-title"><strong>{html.escape(self.title)}</strong></p>'
            f"{note}"
            f'<div class="mgie-explorer-controls">{controls}</div>'
            f'<div class="mgie-explorer-views">{views}</div>'
            f'<script type="application/json" id="{self.name}-data">{spec}</script>'
            f"{scripts}"
            f'<script>{RUNTIME_JS.replace("__ID__", self.name)}</script>'
            "</div>"
        )


EXPLORER_CSS = (
    ".mgie-explorer{border:1px solid #d0d7de;border-radius:6px;padding:.6em .8em;margin:1em 0}"
    ".mgie-explorer-row{margin:.25em 0}.mgie-explorer-row[hidden]{display:none}"
    ".mgie-explorer-row label{display:inline-block;min-width:14em}"
    ".mgie-explorer-row input[type=range]{vertical-align:middle;width:14em}"
    ".mgie-explorer-row input[type=checkbox]+label{min-width:0}"
    ".mgie-explorer-row output{font-variant-numeric:tabular-nums;margin-left:.4em}"
    ".mgie-explorer-view{margin:.6em 0}.mgie-explorer-message{color:#b00020;font-weight:bold}"
    ".mgie-explorer-drawing svg{max-width:100%;height:auto;font-family:sans-serif}"
    ".mgie-explorer-text:empty{display:none}"
)

# The page script: reads the JSON spec, keeps the state (one value index per parameter), shows
# the frame (or runs the script) of every view, hides controls that would change nothing, and
# exposes window.mgieExplorers[id] for the browser tests.
RUNTIME_JS = r"""
(function(){
var id="__ID__",root=document.getElementById(id);
if(!root||root.getAttribute("data-ready"))return;root.setAttribute("data-ready","1");
var spec=JSON.parse(document.getElementById(id+"-data").textContent);
var P=spec.params,state=P.map(function(p){return p.initial;});
var inputs=P.map(function(p,i){return document.getElementById(id+"-p"+i);});
var rows=P.map(function(p,i){return root.querySelector('[data-param="'+i+'"]');});
var scripts=(window.mgieExplorerScripts||{})[id]||{};
function number(dep){var k=0;for(var j=0;j<dep.length;j++){k=k*P[dep[j]].values.length+state[dep[j]];}return k;}
function values(){var v={};P.forEach(function(p,i){v[p.name]=p.values[state[i]];});return v;}
function typeset(el){if(window.MathJax&&MathJax.typesetPromise&&/[$\\]/.test(el.textContent)){
  if(MathJax.typesetClear){MathJax.typesetClear([el]);}MathJax.typesetPromise([el]).catch(function(){});}}
function visible(i){var p=P[i];
  if(p.when){for(var k in p.when){if(p.when[k].indexOf(state[+k])<0)return false;}}
  var L=spec.live;if(L){var b=L.params.indexOf(i);if(b>=0){return !!(L.table[number(L.depends)]&(1<<b));}}
  return true;}
function show(){
  spec.views.forEach(function(view,n){
    var el=root.querySelector('[data-view="'+n+'"]');
    if(view.type==="frames"){
      var f=view.frames[view.table[number(view.depends)]],img=el.querySelector("img");
      var msg=el.querySelector(".mgie-explorer-message"),text=el.querySelector(".mgie-explorer-text");
      if(f.src){img.src=f.src;img.alt=f.alt;img.width=f.w;img.hidden=false;}else{img.hidden=true;}
      msg.textContent=f.msg||"";msg.hidden=!f.msg;
      var t=f.text||"";if(text.getAttribute("data-shown")!==t){text.innerHTML=t;text.setAttribute("data-shown",t);typeset(text);}
    }else{
      var s=scripts[n],box=el.querySelector(".mgie-explorer-drawing"),v=values();
      var alt=s.draw(box,s.compute(v,view.data),v);if(alt){box.setAttribute("aria-label",alt);}
    }
  });
  P.forEach(function(p,i){rows[i].hidden=!visible(i);
    if(p.kind==="range"){var t=p.texts[state[i]];var out=document.getElementById(id+"-p"+i+"-value");
      if(out){out.textContent=t;}inputs[i].setAttribute("aria-valuetext",t);}});
}
inputs.forEach(function(input,i){
  function read(){state[i]=P[i].kind==="checkbox"?(input.checked?1:0):+input.value;show();}
  input.addEventListener(P[i].kind==="range"?"input":"change",read);
  if(P[i].kind==="range"){input.addEventListener("change",read);}
});
window.mgieExplorers=window.mgieExplorers||{};
window.mgieExplorers[id]={spec:spec,values:values,show:show,scripts:scripts,
  set:function(obj){P.forEach(function(p,i){if(obj.hasOwnProperty(p.name)){var k=p.values.map(JSON.stringify).indexOf(JSON.stringify(obj[p.name]));
    if(k<0)throw new Error(p.name+": no value "+JSON.stringify(obj[p.name]));state[i]=k;
    if(p.kind==="checkbox"){inputs[i].checked=!!k;}else{inputs[i].value=String(k);}}});show();}};
show();
})();
"""

# A small SVG plotting kit for script views: line charts, bar charts and pixel images, with a
# title, labelled axes and ticks (what the book asks of every figure).
PLOT_JS = r"""
window.MGIEPlot=window.MGIEPlot||(function(){
var NS="http://www.w3.org/2000/svg";
function el(tag,attrs,parent,text){var e=document.createElementNS(NS,tag);for(var k in attrs){e.setAttribute(k,attrs[k]);}
  if(text!==undefined){e.textContent=text;}if(parent){parent.appendChild(e);}return e;}
function fmt(v){if(v===0)return "0";var a=Math.abs(v);if(a>=1e4||a<1e-3)return v.toExponential(1);
  return String(+v.toPrecision(4));}
function ticks(lo,hi,n,integer){if(!(hi>lo)){hi=lo+1;}var span=hi-lo,step=Math.pow(10,Math.floor(Math.log10(span/n)));
  var err=span/n/step;if(err>=7.5)step*=10;else if(err>=3.5)step*=5;else if(err>=1.5)step*=2;if(integer&&step<1){step=1;}
  var out=[],start=Math.ceil(lo/step-1e-9)*step;for(var v=start;v<=hi+step*1e-9;v+=step){out.push(Math.abs(v)<step*1e-9?0:v);}
  return out;}
function limits(values,pad,include){var lo=Infinity,hi=-Infinity;values.forEach(function(v){if(isFinite(v)){lo=Math.min(lo,v);hi=Math.max(hi,v);}});
  (include||[]).forEach(function(v){lo=Math.min(lo,v);hi=Math.max(hi,v);});
  if(!isFinite(lo)){lo=0;hi=1;}if(hi-lo<1e-12){lo-=0.5;hi+=0.5;}var p=(hi-lo)*(pad||0.06);return [lo-p,hi+p];}
function frame(svg,spec,box){
  var g=el("g",{},svg),L=box.x,R=box.x+box.w,T=box.y,B=box.y+box.h;
  var xl=spec.xlim,yl=spec.ylim;
  var sx=spec.xinvert?function(v){return L+(xl[1]-v)/(xl[1]-xl[0])*(R-L);}:function(v){return L+(v-xl[0])/(xl[1]-xl[0])*(R-L);},sy=function(v){return B-(v-yl[0])/(yl[1]-yl[0])*(B-T);};
  el("rect",{x:L,y:T,width:R-L,height:B-T,fill:"white",stroke:"#333","stroke-width":1},g);
  (spec.xticks||ticks(xl[0],xl[1],5,spec.xinteger)).forEach(function(v){if(v<xl[0]-1e-9||v>xl[1]+1e-9)return;var x=sx(v);
    el("line",{x1:x,x2:x,y1:B,y2:B+4,stroke:"#333"},g);el("text",{x:x,y:B+15,"text-anchor":"middle","font-size":10},g,(spec.xtickfmt||fmt)(v));});
  ticks(yl[0],yl[1],4).forEach(function(v){var y=sy(v);el("line",{x1:L-4,x2:L,y1:y,y2:y,stroke:"#333"},g);
    el("text",{x:L-6,y:y+3,"text-anchor":"end","font-size":10},g,fmt(v));});
  el("text",{x:(L+R)/2,y:T-8,"text-anchor":"middle","font-size":12,"font-weight":"bold"},g,spec.title||"");
  el("text",{x:(L+R)/2,y:B+30,"text-anchor":"middle","font-size":11},g,spec.xlabel||"");
  el("text",{x:0,y:0,"text-anchor":"middle","font-size":11,transform:"translate("+(L-40)+","+((T+B)/2)+") rotate(-90)"},g,spec.ylabel||"");
  return {g:g,sx:sx,sy:sy,L:L,R:R,T:T,B:B};}
function lines(svg,spec,box){
  var xs=[],ys=[];spec.series.forEach(function(s){xs=xs.concat(s.x);ys=ys.concat(s.y);});
  (spec.hlines||[]).forEach(function(h){ys.push(h.y);});
  spec.xlim=spec.xlim||limits(xs,0.04);spec.ylim=spec.ylim||limits(ys,0.08,spec.yinclude);
  var f=frame(svg,spec,box);
  (spec.hlines||[]).forEach(function(h){el("line",{x1:f.L,x2:f.R,y1:f.sy(h.y),y2:f.sy(h.y),stroke:h.color||"#888","stroke-dasharray":"5,3"},f.g);});
  (spec.vlines||[]).forEach(function(h){el("line",{x1:f.sx(h.x),x2:f.sx(h.x),y1:f.T,y2:f.B,stroke:h.color||"#888","stroke-dasharray":"2,3"},f.g);});
  spec.series.forEach(function(s){var pts=[];for(var i=0;i<s.x.length;i++){if(isFinite(s.y[i]))pts.push(f.sx(s.x[i]).toFixed(1)+","+f.sy(s.y[i]).toFixed(1));}
    el("polyline",{points:pts.join(" "),fill:"none",stroke:s.color||"#1f77b4","stroke-width":s.width||2},f.g);
    if(s.markers){pts.forEach(function(p){var c=p.split(",");el("circle",{cx:c[0],cy:c[1],r:3,fill:s.color||"#1f77b4"},f.g);});}});
  legend(f,spec);return f;}
function bars(svg,spec,box){
  var ys=spec.values.slice();spec.xlim=[-0.6,spec.values.length-0.4];spec.ylim=spec.ylim||limits(ys.concat([0]),0.1);
  spec.xticks=spec.values.map(function(_,i){return i;});var labels=spec.labels;spec.xtickfmt=function(v){return labels[Math.round(v)];};
  var f=frame(svg,spec,box),w=(f.R-f.L)/spec.values.length*0.6;
  spec.values.forEach(function(v,i){var y0=f.sy(0),y1=f.sy(v);
    el("rect",{x:f.sx(i)-w/2,y:Math.min(y0,y1),width:w,height:Math.max(Math.abs(y1-y0),0.5),fill:(spec.colors||[])[i]||"#1f77b4"},f.g);
    el("text",{x:f.sx(i),y:Math.min(y0,y1)-3,"text-anchor":"middle","font-size":spec.fontsize||10},f.g,spec.digits!==undefined?v.toFixed(spec.digits):fmt(v));});
  return f;}
function legend(f,spec){if(!spec.legend)return;var y=f.T+12;spec.series.concat(spec.hlines||[]).forEach(function(s){if(!s.label)return;
  el("line",{x1:f.R-118,x2:f.R-100,y1:y-4,y2:y-4,stroke:s.color||"#1f77b4","stroke-width":2,"stroke-dasharray":s.y!==undefined&&!s.x?"5,3":""},f.g);
  el("text",{x:f.R-96,y:y,"font-size":10},f.g,s.label);y+=13;});}
function image(svg,rgb,w,h,box,title){
  var c=document.createElement("canvas");c.width=w;c.height=h;var ctx=c.getContext("2d"),im=ctx.createImageData(w,h);
  for(var i=0;i<w*h;i++){for(var k=0;k<3;k++){im.data[4*i+k]=Math.max(0,Math.min(255,Math.round(rgb[3*i+k]*255)));}im.data[4*i+3]=255;}
  ctx.putImageData(im,0,0);
  el("image",{x:box.x,y:box.y,width:box.w,height:box.h,href:c.toDataURL(),style:"image-rendering:pixelated",preserveAspectRatio:"none"},svg);
  el("rect",{x:box.x,y:box.y,width:box.w,height:box.h,fill:"none",stroke:"#333"},svg);
  el("text",{x:box.x+box.w/2,y:box.y-8,"text-anchor":"middle","font-size":12,"font-weight":"bold"},svg,title||"");}
var VIRIDIS=[[68,1,84],[72,40,120],[62,73,137],[49,104,142],[38,130,142],[31,158,137],[53,183,121],[110,206,88],[253,231,37]];
var RDBU=[[5,48,97],[33,102,172],[67,147,195],[146,197,222],[209,229,240],[247,247,247],[253,219,199],[244,165,130],[214,96,77],[178,24,43],[103,0,31]];
function colour(t,map){map=map||VIRIDIS;t=Math.max(0,Math.min(1,isFinite(t)?t:0))*(map.length-1);var i=Math.min(Math.floor(t),map.length-2),f=t-i;
  var c=[0,1,2].map(function(k){return Math.round(map[i][k]+(map[i+1][k]-map[i][k])*f);});
  return {css:"rgb("+c.join(",")+")",light:(0.2126*c[0]+0.7152*c[1]+0.0722*c[2])/255>0.5};}
function heatmap(svg,spec,box){
  var M=spec.values,n=M.length,m=M[0].length,lo=spec.vmin,hi=spec.vmax,flat=[].concat.apply([],M).filter(isFinite);
  if(lo===undefined)lo=Math.min.apply(null,flat);if(hi===undefined)hi=Math.max.apply(null,flat);if(!(hi>lo))hi=lo+1e-12;
  var g=el("g",{},svg),cw=box.w/m,ch=box.h/n,map=spec.cmap==="RdBu"?RDBU:VIRIDIS;
  for(var i=0;i<n;i++)for(var j=0;j<m;j++){var v=M[i][j],c=colour((v-lo)/(hi-lo),map);
    el("rect",{x:box.x+j*cw,y:box.y+i*ch,width:cw+0.3,height:ch+0.3,fill:isFinite(v)?c.css:"#ddd"},g);
    if(spec.digits!==undefined&&isFinite(v)){el("text",{x:box.x+(j+0.5)*cw,y:box.y+(i+0.5)*ch+3.5,"text-anchor":"middle","font-size":spec.fontsize||9,fill:c.light?"black":"white"},g,v.toFixed(spec.digits));}}
  el("rect",{x:box.x,y:box.y,width:box.w,height:box.h,fill:"none",stroke:"#333"},g);
  (spec.rowLabels||[]).forEach(function(t,i){el("text",{x:box.x-4,y:box.y+(i+0.5)*ch+3.5,"text-anchor":"end","font-size":10},g,t);});
  (spec.colLabels||[]).forEach(function(t,j){var x=box.x+(j+0.5)*cw,y=box.y+box.h+8;
    el("text",{x:x,y:y,"text-anchor":"end","font-size":10,transform:"rotate(-45 "+x+" "+y+")"},g,t);});
  el("text",{x:box.x+box.w/2,y:box.y-8,"text-anchor":"middle","font-size":12,"font-weight":"bold"},g,spec.title||"");
  if(spec.xlabel)el("text",{x:box.x+box.w/2,y:box.y+box.h+(spec.xlabelgap||52),"text-anchor":"middle","font-size":11},g,spec.xlabel);
  if(spec.ylabel)el("text",{x:0,y:0,"text-anchor":"middle","font-size":11,transform:"translate("+(box.x-(spec.ylabelgap||62))+","+(box.y+box.h/2)+") rotate(-90)"},g,spec.ylabel);
  if(spec.colorbar!==false){var bx=box.x+box.w+12,steps=40;for(var k=0;k<steps;k++){
      el("rect",{x:bx,y:box.y+box.h*(1-(k+1)/steps),width:12,height:box.h/steps+0.5,fill:colour((k+0.5)/steps,map).css},g);}
    el("rect",{x:bx,y:box.y,width:12,height:box.h,fill:"none",stroke:"#333"},g);
    ticks(lo,hi,4).forEach(function(v){var y=box.y+box.h*(1-(v-lo)/(hi-lo));if(y<box.y-0.5||y>box.y+box.h+0.5)return;
      el("line",{x1:bx+12,x2:bx+16,y1:y,y2:y,stroke:"#333"},g);el("text",{x:bx+18,y:y+3.5,"font-size":10},g,fmt(v));});
    if(spec.cbarlabel)el("text",{x:0,y:0,"text-anchor":"middle","font-size":11,transform:"translate("+(bx+52)+","+(box.y+box.h/2)+") rotate(-90)"},g,spec.cbarlabel);}
  return g;}
function svg(container,width,height){container.innerHTML="";
  return el("svg",{viewBox:"0 0 "+width+" "+height,width:width,height:height,role:"presentation"},container);}
return {el:el,fmt:fmt,ticks:ticks,limits:limits,lines:lines,bars:bars,image:image,svg:svg,heatmap:heatmap,colour:colour,text:function(s,x,y,t,o){var a={x:x,y:y,"font-size":11};for(var k in (o||{}))a[k]=o[k];return el("text",a,s,t);}};
})();
"""


# --------------------------------------------------------------------------------------------
# The older single-view form
# --------------------------------------------------------------------------------------------

class StaticControls(Explorer):
    """What :func:`precomputed_controls` returns (an :class:`Explorer`; ``frames`` counts pictures)."""

    @property
    def frames(self) -> int:
        return self.frame_count


def precomputed_controls(name: str, parameters: dict[str, Sequence], render: Callable[..., tuple[bytes, str]],
                         *, labels: dict[str, str] | None = None, initial: dict | None = None,
                         caption: str = "") -> Explorer:
    """Range sliders over a grid of precomputed images (one slider per parameter).

    ``render(**values)`` returns ``(png_bytes, alt_text)`` for every combination. Kept for code
    written before :class:`Explorer`; new chapters build an :class:`Explorer`.
    """
    if not parameters:
        raise ValueError("parameters must name at least one parameter")
    labels = labels or {}
    initial = initial or {}
    controls = [Range(key, values, label=labels.get(key, key), initial=initial.get(key))
                for key, values in parameters.items()]

    def frame(**values):
        png, alt = render(**values)
        return Frame(png, alt=alt, scale=1.0)

    return StaticControls(name, controls, [FrameView(frame, caption=caption)], title=caption or name,
                          require_effect=False)
