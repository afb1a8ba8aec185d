"""Tests for mgie_lessons.attention (chapter 2).

Expected values are derived by hand in the tests (dot products of the seed's 2-d embeddings) or
exactly with sympy; none is pasted from the code's output.
"""

import math

import numpy as np
import pytest
import sympy
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mgie_lessons import attention, walkthrough, tokens

# ---------------------------------------------------------------------------
# Helpers and strategies
# ---------------------------------------------------------------------------

TOKENS, X_SEED = tokens.embed(walkthrough.INSTRUCTION)
I2 = np.eye(2)


def seed_result(**options):
    return attention.self_attention(X_SEED, walkthrough.W_Q, walkthrough.W_K, walkthrough.W_V, **options)


finite = st.floats(min_value=-5, max_value=5, allow_nan=False, allow_infinity=False)


@st.composite
def token_matrices(draw, min_rows=2, max_rows=6, d=2):
    n = draw(st.integers(min_rows, max_rows))
    return draw(arrays(float, (n, d), elements=finite))


@st.composite
def weight_matrices(draw, d=2):
    return draw(arrays(float, (d, d), elements=st.floats(min_value=-3, max_value=3, allow_nan=False)))


# ---------------------------------------------------------------------------
# softmax (Eq. 2.4)
# ---------------------------------------------------------------------------


def test_softmax_by_hand():
    # exp(0) : exp(ln 2) : exp(ln 3) = 1 : 2 : 3, so the weights are 1/6, 2/6, 3/6.
    np.testing.assert_allclose(attention.softmax([0.0, math.log(2), math.log(3)]), [1 / 6, 2 / 6, 3 / 6])


@given(arrays(float, st.tuples(st.integers(1, 5), st.integers(1, 6)),
              elements=st.floats(min_value=-1e300, max_value=1e300, allow_nan=False, allow_infinity=False)))
def test_softmax_rows_sum_to_one_and_stay_finite_for_huge_logits(logits):
    weights = attention.softmax(logits)
    assert np.all(np.isfinite(weights))
    assert np.all(weights >= 0)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-12)


@given(arrays(float, (3, 4), elements=st.floats(-50, 50)),
       arrays(float, (3, 1), elements=st.floats(-1e3, 1e3)))
def test_softmax_is_invariant_to_adding_a_constant_per_row(logits, shift):
    np.testing.assert_allclose(attention.softmax(logits + shift), attention.softmax(logits), atol=1e-12)


def test_softmax_gives_zero_weight_to_minus_infinity():
    np.testing.assert_allclose(attention.softmax([[0.0, -np.inf, 0.0]]), [[0.5, 0.0, 0.5]])


def test_softmax_along_columns():
    np.testing.assert_allclose(attention.softmax([[0.0, 1.0], [0.0, 1.0]], axis=0), [[0.5, 0.5], [0.5, 0.5]])


@pytest.mark.parametrize("logits, axis, message", [
    (3.0, -1, "x must have at least one dimension"),
    ([[1.0, 2.0]], 2, "axis"),
    ([np.nan, 1.0], -1, "x contains NaN"),
    ([np.inf, 1.0], -1, "x contains \\+inf"),
    (np.zeros((2, 0)), -1, "x must not be empty"),
    ([[-np.inf, -np.inf]], -1, "entirely -inf"),
])
def test_softmax_rejects_bad_input(logits, axis, message):
    with pytest.raises(ValueError, match=message):
        attention.softmax(logits, axis=axis)


# ---------------------------------------------------------------------------
# causal mask (Eq. 2.6)
# ---------------------------------------------------------------------------


def test_causal_mask_by_hand():
    inf = np.inf
    expected = np.array([[0, -inf, -inf], [0, 0, -inf], [0, 0, 0]])
    np.testing.assert_array_equal(attention.causal_mask(3), expected)


