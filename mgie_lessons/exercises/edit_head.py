"""Checkers for the exercises of chapter 10 (the edit head and the denoiser's cross-attention).

Each ``check_edit_head_ex_<n>(answer)`` returns a :class:`Feedback`. Expected answers and the
typical wrong answers are computed with :mod:`mgie_lessons.edit_head`, never typed in.
"""

from __future__ import annotations

import numpy as np

from .. import attention, edit_head as eh, pipeline
from .feedback import Feedback, check_choice, check_function, check_matrix, check_number

__all__ = [
    "check_edit_head_ex_1",
    "check_edit_head_ex_2",
    "check_edit_head_ex_3",
    "check_edit_head_ex_4",
    "check_edit_head_ex_5",
    "SOLUTIONS",
    "EX2_ROW",
]

#: Exercise 2: the row to layer-normalise by hand.
EX2_ROW = (1.0, 2.0, 3.0, 6.0)


# --- Exercise 1: shuffling the [IMG] states (multiple choice) ----------------

def _shuffle_gap() -> float:
    states = pipeline.seed_run().img_states
    params = eh.init_edit_head_params()
    order = np.arange(8)[::-1]
    U = eh.edit_head(states.hidden_states, params, states.img_embeddings).U
    U_shuffled = eh.edit_head(states.hidden_states[order], params, states.img_embeddings[order]).U
    return float(np.abs(U - U_shuffled).max())


def check_edit_head_ex_1(answer) -> Feedback:
    """What happens to U when the 8 [IMG] states (with their embeddings) are fed in reverse order?"""
    gap = _shuffle_gap()
    hints = {
        "a": ("The rows of U belong to the 77 learned queries, not to the 8 [IMG] states; the queries "
              "were not reordered."),
        "b": ("Right: with no positional encoding the encoder just carries the reordering along, and the "
              "decoder's cross-attention sums over the memory rows, so order cannot matter. Computed: "
              f"the largest change in U is {'below 1e-12' if gap < 1e-12 else f'{gap:.1e}'}, rounding only."),
        "c": ("The encoder does mix the states, but without positions every state is treated alike: "
              "reordering the inputs reorders the memory rows the same way, and a sum over keys and "
              "values does not depend on their order."),
        "d": "Nothing acts on the columns of U except W_out, which is fixed.",
    }
    return check_choice(answer, "b", hints)


# --- Exercise 2: a layer norm by hand -------------------------------------------

def check_edit_head_ex_2(answer) -> Feedback:
    """LN(x) for x = (1, 2, 3, 6), gamma = 1, beta = 0, eps = 1e-5 (Eq. 10.2)."""
    x = np.array([EX2_ROW])
    expected = eh.layer_norm(x)[0]
    centred = x[0] - x[0].mean()
    unbiased = centred / np.sqrt(x[0].var(ddof=1) + 1e-5)
    by_variance = centred / x[0].var()
    not_centred = x[0] / x[0].std()
    return check_matrix(
        answer, expected, what="LN(x)",
        mistakes=[
            (unbiased, "You used the unbiased variance (dividing by n - 1 = 3). Layer norm divides by n = 4."),
            (by_variance, "You divided by the variance; divide by its square root (the standard deviation)."),
            (not_centred, "Subtract the mean (3) before dividing by the standard deviation."),
            (centred, "That is x minus its mean; now divide by sqrt(variance + eps)."),
        ],
        hint="Mean of the four entries, variance = mean of the squared differences, then "
             "(x - mean) / sqrt(variance + 0.00001).")


# --- Exercise 3: parameters of one decoder layer in MGIE's sizes ----------------

def check_edit_head_ex_3(answer) -> Feedback:
    """How many parameters has one decoder layer of MGIE's EditMapper (d = 512, d_ff = 2048)?"""
    d, d_ff = eh.MGIE_EDIT_HEAD["d_model"], eh.MGIE_EDIT_HEAD["d_ff"]
    counts = eh.layer_parameter_counts(d, d_ff)
    expected = counts["decoder_layer"]
    no_biases = 2 * 4 * d * d + 2 * d * d_ff
    no_norms = expected - 3 * counts["norm"]
    no_cross = counts["decoder_layer"] - counts["attention"]
    no_out_projection = expected - 2 * (d * d + d)
    mistakes = [
        (no_biases, "You counted the weight matrices only; every Linear also has a bias, and each of the "
                    "three LayerNorms has gamma and beta (2 x 512)."),
        (no_norms, "Add the three LayerNorms: each has gamma and beta, 2 x 512 numbers."),
        (no_cross, "A decoder layer has two attention blocks: self-attention over the queries and "
                   "cross-attention to the memory."),
        (counts["encoder_layer"], "That is an encoder layer: the decoder adds a cross-attention block and a third norm."),
        (no_out_projection, "Each attention block also has an output projection W_o (512 x 512) with its bias."),
    ]
    return check_number(answer, expected, mistakes=mistakes, rtol=0, atol=0.5, what="the parameter count",
                        hint="Count per block: attention 4(d^2 + d), FFN 2 d d_ff + d_ff + d, LayerNorm 2 d; "
                             "a decoder layer has 2 attention blocks, 1 FFN and 3 LayerNorms.")


