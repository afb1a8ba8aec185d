"""Chapter 4: visual tokens, and the edit head that turns them into the diffusion condition U.

The seed simply *gives* four 2-d "visual tokens" u_1..u_4 (``walkthrough.VISUAL_TOKENS``). In MGIE
they are computed in two stages:

1. The language model appends m special tokens [IMG0]..[IMG{m-1}] (m = 8 in MGIE) to the
   instruction, at positions p_1..p_m. The edit head reads the last-layer hidden states one
   step *before* them, at p_1 - 1 .. p_m - 1: the states whose next-token prediction is
   [IMG0]..[IMG{m-1}] (mgie_llava.py L295-298: ``p = labels[i].tolist().index(32003) - 1``,
   ``hidden_states[i][p:p+8]``, 32003 being the id of [IMG0]; demo.ipynb does the same with
   ``out.index(32003) - 1``). The [IMG] rows E_IMG of the embedding table are added
   (``embed_tokens.weight[-8:]``, mgie_llava.py L300, and ``self.llm2hid(llm + emb)``, L199):

       h_IMG = F[p_1 - 1 .. p_m - 1, :]      states that predict the [IMG] tokens  (Eq. 4.1)
       S_0   = h_IMG + E_IMG                 the edit head's input, m x d          (Eq. 4.2)

2. An edit head maps them to U. The toy edit head of this chapter does it with one
   cross-attention of width d_e (MGIE: 512) and q learned queries Q_edit (MGIE: 77):

       S   = S_0 W_in + 1 b_in               in-projection, m x d_e               (Eq. 4.3)
       C   = softmax((Q_edit W_q)(S W_k)^T / sqrt(d_e)) (S W_v)
                                             cross-attention, q x d_e              (Eq. 4.4)
       U   = C W_out + 1 b_out               out-projection, q x d_out            (Eq. 4.5)

Queries come from the edit head (they are parameters); keys and values come from the [IMG]
hidden states. MGIE's real edit head (``EditMapper`` in mgie_llava.py) runs a 4-layer
encoder-decoder ``nn.Transformer`` where this toy has one cross-attention; chapter 10 builds
that fuller version on top of :func:`edit_head_cross_attention` and :func:`toy_edit_head`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy

from . import tokens, walkthrough
from .attention import AttentionResult, scaled_dot_product_attention, self_attention
from .ffn import FFNResult, feed_forward, to_rational_matrix
from .validation import as_matrix, as_vector, check_int

__all__ = [
    "IMG_TOKEN",
    "MGIE_SHAPES",
    "seed_visual_tokens",
    "image_token_embeddings",
    "hidden_states_at",
    "ImageTokenPass",
    "image_token_pass",
    "seed_image_token_pass",
    "edit_head_cross_attention",
    "CrossAttentionHeadParameters",
    "edit_head_parameters",
    "CrossAttentionHeadResult",
    "toy_edit_head",
    "seed_edit_head",
    "ExactCrossAttention",
    "exact_edit_head_cross_attention",
    "distinct_rows",
]

#: How [IMG] tokens are written in the token list: [IMG0], [IMG1], ... counted from 0 as in MGIE
#: (mgie_train.py L531 appends " [IMG0] ... [IMG7]" to the answer).
IMG_TOKEN = "[IMG{}]"

#: The sizes of the real MGIE pipeline (mgie_llava.py, class EditMapper; mgie_train.py), for
#: tables in the book: number of [IMG] tokens, LLM width, edit-head width, number of queries,
#: width of U.
MGIE_SHAPES = {
    "n_img_tokens": 8,
    "d_llm": 4096,
    "d_edit_head": 512,
    "n_queries": 77,
    "d_out": 768,
}


def seed_visual_tokens() -> np.ndarray:
    """The seed's u_1..u_4 as a 4 x 2 matrix (seed section 2.3): given, not computed."""
    return as_matrix(walkthrough.VISUAL_TOKENS, "walkthrough.VISUAL_TOKENS")


def image_token_embeddings(m: int) -> np.ndarray:
    """Embeddings E_IMG (m x 2) for m toy [IMG] tokens, 1 <= m <= 16 (chapter 4).

    The first four are the seed's u_1..u_4, which follow u_i = (i/10, i/10); tokens beyond
    the fourth continue that same pattern. (In MGIE these embeddings are learned rows of the
    token-embedding table, of width 4096.)
    """
    m = check_int(m, "m", minimum=1, maximum=16)
    given = seed_visual_tokens()
    rows = [given[i] if i < len(given) else np.full(given.shape[1], (i + 1) / 10) for i in range(m)]
    return np.vstack(rows)


