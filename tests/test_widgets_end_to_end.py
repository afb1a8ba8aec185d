"""The dashboard recomputes with the package and shows it; bad values give a message."""

import numpy as np
import pytest

from mgie_lessons import end_to_end, walkthrough
from mgie_lessons.widgets import end_to_end as dashboard
from widget_checks import assert_shows_cleanly


@pytest.fixture(scope="module")
def shared_panel():
    return dashboard.make_panel()


@pytest.fixture
def panel(shared_panel):
    assert shared_panel.set(**dashboard.DEFAULTS)
    return shared_panel


def _shown(panel):
    """The trajectory line, the attention weights image, U's image and the loss bars' heights."""
    figure = panel.figure
    line = [l for ax in figure.axes for l in ax.get_lines() if l.get_marker() == "o"][0]
    loss_ax = [ax for ax in figure.axes if ax.get_title().startswith("Losses")][0]
    return (line.get_ydata(), figure.axes[0].images[0].get_array(), figure.axes[1].images[0].get_array(),
            [bar.get_height() for bar in loss_ax.patches])


def test_default_panel_shows_the_default_pipeline(panel):
    expected = end_to_end.run_pipeline(coupling=0.5)
    assert_shows_cleanly(panel)
    assert panel.result.l_all == pytest.approx(expected.l_all)
    assert f"{expected.l_all:.4f}" in panel.outputs[0].value
    assert f"L_all {expected.l_all:.3f}" in panel.alt


def test_moving_a_word_changes_the_figure_and_the_losses(panel):
    before_image, before_text = panel.image.value, panel.outputs[0].value
    assert panel.set(word="blue", shift="1.5, -0.5")
    table = {w: np.asarray(v, float) for w, v in walkthrough.EMBEDDING_TABLE.items()}
    table["blue"] = table["blue"] + np.array([1.5, -0.5])
    expected = end_to_end.run_pipeline(table=table, coupling=0.5)
    assert panel.result.l_ins == pytest.approx(expected.l_ins)
    assert f"{expected.l_all:.4f}" in panel.outputs[0].value
    assert panel.outputs[0].value != before_text
    assert panel.image.value != before_image


def test_every_bench_setting_shows_the_package_result(panel):
    for values in dashboard.BENCH_SETTINGS + [{**dashboard.DEFAULTS, "T": 5, "eta": 0.2}]:
        assert panel.set(**values), panel.error
        expected = dashboard.pipeline_for(values)
        trajectory, weights, U, losses = _shown(panel)
        np.testing.assert_allclose(trajectory, np.ravel(expected.denoise.trajectory))
        np.testing.assert_allclose(weights, expected.attention.weights)
        np.testing.assert_allclose(U, expected.U)
        alpha = values["alpha"]
        np.testing.assert_allclose(losses, [expected.l_ins, alpha * expected.l_edit, expected.l_all])
        assert f"L_all {expected.l_all:.3f}" in panel.alt


def test_the_package_refuses_a_negative_eta():
    with pytest.raises(ValueError, match="eta"):
        dashboard.pipeline_for({**dashboard.DEFAULTS, "eta": -0.1})
