"""Tests for chapter 10: layer norm, multi-head attention, the edit head, the denoiser's cross-attention."""

import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mgie_lessons import attention, edit_head as eh, pipeline, walkthrough, visual_tokens
from mgie_lessons.images import toy_image

finite = st.floats(-10, 10, allow_nan=False, allow_infinity=False)


def _random_weights(rng, d, scale=0.5, biases=True):
    b = (lambda: rng.normal(size=d) * 0.1) if biases else (lambda: np.zeros(d))
    return eh.AttentionWeights(*(rng.normal(size=(d, d)) * scale for _ in range(4)), b(), b(), b(), b())


# ---------------------------------------------------------------------------
# Eq. 10.2: layer norm
# ---------------------------------------------------------------------------

def test_layer_norm_by_hand():
    # mean 2.5, variance (2.25 + 0.25 + 0.25 + 2.25) / 4 = 1.25
    out = eh.layer_norm([[1.0, 2.0, 3.0, 4.0]])
    expected = np.array([-1.5, -0.5, 0.5, 1.5]) / math.sqrt(1.25 + 1e-5)
    np.testing.assert_allclose(out[0], expected)


def test_layer_norm_gamma_and_beta():
    out = eh.layer_norm([[1.0, 3.0]], gamma=[2.0, 3.0], beta=[0.5, -1.0], eps=0.0)
    np.testing.assert_allclose(out, [[2.0 * -1 + 0.5, 3.0 * 1 - 1.0]])


@given(arrays(float, (3, 5), elements=finite))
def test_layer_norm_rows_have_zero_mean_and_unit_variance(x):
    assume(np.all(x.var(axis=1) > 1e-2))
    out = eh.layer_norm(x)
    np.testing.assert_allclose(out.mean(axis=1), 0.0, atol=1e-9)
    # variance var / (var + eps): 1 up to eps / var <= 1e-3
    np.testing.assert_allclose(out.var(axis=1), 1.0, atol=1e-3)
    np.testing.assert_allclose(eh.layer_norm(x, eps=0.0).var(axis=1), 1.0, rtol=1e-9)


def test_layer_norm_of_a_constant_row():
    # the seed's u_1 = (0.1, 0.1): zero variance, so layer norm returns the zero vector
    np.testing.assert_allclose(eh.layer_norm([walkthrough.VISUAL_TOKENS[0]]), [[0.0, 0.0]])
    with pytest.raises(ValueError, match="zero variance"):
        eh.layer_norm([[0.1, 0.1]], eps=0.0)


def test_exact_layer_norm_agrees():
    exact = eh.exact_layer_norm([[0.1, 0.2, 0.3, 0.6]])
    # mean 3/10, variance 7/200: entries (x - 3/10) * sqrt(200/7)
    assert float(exact[0, 0]) == pytest.approx(-0.2 / math.sqrt(0.035))
    assert str(exact[0, 0]) == "-2*sqrt(14)/7"            # -(1/5) * sqrt(200/7)
    np.testing.assert_allclose(np.array(exact.evalf(), dtype=float), eh.layer_norm([[0.1, 0.2, 0.3, 0.6]], eps=0.0),
                               atol=1e-12)
    assert all(v.is_real for v in exact)
    with pytest.raises(ValueError, match="zero variance"):
        eh.exact_layer_norm([[0.1, 0.1]])


@pytest.mark.parametrize("kwargs, name", [
    (dict(x=[[1.0, np.nan]]), "x"),
    (dict(x=[1.0, 2.0]), "x"),
    (dict(x=[[1.0, 2.0]], gamma=[1.0]), "gamma"),
    (dict(x=[[1.0, 2.0]], beta=[1.0, 2.0, 3.0]), "beta"),
    (dict(x=[[1.0, 2.0]], eps=-1.0), "eps"),
])
def test_layer_norm_validation(kwargs, name):
    with pytest.raises(ValueError, match=name):
        eh.layer_norm(**kwargs)


# ---------------------------------------------------------------------------
# Eq. 10.3: multi-head attention
# ---------------------------------------------------------------------------

def test_one_head_equals_chapter_2_attention_on_projected_inputs():
    rng = np.random.default_rng(0)
    A, B = rng.normal(size=(5, 6)), rng.normal(size=(3, 6))
    w = _random_weights(rng, 6)
    result = eh.multi_head_attention(A, B, w, n_heads=1)
    plain = attention.scaled_dot_product_attention(A @ w.W_q + w.b_q, B @ w.W_k + w.b_k, B @ w.W_v + w.b_v)
    np.testing.assert_allclose(result.heads[0].weights, plain.weights)
    np.testing.assert_allclose(result.output, plain.output @ w.W_o + w.b_o)