@pytest.mark.parametrize("n", [0, -1, 2.5, True, "3"])
def test_causal_mask_rejects_bad_n(n):
    with pytest.raises(ValueError, match="n must be a whole number"):
        attention.causal_mask(n)


@given(token_matrices(), weight_matrices(), weight_matrices())
def test_causal_mask_zeroes_the_upper_triangle(X, W_q, W_k):
    result = attention.self_attention(X, W_q, W_k, I2, causal=True)
    assert np.all(np.triu(result.weights, k=1) == 0.0)
    np.testing.assert_allclose(result.weights.sum(axis=1), 1.0)
    assert result.weights[0, 0] == pytest.approx(1.0)   # the first token only sees itself


def test_causal_last_row_equals_unmasked_last_row():
    # The last token sees every token, so its row is the same with and without the mask.
    np.testing.assert_allclose(seed_result(causal=True).weights[-1], seed_result().weights[-1])


# ---------------------------------------------------------------------------
# The seed's example (Eqs. 2.1-2.5)
# ---------------------------------------------------------------------------


def test_identity_weights_copy_X():
    result = seed_result()
    for field in ("queries", "keys", "values"):
        np.testing.assert_array_equal(getattr(result, field), X_SEED)


def test_seed_scores_by_hand():
    S = seed_result().scores
    # "Add" . "blue" = (0.1, 0.2) . (0.1, 0.3) = 0.01 + 0.06 = 0.07 (the seed prints 0.09).
    assert S[0, 2] == pytest.approx(0.07)
    # "hat" . "person" = 0.3 * 0.3 + 0.2 * 0.3 = 0.15
    assert S[3, 6] == pytest.approx(0.15)
    # "person" . "person" = 0.09 + 0.09 = 0.18, the largest score
    assert S[6, 6] == pytest.approx(0.18)
    assert S.max() == pytest.approx(0.18)
    # "Add" . "a" = 0.02 + 0.02 = 0.04, the smallest score
    assert S.min() == pytest.approx(0.04)
    np.testing.assert_allclose(S, S.T)   # Q = K, so S is symmetric


def test_seed_scaled_scores_divide_by_sqrt_two():
    result = seed_result()
    np.testing.assert_allclose(result.scaled_scores, result.scores / math.sqrt(2), rtol=1e-15)
    # Range of the seed's scaled scores: [0.04, 0.18] / sqrt(2).
    assert result.scaled_scores.min() == pytest.approx(0.04 / math.sqrt(2))
    assert result.scaled_scores.max() == pytest.approx(0.18 / math.sqrt(2))


def test_seed_weight_hat_person_by_hand():
    row = np.array([x @ np.array([0.3, 0.2]) for x in X_SEED]) / math.sqrt(2)
    expected = math.exp(0.15 / math.sqrt(2)) / np.exp(row).sum()
    assert seed_result().weights[3, 6] == pytest.approx(expected, rel=1e-12)


def test_seed_output_is_close_to_the_mean_value_vector():
    # Nearly uniform weights average the value vectors: every output row is close to mean(X).
    mean = X_SEED.mean(axis=0)
    np.testing.assert_allclose(mean, [0.19, 0.21])
    np.testing.assert_allclose(seed_result().output, np.tile(mean, (10, 1)), atol=2e-3)


def test_other_two_by_two_weights_by_hand():
    swap = np.array([[0.0, 1.0], [1.0, 0.0]])
    stretch = np.array([[1.0, 0.0], [0.0, 2.0]])
    result = attention.self_attention(X_SEED, swap, stretch, 2 * I2)
    np.testing.assert_allclose(result.queries, X_SEED[:, ::-1])
    np.testing.assert_allclose(result.keys, X_SEED * [1.0, 2.0])
    np.testing.assert_allclose(result.values, 2 * X_SEED)
    # q_Add = (0.2, 0.1), k_blue = (0.1, 0.6): 0.02 + 0.06 = 0.08
    assert result.scores[0, 2] == pytest.approx(0.08)
    # q_blue = (0.3, 0.1), k_Add = (0.1, 0.4): 0.03 + 0.04 = 0.07: Q != K, S is no longer symmetric
    assert result.scores[2, 0] == pytest.approx(0.07)


