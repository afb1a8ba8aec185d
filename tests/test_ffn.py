"""Tests for mgie_lessons.ffn (chapter 3). Expected values are worked out by hand or with sympy."""

import numpy as np
import pytest
import sympy
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mgie_lessons import attention, ffn, walkthrough, tokens

finite = st.floats(min_value=-5, max_value=5, allow_nan=False, allow_infinity=False)


def matrices(rows, cols):
    return arrays(float, (rows, cols), elements=finite)


# --- relu -----------------------------------------------------------------------------------

def test_relu_by_hand():
    assert ffn.relu([-2.0, -0.0, 0.0, 0.5]).tolist() == [0.0, 0.0, 0.0, 0.5]
    assert ffn.relu(-3).item() == 0.0
    assert ffn.relu([[1.5, -1.5]]).tolist() == [[1.5, 0.0]]


@given(arrays(float, st.integers(1, 6), elements=finite))
def test_relu_properties(x):
    r = ffn.relu(x)
    assert np.all(r >= 0)
    np.testing.assert_array_equal(ffn.relu(r), r)              # idempotent
    np.testing.assert_allclose(r - ffn.relu(-x), x)            # relu(x) - relu(-x) = x
    np.testing.assert_array_equal(ffn.zeroed_by_relu(x), x < 0)


def test_zeroed_by_relu_marks_only_negatives():
    assert ffn.zeroed_by_relu([[0.1, -0.1], [0.0, -5]]).tolist() == [[False, True], [False, True]]


# --- feed_forward on hand-computed examples -------------------------------------------------

def test_feed_forward_one_row_by_hand():
    # x = (1, -2); W1 = [[1, 2], [3, -1]] -> x W1 = (1 - 6, 2 + 2) = (-5, 4); + b1 (1, 1) = (-4, 5)
    # ReLU -> (0, 5); W2 = [[2], [0.5]] -> 0*2 + 5*0.5 = 2.5; + b2 (-1) = 1.5
    result = ffn.feed_forward([[1.0, -2.0]], [[1, 2], [3, -1]], [1, 1], [[2], [0.5]], [-1])
    assert result.pre_activation.tolist() == [[-4.0, 5.0]]
    assert result.hidden.tolist() == [[0.0, 5.0]]
    assert result.output.tolist() == [[1.5]]


def test_seed_ffn_on_printed_attention_output_by_hand():
    # Row 1 of the seed's printed attention output is (0.2, 0.17):
    # x W1 = 0.2*0.2 + 0.17*0.2 = 0.074 in both columns; + 0.1 -> 0.174; ReLU keeps it;
    # H W2 = 0.174*0.3 + 0.174*0.3 = 0.1044; + 0.1 -> 0.2044.
    result = ffn.feed_forward(walkthrough.PRINTED_ATTENTION_OUTPUT, walkthrough.W1, walkthrough.B1, walkthrough.W2, walkthrough.B2)
    np.testing.assert_allclose(result.pre_activation[0], [0.174, 0.174])
    np.testing.assert_allclose(result.hidden[0], [0.174, 0.174])
    np.testing.assert_allclose(result.output[0], [0.2044, 0.2044])
    # In general each output entry is 0.6 * (0.2 * (x1 + x2) + 0.1) + 0.1.
    printed = np.array(walkthrough.PRINTED_ATTENTION_OUTPUT)
    expected = 0.6 * (0.2 * printed.sum(axis=1) + 0.1) + 0.1
    np.testing.assert_allclose(result.output, np.column_stack([expected, expected]))


