"""Tests for the chapter 2 exercise checkers: solutions pass, typical mistakes get their hint."""

import numpy as np
import pytest

from mgie_lessons import attention, walkthrough, tokens
from mgie_lessons.exercises import attention as ex

TOKENS, X = tokens.embed(walkthrough.INSTRUCTION)
HAT, PERSON = TOKENS.index("hat"), TOKENS.index("person")


@pytest.mark.parametrize("answer, hint", [
    ("b", "check (c) too"),
    ("c", "check (b) too"),
    ("d", "A weight may well exceed 1/n"),
    ("a", "Softmax does not sort"),
    ("z", "Answer with one letter"),
])
def test_ex1_wrong_letters(answer, hint):
    feedback = ex.check_attention_ex_1(answer)
    assert not feedback.correct and hint in feedback.message


def test_ex1_accepts_parentheses_and_case():
    assert ex.check_attention_ex_1("(E)").correct


def test_ex2_typical_mistakes():
    result = attention.self_attention(X, walkthrough.W_Q, walkthrough.W_K, walkthrough.W_V)
    no_sqrt = attention.softmax(result.scores)[HAT, PERSON]
    variance = attention.softmax(result.scores / 2)[HAT, PERSON]
    swapped = result.weights[PERSON, HAT]
    score = result.scaled_scores[HAT, PERSON]
    for answer, hint in [(no_sqrt, "forgot to divide"), (variance, "instead of sqrt(d_k)"),
                         (swapped, "normalising the column"), (score, "still needs the softmax"),
                         (0.1, "perfectly uniform"), (0.5, "step by step")]:
        feedback = ex.check_attention_ex_2(answer)
        assert not feedback.correct and hint in feedback.message, (answer, feedback.message)


def test_ex2_accepts_four_significant_digits():
    assert ex.check_attention_ex_2(round(ex.SOLUTIONS["attention-ex-2"], 4)).correct
    assert not ex.check_attention_ex_2("0.1037 or so").correct


def _logits(Q, K):
    return Q @ K.T / np.sqrt(K.shape[1])


@pytest.mark.parametrize("function, hint", [
    (lambda Q, K: attention.softmax(Q @ K.T + attention.causal_mask(len(Q))), "not divided by sqrt(d_k)"),
    (lambda Q, K: np.tril(attention.softmax(_logits(Q, K))), "after the softmax"),
    (lambda Q, K: attention.softmax(_logits(Q, K)), "There is no mask"),
    (lambda Q, K: attention.softmax(_logits(Q, K) + attention.causal_mask(len(Q)).T), "mask is transposed"),
    (lambda Q, K: attention.softmax(_logits(Q, K) + attention.causal_mask(len(Q)), axis=0), "normalises columns"),
    (lambda Q, K: attention.softmax(np.where(np.isinf(attention.causal_mask(len(Q))), 0.0, _logits(Q, K))),
     "set the masked logits to 0"),
    (lambda Q, K: 1 / 0, "raised ZeroDivisionError"),
    ("not a function", "should be a function"),
])
def test_ex3_typical_mistakes(function, hint):
    feedback = ex.check_attention_ex_3(function)
    assert not feedback.correct and hint in feedback.message, feedback.message


def test_ex3_naive_softmax_overflows():
    def naive(Q, K):
        logits = _logits(Q, K) + attention.causal_mask(len(Q))
        e = np.exp(logits)
        return e / e.sum(axis=1, keepdims=True)

    feedback = ex.check_attention_ex_3(naive)
    assert not feedback.correct and "exp overflows" in feedback.message


@pytest.mark.parametrize("answer, hint", [
    ((8, 1), "standard deviation"),
    ((64, 8), "divides its variance by d_k"),
    ((64, 64), "does change the variance"),
    ((1, 1 / 64), "variances of independent terms add up"),
    ((64,), "shape"),
])
def test_ex4_typical_mistakes(answer, hint):
    feedback = ex.check_attention_ex_4(answer)
    assert not feedback.correct and hint in feedback.message, feedback.message


