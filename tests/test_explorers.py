"""The website's kernel-free explorers (issue 9): mgie_lessons/explorers/kit.py and mgie_lessons/explorers/.

Every chapter's explorer builds, offers every parameter of the chapter's Jupyter panel (read
from ``make_panel()`` here, so a control added to a panel must reach its explorer), stays within
the 2 MB page budget, and shows something different for different values of every control it
shows. The in-page scripts are compared with the package in the browser tests
(tests/browser/test_site_explorers.py).
"""

from __future__ import annotations

import html
import importlib
import io
import json
import re

import numpy as np
import pytest

from mgie_lessons.explorers import TOPICS, is_numeric_control, make_explorer, panel_controls
from mgie_lessons.explorers.kit import (EXPLORER_BUDGET_BYTES, Checkbox, Explorer, Frame, FrameView, Range, ScriptView,
                                 Select, compact_png, png_size, precomputed_controls)

_BUILT: dict = {}


def explorer(topic: str) -> Explorer:
    """Each explorer is built once per test session (building renders every frame)."""
    if topic not in _BUILT:
        _BUILT[topic] = make_explorer(topic)
    return _BUILT[topic]


def script_module(topic: str):
    return importlib.import_module(f"mgie_lessons.explorers.{topic}")


def _fingerprint(value) -> bytes:
    if isinstance(value, dict):
        return b"|".join(key.encode() + b"=" + _fingerprint(value[key]) for key in sorted(value))
    return np.round(np.asarray(value, dtype=float), 12).tobytes()


# --- every chapter ----------------------------------------------------------------------------

@pytest.mark.parametrize("topic", TOPICS)
def test_explorer_builds_within_the_page_budget(topic):
    built = explorer(topic)
    assert built.nbytes <= EXPLORER_BUDGET_BYTES, f"{topic}: explorer is {built.nbytes / 1e6:.2f} MB (budget 2 MB)"
    assert f'id="{built.name}"' in built.markup and html.escape(built.title) in built.markup
    assert built.frame_count > 0 or any(view.kind == "script" for view in built.views)


@pytest.mark.parametrize("topic", TOPICS)
def test_explorer_covers_every_control_of_the_panel(topic):
    controls = panel_controls(topic)
    built = explorer(topic)
    uncovered = sorted(set(controls) - built.covered_controls)
    assert not uncovered, f"{topic}: the panel's controls {uncovered} have no counterpart in the explorer"
    names = {parameter.name for parameter in built.parameters}
    numeric = sorted(name for name, control in controls.items() if is_numeric_control(control))
    missing = [name for name in numeric if name not in names]
    assert not missing, (f"{topic}: numeric panel parameters {missing} must be explorer controls of the same "
                         f"name (presets may stand only for typed matrices and texts)")
    unknown = sorted(built.covered_controls - set(controls))
    assert not unknown, f"{topic}: the explorer claims panel controls {unknown} that the panel does not have"


@pytest.mark.parametrize("topic", TOPICS)
def test_every_shown_control_changes_what_is_shown(topic):
    """Others at their initial values: every value of a shown control that frames read gives its
    own picture (pairwise different), and every value of a control that an in-page script reads
    gives other numbers than the initial value (computed here by the package). (A script's
    control may have flat stretches that are the maths, e.g. ReLU zeroing every entry for every
    negative FFN scale, but moving it from where the page starts always shows something else.)"""
    built = explorer(topic)
    scripted = {name for view in built.views if view.kind == "script" for name in view.depends}
    initial = {p.name: p.values[p.initial] for p in built.parameters}

    def numbers(values):
        try:
            return _fingerprint(script_module(topic).reference(values))
        except ValueError as error:
            return str(error).encode()

    for parameter in built.parameters:
        if not built.is_shown(parameter.name):
            continue
        if parameter.name in scripted:
            start = numbers(initial)
            same = [text for value, text in zip(parameter.values, parameter.texts)
                    if value != initial[parameter.name] and numbers({**initial, parameter.name: value}) == start]
            assert not same, (f"{topic}: moving {parameter.name} from {parameter.texts[parameter.initial]!r} "
                              f"to {same} changes nothing")
            continue
        seen: dict = {}
        for value, text in zip(parameter.values, parameter.texts):
            shown = repr(built.content(**{parameter.name: value})).encode()
            assert shown not in seen, (f"{topic}: {parameter.name} = {text!r} shows the same as "
                                       f"{parameter.name} = {seen.get(shown)!r}")
            seen[shown] = text


@pytest.mark.parametrize("topic", TOPICS)
def test_frames_are_compact_and_described(topic):
    built = explorer(topic)
    spec = json.loads(re.search(r'<script type="application/json" id="[^"]+-data">(.*?)</script>', built.markup,
                                re.S).group(1).replace("<\\/", "</"))
    for view in spec["views"]:
        if view["type"] != "frames":
            continue
        assert len(view["table"]) == int(np.prod([len(spec["params"][d]["values"]) for d in view["depends"]]))
        for frame in view["frames"]:
            assert frame.get("src") or frame.get("msg"), f"{topic}: a frame with neither picture nor message"
            if frame.get("src"):
                assert frame["alt"].strip() and frame["w"] > 0, f"{topic}: a picture without alt text or width"


#: Chapters whose explorer computes in the page: their modules define reference(values).
SCRIPT_TOPICS = [t for t in TOPICS if hasattr(importlib.import_module(f"mgie_lessons.explorers.{t}"), "reference")]


