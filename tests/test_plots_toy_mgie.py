"""Chapter 14's figures: each is drawn from the package's numbers, with a title and labelled axes."""

import numpy as np
import pytest

from mgie_lessons import toy_edits, toy_mgie
from mgie_lessons.plots import toy_mgie as plots
from mgie_lessons.plots.common import figure_png


@pytest.fixture(scope="module")
def tiny():
    return toy_mgie.train(toy_mgie.TINY_CONFIG, seed=0, steps=3, progress=False)


@pytest.fixture(scope="module")
def examples():
    return toy_edits.make_dataset(3, 21, "heldout")


def _drawn(figure):
    assert figure_png(figure)[:4] == b"\x89PNG"
    titles = [ax.get_title() for ax in figure.axes] + [figure._suptitle.get_text() if figure._suptitle else ""]
    assert any(titles)
    return figure


def test_rule_figure_marks_exactly_the_heldout_pairs():
    figure = _drawn(plots.rule_figure())
    ax = figure.axes[0]
    labels = [t.get_text() for t in ax.texts]
    assert labels.count("held out") == len(toy_edits.heldout_combinations()) == 6
    assert ax.get_xlabel() and ax.get_ylabel()
    assert [t.get_text() for t in ax.get_xticklabels()] == list(toy_edits.COLOURS)


def test_examples_figure_shows_inputs_and_targets(examples):
    figure = _drawn(plots.examples_figure(examples, title="examples"))
    shown = [ax.images[0].get_array() for ax in figure.axes]
    assert np.allclose(shown[0], examples[0].image) and np.allclose(shown[len(examples)], examples[0].target)
    assert examples[1].expressive.split()[-1] in figure.axes[len(examples) + 1].get_xlabel()
    with pytest.raises(ValueError, match="examples"):
        plots.examples_figure([], title="none")


def test_model_figure_counts_every_weight(tiny):
    counts = plots.block_parameter_counts(tiny)
    assert sum(counts.values()) == toy_mgie.parameter_count(tiny.params)
    figure = _drawn(plots.model_figure(tiny))
    texts = " ".join(t.get_text() for t in figure.axes[0].texts)
    for key, count in counts.items():
        assert f"{count:,} weights" in texts
    for chapter in (1, 2, 3, 4, 5, 8, 9, 10):
        assert f"{chapter}" in texts
    assert f"{toy_mgie.parameter_count(tiny.params):,}" in figure.axes[0].get_title()


def test_moving_average():
    assert np.allclose(plots.moving_average([1, 2, 3, 4], 2), [1, 1.5, 2.5, 3.5])
    assert np.allclose(plots.moving_average([5.0], 10), [5.0])
    with pytest.raises(ValueError, match="values"):
        plots.moving_average([], 3)


def test_training_curves_plot_the_history(tiny):
    figure = _drawn(plots.training_curves_figure(tiny.history, title="tiny run"))
    assert np.allclose(figure.axes[0].lines[0].get_ydata(), tiny.history["l_ins"])
    assert np.allclose(figure.axes[1].lines[0].get_ydata(), tiny.history["l_edit"])
    assert all(ax.get_xlabel() and ax.get_ylabel() for ax in figure.axes)
    with pytest.raises(ValueError, match="history"):
        plots.training_curves_figure({}, title="none")


def test_snr_figure_is_eps_loss_weight(tiny):
    figure = _drawn(plots.snr_figure(tiny.alphas_cumprod))
    line = figure.axes[0].lines[0]
    assert np.allclose(line.get_ydata(), toy_mgie.eps_loss_weight(np.arange(1000), tiny.alphas_cumprod))


def test_edit_figures(tiny, examples):
    evaluation = toy_mgie.evaluate(tiny, examples, steps=2)
    figure = _drawn(plots.gallery_figure(examples, evaluation, [0, 2], title="gallery"))
    assert np.allclose(figure.axes[4 + 1].images[0].get_array(), np.clip(evaluation.edited[2], 0, 1))
    trace = toy_mgie.edit_trace(tiny, examples[0].image, examples[0].instruction, steps=4)
    figure = _drawn(plots.denoising_figure(trace, shown=3))
    assert np.allclose(figure.axes[-2].images[0].get_array(), trace.states[-1, 0])
    figure = _drawn(plots.attention_figure(trace, examples[0].image))
    assert np.allclose(figure.axes[0].images[0].get_array(), trace.head_maps[0].mean(axis=0))
    grid = np.stack([np.stack([examples[0].image] * 3)] * 2)
    figure = _drawn(plots.guidance_grid_figure(grid, (1, 1.5), (1, 3, 7.5), rates=[[0.1] * 3, [0.2] * 3], count=7))
    assert "7 held-out" in figure._suptitle.get_text() and figure.axes[3].get_title() == "20% succeed"
    with pytest.raises(ValueError, match="images"):
        plots.guidance_grid_figure(grid, (1,), (1, 3, 7.5))
    figure = _drawn(plots.edit_figure(examples[0].image, trace.edited[0], examples[0].target, title="edit"))
    assert len(figure.axes) == 3
