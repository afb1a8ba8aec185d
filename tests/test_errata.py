"""Tests for chapter 7's errata table. Expected facts are checked by hand from the seed's text."""

import math

import pytest

from mgie_lessons import errata, pipeline, walkthrough


@pytest.fixture(scope="module")
def rows():
    return {row.key: row for row in errata.errata()}


def test_every_row_is_well_formed(rows):
    assert len(rows) == len(errata.errata()), "keys must be unique"
    for row in rows.values():
        assert row.status in errata.STATUSES
        assert row.chapter in errata.CHAPTERS
        assert row.printed and row.computed and row.reason


def test_counts_add_up(rows):
    counts = errata.status_counts()
    assert sum(counts.values()) == len(rows)
    assert counts["differs"] > counts["agrees"] > 0


def test_qk_t_has_thirty_rows_and_a_wrong_dot_product(rows):
    assert len(walkthrough.PRINTED_QK_T) == 30
    # Row "Add" = (0.1, 0.2), column "blue" = (0.1, 0.3): 0.01 + 0.06 = 0.07, printed 0.09.
    assert walkthrough.PRINTED_QK_T[0][2] == 0.09
    assert "20 rows too many" in rows["qk-t"].reason
    assert "entry (1, 3) printed 0.09, computed 0.0700" in rows["qk-t"].reason
    assert rows["qk-t"].status == "differs"


def test_printed_softmax_rows_do_not_sum_to_one(rows):
    sums = [math.fsum(row) for row in walkthrough.PRINTED_ATTENTION_WEIGHTS]
    assert max(sums) > 1.3 and min(sums) < 0.8
    assert f"{max(sums):.3f}" in rows["attention-weights"].printed


def test_weights_printed_twice_disagree():
    # Row 3, column 9: 0.091 on the softmax line, 0.104 in the product.
    assert walkthrough.PRINTED_ATTENTION_WEIGHTS[2][8] == 0.091
    assert walkthrough.PRINTED_WEIGHTS_IN_PRODUCT[2][8] == 0.104
    assert errata.attention_internal_inconsistencies()["reprinted_weights"] > 0


def test_ffn_product_pattern_is_explained(rows):
    # First printed X_attention row (0.2, 0.17): true product 0.2*0.2 + 0.17*0.2 = 0.074,
    # printed 0.16 = 0.8 * 0.2 (the four weights added, times the first entry).
    assert walkthrough.PRINTED_FFN_XW1[0][0] == pytest.approx(0.8 * walkthrough.PRINTED_ATTENTION_OUTPUT[0][0])
    assert "100%" in rows["ffn-xw1"].reason


def test_relu_typo_is_found(rows):
    assert walkthrough.PRINTED_FFN_PRE_ACTIVATION[5] == (0.27, 0.27)
    assert walkthrough.PRINTED_FFN_HIDDEN[5] == (0.27, 0.29)
    assert "entry (6, 2) turns 0.27 into 0.29" in rows["ffn-hidden"].reason


def test_ffn_output_is_one_term_plus_twice_b2(rows):
    # 0.26 * 0.3 + 0.2 = 0.278, the first printed output entry.
    assert walkthrough.PRINTED_FFN_OUTPUT[0][0] == pytest.approx(0.26 * 0.3 + 0.2)
    assert rows["ffn-output"].status == "differs"


def test_what_is_right_is_marked_right(rows):
    for key in ("x-embedded", "sqrt-dk", "trajectory", "l-edit", "l-all"):
        assert rows[key].status == "agrees", key


def test_the_seeds_loss_count_is_contradicted(rows):
    # y and y-hat share only "Add", "a" position by position.
    assert "2 match position by position" in rows["matching-tokens"].computed
    assert rows["l-ins"].status == "differs"
    assert "2 edits after aligning -> 0.4" in rows["l-ins"].computed


def test_undefined_items(rows):
    assert {key for key, row in rows.items() if row.status == "undefined"} == {
        "visual-tokens", "noise-distribution", "techniques"}


def test_errata_for_chapter_filters_and_validates():
    assert {row.chapter for row in errata.errata_for_chapter(2)} == {2}
    with pytest.raises(ValueError, match="chapter"):
        errata.errata_for_chapter(9)



def test_chapters_come_from_the_one_chapter_table(rows):
    # Exactly the chapters that have rows, each the pipeline's own Chapter (notebook, title).
    assert set(errata.CHAPTERS) == {row.chapter for row in rows.values()}
    for number, chapter in errata.CHAPTERS.items():
        assert chapter is pipeline.chapter(number)
