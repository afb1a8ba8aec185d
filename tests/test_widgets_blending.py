"""The chapter 11 panel reruns the toy edit with the package, updates the same image, reports bad input."""

import html
import re

import numpy as np
import pytest

from mgie_lessons import blending
from mgie_lessons.widgets import blending as panel_module


@pytest.fixture(scope="module")
def shared_panel():
    return panel_module.make_panel()


@pytest.fixture
def panel(shared_panel):
    assert shared_panel.set(**panel_module.DEFAULTS)
    return shared_panel


def _text(panel):
    return html.unescape(panel.numbers.value)


def test_default_panel_shows_blending_at_every_level(panel):
    assert panel.error is None
    expected = blending.toy_edit(blend_levels=(0, 1, 2, 3))
    assert f"{expected.change_outside:.4f}" in _text(panel)
    assert f"{expected.change_inside:.4f}" in _text(panel)
    assert "blend levels 0,1,2,3, 8 of 8 steps blended, masking off" in _text(panel)
    shown = panel.view.image.get_array()
    np.testing.assert_allclose(shown[:, :32], np.clip(expected.edited, 0, 1))
    assert panel.image.value[:4] == b"\x89PNG"


def test_switching_blending_off_updates_the_same_artist(panel):
    image_artist, before = panel.view.image, panel.image.value
    assert panel.set(blending=False)
    plain = blending.toy_edit()
    assert panel.view.image is image_artist
    assert len(panel.view.ax.images) == 1
    np.testing.assert_allclose(panel.view.image.get_array()[:, :32], np.clip(plain.edited, 0, 1))
    assert f"{plain.change_outside:.4f}" in _text(panel)
    assert f"{plain.change_outside:.4f}" in panel.view.ax.get_title()
    assert panel.image.value != before


def test_masking_levels_and_steps_follow_the_package(panel):
    assert panel.set(masking=True, levels="0, 2", blend_steps=3, T=6, eta=0.4)
    expected = blending.toy_edit(T=6, eta=0.4, blend_levels=(0, 2), blend_steps=3, masking=True)
    assert f"{expected.change_inside:.4f}" in _text(panel)
    assert "blend levels 0,2, 3 of 6 steps blended, masking on" in _text(panel)
    np.testing.assert_allclose(panel.view.image.get_array()[:, :32], np.clip(expected.edited, 0, 1))
    assert f"{expected.change_outside:.4f}" in panel.alt and "masking on" in panel.alt
    assert panel.set(blending=False, masking=True)
    assert "change outside the hat $\\Delta_{\\text{out}} = 0.0000$" in _text(panel)


@pytest.mark.parametrize("values, phrase", [
    ({"T": 0}, "T must be >= 1"),
    ({"T": 2.5}, "T must be a whole number"),
    ({"T": 1000}, "T must be <="),
    ({"eta": -0.1}, "eta must lie in [0, 1]"),
    ({"eta": float("nan")}, "NaN"),
])
def test_the_package_refuses_what_the_sliders_cannot_reach(values, phrase):
    with pytest.raises(ValueError, match=re.escape(phrase)):
        panel_module.compute(values)


def test_bench_settings_are_valid_and_render_from_scratch_gives_png(panel):
    for values in panel_module.BENCH_SETTINGS:
        assert panel.set(**values), panel.error
        expected = panel_module.compute(values)
        np.testing.assert_allclose(panel.view.image.get_array()[:, :32], np.clip(expected.edited, 0, 1))
        assert f"out {expected.change_outside:.4f} | in {expected.change_inside:.4f}" == panel.view.ax.get_title()
    assert panel_module.render_from_scratch(panel_module.BENCH_SETTINGS[0])[:4] == b"\x89PNG"
