"""Tests for mgie_lessons.pipeline (chapter 0) and the introduction's figure."""

import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from mgie_lessons import pipeline, walkthrough
from mgie_lessons.plots import pipeline as plots
from mgie_lessons.plots.common import figure_png

ROOT = Path(__file__).resolve().parents[1]


def test_chapters_are_numbered_from_1_with_matching_files():
    assert [c.number for c in pipeline.CHAPTERS] == list(range(1, len(pipeline.CHAPTERS) + 1))
    for c in pipeline.CHAPTERS:
        assert c.notebook == f"{c.number:02d}_{c.module}.ipynb"
        assert c.title and c.computes


def test_chapter_modules_are_the_ones_the_brief_names_and_exist():
    modules = [c.module for c in pipeline.CHAPTERS]
    assert modules[:13] == ["tokens", "attention", "ffn", "visual_tokens", "diffusion", "losses", "errata",
                            "schedules", "guidance", "edit_head", "blending", "end_to_end", "learning"]
    for module in modules:
        assert importlib.util.find_spec(f"mgie_lessons.{module}") is not None, module


#: The pages of _toc.yml that are not chapters: the introduction (the root), the notation, the
#: instructor guide and the bibliography.
NON_CHAPTER_PAGES = ["book/00_introduction", "book/notation", "book/instructor_guide", "book/bibliography"]


def _toc_pages() -> list[str]:
    """Every page of _toc.yml in reading order: the root, then each part's chapters."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [toc["root"]] + [entry["file"] for part in toc["parts"] for entry in part["chapters"]]


def test_the_table_of_contents_lists_exactly_the_chapters_in_order():
    pages = _toc_pages()
    assert [p for p in pages if p not in NON_CHAPTER_PAGES] == [f"book/{c.page}" for c in pipeline.CHAPTERS]
    assert sorted(p for p in pages if p in NON_CHAPTER_PAGES) == sorted(NON_CHAPTER_PAGES)
    assert len(pages) == len(set(pages)) == len(pipeline.CHAPTERS) + len(NON_CHAPTER_PAGES)
    for page in pages:
        assert any((ROOT / page).with_suffix(suffix).exists() for suffix in (".ipynb", ".md")), page


def test_every_chapter_notebook_is_in_the_table_and_nothing_else():
    on_disk = sorted(p.name for p in (ROOT / "book").glob("[0-9][0-9]_*.ipynb") if p.stem != "00_introduction")
    assert on_disk == [c.notebook for c in pipeline.CHAPTERS]


def test_chapter_for_notebook():
    assert pipeline.chapter_for_notebook("02_attention.ipynb") is pipeline.chapter(2)
    assert pipeline.chapter_for_notebook("book/13_learning.ipynb").title == "How MGIE learns"
    assert pipeline.chapter_for_notebook(ROOT / "book" / "10_edit_head.ipynb").module == "edit_head"
    assert pipeline.chapter_for_notebook("07_errata").number == 7
    assert [pipeline.chapter_for_notebook(c.notebook) for c in pipeline.CHAPTERS] == list(pipeline.CHAPTERS)
    for bad in ("00_introduction.ipynb", "instructor_guide.ipynb", "02_attention.md", "14_more.ipynb", "", 2):
        with pytest.raises(ValueError, match="name"):
            pipeline.chapter_for_notebook(bad)


def test_chapter_lookup_and_its_errors():
    assert pipeline.chapter(10).module == "edit_head"
    assert pipeline.chapter(len(pipeline.CHAPTERS)) is pipeline.CHAPTERS[-1]
    for bad in (0, len(pipeline.CHAPTERS) + 1, 2.5, "3"):
        with pytest.raises(ValueError, match="number"):
            pipeline.chapter(bad)


def test_stages_follow_the_pipeline_order_and_name_valid_chapters():
    keys = [s.key for s in pipeline.STAGES]
    assert keys == ["instruction", "tokens", "embedding", "attention", "ffn", "visual_tokens",
                    "edit_head", "denoising", "edited_image"]
    for stage in pipeline.STAGES:
        assert stage.chapters and all(1 <= c <= 11 for c in stage.chapters)


def test_losses_attach_to_existing_stages_in_chapter_6():
    keys = {s.key for s in pipeline.STAGES}
    assert [loss.name for loss in pipeline.LOSSES] == ["L_ins", "L_edit"]
    for loss in pipeline.LOSSES:
        assert loss.stage in keys and loss.chapter == 6


def test_pipeline_figure_draws_every_stage_and_loss():
    figure = plots.pipeline_figure(dpi=50)
    ax = figure.axes[0]
    assert ax.get_title()
    texts = " ".join(t.get_text() for t in ax.texts)
    for stage in pipeline.STAGES:
        assert stage.title in texts
    for number in range(1, 12):
        if number == 7:
            continue  # the errata chapter computes no step of the pipeline
        assert f"{number}" in texts
    assert "ins" in texts and "edit" in texts
    assert figure_png(figure)[:4] == b"\x89PNG"


def test_pipeline_alt_mentions_every_stage():
    alt = plots.pipeline_alt()
    for stage in pipeline.STAGES:
        assert stage.title in alt
    assert "L_ins" in alt and "L_edit" in alt and "77 x 768" in alt


def test_introduction_table_matches_the_chapter_data():
    path = ROOT / "book" / "00_introduction.ipynb"
    cells = json.loads(path.read_text())["cells"]
    markdown = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    for c in pipeline.CHAPTERS:
        assert f"| {c.number}. [{c.title}]({c.notebook}) | `{c.module}.py` |" in markdown


def _fresh_seed_run():
    """The seed's pipeline rebuilt from the chapter modules, independently of the cache."""
    from mgie_lessons import attention, diffusion, ffn, tokens, visual_tokens
    words, X = tokens.embed(walkthrough.INSTRUCTION)
    attended = attention.self_attention(X, walkthrough.W_Q, walkthrough.W_K, walkthrough.W_V)
    fed = ffn.feed_forward(attended.output, walkthrough.W1, walkthrough.B1, walkthrough.W2, walkthrough.B2)
    passes = [visual_tokens.image_token_pass(X, visual_tokens.image_token_embeddings(m), walkthrough.W_Q,
                                             walkthrough.W_K, walkthrough.W_V, walkthrough.W1, walkthrough.B1,
                                             walkthrough.W2, walkthrough.B2, words=words) for m in (4, 8)]
    denoising = diffusion.denoise(diffusion.noisy_start(walkthrough.IMAGE_VALUE, walkthrough.NOISE_VALUE),
                                  walkthrough.ETA, walkthrough.T, diffusion.linear_noise_rule(walkthrough.NOISE_SLOPE))
    return pipeline.SeedRun(tuple(words), X, attended, attended.output, fed, fed.output, *passes, denoising)