def test_seed_ffn_on_computed_attention_output():
    _, X = tokens.embed(walkthrough.INSTRUCTION)
    O = attention.self_attention(X, walkthrough.W_Q, walkthrough.W_K, walkthrough.W_V).output
    result = ffn.feed_forward(O, walkthrough.W1, walkthrough.B1, walkthrough.W2, walkthrough.B2)
    row_sums = O.sum(axis=1)
    np.testing.assert_allclose(result.pre_activation[:, 0], 0.2 * row_sums + 0.1)
    # Equal columns of W1 (and equal entries of b1) make the two hidden units identical: rank 1.
    np.testing.assert_array_equal(result.hidden[:, 0], result.hidden[:, 1])
    assert np.linalg.matrix_rank(result.hidden) == 1
    # All pre-activations are positive, so ReLU changes nothing.
    assert not ffn.zeroed_by_relu(result.pre_activation).any()
    np.testing.assert_array_equal(result.hidden, result.pre_activation)
    np.testing.assert_allclose(result.output, 0.6 * result.hidden + 0.1)


def test_seed_printed_ffn_output_is_not_the_ffn_of_its_own_input():
    """The seed's printed output matches 0.3 h + 0.2 (one term of the product, b2 twice)."""
    hidden = np.array(walkthrough.PRINTED_FFN_PRE_ACTIVATION)
    printed = np.array(walkthrough.PRINTED_FFN_OUTPUT)
    np.testing.assert_allclose(printed[:, 0], 0.3 * hidden[:, 0] + 0.2, atol=1e-12)
    correct = ffn.feed_forward(hidden, [[1, 0], [0, 1]], [0, 0], walkthrough.W2, walkthrough.B2).output
    assert np.all(np.abs(correct - printed) >= 0.01 - 1e-12)  # 0.6 h + 0.1 vs 0.3 h + 0.2 differ by 0.3 h - 0.1


@given(matrices(3, 2), matrices(2, 4), arrays(float, 4, elements=finite),
       matrices(4, 3), arrays(float, 3, elements=finite))
def test_feed_forward_matches_formula(X, W1, b1, W2, b2):
    result = ffn.feed_forward(X, W1, b1, W2, b2)
    Z = np.array([[sum(X[i, k] * W1[k, j] for k in range(2)) + b1[j] for j in range(4)] for i in range(3)])
    H = np.where(Z > 0, Z, 0.0)
    Y = np.array([[sum(H[i, k] * W2[k, j] for k in range(4)) + b2[j] for j in range(3)] for i in range(3)])
    np.testing.assert_allclose(result.pre_activation, Z, atol=1e-9)
    np.testing.assert_allclose(result.hidden, H, atol=1e-9)
    np.testing.assert_allclose(result.output, Y, atol=1e-9)


@given(matrices(4, 2), arrays(float, 3, elements=finite), arrays(float, 2, elements=finite))
def test_zero_weights_return_b2(X, b1, b2):
    result = ffn.feed_forward(X, np.zeros((2, 3)), b1, np.zeros((3, 2)), b2)
    np.testing.assert_array_equal(result.output, np.tile(b2, (4, 1)))


@given(matrices(5, 2), st.floats(0.01, 3))
def test_positive_pre_activations_make_ffn_affine(X, shift):
    # With W1 >= 0, X >= 0 and b1 > 0, ReLU is the identity: FFN = X W1 W2 + b1 W2 + b2.
    X = np.abs(X)
    W1 = np.array([[0.2, 0.5], [0.1, 0.3]])
    b1 = np.array([shift, shift])
    W2 = np.array([[1.0, -1.0], [2.0, 0.5]])
    b2 = np.array([0.3, -0.3])
    result = ffn.feed_forward(X, W1, b1, W2, b2)
    np.testing.assert_allclose(result.output, X @ W1 @ W2 + b1 @ W2 + b2, atol=1e-9)


def test_equal_columns_of_w1_give_identical_hidden_units():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(6, 2))
    column = rng.normal(size=(2, 1))
    result = ffn.feed_forward(X, np.hstack([column, column]), [0.1, 0.1], walkthrough.W2, walkthrough.B2)
    np.testing.assert_array_equal(result.hidden[:, 0], result.hidden[:, 1])


def test_affine_by_hand():
    assert ffn.affine([[1, 2]], [[1, 0], [0, 1]], [10, 20]).tolist() == [[11.0, 22.0]]


