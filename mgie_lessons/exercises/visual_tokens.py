"""Checkers for the chapter 4 exercises (visual tokens and the edit head).

Expected answers and typical mistakes are computed with :mod:`mgie_lessons.visual_tokens`
and :mod:`mgie_lessons.attention`.
"""

from __future__ import annotations

import numpy as np

from .. import attention, pipeline
from .. import visual_tokens as vt
from .feedback import Feedback, check_choice, check_function, check_number

__all__ = [
    "check_visual_tokens_ex_1",
    "check_visual_tokens_ex_2",
    "check_visual_tokens_ex_3",
    "check_visual_tokens_ex_4",
    "check_visual_tokens_ex_5",
    "ex2_answer",
    "ex4_answer",
    "SOLUTIONS",
]

# --- Exercise 1: why 77 x 768? --------------------------------------------------------------------

EX1_HINTS = {
    "A": "MGIE has 8 [IMG] tokens and its language model is 4096 wide; 77 and 768 are neither. "
         "Think about who reads U.",
    "B": "U takes the place of Stable Diffusion 1.5's CLIP text embedding (77 tokens x 768), so the "
         "UNet's cross-attention can read it unchanged.",
    "C": "LLaVA's image becomes 256 patch tokens ((224/14)^2) of the vision tower; U is made from the "
         "[IMG] hidden states, not from patches.",
    "D": "Nothing is repeated: each of the 77 learned queries attends to all 8 states and gets its own mix.",
}


def check_visual_tokens_ex_1(answer) -> Feedback:
    """Exercise visual_tokens-ex-1 (multiple choice): why does MGIE's U have shape 77 x 768?"""
    return check_choice(answer, "B", EX1_HINTS)


# --- Exercise 2: one cross-attention weight by hand --------------------------------------------

EX2_HIDDEN = np.array([vt.seed_visual_tokens()[0], vt.seed_visual_tokens()[3]])   # u_1 and u_4
EX2_QUERY = np.array([[1.0, 0.0]])
EX2_IDENTITY = np.eye(2)


def ex2_answer() -> float:
    """The weight the query (1, 0) puts on u_4 (identity projections, Eq. 4.4)."""
    result = vt.edit_head_cross_attention(EX2_HIDDEN, EX2_QUERY, EX2_IDENTITY, EX2_IDENTITY, EX2_IDENTITY)
    return float(result.weights[0, 1])


def _ex2_mistakes() -> list[tuple[float, str]]:
    unscaled = attention.scaled_dot_product_attention(EX2_QUERY, EX2_HIDDEN, EX2_HIDDEN, scale=False)
    scores = (EX2_QUERY @ EX2_HIDDEN.T)[0]
    return [
        (float(unscaled.weights[0, 1]), "You forgot to divide the scores by sqrt(d_k) = sqrt(2) before softmax."),
        (1 - ex2_answer(), "That is the weight on u_1; the question asks for the weight on u_4."),
        (0.5, "The two scores differ (0.1 and 0.4), so the weights are not equal: apply softmax to "
              "the scaled scores."),
        (float(scores[1] / scores.sum()), "Softmax uses exponentials: exp(s_4) / (exp(s_1) + exp(s_4)), "
                                          "not s_4 / (s_1 + s_4)."),
    ]


def check_visual_tokens_ex_2(answer) -> Feedback:
    """Exercise visual_tokens-ex-2: the weight of the query (1, 0) on u_4 among u_1, u_4."""
    return check_number(answer, ex2_answer(), mistakes=_ex2_mistakes(), rtol=2e-3, what="the weight",
                        hint="Scores q.u_1 = 0.1 and q.u_4 = 0.4; divide by sqrt(2); then softmax.")


# --- Exercise 3: write the cross-attention ------------------------------------------------------

def _reference(hidden_states, queries, W_q, W_k, W_v):
    return vt.edit_head_cross_attention(hidden_states, queries, W_q, W_k, W_v).output


def _make_inputs(rng: np.random.Generator) -> tuple:
    m, q, d = rng.integers(2, 6), rng.integers(2, 7), rng.integers(2, 5)
    d_k, d_v = rng.integers(2, 5), rng.integers(1, 4)
    return (rng.normal(size=(m, d)), rng.normal(size=(q, d)), rng.normal(size=(d, d_k)),
            rng.normal(size=(d, d_k)), rng.normal(size=(d, d_v)))


