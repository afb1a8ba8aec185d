"""Chapter 10: the edit head (MGIE's EditMapper) and the denoiser's cross-attention to U.

Chapter 4 built a one-layer stand-in for the edit head (:func:`visual_tokens.toy_edit_head`).
MGIE's real one (``EditMapper`` in mgie_llava.py) is a small encoder-decoder transformer:
Linear 4096 -> 512, ``nn.Transformer(d_model=512, nhead=4, num_encoder_layers=4,
num_decoder_layers=4, dim_feedforward=2048, dropout=0.0, norm_first=True)`` whose decoder reads
77 learned queries, then Linear 512 -> 768. This module computes the same architecture in the
book's small sizes. Its input is chapter 4's S_0 = h_IMG + E_IMG (m x d_in, Eq. 4.2): the
last-layer hidden states one step *before* the m = 8 [IMG] tokens (the states that predict
[IMG0]..[IMG7]; mgie_llava.py L295-298, ``index(32003) - 1``) plus the [IMG] token embeddings
(``embed_tokens.weight[-8:]``, L300; ``self.llm2hid(llm + emb)``, L199):

    X^(0) = S_0 W_in + 1 b_in                                      (Eq. 10.1, m x d_model)
    LN(x) = gamma * (x - mean(x)) / sqrt(var(x) + eps) + b_LN       (Eq. 10.2, row by row)
    head_h = softmax((A W_q^h + b_q^h)(B W_k^h + b_k^h)^T / sqrt(d_head)) (B W_v^h + b_v^h)
    MHA(A, B) = [head_1, ..., head_H] W_o + 1 b_o                   (Eq. 10.3)
    encoder layer:  X <- X + MHA(LN(X), LN(X));  X <- X + FFN(LN(X))               (Eq. 10.4)
    memory:         Mem = LN_enc(X^(N))                                             (Eq. 10.5)
    decoder layer:  Y <- Y + MHA(LN(Y), LN(Y));  Y <- Y + MHA(LN(Y), Mem);
                    Y <- Y + FFN(LN(Y)),   starting from Y^(0) = Q_edit             (Eq. 10.6)
    U = LN_dec(Y^(N)) W_out + 1 b_out                               (Eq. 10.7, q x d_out)

FFN is chapter 3's ReLU(X W_1 + b_1) W_2 + b_2 (Eq. 3.1). Nothing adds positions: neither the
[IMG] states nor the queries get a positional encoding, and no mask is used.

The denoiser reads U through cross-attention: image positions are the queries, the rows of U
the keys and values (Stable Diffusion's UNet does this at every resolution):

    A = softmax((F W_q)(U W_k)^T / sqrt(d_k)),   O = A (U W_v)      (Eq. 10.8)

Column j of A, reshaped to the image grid, is where row j of U acts (Eq. 10.9). For
classifier-free guidance MGIE's "no instruction" condition is the edit head applied to zero
hidden states (``hid_null = self.edit_head(torch.zeros(...), emb)`` in mgie_llava.py):

    U_null = EditHead(0 + E_IMG)                                    (Eq. 10.10)

Unlike chapter 4's one-layer toy, this head has residual connections: each decoder layer adds
its attention outputs to the queries (Y <- Y + ...). So even when every memory row is the same
(the cross-attention then hands every query the same vector), the 77 rows of U still differ,
because each row carries its own learned query through the residuals
(:func:`identical_input_rows`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy

from . import attention, ffn, pipeline, visual_tokens
from .images import toy_image
from .validation import as_array, as_matrix, as_vector, check_finite_number, check_int

__all__ = [
    "MGIE_EDIT_HEAD",
    "layer_norm",
    "exact_layer_norm",
    "AttentionWeights",
    "MultiHeadResult",
    "multi_head_attention",
    "LayerNormWeights",
    "FeedForwardWeights",
    "EncoderLayerParams",
    "DecoderLayerParams",
    "EditMapperParameters",
    "init_edit_head_params",
    "EncoderLayerResult",
    "DecoderLayerResult",
    "encoder_layer",
    "decoder_layer",
    "EditMapperResult",
    "edit_head",
    "null_edit_condition",
    "IdenticalInputRows",
    "identical_input_rows",
    "image_grid_features",
    "DenoiserWeights",
    "init_denoiser_weights",
    "denoiser_cross_attention",
    "attention_map",
    "GRID",
    "ChapterExample",
    "parameter_count",
    "edit_head_parameter_count",
    "layer_parameter_counts",
]

#: The sizes of MGIE's EditMapper (mgie_llava.py): the book's toy uses the same structure.
MGIE_EDIT_HEAD = {
    "d_in": 4096,
    "d_model": 512,
    "n_heads": 4,
    "n_encoder_layers": 4,
    "n_decoder_layers": 4,
    "d_ff": 2048,
    "n_queries": 77,
    "d_out": 768,
    "n_img_tokens": 8,
}

LAYER_NORM_EPS = 1e-5


# ---------------------------------------------------------------------------
# Eq. 10.2: layer normalisation
# ---------------------------------------------------------------------------

def layer_norm(x, gamma=None, beta=None, eps: float = LAYER_NORM_EPS) -> np.ndarray:
    """LN(x) = gamma * (x - mean(x)) / sqrt(var(x) + eps) + b_LN, row by row (Eq. 10.2, chapter 10).

    ``x`` is (n x d); mean and (biased) variance are taken over each row's d entries, as
    ``torch.nn.LayerNorm`` does. ``gamma`` and ``beta`` (the book's gamma and b_LN, length d) default to 1 and 0, so each
    output row has mean 0 and variance var / (var + eps), i.e. 1 up to eps.
    """
    x = as_matrix(x, "x")
    d = x.shape[1]
    gamma = np.ones(d) if gamma is None else as_vector(gamma, "gamma", length=d)
    beta = np.zeros(d) if beta is None else as_vector(beta, "beta", length=d)
    eps = check_finite_number(eps, "eps")
    if eps < 0:
        raise ValueError(f"eps must be >= 0, got {eps}")
    mean = x.mean(axis=1, keepdims=True)
    var = x.var(axis=1, keepdims=True)
    if eps == 0 and np.any(var == 0):
        raise ValueError("x has a row with zero variance; layer_norm needs eps > 0 there")
    return gamma * (x - mean) / np.sqrt(var + eps) + beta


def exact_layer_norm(x, eps=0) -> sympy.Matrix:
    """Eq. 10.2 with gamma = 1, beta = 0 in exact arithmetic (eps read as a decimal, default 0)."""
    X = ffn.to_rational_matrix(as_matrix(x, "x"), "x")
    eps = sympy.Rational(str(check_finite_number(eps, "eps")))
    if eps < 0:
        raise ValueError(f"eps must be >= 0, got {eps}")
    out = sympy.zeros(X.rows, X.cols)
    for i in range(X.rows):
        row = X.row(i)
        mean = sum(row) / X.cols
        var = sum((v - mean) ** 2 for v in row) / X.cols
        if var + eps == 0:
            raise ValueError("x has a row with zero variance; exact_layer_norm needs eps > 0 there")
        for j in range(X.cols):
            out[i, j] = sympy.nsimplify((row[j] - mean) / sympy.sqrt(var + eps))
    return out


# ---------------------------------------------------------------------------
# Eq. 10.3: multi-head attention
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class AttentionWeights:
    """One multi-head attention block: in-projections W_q, W_k, W_v (d_model x d_model, split by
    columns into heads), biases b_q, b_k, b_v, and the out-projection W_o, b_o (like
    ``torch.nn.MultiheadAttention``'s in_proj and out_proj)."""

    W_q: np.ndarray
    W_k: np.ndarray
    W_v: np.ndarray
    W_o: np.ndarray
    b_q: np.ndarray
    b_k: np.ndarray
    b_v: np.ndarray
    b_o: np.ndarray


@dataclass(frozen=True)
class MultiHeadResult:
    """Eq. 10.3: each head's chapter-2 :class:`~mgie_lessons.attention.AttentionResult`, the heads'
    outputs side by side (``concatenated``), and ``output`` = concatenated W_o + b_o."""

    heads: tuple
    concatenated: np.ndarray
    output: np.ndarray

    @property
    def weights(self) -> np.ndarray:
        """The attention maps of all heads, shape (n_heads, n_queries, n_keys)."""
        return np.stack([head.weights for head in self.heads])


def _check_weights(weights: AttentionWeights, d_model: int) -> AttentionWeights:
    if not isinstance(weights, AttentionWeights):
        raise ValueError(f"weights must be an AttentionWeights, got {type(weights).__name__}")
    for name in ("W_q", "W_k", "W_v", "W_o"):
        as_matrix(getattr(weights, name), f"weights.{name}", rows=d_model, cols=d_model)
    for name in ("b_q", "b_k", "b_v", "b_o"):
        as_vector(getattr(weights, name), f"weights.{name}", length=d_model)
    return weights


def _multi_head(Q_in: np.ndarray, KV_in: np.ndarray, w: AttentionWeights, n_heads: int,
                causal: bool) -> MultiHeadResult:
    Q = Q_in @ w.W_q + w.b_q
    K = KV_in @ w.W_k + w.b_k
    V = KV_in @ w.W_v + w.b_v
    n_q, n_k, d_model = Q.shape[0], K.shape[0], Q.shape[1]
    d_head = d_model // n_heads
    # Head h owns columns h*d_head .. (h+1)*d_head - 1; stack the heads along a first axis and
    # run chapter 2's Eqs. 2.2-2.5 for all of them at once (attention.softmax works on any axis).
    Qh = Q.reshape(n_q, n_heads, d_head).transpose(1, 0, 2)
    Kh = K.reshape(n_k, n_heads, d_head).transpose(1, 0, 2)
    Vh = V.reshape(n_k, n_heads, d_head).transpose(1, 0, 2)
    scores = Qh @ Kh.transpose(0, 2, 1)
    scaled = scores / np.sqrt(d_head)
    logits = scaled + attention.causal_mask(n_q) if causal else scaled
    weights = attention.softmax(logits, axis=-1)
    outputs = weights @ Vh
    heads = tuple(attention.AttentionResult(Qh[h], Kh[h], Vh[h], scores[h], scaled[h], weights[h], outputs[h])
                  for h in range(n_heads))
    concatenated = outputs.transpose(1, 0, 2).reshape(n_q, d_model)
    return MultiHeadResult(heads, concatenated, concatenated @ w.W_o + w.b_o)


def multi_head_attention(Q_in, KV_in, weights: AttentionWeights, n_heads: int, causal: bool = False) -> MultiHeadResult:
    """Multi-head attention of ``Q_in`` (n_q x d_model) over ``KV_in`` (n_k x d_model) (Eq. 10.3).

    The projections Q_in W_q + b_q, KV_in W_k + b_k, KV_in W_v + b_v are split by columns into
    ``n_heads`` heads of width d_model / n_heads; each head is chapter 2's scaled dot-product
    attention (:func:`mgie_lessons.attention.scaled_dot_product_attention`); the heads' outputs
    are put side by side and projected by W_o, b_o. Self-attention is ``Q_in is KV_in``;
    cross-attention takes the keys and values from another sequence. ``causal`` adds the causal
    mask (self-attention only; MGIE's edit head uses no mask).
    """
    Q_in = as_matrix(Q_in, "Q_in")
    d_model = Q_in.shape[1]
    KV_in = as_matrix(KV_in, "KV_in", cols=d_model)
    n_heads = check_int(n_heads, "n_heads", minimum=1)
    if d_model % n_heads:
        raise ValueError(f"n_heads must divide d_model = {d_model}, got {n_heads}")
    weights = _check_weights(weights, d_model)
    if causal and Q_in.shape[0] != KV_in.shape[0]:
        raise ValueError(f"causal=True needs as many queries as keys, got {Q_in.shape[0]} and {KV_in.shape[0]}")
    return _multi_head(Q_in, KV_in, weights, n_heads, bool(causal))


# ---------------------------------------------------------------------------
# Parameters of the edit head
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class LayerNormWeights:
    """gamma (scale) and beta (shift) of one LayerNorm, length d_model."""

    gamma: np.ndarray
    beta: np.ndarray


@dataclass(frozen=True)
class FeedForwardWeights:
    """Chapter 3's FFN: W_1 (d_model x d_ff), b_1, W_2 (d_ff x d_model), b_2."""

    W_1: np.ndarray
    b_1: np.ndarray
    W_2: np.ndarray
    b_2: np.ndarray


@dataclass(frozen=True)
class EncoderLayerParams:
    """A pre-norm encoder layer: norm1, self-attention, norm2, FFN."""

    norm1: LayerNormWeights
    self_attn: AttentionWeights
    norm2: LayerNormWeights
    ffn: FeedForwardWeights


@dataclass(frozen=True)
class DecoderLayerParams:
    """A pre-norm decoder layer: norm1, self-attention, norm2, cross-attention, norm3, FFN."""

    norm1: LayerNormWeights
    self_attn: AttentionWeights
    norm2: LayerNormWeights
    cross_attn: AttentionWeights
    norm3: LayerNormWeights
    ffn: FeedForwardWeights


@dataclass(frozen=True)
class EditMapperParameters:
    """Every parameter of the toy EditMapper (Eqs. 10.1-10.7).

    W_in (d_in x d_model), b_in; queries Q_edit (n_queries x d_model); the encoder and decoder
    layers; the final encoder and decoder norms; W_out (d_model x d_out), b_out; n_heads.
    """

    W_in: np.ndarray
    b_in: np.ndarray
    queries: np.ndarray
    encoder_layers: tuple
    encoder_norm: LayerNormWeights
    decoder_layers: tuple
    decoder_norm: LayerNormWeights
    W_out: np.ndarray
    b_out: np.ndarray
    n_heads: int

    @property
    def d_in(self) -> int:
        return self.W_in.shape[0]

    @property
    def d_model(self) -> int:
        return self.W_in.shape[1]

    @property
    def d_out(self) -> int:
        return self.W_out.shape[1]

    @property
    def n_queries(self) -> int:
        return self.queries.shape[0]


class _Draws:
    """Seeded normal draws, one generator per named parameter (so that e.g. more queries only
    append rows, and a different n_layers leaves the first layers' weights unchanged)."""

    def __init__(self, seed: int):
        self.seed = seed

    def normal(self, stream: tuple, shape: tuple, std: float) -> np.ndarray:
        return std * np.random.default_rng([self.seed, 10, *stream]).standard_normal(shape)


def _attention_weights(draws: _Draws, stream: tuple, d_model: int) -> AttentionWeights:
    std = 1 / np.sqrt(d_model)
    return AttentionWeights(
        W_q=draws.normal(stream + (0,), (d_model, d_model), std),
        W_k=draws.normal(stream + (1,), (d_model, d_model), std),
        W_v=draws.normal(stream + (2,), (d_model, d_model), std),
        W_o=draws.normal(stream + (3,), (d_model, d_model), std),
        b_q=draws.normal(stream + (4,), (d_model,), 0.1),
        b_k=draws.normal(stream + (5,), (d_model,), 0.1),
        b_v=draws.normal(stream + (6,), (d_model,), 0.1),
        b_o=draws.normal(stream + (7,), (d_model,), 0.1),
    )


def _ffn_weights(draws: _Draws, stream: tuple, d_model: int, d_ff: int) -> FeedForwardWeights:
    return FeedForwardWeights(
        W_1=draws.normal(stream + (0,), (d_model, d_ff), 1 / np.sqrt(d_model)),
        b_1=draws.normal(stream + (1,), (d_ff,), 0.1),
        W_2=draws.normal(stream + (2,), (d_ff, d_model), 1 / np.sqrt(d_ff)),
        b_2=draws.normal(stream + (3,), (d_model,), 0.1),
    )


def _norm(d_model: int) -> LayerNormWeights:
    return LayerNormWeights(np.ones(d_model), np.zeros(d_model))


def init_edit_head_params(d_in: int = 2, d_model: int = 8, d_out: int = 12, n_heads: int = 4,
                          n_layers: int = 4, n_queries: int = 77, d_ff: int | None = None,
                          seed: int = 0) -> EditMapperParameters:
    """Seeded parameters for :func:`edit_head` in the book's sizes (chapter 10).

    MGIE's sizes are d_in = 4096, d_model = 512, n_heads = 4, 4 encoder and 4 decoder layers
    (``n_layers`` sets both), d_ff = 2048 (default here: 4 d_model, the same ratio),
    n_queries = 77, d_out = 768. Weights are normal with standard deviation 1/sqrt(fan_in),
    biases normal with standard deviation 0.1, queries standard normal (``torch.randn`` in
    EditMapper), LayerNorms start at gamma = 1, beta = 0 (PyTorch's initialisation). The same
    ``seed`` always gives the same numbers.
    """
    d_in = check_int(d_in, "d_in", minimum=1, maximum=4096)
    d_model = check_int(d_model, "d_model", minimum=1, maximum=512)
    d_out = check_int(d_out, "d_out", minimum=1, maximum=768)
    n_heads = check_int(n_heads, "n_heads", minimum=1)
    if d_model % n_heads:
        raise ValueError(f"n_heads must divide d_model = {d_model}, got {n_heads}")
    n_layers = check_int(n_layers, "n_layers", minimum=0, maximum=12)
    n_queries = check_int(n_queries, "n_queries", minimum=1, maximum=512)
    d_ff = 4 * d_model if d_ff is None else check_int(d_ff, "d_ff", minimum=1, maximum=4096)
    seed = check_int(seed, "seed", minimum=0)
    draws = _Draws(seed)
    encoder = tuple(
        EncoderLayerParams(_norm(d_model), _attention_weights(draws, (1, layer, 0), d_model),
                           _norm(d_model), _ffn_weights(draws, (1, layer, 1), d_model, d_ff))
        for layer in range(n_layers))
    decoder = tuple(
        DecoderLayerParams(_norm(d_model), _attention_weights(draws, (2, layer, 0), d_model),
                           _norm(d_model), _attention_weights(draws, (2, layer, 1), d_model),
                           _norm(d_model), _ffn_weights(draws, (2, layer, 2), d_model, d_ff))
        for layer in range(n_layers))
    return EditMapperParameters(
        W_in=draws.normal((0, 0), (d_in, d_model), 1 / np.sqrt(d_in)),
        b_in=draws.normal((0, 1), (d_model,), 0.1),
        queries=draws.normal((0, 2), (n_queries, d_model), 1.0),
        encoder_layers=encoder,
        encoder_norm=_norm(d_model),
        decoder_layers=decoder,
        decoder_norm=_norm(d_model),
        W_out=draws.normal((0, 3), (d_model, d_out), 1 / np.sqrt(d_model)),
        b_out=draws.normal((0, 4), (d_out,), 0.1),
        n_heads=n_heads,
    )


def layer_parameter_counts(d_model: int, d_ff: int) -> dict:
    """Parameters of the edit head's building blocks for width d_model and FFN width d_ff.

    attention: 4 d^2 + 4 d (W_q, W_k, W_v, W_o and their biases); ffn: 2 d d_ff + d_ff + d;
    norm: 2 d (gamma, beta); encoder_layer: 2 norms + 1 attention + 1 FFN; decoder_layer:
    3 norms + 2 attentions (self and cross) + 1 FFN.
    """
    d = check_int(d_model, "d_model", minimum=1)
    d_ff = check_int(d_ff, "d_ff", minimum=1)
    counts = {"attention": 4 * d * d + 4 * d, "ffn": 2 * d * d_ff + d_ff + d, "norm": 2 * d}
    counts["encoder_layer"] = 2 * counts["norm"] + counts["attention"] + counts["ffn"]
    counts["decoder_layer"] = 3 * counts["norm"] + 2 * counts["attention"] + counts["ffn"]
    return counts


def edit_head_parameter_count(d_in: int, d_model: int, d_out: int, n_layers: int, n_queries: int,
                              d_ff: int) -> int:
    """The number of parameters of the edit head, counted from its sizes (no arrays allocated).

    W_in, b_in: d_in d + d; queries: q d; n_layers encoder and n_layers decoder layers
    (:func:`layer_parameter_counts`); 2 final norms; W_out, b_out: d d_out + d_out.
    With MGIE's sizes this is 31,958,784.
    """
    d_in = check_int(d_in, "d_in", minimum=1)
    d = check_int(d_model, "d_model", minimum=1)
    d_out = check_int(d_out, "d_out", minimum=1)
    n_layers = check_int(n_layers, "n_layers", minimum=0)
    n_queries = check_int(n_queries, "n_queries", minimum=1)
    blocks = layer_parameter_counts(d, d_ff)
    return ((d_in * d + d) + n_queries * d + n_layers * (blocks["encoder_layer"] + blocks["decoder_layer"])
            + 2 * blocks["norm"] + (d * d_out + d_out))


def parameter_count(params: EditMapperParameters) -> int:
    """How many numbers the given edit head holds (every array of ``params`` counted)."""
    if not isinstance(params, EditMapperParameters):
        raise ValueError(f"params must be an EditMapperParameters, got {type(params).__name__}")
    total = 0
    stack = [params]
    while stack:
        item = stack.pop()
        if isinstance(item, np.ndarray):
            total += item.size
        elif isinstance(item, tuple):
            stack.extend(item)
        elif hasattr(item, "__dataclass_fields__"):
            stack.extend(getattr(item, name) for name in item.__dataclass_fields__)
    return total


# ---------------------------------------------------------------------------
# Eqs. 10.4-10.7: the layers and the whole edit head
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class EncoderLayerResult:
    """One encoder layer (Eq. 10.4): its self-attention, the state after the attention
    residual (``after_attention``), its FFN (chapter 3's FFNResult) and ``output``."""

    self_attention: MultiHeadResult
    after_attention: np.ndarray
    ffn: ffn.FFNResult
    output: np.ndarray


@dataclass(frozen=True)
class DecoderLayerResult:
    """One decoder layer (Eq. 10.6): self-attention over the queries, cross-attention to the
    memory (``cross_attention.weights`` is n_heads x n_queries x k), FFN and ``output``."""

    self_attention: MultiHeadResult
    cross_attention: MultiHeadResult
    ffn: ffn.FFNResult
    output: np.ndarray


def _ln(x: np.ndarray, w: LayerNormWeights) -> np.ndarray:
    return layer_norm(x, w.gamma, w.beta)


def _ffn(x: np.ndarray, w: FeedForwardWeights) -> ffn.FFNResult:
    return ffn.feed_forward(x, w.W_1, w.b_1, w.W_2, w.b_2)


def _encoder_layer(x: np.ndarray, p: EncoderLayerParams, n_heads: int) -> EncoderLayerResult:
    normed = _ln(x, p.norm1)
    sa = _multi_head(normed, normed, p.self_attn, n_heads, False)
    x = x + sa.output
    ff = _ffn(_ln(x, p.norm2), p.ffn)
    return EncoderLayerResult(sa, x, ff, x + ff.output)


def _decoder_layer(y: np.ndarray, memory: np.ndarray, p: DecoderLayerParams, n_heads: int) -> DecoderLayerResult:
    normed = _ln(y, p.norm1)
    sa = _multi_head(normed, normed, p.self_attn, n_heads, False)
    y = y + sa.output
    ca = _multi_head(_ln(y, p.norm2), memory, p.cross_attn, n_heads, False)
    y = y + ca.output
    ff = _ffn(_ln(y, p.norm3), p.ffn)
    return DecoderLayerResult(sa, ca, ff, y + ff.output)


def encoder_layer(x, params: EncoderLayerParams, n_heads: int) -> EncoderLayerResult:
    """One pre-norm encoder layer (Eq. 10.4, chapter 10):
    X <- X + MHA(LN_1(X), LN_1(X)), then X <- X + FFN(LN_2(X)).

    ``x`` is (k x d_model); ``params`` an :class:`EncoderLayerParams` of the same width.
    """
    x = as_matrix(x, "x")
    if not isinstance(params, EncoderLayerParams):
        raise ValueError(f"params must be an EncoderLayerParams, got {type(params).__name__}")
    n_heads = check_int(n_heads, "n_heads", minimum=1)
    if x.shape[1] % n_heads:
        raise ValueError(f"n_heads must divide d_model = {x.shape[1]}, got {n_heads}")
    _check_weights(params.self_attn, x.shape[1])
    return _encoder_layer(x, params, n_heads)


def decoder_layer(y, memory, params: DecoderLayerParams, n_heads: int) -> DecoderLayerResult:
    """One pre-norm decoder layer (Eq. 10.6, chapter 10): self-attention over the queries,
    cross-attention from the queries to ``memory``, FFN, each with a residual connection.

    ``y`` is (q x d_model), ``memory`` (k x d_model), ``params`` a :class:`DecoderLayerParams`.
    No causal mask: every query sees every other query (nn.Transformer is called without one).
    """
    y = as_matrix(y, "y")
    memory = as_matrix(memory, "memory", cols=y.shape[1])
    if not isinstance(params, DecoderLayerParams):
        raise ValueError(f"params must be a DecoderLayerParams, got {type(params).__name__}")
    n_heads = check_int(n_heads, "n_heads", minimum=1)
    if y.shape[1] % n_heads:
        raise ValueError(f"n_heads must divide d_model = {y.shape[1]}, got {n_heads}")
    _check_weights(params.self_attn, y.shape[1])
    _check_weights(params.cross_attn, y.shape[1])
    return _decoder_layer(y, memory, params, n_heads)


@dataclass(frozen=True)
class EditMapperResult:
    """Everything :func:`edit_head` computed (Eqs. 10.1-10.7).

    ``inputs`` S_0 = h_IMG + E_IMG (m x d_in); ``projected`` X^(0) (m x d_model);
    ``encoder``: one :class:`EncoderLayerResult` per layer; ``memory`` (m x d_model);
    ``decoder``: one :class:`DecoderLayerResult` per layer; ``decoded``: LN_dec(Y^(N))
    (q x d_model); ``U`` (q x d_out).
    """

    inputs: np.ndarray
    projected: np.ndarray
    encoder: tuple
    memory: np.ndarray
    decoder: tuple
    decoded: np.ndarray
    U: np.ndarray

    @property
    def last_cross_attention(self) -> np.ndarray:
        """The last decoder layer's cross-attention maps, (n_heads, n_queries, k), or None."""
        return self.decoder[-1].cross_attention.weights if self.decoder else None


def edit_head(img_hidden, params: EditMapperParameters, img_embeddings=None) -> EditMapperResult:
    """MGIE's edit head in the book's sizes: [IMG] hidden states -> U (Eqs. 10.1-10.7, chapter 10).

    ``img_hidden`` h_IMG is (m x d_in), the last-layer hidden states one step before the m [IMG]
    tokens (the states that predict them: ``hidden_states[i][p:p+8]`` with
    ``p = labels[i].tolist().index(32003) - 1``, mgie_llava.py L295-298);
    ``img_embeddings`` E_IMG (m x d_in, default zeros) is added first, as EditMapper does with
    ``self.llm2hid(llm + emb)``. The sum is projected to d_model, goes through the pre-norm
    encoder (final norm: the memory), the decoder starts from the learned queries and attends to
    the memory, and the final norm and W_out give U of shape (n_queries, d_out).
    """
    if not isinstance(params, EditMapperParameters):
        raise ValueError(f"params must be an EditMapperParameters, got {type(params).__name__}")
    img_hidden = as_matrix(img_hidden, "img_hidden", cols=params.d_in)
    if img_embeddings is None:
        img_embeddings = np.zeros_like(img_hidden)
    img_embeddings = as_matrix(img_embeddings, "img_embeddings", rows=img_hidden.shape[0], cols=params.d_in)
    inputs = img_hidden + img_embeddings
    projected = inputs @ params.W_in + params.b_in
    x = projected
    encoder = []
    for layer in params.encoder_layers:
        result = _encoder_layer(x, layer, params.n_heads)
        encoder.append(result)
        x = result.output
    memory = _ln(x, params.encoder_norm)
    y = params.queries
    decoder = []
    for layer in params.decoder_layers:
        result = _decoder_layer(y, memory, layer, params.n_heads)
        decoder.append(result)
        y = result.output
    decoded = _ln(y, params.decoder_norm)
    U = decoded @ params.W_out + params.b_out
    return EditMapperResult(inputs, projected, tuple(encoder), memory, tuple(decoder), decoded, U)


def null_edit_condition(params: EditMapperParameters, img_embeddings=None, k: int = 8) -> EditMapperResult:
    """U_null = EditHead(0 + E_IMG): MGIE's "no instruction" condition (Eq. 10.10, chapter 10).

    mgie_llava.py computes ``hid_null = self.edit_head(torch.zeros(B, 8, 4096), emb)``: zero
    hidden states, but the [IMG] token embeddings are still added. It is used for the dropped
    instruction in training and as the unconditional branch of classifier-free guidance
    (chapter 9). ``k`` is the number of [IMG] tokens when ``img_embeddings`` is not given.
    """
    if not isinstance(params, EditMapperParameters):
        raise ValueError(f"params must be an EditMapperParameters, got {type(params).__name__}")
    if img_embeddings is None:
        k = check_int(k, "k", minimum=1, maximum=64)
        zeros = np.zeros((k, params.d_in))
    else:
        img_embeddings = as_matrix(img_embeddings, "img_embeddings", cols=params.d_in)
        zeros = np.zeros_like(img_embeddings)
    return edit_head(zeros, params, img_embeddings)


@dataclass(frozen=True)
class IdenticalInputRows:
    """What each head makes of m identical input rows (chapter 10, chapter 4 exercise 4).

    ``memory_rows``: distinct rows of the transformer head's memory (1: identical rows stay
    identical through the encoder); ``cross_attention_rows``: distinct rows of the last decoder
    layer's cross-attention output (1: every query receives the same average of identical
    values); ``head_rows``: distinct rows of the transformer head's U (one per query, thanks to
    the residual connections); ``toy_rows``: distinct rows of chapter 4's one-layer toy head's U
    on the same input (1: no residual, so its output is only the mix of identical values).
    """

    memory_rows: int
    cross_attention_rows: int
    head_rows: int
    toy_rows: int
    n_queries: int


def identical_input_rows(row, params: EditMapperParameters, m: int = 8, toy_seed: int = 0) -> IdenticalInputRows:
    """Feed m copies of one input row to the transformer edit head and to chapter 4's toy head,
    and count the distinct rows of what comes out (chapter 10).

    ``row`` (length d_in) is the single S_0 row repeated m times; ``params`` the transformer
    head's parameters (:func:`init_edit_head_params`). The toy head
    (:func:`visual_tokens.toy_edit_head`) gets the same number of queries and output width.
    """
    if not isinstance(params, EditMapperParameters):
        raise ValueError(f"params must be an EditMapperParameters, got {type(params).__name__}")
    if not params.decoder_layers:
        raise ValueError("params must have at least one decoder layer (n_layers >= 1)")
    row = as_vector(row, "row", length=params.d_in)
    m = check_int(m, "m", minimum=1, maximum=64)
    S0 = np.tile(row, (m, 1))
    out = edit_head(S0, params)
    toy = visual_tokens.toy_edit_head(S0, n_queries=params.n_queries, d_out=params.d_out,
                                      seed=check_int(toy_seed, "toy_seed", minimum=0))
    cross = out.decoder[-1].cross_attention.output
    return IdenticalInputRows(visual_tokens.distinct_rows(out.memory), visual_tokens.distinct_rows(cross),
                              visual_tokens.distinct_rows(out.U), visual_tokens.distinct_rows(toy.output),
                              params.n_queries)


# ---------------------------------------------------------------------------
# Eqs. 10.8-10.9: the denoiser's cross-attention to U
# ---------------------------------------------------------------------------

def image_grid_features(image, grid: int = 8) -> np.ndarray:
    """Features of an image on a grid x grid layout: each cell's mean colour and its centre (x, y).

    ``image`` is (S, S, 3) with S divisible by ``grid``; returns (grid * grid, 5) rows
    [r, g, b, x, y] in row-major order (row 0 is the top of the image), a stand-in for the
    UNet's feature map at one resolution.
    """
    image = as_array(image, "image")
    if image.ndim != 3 or image.shape[2] != 3 or image.shape[0] != image.shape[1] or image.size == 0:
        raise ValueError(f"image must have shape (S, S, 3), got shape {image.shape}")
    grid = check_int(grid, "grid", minimum=1, maximum=image.shape[0])
    size = image.shape[0]
    if size % grid:
        raise ValueError(f"grid must divide the image size {size}, got {grid}")
    f = size // grid
    colours = image.reshape(grid, f, grid, f, 3).mean(axis=(1, 3)).reshape(-1, 3)
    centres = (np.arange(grid) + 0.5) / grid
    ys, xs = np.meshgrid(centres, centres, indexing="ij")
    return np.column_stack([colours, xs.ravel(), ys.ravel()])


@dataclass(frozen=True)
class DenoiserWeights:
    """The denoiser cross-attention's W_q (d_img x d_k), W_k (d_out x d_k), W_v (d_out x d_v)."""

    W_q: np.ndarray
    W_k: np.ndarray
    W_v: np.ndarray


def init_denoiser_weights(d_img: int = 5, d_out: int = 12, d_k: int = 4, d_v: int = 4, seed: int = 0) -> DenoiserWeights:
    """Seeded (untrained) weights for :func:`denoiser_cross_attention`, std 1/sqrt(fan_in)."""
    d_img = check_int(d_img, "d_img", minimum=1)
    d_out = check_int(d_out, "d_out", minimum=1, maximum=768)
    d_k = check_int(d_k, "d_k", minimum=1)
    d_v = check_int(d_v, "d_v", minimum=1)
    seed = check_int(seed, "seed", minimum=0)
    draws = _Draws(seed)
    # Rows are drawn per input dimension, so a larger d_out appends rows to W_k and W_v.
    return DenoiserWeights(
        W_q=draws.normal((3, 0), (d_img, d_k), 1 / np.sqrt(d_img)),
        W_k=draws.normal((3, 1), (d_out, d_k), 1 / np.sqrt(d_out)),
        W_v=draws.normal((3, 2), (d_out, d_v), 1 / np.sqrt(d_out)),
    )


def denoiser_cross_attention(image_features, U, W_q, W_k, W_v) -> attention.AttentionResult:
    """Image positions attend to the rows of U (Eq. 10.8, chapter 10).

    ``image_features`` F is (n_pos x d_img), one row per image position (queries F W_q);
    ``U`` is (q x d_out), the edit head's output (keys U W_k, values U W_v). W_q is
    (d_img x d_k), W_k (d_out x d_k), W_v (d_out x d_v). Returns chapter 2's AttentionResult:
    ``weights`` is n_pos x q, each row (one position) sums to 1 over the q rows of U. This is
    chapter 4's cross-attention with the roles swapped: there the queries were the edit head's,
    here they come from the image.
    """
    F = as_matrix(image_features, "image_features")
    U = as_matrix(U, "U")
    W_q = as_matrix(W_q, "W_q", rows=F.shape[1])
    W_k = as_matrix(W_k, "W_k", rows=U.shape[1], cols=W_q.shape[1])
    W_v = as_matrix(W_v, "W_v", rows=U.shape[1])
    return attention.scaled_dot_product_attention(F @ W_q, U @ W_k, U @ W_v)


def attention_map(weights, row: int, grid: int) -> np.ndarray:
    """Column ``row`` of the (grid*grid x q) weights, reshaped to grid x grid (Eq. 10.9):
    how strongly each image position reads row ``row`` of U."""
    weights = as_matrix(weights, "weights")
    grid = check_int(grid, "grid", minimum=1)
    if weights.shape[0] != grid * grid:
        raise ValueError(f"weights must have grid * grid = {grid * grid} rows, got {weights.shape[0]}")
    row = check_int(row, "row", minimum=0, maximum=weights.shape[1] - 1)
    return weights[:, row].reshape(grid, grid)


# ---------------------------------------------------------------------------
# The chapter's running example
# ---------------------------------------------------------------------------

#: The image positions of the toy denoiser: an 8 x 8 grid over the 32 x 32 toy image.
GRID = 8


class ChapterExample:
    """The chapter's running example, Eqs. 10.1-10.10 on the seed: ``states``, the [IMG] pass of
    ``pipeline.seed_run().img_states`` (h_IMG and E_IMG for 8 [IMG] tokens, Eqs. 4.1-4.2);
    ``params`` and ``output``, the edit head (d_in 2, d_model 8, 4 + 4 layers, ``n_queries``
    queries, width ``d_out``, ``n_heads`` heads, drawn with ``seed``) and its U; ``null``,
    U_null (Eq. 10.10); ``features``, the toy image's GRID x GRID cells; ``denoiser`` and
    ``cross``, the denoiser's cross-attention of those cells to U (Eq. 10.8)."""

    def __init__(self, n_queries: int = 77, d_out: int = 12, n_heads: int = 4, seed: int = 0):
        self.states = pipeline.seed_run().img_states
        self.params = init_edit_head_params(d_in=2, d_model=8, d_out=d_out, n_heads=n_heads,
                                            n_layers=4, n_queries=n_queries, seed=seed)
        self.output = edit_head(self.states.hidden_states, self.params, self.states.img_embeddings)
        self.null = null_edit_condition(self.params, self.states.img_embeddings)
        self.features = image_grid_features(toy_image(32), GRID)
        self.denoiser = init_denoiser_weights(d_img=self.features.shape[1], d_out=d_out, seed=seed)
        self.cross = denoiser_cross_attention(self.features, self.output.U, self.denoiser.W_q,
                                              self.denoiser.W_k, self.denoiser.W_v)

    def attention_map(self, row: int) -> np.ndarray:
        """Where image positions read row ``row`` of U, as a GRID x GRID map (Eq. 10.9)."""
        return attention_map(self.cross.weights, row, GRID)