# --- exact versions ---------------------------------------------------------------------------

def test_to_rational_matrix_reads_decimals():
    M = ffn.to_rational_matrix([[0.1, 0.2]], "M")
    assert M == sympy.Matrix([[sympy.Rational(1, 10), sympy.Rational(1, 5)]])
    assert ffn.to_rational_matrix([0.3, 0.25], "v") == sympy.Matrix([[sympy.Rational(3, 10), sympy.Rational(1, 4)]])


def test_exact_feed_forward_seed_row_one():
    exact = ffn.exact_feed_forward(walkthrough.PRINTED_ATTENTION_OUTPUT, walkthrough.W1, walkthrough.B1, walkthrough.W2, walkthrough.B2)
    # 0.2*0.2 + 0.17*0.2 + 0.1 = 87/500;  2 * 0.3 * 87/500 + 1/10 = 522/5000 + 500/5000 = 511/2500
    assert exact.pre_activation[0, 0] == sympy.Rational(87, 500)
    assert exact.hidden[0, 1] == sympy.Rational(87, 500)
    assert exact.output[0, 0] == sympy.Rational(511, 2500)


def test_exact_relu():
    assert ffn.exact_relu(sympy.Matrix([[sympy.Rational(-1, 3), sympy.Rational(2, 7)]])) == \
        sympy.Matrix([[0, sympy.Rational(2, 7)]])
    assert ffn.exact_relu([[-0.5, 0.25]]) == sympy.Matrix([[0, sympy.Rational(1, 4)]])


def test_exact_affine():
    assert ffn.exact_affine([[0.1, 0.2]], [[1, 0], [0, 1]], [0.1, 0.1]) == \
        sympy.Matrix([[sympy.Rational(1, 5), sympy.Rational(3, 10)]])


@given(arrays(float, (3, 2), elements=st.integers(-9, 9).map(lambda v: v / 10)),
       arrays(float, (2, 3), elements=st.integers(-9, 9).map(lambda v: v / 10)),
       arrays(float, 3, elements=st.integers(-9, 9).map(lambda v: v / 10)))
def test_exact_and_numeric_agree(X, W1, b1):
    W2 = np.array([[0.3, -0.2], [0.1, 0.4], [-0.5, 0.2]])
    b2 = np.array([0.1, -0.1])
    numeric = ffn.feed_forward(X, W1, b1, W2, b2)
    exact = ffn.exact_feed_forward(X, W1, b1, W2, b2)
    for field in ("pre_activation", "hidden", "output"):
        np.testing.assert_allclose(np.array(getattr(exact, field), dtype=float), getattr(numeric, field), atol=1e-12)


# --- errors -----------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, name", [
    (dict(X=[[1, 2, 3]]), "W1"),                                 # X has 3 columns, W1 has 2 rows
    (dict(X=[1, 2]), "X"),                                       # not a matrix
    (dict(X=[[np.nan, 0.1]]), "X"),
    (dict(X=np.zeros((0, 2))), "X"),
    (dict(W1=[[0.2, 0.2]]), "W1"),                               # 1 row, X has 2 columns
    (dict(W1=[[0.2, np.inf], [0.2, 0.2]]), "W1"),
    (dict(b1=[0.1, 0.1, 0.1]), "b1"),
    (dict(b1=[[0.1, 0.1]]), "b1"),
    (dict(b1=[np.nan, 0.1]), "b1"),
    (dict(W2=[[0.3, 0.3]]), "W2"),
    (dict(W2="0.3"), "W2"),
    (dict(b2=[0.1]), "b2"),
    (dict(b2=[]), "b2"),
])
@pytest.mark.parametrize("function", [ffn.feed_forward, ffn.exact_feed_forward])
def test_feed_forward_errors_name_the_parameter(function, kwargs, name):
    arguments = dict(X=walkthrough.PRINTED_ATTENTION_OUTPUT, W1=walkthrough.W1, b1=walkthrough.B1, W2=walkthrough.W2, b2=walkthrough.B2)
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=name):
        function(**arguments)


