"""Checkers for chapter 1's exercises (tokens and embeddings).

Expected answers are computed with :mod:`mgie_lessons.tokens` from the seed's data; each typical
mistake is computed too and paired with a hint.
"""

from __future__ import annotations

import numpy as np

from .. import walkthrough, tokens
from .feedback import Feedback, check_choice, check_function, check_matrix

__all__ = [
    "check_tokens_ex_1",
    "check_tokens_ex_2",
    "check_tokens_ex_3",
    "check_tokens_ex_4",
    "check_tokens_ex_5",
    "EX4_NEW_ROW",
    "SOLUTIONS",
]


# --- Exercise 1 (conceptual): adding the 8 [IMG] tokens -------------------------------------------

def check_tokens_ex_1(answer) -> Feedback:
    """Multiple choice: the shapes of O and E after adding [IMG0]..[IMG7] to the vocabulary and
    appending them to an instruction of n tokens (vocabulary of |𝕍| words, d dimensions)."""
    return check_choice(answer, "a", {
        "a": "(a) is right.",
        "b": "The [IMG] tokens are also appended to the instruction, so the sequence gets longer: "
             "O has one row per token of the sequence.",
        "c": "Adding tokens adds words to the vocabulary (rows of E), not dimensions to the "
             "embedding; d stays 4096 in MGIE.",
        "d": "E gets 8 new rows, one per new token, but its rows keep their length d: a new word "
             "does not make the other words' vectors longer.",
    })


# --- Exercise 2 (by hand): the column sums 1^T X ----------------------------------------------------

def _seed_X() -> np.ndarray:
    return tokens.embed(walkthrough.INSTRUCTION)[1]


def check_tokens_ex_2(answer) -> Feedback:
    """The column sums of the seed's X (a vector of 2 numbers)."""
    X = _seed_X()
    _, E = tokens.table_matrix()
    mistakes = [
        (E.sum(axis=0), "That is the sum of the 9 table rows: \"the\" occurs twice in the instruction, "
                        "so its row counts twice in X."),
        (X.mean(axis=0), "That is the mean of the rows; the exercise asks for the sum."),
        (X.sum(axis=1), "You summed along each row (one number per token); sum down each column "
                        "(one number per embedding dimension)."),
    ]
    return check_matrix(answer, X.sum(axis=0), mistakes=mistakes, what="your column sums",
                        hint="Add the 10 first entries, then the 10 second entries, one token at a time.")


# --- Exercise 3 (coding): the one-hot matrix ---------------------------------------------------------

_WORD_POOL = ("cat", "hat", "blue", "add", "to", "the", "image", "red", "a", "person")


def _random_tokens_and_vocabulary(rng: np.random.Generator) -> tuple:
    size = int(rng.integers(3, 8))
    vocabulary = [str(w) for w in rng.permutation(_WORD_POOL)[:size]]
    count = int(rng.integers(size + 1, size + 6))  # more tokens than words: some repeat
    toks = [vocabulary[int(i)] for i in rng.integers(0, size, count)]
    return toks, vocabulary


def _transposed(toks, vocabulary):
    return tokens.one_hot_matrix(toks, vocabulary).T


def _sorted_columns(toks, vocabulary):
    return tokens.one_hot_matrix(toks, sorted(vocabulary))


def _one_row_per_distinct_word(toks, vocabulary):
    return tokens.one_hot_matrix(tokens.distinct_words(toks), vocabulary)


def check_tokens_ex_3(function) -> Feedback:
    """``function(tokens, vocabulary)`` must return O of Eq. 1.2 (n x |𝕍|)."""
    return check_function(function, tokens.one_hot_matrix, _random_tokens_and_vocabulary, trials=6,
                          mistakes=[
                              (_transposed, "Your matrix is O transposed: O has one ROW per token and one "
                                            "COLUMN per vocabulary word, so that O E works."),
                              (_sorted_columns, "Your columns follow the alphabetical order; column j must "
                                                "be vocabulary[j], in the order given, to match E's rows."),
                              (_one_row_per_distinct_word, "A repeated token needs its own row: O has one row "
                                                           "per token, repeats included."),
                          ], what="your one_hot")


# --- Exercise 4 (widget): which rows move when one table row changes ---------------------------------

#: The new row of "the" that exercise 4 asks the reader to type into the widget.
EX4_NEW_ROW = (0.5, 0.5)


def _rows_changed_by_editing_the() -> list[int]:
    table = dict(walkthrough.EMBEDDING_TABLE)
    table["the"] = EX4_NEW_ROW
    before = _seed_X()
    after = tokens.embed(walkthrough.INSTRUCTION, table)[1]
    return [i + 1 for i in range(before.shape[0]) if not np.array_equal(before[i], after[i])]


def check_tokens_ex_4(answer) -> Feedback:
    """The 1-based positions of the rows of X that change when the row of "the" becomes (0.5, 0.5)."""
    try:
        positions = sorted(int(p) for p in answer)
    except (TypeError, ValueError):
        return Feedback(False, "Answer with a list of row numbers, e.g. [2, 7].")
    expected = _rows_changed_by_editing_the()
    if positions == expected:
        return Feedback(True, f"rows {expected} change, and no other.")
    if positions == [p - 1 for p in expected]:
        return Feedback(False, "Those are Python's 0-based indices; the widget numbers the rows from 1.")
    if len(positions) == 1 and positions[0] in expected:
        return Feedback(False, "Look at the whole heatmap: the edited word occurs more than once.")
    if len(positions) == 10:
        return Feedback(False, "Rows of other words read other rows of the table; they do not move.")
    return Feedback(False, "Type 0.5, 0.5 in the box of \"the\" and compare the heatmap (or the LaTeX) "
                           "row by row with the seed's X.")


# --- Exercise 5 (conceptual): equal embeddings after attention ----------------------------------------

def check_tokens_ex_5(answer) -> Feedback:
    """Multiple choice: do two tokens with equal embeddings stay equal after the seed's attention?"""
    return check_choice(answer, "b", {
        "b": "(b) is right.",
        "a": "Every row attends to the same whole sentence (the same K and V); what could still make "
             "two rows differ? Write row i of softmax(Q K^T / sqrt(d_k)) V in terms of x_i.",
        "c": "Nothing in the seed's attention knows the order of the tokens: permuting the rows of X "
             "just permutes the rows of the output. Try it with mgie_lessons.attention.self_attention.",
        "d": "Any W^Q gives q_i = x_i W^Q, which is the same for two equal x_i; the identity plays no "
             "special role.",
    })


def _one_hot_solution(toks, vocabulary):
    column = {word: j for j, word in enumerate(vocabulary)}
    O = np.zeros((len(toks), len(vocabulary)))
    for i, token in enumerate(toks):
        O[i, column[token]] = 1.0
    return O


#: A correct answer for every checkable exercise (used by the tests and the grading tool).
SOLUTIONS = {
    "tokens-ex-1": "a",
    "tokens-ex-2": _seed_X().sum(axis=0),
    "tokens-ex-3": _one_hot_solution,
    "tokens-ex-4": _rows_changed_by_editing_the(),
    "tokens-ex-5": "b",
}
