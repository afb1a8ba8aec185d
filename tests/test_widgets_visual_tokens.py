"""Tests for the chapter 4 widget panel (mgie_lessons.widgets.visual_tokens)."""

import re

import numpy as np
import pytest

from mgie_lessons import walkthrough, tokens
from mgie_lessons import visual_tokens as vt
from mgie_lessons.widgets import visual_tokens as widget


@pytest.fixture(scope="module")
def shared_panel():
    return widget.make_panel()


@pytest.fixture
def panel(shared_panel):
    assert shared_panel.set(**widget.DEFAULTS)
    return shared_panel


def expected_head(m, q, seed=0):
    words, X = tokens.embed(walkthrough.INSTRUCTION)
    token_pass = vt.image_token_pass(X, vt.image_token_embeddings(m), walkthrough.W_Q, walkthrough.W_K, walkthrough.W_V,
                                     walkthrough.W1, walkthrough.B1, walkthrough.W2, walkthrough.B2, words=words)
    return vt.toy_edit_head(token_pass.edit_head_input, n_queries=q, d_out=3, seed=seed)


def test_initial_panel(panel):
    assert panel.error is None
    assert bytes(panel.image.value).startswith(b"\x89PNG")
    assert "U has shape <b>6 x 3</b>" in panel.summary.value
    assert "77 x 768" in panel.summary.value
    head = expected_head(4, 6)
    np.testing.assert_allclose(panel.edit_head_figure.weights.image.get_array(), head.attention.weights)


def test_changing_tokens_and_queries_resizes_the_map(panel):
    figure_before = panel.figure
    image_before = bytes(panel.image.value)
    assert panel.set(n_tokens=8, n_queries=12)
    head = expected_head(8, 12)
    shown = np.asarray(panel.edit_head_figure.weights.image.get_array())
    assert shown.shape == (12, 8)
    np.testing.assert_allclose(shown, head.attention.weights)
    np.testing.assert_allclose(panel.edit_head_figure.output.image.get_array(), head.output)
    assert "U has shape <b>12 x 3</b>" in panel.summary.value
    assert f"<td>{head.attention.weights[11, 7]:.3f}</td>" in panel.summary.value
    assert panel.edit_head_figure.weights.ax.get_title() == "weights: 12 queries x 8 [IMG]"
    assert panel.edit_head_figure.weights.ax.get_xlim() == (-0.5, 7.5)
    assert bytes(panel.image.value) != image_before
    assert panel.figure is figure_before


def test_one_token_gives_weight_one_and_identical_rows(panel):
    assert panel.set(n_tokens=1)
    weights = np.asarray(panel.edit_head_figure.weights.image.get_array())
    np.testing.assert_allclose(weights, 1.0)
    assert "differ by at most 0.000" in panel.summary.value


def test_seed_changes_the_queries(panel):
    panel.set(seed=0)
    first = np.array(panel.edit_head_figure.weights.image.get_array())
    panel.set(seed=3)
    second = np.array(panel.edit_head_figure.weights.image.get_array())
    assert not np.allclose(first, second)
    np.testing.assert_allclose(second, expected_head(4, 6, 3).attention.weights)


@pytest.mark.parametrize("values, words", [
    (dict(n_tokens=0), "[IMG] tokens m must be >= 1"),
    (dict(n_tokens=9), "must be <= 8"),
    (dict(n_queries=0), "queries q must be >= 1"),
    (dict(n_queries=17), "must be <= 16"),
])
def test_the_package_refuses_what_the_sliders_cannot_reach(values, words):
    with pytest.raises(ValueError, match=re.escape(words)):
        widget.compute({**widget.DEFAULTS, **values})


def test_bench_settings_show_the_package_result(panel):
    for settings in widget.BENCH_SETTINGS:
        assert panel.set(**settings), panel.error
        head = expected_head(settings["n_tokens"], settings["n_queries"], settings["seed"])
        np.testing.assert_allclose(panel.edit_head_figure.weights.image.get_array(), head.attention.weights)
        np.testing.assert_allclose(panel.edit_head_figure.output.image.get_array(), head.output)
        q, m = head.attention.weights.shape
        assert f"{q} queries (rows) over {m} [IMG] tokens" in panel.alt
        assert f"largest weight is {head.attention.weights.max():.3f}" in panel.alt


def test_titles_stay_on_the_figure(panel):
    panel.set(n_tokens=3, n_queries=9)
    figure = panel.figure
    renderer = figure.canvas.get_renderer()
    for heatmap in (panel.edit_head_figure.weights, panel.edit_head_figure.output):
        box = heatmap.ax.title.get_window_extent(renderer)
        assert 0 <= box.y0 and box.y1 <= figure.bbox.height
