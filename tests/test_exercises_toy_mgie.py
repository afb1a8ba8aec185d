"""Chapter 14's checkers: answers worked out by hand, and typical wrong answers get their specific hint
(tests/test_exercises_common.py runs every solution through its checker)."""

import numpy as np
import pytest

from mgie_lessons import schedules, toy_edits, toy_mgie
from mgie_lessons.exercises import toy_mgie as ex


def test_solution_values_by_hand():
    abar = schedules.alphas_cumprod(schedules.beta_schedule("cosine", 1000))
    assert ex.check_toy_mgie_ex_1(abar[700] / (1 - abar[700])).correct
    # 3 kinds x 6 colours, 2 held-out colours per kind
    assert ex.check_toy_mgie_ex_3(3 * 6 - 3 * 2).correct
    assert not ex.check_toy_mgie_ex_3(3 * 6 - 3 * 2 + 1).correct


def test_snr_crosses_one_where_abar_is_one_half():
    abar = schedules.alphas_cumprod(schedules.beta_schedule("cosine", 1000))
    t = ex.snr_crossing()
    assert abar[t] < 0.5 <= abar[t - 1]


@pytest.mark.parametrize("answer, phrase", [
    (1.0 / ex.SOLUTIONS["toy_mgie-ex-1"], "inverse"),
    (np.sqrt(ex.SOLUTIONS["toy_mgie-ex-1"]), "sqrt(SNR)"),
    ("many", "single number"),
])
def test_ex1_mistakes(answer, phrase):
    feedback = ex.check_toy_mgie_ex_1(answer)
    assert not feedback.correct and phrase in feedback.message


def test_ex2_verdict_follows_edit_succeeds():
    example, output = ex.ex2_output()
    success, inside, outside = toy_mgie.edit_succeeds(output, example.target, example.region)
    assert not success and inside >= 0.1 and outside >= 0.05
    assert ex.SOLUTIONS["toy_mgie-ex-2"] == "d"
    assert ex.check_toy_mgie_ex_2("(D)").correct and not ex.check_toy_mgie_ex_2("a").correct
    # the exact target itself succeeds
    assert toy_mgie.edit_succeeds(example.target, example.target, example.region)[0]


@pytest.mark.parametrize("answer, phrase", [(6, "held-out pairs"), (18, "every (kind, colour)"), (15, "Removals")])
def test_ex3_mistakes(answer, phrase):
    feedback = ex.check_toy_mgie_ex_3(answer)
    assert not feedback.correct and phrase in feedback.message


def test_ex3_matches_the_datasets():
    pairs = {(e.command.kind, e.command.colour) for e in toy_edits.make_dataset(600, 5, "train")
             if e.command.action == "recolour"}
    assert len(pairs) == ex.SOLUTIONS["toy_mgie-ex-3"]


@pytest.mark.parametrize("checker, wrong", [(ex.check_toy_mgie_ex_4, "a"), (ex.check_toy_mgie_ex_5, "d"),
                                            (ex.check_toy_mgie_ex_4, "e")])
def test_choices_refuse_wrong_letters(checker, wrong):
    assert not checker(wrong).correct