def test_heads_split_the_columns():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(4, 8))
    w = _random_weights(rng, 8)
    result = eh.multi_head_attention(X, X, w, n_heads=4)
    Q, K, V = X @ w.W_q + w.b_q, X @ w.W_k + w.b_k, X @ w.W_v + w.b_v
    outputs = []
    for h in range(4):
        cols = slice(2 * h, 2 * h + 2)
        head = attention.scaled_dot_product_attention(Q[:, cols], K[:, cols], V[:, cols])   # sqrt(2), not sqrt(8)
        np.testing.assert_allclose(result.heads[h].weights, head.weights)
        outputs.append(head.output)
    np.testing.assert_allclose(result.concatenated, np.hstack(outputs))
    np.testing.assert_allclose(result.output, np.hstack(outputs) @ w.W_o + w.b_o)
    assert result.weights.shape == (4, 4, 4)
    np.testing.assert_allclose(result.weights.sum(axis=2), 1.0)


def test_causal_multi_head():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(5, 4))
    w = _random_weights(rng, 4)
    result = eh.multi_head_attention(X, X, w, n_heads=2, causal=True)
    assert np.all(np.triu(result.weights[0], k=1) == 0.0)
    with pytest.raises(ValueError, match="causal"):
        eh.multi_head_attention(X, X[:3], w, n_heads=2, causal=True)


def test_cross_attention_matches_chapter_4():
    # One head, no biases, W_o = I: the decoder's cross-attention is chapter 4's Eq. 4.4.
    rng = np.random.default_rng(3)
    memory, queries = rng.normal(size=(8, 4)), rng.normal(size=(6, 4))
    W_q, W_k, W_v = (rng.normal(size=(4, 4)) for _ in range(3))
    zero = np.zeros(4)
    w = eh.AttentionWeights(W_q, W_k, W_v, np.eye(4), zero, zero, zero, zero)
    ours = eh.multi_head_attention(queries, memory, w, n_heads=1)
    chapter4 = visual_tokens.edit_head_cross_attention(memory, queries, W_q, W_k, W_v)
    np.testing.assert_allclose(ours.output, chapter4.output)
    np.testing.assert_allclose(ours.heads[0].weights, chapter4.weights)


@pytest.mark.parametrize("args, name", [
    (("Q", "KV3", 4), "n_heads"),
    (("Q", "KV_wrong_width", 2), "KV_in"),
    (("Q", "KV3", 0), "n_heads"),
    (("Q_nan", "KV3", 2), "Q_in"),
])
def test_multi_head_validation(args, name):
    rng = np.random.default_rng(4)
    arrays_ = {"Q": rng.normal(size=(2, 6)), "KV3": rng.normal(size=(3, 6)),
               "KV_wrong_width": rng.normal(size=(3, 5)), "Q_nan": np.full((2, 6), np.nan)}
    w = _random_weights(rng, 6)
    with pytest.raises(ValueError, match=name):
        eh.multi_head_attention(arrays_[args[0]], arrays_[args[1]], w, n_heads=args[2])


def test_multi_head_rejects_bad_weights():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(2, 4))
    with pytest.raises(ValueError, match="weights"):
        eh.multi_head_attention(X, X, {"W_q": np.eye(4)}, n_heads=1)
    small = _random_weights(rng, 3)
    with pytest.raises(ValueError, match="weights.W_q"):
        eh.multi_head_attention(X, X, small, n_heads=1)


# ---------------------------------------------------------------------------
# Eqs. 10.4-10.6: the layers, built from the public pieces
# ---------------------------------------------------------------------------

def test_encoder_layer_is_pre_norm_with_residuals():
    params = eh.init_edit_head_params(d_in=3, d_model=8, d_out=5, n_layers=1, n_queries=4, seed=1)
    layer = params.encoder_layers[0]
    x = np.random.default_rng(6).normal(size=(5, 8))
    normed = eh.layer_norm(x)
    after = x + eh.multi_head_attention(normed, normed, layer.self_attn, 4).output
    hidden = np.maximum(eh.layer_norm(after) @ layer.ffn.W_1 + layer.ffn.b_1, 0)
    expected = after + hidden @ layer.ffn.W_2 + layer.ffn.b_2
    result = eh.encoder_layer(x, layer, 4)
    np.testing.assert_allclose(result.after_attention, after)
    np.testing.assert_allclose(result.output, expected)


