"""Tests for chapter 9's widget panel: it shows what the package computes and survives bad input."""

import numpy as np
import pytest

from mgie_lessons import guidance
from mgie_lessons.images import toy_image
from mgie_lessons.widgets import guidance as W
from widget_checks import assert_bad_value_is_reported


@pytest.fixture(scope="module")
def panel():
    return W.make_panel()


def _edit(s_image, s_text, u=None):
    u = guidance.toy_instruction_embedding() if u is None else u
    return guidance.one_step_edit(toy_image(32), u, s_image, s_text)


def test_defaults(panel):
    assert panel.set(**W.DEFAULTS)
    edit = _edit(1.5, 7.5)
    np.testing.assert_allclose(np.asarray(panel.plot.image.get_array()), edit.image_edit)
    assert panel.plot.marker.get_xdata()[0] == 1.5 and panel.plot.marker.get_ydata()[0] == 7.5
    guided = edit.terms.guided[:, 0, 1]
    assert "guided" in panel.summary.value
    assert ", ".join(f"{v:.3f}" for v in guided) in panel.summary.value


@pytest.mark.parametrize("s_image, s_text", [(1.0, 1.0), (0.0, 7.5), (3.0, 12.0), (2.5, 0.0)])
def test_scales_change_image_marker_and_numbers(panel, s_image, s_text):
    assert panel.set(**W.DEFAULTS)
    before = panel.image.value
    assert panel.set(s_image=s_image, s_text=s_text, instruction="add a blue hat")
    edit = _edit(s_image, s_text)
    np.testing.assert_allclose(np.asarray(panel.plot.image.get_array()), edit.image_edit)
    assert panel.plot.marker.get_xdata()[0] == s_image and panel.plot.marker.get_ydata()[0] == s_text
    assert ", ".join(f"{v:.3f}" for v in edit.terms.guided[:, 0, 1]) in panel.summary.value
    assert f"s_V = {s_image:g}" in panel.alt_text.value and f"s_X = {s_text:g}" in panel.alt
    assert panel.plot.image_ax.get_title() == f"s_V = {s_image:g}, s_X = {s_text:g}"
    assert panel.image.value != before


def test_scales_one_show_the_full_prediction(panel):
    assert panel.set(s_image=1.0, s_text=1.0, instruction="add a blue hat")
    edit = _edit(1.0, 1.0)
    text = ", ".join(f"{v:.3f}" for v in edit.eps_full[:, 0, 1])
    assert panel.summary.value.count(text) == 2   # the eps(z, V, U) line and the guided line


def test_large_scales_widen_the_plane_and_draw_a_new_background(panel):
    draws_before = panel.plot.background.full_draws
    assert panel.set(s_image=6.0, s_text=20.0, instruction="add a blue hat")
    assert panel.plot.plane_ax.get_xlim() == (0, 6 * 1.1) and panel.plot.plane_ax.get_ylim() == (0, 20 * 1.1)
    assert panel.plot.background.full_draws == draws_before + 1   # a background for the new limits
    assert panel.set(**W.DEFAULTS)
    assert panel.plot.plane_ax.get_xlim() == (0, 4.0)
    assert panel.plot.background.full_draws == draws_before + 1   # the old background is reused


def test_null_instruction_leaves_the_image(panel):
    assert panel.set(s_image=1.5, s_text=7.5, instruction="null instruction")
    assert "mean change of the latent outside the hat = 0.000" in panel.summary.value
    edit = _edit(1.5, 7.5, guidance.toy_null_instruction())
    np.testing.assert_allclose(np.asarray(panel.plot.image.get_array()), edit.image_reference, atol=1e-9)


@pytest.mark.parametrize("values, word", [
    ({"s_image": -1.0}, "s_image"),
    ({"s_text": float("nan")}, "s_text"),
    ({"s_text": float("inf")}, "s_text"),
])
def test_the_package_refuses_what_the_sliders_cannot_reach(values, word):
    with pytest.raises(ValueError, match=word):
        W.compute({**W.DEFAULTS, **values})


def test_an_unknown_instruction_is_a_message(panel):
    panel.controls["instruction"].options = [*W.INSTRUCTIONS, "make it pink"]
    try:
        assert_bad_value_is_reported(panel, W.DEFAULTS, {"instruction": "make it pink"}, "instruction")
    finally:
        panel.controls["instruction"].options = list(W.INSTRUCTIONS)


def test_bench_settings_and_render_from_scratch(panel):
    for values in W.BENCH_SETTINGS:
        assert panel.set(**values), panel.error
        _, _, edit = W.compute(values)
        np.testing.assert_allclose(np.asarray(panel.plot.image.get_array()), edit.image_edit)
    assert W.render_from_scratch(W.BENCH_SETTINGS[0])[:8] == b"\x89PNG\r\n\x1a\n"