def hidden_states_at(hidden_states, positions) -> np.ndarray:
    """The rows of ``hidden_states`` (n x d) at ``positions``, in that order (Eq. 4.1).

    Positions count from 0; negative positions are not accepted. Raises ``ValueError`` for an
    empty list, a non-integer or an out-of-range position.
    """
    hidden_states = as_matrix(hidden_states, "hidden_states")
    if isinstance(positions, (str, bytes)):
        raise ValueError("positions must be a list of whole numbers")
    positions = list(np.atleast_1d(np.asarray(positions, dtype=object)))
    if not positions:
        raise ValueError("positions must not be empty")
    checked = [check_int(p, "positions", minimum=0, maximum=hidden_states.shape[0] - 1)
               for p in positions]
    return hidden_states[checked]


@dataclass(frozen=True)
class ImageTokenPass:
    """One toy language-model layer over instruction + [IMG] tokens (Eqs. 4.1-4.2).

    ``tokens``: the instruction words followed by [IMG0]..[IMG{m-1}]; ``inputs``: their
    embeddings stacked (n + m rows); ``attention`` and ``ffn``: chapter 2 and chapter 3 applied
    to ``inputs``; ``positions``: the row numbers p_1..p_m of the [IMG] tokens;
    ``state_positions``: the rows read, p_1 - 1 .. p_m - 1 (one step before each [IMG] token, as
    MGIE's ``index(32003) - 1``); ``hidden_states``: h_IMG, the FFN output at those rows
    (Eq. 4.1); ``img_embeddings``: E_IMG; ``edit_head_input``:
    S_0 = h_IMG + E_IMG (Eq. 4.2), what MGIE's edit head receives (``self.llm2hid(llm + emb)``
    in EditMapper.forward).
    """

    tokens: tuple
    inputs: np.ndarray
    attention: AttentionResult
    ffn: FFNResult
    positions: tuple
    state_positions: tuple
    hidden_states: np.ndarray
    img_embeddings: np.ndarray
    edit_head_input: np.ndarray


def image_token_pass(X, img_embeddings, W_q, W_k, W_v, W1, b1, W2, b2, *,
                     words=None, causal: bool = True) -> ImageTokenPass:
    """Append [IMG] tokens to the instruction and read their hidden states (Eqs. 4.1-4.2).

    X is the embedded instruction (n x d); ``img_embeddings`` E_IMG is (m x d). The stacked
    (n + m) x d matrix goes through one self-attention (Eqs. 2.1-2.5, causal by default as in a
    decoder-only language model) and the FFN (Eq. 3.1), with no residual connections or
    normalisation, exactly like the seed's one-layer model. ``words`` (optional) are the n
    instruction tokens, used to label the rows.

    The hidden states are read one row *before* each [IMG] token (rows n - 1 .. n + m - 2), the
    states that predict [IMG0]..[IMG{m-1}], as MGIE does (mgie_llava.py L295-298). Under the
    causal mask the first of them (the last instruction word's state) sees no [IMG] token, and
    the last [IMG] token's own state is never read.
    """
    X = as_matrix(X, "X")
    img_embeddings = as_matrix(img_embeddings, "img_embeddings", cols=X.shape[1])
    if words is None:
        words = [f"token{i + 1}" for i in range(X.shape[0])]
    words = list(words)
    if len(words) != X.shape[0]:
        raise ValueError(f"words must have one entry per row of X ({X.shape[0]}), got {len(words)}")
    m = img_embeddings.shape[0]
    inputs = np.vstack([X, img_embeddings])
    attention = self_attention(inputs, W_q, W_k, W_v, causal=causal)
    ffn_result = feed_forward(attention.output, W1, b1, W2, b2)
    positions = tuple(range(X.shape[0], X.shape[0] + m))
    state_positions = tuple(p - 1 for p in positions)
    hidden = hidden_states_at(ffn_result.output, state_positions)
    if hidden.shape != img_embeddings.shape:
        raise ValueError(
            f"the FFN output width ({hidden.shape[1]}) must equal the embedding width "
            f"({img_embeddings.shape[1]}) to add the [IMG] embeddings; check W2 and b2"
        )
    labels = tuple(words) + tuple(IMG_TOKEN.format(i) for i in range(m))
    return ImageTokenPass(labels, inputs, attention, ffn_result, positions, state_positions, hidden,
                          img_embeddings, hidden + img_embeddings)


def seed_image_token_pass(m: int = 4) -> ImageTokenPass:
    """The chapter's running example: :func:`image_token_pass` over the seed's instruction
    followed by m [IMG] tokens (1 <= m <= 16; E_IMG from :func:`image_token_embeddings`, so m = 4
    gives the seed's u_1..u_4 and m = 8 MGIE's count), with the seed's weights, causal
    (Eqs. 4.1-4.2). ``pipeline.seed_run()`` holds the m = 4 and m = 8 passes, computed once."""
    words, X = tokens.embed(walkthrough.INSTRUCTION)
    return image_token_pass(X, image_token_embeddings(m), walkthrough.W_Q, walkthrough.W_K, walkthrough.W_V,
                            walkthrough.W1, walkthrough.B1, walkthrough.W2, walkthrough.B2, words=words)