def test_decoder_layer_reads_the_memory():
    params = eh.init_edit_head_params(d_in=3, d_model=8, d_out=5, n_layers=1, n_queries=4, seed=2)
    layer = params.decoder_layers[0]
    rng = np.random.default_rng(7)
    y, memory = rng.normal(size=(4, 8)), rng.normal(size=(6, 8))
    normed = eh.layer_norm(y)
    y1 = y + eh.multi_head_attention(normed, normed, layer.self_attn, 4).output
    y2 = y1 + eh.multi_head_attention(eh.layer_norm(y1), memory, layer.cross_attn, 4).output
    hidden = np.maximum(eh.layer_norm(y2) @ layer.ffn.W_1 + layer.ffn.b_1, 0)
    result = eh.decoder_layer(y, memory, layer, 4)
    np.testing.assert_allclose(result.output, y2 + hidden @ layer.ffn.W_2 + layer.ffn.b_2)
    assert result.cross_attention.weights.shape == (4, 4, 6)
    with pytest.raises(ValueError, match="memory"):
        eh.decoder_layer(y, rng.normal(size=(6, 5)), layer, 4)
    with pytest.raises(ValueError, match="params"):
        eh.decoder_layer(y, memory, params.encoder_layers[0], 4)
    with pytest.raises(ValueError, match="n_heads"):
        eh.encoder_layer(y, params.encoder_layers[0], 3)


# ---------------------------------------------------------------------------
# Eqs. 10.1-10.7: the whole edit head
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def states():
    return pipeline.seed_run().img_states


@pytest.fixture(scope="module")
def params():
    return eh.init_edit_head_params()


def test_default_output_shapes(states, params):
    out = eh.edit_head(states.hidden_states, params, states.img_embeddings)
    assert out.U.shape == (77, 12)
    assert out.inputs.shape == (8, 2) and out.projected.shape == (8, 8)
    assert out.memory.shape == (8, 8) and out.decoded.shape == (77, 8)
    assert len(out.encoder) == 4 and len(out.decoder) == 4
    assert out.last_cross_attention.shape == (4, 77, 8)
    np.testing.assert_allclose(out.last_cross_attention.sum(axis=2), 1.0)
    np.testing.assert_allclose(out.inputs, states.hidden_states + states.img_embeddings)


def test_mgie_sizes_are_recorded():
    sizes = eh.MGIE_EDIT_HEAD
    assert (sizes["d_model"], sizes["n_heads"], sizes["n_queries"], sizes["d_out"]) == (512, 4, 77, 768)
    # 4096*512+512 + 77*512 + 4*(enc + dec) + 2*1024 + 512*768+768, counted in the docstring
    assert eh.edit_head_parameter_count(4096, 512, 768, 4, 77, 2048) == 31_958_784


def test_parameter_count_formula_matches_the_arrays():
    p = eh.init_edit_head_params(d_in=3, d_model=8, d_out=5, n_heads=2, n_layers=2, n_queries=7, d_ff=16)
    assert eh.parameter_count(p) == eh.edit_head_parameter_count(3, 8, 5, 2, 7, 16)


def test_shuffling_the_img_states_leaves_U_unchanged():
    # No positional encoding anywhere: the encoder only permutes its rows along, and the decoder's
    # cross-attention sums over the memory rows, so the order of the [IMG] states cannot matter.
    rng = np.random.default_rng(8)
    H, E = rng.normal(size=(8, 6)), rng.normal(size=(8, 6))
    p = eh.init_edit_head_params(d_in=6, d_model=8, d_out=5, n_queries=10, seed=3)
    out = eh.edit_head(H, p, E)
    for _ in range(3):
        perm = rng.permutation(8)
        shuffled = eh.edit_head(H[perm], p, E[perm])
        np.testing.assert_allclose(shuffled.U, out.U, atol=1e-12)
        np.testing.assert_allclose(shuffled.memory, out.memory[perm], atol=1e-12)


def test_the_inputs_matter(params, states):
    a = eh.edit_head(states.hidden_states, params, states.img_embeddings).U
    b = eh.edit_head(states.hidden_states * 2, params, states.img_embeddings).U
    assert np.abs(a - b).max() > 1e-3


def test_without_decoder_layers_U_ignores_the_inputs():
    p = eh.init_edit_head_params(n_layers=0, n_queries=5)
    out = eh.edit_head(np.ones((8, 2)), p)
    np.testing.assert_allclose(out.U, eh.layer_norm(p.queries) @ p.W_out + p.b_out)
    np.testing.assert_allclose(eh.edit_head(np.zeros((8, 2)), p).U, out.U)


