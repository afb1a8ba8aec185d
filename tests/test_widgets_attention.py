"""Tests for the chapter 2 panel (mgie_lessons.widgets.attention) and its figures."""


import numpy as np
import pytest

from mgie_lessons import attention, printed, walkthrough, tokens
from mgie_lessons.plots import attention as plots
from mgie_lessons.widgets import attention as widget
from widget_checks import assert_shows_cleanly

TOKENS, X = tokens.embed(walkthrough.INSTRUCTION)
I2 = np.eye(2)


@pytest.fixture(scope="module")
def panel():
    return widget.make_panel()


@pytest.fixture(autouse=True)
def reset(panel):
    panel.set(**widget.BENCH_SETTINGS[0])
    yield


def test_initial_panel_shows_the_seed(panel):
    expected = attention.self_attention(X, walkthrough.W_Q, walkthrough.W_K, walkthrough.W_V)
    assert panel.error is None
    assert bytes(panel.image.value).startswith(b"\x89PNG")
    np.testing.assert_allclose(panel.heatmap.values, expected.weights)
    assert f"{expected.output[0, 0]:.3f} & {expected.output[0, 1]:.3f}" in panel.text.value
    assert panel.result is not None


def test_changing_the_weights_updates_heatmap_text_and_image(panel):
    before = panel.image.value
    assert panel.set(W_q="10, 0; 0, 10", W_k="10, 0; 0, 10")
    expected = attention.self_attention(X, 10 * I2, 10 * I2, I2)
    np.testing.assert_allclose(panel.heatmap.values, expected.weights)
    assert panel.image.value != before
    assert f"{expected.output[3, 0]:.3f} & {expected.output[3, 1]:.3f}" in panel.text.value
    spread = attention.weight_spread(expected.weights)
    assert f"{spread.largest_weight:.3f}" in panel.text.value


def test_causal_mask_zeroes_the_upper_triangle(panel):
    assert panel.set(causal=True)
    assert np.all(np.triu(panel.heatmap.values, k=1) == 0)
    expected = attention.self_attention(X, I2, I2, I2, causal=True)
    np.testing.assert_allclose(panel.heatmap.values, expected.weights)


def test_scaling_and_temperature(panel):
    assert panel.set(scale=False, temperature=0.25)
    expected = attention.self_attention(X, I2, I2, I2, scale=False, temperature=0.25)
    np.testing.assert_allclose(panel.heatmap.values, expected.weights)
    assert panel.result.scaled_scores == pytest.approx(expected.scaled_scores)


def test_alt_text_states_the_settings_and_the_weights(panel):
    assert panel.set(temperature=0.05, causal=True)
    expected = attention.self_attention(X, I2, I2, I2, causal=True, temperature=0.05)
    spread = attention.weight_spread(expected.weights, causal=True)
    assert "temperature 0.05" in panel.alt and "with the causal mask" in panel.alt
    assert f"largest weight is {spread.largest_weight:.3f}" in panel.alt
    hat = TOKENS.index("hat")
    assert f"{expected.weights[hat].max():.3f}" in panel.alt
    assert_shows_cleanly(panel)


def test_the_package_refuses_a_temperature_of_zero():
    with pytest.raises(ValueError, match="temperature must be > 0"):
        attention.self_attention(X, I2, I2, I2, temperature=0.0)


def test_bench_settings_are_valid_and_distinct(panel):
    pictures = set()
    for settings in widget.BENCH_SETTINGS:
        assert panel.set(**settings), panel.error
        token_list, expected = widget.compute(settings)
        np.testing.assert_allclose(panel.heatmap.values, expected.weights)
        pictures.add(bytes(panel.image.value))
    assert len(pictures) == len(widget.BENCH_SETTINGS)


def test_fast_heatmap_rejects_a_new_shape(panel):
    with pytest.raises(ValueError, match="weights must keep shape"):
        panel.heatmap.update(np.zeros((3, 3)))


def test_figures_have_titles_and_labelled_axes():
    result = attention.self_attention(X, I2, I2, I2, causal=True)
    c = printed.compare_printed(walkthrough.PRINTED_QK_T, X @ X.T)
    figures = [
        plots.idea_figure(),
        plots.causal_weights_figure(result.weights, TOKENS),
        plots.exp_linearity_figure(result.scaled_scores),
        plots.sharpness_figure(X, [0.1, 1.0]),
        plots.printed_shapes_figure({"QK^T": c}),
        plots.difference_heatmap(c, title="QK^T printed - computed"),
        plots.row_sums_figure({"printed": printed.printed_row_sums(walkthrough.PRINTED_ATTENTION_WEIGHTS)}, TOKENS),
    ]
    for figure in figures:
        for ax in figure.axes:
            if not ax.get_visible() or ax.get_label() == "<colorbar>":
                continue
            assert ax.get_title(), figure
            assert ax.get_xlabel() and ax.get_ylabel()
