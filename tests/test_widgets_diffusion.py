"""The chapter 5 panel recomputes with the package, moves the existing line, and reports bad input."""

import html

import numpy as np
import pytest

from mgie_lessons import diffusion, walkthrough
from mgie_lessons.widgets import diffusion as panel_module
from widget_checks import assert_shows_cleanly


@pytest.fixture(scope="module")
def shared_panel():
    return panel_module.make_panel()


@pytest.fixture
def panel(shared_panel):
    assert shared_panel.set(**panel_module.DEFAULTS)
    return shared_panel


def _line(panel):
    return panel.figure.axes[0].lines[0]


def _summary(panel):
    return html.unescape(panel.outputs[0].value)


def test_default_panel_shows_the_seed(panel):
    assert_shows_cleanly(panel)
    x, y = _line(panel).get_data()
    assert list(x) == [3, 2, 1, 0]
    assert np.allclose(y, [0.6, 0.54, 0.50, 0.48])   # worked out by hand in the chapter
    text = _summary(panel)
    assert "z0 = 0.48" in text.replace("<sub>", "").replace("</sub>", "")
    assert "\u2212 I = -0.02" in text


def test_changing_eta_moves_the_same_line(panel):
    line, before = _line(panel), panel.image.value
    assert panel.set(eta=0.0833333333)
    assert _line(panel) is line                         # the artist was mutated, not replaced
    assert len(panel.figure.axes[0].lines) == 2         # z_t line + clean-value line, nothing added
    assert _line(panel).get_data()[1][-1] == pytest.approx(0.5)
    assert panel.image.value != before


def test_T_and_rule_change_the_trajectory_as_the_package_says(panel):
    assert panel.set(T=5, eta=0.3, rule="constant", c=0.05)
    expected = diffusion.denoise(0.6, 0.3, 5, diffusion.constant_noise_rule(0.05)).trajectory
    x, y = _line(panel).get_data()
    assert list(x) == [5, 4, 3, 2, 1, 0]
    assert np.allclose(y, expected)
    assert panel.set(rule="linear", c=0.1, T=2, eta=1.0)
    assert np.allclose(_line(panel).get_data()[1], [0.6, 0.4, 0.3])   # 0.6 - 0.2, then - 0.1


def test_clean_line_and_image_follow_I(panel):
    assert panel.set(image=0.2, noise=-0.1)
    clean = panel.figure.axes[0].lines[1]
    assert list(clean.get_ydata()) == [0.2, 0.2]
    assert _line(panel).get_data()[1][0] == pytest.approx(0.1)


def test_seed_rule_ignores_c(panel):
    assert panel.set(c=0.99)
    assert np.allclose(_line(panel).get_data()[1], [0.6, 0.54, 0.50, 0.48])


@pytest.mark.parametrize("values, phrase", [
    ({"T": 0}, "T must be >= 1"),
    ({"T": 2.5}, "T must be a whole number"),
    ({"T": panel_module.MAX_STEPS + 1}, "T must be <="),
    ({"eta": -0.1}, "eta must be >= 0"),
    ({"image": float("nan")}, "NaN"),
    ({"rule": "quadratic"}, "rule must be one of"),
])
def test_the_package_refuses_what_the_sliders_cannot_reach(values, phrase):
    with pytest.raises(ValueError, match=phrase):
        panel_module.summary_text({**panel_module.DEFAULTS, **values})


def test_bench_settings_show_the_package_trajectory(panel):
    for values in panel_module.BENCH_SETTINGS:
        assert panel.set(**values), panel.error
        c = values["c"] if values["rule"] != "seed" else walkthrough.NOISE_SLOPE
        expected = diffusion.denoise(values["image"] + values["noise"], values["eta"], values["T"],
                                     panel_module.noise_rule(values["rule"], c))
        np.testing.assert_allclose(_line(panel).get_data()[1], expected.trajectory)
        assert list(panel.figure.axes[0].lines[1].get_ydata()) == [values["image"]] * 2


def test_unknown_rule_is_a_message():
    with pytest.raises(ValueError, match="rule must be one of"):
        panel_module.noise_rule("quadratic", 0.1)


def test_summary_text_matches_the_package():
    text = panel_module.summary_text(panel_module.BENCH_SETTINGS[0])
    budget = diffusion.noise_budget(walkthrough.IMAGE_VALUE, walkthrough.NOISE_VALUE, walkthrough.ETA, walkthrough.T,
                                    diffusion.linear_noise_rule(walkthrough.NOISE_SLOPE))
    assert f"{budget.removed:.4g}" in text


def test_updates_do_not_add_artists(panel):
    counts = (len(panel.figure.artists), len(panel.figure.axes), len(panel.figure.axes[0].lines))
    for values in panel_module.BENCH_SETTINGS:
        panel.set(**values)
    assert (len(panel.figure.artists), len(panel.figure.axes), len(panel.figure.axes[0].lines)) == counts
    assert counts[0] == 0          # the cached background is pixels, not an artist of the figure


def test_alt_text_follows_the_figure(panel):
    assert panel.set(eta=0.3, T=5)
    assert "t = 5 down to 0" in panel.alt and "t = 5 down to 0" in html.unescape(panel.alt_text.value)
    assert_shows_cleanly(panel)