def test_determinism_by_seed(states):
    a = eh.init_edit_head_params(seed=5)
    b = eh.init_edit_head_params(seed=5)
    c = eh.init_edit_head_params(seed=6)
    Ua = eh.edit_head(states.hidden_states, a).U
    np.testing.assert_array_equal(Ua, eh.edit_head(states.hidden_states, b).U)
    assert not np.allclose(Ua, eh.edit_head(states.hidden_states, c).U)
    # more queries append rows to Q_edit without changing the others
    np.testing.assert_array_equal(eh.init_edit_head_params(seed=5, n_queries=80).queries[:77], a.queries)


def test_null_condition_is_the_head_of_zero_states(params, states):
    null = eh.null_edit_condition(params, states.img_embeddings)
    np.testing.assert_allclose(null.U, eh.edit_head(np.zeros((8, 2)), params, states.img_embeddings).U)
    np.testing.assert_allclose(null.inputs, states.img_embeddings)
    U = eh.edit_head(states.hidden_states, params, states.img_embeddings).U
    assert np.abs(U - null.U).max() > 1e-3          # the instruction changes U
    assert eh.null_edit_condition(params, k=3).inputs.shape == (3, 2)
    with pytest.raises(ValueError, match="k"):
        eh.null_edit_condition(params, k=0)


def test_seed_img_states_come_from_chapter_4():
    states = pipeline.seed_run().img_states
    assert states.hidden_states.shape == (8, 2)
    np.testing.assert_allclose(states.img_embeddings[:4], walkthrough.VISUAL_TOKENS)
    assert states.tokens[-1] == "[IMG7]"
    # the states read are those one step before the [IMG] tokens (mgie_llava.py L295-298)
    assert states.state_positions == tuple(p - 1 for p in states.positions)
    np.testing.assert_array_equal(states.hidden_states, states.ffn.output[9:17])


# --- identical input rows: the transformer head vs chapter 4's toy --------------------------------

def test_identical_input_rows_give_one_row_per_query_through_the_residuals():
    """All 8 input rows equal: the memory rows are equal and the last cross-attention hands every
    query the same vector, yet U has one distinct row per query (the queries travel through the
    residual connections); chapter 4's toy head, without residuals, gives a single row."""
    for n_queries in (5, 77):
        params = eh.init_edit_head_params(n_queries=n_queries)
        result = eh.identical_input_rows([0.3, 0.3], params)
        assert result.memory_rows == 1
        assert result.cross_attention_rows == 1
        assert result.head_rows == n_queries
        assert result.toy_rows == 1


def test_identical_input_rows_memory_equal_to_rounding():
    params = eh.init_edit_head_params(n_queries=7)
    out = eh.edit_head(np.tile([0.3, 0.3], (8, 1)), params)
    assert np.abs(out.memory - out.memory[0]).max() < 1e-12
    cross = out.decoder[-1].cross_attention.output
    assert np.abs(cross - cross[0]).max() < 1e-12
    assert np.abs(out.U - out.U[0]).max() > 0.1


@pytest.mark.parametrize("args, match", [
    (([0.3], eh.init_edit_head_params()), "row"),
    (([0.3, 0.3], "params"), "params"),
    (([0.3, 0.3], eh.init_edit_head_params(n_layers=0)), "decoder layer"),
])
def test_identical_input_rows_errors(args, match):
    with pytest.raises(ValueError, match=match):
        eh.identical_input_rows(*args)


@pytest.mark.parametrize("kwargs, name", [
    (dict(n_heads=3), "n_heads"),
    (dict(n_queries=0), "n_queries"),
    (dict(d_out=0), "d_out"),
    (dict(seed=-1), "seed"),
    (dict(d_model=2.5), "d_model"),
    (dict(n_layers=-1), "n_layers"),
])
def test_init_validation(kwargs, name):
    with pytest.raises(ValueError, match=name):
        eh.init_edit_head_params(**kwargs)


def test_edit_head_validation(params):
    with pytest.raises(ValueError, match="img_hidden"):
        eh.edit_head(np.zeros((8, 3)), params)
    with pytest.raises(ValueError, match="img_embeddings"):
        eh.edit_head(np.zeros((8, 2)), params, np.zeros((7, 2)))
    with pytest.raises(ValueError, match="img_hidden"):
        eh.edit_head([[np.inf, 0.0]], params)
    with pytest.raises(ValueError, match="params"):
        eh.edit_head(np.zeros((8, 2)), "params")


# ---------------------------------------------------------------------------
# Eqs. 10.8-10.9: the denoiser's cross-attention
# ---------------------------------------------------------------------------

