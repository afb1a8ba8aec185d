"""Tests for chapter 8's widget panel: it shows what the package computes and survives bad input."""

import numpy as np
import pytest

from mgie_lessons import schedules
from mgie_lessons.plots import schedules as schedule_plots
from mgie_lessons.widgets import schedules as W


@pytest.fixture(scope="module")
def panel():
    return W.make_panel()


def _expected(kind, T, t, steps, predictor="true noise", bias=0.0):
    abar = schedules.alphas_cumprod(schedules.beta_schedule(kind, T))
    x0, noise = schedules.toy_example()
    return abar, schedules.q_sample(x0, t, noise, abar), schedules.ddim_reconstruction(
        x0, noise, abar, steps, bias=bias, predictor=predictor, start=t)


def test_panel_starts_with_defaults(panel):
    panel.set(**W.DEFAULTS)
    assert panel.error is None
    assert panel.image.value[:8] == b"\x89PNG\r\n\x1a\n"
    abar, _, _ = _expected("linear", 1000, 500, 10)
    assert f"{abar[500]:.4g}" in panel.summary.value


def test_changing_kind_and_t_updates_curves_image_and_text(panel):
    assert panel.set(kind="cosine", T=1000, t=750, steps=10, predictor="true noise", bias=0.0)
    abar, x_t, result = _expected("cosine", 1000, 750, 10)
    np.testing.assert_allclose(panel.plot.signal_line.get_ydata(), abar)
    np.testing.assert_allclose(panel.plot.noise_line.get_ydata(), 1 - abar)
    assert list(panel.plot.t_marker.get_xdata()) == [0.75, 0.75]          # t / T
    np.testing.assert_allclose(panel.plot.signal_line.get_xdata(), np.arange(1000) / 1000)
    assert "\u0101_750 = 0.143" in panel.plot.curve_ax.get_title()
    shown = np.asarray(panel.plot.image.get_array())
    np.testing.assert_allclose(shown, schedule_plots.side_by_side(x_t, result.final))
    assert f"{abar[750]:.4g}" in panel.summary.value
    assert f"{result.rms_error:.4g}" in panel.summary.value
    assert "cosine" in panel.alt_text.value


def test_oracle_recovers_and_bias_shows_telescoped_error(panel):
    assert panel.set(kind="linear", T=1000, t=999, steps=10, predictor="true noise", bias=0.0)
    assert "final RMS error = " in panel.summary.value
    oracle = _expected("linear", 1000, 999, 10)[2]
    assert oracle.rms_error < 1e-10
    assert panel.set(bias=0.01)
    abar = schedules.alphas_cumprod(schedules.beta_schedule("linear"))
    factor = schedules.constant_bias_error_factor(abar, 999)
    assert f"final RMS error = {0.01 * factor:.4g}" in panel.summary.value


def test_first_ddim_coefficients_shown(panel):
    assert panel.set(kind="scaled_linear", T=1000, t=999, steps=3, predictor="true noise", bias=0.0)
    abar = schedules.alphas_cumprod(schedules.beta_schedule("scaled_linear"))
    c = schedules.ddim_coefficients(999, 666, abar)
    assert f"a = {c.a:.4g}" in panel.summary.value and f"b = {c.b:.4g}" in panel.summary.value


def test_static_background_is_baked_and_titles_stay_visible(panel):
    assert panel.set(**W.DEFAULTS)
    assert panel.plot.background is not None and panel.plot.background.full_draws >= 1
    title = panel.plot.curve_ax.title
    assert title.get_visible() and title.get_position()[1] == 1.0


def test_smaller_T_changes_curve_length(panel):
    assert panel.set(kind="linear", T=50, t=20, steps=5, predictor="reads x_t", bias=0.02)
    assert len(panel.plot.signal_line.get_xdata()) == 50
    abar, _, result = _expected("linear", 50, 20, 5, predictor="reads x_t", bias=0.02)
    assert f"{result.rms_error:.4g}" in panel.summary.value


@pytest.mark.parametrize("values, word", [
    ({"T": 0}, "T must be >= 1"),
    ({"T": 2.5}, "T must be a whole number"),
    ({"t": -1}, "t must be >= 0"),
    ({"steps": 0}, "steps must be >= 1"),
])
def test_the_package_refuses_what_the_sliders_cannot_reach(values, word):
    with pytest.raises(ValueError, match=word):
        W.compute({**W.DEFAULTS, **values})


def test_bench_settings_are_valid_and_render_from_scratch(panel):
    for values in W.BENCH_SETTINGS:
        assert panel.set(**values), panel.error
        kind, abar, t, x_t, result = W.compute(values)
        np.testing.assert_allclose(panel.plot.signal_line.get_ydata(), abar)
        np.testing.assert_allclose(np.asarray(panel.plot.image.get_array()),
                                   schedule_plots.side_by_side(x_t, result.final))
        assert f"RMS error {result.rms_error:.3g}" in panel.alt
