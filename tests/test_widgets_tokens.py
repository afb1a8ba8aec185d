"""Tests for chapter 1's widget panel (mgie_lessons.widgets.tokens)."""

import html

import numpy as np
import pytest

from mgie_lessons import walkthrough, tokens
from mgie_lessons.widgets import tokens as wt


def shown(widget) -> str:
    """The text a reader sees in an HTML/HTMLMath widget (entities decoded)."""
    return html.unescape(widget.value)


@pytest.fixture(scope="module")
def shared_panel():
    return wt.make_panel()


@pytest.fixture
def panel(shared_panel):
    assert shared_panel.set(**wt.default_values())
    return shared_panel


def test_starts_on_the_seed(panel):
    assert panel.error is None
    assert panel.image.value[:8] == b"\x89PNG\r\n\x1a\n"
    assert "10 tokens, 9 distinct words; X is 10 \u00d7 2." in shown(panel.summary)
    _, X = tokens.embed(walkthrough.INSTRUCTION)
    np.testing.assert_allclose(panel.tokens_figure.image.get_array()[:10], X)
    assert np.ma.getmaskarray(panel.tokens_figure.image.get_array()[10:]).all()
    latex = shown(panel.latex)
    assert r"\text{7 person}" in latex and r"\text{10 image}" in latex
    assert r"0.3 & 0.3 \\ 0.1 & 0.2 \\ 0.2 & 0.2 \\ 0.3 & 0.1 \end{array}" in latex  # rows 7-10


def test_editing_a_word_changes_every_row_that_uses_it(panel):
    before = panel.image.value
    assert panel.set(e_the="0.5, -0.25")
    array = panel.tokens_figure.image.get_array()
    table = dict(walkthrough.EMBEDDING_TABLE, the=(0.5, -0.25))
    _, X = tokens.embed(walkthrough.INSTRUCTION, table)
    np.testing.assert_allclose(array[:10], X)
    np.testing.assert_allclose(array[5], [0.5, -0.25])
    np.testing.assert_allclose(array[8], [0.5, -0.25])
    latex = shown(panel.latex)
    assert r"0.3 & 0.3 \\ 0.1 & 0.2 \\ 0.5 & -0.25 \\ 0.3 & 0.1" in latex  # rows 7-10: row 9 moved
    assert latex.count("0.5 & -0.25") == 2
    assert panel.image.value != before


def test_a_new_instruction_changes_rows_labels_and_summary(panel):
    assert panel.set(instruction="the person in the blue hat")
    words, X = tokens.embed("the person in the blue hat")
    np.testing.assert_allclose(panel.tokens_figure.image.get_array()[:6], X)
    assert np.ma.getmaskarray(panel.tokens_figure.image.get_array()[6:]).all()
    assert panel.tokens_figure.row_labels.get_text().split("\n")[:6] == [
        f"{i + 1} {w}" for i, w in enumerate(words)]
    assert "6 tokens, 5 distinct words; X is 6 \u00d7 2." in shown(panel.summary)


def test_unknown_word_message_names_the_known_words(panel):
    assert not panel.set(instruction="Add a red hat")
    assert "known words" in panel.error and "person" in panel.error


def test_unk_mode_gives_the_zero_row(panel):
    assert panel.set(instruction="Add a red hat", unknown="unk")
    np.testing.assert_array_equal(panel.tokens_figure.image.get_array()[2], [0.0, 0.0])
    latex = shown(panel.latex)
    assert r"0.2 & 0.1 \\ 0 & 0 \\ 0.3 & 0.2" in latex and r"\text{3 red}" in latex


def test_recovers_after_an_error(panel):
    assert not panel.set(e_a="x")
    assert panel.set(e_a="0.9, 0.9")
    assert panel.error is None and panel.message.value == ""
    np.testing.assert_allclose(panel.tokens_figure.image.get_array()[1], [0.9, 0.9])


def test_labelled_latex_shows_exact_fractions_and_checks_labels():
    latex = wt.labelled_matrix_latex("E", ["Add"], tokens.exact_embedding_matrix(["Add"]))
    assert r"\frac{1}{10} & \frac{1}{5}" in latex and r"\text{Add}" in latex
    with pytest.raises(ValueError, match="labels"):
        wt.labelled_matrix_latex("E", ["Add", "a"], np.zeros((1, 2)))


def test_latex_escapes_special_characters():
    latex = wt.x_latex(["50%_off"], np.array([[0.0, 1.0]]))
    assert r"\text{1 50\%\_off}" in latex


def test_bench_settings_are_valid_and_complete(panel):
    for values in wt.BENCH_SETTINGS:
        assert set(values) == set(panel.controls)
        assert panel.set(**values), panel.error
        table = {word: [float(v) for v in values[wt.control_name(word)].split(",")] for word in wt.WORDS}
        words, X = tokens.embed(values["instruction"], table)
        np.testing.assert_allclose(panel.tokens_figure.image.get_array()[:len(words)], X)
        assert panel.tokens_figure.row_labels.get_text().split("\n")[:len(words)] == [
            f"{i + 1} {w}" for i, w in enumerate(words)]
        assert f"{len(words)} rows" in panel.alt
        assert all(f"{i + 1} {w} ({x[0]:.3g}, {x[1]:.3g})" in panel.alt for i, (w, x) in enumerate(zip(words, X)))


def test_render_from_scratch_rejects_bad_values():
    values = dict(wt.BENCH_SETTINGS[0], instruction="")
    with pytest.raises(ValueError, match="instruction is empty"):
        wt.render_from_scratch(values)


def test_update_is_in_place(panel):
    figure = panel.figure
    image_artist = panel.tokens_figure.image
    panel.set(**wt.BENCH_SETTINGS[3])
    assert panel.figure is figure and panel.tokens_figure.image is image_artist
