"""Tests for the chapter 4 exercise checkers (mgie_lessons.exercises.visual_tokens)."""

import math

import numpy as np
import pytest

from mgie_lessons.exercises import visual_tokens as ex

def test_ex2_answer_by_hand():
    # scores 0.1 and 0.4, scaled by 1/sqrt(2); weight on u_4 = 1 / (1 + exp(-0.3 / sqrt(2)))
    assert ex.SOLUTIONS["visual_tokens-ex-2"] == pytest.approx(1 / (1 + math.exp(-0.3 / math.sqrt(2))))
    assert ex.check_visual_tokens_ex_2(0.553).correct


def test_ex4_answer_is_one_row():
    assert ex.SOLUTIONS["visual_tokens-ex-4"] == 1
    assert ex.ex4_answer(n_queries=11) == 1


@pytest.mark.parametrize("checker, letter, words", [
    (ex.check_visual_tokens_ex_1, "A", "8 [IMG] tokens"),
    (ex.check_visual_tokens_ex_1, "C", "256 patch tokens"),
    (ex.check_visual_tokens_ex_1, "D", "Nothing is repeated"),
    (ex.check_visual_tokens_ex_1, "Z", "one letter"),
    (ex.check_visual_tokens_ex_5, "A", "never defines Tokenize"),
    (ex.check_visual_tokens_ex_5, "d", "not rows of E"),
    (ex.check_visual_tokens_ex_5, "C", "CLIP patch features"),
])
def test_multiple_choice_hints(checker, letter, words):
    feedback = checker(letter)
    assert not feedback.correct
    assert words in feedback.message


@pytest.mark.parametrize("answer, words", [
    (1 / (1 + math.exp(-0.3)), "sqrt(d_k)"),
    (1 - 1 / (1 + math.exp(-0.3 / math.sqrt(2))), "weight on u_1"),
    (0.5, "not equal"),
    (0.8, "exponentials"),
    (0.9, "Scores"),
])
def test_ex2_typical_mistakes(answer, words):
    feedback = ex.check_visual_tokens_ex_2(answer)
    assert not feedback.correct
    assert words in feedback.message


def _softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("function, words", [
    (lambda H, Q0, Wq, Wk, Wv: _softmax((Q0 @ Wq) @ (Q0 @ Wk).T / np.sqrt(Wk.shape[1]), 1) @ (Q0 @ Wv),
     "self-attention among the queries"),
    (lambda H, Q0, Wq, Wk, Wv: _softmax((Q0 @ Wq) @ (H @ Wk).T / np.sqrt(Wk.shape[1]), 0) @ (H @ Wv),
     "each row"),
    (lambda H, Q0, Wq, Wk, Wv: _softmax((Q0 @ Wq) @ (H @ Wk).T, 1) @ (H @ Wv), "sqrt(d_k)"),
    (lambda H, Q0, Wq, Wk, Wv: _softmax((H @ Wq) @ (Q0 @ Wk).T / np.sqrt(Wk.shape[1]), 1) @ (Q0 @ Wv),
     "roles are swapped"),
    (lambda H, Q0, Wq, Wk, Wv: "no", "array of numbers"),
])
def test_ex3_typical_mistakes(function, words):
    feedback = ex.check_visual_tokens_ex_3(function)
    assert not feedback.correct
    assert words in feedback.message


@pytest.mark.parametrize("answer, words", [
    (6, "distinct rows, not rows"),
    (12, "distinct rows, not rows"),
    (77, "residual connections"),
    (0, "one per query"),
    (2.5, "every entry is 1"),
])
def test_ex4_typical_mistakes(answer, words):
    feedback = ex.check_visual_tokens_ex_4(answer)
    assert not feedback.correct
    assert words in feedback.message
