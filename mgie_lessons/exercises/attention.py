"""Checkers for the exercises of chapter 2 (self-attention).

Every expected answer and every typical mistake is computed with :mod:`mgie_lessons.attention`
on the seed's data; nothing is typed in. Each ``check_attention_ex_<n>(answer)`` returns a
:class:`~mgie_lessons.exercises.feedback.Feedback`.

=====================  =======================================================================
exercise               answer
=====================  =======================================================================
attention-ex-1         a letter (why the seed's printed softmax rows cannot be right)
attention-ex-2         a number: the weight a_ij with which "hat" attends to "person"
attention-ex-3         a function ``causal_attention_weights(Q, K)`` returning A (Eqs. 2.3, 2.4, 2.6)
attention-ex-4         a pair: Var(q . k) for d_k = 64 without and with the 1/sqrt(d_k) scaling
attention-ex-5         a whole number c: the smallest with W^Q = W^K = c I giving "hat" a weight > 1/2
attention-ex-6         a dict moving ONE word's embedding so that "hat" attends mostly (> 1/2) to "blue"
=====================  =======================================================================
"""

from __future__ import annotations

import numbers

import numpy as np

from .. import attention, pipeline, walkthrough, tokens
from .feedback import Feedback, check_choice, check_function, check_matrix, check_number

__all__ = [
    "check_attention_ex_1",
    "check_attention_ex_2",
    "check_attention_ex_3",
    "check_attention_ex_4",
    "check_attention_ex_5",
    "check_attention_ex_6",
    "changed_words",
    "blue_weight_for_scale",
    "smallest_blue_scale",
    "SOLUTIONS",
]


# ---------------------------------------------------------------------------
# Exercise 1 (conceptual): why the printed softmax rows cannot be right
# ---------------------------------------------------------------------------

_EX1_HINTS = {
    "a": "Softmax does not sort anything: a_ij keeps the order of the scores s~_ij in its row, "
         "whatever that order is.",
    "b": "(b) is a valid proof, but it is not the only valid one among the statements: check (c) too.",
    "c": "(c) is a valid proof, but it is not the only valid one among the statements: check (b) too.",
    "d": "A weight may well exceed 1/n; only the average of a row's weights is 1/n, because they sum to 1.",
    "e": "Both arguments need no exponential: a softmax row sums to exactly 1 (b), and the ratio of "
         "two weights in a row is exp of the difference of their scaled scores (c).",
}


def check_attention_ex_1(answer) -> Feedback:
    """attention-ex-1: one letter, a-e."""
    return check_choice(answer, "e", _EX1_HINTS)


# ---------------------------------------------------------------------------
# Exercise 2 (by hand): the weight with which "hat" attends to "person"
# ---------------------------------------------------------------------------


def _ex2_indices():
    words = pipeline.seed_run().words
    return words.index("hat"), words.index("person")


def _ex2_expected() -> float:
    i, j = _ex2_indices()
    return float(pipeline.seed_run().attention.weights[i, j])


def _ex2_mistakes() -> list[tuple[float, str]]:
    i, j = _ex2_indices()
    result = pipeline.seed_run().attention
    d_k = result.keys.shape[1]
    S, S_scaled = result.scores, result.scaled_scores
    return [
        (attention.softmax(S)[i, j],
         "That is softmax of the raw scores: you forgot to divide Q K^T by sqrt(d_k) (Eq. 2.3)."),
        (attention.softmax(S / d_k)[i, j],
         "You divided the scores by d_k = 2 instead of sqrt(d_k): the variance of a score is d_k, "
         "its standard deviation sqrt(d_k), and the scaling uses the standard deviation."),
        (result.weights[j, i],
         "That is the weight of \"person\" attending to \"hat\" (row person, column hat), which is also "
         "what you get by normalising the column instead of the row. Softmax runs along the row of the "
         "query \"hat\": divide by the sum over all keys j of exp(s~_hat,j)."),
        (attention.softmax(S_scaled, axis=0)[i, j],
         "You normalised the column (summed over queries) instead of the row of \"hat\" (Eq. 2.4)."),
        (S_scaled[i, j],
         "That is the scaled score s~ = q_hat . k_person / sqrt(2); the weight still needs the softmax "
         "over the row."),
        (S[i, j], "That is the raw score q_hat . k_person; scale it and take the softmax over the row."),
        (S_scaled[i, j] / S_scaled[i].sum(),
         "You divided the scaled score by the row's sum of scaled scores: softmax divides exp(s~) by "
         "the sum of exp(s~) over the row."),
        (1.0 / S.shape[1],
         "1/n is the weight of a perfectly uniform row; the seed's row of \"hat\" is close to it but not "
         "equal. Compute the ten exponentials."),
    ]