# --- Exercise 4: write the head split ---------------------------------------------

def _heads_inputs(rng):
    n_heads = int(rng.choice([2, 4]))
    d = n_heads * int(rng.integers(1, 4))
    n_q, n_k = int(rng.integers(2, 6)), int(rng.integers(2, 6))
    return rng.normal(size=(n_q, d)), rng.normal(size=(n_k, d)), rng.normal(size=(n_k, d)), n_heads


def _reference_heads(Q, K, V, n_heads):
    # Eq. 10.3 after the projections: head h is chapter 2's attention on columns h*d_head.. of Q, K, V
    d_head = Q.shape[1] // n_heads
    outputs = []
    for h in range(n_heads):
        cols = slice(h * d_head, (h + 1) * d_head)
        outputs.append(attention.scaled_dot_product_attention(Q[:, cols], K[:, cols], V[:, cols]).output)
    return np.hstack(outputs)


def _scaled_by_d_model(Q, K, V, n_heads):
    return _reference_heads(Q / np.sqrt(n_heads), K, V, n_heads)   # scores / sqrt(d_head * n_heads)


def _single_head(Q, K, V, n_heads):
    return attention.scaled_dot_product_attention(Q, K, V).output


def _softmax_over_queries(Q, K, V, n_heads):
    d_head = Q.shape[1] // n_heads
    outputs = []
    for h in range(n_heads):
        cols = slice(h * d_head, (h + 1) * d_head)
        scores = Q[:, cols] @ K[:, cols].T / np.sqrt(d_head)
        outputs.append(attention.softmax(scores, axis=0) @ V[:, cols])
    return np.hstack(outputs)


def check_edit_head_ex_4(student_function) -> Feedback:
    """``split_heads_attention(Q, K, V, n_heads)``: Eq. 10.3 without the projections."""
    return check_function(
        student_function, _reference_heads, _heads_inputs,
        mistakes=[
            (_scaled_by_d_model, "Each head divides by sqrt(d_head) = sqrt(d_model / n_heads), not by sqrt(d_model)."),
            (_single_head, "That is one head over all the columns; split the columns into n_heads groups "
                           "and attend within each group."),
            (_softmax_over_queries, "The softmax runs along each row (over the keys), so that every query's "
                                    "weights sum to 1."),
        ],
        what="split_heads_attention")


# --- Exercise 5: a single row of U -------------------------------------------------

def _single_query_weight() -> float:
    example = eh.ChapterExample(n_queries=1)
    return float(example.attention_map(0).mean())


def check_edit_head_ex_5(answer) -> Feedback:
    """With one learned query, what weight does every image position give to row 0 of U?"""
    expected = _single_query_weight()
    positions = eh.ChapterExample(n_queries=1).features.shape[0]
    mistakes = [
        (1 / eh.MGIE_EDIT_HEAD["n_queries"], "1/77 is the average weight per row when U has 77 rows. With one "
                                             "row, each position's weights (which sum to 1) all go to it."),
        (1 / positions, f"The weights of one position sum to 1 over the rows of U, not over the {positions} "
                        "positions."),
    ]
    return check_number(answer, expected, mistakes=mistakes, what="the weight",
                        hint="Each image position's attention weights sum to 1 over the rows of U.")


def _solution_split_heads(Q, K, V, n_heads):
    d_head = Q.shape[1] // n_heads
    outputs = []
    for h in range(n_heads):
        q, k, v = (M[:, h * d_head:(h + 1) * d_head] for M in (Q, K, V))
        scores = q @ k.T / np.sqrt(d_head)
        weights = np.exp(scores - scores.max(axis=1, keepdims=True))
        weights /= weights.sum(axis=1, keepdims=True)
        outputs.append(weights @ v)
    return np.hstack(outputs)


SOLUTIONS = {
    "edit_head-ex-1": "b",
    "edit_head-ex-2": eh.layer_norm([EX2_ROW])[0].tolist(),
    "edit_head-ex-3": eh.layer_parameter_counts(eh.MGIE_EDIT_HEAD["d_model"], eh.MGIE_EDIT_HEAD["d_ff"])["decoder_layer"],
    "edit_head-ex-4": _solution_split_heads,
    "edit_head-ex-5": _single_query_weight(),
}
