"""The chapter 6 panel recomputes the losses with the package, changes bar heights, reports bad input."""

import html
import math

import numpy as np
import pytest

from mgie_lessons import losses
from mgie_lessons.widgets import losses as panel_module


@pytest.fixture(scope="module")
def shared_panel():
    return panel_module.make_panel()


@pytest.fixture
def panel(shared_panel):
    assert shared_panel.set(**panel_module.DEFAULTS)
    return shared_panel


def _summary(panel):
    return html.unescape(panel.outputs[0].value)


def _heights(bars):
    return np.array([bar.get_height() for bar in bars])


def _plot_bars(panel):
    token_ax, total_ax = panel.figure.axes[:2]
    return token_ax.patches, total_ax.patches


def test_default_panel_shows_the_seeds_L_edit_and_alpha(panel):
    assert panel.error is None
    text = _summary(panel)
    assert "0.16 + 0.04 + 0 = " in text and "<b>0.2</b>" in text       # (0.2-0.6)^2 + (0.2-0.4)^2 + 0
    assert "0.5 \u00d7 0.2" in text
    token_bars, total_bars = _plot_bars(panel)
    assert len(token_bars) == 10 and len(total_bars) == 4
    assert panel.image.value[:4] == b"\x89PNG"


def test_probabilities_change_the_bars_in_place(panel):
    token_bars, total_bars = _plot_bars(panel)
    before = panel.image.value
    assert panel.set(p_correct=", ".join(["0.5"] * 10), alpha=1.0)
    assert all(a is b for a, b in zip(_plot_bars(panel)[0], token_bars))   # the same artists
    assert len(_plot_bars(panel)[0]) == 10
    assert np.allclose(_heights(token_bars), math.log(2))
    # L_ins = log 2, L_edit = 0.2, L_all = log 2 + 1 * 0.2
    assert np.allclose(_heights(total_bars), [math.log(2), 0.2, 0.2, math.log(2) + 0.2])
    assert f"{math.log(2) + 0.2:.4g}" in _summary(panel)
    assert panel.image.value != before


def test_noises_change_L_edit(panel):
    assert panel.set(true_noise="1, 0, 0", predicted_noise="0, 0, 2", alpha=0.25)
    # 1 + 0 + 4 = 5; alpha L_edit = 1.25
    _, total_bars = _plot_bars(panel)
    assert _heights(total_bars)[1:3] == pytest.approx([5.0, 1.25])
    assert "<b>5</b>" in _summary(panel)


def test_matches_the_package(panel):
    values = panel_module.BENCH_SETTINGS[5]
    assert panel.set(**values)
    true = [float(v) for v in values["true_noise"].split(",")]
    predicted = [float(v) for v in values["predicted_noise"].split(",")]
    p = [float(v) for v in values["p_correct"].split(",")]
    expected = losses.total_loss(losses.loss_from_target_probabilities(p), losses.edit_loss(true, predicted), 1.0)
    assert _heights(_plot_bars(panel)[1])[3] == pytest.approx(expected)


def test_the_package_refuses_a_negative_alpha():
    with pytest.raises(ValueError, match="alpha must be >= 0"):
        panel_module.compute({**panel_module.DEFAULTS, "alpha": -0.5})


def test_default_probabilities_come_from_the_toy_model():
    p = panel_module.default_probabilities()
    assert p.shape == (10,)
    assert int(np.argmin(p)) == 2          # "blue" after "a": the model that wrote yhat expected "bright"


def test_bench_settings_are_valid_and_render_from_scratch_returns_png(panel):
    for values in panel_module.BENCH_SETTINGS:
        assert panel.set(**values), panel.error
        expected = panel_module.compute(values)
        np.testing.assert_allclose(_heights(_plot_bars(panel)[0]), expected["per_token"])
        np.testing.assert_allclose(_heights(_plot_bars(panel)[1]), [
            expected["l_ins"], expected["l_edit"], expected["alpha"] * expected["l_edit"], expected["l_all"]])
        assert f"L_all = {expected['l_all']:.4g}" in panel.alt
    assert panel_module.render_from_scratch(panel_module.BENCH_SETTINGS[1])[:4] == b"\x89PNG"


def test_updates_do_not_add_artists(panel):
    token_ax, total_ax = panel.figure.axes[:2]
    counts = (len(panel.figure.artists), len(token_ax.patches), len(total_ax.patches), len(token_ax.texts))
    for values in panel_module.BENCH_SETTINGS:
        panel.set(**values)
    assert (len(panel.figure.artists), len(token_ax.patches), len(total_ax.patches), len(token_ax.texts)) == counts
    assert counts[0] == 0          # the cached background is pixels, not an artist of the figure


def test_alt_text_follows_the_figure(panel):
    assert panel.set(alpha=2.0)
    assert "alpha = 2" in panel.alt and "alpha = 2" in html.unescape(panel.outputs[1].value)