def _softmax_rows(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _keys_from_queries(H, Q0, W_q, W_k, W_v):
    Q, K, V = Q0 @ W_q, Q0 @ W_k, Q0 @ W_v
    return _softmax_rows(Q @ K.T / np.sqrt(K.shape[1])) @ V


def _columns_normalised(H, Q0, W_q, W_k, W_v):
    Q, K, V = Q0 @ W_q, H @ W_k, H @ W_v
    s = Q @ K.T / np.sqrt(K.shape[1])
    e = np.exp(s - s.max(axis=0, keepdims=True))
    return (e / e.sum(axis=0, keepdims=True)) @ V


def _no_scaling(H, Q0, W_q, W_k, W_v):
    Q, K, V = Q0 @ W_q, H @ W_k, H @ W_v
    return _softmax_rows(Q @ K.T) @ V


def _hidden_states_ask(H, Q0, W_q, W_k, W_v):
    Q, K, V = H @ W_q, Q0 @ W_k, Q0 @ W_v
    return _softmax_rows(Q @ K.T / np.sqrt(K.shape[1])) @ V


EX3_MISTAKES = [
    (_keys_from_queries, "Keys and values must come from the [IMG] hidden states (H W_k, H W_v); yours come "
                         "from the queries, which is self-attention among the queries."),
    (_columns_normalised, "Normalise each row (one query's weights over the m tokens), not each column."),
    (_no_scaling, "Divide the scores by sqrt(d_k) before softmax."),
    (_hidden_states_ask, "The roles are swapped: the learned queries ask (Q = Q_edit W_q) and the hidden "
                         "states answer (K = H W_k, V = H W_v)."),
]


def check_visual_tokens_ex_3(function) -> Feedback:
    """Exercise visual_tokens-ex-3: a function (H, Q_edit, W_q, W_k, W_v) -> C, on random inputs."""
    return check_function(function, _reference, _make_inputs, trials=6, seed=4,
                          mistakes=EX3_MISTAKES, what="your cross_attention")


def solution_cross_attention(H, Q_edit, W_q, W_k, W_v):
    """A correct answer to exercise 3."""
    Q, K, V = Q_edit @ W_q, H @ W_k, H @ W_v
    scores = Q @ K.T / np.sqrt(K.shape[1])
    weights = np.exp(scores - scores.max(axis=1, keepdims=True))
    weights /= weights.sum(axis=1, keepdims=True)
    return weights @ V


# --- Exercise 4: one [IMG] token ---------------------------------------------------------------

def ex4_answer(n_queries: int = 6) -> int:
    """Distinct rows of U with a single [IMG] token (computed with the toy pipeline)."""
    _, head = vt.seed_edit_head(n_tokens=1, n_queries=n_queries)
    return vt.distinct_rows(head.output)


def check_visual_tokens_ex_4(answer) -> Feedback:
    """Exercise visual_tokens-ex-4: with m = 1, how many distinct rows does U have?"""
    count_rows = ("Count distinct rows, not rows: with one [IMG] token every weight is 1, so every "
                  "query gets the same value vector.")
    mistakes = [(float(q), count_rows) for q in range(2, 17)] + [
        (77.0, "77 is what MGIE's transformer head would give (its residual connections keep each "
               "query's own row); this toy has no residual, so count its distinct rows with one [IMG] token."),
        (0.0, "U always has rows, one per query; how many different ones are there?"),
    ]
    return check_number(answer, ex4_answer(), mistakes=mistakes, rtol=0, atol=1e-9,
                        what="the number of distinct rows",
                        hint="Look at the weights table with m = 1: every entry is 1.")


# --- Exercise 5: what "u_i = Tokenize(E)" means --------------------------------------------------

def _ffn_output_level() -> float:
    """The mean entry of chapter 3's FFN output (the seed's E), computed from the seed's inputs."""
    return float(pipeline.seed_run().ffn_output.mean())


EX5_HINTS = {
    "A": "The seed never defines Tokenize, and its u_i are not pieces of its FFN output: "
         "compare the numbers.",
    "B": "The seed types u_1..u_4 in. MGIE computes its visual tokens: the hidden states that predict "
         "8 appended [IMG] tokens (one position before each), mapped by the edit head to U.",
    "C": "CLIP patch features enter LLaVA as input tokens; the visual tokens MGIE hands to the "
         "diffusion model are the hidden states that predict the [IMG] tokens.",
    "D": f"Computed correctly, every entry of the seed's FFN output is about {_ffn_output_level():.2f}, "
         "while the u_i are 0.1, 0.2, 0.3, 0.4 per coordinate: they are not rows of E.",
}


def check_visual_tokens_ex_5(answer) -> Feedback:
    """Exercise visual_tokens-ex-5 (multiple choice): where do visual tokens come from?"""
    return check_choice(answer, "B", EX5_HINTS)


SOLUTIONS = {
    "visual_tokens-ex-1": "B",
    "visual_tokens-ex-2": ex2_answer(),
    "visual_tokens-ex-3": solution_cross_attention,
    "visual_tokens-ex-4": ex4_answer(),
    "visual_tokens-ex-5": "B",
}