@pytest.mark.parametrize("bad", [[], [np.nan], "abc", [[np.inf]]])
def test_relu_errors(bad):
    with pytest.raises(ValueError, match="x"):
        ffn.relu(bad)


def test_zeroed_by_relu_errors():
    with pytest.raises(ValueError, match="pre_activation"):
        ffn.zeroed_by_relu([np.nan])
    with pytest.raises(ValueError, match="pre_activation"):
        ffn.zeroed_by_relu([])


def test_affine_and_rational_errors():
    with pytest.raises(ValueError, match="W2"):
        ffn.affine([[1, 2]], [[1, 2, 3]], [0], names=("H", "W2", "b2"))
    with pytest.raises(ValueError, match="b"):
        ffn.affine([[1, 2]], [[1], [2]], [0, 0])
    with pytest.raises(ValueError, match="b"):
        ffn.exact_affine([[1, 2]], [[1], [2]], [0, 0])
    with pytest.raises(ValueError, match="M"):
        ffn.to_rational_matrix([], "M")
    with pytest.raises(ValueError, match="M"):
        ffn.to_rational_matrix(np.zeros((2, 2, 2)), "M")
    with pytest.raises(ValueError, match="P"):
        ffn.exact_relu([[np.nan]])


def test_silu_by_hand():
    import math
    values = ffn.silu([-1.0, 0.0, 2.0])
    np.testing.assert_allclose(values, [-1 / (1 + math.e), 0.0, 2 / (1 + math.exp(-2))])
    assert np.isfinite(ffn.silu([-1000.0, 1000.0])).all()
    np.testing.assert_allclose(ffn.silu([-1000.0, 1000.0]), [0.0, 1000.0], atol=1e-12)


@given(arrays(float, 5, elements=st.floats(0.001, 5)))
def test_silu_shrinks_positive_numbers(x):
    assert np.all(ffn.silu(x) < x)
    assert np.all(ffn.silu(x) > 0)


def test_swiglu_by_hand():
    # h = (1, 2); W_gate = I -> gate = (1, 2); W_up = [[1, 0], [1, 1]] -> up = (3, 2)
    # hidden = (silu(1) * 3, silu(2) * 2); W_down = [[1], [-1]]
    import math
    s1, s2 = 1 / (1 + math.exp(-1)), 2 / (1 + math.exp(-2))
    result = ffn.swiglu_feed_forward([[1.0, 2.0]], np.eye(2), [[1, 0], [1, 1]], [[1], [-1]])
    np.testing.assert_allclose(result.gate, [[1, 2]])
    np.testing.assert_allclose(result.up, [[3, 2]])
    np.testing.assert_allclose(result.hidden, [[3 * s1, 2 * s2]])
    np.testing.assert_allclose(result.output, [[3 * s1 - 2 * s2]])


@pytest.mark.parametrize("args, name", [
    (([[1.0, 2.0]], np.eye(3), np.eye(2), np.eye(2)), "W_gate"),
    (([[1.0, 2.0]], np.eye(2), np.ones((2, 3)), np.eye(2)), "W_up"),
    (([[1.0, 2.0]], np.eye(2), np.eye(2), np.ones((3, 1))), "W_down"),
    (([[np.nan, 2.0]], np.eye(2), np.eye(2), np.eye(2)), "X"),
])
def test_swiglu_errors(args, name):
    with pytest.raises(ValueError, match=name):
        ffn.swiglu_feed_forward(*args)


def test_silu_errors():
    with pytest.raises(ValueError, match="x"):
        ffn.silu([])
    with pytest.raises(ValueError, match="x"):
        ffn.silu([np.inf])


def test_exact_silu_agrees():
    exact = ffn.exact_silu([[0.5, -0.25]])
    assert exact[0, 0] == sympy.Rational(1, 2) / (1 + sympy.exp(-sympy.Rational(1, 2)))
    np.testing.assert_allclose(np.array(exact.evalf(), dtype=float), ffn.silu([[0.5, -0.25]]))