def edit_head_cross_attention(hidden_states, queries, W_q, W_k, W_v) -> AttentionResult:
    """One cross-attention: q queries attend to m hidden states (Eq. 4.4, chapter 4).

    ``hidden_states`` S is (m x d) and supplies keys S W_k and values S W_v; ``queries``
    Q_edit is (q x d) and supplies Q_edit W_q. W_q and W_k are (d x d_k), W_v is (d x d_v).
    Returns the chapter-2 :class:`~mgie_lessons.attention.AttentionResult` of
    ``scaled_dot_product_attention(Q_edit W_q, S W_k, S W_v)``: ``weights`` is the q x m
    cross-attention map (each row sums to 1) and ``output`` is q x d_v. No mask: every query
    sees every [IMG] token. Attention itself is not re-implemented here.
    """
    hidden_states = as_matrix(hidden_states, "hidden_states")
    d = hidden_states.shape[1]
    queries = as_matrix(queries, "queries", cols=d)
    W_q = as_matrix(W_q, "W_q", rows=d)
    W_k = as_matrix(W_k, "W_k", rows=d, cols=W_q.shape[1])
    W_v = as_matrix(W_v, "W_v", rows=d)
    return scaled_dot_product_attention(queries @ W_q, hidden_states @ W_k, hidden_states @ W_v)


def distinct_rows(M, decimals: int = 9) -> int:
    """How many different rows ``M`` has, rows equal after rounding to ``decimals`` places counting
    as one (chapter 4, exercise 4; chapter 10). Used to compare what the toy edit head and MGIE's
    transformer head can express when their inputs carry little information."""
    M = as_matrix(M, "M")
    decimals = check_int(decimals, "decimals", minimum=0, maximum=15)
    return int(np.unique(np.round(M, decimals), axis=0).shape[0])


@dataclass(frozen=True)
class CrossAttentionHeadParameters:
    """The toy edit head's parameters (Eqs. 4.3-4.5), drawn once from a seeded generator.

    Shapes: W_in (d_in x d_edit), b_in (d_edit), queries Q_edit (n_queries x d_edit),
    W_q, W_k, W_v (d_edit x d_edit), W_out (d_edit x d_out), b_out (d_out).
    """

    W_in: np.ndarray
    b_in: np.ndarray
    queries: np.ndarray
    W_q: np.ndarray
    W_k: np.ndarray
    W_v: np.ndarray
    W_out: np.ndarray
    b_out: np.ndarray


def _normal(seed: int, stream: int, shape: tuple, std: float) -> np.ndarray:
    # One generator per parameter, so that e.g. asking for more queries adds rows to Q_edit
    # without changing W_in or the queries already drawn.
    return std * np.random.default_rng([seed, stream]).standard_normal(shape)


def edit_head_parameters(d_in: int, n_queries: int, d_edit: int, d_out: int,
                         seed: int = 0) -> CrossAttentionHeadParameters:
    """Deterministic random parameters for :func:`toy_edit_head` (chapter 4).

    Weights are normal with standard deviation 1/sqrt(fan_in) (a common initialisation),
    queries are standard normal (like ``torch.randn(1, 77, 512)`` in MGIE's EditMapper) and
    biases are normal with standard deviation 0.1. The same ``seed`` always gives the same
    numbers; more queries append rows without changing the others.
    """
    d_in = check_int(d_in, "d_in", minimum=1)
    n_queries = check_int(n_queries, "n_queries", minimum=1, maximum=1000)
    d_edit = check_int(d_edit, "d_edit", minimum=1, maximum=1024)
    d_out = check_int(d_out, "d_out", minimum=1, maximum=1024)
    seed = check_int(seed, "seed", minimum=0)
    return CrossAttentionHeadParameters(
        W_in=_normal(seed, 0, (d_in, d_edit), 1 / np.sqrt(d_in)),
        b_in=_normal(seed, 1, (d_edit,), 0.1),
        queries=_normal(seed, 2, (n_queries, d_edit), 1.0),
        W_q=_normal(seed, 3, (d_edit, d_edit), 1 / np.sqrt(d_edit)),
        W_k=_normal(seed, 4, (d_edit, d_edit), 1 / np.sqrt(d_edit)),
        W_v=_normal(seed, 5, (d_edit, d_edit), 1 / np.sqrt(d_edit)),
        W_out=_normal(seed, 6, (d_edit, d_out), 1 / np.sqrt(d_edit)),
        b_out=_normal(seed, 7, (d_out,), 0.1),
    )