def test_no_scaling_and_temperature():
    plain = seed_result(scale=False)
    np.testing.assert_allclose(plain.scaled_scores, plain.scores)
    hot = seed_result(temperature=0.5)
    np.testing.assert_allclose(hot.scaled_scores, seed_result().scaled_scores * 2)


@given(st.floats(min_value=0.2, max_value=5.0))
def test_scaling_X_by_c_equals_temperature_one_over_c_squared(c):
    scaled_X = attention.self_attention(c * X_SEED, I2, I2, I2)
    cooled = attention.self_attention(X_SEED, I2, I2, I2, temperature=1 / c ** 2)
    np.testing.assert_allclose(scaled_X.weights, cooled.weights, rtol=1e-10, atol=1e-14)


def test_cross_attention_shapes():
    result = attention.scaled_dot_product_attention(np.ones((3, 2)), np.ones((5, 2)), np.ones((5, 4)))
    assert result.weights.shape == (3, 5)
    assert result.output.shape == (3, 4)
    np.testing.assert_allclose(result.weights, 0.2)


def test_additive_mask():
    mask = np.array([[0.0, -np.inf], [0.0, 0.0]])
    result = attention.scaled_dot_product_attention(np.ones((2, 2)), np.ones((2, 2)), np.eye(2), mask=mask)
    np.testing.assert_allclose(result.weights, [[1.0, 0.0], [0.5, 0.5]])


@pytest.mark.parametrize("call, message", [
    (lambda: attention.self_attention([[np.nan, 0.1]], I2, I2, I2), "X contains NaN"),
    (lambda: attention.self_attention(X_SEED, np.eye(3), I2, I2), "W_q must have shape"),
    (lambda: attention.self_attention(X_SEED, I2, np.ones((2, 3)), I2), "W_k must have shape"),
    (lambda: attention.self_attention(X_SEED, I2, I2, np.ones((3, 2))), "W_v must have shape"),
    (lambda: attention.self_attention(np.zeros((0, 2)), I2, I2, I2), "X must not be empty"),
    (lambda: attention.self_attention(X_SEED, I2, I2, I2, temperature=0), "temperature must be > 0"),
    (lambda: attention.self_attention(X_SEED, I2, I2, I2, temperature=-1), "temperature must be > 0"),
    (lambda: attention.self_attention(X_SEED, I2, I2, I2, temperature=np.nan), "temperature must be a real"),
    (lambda: attention.scaled_dot_product_attention(np.ones((2, 2)), np.ones((3, 2)), np.ones((3, 1)),
                                                    causal=True), "causal=True needs as many queries"),
    (lambda: attention.scaled_dot_product_attention(np.ones((2, 2)), np.ones((2, 3)), np.ones((2, 1))),
     "K must have shape"),
    (lambda: attention.scaled_dot_product_attention(np.ones((2, 2)), np.ones((2, 2)), np.ones((3, 1))),
     "V must have shape"),
    (lambda: attention.scaled_dot_product_attention(np.ones((2, 2)), np.ones((2, 2)), np.ones((2, 1)),
                                                    mask=np.zeros((3, 3))), "mask must have shape"),
    (lambda: attention.scaled_dot_product_attention(np.ones((2, 2)), np.ones((2, 2)), np.ones((2, 1)),
                                                    mask=np.full((2, 2), np.nan)), "mask may only contain"),
])
def test_attention_rejects_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ---------------------------------------------------------------------------
# Permutation equivariance (Eq. 2.10)
# ---------------------------------------------------------------------------


