"""The shared Panel: messages instead of tracebacks, the last good figure kept, alt text kept."""

import re

import ipywidgets as widgets
import numpy as np
import pytest

from mgie_lessons.plots.common import new_figure, png_size
from mgie_lessons.widgets.panel import Panel, parse_matrix


def _line_panel():
    figure, ax = new_figure(3, 2, dpi=50)
    (line,) = ax.plot([0, 1], [0, 1])
    ax.set_title("t"), ax.set_xlabel("x"), ax.set_ylabel("y")

    def update(values):
        scale = float(parse_matrix(values["scale"], "scale", shape=(1, 1))[0, 0])
        y = np.array([1.0, 10.0]) * scale          # overflows for scale near 1e308
        line.set_ydata(y)
        ax.set_ylim(float(y.min()) - 1, float(y.max()) + 1)
        return float(y.max())

    control = widgets.Text(value="1", description="scale")
    return Panel({"scale": control}, update, figure, title="scale test",
                 describe=lambda top: f"a line up to {top:g}")


def test_a_good_value_updates_the_image_result_and_alt_text():
    panel = _line_panel()
    first = panel.image.value
    assert panel.set(scale="2")
    assert panel.result == 20.0 and panel.alt == "a line up to 20"
    assert panel.image.value != first


@pytest.mark.parametrize("text, words", [
    ("abc", "non-numeric"),                 # the package's own check
    ("1e308", "too large"),                 # numpy overflow while computing
    ("1, 2", "shape"),
])
def test_bad_values_give_a_message_and_keep_the_figure(text, words):
    panel = _line_panel()
    before, alt = panel.image.value, panel.alt
    assert not panel.set(scale=text)
    assert words in panel.error
    assert 'role="alert"' in panel.message.value
    assert panel.image.value == before and panel.alt == alt
    assert panel.set(scale="1") and panel.message.value == "" and panel.error is None


def test_sliders_take_only_values_they_can_hold():
    figure, ax = new_figure(3, 2, dpi=50)
    (line,) = ax.plot([0, 1], [0, 1])
    controls = {"a": widgets.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.1),
                "n": widgets.IntSlider(value=2, min=1, max=5)}
    panel = Panel(controls, lambda values: line.set_ydata([0, values["a"] * values["n"]]), figure)
    assert panel.set(a=0.25, n=5) and panel.values() == {"a": 0.25, "n": 5}
    for name, value, words in [("a", 1.5, "range [0, 1]"), ("a", float("nan"), "range"), ("n", 0, "range [1, 5]"),
                               ("n", 2.5, "whole numbers"), ("a", "0.3", "give a number"), ("n", True, "give a number")]:
        with pytest.raises(ValueError, match=re.escape(words)):
            panel.set(**{name: value})
        assert panel.values() == {"a": 0.25, "n": 5}


def test_the_image_is_shown_at_its_css_size_and_drawn_at_the_figures_pixel_scale():
    figure, ax = new_figure(3, 2, dpi=50, scale=2)
    ax.plot([0, 1], [0, 1])
    panel = Panel({"scale": widgets.Text(value="1")}, lambda values: None, figure)
    assert panel.image.layout.width == "150px"
    assert png_size(panel.image.value) == (300, 200)


def test_alt_text_defaults_to_the_title_and_travels_with_the_widget_state():
    panel = Panel({"scale": widgets.Text(value="1")}, lambda values: None, None, title="no figure")
    assert panel.alt == "no figure"
    assert "alt" in panel.image.keys
