"""What every chapter's panel must do, parametrised over the panels (issue 12).

* its benchmark settings are valid: each sets every control, is accepted and shows a clean
  picture with alt text, no two alike, and the benchmark's baseline draws a PNG of the same size;
* a value its slider cannot hold is refused before anything changes (ipywidgets would clamp it);
* a bad value it can receive (typed text, a combination the sliders reach) is a message naming the
  parameter; the picture, its alt text and the panel's other outputs stay as they were, the figure's
  artists too (a redraw gives the same picture), and the good values bring it back.

What is specific to one panel (the numbers it must show) stays in tests/test_widgets_<topic>.py.
"""

import html
import importlib

import pytest

from mgie_lessons.plots.common import png_size
from mgie_lessons.widgets import blending, diffusion, guidance, losses
from widget_checks import assert_shows_cleanly, assert_slider_refuses

WIDGETS = ("attention", "blending", "diffusion", "edit_head", "end_to_end", "errata", "ffn", "guidance",
           "learning", "losses", "schedules", "tokens", "visual_tokens", "toy_mgie")

_PANELS: dict = {}


def _module(name: str):
    return importlib.import_module(f"mgie_lessons.widgets.{name}")


def _defaults(name: str) -> dict:
    module = _module(name)
    return dict(getattr(module, "DEFAULTS", module.BENCH_SETTINGS[0]))


@pytest.fixture
def panel_of():
    """panel_of(name): one panel per widget module for the whole run, set to its defaults."""
    def get(name: str):
        if name not in _PANELS:
            _PANELS[name] = _module(name).make_panel()
        panel = _PANELS[name]
        assert panel.set(**_defaults(name)), panel.error
        return panel
    return get


def test_every_panel_module_is_listed():
    import pkgutil

    from mgie_lessons import widgets

    found = {info.name for info in pkgutil.iter_modules(widgets.__path__)} - {"panel"}
    assert found == set(WIDGETS)


@pytest.mark.parametrize("name", WIDGETS)
def test_bench_settings_are_valid_and_the_baseline_draws_the_same_picture_size(name, panel_of):
    module = _module(name)
    panel = panel_of(name)
    settings = module.BENCH_SETTINGS
    assert (3 if name == "errata" else 4) <= len(settings) <= 8       # errata: three pairs of matrices
    pictures, shown = [], set()
    for values in settings:
        assert set(values) == set(panel.controls), "a benchmark setting must set every control"
        assert panel.set(**values), panel.error
        assert_shows_cleanly(panel)
        pictures.append(bytes(panel.image.value))
        shown.add((pictures[-1], panel.alt))
    assert len(shown) == len(settings), "every benchmark setting changes the picture or its alt text"
    baseline = module.render_from_scratch(settings[-1])
    assert baseline[:8] == b"\x89PNG\r\n\x1a\n" and png_size(baseline) == png_size(pictures[-1])


SLIDER_LIMITS = [
    ("attention", "temperature", 0.0),
    *[("blending", name, value) for name, value in [("T", 0), ("T", blending.MAX_STEPS + 1), ("T", 2.5), ("eta", -0.1),
                                                    ("eta", float("nan")), ("blend_steps", -1)]],
    *[("diffusion", name, value) for name, value in [("T", 0), ("T", diffusion.MAX_STEPS + 1), ("T", 2.5), ("eta", -0.1),
                                                     ("image", float("nan")), ("noise", 1.5), ("c", "abc")]],
    *[("edit_head", name, value) for name, value in [("n_queries", 0), ("n_queries", 78), ("d_out", 0),
                                                     ("d_out", 2.5), ("row", -1), ("row", 77),
                                                     ("row", float("nan"))]],
    *[("end_to_end", name, value) for name, value in [("eta", -0.1), ("eta", 1.5), ("T", 0), ("alpha", -1.0)]],
    *[("guidance", name, value) for name, value in [("s_image", -1.0), ("s_text", float("nan")),
                                                    ("s_text", "seven"), ("s_image", guidance.MAX_IMAGE_SCALE + 1),
                                                    ("s_text", float("inf"))]],
    *[("losses", "alpha", value) for value in (-0.5, losses.MAX_ALPHA + 0.5, "half")],
    *[("schedules", name, value) for name, value in [("T", 0), ("T", "abc"), ("T", 2.5), ("t", -1), ("steps", 0),
                                                     ("bias", float("nan")), ("bias", "x"), ("bias", 0.5)]],
    *[("visual_tokens", name, value) for name, value in [("n_tokens", 0), ("n_tokens", 9), ("n_queries", 0),
                                                         ("n_queries", 17)]],
]


