"""Chapter 12's figures of the pass through the trained toy MGIE: titled, labelled, drawn from the trace."""

import numpy as np
import pytest

from mgie_lessons import end_to_end, toy_mgie
from mgie_lessons.plots import end_to_end as plots


@pytest.fixture(scope="module")
def run():
    model = toy_mgie.load_pretrained()
    example = end_to_end.held_out_example()
    return model, example, toy_mgie.trace_pass(model, example.image, example.instruction)


def _titled_and_labelled(figure):
    for ax in figure.axes:
        if ax.get_label() == "<colorbar>":
            continue
        assert ax.get_title(), "every axes has a title"
        assert ax.get_xlabel() and ax.get_ylabel(), f"axes {ax.get_title()!r} has labelled axes"


def test_short_token_shortens_only_patches():
    assert plots.short_token("<patch 12>") == "p12"
    assert plots.short_token("<sep>") == "<sep>"


def test_every_figure_is_titled_and_labelled(run):
    model, example, trace = run
    teacher = end_to_end.teacher_forced_tokens(model, example)
    figures = [
        plots.patches_figure(example.image, trace.patch_tokens, model.config.patch),
        plots.sequence_attention_figure(end_to_end.mean_attention_map(trace, 0), trace.sequence, 0),
        plots.generation_figure(end_to_end.generated_tokens(trace), trace.token_probabilities, teacher.tokens),
        plots.condition_figure(trace.edit_head_input, trace.edit.U[0]),
        plots.edit_loss_figure([10, 500], np.array([[0.1, 0.2], [0.3, 0.4]])),
        plots.result_figure(example.image, trace.edit.edited[0], example.target, example.region),
    ]
    for figure in figures:
        _titled_and_labelled(figure)


def test_generation_bars_are_the_probabilities_and_mark_wrong_words():
    figure = plots.generation_figure(["a", "b", "c"], [0.9, 0.4, 1.0], ["a", "x", "c"])
    bars = figure.axes[0].patches
    assert [round(b.get_height(), 6) for b in bars] == [0.9, 0.4, 1.0]
    colours = [b.get_facecolor() for b in bars]
    assert colours[0] == colours[2] != colours[1]


def test_attention_figure_shows_the_map_with_one_label_per_position(run):
    _, _, trace = run
    weights = end_to_end.mean_attention_map(trace, 1)
    figure = plots.sequence_attention_figure(weights, trace.sequence, 1)
    ax = figure.axes[0]
    assert np.allclose(ax.images[0].get_array(), weights)
    assert [t.get_text() for t in ax.get_xticklabels()][:2] == ["p0", "p1"]
    assert "layer 2" in ax.get_title()


def test_edit_loss_figure_draws_the_mean_over_draws():
    losses = np.array([[0.1, 0.3], [0.2, 0.6]])
    figure = plots.edit_loss_figure([10, 900], losses)
    line = figure.axes[0].lines[0]
    assert np.allclose(line.get_ydata(), [0.2, 0.4])
    assert figure.axes[0].get_yscale() == "log"
