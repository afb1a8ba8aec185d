"""Every chapter 6 solution passes its checker; typical wrong answers get their specific hint."""

import math

import numpy as np
import pytest

from mgie_lessons.exercises import losses as ex


def test_solution_values_by_hand():
    # (ln 2 + ln 4 + ln 1) / 3; 0.2 * (8 + 2); e^-2.2
    assert ex.check_losses_ex_2((math.log(2) + math.log(4)) / 3).correct
    # y vs "Add a bright blue hat ...": positions 0, 1 match, 8 differ, 1 extra token -> 0.2 * 9
    assert ex.check_losses_ex_3(0.2 * 9).correct
    assert len(ex.EX3_GENERATED) == 11 and ex.EX3_GENERATED[2] == "bright"
    assert ex.check_losses_ex_5(0.1108).correct


@pytest.mark.parametrize("letter, phrase", [("a", "nothing shifts"), ("c", "through the model"),
                                            ("d", "not from the repeated 'to'"), ("e", "one letter")])
def test_ex1_wrong_letters(letter, phrase):
    feedback = ex.check_losses_ex_1(letter)
    assert not feedback.correct and phrase in feedback.message


@pytest.mark.parametrize("answer, phrase", [
    (math.log(8), "sum over the three tokens"),
    (-math.log(8) / 3, "minus sign"),
    (math.log10(8) / 3, "base 10"),
    (1.0, "base 2"),
    (0.5, "Your value is too low"),
])
def test_ex2_mistakes(answer, phrase):
    feedback = ex.check_losses_ex_2(answer)
    assert not feedback.correct and phrase in feedback.message


@pytest.mark.parametrize("answer, phrase", [
    (0.2, "alignment's count"),
    (1.6, "not the extra token"),
    (0.4, "counted the matching positions"),
    (2.2, "every token of yhat"),
    (2.0, "the seed's yhat"),
    (1.0, "Write y and yhat"),
])
def test_ex3_mistakes(answer, phrase):
    feedback = ex.check_losses_ex_3(answer)
    assert not feedback.correct and phrase in feedback.message


def _naive(logits, targets):
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return -np.log(p[np.arange(len(targets)), targets]).mean()


def _summed(logits, targets):
    return ex.SOLUTIONS["losses-ex-4"](logits, targets) * len(targets)


def _positive_log(logits, targets):
    return -ex.SOLUTIONS["losses-ex-4"](logits, targets)


def _columns(logits, targets):
    p = np.exp(logits) / np.exp(logits).sum(axis=0, keepdims=True)
    return -np.log(p[np.arange(len(targets)), targets]).mean()


@pytest.mark.parametrize("function, phrase", [
    (_naive, "exp(1000) overflows"),
    (_summed, "You summed"),
    (_positive_log, "negative"),
    (_columns, "axis 0"),
    ("not a function", "should be a function"),
])
def test_ex4_mistakes(function, phrase):
    with np.errstate(all="ignore"):
        feedback = ex.check_losses_ex_4(function)
    assert not feedback.correct and phrase in feedback.message


@pytest.mark.parametrize("answer, phrase", [
    (math.exp(-0.22), "SUM over the 10 tokens"),
    (10 ** -2.2, "base 10"),
    (2 ** -2.2, "base 2"),
    (0.5, "Your value is too high"),
])
def test_ex5_mistakes(answer, phrase):
    feedback = ex.check_losses_ex_5(answer)
    assert not feedback.correct and phrase in feedback.message


# --- Issue 11, item 9: answers at the stated precision pass, wrong ones are told what is wrong ---

@pytest.mark.parametrize("answer", [0.111, 0.1108, math.exp(-2.2)])
def test_ex5_accepts_three_significant_figures(answer):
    assert ex.check_losses_ex_5(answer).correct


@pytest.mark.parametrize("answer, phrase", [(0.12, "too high"), (0.1, "too low"), (-0.111, "wrong sign"),
                                            (1.11, "factor of 10^1")])
def test_ex5_says_what_is_wrong(answer, phrase):
    feedback = ex.check_losses_ex_5(answer)
    assert not feedback.correct and phrase in feedback.message, feedback.message


def test_ex2_precision():
    assert ex.check_losses_ex_2(0.693).correct
    assert not ex.check_losses_ex_2(0.69).correct
    assert "too high" in ex.check_losses_ex_2(0.8).message