def _arrays(value, prefix="run"):
    """(path, array) for every numpy array inside a (nested) dataclass."""
    import dataclasses
    if isinstance(value, np.ndarray):
        yield prefix, value
    elif dataclasses.is_dataclass(value):
        for field in dataclasses.fields(value):
            yield from _arrays(getattr(value, field.name), f"{prefix}.{field.name}")


def test_seed_run_equals_a_fresh_rebuild():
    cached, fresh = list(_arrays(pipeline.seed_run())), list(_arrays(_fresh_seed_run()))
    assert [path for path, _ in cached] == [path for path, _ in fresh]
    assert len(cached) > 25
    for (path, a), (_, b) in zip(cached, fresh):
        np.testing.assert_array_equal(a, b, err_msg=path)
    run = pipeline.seed_run()
    assert run.words == tuple(walkthrough.INSTRUCTION.split())
    assert run.H is run.attention.output and run.ffn_output is run.ffn.output
    assert run.denoising.final == _fresh_seed_run().denoising.final
    assert len(run.image_pass.img_embeddings) == 4 and len(run.img_states.img_embeddings) == 8


def test_seed_run_arrays_are_read_only():
    arrays = list(_arrays(pipeline.seed_run()))
    assert arrays
    for path, array in arrays:
        assert not array.flags.writeable, path
    with pytest.raises(ValueError, match="read-only"):
        pipeline.seed_run().H[0, 0] = 1.0


def test_seed_run_is_computed_once():
    assert pipeline.seed_run() is pipeline.seed_run()
    before = pipeline.seed_run.cache_info().hits
    pipeline.seed_run()
    assert pipeline.seed_run.cache_info().hits == before + 1


def test_seed_run_first_row_of_H_and_F_by_hand():
    run = pipeline.seed_run()
    X = np.array([[0.1, 0.2], [0.2, 0.1], [0.1, 0.3], [0.3, 0.2], [0.1, 0.3],
                  [0.2, 0.2], [0.3, 0.3], [0.1, 0.2], [0.2, 0.2], [0.3, 0.1]])
    np.testing.assert_allclose(run.X, X)
    weights = [math.exp((0.1 * a + 0.2 * b) / math.sqrt(2)) for a, b in X]
    row = [sum(w * x[k] for w, x in zip(weights, X)) / sum(weights) for k in range(2)]
    np.testing.assert_allclose(run.H[0], row, rtol=1e-12)
    hidden = max(0.0, 0.2 * (row[0] + row[1]) + 0.1)
    np.testing.assert_allclose(run.ffn_output[0], [0.3 * 2 * hidden + 0.1] * 2, rtol=1e-12)
    # z_0 = I + eps - eta * 0.2 * (T + ... + 1) (Eq. 5.3 summed)
    T = walkthrough.T
    expected = walkthrough.IMAGE_VALUE + walkthrough.NOISE_VALUE - walkthrough.ETA * walkthrough.NOISE_SLOPE * T * (T + 1) / 2
    assert run.denoising.final == pytest.approx(expected, abs=1e-12)


def test_seed_ffn_input():
    printed = pipeline.seed_ffn_input("printed")
    assert printed.shape == (10, 2) and printed[0].tolist() == [0.2, 0.17]
    np.testing.assert_array_equal(printed, walkthrough.PRINTED_ATTENTION_OUTPUT)
    computed = pipeline.seed_ffn_input("computed")
    assert computed is pipeline.seed_run().H and pipeline.seed_ffn_input() is computed
    # Every computed row is a convex combination of the embeddings, so it lies inside their range.
    assert np.all(computed >= 0.1) and np.all(computed <= 0.3)
    np.testing.assert_allclose(computed.sum(axis=1).mean(), 0.4, atol=0.01)
    with pytest.raises(ValueError, match="source"):
        pipeline.seed_ffn_input("typed")