@given(token_matrices(), weight_matrices(), weight_matrices(), weight_matrices(), st.randoms())
def test_unmasked_attention_is_permutation_equivariant(X, W_q, W_k, W_v, random):
    order = list(range(X.shape[0]))
    random.shuffle(order)
    P = attention.permutation_matrix(order)
    original = attention.self_attention(X, W_q, W_k, W_v)
    permuted = attention.self_attention(P @ X, W_q, W_k, W_v)
    np.testing.assert_allclose(permuted.output, P @ original.output, atol=1e-10)
    np.testing.assert_allclose(permuted.weights, P @ original.weights @ P.T, atol=1e-10)


def test_causal_attention_is_not_permutation_equivariant():
    P = attention.permutation_matrix(list(range(9, -1, -1)))   # reverse the sentence
    original = seed_result(causal=True)
    reversed_ = attention.self_attention(P @ X_SEED, I2, I2, I2, causal=True)
    assert not np.allclose(reversed_.output, P @ original.output, atol=1e-6)


def test_permutation_matrix_by_hand():
    P = attention.permutation_matrix([2, 0, 1])
    np.testing.assert_array_equal(P @ np.array([10.0, 20.0, 30.0]), [30.0, 10.0, 20.0])


@pytest.mark.parametrize("order, message", [
    ([0, 0, 1], "each of 0..2 exactly once"),
    ([1, 2, 3], "each of 0..2 exactly once"),
    ([0.5, 1], "whole numbers"),
    ([], "order must not be empty"),
    ([[0, 1]], "order must have shape"),
])
def test_permutation_matrix_rejects_bad_order(order, message):
    with pytest.raises(ValueError, match=message):
        attention.permutation_matrix(order)


# ---------------------------------------------------------------------------
# Exact (sympy) versions
# ---------------------------------------------------------------------------


def test_exact_scores_are_rationals():
    S = attention.exact_scores(X_SEED, X_SEED)
    assert S[0, 2] == sympy.Rational(7, 100)
    assert S[6, 6] == sympy.Rational(18, 100)
    assert all(isinstance(v, sympy.Rational) for v in S)


def test_exact_scaled_scores_keep_sqrt_two():
    S = attention.exact_scaled_scores(X_SEED, X_SEED)
    assert sympy.simplify(S[0, 2] - sympy.Rational(7, 100) / sympy.sqrt(2)) == 0
    assert S[0, 2].has(sympy.sqrt(2))
    unscaled = attention.exact_scaled_scores(X_SEED, X_SEED, scale=False, temperature=0.5)
    assert unscaled[0, 2] == sympy.Rational(14, 100)


def test_exact_softmax_by_hand():
    A = attention.exact_softmax(sympy.Matrix([[0, sympy.log(2)], [0, -sympy.oo]]))
    assert sympy.simplify(A[0, 0] - sympy.Rational(1, 3)) == 0
    assert sympy.simplify(A[0, 1] - sympy.Rational(2, 3)) == 0
    assert A[1, 0] == 1 and A[1, 1] == 0


def test_exact_softmax_accepts_float_minus_infinity():
    A = attention.exact_softmax(np.array([[0.0, -np.inf]]))
    assert A[0, 0] == 1 and A[0, 1] == 0


def test_exact_attention_weights_entry_is_an_exp_expression():
    A = attention.exact_attention_weights(X_SEED, X_SEED)
    assert A[3, 6].has(sympy.exp(sympy.Rational(15, 100) / sympy.sqrt(2)))


@pytest.mark.parametrize("options", [
    {},
    {"causal": True},
    {"scale": False},
    {"temperature": 0.25},
    {"causal": True, "temperature": 0.1},
])
def test_exact_self_attention_matches_numeric_on_the_seed(options):
    exact = attention.exact_self_attention(X_SEED, walkthrough.W_Q, walkthrough.W_K, walkthrough.W_V, **options).numeric()
    numeric = seed_result(**options)
    for field in ("queries", "keys", "values", "scores", "scaled_scores", "weights", "output"):
        np.testing.assert_allclose(getattr(exact, field), getattr(numeric, field), rtol=0, atol=1e-12,
                                   err_msg=field)