def test_ex4_accepts_a_measured_estimate():
    measured = (attention.score_variance(64, 20_000, 5, scale=False),
                attention.score_variance(64, 20_000, 5, scale=True))
    assert ex.check_attention_ex_4(measured).correct


def test_ex5_threshold_and_mistakes():
    c = ex.SOLUTIONS["attention-ex-5"]
    # Independently: the hat row's largest weight crosses 1/2 between c - 1 and c.
    below = attention.self_attention(X, (c - 1) * np.eye(2), (c - 1) * np.eye(2), np.eye(2)).weights[HAT]
    above = attention.self_attention(X, c * np.eye(2), c * np.eye(2), np.eye(2)).weights[HAT]
    assert below.max() <= 0.5 < above.max()
    assert "increase c" in ex.check_attention_ex_5(c - 1).message
    assert "smaller c already does" in ex.check_attention_ex_5(c + 3).message
    only_query = 1
    while attention.self_attention(X, only_query * np.eye(2), np.eye(2), np.eye(2)).weights[HAT].max() <= 0.5:
        only_query += 1
    assert "only W^Q is scaled" in ex.check_attention_ex_5(only_query).message
    assert "whole number" in ex.check_attention_ex_5(2.5).message
    assert "whole number" in ex.check_attention_ex_5("nine").message


def test_ex6_one_word_is_the_least_and_the_solution_moves_only_blue():
    solution = ex.SOLUTIONS["attention-ex-6"]
    assert list(solution) == ["blue"]
    assert ex.check_attention_ex_6(solution).correct
    c = ex.smallest_blue_scale()
    # Independently of the checker: c x_hat works for "blue", c - 1 does not.
    hat = np.array(walkthrough.EMBEDDING_TABLE["hat"])
    table = dict(walkthrough.EMBEDDING_TABLE)
    for scale, expect in ((c, True), (c - 1, False)):
        table["blue"] = tuple(scale * hat)
        row = attention.self_attention(tokens.embedding_matrix(TOKENS, table), np.eye(2), np.eye(2), np.eye(2)).weights[HAT]
        assert bool(row[TOKENS.index("blue")] > 0.5) is expect
    # Moving only "blue" far along "hat" gives almost all the weight (the 0.999).
    assert ex.blue_weight_for_scale(100) > 0.998
    assert ex.check_attention_ex_6({"blue": tuple(100 * hat)}).correct
    # No single other word can do it: moving "hat" alone leaves "blue" and "to" tied.
    for vector in [(1.0, 0.0), (10.0, 0.0), (0.0, 30.0), (-5.0, 5.0)]:
        assert not ex.check_attention_ex_6({"hat": vector}).correct


def test_ex6_two_moved_words_are_more_than_the_least():
    feedback = ex.check_attention_ex_6({"hat": (1.0, 0.0), "blue": (10.0, 0.0)})
    assert not feedback.correct and "One word is enough" in feedback.message
    # Restating a seed vector does not count as a change.
    assert ex.changed_words({"hat": walkthrough.EMBEDDING_TABLE["hat"], "blue": (7.5, 5.0)}) == ["blue"]
    assert ex.check_attention_ex_6({"hat": walkthrough.EMBEDDING_TABLE["hat"], "blue": (7.5, 5.0)}).correct


@pytest.mark.parametrize("answer, hint", [
    ({"hat": (1.0, 0.0)}, "same embedding"),
    ({"hat": (1.0, 0.0), "blue": (0.5, 0.0)}, "attends mostly to itself"),
    ({"hat": (1.0, 0.0), "blue": (1.2, 0.0)}, "already gets the largest weight"),
    ({"hat": (0.1, 0.1), "blue": (0.2, 0.2)}, "largest weight"),
    ({"blue": (0.1, 0.3)}, "nothing changed"),
    ({"cat": (1.0, 0.0)}, "not a word of the instruction"),
    ({"hat": (1.0, np.nan)}, "two finite numbers"),
    ({"hat": "north"}, "two finite numbers"),
    ([], "Answer with a dict"),
])
def test_ex6_typical_mistakes(answer, hint):
    feedback = ex.check_attention_ex_6(answer)
    assert not feedback.correct and hint in feedback.message, feedback.message
