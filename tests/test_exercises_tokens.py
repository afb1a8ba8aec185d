"""Tests for chapter 1's exercise checkers: every solution passes, typical mistakes get their hint."""

import numpy as np
import pytest

from mgie_lessons import walkthrough, tokens
from mgie_lessons.exercises import tokens as ex

# --- exercise 1 ------------------------------------------------------------------------------------

@pytest.mark.parametrize("answer, fragment", [
    ("b", "sequence gets longer"),
    ("c", "not dimensions"),
    ("d", "keep their length d"),
    ("z", "Answer with one letter"),
    ("", "Answer with one letter"),
])
def test_ex1_wrong_letters_get_their_hint(answer, fragment):
    feedback = ex.check_tokens_ex_1(answer)
    assert not feedback.correct and fragment in feedback.message


def test_ex1_accepts_upper_case_and_parentheses():
    assert ex.check_tokens_ex_1("(A)").correct


def test_ex1_claim_holds_for_a_small_example():
    # Add 8 [IMG] words to the seed's table and append them to the instruction: O grows by 8 rows
    # and 8 columns, E by 8 rows of the same width.
    table = dict(walkthrough.EMBEDDING_TABLE)
    table.update({f"[IMG{k}]": (0.0, 0.0) for k in range(8)})
    toks = walkthrough.INSTRUCTION.split() + [f"[IMG{k}]" for k in range(8)]
    result = tokens.embed_one_hot(toks, table)
    assert result.one_hot.shape == (10 + 8, 9 + 8)
    assert result.table.shape == (9 + 8, 2)


# --- exercise 2 ------------------------------------------------------------------------------------

def test_ex2_expected_value_by_hand():
    # Column sums of the seed's X, added by hand in tenths:
    # d1: 1+2+1+3+1+2+3+1+2+3 = 19, d2: 2+1+3+2+3+2+3+2+2+1 = 21.
    assert ex.check_tokens_ex_2([1.9, 2.1]).correct


@pytest.mark.parametrize("answer, fragment", [
    ([1.7, 1.9], "occurs twice"),           # the 9 table rows: second "the" forgotten
    ([0.19, 0.21], "mean"),                  # averaged
    ([0.3, 0.3, 0.4, 0.5, 0.4, 0.4, 0.6, 0.3, 0.4, 0.4], "along each row"),  # row sums
    ([2.1, 1.9], "recompute|Add the 10"),    # swapped
])
def test_ex2_mistakes(answer, fragment):
    feedback = ex.check_tokens_ex_2(answer)
    assert not feedback.correct
    assert any(part in feedback.message for part in fragment.split("|"))


# --- exercise 3 ------------------------------------------------------------------------------------

def test_ex3_accepts_another_correct_implementation():
    def one_hot(toks, vocabulary):
        return np.array([[1.0 if t == w else 0.0 for w in vocabulary] for t in toks])
    assert ex.check_tokens_ex_3(one_hot).correct


def test_ex3_transposed():
    def one_hot(toks, vocabulary):
        return np.array([[1.0 if t == w else 0.0 for t in toks] for w in vocabulary])
    feedback = ex.check_tokens_ex_3(one_hot)
    assert not feedback.correct and "transposed" in feedback.message


def test_ex3_sorted_columns():
    def one_hot(toks, vocabulary):
        return np.array([[1.0 if t == w else 0.0 for w in sorted(vocabulary)] for t in toks])
    feedback = ex.check_tokens_ex_3(one_hot)
    assert not feedback.correct and "alphabetical" in feedback.message


def test_ex3_one_row_per_distinct_word():
    def one_hot(toks, vocabulary):
        distinct = list(dict.fromkeys(toks))
        return np.array([[1.0 if t == w else 0.0 for w in vocabulary] for t in distinct])
    feedback = ex.check_tokens_ex_3(one_hot)
    assert not feedback.correct and "own row" in feedback.message


def test_ex3_errors_and_non_functions_become_messages():
    def broken(toks, vocabulary):
        raise KeyError("oops")
    assert "raised KeyError" in ex.check_tokens_ex_3(broken).message
    assert "should be a function" in ex.check_tokens_ex_3(np.eye(3)).message


# --- exercise 4 ------------------------------------------------------------------------------------

def test_ex4_expected_rows_are_the_positions_of_the():
    positions = [i + 1 for i, w in enumerate(tokens.tokenize(walkthrough.INSTRUCTION)) if w == "the"]
    assert positions == [6, 9]
    assert ex.check_tokens_ex_4((9, 6)).correct


@pytest.mark.parametrize("answer, fragment", [
    ([5, 8], "0-based"),
    ([6], "more than once"),
    (list(range(1, 11)), "do not move"),
    ("six", "list of row numbers"),
    ([1, 2], "row by row"),
])
def test_ex4_mistakes(answer, fragment):
    feedback = ex.check_tokens_ex_4(answer)
    assert not feedback.correct and fragment in feedback.message


# --- exercise 5 ------------------------------------------------------------------------------------

def test_ex5_claim_holds_for_the_seed():
    # The fact behind answer (b): "Add" (row 1) and "in" (row 8) have equal embeddings, and the
    # seed's attention gives them equal output rows.
    from mgie_lessons import attention
    _, X = tokens.embed(walkthrough.INSTRUCTION)
    assert np.array_equal(X[0], X[7])
    out = attention.self_attention(X, walkthrough.W_Q, walkthrough.W_K, walkthrough.W_V).output
    np.testing.assert_allclose(out[0], out[7], rtol=0, atol=1e-15)


@pytest.mark.parametrize("answer, fragment", [
    ("a", "same whole sentence"),
    ("c", "order of the tokens"),
    ("d", "identity plays no"),
])
def test_ex5_wrong_letters(answer, fragment):
    feedback = ex.check_tokens_ex_5(answer)
    assert not feedback.correct and fragment in feedback.message
