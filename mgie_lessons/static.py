"""Kernel-free controls for the website.

On the built site there is no kernel, so ipywidgets cannot recompute. Instead a chapter
precomputes a small grid of results with the package at build time (one rendered image per
combination of parameter values) and :func:`precomputed_controls` returns an HTML snippet with
one labelled range slider per parameter and a few lines of page script that show the matching
image. Sliders are native ``<input type="range">`` elements, so they work with the keyboard;
every image carries alt text; the current values are announced in an ``<output>`` element.
"""

from __future__ import annotations

import base64
import html
import itertools
import json
import re
from typing import Callable, Sequence

__all__ = ["precomputed_controls", "StaticControls"]


class StaticControls:
    """An HTML snippet displayed by Jupyter as text/html (see :func:`precomputed_controls`)."""

    def __init__(self, markup: str, frames: int):
        self.markup = markup
        self.frames = frames

    def _repr_html_(self) -> str:
        return self.markup

    def __len__(self) -> int:
        return len(self.markup)


def _format_value(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def precomputed_controls(name: str, parameters: dict[str, Sequence], render: Callable[..., tuple[bytes, str]],
                         *, labels: dict[str, str] | None = None, initial: dict | None = None,
                         caption: str = "") -> StaticControls:
    """Build kernel-free sliders over a grid of precomputed images.

    Parameters
    ----------
    name : a short identifier unique on the page (letters, digits, '-'); used for element ids
    parameters : ordered mapping parameter name -> the values it can take (at least one each)
    render : called as ``render(**values)`` for every combination; returns (png_bytes, alt_text)
    labels : human-readable label per parameter (default: the parameter name)
    initial : starting value per parameter (default: the first value)
    caption : a sentence shown under the image

    Raises ``ValueError`` for an empty parameter list or an invalid ``name``.
    """
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9-]*", name or ""):
        raise ValueError(f"name must start with a letter and contain only letters, digits and '-', got {name!r}")
    if not parameters:
        raise ValueError("parameters must name at least one parameter")
    names = list(parameters)
    grids = {key: list(values) for key, values in parameters.items()}
    for key, values in grids.items():
        if not values:
            raise ValueError(f"parameters[{key!r}] has no values")
    labels = {key: (labels or {}).get(key, key) for key in names}
    initial = initial or {}
    start = []
    for key in names:
        value = initial.get(key, grids[key][0])
        if value not in grids[key]:
            raise ValueError(f"initial[{key!r}] = {value!r} is not one of the values {grids[key]}")
        start.append(grids[key].index(value))

    frames, alts = {}, {}
    for indices in itertools.product(*(range(len(grids[key])) for key in names)):
        values = {key: grids[key][i] for key, i in zip(names, indices)}
        png, alt = render(**values)
        frame_key = "_".join(map(str, indices))
        frames[frame_key] = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
        alts[frame_key] = alt
    first_key = "_".join(map(str, start))

    sliders = []
    for position, key in enumerate(names):
        slider_id = f"{name}-{position}"
        value_list = [_format_value(v) for v in grids[key]]
        sliders.append(
            f'<div class="mgie-static-row">'
            f'<label for="{slider_id}">{html.escape(labels[key])}</label> '
            f'<input type="range" id="{slider_id}" min="0" max="{len(value_list) - 1}" step="1" '
            f'value="{start[position]}" data-values=\'{html.escape(json.dumps(value_list))}\' '
            f'aria-valuetext="{html.escape(value_list[start[position]])}"> '
            f'<output for="{slider_id}" id="{slider_id}-value">{html.escape(value_list[start[position]])}</output>'
            f"</div>"
        )
    data = json.dumps({"frames": frames, "alts": alts}, separators=(",", ":"))
    script = (
        "(function(){"
        f"var root=document.getElementById('{name}');"
        f"var data=JSON.parse(document.getElementById('{name}-data').textContent);"
        "var sliders=root.querySelectorAll('input[type=range]');"
        "var img=root.querySelector('img');"
        "function show(){var key=[];"
        "sliders.forEach(function(s){var vals=JSON.parse(s.dataset.values);"
        "key.push(s.value);var text=vals[s.value];"
        "document.getElementById(s.id+'-value').textContent=text;"
        "s.setAttribute('aria-valuetext',text);});"
        "key=key.join('_');img.src=data.frames[key];img.alt=data.alts[key];}"
        "sliders.forEach(function(s){s.addEventListener('input',show);});"
        "})();"
    )
    markup = (
        f'<div class="mgie-static" id="{name}" role="group" aria-label="{html.escape(caption or name)}">'
        + "".join(sliders)
        + f'<figure style="margin:0.5em 0"><img src="{frames[first_key]}" alt="{html.escape(alts[first_key])}" '
        f'style="max-width:100%">'
        + (f"<figcaption>{html.escape(caption)}</figcaption>" if caption else "")
        + "</figure>"
        + f'<script type="application/json" id="{name}-data">{data}</script>'
        + f"<script>{script}</script>"
        + "</div>"
    )
    return StaticControls(markup, len(frames))