@dataclass(frozen=True)
class CrossAttentionHeadResult:
    """Everything the toy edit head computed (Eqs. 4.3-4.5).

    ``hidden_states``: its input S_0 (m x d_in); ``projected``: S (m x d_edit, Eq. 4.3);
    ``queries``: Q_edit (n_queries x d_edit); ``attention``: the cross-attention
    :class:`~mgie_lessons.attention.AttentionResult` (``attention.weights`` is the
    n_queries x m map, ``attention.output`` is C, Eq. 4.4); ``output``: U
    (n_queries x d_out, Eq. 4.5);
    ``parameters``: the :class:`CrossAttentionHeadParameters` used.
    """

    hidden_states: np.ndarray
    projected: np.ndarray
    queries: np.ndarray
    attention: AttentionResult
    output: np.ndarray
    parameters: CrossAttentionHeadParameters


def toy_edit_head(hidden_states, n_queries: int = 6, d_out: int = 3, seed: int = 0, *,
                  d_edit: int = 4) -> CrossAttentionHeadResult:
    """A one-layer stand-in for MGIE's edit head: in-proj, cross-attention, out-proj (Eqs. 4.3-4.5).

    ``hidden_states`` S_0 is (m x d_in), e.g. h_IMG + E_IMG from :func:`image_token_pass`.
    ``n_queries`` (q) learned queries (MGIE: 77) of width ``d_edit`` (MGIE: 512) attend to the
    m projected hidden states; the result is projected to ``d_out`` (MGIE: 768). Parameters
    come from :func:`edit_head_parameters` with ``seed``, so the result is deterministic.
    Returns an :class:`CrossAttentionHeadResult` whose ``output`` U has shape (n_queries, d_out).
    """
    hidden_states = as_matrix(hidden_states, "hidden_states")
    params = edit_head_parameters(hidden_states.shape[1], n_queries, d_edit, d_out, seed)
    projected = hidden_states @ params.W_in + params.b_in
    attention = edit_head_cross_attention(projected, params.queries, params.W_q, params.W_k, params.W_v)
    output = attention.output @ params.W_out + params.b_out
    return CrossAttentionHeadResult(hidden_states, projected, params.queries, attention, output, params)


def seed_edit_head(n_tokens: int = 4, n_queries: int = 6, d_out: int = 3,
                   seed: int = 0) -> tuple[ImageTokenPass, CrossAttentionHeadResult]:
    """The chapter's toy pipeline for m = ``n_tokens`` [IMG] tokens: the seed's pass
    (:func:`seed_image_token_pass`, Eqs. 4.1-4.2) and the toy edit head on its S_0
    (:func:`toy_edit_head`, Eqs. 4.3-4.5), as (pass, edit-head result)."""
    token_pass = seed_image_token_pass(n_tokens)
    head = toy_edit_head(token_pass.edit_head_input, n_queries=n_queries, d_out=d_out, seed=seed)
    return token_pass, head


# ---------------------------------------------------------------------------
# Exact version of the cross-attention (sympy)
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class ExactCrossAttention:
    """Exact scores, weights and output of Eq. 4.4 as sympy matrices (weights contain exp)."""

    scores: sympy.Matrix
    weights: sympy.Matrix
    output: sympy.Matrix


def exact_edit_head_cross_attention(hidden_states, queries, W_q, W_k, W_v) -> ExactCrossAttention:
    """Eq. 4.4 with sympy: rational scores, weights exp(s_ij/sqrt(d_k)) / sum_j exp(...).

    Same inputs and checks as :func:`edit_head_cross_attention`. Use it on small inputs; the
    weights are exact symbolic expressions (call ``.evalf()`` for numbers).
    """
    hidden_num = as_matrix(hidden_states, "hidden_states")
    d = hidden_num.shape[1]
    queries_num = as_matrix(queries, "queries", cols=d)
    W_q_num = as_matrix(W_q, "W_q", rows=d)
    W_k_num = as_matrix(W_k, "W_k", rows=d, cols=W_q_num.shape[1])
    W_v_num = as_matrix(W_v, "W_v", rows=d)
    S = to_rational_matrix(hidden_num, "hidden_states")
    Q = to_rational_matrix(queries_num, "queries") * to_rational_matrix(W_q_num, "W_q")
    K = S * to_rational_matrix(W_k_num, "W_k")
    V = S * to_rational_matrix(W_v_num, "W_v")
    scores = Q * K.T
    scale = sympy.sqrt(K.cols)
    exponentials = scores.applyfunc(lambda s: sympy.exp(s / scale))
    weights = sympy.Matrix(scores.rows, scores.cols,
                           lambda i, j: exponentials[i, j] / sum(exponentials.row(i)))
    return ExactCrossAttention(scores, weights, weights * V)