def check_attention_ex_2(answer) -> Feedback:
    """attention-ex-2: the weight a_{hat, person} of the seed, to at least 4 significant digits."""
    return check_number(answer, _ex2_expected(), mistakes=_ex2_mistakes(), rtol=1e-3,
                        what="a_hat,person",
                        hint="Go step by step: the row of scores q_hat . k_j, divide by sqrt(2), "
                             "exponentiate, divide by the row's sum. Compare each step with "
                             "attention.self_attention(...).")


# ---------------------------------------------------------------------------
# Exercise 3 (coding): causal attention weights
# ---------------------------------------------------------------------------


def _ex3_reference(Q, K):
    values = np.zeros((np.asarray(K).shape[0], 1))
    return attention.scaled_dot_product_attention(Q, K, values, causal=True).weights


def _ex3_logits(Q, K):
    Q, K = np.asarray(Q, dtype=float), np.asarray(K, dtype=float)
    return Q @ K.T / np.sqrt(K.shape[1])


def _ex3_inputs(rng: np.random.Generator):
    n = int(rng.integers(3, 7))
    d_k = int(rng.integers(2, 5))
    return 2.0 * rng.standard_normal((n, d_k)), 2.0 * rng.standard_normal((n, d_k))


def _mask(n):
    return attention.causal_mask(n)


_EX3_MISTAKES = [
    (lambda Q, K: attention.softmax(np.asarray(Q) @ np.asarray(K).T + _mask(len(Q))),
     "The scores are not divided by sqrt(d_k) (Eq. 2.3)."),
    (lambda Q, K: attention.softmax(_ex3_logits(Q, K) / np.sqrt(np.asarray(K).shape[1]) + _mask(len(Q))),
     "You divided by d_k, not sqrt(d_k): the scaling uses the standard deviation of a score, sqrt(d_k)."),
    (lambda Q, K: attention.softmax(_ex3_logits(Q, K) + _mask(len(Q)), axis=0),
     "Your softmax normalises columns; each ROW (one query) must sum to 1: use axis=-1."),
    (lambda Q, K: np.tril(attention.softmax(_ex3_logits(Q, K))),
     "You zeroed the upper triangle after the softmax, so the rows no longer sum to 1. Add the mask "
     "(-inf above the diagonal) to the logits before the softmax."),
    (lambda Q, K: attention.softmax(_ex3_logits(Q, K) + _mask(len(Q)).T),
     "Your mask is transposed: token i must see the tokens j <= i (the lower triangle, with the "
     "diagonal), not the later ones."),
    (lambda Q, K: attention.softmax(_ex3_logits(Q, K)),
     "There is no mask: every token still sees the later ones. Add M with -inf where j > i (Eq. 2.6)."),
    (lambda Q, K: attention.softmax(np.where(np.isinf(_mask(len(Q))), 0.0, _ex3_logits(Q, K))),
     "You set the masked logits to 0, but exp(0) = 1 still gives them weight. Use -inf, so exp gives 0."),
]


def check_attention_ex_3(function) -> Feedback:
    """attention-ex-3: ``function(Q, K)`` must return softmax(Q K^T / sqrt(d_k) + M) row by row."""
    feedback = check_function(function, _ex3_reference, _ex3_inputs, trials=6, seed=2,
                              mistakes=_EX3_MISTAKES, what="causal_attention_weights")
    if not feedback.correct:
        return feedback
    # Huge logits: a softmax that does not subtract the row maximum overflows to inf / inf = NaN.
    rng = np.random.default_rng(7)
    Q = 400.0 * rng.standard_normal((4, 2))
    K = 400.0 * rng.standard_normal((4, 2))
    try:
        with np.errstate(all="ignore"):
            got = np.asarray(function(Q.copy(), K.copy()), dtype=float)
    except Exception as error:  # the student's code: report, never raise
        return Feedback(False, f"causal_attention_weights raised {type(error).__name__} on large inputs: {error}.")
    expected = _ex3_reference(Q, K)
    if got.shape != expected.shape or not np.all(np.isfinite(got)):
        return Feedback(False, "On large scores (about 10^5) your function returns inf or NaN: exp overflows. "
                               "Subtract each row's maximum before exponentiating; it does not change the "
                               "softmax (Eq. 2.7) and keeps every exponent <= 0.")
    if not np.allclose(got, expected, rtol=1e-6, atol=1e-9):
        return Feedback(False, "Your function is right on ordinary inputs but not on large scores; "
                               "check how you guard against overflow.")
    return Feedback(True, "causal_attention_weights agrees with the package on 6 random inputs and stays "
                          "finite for huge scores.")