def test_exact_self_attention_matches_numeric_with_other_weights():
    W_q, W_k, W_v = [[0.5, -1.0], [2.0, 0.25]], [[1.5, 0.0], [-0.5, 3.0]], [[0.0, 1.0], [1.0, 0.0]]
    exact = attention.exact_self_attention(X_SEED, W_q, W_k, W_v, causal=True).numeric()
    numeric = attention.self_attention(X_SEED, W_q, W_k, W_v, causal=True)
    np.testing.assert_allclose(exact.weights, numeric.weights, atol=1e-12)
    np.testing.assert_allclose(exact.output, numeric.output, atol=1e-12)


def test_exact_output_equals_weights_times_values():
    exact = attention.exact_self_attention(X_SEED[:3], I2, I2, I2)
    difference = (exact.weights * exact.values - exact.output).applyfunc(sympy.simplify)
    assert difference == sympy.zeros(3, 2)


def test_exact_matrix_uses_the_decimal_rational():
    M = attention.exact_matrix([[0.1, 2], [np.float64(0.3), sympy.sqrt(2)]])
    assert M[0, 0] == sympy.Rational(1, 10)
    assert M[0, 1] == 2
    assert M[1, 0] == sympy.Rational(3, 10)
    assert M[1, 1] == sympy.sqrt(2)


@pytest.mark.parametrize("call, message", [
    (lambda: attention.exact_matrix([1.0, 2.0], "X"), "X must be 2-dimensional"),
    (lambda: attention.exact_matrix([[np.nan]], "X"), "X contains NaN"),
    (lambda: attention.exact_matrix([[np.inf]], "X"), "X contains an infinite value"),
    (lambda: attention.exact_matrix([["a"]], "X"), "X must contain only numbers"),
    (lambda: attention.exact_matrix("text", "X"), "X must be a matrix of numbers"),
    (lambda: attention.exact_matrix(np.zeros((0, 2)), "X"), "X must not be empty"),
    (lambda: attention.exact_scores(np.ones((2, 2)), np.ones((2, 3))), "K must have 2 columns"),
    (lambda: attention.exact_scaled_scores(np.ones((2, 2)), np.ones((2, 2)), temperature=0),
     "temperature must be > 0"),
    (lambda: attention.exact_softmax([[-np.inf, -np.inf]]), "entirely -inf"),
    (lambda: attention.exact_attention_weights(np.ones((2, 2)), np.ones((3, 2)), causal=True),
     "causal=True needs as many queries"),
    (lambda: attention.exact_self_attention(X_SEED, np.eye(3), I2, I2), "W_q must have 2 rows"),
    (lambda: attention.exact_self_attention(X_SEED, I2, np.ones((2, 3)), I2), "W_k must have 2 columns"),
    (lambda: attention.exact_to_numeric(np.eye(2)), "matrix must be a sympy Matrix"),
    (lambda: attention.exact_to_numeric(sympy.eye(2), digits=5), "digits must be >= 15"),
])
def test_exact_functions_reject_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ---------------------------------------------------------------------------
# How uniform are the weights? (Eqs. 2.7-2.8)
# ---------------------------------------------------------------------------


def test_row_entropy_by_hand():
    np.testing.assert_allclose(attention.row_entropy([[0.5, 0.5], [1.0, 0.0]]), [math.log(2), 0.0])


def test_weight_spread_of_uniform_and_one_hot_rows():
    uniform = attention.weight_spread(np.full((4, 4), 0.25))
    assert uniform.max_abs_deviation == 0.0
    assert uniform.min_entropy_ratio == pytest.approx(1.0)
    one_hot = attention.weight_spread(np.eye(3))
    assert one_hot.min_entropy_ratio == pytest.approx(0.0)
    assert one_hot.max_abs_deviation == pytest.approx(2 / 3)
    assert one_hot.max_relative_deviation == pytest.approx(2.0)


