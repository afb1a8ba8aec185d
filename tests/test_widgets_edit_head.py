"""The chapter 10 panel recomputes U with the package, updates the same artists, reports bad input."""

import html

import numpy as np
import pytest

from mgie_lessons.edit_head import ChapterExample
from mgie_lessons.plots.edit_head import overlay_rgb
from mgie_lessons.widgets import edit_head as panel_module


@pytest.fixture(scope="module")
def default_example():
    return ChapterExample()


@pytest.fixture(scope="module")
def shared_panel():
    return panel_module.make_panel()


@pytest.fixture
def panel(shared_panel):
    assert shared_panel.set(**panel_module.DEFAULTS)
    return shared_panel


def _summary(panel):
    return html.unescape(panel.summary.value)


def test_default_panel_shows_U_and_row_0(panel, default_example):
    assert panel.error is None
    np.testing.assert_allclose(panel.view.U, default_example.output.U)
    np.testing.assert_allclose(panel.view.weights_map, default_example.attention_map(0))
    text = _summary(panel)
    assert "U has shape 77 x 12" in text
    assert ", ".join(f"{v:.3f}" for v in default_example.output.U[0]) in text
    assert panel.image.value[:4] == b"\x89PNG"


def test_changing_the_row_reads_another_column(panel, default_example):
    u_artist, map_artist, before = panel.view.u_image, panel.view.map_image, panel.image.value
    assert panel.set(row=38)
    assert panel.view.map_image is map_artist and panel.view.u_image is u_artist
    np.testing.assert_allclose(panel.view.weights_map, default_example.cross.weights[:, 38].reshape(8, 8))
    assert list(panel.view.row_line.get_ydata()) == [38, 38]
    np.testing.assert_allclose(panel.view.map_image.get_array(), overlay_rgb(default_example.attention_map(38)))
    weights_map = default_example.attention_map(38)
    assert f"max {weights_map.max():.4f}" in _summary(panel)
    assert panel.image.value != before


def test_changing_sizes_recomputes_the_edit_head(panel):
    assert panel.set(n_queries=20, d_out=6, n_heads=2, row=3)
    expected = ChapterExample(n_queries=20, d_out=6, n_heads=2)
    assert panel.view.u_image.get_array().shape == (20, 6, 3)
    np.testing.assert_allclose(panel.view.U, expected.output.U)
    np.testing.assert_allclose(panel.view.weights_map, expected.attention_map(3))
    assert panel.view.u_ax.get_ylim() == (19.5, -0.5)
    assert "U has shape 20 x 6" in _summary(panel)
    gap = np.abs(expected.output.U - expected.null.U).mean()
    assert f"mean |U - U_null| = {gap:.4f}" in _summary(panel)


def test_one_query_gives_weight_one_everywhere(panel):
    assert panel.set(n_queries=1, row=0)
    np.testing.assert_array_equal(panel.view.weights_map, np.ones((8, 8)))
    assert "min 1.0000, max 1.0000" in _summary(panel)


def test_only_heads_that_divide_d_model_are_offered(panel):
    assert panel.controls["n_heads"].options == panel_module.HEAD_CHOICES
    assert all(8 % heads == 0 for heads in panel_module.HEAD_CHOICES)
    with pytest.raises(ValueError, match="n_heads must divide d_model = 8"):
        ChapterExample(n_heads=3)


@pytest.mark.parametrize("kwargs, phrase", [
    ({"n_queries": 0}, "n_queries must be >= 1"),
    ({"d_out": 0}, "d_out must be >= 1"),
    ({"d_out": 2.5}, "d_out must be a whole number"),
])
def test_the_package_refuses_what_the_sliders_cannot_reach(kwargs, phrase):
    with pytest.raises(ValueError, match=phrase):
        ChapterExample(**kwargs)


def test_bench_settings_and_baseline(panel):
    for values in panel_module.BENCH_SETTINGS:
        assert panel.set(**values), panel.error
        example = ChapterExample(n_queries=values["n_queries"], d_out=values["d_out"], n_heads=values["n_heads"])
        np.testing.assert_allclose(panel.view.U, example.output.U)
        weights_map = example.attention_map(values["row"])
        np.testing.assert_allclose(panel.view.map_image.get_array(), overlay_rgb(weights_map))
        assert f"{weights_map.min():.3f} to {weights_map.max():.3f}" in panel.alt
        assert f"{example.output.U.shape[0]} rows by {example.output.U.shape[1]} columns" in panel.alt
    assert panel_module.render_from_scratch(panel_module.BENCH_SETTINGS[0])[:4] == b"\x89PNG"
