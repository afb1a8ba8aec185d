"""Tests for mgie_lessons.visual_tokens (chapter 4). Expected values are derived by hand."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mgie_lessons import walkthrough, tokens
from mgie_lessons import visual_tokens as vt

finite = st.floats(min_value=-3, max_value=3, allow_nan=False, allow_infinity=False)
I2 = np.eye(2)


def seed_pass(m=4, causal=True):
    words, X = tokens.embed(walkthrough.INSTRUCTION)
    return vt.image_token_pass(X, vt.image_token_embeddings(m), walkthrough.W_Q, walkthrough.W_K, walkthrough.W_V,
                               walkthrough.W1, walkthrough.B1, walkthrough.W2, walkthrough.B2, words=words, causal=causal)


# --- the seed's tokens and the toy [IMG] embeddings ------------------------------------------

def test_seed_visual_tokens():
    U = vt.seed_visual_tokens()
    assert U.shape == (4, 2)
    assert U.tolist() == [[0.1, 0.1], [0.2, 0.2], [0.3, 0.3], [0.4, 0.4]]


def test_image_token_embeddings_start_with_seed_tokens_and_continue_the_pattern():
    E = vt.image_token_embeddings(6)
    assert E[:4].tolist() == [list(row) for row in walkthrough.VISUAL_TOKENS]
    np.testing.assert_allclose(E[4:], [[0.5, 0.5], [0.6, 0.6]])
    assert vt.image_token_embeddings(1).tolist() == [[0.1, 0.1]]


def test_mgie_shapes():
    assert vt.MGIE_SHAPES["n_queries"] * vt.MGIE_SHAPES["d_out"] == 77 * 768
    assert vt.MGIE_SHAPES["n_img_tokens"] == 8


# --- hidden_states_at ---------------------------------------------------------------------------

def test_hidden_states_at_picks_rows_in_order():
    H = np.arange(12.0).reshape(6, 2)
    assert vt.hidden_states_at(H, [4, 1]).tolist() == [[8.0, 9.0], [2.0, 3.0]]
    assert vt.hidden_states_at(H, np.array([5])).tolist() == [[10.0, 11.0]]


@pytest.mark.parametrize("positions", [[], [6], [-1], [1.5], "12"])
def test_hidden_states_at_errors(positions):
    with pytest.raises(ValueError, match="positions"):
        vt.hidden_states_at(np.zeros((6, 2)), positions)


def test_hidden_states_at_rejects_bad_matrix():
    with pytest.raises(ValueError, match="hidden_states"):
        vt.hidden_states_at([[np.nan, 1]], [0])


# --- image_token_pass ---------------------------------------------------------------------------

def test_image_token_pass_shapes_and_positions():
    result = seed_pass(4)
    assert result.tokens[-4:] == ("[IMG0]", "[IMG1]", "[IMG2]", "[IMG3]")
    assert result.tokens[0] == "Add"
    assert result.positions == (10, 11, 12, 13)
    assert result.inputs.shape == (14, 2)
    assert result.hidden_states.shape == (4, 2)
    # MGIE reads the states one step before the [IMG] tokens (p = index(32003) - 1, mgie_llava.py
    # L295): rows 9..12, the states that predict [IMG0]..[IMG3]; the last [IMG] state is not read.
    assert result.state_positions == (9, 10, 11, 12)
    np.testing.assert_array_equal(result.hidden_states, result.ffn.output[9:13])
    np.testing.assert_allclose(result.edit_head_input, result.hidden_states + vt.seed_visual_tokens())


def test_image_token_pass_last_read_state_by_hand():
    """The last state read is the one before [IMG3]: under causal attention it sees the first 13
    rows (the instruction and [IMG0]..[IMG2]); recompute it by hand."""
    result = seed_pass(4, causal=True)
    rows = result.inputs[:13]
    last = rows[-1]
    scores = np.array([last @ r for r in rows]) / math.sqrt(2)
    weights = np.exp(scores) / np.exp(scores).sum()
    attended = weights @ rows
    pre = 0.2 * attended.sum() + 0.1                       # both columns of W1 are (0.2, 0.2)
    out = 2 * 0.3 * max(pre, 0.0) + 0.1
    np.testing.assert_allclose(result.hidden_states[-1], [out, out])


def test_image_token_pass_causal_first_read_state_ignores_img_tokens():
    """With the causal mask, the first state read (the last instruction word's, which predicts
    [IMG0]) sees no [IMG] token, so it does not depend on how many follow or on their embeddings."""
    a = seed_pass(1).hidden_states[0]
    b = seed_pass(4).hidden_states[0]
    np.testing.assert_allclose(a, b)
    _, X = tokens.embed(walkthrough.INSTRUCTION)
    other = vt.image_token_pass(X, [[5.0, -3.0]], walkthrough.W_Q, walkthrough.W_K, walkthrough.W_V,
                                walkthrough.W1, walkthrough.B1, walkthrough.W2, walkthrough.B2)
    np.testing.assert_allclose(other.hidden_states[0], a)
    c = seed_pass(1, causal=False).hidden_states[0]
    d = seed_pass(4, causal=False).hidden_states[0]
    assert not np.allclose(c, d)


def test_image_token_pass_errors():
    _, X = tokens.embed(walkthrough.INSTRUCTION)
    args = (walkthrough.W_Q, walkthrough.W_K, walkthrough.W_V, walkthrough.W1, walkthrough.B1, walkthrough.W2, walkthrough.B2)
    with pytest.raises(ValueError, match="img_embeddings"):
        vt.image_token_pass(X, [[0.1, 0.1, 0.1]], *args)
    with pytest.raises(ValueError, match="img_embeddings"):
        vt.image_token_pass(X, [[np.nan, 0.1]], *args)
    with pytest.raises(ValueError, match="X"):
        vt.image_token_pass("Add a hat", [[0.1, 0.1]], *args)
    with pytest.raises(ValueError, match="words"):
        vt.image_token_pass(X, [[0.1, 0.1]], *args, words=["Add"])
    with pytest.raises(ValueError, match="W2"):
        vt.image_token_pass(X, [[0.1, 0.1]], walkthrough.W_Q, walkthrough.W_K, walkthrough.W_V, walkthrough.W1, walkthrough.B1,
                            [[0.3], [0.3]], [0.1])


@pytest.mark.parametrize("m", [0, 17, 2.5, "4"])
def test_image_token_embeddings_errors(m):
    with pytest.raises(ValueError, match="m must"):
        vt.image_token_embeddings(m)


# --- edit_head_cross_attention ------------------------------------------------------------------

def test_cross_attention_by_hand():
    # One query q = (1, 0) attends to u_1 = (0.1, 0.1) and u_4 = (0.4, 0.4), identity projections.
    # Scores: 0.1 and 0.4; scaled by 1/sqrt(2): 0.0707.., 0.2828..
    # Weight on u_4 = 1 / (1 + exp(-(0.4 - 0.1)/sqrt(2))).
    result = vt.edit_head_cross_attention([[0.1, 0.1], [0.4, 0.4]], [[1.0, 0.0]], I2, I2, I2)
    w4 = 1 / (1 + math.exp(-0.3 / math.sqrt(2)))
    np.testing.assert_allclose(result.weights, [[1 - w4, w4]])
    np.testing.assert_allclose(result.output, [[0.1 + 0.3 * w4, 0.1 + 0.3 * w4]])
    assert result.weights.shape == (1, 2)


def test_cross_attention_uses_queries_for_q_and_hidden_states_for_k_v():
    H = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    Q0 = np.array([[2.0, -1.0]])
    Wq = np.array([[1.0, 0.0], [0.0, 2.0]])
    Wk = np.array([[0.5, 0.0], [0.0, 1.0]])
    Wv = np.array([[1.0], [3.0]])
    result = vt.edit_head_cross_attention(H, Q0, Wq, Wk, Wv)
    q = np.array([2.0, -2.0])                       # Q0 Wq
    keys = np.array([[0.5, 0.0], [0.0, 1.0], [0.5, 1.0]])
    values = np.array([[1.0], [3.0], [4.0]])
    s = keys @ q / math.sqrt(2)                     # (1, -2, -1) / sqrt(2)
    w = np.exp(s) / np.exp(s).sum()
    np.testing.assert_allclose(result.queries, [q])
    np.testing.assert_allclose(result.keys, keys)
    np.testing.assert_allclose(result.weights, [w])
    np.testing.assert_allclose(result.output, [w @ values])


@given(arrays(float, (3, 2), elements=finite), arrays(float, (4, 2), elements=finite))
def test_cross_attention_rows_sum_to_one(H, Q0):
    result = vt.edit_head_cross_attention(H, Q0, I2, I2, I2)
    assert result.weights.shape == (4, 3)
    np.testing.assert_allclose(result.weights.sum(axis=1), 1.0)
    assert np.all(result.weights > 0)


@given(arrays(float, 2, elements=finite), arrays(float, (5, 2), elements=finite))
def test_identical_hidden_states_give_identical_outputs(h, Q0):
    """If all k hidden states are the same, every query gets that same value back."""
    H = np.tile(h, (3, 1))
    result = vt.edit_head_cross_attention(H, Q0, I2, I2, I2)
    np.testing.assert_allclose(result.weights, 1 / 3)
    np.testing.assert_allclose(result.output, np.tile(h, (5, 1)), atol=1e-12)


@pytest.mark.parametrize("args, name", [
    (([[0.1, 0.1]], [[1.0, 0.0, 0.0]], I2, I2, I2), "queries"),
    (([[0.1, np.nan]], [[1.0, 0.0]], I2, I2, I2), "hidden_states"),
    (([[0.1, 0.1]], [[1.0, 0.0]], np.eye(3), I2, I2), "W_q"),
    (([[0.1, 0.1]], [[1.0, 0.0]], I2, np.ones((2, 3)), I2), "W_k"),
    (([[0.1, 0.1]], [[1.0, 0.0]], I2, I2, np.ones((3, 2))), "W_v"),
    ((np.zeros((0, 2)), [[1.0, 0.0]], I2, I2, I2), "hidden_states"),
])
@pytest.mark.parametrize("function", [vt.edit_head_cross_attention, vt.exact_edit_head_cross_attention])
def test_cross_attention_errors(function, args, name):
    with pytest.raises(ValueError, match=name):
        function(*args)


# --- exact cross-attention ----------------------------------------------------------------------

def test_exact_cross_attention_agrees_with_numeric():
    H = [[0.1, 0.1], [0.4, 0.4], [0.2, -0.3]]
    Q0 = [[1.0, 0.0], [0.5, -0.5]]
    Wq = [[1.0, 0.2], [0.0, 1.0]]
    numeric = vt.edit_head_cross_attention(H, Q0, Wq, I2, I2)
    exact = vt.exact_edit_head_cross_attention(H, Q0, Wq, I2, I2)
    np.testing.assert_allclose(np.array(exact.scores, dtype=float), numeric.scores)
    np.testing.assert_allclose(np.array(exact.weights.evalf(), dtype=float), numeric.weights)
    np.testing.assert_allclose(np.array(exact.output.evalf(), dtype=float), numeric.output)


# --- toy_edit_head --------------------------------------------------------------------------------

def test_toy_edit_head_shapes():
    H = seed_pass(4).edit_head_input
    result = vt.toy_edit_head(H, n_queries=7, d_out=5, seed=1, d_edit=3)
    assert result.output.shape == (7, 5)
    assert result.attention.weights.shape == (7, 4)
    assert result.queries.shape == (7, 3)
    assert result.projected.shape == (4, 3)
    np.testing.assert_allclose(result.attention.weights.sum(axis=1), 1.0)


def test_toy_edit_head_steps_recomputed_by_hand():
    H = seed_pass(4).edit_head_input
    result = vt.toy_edit_head(H, n_queries=3, d_out=2, seed=5)
    p = result.parameters
    S = H @ p.W_in + p.b_in
    q, k, v = p.queries @ p.W_q, S @ p.W_k, S @ p.W_v
    s = q @ k.T / math.sqrt(k.shape[1])
    w = np.exp(s) / np.exp(s).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(result.projected, S)
    np.testing.assert_allclose(result.attention.weights, w)
    np.testing.assert_allclose(result.output, w @ v @ p.W_out + p.b_out)


def test_toy_edit_head_is_deterministic_and_seeded():
    H = seed_pass(4).edit_head_input
    a = vt.toy_edit_head(H, seed=0).output
    b = vt.toy_edit_head(H, seed=0).output
    c = vt.toy_edit_head(H, seed=1).output
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


@given(st.integers(1, 10), st.integers(1, 10))
def test_more_queries_append_rows(m1, m2):
    H = seed_pass(3).edit_head_input
    small, large = sorted((m1, m2))
    a = vt.toy_edit_head(H, n_queries=small).output
    b = vt.toy_edit_head(H, n_queries=large).output
    np.testing.assert_allclose(b[:small], a)


def test_one_hidden_state_gives_one_distinct_row():
    result = vt.toy_edit_head([[0.3, 0.3]], n_queries=5)
    np.testing.assert_allclose(result.attention.weights, 1.0)
    np.testing.assert_allclose(result.output, np.tile(result.output[0], (5, 1)))


def test_edit_head_parameters_shapes():
    p = vt.edit_head_parameters(2, 6, 4, 3, seed=0)
    assert p.W_in.shape == (2, 4) and p.b_in.shape == (4,)
    assert p.queries.shape == (6, 4)
    assert p.W_q.shape == p.W_k.shape == p.W_v.shape == (4, 4)
    assert p.W_out.shape == (4, 3) and p.b_out.shape == (3,)


@pytest.mark.parametrize("kwargs, name", [
    (dict(n_queries=0), "n_queries"),
    (dict(n_queries=2.5), "n_queries"),
    (dict(d_out=0), "d_out"),
    (dict(seed=-1), "seed"),
    (dict(d_edit=0), "d_edit"),
    (dict(hidden_states=[[np.inf, 0.0]]), "hidden_states"),
    (dict(hidden_states=[0.1, 0.2]), "hidden_states"),
])
def test_toy_edit_head_errors(kwargs, name):
    arguments = dict(hidden_states=[[0.1, 0.1]])
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=name):
        vt.toy_edit_head(**arguments)


def test_edit_head_parameters_errors():
    with pytest.raises(ValueError, match="d_in"):
        vt.edit_head_parameters(0, 2, 2, 2)


# --- distinct_rows (exercise 4; chapter 10's comparison) ----------------------------------------

def test_distinct_rows_counts_rows_equal_after_rounding():
    assert vt.distinct_rows([[1.0, 2.0], [1.0, 2.0], [0.0, 1.0]]) == 2
    assert vt.distinct_rows([[1.0, 2.0], [1.0 + 1e-12, 2.0]]) == 1
    assert vt.distinct_rows([[1.0, 2.0], [1.001, 2.0]], decimals=2) == 1
    assert vt.distinct_rows([[1.0, 2.0], [1.001, 2.0]], decimals=4) == 2


@pytest.mark.parametrize("kwargs, match", [(dict(M=[[np.nan]]), "M"), (dict(M=[[1.0]], decimals=-1), "decimals")])
def test_distinct_rows_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        vt.distinct_rows(**kwargs)


def test_toy_head_rows_only_as_varied_as_its_inputs():
    """The toy head has no residual connection: identical input rows give identical rows of U,
    whatever the number of queries."""
    H = np.tile([0.3, 0.3], (8, 1))
    assert vt.distinct_rows(vt.toy_edit_head(H, n_queries=77, d_out=12).output) == 1
    assert vt.distinct_rows(vt.toy_edit_head(seed_pass(4).edit_head_input, n_queries=6).output) == 6


# --- the chapter's running example -------------------------------------------------------------

@pytest.mark.parametrize("m", [1, 4, 8])
def test_seed_image_token_pass_is_the_causal_pass_with_the_seed_weights(m):
    ours, reference = vt.seed_image_token_pass(m), seed_pass(m)
    assert ours.tokens == reference.tokens and len(ours.tokens) == 10 + m
    np.testing.assert_array_equal(ours.edit_head_input, reference.edit_head_input)
    np.testing.assert_array_equal(ours.attention.weights, reference.attention.weights)
    with pytest.raises(ValueError, match="m"):
        vt.seed_image_token_pass(17)


def test_seed_edit_head_chains_the_pass_and_the_toy_head():
    token_pass, head = vt.seed_edit_head(n_tokens=3, n_queries=5, d_out=2, seed=1)
    np.testing.assert_array_equal(token_pass.edit_head_input, seed_pass(3).edit_head_input)
    expected = vt.toy_edit_head(seed_pass(3).edit_head_input, n_queries=5, d_out=2, seed=1)
    np.testing.assert_array_equal(head.output, expected.output)
    assert head.output.shape == (5, 2) and head.attention.weights.shape == (5, 3)