def test_weight_spread_causal_uses_the_allowed_positions():
    A = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.2, 0.3, 0.5]])
    spread = attention.weight_spread(A, causal=True)
    np.testing.assert_array_equal(spread.allowed, [1, 2, 3])
    np.testing.assert_allclose(spread.uniform, [1.0, 0.5, 1 / 3])
    # Row 3 is the only non-uniform row: |0.5 - 1/3| = 1/6 is the largest deviation.
    assert spread.max_abs_deviation == pytest.approx(1 / 6)
    assert spread.smallest_weight == pytest.approx(0.2)


def test_seed_weights_are_nearly_uniform():
    result = seed_result()
    spread = attention.weight_spread(result.weights)
    # First order (Eq. 2.8): |a_ij - 1/n| <~ (max s~ - min s~) / n = (0.18 - 0.04) / sqrt(2) / 10 < 0.01.
    bound = (0.18 - 0.04) / math.sqrt(2) / 10
    assert 0 < spread.max_abs_deviation < bound
    assert spread.min_entropy_ratio > 0.9999
    assert spread.largest_weight < 0.105 and spread.smallest_weight > 0.095


def test_linearized_weights_are_exact_at_zero_and_close_for_small_scores():
    np.testing.assert_allclose(attention.linearized_weights(np.zeros((2, 5))), 0.2)
    result = seed_result()
    error = np.abs(attention.linearized_weights(result.scaled_scores) - result.weights).max()
    spread = np.ptp(result.scaled_scores, axis=1).max()
    assert error < spread ** 2    # the error is second order in the score spread


@pytest.mark.parametrize("weights, causal, message", [
    ([[0.5, 0.6]], False, "row 0 sums to 1.1"),
    ([[1.5, -0.5]], False, "weights must be >= 0"),
    ([[0.5, 0.5], [0.5, 0.5]], True, "not causal"),
    ([[1.0, 0.0, 0.0]], True, "square"),
    ([[np.nan, 1.0]], False, "weights contains NaN"),
])
def test_weight_spread_rejects_bad_weights(weights, causal, message):
    with pytest.raises(ValueError, match=message):
        attention.weight_spread(weights, causal=causal)


def test_linearized_weights_rejects_nan():
    with pytest.raises(ValueError, match="scaled_scores contains NaN"):
        attention.linearized_weights([[np.nan, 0.0]])


# ---------------------------------------------------------------------------
# Why sqrt(d_k)? (Eq. 2.9)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("d_k", [4, 64, 256])
def test_score_variance_without_and_with_scaling(d_k):
    unscaled = attention.score_variance(d_k, 40_000, np.random.default_rng(1), scale=False)
    scaled = attention.score_variance(d_k, 40_000, np.random.default_rng(1), scale=True)
    assert unscaled == pytest.approx(d_k, rel=0.05)
    assert scaled == pytest.approx(1.0, rel=0.05)
    assert unscaled == pytest.approx(d_k * scaled, rel=1e-9)   # same draws, divided by sqrt(d_k)


def test_score_variance_is_reproducible_with_an_integer_seed():
    assert attention.score_variance(8, 1000, 3) == attention.score_variance(8, 1000, 3)
    assert attention.score_variance(8, 1000) == attention.score_variance(8, 1000, None)


def test_expected_score_variance():
    assert attention.expected_score_variance(64, scale=False) == 64.0
    assert attention.expected_score_variance(64) == 1.0


@pytest.mark.parametrize("call, message", [
    (lambda: attention.score_variance(0, 100), "d_k must be >= 1"),
    (lambda: attention.score_variance(2.5, 100), "d_k must be a whole number"),
    (lambda: attention.score_variance(2, 1), "n_samples must be >= 2"),
    (lambda: attention.score_variance(2, 100, "rng"), "rng must be a numpy.random.Generator"),
    (lambda: attention.expected_score_variance(-3), "d_k must be >= 1"),
])
def test_score_variance_rejects_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# --- Rotary position embedding (Eqs. 2.12-2.13) ---

