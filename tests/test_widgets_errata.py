"""Chapter 7's panel shows printed - computed for the chosen matrices."""

import numpy as np
import pytest

from mgie_lessons import attention, ffn, walkthrough, tokens
from mgie_lessons.widgets import errata as panel_module
from widget_checks import assert_shows_cleanly


@pytest.fixture(scope="module")
def panel():
    return panel_module.make_panel()


def _true_weights():
    _, X = tokens.embed(walkthrough.INSTRUCTION)
    return attention.self_attention(X, walkthrough.W_Q, walkthrough.W_K, walkthrough.W_V).weights


def _heatmaps(panel):
    """The two difference heatmaps' axes, left to right (colour bars have no images)."""
    return [ax for ax in panel.figure.axes if ax.images]


def test_choosing_a_matrix_shows_its_difference(panel):
    assert panel.set(**panel_module.BENCH_SETTINGS[0])
    before = panel.image.value
    assert panel.set(attention="softmax weights", ffn="FFN output")
    shown = _heatmaps(panel)[0].images[0].get_array()
    # Row 1, column 1 of the printed softmax is 0.076; the true weight is close to 1/10.
    assert shown[0, 0] == pytest.approx(0.076 - _true_weights()[0, 0])
    assert panel.image.value != before
    assert "softmax weights" in panel.outputs[0].value and "FFN output" in panel.outputs[0].value
    assert_shows_cleanly(panel)


def test_ffn_side_uses_the_true_ffn_output(panel):
    assert panel.set(attention="Q K^T", ffn="FFN output")
    _, X = tokens.embed(walkthrough.INSTRUCTION)
    H = attention.self_attention(X, walkthrough.W_Q, walkthrough.W_K, walkthrough.W_V).output
    true_output = ffn.feed_forward(H, walkthrough.W1, walkthrough.B1, walkthrough.W2, walkthrough.B2).output
    shown = _heatmaps(panel)[1].images[0].get_array()
    assert np.allclose(shown, np.asarray(walkthrough.PRINTED_FFN_OUTPUT) - true_output)


@pytest.mark.parametrize("values", panel_module.BENCH_SETTINGS)
def test_each_choice_shows_its_comparison_titles_and_alt_text(panel, values):
    assert panel.set(**values)
    wide, narrow = (panel_module.comparison_for(values[side]) for side in ("attention", "ffn"))
    left, right = _heatmaps(panel)
    np.testing.assert_array_equal(left.images[0].get_array().filled(np.nan), wide.difference)
    np.testing.assert_array_equal(right.images[0].get_array().filled(np.nan), narrow.difference)
    assert left.get_title() == values["attention"] and right.get_title() == values["ffn"]
    assert panel.figure.get_suptitle().startswith("printed - computed")
    assert f"{len(wide.disagreements)} of 100 entries differ" in panel.alt
    assert f"{len(narrow.disagreements)} of 20 differ" in panel.alt
    assert f"{narrow.max_abs_difference:.3f}" in panel.alt


def test_unknown_matrix_is_a_message_not_a_traceback(panel):
    panel.controls["attention"].options = [*panel_module.ATTENTION_MATRICES, "no such matrix"]
    image = panel.image.value           # (new options reset the dropdown to its first choice)
    try:
        assert not panel.set(attention="no such matrix")
        assert "matrix must be one of" in panel.error
        assert panel.image.value == image
    finally:
        panel.controls["attention"].options = list(panel_module.ATTENTION_MATRICES)
    assert panel.set(**panel_module.BENCH_SETTINGS[0]) and panel.error is None