def _solution_ex_3(Q, K):
    """A correct answer to attention-ex-3, as a student might write it."""
    Q, K = np.asarray(Q, dtype=float), np.asarray(K, dtype=float)
    logits = Q @ K.T / np.sqrt(K.shape[1])
    n = logits.shape[0]
    logits = np.where(np.triu(np.ones((n, n), dtype=bool), k=1), -np.inf, logits)
    logits = logits - logits.max(axis=1, keepdims=True)
    exponentials = np.exp(logits)
    return exponentials / exponentials.sum(axis=1, keepdims=True)


# ---------------------------------------------------------------------------
# Exercise 4 (exploration): the variance of a score
# ---------------------------------------------------------------------------

_EX4_D_K = 64


def _ex4_expected():
    return (attention.expected_score_variance(_EX4_D_K, scale=False),
            attention.expected_score_variance(_EX4_D_K, scale=True))


def check_attention_ex_4(answer) -> Feedback:
    """attention-ex-4: (variance without scaling, variance with scaling) for d_k = 64, within 5 %."""
    unscaled, scaled = _ex4_expected()
    std = np.sqrt(unscaled)
    mistakes = [
        ((std, scaled), "Your first number is the standard deviation sqrt(d_k) of a score, not its "
                        "variance: the variance of a sum of d_k independent unit-variance products is d_k."),
        ((unscaled, unscaled / np.sqrt(_EX4_D_K)),
         "Dividing a random variable by c divides its variance by c^2: dividing the score by sqrt(d_k) "
         "divides its variance by d_k, not by sqrt(d_k)."),
        ((unscaled, unscaled), "The scaling does change the variance: the second number is the variance "
                               "of q . k / sqrt(d_k)."),
        ((scaled, scaled / np.sqrt(_EX4_D_K)),
         "A single product q_i k_i has variance 1, but q . k adds d_k of them, and variances of "
         "independent terms add up."),
        ((scaled, scaled / _EX4_D_K),
         "A single product q_i k_i has variance 1, but q . k adds d_k of them, and variances of "
         "independent terms add up."),
    ]
    return check_matrix(answer, np.array([unscaled, scaled]), mistakes=mistakes, rtol=0.05,
                        what="(Var without scaling, Var with scaling)",
                        hint="Use attention.score_variance(64, 100_000, rng, scale=...) to measure both, "
                             "then explain the numbers with Var(sum) = sum of Var for independent terms.")


# ---------------------------------------------------------------------------
# Exercise 5 (widget): how large must W^Q = W^K = c I be?
# ---------------------------------------------------------------------------

_EX5_QUERY = "hat"


def _ex5_row_max(c: float, *, scale_keys: bool = True, scale: bool = True, query: str = _EX5_QUERY):
    run = pipeline.seed_run()
    token_list, X = run.words, run.X
    identity = np.eye(2)
    result = attention.self_attention(X, c * identity, (c if scale_keys else 1.0) * identity, identity,
                                      scale=scale)
    row = result.weights[token_list.index(query)]
    return float(row.max()), token_list[int(np.argmax(row))]


def _ex5_smallest(**options) -> int:
    c = 1
    while _ex5_row_max(c, **options)[0] <= 0.5:
        c += 1
        if c > 10_000:
            raise RuntimeError("no c up to 10000 gives a weight above 1/2")
    return c


def check_attention_ex_5(answer) -> Feedback:
    """attention-ex-5: the smallest whole c with max_j a_hat,j > 1/2 for W^Q = W^K = c I."""
    if isinstance(answer, bool) or not isinstance(answer, numbers.Real) or not float(answer).is_integer():
        return Feedback(False, f"Answer with a whole number c, got {answer!r}.")
    c = int(answer)
    if c < 1:
        return Feedback(False, "c must be a whole number >= 1.")
    expected = _ex5_smallest()
    weight, winner = _ex5_row_max(c)
    if c == expected:
        return Feedback(True, f"At c = {c} the row of \"{_EX5_QUERY}\" gives {weight:.3f} to \"{winner}\", "
                              f"and at c = {c - 1} the largest weight is still "
                              f"{_ex5_row_max(c - 1)[0]:.3f}.")
    if c == _ex5_smallest(scale_keys=False):
        return Feedback(False, "That is the threshold when only W^Q is scaled. With W^Q = W^K = c I both "
                               "q and k grow, so the scores grow like c^2.")
    if c == _ex5_smallest(scale=False):
        return Feedback(False, "That is the threshold with the scaling switched off; keep the "
                               "'divide by sqrt(d_k)' box ticked.")
    if c < expected:
        return Feedback(False, f"At c = {c} the largest weight in the row of \"{_EX5_QUERY}\" is only "
                               f"{weight:.3f} (on \"{winner}\"); increase c.")
    return Feedback(False, f"c = {c} works ({weight:.3f} on \"{winner}\"), but a smaller c already does; "
                           f"find the smallest.")


# ---------------------------------------------------------------------------
# Exercise 6 (challenge): make "hat" attend mostly to "blue"
# ---------------------------------------------------------------------------


