"""Tests for the chapter 3 exercise checkers (mgie_lessons.exercises.ffn)."""

import numpy as np
import pytest

from mgie_lessons.exercises import ffn as ex


def test_solution_values_by_hand():
    # "hat": (0.24*0.2 + 0.22*0.2 + 0.1) = 0.192; 0.192*0.3*2 + 0.1 = 0.2152
    assert ex.SOLUTIONS["ffn-ex-2"] == pytest.approx(0.2152)
    # The smallest printed row sum is 0.19 + 0.15 = 0.34: c * 0.2 * 0.34 + 0.1 = 0  ->  c = -0.1/0.068
    assert ex.SOLUTIONS["ffn-ex-4"] == pytest.approx(-0.1 / 0.068)


def test_ex1_wrong_letters_get_their_hint():
    assert not ex.check_ffn_ex_1("A")
    assert "entry by entry" in ex.check_ffn_ex_1("A").message
    assert "0.19 and 0.21" in ex.check_ffn_ex_1("c").message
    assert "after Z" in ex.check_ffn_ex_1(" D ").message
    assert "one letter" in ex.check_ffn_ex_1("E").message
    assert "one letter" in ex.check_ffn_ex_1(2).message


@pytest.mark.parametrize("answer, words", [
    (0.287, "the seed prints"),          # the seed's printed F for "hat"
    (0.2576, "b2 added twice"),          # 0.3 * 0.192 + 0.2
    (0.1152, "forgot to add b2"),        # 0.6 * 0.192
    (0.1552, "forgot to add b1"),        # 0.6 * 0.092 + 0.1
    (0.0552, "Both biases"),             # 0.6 * 0.092
    (0.1888, "two terms"),               # 0.6 * (0.24 * 0.2 + 0.1) + 0.1
    (0.5, "step by step"),
    ([0.2, 0.2], "single number"),
    ("abc", "single number"),
])
def test_ex2_typical_mistakes(answer, words):
    feedback = ex.check_ffn_ex_2(answer)
    assert not feedback.correct
    assert words in feedback.message


@pytest.mark.parametrize("function, words", [
    (lambda X, W1, b1, W2, b2: (X @ W1 + b1) @ W2 + b2, "never applies ReLU"),
    (lambda X, W1, b1, W2, b2: np.maximum(np.maximum(X @ W1 + b1, 0) @ W2 + b2, 0), "between the two layers"),
    (lambda X, W1, b1, W2, b2: (np.maximum(X @ W1, 0) + b1) @ W2 + b2, "before ReLU"),
    (lambda X, W1, b1, W2, b2: np.maximum(X @ W1 + b1, 0) @ W2, "forgot b2"),
    (lambda X, W1, b1, W2, b2: X[0], "shape"),
    (lambda X, W1, b1, W2, b2: 1 / 0, "ZeroDivisionError"),
])
def test_ex3_typical_mistakes(function, words):
    feedback = ex.check_ffn_ex_3(function)
    assert not feedback.correct
    assert words in feedback.message


def test_ex3_rejects_a_non_function():
    assert "function" in ex.check_ffn_ex_3(3.0).message


@pytest.mark.parametrize("answer, words", [
    (-1.0417, "starts to act"),
    (1.4706, "sign"),
    (-0.2941, "0.2 in W1"),
    (-3.0, "smallest row sum"),
])
def test_ex4_typical_mistakes(answer, words):
    feedback = ex.check_ffn_ex_4(answer)
    assert not feedback.correct
    assert words in feedback.message


def test_ex4_accepts_two_decimals():
    assert ex.check_ffn_ex_4(-1.47).correct
