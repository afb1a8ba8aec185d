"""The dashboard recomputes with the package and shows it; bad values give a message."""

import numpy as np
import pytest

from mgie_lessons import end_to_end, seed
from mgie_lessons.widgets import end_to_end as dashboard
from widget_checks import assert_bad_value_is_reported


@pytest.fixture()
def panel():
    return dashboard.make_panel()


def test_default_panel_shows_the_default_pipeline(panel):
    expected = end_to_end.run_pipeline(coupling=0.5)
    assert panel.error is None
    assert panel.result.l_all == pytest.approx(expected.l_all)
    assert f"{expected.l_all:.4f}" in panel.outputs[0].value


def test_moving_a_word_changes_the_figure_and_the_losses(panel):
    before_image, before_text = panel.image.value, panel.outputs[0].value
    assert panel.set(word="blue", shift="1.5, -0.5")
    table = {w: np.asarray(v, float) for w, v in seed.EMBEDDING_TABLE.items()}
    table["blue"] = table["blue"] + np.array([1.5, -0.5])
    expected = end_to_end.run_pipeline(table=table, coupling=0.5)
    assert panel.result.l_ins == pytest.approx(expected.l_ins)
    assert f"{expected.l_all:.4f}" in panel.outputs[0].value
    assert panel.outputs[0].value != before_text
    assert panel.image.value != before_image


def test_the_heatmaps_and_trajectory_hold_the_new_values(panel):
    panel.set(T=5, eta="0.2")
    figure = panel.figure
    line = [l for ax in figure.axes for l in ax.get_lines() if l.get_marker() == "o"][0]
    expected = end_to_end.run_pipeline(T=5, eta=0.2, coupling=0.5)
    assert np.allclose(line.get_ydata(), np.ravel(expected.denoise.trajectory))
    weights_image = figure.axes[0].images[0]
    assert np.allclose(weights_image.get_array(), expected.attention.weights)


@pytest.mark.parametrize("values, word", [
    ({"eta": "-0.1"}, "eta"),
    ({"eta": "fast"}, "eta"),
    ({"shift": "1, x"}, "shift"),
    ({"shift": "1, 2, 3"}, "shift"),
])
def test_bad_values_show_a_message_and_keep_the_last_figure(panel, values, word):
    assert_bad_value_is_reported(panel, dashboard.DEFAULTS, values, word)
    assert panel.error is None


def test_benchmark_hooks_exist_and_settings_are_valid(panel):
    for values in dashboard.BENCH_SETTINGS:
        assert panel.set(**values), panel.error
    png = dashboard.render_from_scratch(dashboard.BENCH_SETTINGS[0])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
