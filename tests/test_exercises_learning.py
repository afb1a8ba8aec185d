"""Every chapter 13 solution passes its checker; typical wrong answers get their specific hint."""

import numpy as np
import pytest

from mgie_lessons import learning
from mgie_lessons.exercises import learning as ex


def test_solution_values_by_hand():
    # L_edit(c) = (3c - 0.2)^2 + (2c - 0.2)^2 + (c - 0.2)^2; at c = 0.1: 2 (0.1 * 3 + 0 * 2 - 0.1 * 1) = 0.4
    assert ex.check_learning_ex_1(2 * (0.1 * 3 + 0.0 * 2 - 0.1 * 1)).correct
    # Adam's first step with bias correction: lr * g / (|g| + delta)
    assert ex.check_learning_ex_5(-0.1 * 0.5 / (0.5 + 1e-8)).correct


@pytest.mark.parametrize("answer, phrase", [
    (0.0, "inner derivative"),
    (0.2, "factor 2"),
    (0.4 / 3, "mean over the three steps"),
    (-0.4, "sign"),
    (3.2, "seed's c = 0.2"),
    (1.0, "term by term"),
    ("zero", "single number"),
])
def test_ex1_mistakes(answer, phrase):
    feedback = ex.check_learning_ex_1(answer)
    assert not feedback.correct and phrase in feedback.message


def test_ex2_the_buggy_rule_is_wrong_and_recognised():
    feedback = ex.check_learning_ex_2(ex.softmax_backward_buggy)
    assert not feedback.correct and "still the buggy rule" in feedback.message
    rng = np.random.default_rng(0)
    a, g = ex._softmax_inputs(rng)
    assert not np.allclose(ex.softmax_backward_buggy(a, g), ex._finite_difference_backward(a, g), atol=1e-6)


def test_ex2_is_judged_by_finite_differences():
    rng = np.random.default_rng(1)
    a, g = ex._softmax_inputs(rng)
    assert np.allclose(ex._finite_difference_backward(a, g), learning.softmax_backward(a, g), atol=1e-8)
    assert ex.check_learning_ex_2(lambda a, g: learning.softmax_backward(a, g)).correct


@pytest.mark.parametrize("rule, phrase", [
    (lambda a, g: a * (g - np.sum(g, axis=1, keepdims=True)), "weighted by a"),
    (lambda a, g: a * (g - np.sum(a * g, axis=0, keepdims=True)), "along each row"),
    (lambda a, g: g, "disagrees"),
    (lambda a, g: 1 / 0, "ZeroDivisionError"),
    ("not a function", "should be a function"),
])
def test_ex2_mistakes(rule, phrase):
    feedback = ex.check_learning_ex_2(rule)
    assert not feedback.correct and phrase in feedback.message


def test_ex3_compares_two_runs():
    low, high = (learning.train_tiny_lm_by_hand(lr, ex.EX3_STEPS) for lr in ex.EX3_LEARNING_RATES)
    assert low.final_loss < 0.5 < high.final_loss          # lr = 0.1 learns, lr = 1 stalls
    assert high.final_loss == pytest.approx(learning.best_constant_loss(), abs=1e-3)
    assert ex.check_learning_ex_3(low.final_loss).correct
    feedback = ex.check_learning_ex_3(high.final_loss)
    assert not feedback.correct and "ReLU units die" in feedback.message
    feedback = ex.check_learning_ex_3(learning.tiny_lm_loss())
    assert not feedback.correct and "before training" in feedback.message


@pytest.mark.parametrize("letter, phrase", [("a", "no coincidence"), ("c", "outgoing weights"),
                                            ("d", "keeps the symmetry"), ("e", "one letter")])
def test_ex4_wrong_letters(letter, phrase):
    feedback = ex.check_learning_ex_4(letter)
    assert not feedback.correct and phrase in feedback.message


@pytest.mark.parametrize("answer, phrase", [
    (-0.1 * 0.1 / np.sqrt(0.001), "without bias correction"),
    (-0.05, "plain gradient descent"),
    (0.1, "against the gradient"),
    (-0.2, "Compute s_1"),
])
def test_ex5_mistakes(answer, phrase):
    feedback = ex.check_learning_ex_5(answer)
    assert not feedback.correct and phrase in feedback.message
