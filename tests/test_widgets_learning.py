"""The chapter 13 panel: gradients and loss curves come from the package, sliders redraw in place."""

import html

import numpy as np
import pytest

from mgie_lessons import learning
from mgie_lessons.plots import learning as learning_plots
from mgie_lessons.widgets import learning as panel_module



@pytest.fixture
def panel():
    return panel_module.make_panel()


def test_default_panel_shows_the_seeds_gradient_and_the_run(panel):
    assert panel.error is None and panel.image.value[:4] == b"\x89PNG"
    shown = panel.result if panel.result is not None else None
    drawn = panel.drawn
    assert np.allclose(drawn.start_image.get_array(), learning.tiny_lm_gradients()["W1"])
    run = learning.train_tiny_lm_by_hand(0.1, learning_plots.MAX_STEPS)
    assert np.allclose(drawn.line.get_ydata()[:-1], run.losses, rtol=1e-9)
    assert drawn.line.get_ydata()[-1] == pytest.approx(run.final_loss, rel=1e-9)
    assert [t.get_text() for t in drawn.start_texts] == [f"{v:.2e}" for v in learning.tiny_lm_gradients()["W1"].ravel()]
    text = html.unescape(panel.outputs[0].value)
    assert f"{learning.tiny_lm_loss():.4f}" in text and f"{run.final_loss:.4f}" in text
    assert shown is None or shown["parameter"] == "W1"


def test_a_learning_rate_is_a_run_of_the_package(panel):
    assert panel.set(lr=10 ** -2.0, steps=50)
    run = learning.train_tiny_lm_by_hand(0.01, 50)
    assert panel.drawn.line.get_ydata()[50] == pytest.approx(run.final_loss, rel=1e-9)
    assert np.allclose(panel.drawn.marker.get_data(), [[50], [run.final_loss]])
    end = learning.tiny_lm_gradients(run.params)["W1"]
    assert np.allclose(panel.drawn.now_image.get_array(), end, rtol=1e-6, atol=1e-12)
    assert "0.01" in panel.alt and "step 50" in panel.alt


def test_parameter_and_training_set_change_titles_and_curves(panel):
    before = panel.image.value
    assert panel.set(parameter="W_q", train="mgie")
    assert "W^Q" in panel.drawn.start_ax.get_title() and "(frozen)" in panel.drawn.now_ax.get_title()
    runs = learning_plots.explore_runs("mgie")
    assert np.allclose(panel.drawn.background_lines[3].get_ydata(), runs.losses[3])
    frozen = learning.train_tiny_lm_by_hand(0.1, learning_plots.MAX_STEPS, trainable=learning.MGIE_TRAINABLE)
    assert np.allclose(frozen.params["W_q"], learning.seed_lm_parameters()["W_q"])
    assert "frozen" in html.unescape(panel.outputs[0].value)
    assert panel.image.value != before


def test_steps_zero_shows_the_start_twice(panel):
    assert panel.set(steps=0)
    assert np.allclose(panel.drawn.start_image.get_array(), panel.drawn.now_image.get_array())


def test_bad_values_are_reported(panel):
    with pytest.raises(ValueError, match="train must be one of"):
        panel_module.compute({**panel_module.DEFAULTS, "train": "everything"})
    with pytest.raises(ValueError, match="steps must be <= 300"):
        panel_module.compute({**panel_module.DEFAULTS, "steps": 301})
    with pytest.raises(ValueError, match="parameter must be one of"):
        panel_module.compute({**panel_module.DEFAULTS, "parameter": "E"})


def test_sliders_update_continuously():
    panel = panel_module.make_panel()
    assert panel.controls["lr"].continuous_update and panel.controls["steps"].continuous_update
    slider = panel.controls["lr"]
    assert (slider.min, slider.max, slider.step) == (-3, 0, 0.125)
    assert len(learning_plots.LEARNING_RATES) == 25 and learning_plots.LEARNING_RATES[16] == pytest.approx(0.1)


def test_updates_redraw_in_place_and_match_a_fresh_panel(panel):
    counts = [len(ax.lines) + len(ax.images) + len(ax.artists) + len(ax.texts) for ax in panel.figure.axes]
    for values in panel_module.BENCH_SETTINGS + panel_module.BENCH_SETTINGS[::-1]:
        assert panel.set(**values)
    assert [len(ax.lines) + len(ax.images) + len(ax.artists) + len(ax.texts) for ax in panel.figure.axes] == counts
    fresh = panel_module.make_panel()
    assert fresh.set(**panel_module.BENCH_SETTINGS[0])
    assert panel.image.value == fresh.image.value
