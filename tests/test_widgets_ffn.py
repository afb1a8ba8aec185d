"""Tests for the chapter 3 widget panel (mgie_lessons.widgets.ffn)."""

import numpy as np
import pytest

from mgie_lessons import ffn, pipeline, walkthrough
from mgie_lessons.widgets import ffn as widget
from mgie_lessons.widgets.panel import parse_matrix


@pytest.fixture(scope="module")
def shared_panel():
    return widget.make_panel()


@pytest.fixture
def panel(shared_panel):
    assert shared_panel.set(**widget.DEFAULTS)
    return shared_panel


def shown_strip(panel):
    return np.array(panel.ffn_figure.image.get_array().filled(np.nan))


def test_initial_panel_shows_the_seed_ffn(panel):
    assert panel.error is None
    assert bytes(panel.image.value).startswith(b"\x89PNG")
    X = pipeline.seed_ffn_input("computed")
    result = ffn.feed_forward(X, walkthrough.W1, walkthrough.B1, walkthrough.W2, walkthrough.B2)
    # the table shows the first token's F row, computed by the package
    assert f"{result.output[0, 0]:.4f}, {result.output[0, 1]:.4f}" in panel.summary.value
    assert "ReLU set <b>0</b> of 20" in panel.summary.value
    assert "rank of Z = <b>1</b>" in panel.summary.value


def test_negative_w1_makes_relu_act(panel):
    figure_before = panel.figure
    image_before = bytes(panel.image.value)
    assert panel.set(W1="-1, -1; -1, -1")
    X = pipeline.seed_ffn_input("computed")
    result = ffn.feed_forward(X, -np.ones((2, 2)), walkthrough.B1, walkthrough.W2, walkthrough.B2)
    zeroed = int((result.pre_activation < 0).sum())
    assert zeroed == 20                                   # 0.1 - (x1 + x2) < 0 for every token
    assert f"ReLU set <b>{zeroed}</b> of 20" in panel.summary.value
    assert "0.1000, 0.1000" in panel.summary.value          # F = b2 when Z = 0
    assert bytes(panel.image.value) != image_before
    assert panel.figure is figure_before                  # updated in place, not re-created
    assert panel.ffn_figure.title.get_text() == "ReLU zeroed 20 of 20 in P"


def test_strip_shows_each_matrix_scaled(panel):
    panel.set(source="printed", W1="0.2, -0.2; 0.2, -0.2", b1="0, 0")
    X = pipeline.seed_ffn_input("printed")
    result = ffn.feed_forward(X, [[0.2, -0.2], [0.2, -0.2]], [0, 0], walkthrough.W2, walkthrough.B2)
    strip = shown_strip(panel)
    Z = result.pre_activation
    np.testing.assert_allclose(strip[:, 3:5], Z / np.abs(Z).max())
    # the second hidden unit is ReLU of a negative number: 0 everywhere
    np.testing.assert_allclose(strip[:, 7], 0.0)
    assert np.isnan(strip[:, 2]).all()


def test_input_dropdown_switches_between_printed_and_computed(panel):
    panel.set(source="printed")
    assert "0.2000, 0.1700" in panel.summary.value          # the seed's printed row 1
    panel.set(source="computed")
    assert "0.2000, 0.1700" not in panel.summary.value


def test_bench_settings_show_the_package_result(panel):
    for settings in widget.BENCH_SETTINGS:
        assert panel.set(**settings), panel.error
        for name in ("W1", "W2"):
            parse_matrix(settings[name], name, shape=(2, 2))
        X, result = widget.compute(settings)
        strip = shown_strip(panel)
        for block, matrix in enumerate((X, result.pre_activation, result.hidden, result.output)):
            largest = np.abs(matrix).max()
            np.testing.assert_allclose(strip[:, 3 * block:3 * block + 2], matrix / largest if largest else matrix)
        zeroed = int(ffn.zeroed_by_relu(result.pre_activation).sum())
        assert panel.ffn_figure.title.get_text() == f"ReLU zeroed {zeroed} of 20 in P"
        assert f"ReLU set {zeroed} of the 20 entries" in panel.alt
        assert f"{result.output.max():.4f}" in panel.alt


def test_title_stays_on_the_figure(panel):
    panel.set(W1="-1, -1; -1, -1")
    figure = panel.figure
    box = panel.ffn_figure.title.get_window_extent(figure.canvas.get_renderer())
    assert 0 <= box.y0 and box.y1 <= figure.bbox.height