# --- RMSNorm and the residual pre-norm layer (Eqs. 3.9-3.10) ---

def _seed_X():
    return tokens.embed(walkthrough.INSTRUCTION)[1]


def test_rms_norm_rows_have_mean_square_one_and_keep_direction():
    X = _seed_X()
    N = ffn.rms_norm(X, eps=0.0)
    np.testing.assert_allclose(np.mean(N ** 2, axis=1), 1.0)
    np.testing.assert_allclose(N[:, 0] / N[:, 1], X[:, 0] / X[:, 1])
    np.testing.assert_allclose(ffn.rms_norm(7.0 * X, eps=0.0), N)  # scale-invariant
    np.testing.assert_allclose(ffn.rms_norm(X, gain=[2.0, 0.5], eps=0.0), N * [2.0, 0.5])


def test_rms_norm_exact_agrees_and_gives_surds():
    X = _seed_X()
    exact = ffn.exact_rms_norm(X)
    assert exact[0, 0] == sympy.sqrt(10) / 5 and exact[0, 1] == 2 * sympy.sqrt(10) / 5
    np.testing.assert_allclose(np.array(exact.evalf(30), dtype=float), ffn.rms_norm(X, eps=0.0), atol=1e-12)
    np.testing.assert_allclose(np.array(ffn.exact_rms_norm(X, eps=0.01).evalf(30), dtype=float),
                               ffn.rms_norm(X, eps=0.01), atol=1e-12)


def test_rms_norm_bad_input():
    with pytest.raises(ValueError, match="eps"):
        ffn.rms_norm(np.zeros((1, 2)), eps=0.0)
    with pytest.raises(ValueError, match="gain"):
        ffn.rms_norm(np.ones((2, 2)), gain=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="eps"):
        ffn.rms_norm(np.ones((2, 2)), eps=-1.0)


def test_pre_norm_layer_pieces_and_switches():
    X = _seed_X()
    args = (walkthrough.W_Q, walkthrough.W_K, walkthrough.W_V, walkthrough.W1, walkthrough.B1, walkthrough.W2, walkthrough.B2)
    layer = ffn.pre_norm_layer(X, *args)
    np.testing.assert_allclose(layer.attention_input, ffn.rms_norm(X))
    np.testing.assert_allclose(layer.after_attention, X + layer.attention.output)
    np.testing.assert_allclose(layer.ffn_input, ffn.rms_norm(layer.after_attention))
    np.testing.assert_allclose(layer.output, layer.after_attention + layer.ffn.output)
    # Both switched off: the seed's bare layer FFN(Attn(X)) (causal).
    bare = ffn.pre_norm_layer(X, *args, residual=False, normalise=False)
    attn = attention.self_attention(X, walkthrough.W_Q, walkthrough.W_K, walkthrough.W_V, causal=True)
    np.testing.assert_allclose(bare.output, ffn.feed_forward(attn.output, walkthrough.W1, walkthrough.B1, walkthrough.W2, walkthrough.B2).output)
    # The bare layer squeezes the tokens together; the residual keeps them apart.
    assert np.ptp(bare.output, axis=0).max() < 0.1 < np.ptp(layer.output, axis=0).max()


def test_residual_layer_with_zero_branches_is_the_identity():
    X = _seed_X()
    Z = np.zeros((2, 2))
    layer = ffn.pre_norm_layer(X, walkthrough.W_Q, walkthrough.W_K, Z, Z, [0, 0], Z, [0, 0])
    np.testing.assert_allclose(layer.output, X)
    with pytest.raises(ValueError, match="W_v"):
        ffn.pre_norm_layer(X, walkthrough.W_Q, walkthrough.W_K, np.ones((2, 3)), walkthrough.W1, walkthrough.B1, walkthrough.W2, walkthrough.B2)
