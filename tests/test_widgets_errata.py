"""Chapter 7's panel shows printed - computed for the chosen matrices."""

import numpy as np
import pytest

from mgie_lessons import attention, ffn, seed, tokens
from mgie_lessons.widgets import errata as panel_module


@pytest.fixture()
def panel():
    return panel_module.make_panel()


def _true_weights():
    _, X = tokens.embed(seed.INSTRUCTION)
    return attention.self_attention(X, seed.W_Q, seed.W_K, seed.W_V).weights


def test_choosing_a_matrix_shows_its_difference(panel):
    before = panel.image.value
    assert panel.set(attention="softmax weights", ffn="FFN output")
    shown = [ax for ax in panel.figure.axes if ax.images][0].images[0].get_array()
    # Row 1, column 1 of the printed softmax is 0.076; the true weight is close to 1/10.
    assert shown[0, 0] == pytest.approx(0.076 - _true_weights()[0, 0])
    assert panel.image.value != before
    assert "softmax weights" in panel.outputs[0].value and "FFN output" in panel.outputs[0].value


def test_ffn_side_uses_the_true_ffn_output(panel):
    panel.set(ffn="FFN output")
    _, X = tokens.embed(seed.INSTRUCTION)
    H = attention.self_attention(X, seed.W_Q, seed.W_K, seed.W_V).output
    true_output = ffn.feed_forward(H, seed.W1, seed.B1, seed.W2, seed.B2).output
    heatmap_axes = [ax for ax in panel.figure.axes if ax.images]  # the two heatmaps, left to right
    shown = heatmap_axes[1].images[0].get_array()
    assert np.allclose(shown, np.asarray(seed.PRINTED_FFN_OUTPUT) - true_output)


def test_unknown_matrix_is_a_message_not_a_traceback(panel):
    image = panel.image.value
    panel.controls["attention"].options = [*panel_module.ATTENTION_MATRICES, "no such matrix"]
    assert not panel.set(attention="no such matrix")
    assert "matrix must be one of" in panel.error
    assert panel.image.value == image


def test_benchmark_hooks(panel):
    for values in panel_module.BENCH_SETTINGS:
        assert panel.set(**values)
    assert panel_module.render_from_scratch(panel_module.BENCH_SETTINGS[0])[:4] == b"\x89PNG"