def test_image_grid_features_by_hand():
    F = eh.image_grid_features(toy_image(32), 8)
    assert F.shape == (64, 5)
    np.testing.assert_allclose(F[0], [0.55, 0.75, 0.95, 1 / 16, 1 / 16])     # top-left: sky, centre (1/16, 1/16)
    np.testing.assert_allclose(F[63, 3:], [15 / 16, 15 / 16])
    np.testing.assert_allclose(F[63, :3], [0.35, 0.65, 0.3])                    # bottom-right: grass
    with pytest.raises(ValueError, match="grid"):
        eh.image_grid_features(toy_image(32), 5)
    with pytest.raises(ValueError, match="image"):
        eh.image_grid_features(np.zeros((8, 8)), 2)


def test_denoiser_rows_sum_to_one_and_shape(params, states):
    U = eh.edit_head(states.hidden_states, params, states.img_embeddings).U
    F = eh.image_grid_features(toy_image(32), 8)
    w = eh.init_denoiser_weights(d_img=5, d_out=12)
    result = eh.denoiser_cross_attention(F, U, w.W_q, w.W_k, w.W_v)
    assert result.weights.shape == (64, 77)
    np.testing.assert_allclose(result.weights.sum(axis=1), 1.0)
    assert result.output.shape == (64, 4)
    # Eq. 10.9: column j of the weights on the grid
    np.testing.assert_array_equal(eh.attention_map(result.weights, 5, 8), result.weights[:, 5].reshape(8, 8))


def test_denoiser_is_chapter_4_cross_attention_with_roles_swapped():
    rng = np.random.default_rng(9)
    F, U = rng.normal(size=(16, 3)), rng.normal(size=(5, 3))
    W_q, W_k, W_v = (rng.normal(size=(3, 3)) for _ in range(3))
    ours = eh.denoiser_cross_attention(F, U, W_q, W_k, W_v)
    chapter4 = visual_tokens.edit_head_cross_attention(U, F, W_q, W_k, W_v)
    np.testing.assert_allclose(ours.weights, chapter4.weights)


def test_one_row_of_U_gets_all_the_weight():
    # a single key: the softmax over one entry is 1 for every position
    rng = np.random.default_rng(10)
    result = eh.denoiser_cross_attention(rng.normal(size=(9, 5)), rng.normal(size=(1, 4)),
                                         rng.normal(size=(5, 2)), rng.normal(size=(4, 2)), rng.normal(size=(4, 3)))
    np.testing.assert_array_equal(result.weights, np.ones((9, 1)))


@pytest.mark.parametrize("shapes, name", [
    (((64, 5), (77, 12), (4, 4), (12, 4), (12, 4)), "W_q"),
    (((64, 5), (77, 12), (5, 4), (11, 4), (12, 4)), "W_k"),
    (((64, 5), (77, 12), (5, 4), (12, 3), (12, 4)), "W_k"),
    (((64, 5), (77, 12), (5, 4), (12, 4), (10, 4)), "W_v"),
    (((0, 5), (77, 12), (5, 4), (12, 4), (12, 4)), "image_features"),
])
def test_denoiser_validation(shapes, name):
    arrays_ = [np.ones(shape) for shape in shapes]
    with pytest.raises(ValueError, match=name):
        eh.denoiser_cross_attention(*arrays_)


def test_attention_map_validation():
    weights = np.full((64, 3), 1 / 3)
    with pytest.raises(ValueError, match="row"):
        eh.attention_map(weights, 3, 8)
    with pytest.raises(ValueError, match="weights"):
        eh.attention_map(weights, 0, 7)


def test_chapter_example_reads_the_seed_run_and_chains_eqs_10_1_to_10_9():
    example = eh.ChapterExample(n_queries=5, d_out=6, n_heads=2, seed=3)
    assert example.states is pipeline.seed_run().img_states
    params = eh.init_edit_head_params(d_in=2, d_model=8, d_out=6, n_heads=2, n_layers=4, n_queries=5, seed=3)
    U = eh.edit_head(example.states.hidden_states, params, example.states.img_embeddings).U
    np.testing.assert_array_equal(example.output.U, U)
    np.testing.assert_array_equal(example.null.U, eh.null_edit_condition(params, example.states.img_embeddings).U)
    assert example.features.shape == (eh.GRID * eh.GRID, 5)
    assert example.cross.weights.shape == (eh.GRID * eh.GRID, 5)
    np.testing.assert_array_equal(example.attention_map(4), example.cross.weights[:, 4].reshape(eh.GRID, eh.GRID))