def _ex6_weights(embeddings: dict):
    token_list = pipeline.seed_run().words
    table = dict(walkthrough.EMBEDDING_TABLE)
    table.update({word: tuple(np.asarray(vector, dtype=float)) for word, vector in embeddings.items()})
    X = tokens.embedding_matrix(token_list, table)
    result = attention.self_attention(X, walkthrough.W_Q, walkthrough.W_K, walkthrough.W_V)
    return token_list, X, result.weights


def changed_words(embeddings: dict) -> list[str]:
    """The words whose vector in ``embeddings`` differs from the seed's table (attention-ex-6)."""
    return sorted(word for word, vector in embeddings.items()
                  if not np.allclose(np.asarray(vector, dtype=float), walkthrough.EMBEDDING_TABLE[word]))


def blue_weight_for_scale(c: float) -> float:
    """The weight "hat" gives "blue" when only "blue" moves, to c times the vector of "hat"."""
    hat = np.asarray(walkthrough.EMBEDDING_TABLE["hat"], dtype=float)
    token_list, _, weights = _ex6_weights({"blue": tuple(c * hat)})
    return float(weights[token_list.index("hat"), token_list.index("blue")])


def smallest_blue_scale() -> int:
    """The smallest whole c for which "blue" = c x_hat (only "blue" moved) gets a weight > 1/2."""
    c = 1
    while blue_weight_for_scale(c) <= 0.5:
        c += 1
    return c


def check_attention_ex_6(answer) -> Feedback:
    """attention-ex-6: a dict word -> 2-d vector changing ONE word; "hat" must give "blue" a weight > 1/2."""
    token_list = pipeline.seed_run().words
    if not isinstance(answer, dict) or not answer:
        return Feedback(False, 'Answer with a dict of new embeddings, e.g. {"blue": (0.1, 0.3)}.')
    for word, vector in answer.items():
        if word not in token_list:
            return Feedback(False, f"{word!r} is not a word of the instruction; use some of {sorted(set(token_list))}.")
        array = np.asarray(vector, dtype=float) if not isinstance(vector, str) else None
        if array is None or array.shape != (2,) or not np.all(np.isfinite(array)):
            return Feedback(False, f"The embedding of {word!r} must be two finite numbers, got {vector!r}.")
    _, X, weights = _ex6_weights(answer)
    moved = changed_words(answer)
    hat, blue, to = token_list.index("hat"), token_list.index("blue"), token_list.index("to")
    row = weights[hat]
    winner = int(np.argmax(row))
    if row[blue] > 0.5 and len(moved) == 1:
        return Feedback(True, f"Only \"{moved[0]}\" moved, and \"hat\" now gives \"blue\" the weight {row[blue]:.3f}.")
    if row[blue] > 0.5:
        return Feedback(False, f"\"hat\" gives \"blue\" {row[blue]:.3f}, but you changed {len(moved)} words "
                               f"({', '.join(moved)}). One word is enough: which one has to move in any case?")
    if not moved:
        return Feedback(False, "These are the seed's own vectors: nothing changed. Move one word.")
    if np.allclose(X[blue], X[to]):
        return Feedback(False, f"\"blue\" and \"to\" have the same embedding, so \"hat\" gives them the same "
                               f"weight ({row[blue]:.3f} each): neither can get more than one half. "
                               "Give \"blue\" a vector of its own.")
    if winner == hat:
        return Feedback(False, f"\"hat\" attends mostly to itself ({row[hat]:.3f}): its score with itself is "
                               "|x_hat|^2. Make x_blue . x_hat larger than x_hat . x_hat, e.g. a \"blue\" "
                               "longer than \"hat\" in the same direction.")
    if winner == blue:
        return Feedback(False, f"\"blue\" already gets the largest weight, but only {row[blue]:.3f}: the score "
                               "gaps are too small. Scores are dot products, so a longer \"blue\" makes a "
                               "larger gap; you need a gap of about ln 9 ~ 2.2 over the other nine keys.")
    return Feedback(False, f"The row of \"hat\" puts its largest weight, {row[winner]:.3f}, on "
                           f"\"{token_list[winner]}\". The score of key j is x_hat . x_j: point \"blue\" "
                           "along \"hat\" and make it long.")


# ---------------------------------------------------------------------------
# Correct answers, for the tests and the instructor's grading tool
# ---------------------------------------------------------------------------

SOLUTIONS = {
    "attention-ex-1": "e",
    "attention-ex-2": _ex2_expected(),
    "attention-ex-3": _solution_ex_3,
    "attention-ex-4": _ex4_expected(),
    "attention-ex-5": _ex5_smallest(),
    "attention-ex-6": {"blue": tuple(float(smallest_blue_scale() * v) for v in walkthrough.EMBEDDING_TABLE["hat"])},
}