@pytest.mark.parametrize("topic", SCRIPT_TOPICS)
def test_in_page_scripts_have_a_package_reference(topic):
    built = explorer(topic)
    assert any(view.kind == "script" for view in built.views)
    module = script_module(topic)
    initial = {p.name: p.values[p.initial] for p in built.parameters}
    reference = module.reference(initial)
    assert reference and all(np.all(np.isfinite(np.asarray(v, dtype=float))) for v in reference.values())


@pytest.mark.parametrize("topic", ["tokens", "errata", "diffusion"])
def test_an_explorer_built_twice_is_the_same_html(topic):
    """The website shows the explorer of the build's execution and nbval compares it with the
    stored one: its HTML must not depend on the run (no ids, addresses, dict order or timing)."""
    assert make_explorer(topic).markup == explorer(topic).markup


# --- the machinery (mgie_lessons/explorers/kit.py) ---------------------------------------------------

def _png(value: int) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 4), (value, 0, 0)).save(buffer, format="png")
    return buffer.getvalue()


def test_parameters_check_their_values():
    with pytest.raises(ValueError, match="no values"):
        Range("a", [])
    with pytest.raises(ValueError, match="twice"):
        Range("a", [1, 1])
    with pytest.raises(ValueError, match="initial"):
        Range("a", [1, 2], initial=3)
    with pytest.raises(ValueError, match="identifier"):
        Select("not a name", ["x"])
    assert Checkbox("c", initial=True).values == (False, True) and Checkbox("c", initial=True).initial == 1
    assert Select("s", {"one": 1, "two": 2}).texts == ("one", "two")
    assert Range("r", [0.5, 1.0]).texts == ("0.5", "1")
    assert Select("p", {"preset": {"x": "1, 2"}}, covers=("x", "y")).covers == ("x", "y")


def test_explorer_rejects_bad_definitions():
    view = FrameView(lambda a: (_png(a), f"a = {a}"))
    with pytest.raises(ValueError, match="name"):
        Explorer("1bad", [Range("a", [1, 2])], [view], title="t")
    with pytest.raises(ValueError, match="unknown parameter"):
        Explorer("ok", [Range("a", [1, 2])], [FrameView(lambda a: (_png(a), "x"), depends=["b"])], title="t")
    with pytest.raises(ValueError, match="never change"):
        Explorer("ok", [Range("a", [1, 2]), Range("b", [1, 2])], [FrameView(lambda a, b: (_png(a), "x"))], title="t")
    with pytest.raises(ValueError, match="alt text"):
        Frame(_png(1), alt=" ")


def test_a_control_that_would_change_nothing_is_hidden():
    # b matters only when a == 2, as the constant of a noise rule matters only for some rules.
    def render(a, b):
        if a == 1:
            return Frame(_png(10), alt="a = 1")
        return Frame(_png(100 + b), alt=f"a = 2, b = {b}")

    built = Explorer("hide-test", [Range("a", [1, 2]), Range("b", [1, 2, 3])], [FrameView(render)], title="t")
    assert not built.is_shown("b", a=1) and built.is_shown("b", a=2) and built.is_shown("a")
    assert built.frame_count == 4                           # identical frames are stored once
    assert '<div class="mgie-explorer-row" data-param="1" hidden>' in built.markup
    assert built.content(a=2, b=3) != built.content(a=2, b=1)


def test_markup_labels_every_control_and_announces_slider_values():
    built = Explorer("markup-test", [Range("a", [1, 2], label="the a"), Checkbox("c", label="the c"),
                                     Select("s", ["x", "y"], label="the s")],
                     [FrameView(lambda a, c, s: Frame(_png(a + 10 * c + 50 * (s == "y")), alt=f"{a} {c} {s}",
                                                      scale=2.0))], title="Markup")
    for index in range(3):
        assert f'<label for="markup-test-p{index}">' in built.markup
    assert '<output for="markup-test-p0" id="markup-test-p0-value">1</output>' in built.markup
    assert 'type="range"' in built.markup and 'type="checkbox"' in built.markup and "<select" in built.markup
    assert 'width="4"' in built.markup          # an 8-pixel-wide frame drawn at 2x is shown 4 CSS pixels wide
    assert 'role="group" aria-labelledby="markup-test-title"' in built.markup


def test_a_refused_value_becomes_a_message():
    def render(a):
        if a > 1:
            raise ValueError("a must be at most 1")
        return _png(a), "fine"

    built = Explorer("message-test", [Range("a", [1, 2])], [FrameView(render)], title="t")
    assert built.content(a=2)[0] == (None, "a must be at most 1", "")


def test_script_views_carry_the_plot_kit_and_their_data():
    script = "{compute:function(v,d){return {y:v.a*d.k};},draw:function(el,r,v){el.textContent=r.y;return 'y';}}"
    built = Explorer("script-test", [Range("a", [1, 2])], [ScriptView(script, data={"k": 3})], title="t")
    assert "window.MGIEPlot" in built.markup and '"k":3' in built.markup and built.frame_count == 0
    assert built.is_shown("a")


def test_compact_png_keeps_the_size_and_shrinks_the_bytes():
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    matplotlib.use("Agg")
    figure = Figure(figsize=(3, 2), dpi=100)
    FigureCanvasAgg(figure)
    ax = figure.subplots()
    ax.imshow(np.linspace(0, 1, 400).reshape(20, 20))
    ax.set_title("a title")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    png = buffer.getvalue()
    small = compact_png(png)
    assert png_size(small) == png_size(png) and len(small) < len(png)
    with pytest.raises(ValueError):
        png_size(b"not a png")


def test_precomputed_controls_still_work():
    controls = precomputed_controls("legacy-test", {"a": [1, 2], "b": [1, 2]},
                                    lambda a, b: (_png(a * 10 + b), f"{a} {b}"))
    assert controls.frames == 4 and 'type="range"' in controls.markup