@pytest.mark.parametrize("name, control, value", SLIDER_LIMITS, ids=str)
def test_sliders_refuse_values_they_cannot_hold(name, control, value, panel_of):
    assert_slider_refuses(panel_of(name), control, value)


BAD_VALUES = [
    ("attention", {"W_q": "a, 0; 0, 1"}, "W^Q: row 1 has a non-numeric entry 'a'"),
    ("attention", {"W_k": "1, 0, 0; 0, 1, 0"}, "W^K must have shape"),
    ("attention", {"W_v": "nan, 0; 0, 1"}, "W^V contains NaN"),
    ("attention", {"W_q": ""}, "W^Q is empty"),
    ("attention", {"W_v": "1, 0; 0"}, "W^V: every row needs the same number of entries"),
    ("blending", {"blend_steps": 9}, "blend_steps must be <= 8"),          # k > T: the sliders can reach it
    ("blending", {"levels": "0, x"}, "levels: row 1 has a non-numeric entry"),
    ("blending", {"levels": "5"}, "levels must be <= 3"),
    ("blending", {"levels": "1.5"}, "levels must be whole numbers"),
    ("blending", {"levels": ""}, "levels is empty"),
    ("edit_head", {"n_queries": 20, "row": 38}, "row must be <= 19"),   # fewer queries than the row: reachable
    ("edit_head", {"n_queries": 1, "row": 1}, "row must be <= 0"),
    ("end_to_end", {"shift": "1, x"}, "shift"),
    ("end_to_end", {"shift": "1, 2, 3"}, "shift"),
    ("end_to_end", {"shift": ""}, "shift"),
    ("ffn", {"W1": "0.2, abc; 0.2, 0.2"}, "non-numeric"),
    ("ffn", {"W1": "0.2, 0.2, 0.2; 0.2, 0.2, 0.2"}, "W1"),
    ("ffn", {"b1": ""}, "b1"),
    ("ffn", {"b1": "0.1"}, "b1"),
    ("ffn", {"W2": "nan, 0.3; 0.3, 0.3"}, "NaN"),
    ("ffn", {"b2": "0.1, 0.1, 0.1"}, "b2"),
    ("learning", {"lr": float("nan")}, "lr"),
    ("losses", {"p_correct": "0.5, 0.5"}, "p_correct must have shape (10)"),
    ("losses", {"p_correct": ", ".join(["0.5"] * 9 + ["0"])}, "infinite"),
    ("losses", {"p_correct": ", ".join(["0.5"] * 9 + ["1.5"])}, "p_correct must lie in"),
    ("losses", {"p_correct": ", ".join(["0.5"] * 9 + ["nan"])}, "p_correct contains NaN"),
    ("losses", {"true_noise": "0.2, x, 0.2"}, "true_noise: row 1 has a non-numeric entry"),
    ("losses", {"predicted_noise": "0.6, 0.4"}, "predicted_noise must have shape (3)"),
    ("schedules", {"t": 1000}, "t must be <= 999"),                    # t beyond T - 1: the sliders can reach it
    ("schedules", {"T": 200, "t": 500}, "t must be <= 199"),
    ("schedules", {"t": 50, "steps": 60}, "steps must be <= t + 1 = 51"),
    ("tokens", {"instruction": "Add a red hat"}, "'red'"),
    ("tokens", {"instruction": "   "}, "instruction is empty"),
    ("tokens", {"e_hat": "0.3, abc"}, "non-numeric entry"),
    ("tokens", {"e_hat": "0.3"}, 'the embedding of "hat"'),
    ("tokens", {"e_hat": "0.3, 0.2, 0.1"}, 'the embedding of "hat"'),
    ("tokens", {"e_hat": "nan, 0.2"}, "NaN"),
    ("tokens", {"e_hat": ""}, "is empty"),
    ("tokens", {"instruction": " ".join(["a"] * 13)}, "at most 12"),
    ("visual_tokens", {"seed": -1}, "seed must be >= 0"),
]


def _outputs(panel) -> list:
    return [getattr(output, "value", None) for output in panel.outputs]


@pytest.mark.parametrize("name, bad, phrase", BAD_VALUES, ids=str)
def test_a_bad_value_is_a_message_and_the_last_picture_stays(name, bad, phrase, panel_of):
    panel = panel_of(name)
    before, alt, outputs = bytes(panel.image.value), panel.alt, _outputs(panel)
    assert not panel.set(**bad)
    assert panel.error is not None and phrase in panel.error
    assert phrase in html.unescape(panel.message.value)
    assert bytes(panel.image.value) == before and panel.alt == alt and _outputs(panel) == outputs
    assert panel._render() == before, "the refused values left the figure's artists changed"
    assert panel.set(**_defaults(name)) and panel.error is None and panel.message.value == ""
