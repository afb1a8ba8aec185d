"""Checkers for the chapter 3 exercises (the feed-forward network).

Expected answers and typical mistakes are computed with :mod:`mgie_lessons.ffn`.
"""

from __future__ import annotations

import numpy as np

from .. import ffn, pipeline, walkthrough, tokens
from .feedback import Feedback, check_choice, check_function, check_number

__all__ = [
    "check_ffn_ex_1",
    "check_ffn_ex_2",
    "check_ffn_ex_3",
    "check_ffn_ex_4",
    "ex2_answer",
    "ex4_answer",
    "SOLUTIONS",
]


# --- Exercise 1: why are the two hidden units identical? -------------------------------------

def _column_means() -> str:
    means = pipeline.seed_ffn_input("computed").mean(axis=0)
    return " and ".join(f"{v:.2f}" for v in means)


EX1_HINTS = {
    "A": "ReLU works entry by entry and leaves positive numbers alone: ReLU(0.17) = 0.17 and "
         "ReLU(0.19) = 0.19 stay different. Look at what produces P, before ReLU.",
    "B": "Both columns of W1 are (0.2, 0.2) and both entries of b1 are 0.1, so the two hidden units "
         "compute the same number 0.2 h1 + 0.2 h2 + 0.1 from every row: Z has rank 1.",
    "C": f"The two columns of H differ (about {_column_means()} per row when computed correctly). "
         "Something after H makes the two hidden units agree.",
    "D": "W2 acts after Z is formed, so it cannot explain why Z's two columns already agree.",
}


def check_ffn_ex_1(answer) -> Feedback:
    """Exercise ffn-ex-1 (multiple choice): why are the two columns of Z identical?"""
    return check_choice(answer, "B", EX1_HINTS)


# --- Exercise 2: one output entry by hand ------------------------------------------------------

#: Exercise 2 uses the seed's printed attention row of this token (0-based row 3, "hat").
EX2_ROW = 3


def _printed_row() -> np.ndarray:
    return np.asarray(walkthrough.PRINTED_ATTENTION_OUTPUT[EX2_ROW:EX2_ROW + 1], dtype=float)


def ex2_answer() -> float:
    """F_41 for the seed's printed attention row of "hat", (0.24, 0.22), and the seed's weights."""
    return float(ffn.feed_forward(_printed_row(), walkthrough.W1, walkthrough.B1, walkthrough.W2, walkthrough.B2).output[0, 0])


def _ex2_mistakes() -> list[tuple[float, str]]:
    x = _printed_row()
    W1, b1, W2, b2 = (np.asarray(v, dtype=float) for v in (walkthrough.W1, walkthrough.B1, walkthrough.W2, walkthrough.B2))
    hidden = ffn.feed_forward(x, W1, b1, W2, b2).hidden
    one_term_twice_b2 = float(hidden[0, 0] * W2[0, 0] + 2 * b2[0])
    no_b2 = float(ffn.feed_forward(x, W1, b1, W2, np.zeros(2)).output[0, 0])
    no_b1 = float(ffn.feed_forward(x, W1, np.zeros(2), W2, b2).output[0, 0])
    no_biases = float(ffn.feed_forward(x, W1, np.zeros(2), W2, np.zeros(2)).output[0, 0])
    first_product_one_term = float(ffn.feed_forward(x, [[W1[0, 0], W1[0, 1]], [0, 0]], b1, W2, b2).output[0, 0])
    row = ", ".join(f"{v:g}" for v in x[0])
    return [
        (float(walkthrough.PRINTED_FFN_OUTPUT[EX2_ROW][0]),
         "That is the number the seed prints, and it is wrong twice over: the seed's H W1 is too "
         f"large, and its last step computes 0.3 z + 0.2. Recompute from ({row}) yourself."),
        (one_term_twice_b2, "This is 0.3 z + 0.2: one term of the product and b2 added twice (the seed's "
                            "slip). A row of Z times a column of W2 has two terms, z1*0.3 + z2*0.3, "
                            "and b2 is added once."),
        (no_b2, "You forgot to add b2 = 0.1 after multiplying by W2."),
        (no_b1, "You forgot to add b1 = 0.1 before ReLU."),
        (no_biases, "Both biases are missing: add b1 before ReLU and b2 at the end."),
        (first_product_one_term, f"In H W1 each entry has two terms, one per entry of ({row}); "
                                 "you kept only the first."),
    ]