def _seed_X():
    return tokens.embed(walkthrough.INSTRUCTION)[1]


def test_rotary_frequencies():
    np.testing.assert_allclose(attention.rotary_frequencies(2), [1.0])
    np.testing.assert_allclose(attention.rotary_frequencies(4, base=100.0), [1.0, 0.1])
    with pytest.raises(ValueError, match="d"):
        attention.rotary_frequencies(3)
    with pytest.raises(ValueError, match="base"):
        attention.rotary_frequencies(2, base=-1.0)


def test_rotary_keeps_lengths_and_is_the_rotation_matrix_for_d2():
    X = _seed_X()
    R = attention.apply_rotary(X)
    np.testing.assert_allclose(np.linalg.norm(R, axis=1), np.linalg.norm(X, axis=1))
    for m in range(len(X)):
        np.testing.assert_allclose(R[m], attention.rotation_matrix(m) @ X[m])
    np.testing.assert_allclose(R[0], X[0])  # position 0 is not turned


def test_rotary_exact_agrees_with_numeric():
    X = _seed_X()
    exact = attention.exact_apply_rotary(X)
    np.testing.assert_allclose(attention.exact_to_numeric(exact), attention.apply_rotary(X), atol=1e-12)
    rng = np.random.default_rng(0)
    Y = np.round(rng.standard_normal((3, 4)), 2)
    np.testing.assert_allclose(attention.exact_to_numeric(attention.exact_apply_rotary(Y, base=100)),
                               attention.apply_rotary(Y, base=100.0), atol=1e-12)


def test_rotary_score_depends_only_on_relative_position():
    X = _seed_X()
    q, k = X[3], X[6]
    base_score = attention.rotary_score(q, k, 3, 6)
    for shift in (-3, 1, 10, 1000):
        assert attention.rotary_score(q, k, 3 + shift, 6 + shift) == pytest.approx(base_score, abs=1e-12)
    assert base_score == pytest.approx(q @ attention.rotation_matrix(3) @ k, abs=1e-12)
    # Exactly, with sympy: (R_m q).(R_n k) - q^T R_(n-m) k simplifies to 0 for symbolic m, n.
    m, n = sympy.symbols("m n", integer=True)
    Rm = sympy.Matrix([[sympy.cos(m), -sympy.sin(m)], [sympy.sin(m), sympy.cos(m)]])
    Rn = Rm.subs(m, n)
    Rd = Rm.subs(m, n - m)
    qs, ks = attention.exact_matrix([q]).T, attention.exact_matrix([k]).T
    assert sympy.simplify(((Rm * qs).T * (Rn * ks))[0] - (qs.T * Rd * ks)[0]) == 0
    # A different distance gives a different score.
    assert attention.rotary_score(q, k, 3, 7) != pytest.approx(base_score, abs=1e-6)


def test_rotary_attention_breaks_permutation_equivariance():
    X = _seed_X()
    n = len(X)
    P = attention.permutation_matrix(list(range(n - 1, -1, -1)))
    I = np.eye(2)
    plain = attention.self_attention(P @ X, I, I, I).output
    np.testing.assert_allclose(plain, P @ attention.self_attention(X, I, I, I).output, atol=1e-12)
    rot = attention.rotary_self_attention(P @ X, I, I, I, causal=False).output
    assert not np.allclose(rot, P @ attention.rotary_self_attention(X, I, I, I, causal=False).output)
    result = attention.rotary_self_attention(X, I, I, I)
    assert np.all(np.triu(result.weights, 1) == 0)
    np.testing.assert_allclose(result.values, X)  # values are not rotated
    with pytest.raises(ValueError, match="positions"):
        attention.apply_rotary(X, positions=[0, 1])