def check_ffn_ex_2(answer) -> Feedback:
    """Exercise ffn-ex-2: F_41 (token "hat", first column) from the seed's printed row (0.24, 0.22)."""
    return check_number(answer, ex2_answer(), mistakes=_ex2_mistakes(), rtol=1e-3, what="F_41",
                        hint="Go step by step: p = 0.24*0.2 + 0.22*0.2 + 0.1, z = ReLU(p), "
                             "f = z*0.3 + z*0.3 + 0.1.")


# --- Exercise 3: write the FFN -------------------------------------------------------------------

def _reference(X, W1, b1, W2, b2):
    return ffn.feed_forward(X, W1, b1, W2, b2).output


def _make_inputs(rng: np.random.Generator) -> tuple:
    n, d_model, d_ff = rng.integers(1, 6), rng.integers(2, 4), rng.integers(2, 5)
    return (rng.normal(size=(n, d_model)), rng.normal(size=(d_model, d_ff)), rng.normal(size=d_ff),
            rng.normal(size=(d_ff, d_model)), rng.normal(size=d_model))


def _no_relu(X, W1, b1, W2, b2):
    return (X @ W1 + b1) @ W2 + b2


def _relu_on_output_too(X, W1, b1, W2, b2):
    return np.maximum(np.maximum(X @ W1 + b1, 0) @ W2 + b2, 0)


def _b1_after_relu(X, W1, b1, W2, b2):
    return (np.maximum(X @ W1, 0) + b1) @ W2 + b2


def _no_b2(X, W1, b1, W2, b2):
    return np.maximum(X @ W1 + b1, 0) @ W2


EX3_MISTAKES = [
    (_no_relu, "Your function never applies ReLU: negative pre-activations must become 0 before W2."),
    (_relu_on_output_too, "ReLU belongs between the two layers only; the output F = Z W2 + b2 may be negative."),
    (_b1_after_relu, "b1 is added before ReLU: Z = ReLU(H W1 + b1), not ReLU(H W1) + b1."),
    (_no_b2, "You forgot b2: F = Z W2 + b2."),
]


def check_ffn_ex_3(function) -> Feedback:
    """Exercise ffn-ex-3: a function (X, W1, b1, W2, b2) -> F, tested on random inputs."""
    return check_function(function, _reference, _make_inputs, trials=6, seed=3,
                          mistakes=EX3_MISTAKES, what="your feed_forward")


def solution_feed_forward(X, W1, b1, W2, b2):
    """A correct answer to exercise 3 (used by the tests and the grading tool)."""
    hidden = np.maximum(X @ W1 + b1, 0.0)
    return hidden @ W2 + b2


# --- Exercise 4: exploring where ReLU starts to act ------------------------------------------

def _thresholds(source: str = "printed", b1: float = 0.1) -> tuple[np.ndarray, float]:
    """(H W1)_i per token (seed W1, no bias) and b1; P_i = c (H W1)_i + b1 for W1 = c * seed W1."""
    X = pipeline.seed_ffn_input(source)
    xw1 = ffn.affine(X, walkthrough.W1, [0.0, 0.0])[:, 0]
    return xw1, b1


def ex4_answer() -> float:
    """The largest c with every entry of P <= 0 (printed input, b1 = 0.1): c = min_i(-b1 / (H W1)_i)."""
    xw1, b1 = _thresholds()
    return float(np.min(-b1 / xw1))


def check_ffn_ex_4(answer) -> Feedback:
    """Exercise ffn-ex-4: the largest c at which ReLU zeroes every hidden entry (printed input)."""
    xw1, b1 = _thresholds()
    first_zero = float(np.max(-b1 / xw1))
    X = pipeline.seed_ffn_input("printed")
    words = tokens.tokenize(walkthrough.INSTRUCTION)
    without_w1_scale = float(np.min(-b1 / X.sum(axis=1)))
    mistakes = [
        (first_zero, f"At this c ReLU starts to act: only the token with the largest H W1 "
                     f"({words[int(np.argmax(xw1))]!r}) is zeroed. Keep lowering c until every token's "
                     "pre-activation is <= 0."),
        (-ex4_answer(), "Check the sign: with a positive c every pre-activation is positive, "
                        "so c must be negative."),
        (without_w1_scale, "Remember the 0.2 in W1: P_i = c * 0.2 * (h_i1 + h_i2) + 0.1."),
    ]
    return check_number(answer, ex4_answer(), mistakes=mistakes, rtol=1e-2, what="c",
                        hint="P_i = c * 0.2 * (h_i1 + h_i2) + 0.1 <= 0 must hold for every token i; "
                             "the token with the smallest row sum decides.")


SOLUTIONS = {
    "ffn-ex-1": "B",
    "ffn-ex-2": ex2_answer(),
    "ffn-ex-3": solution_feed_forward,
    "ffn-ex-4": ex4_answer(),
}
