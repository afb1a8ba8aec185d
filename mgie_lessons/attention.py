"""Chapter 2: scaled dot-product self-attention.

With the embedded instruction X (n x d_model) and weights W^Q, W^K, W^V:

    Q = X W^Q,   K = X W^K,   V = X W^V                     (Eq. 2.1)
    S = Q K^T                                               (Eq. 2.2, scores)
    S~ = S / (sqrt(d_k) * tau)                              (Eq. 2.3, scaled scores)
    A = softmax(S~ + M)   row by row                        (Eq. 2.4, weights)
    H = A V                                                 (Eq. 2.5, output)

tau is a temperature (1 in the seed and in Vaswani et al.), and M is the
causal mask of a decoder-only model (Eq. 2.6): 0 on and below the diagonal,
-inf above. (``AttentionResult.output`` is H.)

Beside these, the chapter uses:

* ``exact_*`` functions: the same quantities as sympy matrices (rationals for
  the seed's numbers, ``sqrt(2)`` and ``exp`` kept exact), so the book can
  show that the numeric values are right to 1e-12.
* softmax(x + c) = softmax(x) for a constant c per row (Eq. 2.7): why
  :func:`softmax` may subtract the row maximum and stay finite.
* :func:`linearized_weights` (Eq. 2.8), :func:`row_entropy` and
  :func:`weight_spread` (Eq. 2.9): why tiny scores give nearly uniform
  weights, and how far from uniform they are.
* :func:`score_variance` and :func:`expected_score_variance` (Eq. 2.10): why
  Vaswani et al. divide by sqrt(d_k).
* :func:`permutation_matrix` (Eq. 2.11): unmasked attention is
  permutation-equivariant.
* Rotary position embedding (RoPE; Su et al., RoFormer; used by LLaMA, Touvron et al. 2023,
  Sec. 2.2): query and key pairs of coordinates are turned by an angle proportional to the
  position m,

      R_p = diag of 2 x 2 rotations by p theta_i,  theta_i = base^(-2(i-1)/d),  i = 1..d/2   (Eq. 2.12)
      q_p~ = R_p q_p,  k_p'~ = R_p' k_p',  q_p~ . k_p'~ = q_p^T R_(p'-p) k_p'                 (Eq. 2.13)

  so the score depends on the positions only through p' - p. With d = 2 there is a single
  frequency theta_1 = 1 radian per position. :func:`rotary_frequencies`,
  :func:`apply_rotary`, :func:`exact_apply_rotary`, :func:`rotary_self_attention`,
  :func:`rotary_score`.

The seed's printed matrices are set beside these values with :mod:`mgie_lessons.printed`
(chapter 7's comparison).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import sympy

from .validation import as_array, as_matrix, check_finite_number, check_int

__all__ = [
    "AttentionResult",
    "softmax",
    "causal_mask",
    "scaled_dot_product_attention",
    "self_attention",
    # exact (sympy) versions
    "ExactAttentionResult",
    "exact_matrix",
    "exact_scores",
    "exact_scaled_scores",
    "exact_softmax",
    "exact_attention_weights",
    "exact_self_attention",
    "exact_to_numeric",
    # how uniform are the weights?
    "row_entropy",
    "WeightSpread",
    "weight_spread",
    "linearized_weights",
    # why sqrt(d_k)?
    "score_variance",
    "expected_score_variance",
    # symmetry
    "permutation_matrix",
    # positions: rotary embedding (Eqs. 2.12-2.13)
    "rotation_matrix",
    "rotary_frequencies",
    "apply_rotary",
    "exact_apply_rotary",
    "rotary_self_attention",
    "rotary_score",
]


# ---------------------------------------------------------------------------
# Numeric attention (Eqs. 2.1-2.6)
# ---------------------------------------------------------------------------


def softmax(x, axis: int = -1) -> np.ndarray:
    """softmax(x)_j = exp(x_j - max x) / sum_k exp(x_k - max x) along ``axis``.

    Subtracting the maximum first keeps the result finite for huge logits
    and does not change it, because softmax(x + c) = softmax(x) (Eqs. 2.4, 2.7). Entries equal to -inf (masked positions) get weight 0; a row
    that is entirely -inf is rejected.
    """
    values = np.asarray(x, dtype=float)
    if values.ndim == 0:
        raise ValueError("x must have at least one dimension")
    if not -values.ndim <= axis < values.ndim:
        raise ValueError(f"axis must be between {-values.ndim} and {values.ndim - 1}, got {axis}")
    if np.isnan(values).any():
        raise ValueError("x contains NaN; every entry must be a number (use -inf to mask)")
    if np.isposinf(values).any():
        raise ValueError("x contains +inf; only -inf (a masked position) is allowed")
    if values.shape[axis] == 0:
        raise ValueError("x must not be empty along axis")
    row_max = np.max(values, axis=axis, keepdims=True)
    if np.isneginf(row_max).any():
        raise ValueError("x has a row that is entirely -inf (fully masked); softmax is undefined there")
    exponentials = np.exp(values - row_max)
    return exponentials / np.sum(exponentials, axis=axis, keepdims=True)


def causal_mask(n: int) -> np.ndarray:
    """The decoder's causal mask M (n x n): 0 where j <= i, -inf where j > i (Eq. 2.6).

    Token i may look at itself and at the tokens before it, never at a later
    one: that is what lets a decoder-only language model (LLaVA's Vicuna) be
    trained to predict every next token at once.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a whole number >= 1, got {n!r}")
    upper = np.triu(np.ones((n, n), dtype=bool), k=1)
    return np.where(upper, -np.inf, 0.0)


@dataclass(frozen=True)
class AttentionResult:
    """Every intermediate of Eqs. 2.1-2.5, by name."""

    queries: np.ndarray
    keys: np.ndarray
    values: np.ndarray
    scores: np.ndarray
    scaled_scores: np.ndarray
    weights: np.ndarray
    output: np.ndarray


def scaled_dot_product_attention(Q, K, V, *, causal: bool = False, scale: bool = True,
                                 temperature: float = 1.0, mask=None) -> AttentionResult:
    """softmax(Q K^T / (sqrt(d_k) tau) + M) V (Eqs. 2.2-2.5).

    Q is (n_q x d_k), K is (n_k x d_k), V is (n_k x d_v). ``scale=False`` drops
    the 1/sqrt(d_k) factor; ``temperature`` is tau; ``causal`` adds the causal
    mask (needs n_q == n_k); ``mask`` is an optional additive (n_q x n_k)
    array of 0 and -inf.
    """
    Q = as_matrix(Q, "Q")
    K = as_matrix(K, "K", cols=Q.shape[1])
    V = as_matrix(V, "V", rows=K.shape[0])
    tau = check_finite_number(temperature, "temperature")
    if tau <= 0:
        raise ValueError(f"temperature must be > 0, got {tau}")
    scores = Q @ K.T
    divisor = (np.sqrt(K.shape[1]) if scale else 1.0) * tau
    scaled_scores = scores / divisor
    logits = scaled_scores
    if causal:
        if Q.shape[0] != K.shape[0]:
            raise ValueError(f"causal=True needs as many queries as keys, got {Q.shape[0]} and {K.shape[0]}")
        logits = logits + causal_mask(Q.shape[0])
    if mask is not None:
        additive = np.asarray(mask, dtype=float)
        if additive.shape != scores.shape:
            raise ValueError(f"mask must have shape {scores.shape}, got {additive.shape}")
        if np.isnan(additive).any() or np.isposinf(additive).any():
            raise ValueError("mask may only contain finite numbers and -inf")
        logits = logits + additive
    weights = softmax(logits, axis=-1)
    return AttentionResult(Q, K, V, scores, scaled_scores, weights, weights @ V)


def self_attention(X, W_q, W_k, W_v, causal: bool = False, *, scale: bool = True,
                   temperature: float = 1.0) -> AttentionResult:
    """Self-attention of X with weights W^Q, W^K, W^V (Eqs. 2.1-2.5, chapter 2).

    X is (n x d_model); W^Q and W^K are (d_model x d_k); W^V is (d_model x d_v).
    Returns an :class:`AttentionResult` with queries, keys, values, scores,
    scaled_scores, weights and output.
    """
    X = as_matrix(X, "X")
    d_model = X.shape[1]
    W_q = as_matrix(W_q, "W_q", rows=d_model)
    W_k = as_matrix(W_k, "W_k", rows=d_model, cols=W_q.shape[1])
    W_v = as_matrix(W_v, "W_v", rows=d_model)
    return scaled_dot_product_attention(X @ W_q, X @ W_k, X @ W_v, causal=causal, scale=scale,
                                        temperature=temperature)


# ---------------------------------------------------------------------------
# Exact versions (sympy)
# ---------------------------------------------------------------------------


def _exact_number(value, name: str, *, allow_negative_infinity: bool = False):
    """A sympy number for ``value``: floats become the rational they were typed as (0.1 -> 1/10)."""
    if isinstance(value, sympy.Basic):
        if value == sympy.nan or value == sympy.zoo or value == sympy.oo:
            raise ValueError(f"{name} contains {value}; every entry must be a finite number")
        if value == -sympy.oo and not allow_negative_infinity:
            raise ValueError(f"{name} contains -oo; every entry must be a finite number")
        return value
    number = float(value)
    if math.isnan(number):
        raise ValueError(f"{name} contains NaN; every entry must be a finite number")
    if number == -math.inf and allow_negative_infinity:
        return -sympy.oo
    if math.isinf(number):
        raise ValueError(f"{name} contains an infinite value; every entry must be a finite number")
    if isinstance(value, (int, np.integer)):
        return sympy.Integer(int(value))
    return sympy.Rational(repr(number))


def exact_matrix(values, name: str = "values", *, allow_negative_infinity: bool = False) -> sympy.Matrix:
    """``values`` (a 2-d array, nested lists or a sympy Matrix) as a sympy Matrix.

    Decimal numbers become exact rationals of their shortest decimal form,
    ``sympy.Rational(repr(x))``: 0.1 -> 1/10, 0.3 -> 3/10 (chapter 2). Sympy
    entries are kept as they are. ``allow_negative_infinity`` lets -inf
    through as ``-oo`` (a masked logit).
    """
    if isinstance(values, sympy.MatrixBase):
        rows = values.tolist()
    else:
        if isinstance(values, str):
            raise ValueError(f"{name} must be a matrix of numbers, got the text {values!r}")
        try:
            array = np.asarray(values, dtype=object)
        except (TypeError, ValueError) as error:
            raise ValueError(f"{name} must be a matrix of numbers; could not read it: {error}") from None
        if array.ndim != 2:
            raise ValueError(f"{name} must be 2-dimensional, got shape {array.shape}")
        rows = array.tolist()
    if not rows or not rows[0]:
        raise ValueError(f"{name} must not be empty")
    try:
        entries = [[_exact_number(v, name, allow_negative_infinity=allow_negative_infinity) for v in row]
                   for row in rows]
    except (TypeError, ValueError) as error:
        if str(error).startswith(name):
            raise
        raise ValueError(f"{name} must contain only numbers; {error}") from None
    return sympy.Matrix(entries)


def exact_scores(Q, K) -> sympy.Matrix:
    """S = Q K^T exactly (Eq. 2.2, chapter 2): rationals for decimal inputs."""
    Q = exact_matrix(Q, "Q")
    K = exact_matrix(K, "K")
    if K.shape[1] != Q.shape[1]:
        raise ValueError(f"K must have {Q.shape[1]} columns like Q, got shape {K.shape}")
    return Q * K.T


def _exact_temperature(temperature):
    tau = check_finite_number(temperature, "temperature")
    if tau <= 0:
        raise ValueError(f"temperature must be > 0, got {tau}")
    return _exact_number(temperature, "temperature")


def exact_scaled_scores(Q, K, *, scale: bool = True, temperature=1) -> sympy.Matrix:
    """S~ = Q K^T / (sqrt(d_k) tau) exactly (Eq. 2.3, chapter 2); sqrt(d_k) stays a surd."""
    scores = exact_scores(Q, K)
    d_k = exact_matrix(K, "K").shape[1]
    divisor = (sympy.sqrt(d_k) if scale else sympy.Integer(1)) * _exact_temperature(temperature)
    return scores / divisor


def exact_softmax(logits) -> sympy.Matrix:
    """Row softmax exactly: a_ij = exp(l_ij) / sum_k exp(l_ik) (Eq. 2.4, chapter 2).

    ``logits`` may contain -inf / -oo (a masked position): exp(-oo) = 0, so it
    gets weight 0. A row that is entirely masked is rejected.
    """
    L = exact_matrix(logits, "logits", allow_negative_infinity=True)
    rows = []
    for i in range(L.rows):
        exponentials = [sympy.exp(value) for value in L.row(i)]
        total = sympy.Add(*exponentials)
        if total == 0:
            raise ValueError(f"logits row {i} is entirely -inf (fully masked); softmax is undefined there")
        rows.append([e / total for e in exponentials])
    return sympy.Matrix(rows)


def exact_attention_weights(Q, K, *, causal: bool = False, scale: bool = True, temperature=1) -> sympy.Matrix:
    """A = softmax(Q K^T / (sqrt(d_k) tau) + M) exactly (Eqs. 2.3-2.4 and 2.6, chapter 2)."""
    logits = exact_scaled_scores(Q, K, scale=scale, temperature=temperature)
    if causal:
        if logits.rows != logits.cols:
            raise ValueError(f"causal=True needs as many queries as keys, got {logits.rows} and {logits.cols}")
        logits = sympy.Matrix(logits.rows, logits.cols,
                              lambda i, j: -sympy.oo if j > i else logits[i, j])
    return exact_softmax(logits)


@dataclass(frozen=True)
class ExactAttentionResult:
    """The fields of :class:`AttentionResult`, as exact sympy matrices."""

    queries: sympy.Matrix
    keys: sympy.Matrix
    values: sympy.Matrix
    scores: sympy.Matrix
    scaled_scores: sympy.Matrix
    weights: sympy.Matrix
    output: sympy.Matrix

    def numeric(self, digits: int = 30) -> AttentionResult:
        """Evaluate every field to ``digits`` significant digits, as numpy arrays."""
        return AttentionResult(*(exact_to_numeric(getattr(self, field), digits)
                                 for field in AttentionResult.__dataclass_fields__))


def exact_to_numeric(matrix, digits: int = 30) -> np.ndarray:
    """A sympy Matrix evaluated to ``digits`` significant digits, as a float array."""
    if not isinstance(matrix, sympy.MatrixBase):
        raise ValueError(f"matrix must be a sympy Matrix, got {type(matrix).__name__}")
    digits = check_int(digits, "digits", minimum=15)
    return np.array(matrix.evalf(digits).tolist(), dtype=float)


def exact_self_attention(X, W_q, W_k, W_v, causal: bool = False, *, scale: bool = True,
                         temperature=1) -> ExactAttentionResult:
    """Eqs. 2.1-2.5 exactly (chapter 2): the same fields as :func:`self_attention`.

    The output row i is written over one denominator,
    o_i = sum_j exp(s~_ij) v_j / sum_k exp(s~_ik), which is the row i of A V.
    """
    X = exact_matrix(X, "X")
    d_model = X.shape[1]
    matrices = {}
    for name, W in (("W_q", W_q), ("W_k", W_k), ("W_v", W_v)):
        matrices[name] = exact_matrix(W, name)
        if matrices[name].shape[0] != d_model:
            raise ValueError(f"{name} must have {d_model} rows (d_model of X), got shape {matrices[name].shape}")
    if matrices["W_k"].shape[1] != matrices["W_q"].shape[1]:
        raise ValueError(f"W_k must have {matrices['W_q'].shape[1]} columns like W_q, "
                         f"got shape {matrices['W_k'].shape}")
    Q, K, V = X * matrices["W_q"], X * matrices["W_k"], X * matrices["W_v"]
    scores = exact_scores(Q, K)
    scaled = exact_scaled_scores(Q, K, scale=scale, temperature=temperature)
    weights = exact_attention_weights(Q, K, causal=causal, scale=scale, temperature=temperature)
    output_rows = []
    for i in range(weights.rows):
        allowed = [j for j in range(weights.cols) if not (causal and j > i)]
        total = sympy.Add(*(sympy.exp(scaled[i, j]) for j in allowed))
        output_rows.append([sympy.Add(*(sympy.exp(scaled[i, j]) * V[j, c] for j in allowed)) / total
                            for c in range(V.cols)])
    return ExactAttentionResult(Q, K, V, scores, scaled, weights, sympy.Matrix(output_rows))


# ---------------------------------------------------------------------------
# How far from uniform are the weights? (Eqs. 2.8-2.9)
# ---------------------------------------------------------------------------


def _checked_weights(weights, causal: bool) -> np.ndarray:
    A = as_matrix(weights, "weights")
    if (A < 0).any():
        raise ValueError("weights must be >= 0 (they are probabilities)")
    sums = A.sum(axis=1)
    bad = np.flatnonzero(np.abs(sums - 1.0) > 1e-9)
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"weights rows must each sum to 1; row {i} sums to {sums[i]:.6g}")
    if causal:
        if A.shape[0] != A.shape[1]:
            raise ValueError(f"weights must be square when causal=True, got shape {A.shape}")
        if np.triu(A, k=1).any():
            raise ValueError("weights has a non-zero entry above the diagonal, so it is not causal")
    return A


def row_entropy(weights) -> np.ndarray:
    """The entropy -sum_j a_ij ln a_ij of each row of A, in nats, with 0 ln 0 = 0 (Eq. 2.9, chapter 2).

    It is ln m for m equal weights (the most spread a row can be) and 0 when
    one weight is 1.
    """
    A = _checked_weights(weights, causal=False)
    positive = np.where(A > 0, A, 1.0)
    return -np.sum(np.where(A > 0, A * np.log(positive), 0.0), axis=1)


@dataclass(frozen=True)
class WeightSpread:
    """How far each row of A is from uniform (Eq. 2.9, chapter 2).

    ``allowed[i]`` is the number m_i of positions row i may attend to (n, or
    i + 1 with the causal mask); ``uniform[i] = 1/m_i`` is the weight of a
    perfectly uniform row.
    """

    allowed: np.ndarray
    uniform: np.ndarray
    deviation: np.ndarray
    max_abs_deviation: float
    max_relative_deviation: float
    entropies: np.ndarray
    max_entropies: np.ndarray
    min_entropy_ratio: float
    largest_weight: float
    smallest_weight: float


def weight_spread(weights, *, causal: bool = False) -> WeightSpread:
    """Compare each row of A with the uniform row 1/m_i (Eq. 2.9, chapter 2).

    * ``deviation`` = a_ij - 1/m_i on allowed positions (0 on masked ones);
    * ``max_abs_deviation`` = max |a_ij - 1/m_i|, ``max_relative_deviation`` =
      max |m_i a_ij - 1|;
    * ``entropies`` (:func:`row_entropy`) beside ``max_entropies`` ln m_i,
      and ``min_entropy_ratio`` = min over rows with m_i > 1 of entropy / ln m_i
      (1 for uniform rows, 0 for one-hot rows);
    * ``largest_weight`` and ``smallest_weight`` over allowed positions.

    With ``causal=True`` the entries above the diagonal must be 0 and are
    left out.
    """
    A = _checked_weights(weights, causal)
    n_rows, n_cols = A.shape
    if causal:
        allowed_mask = np.tril(np.ones((n_rows, n_cols), dtype=bool))
    else:
        allowed_mask = np.ones((n_rows, n_cols), dtype=bool)
    allowed = allowed_mask.sum(axis=1)
    uniform = 1.0 / allowed
    deviation = np.where(allowed_mask, A - uniform[:, None], 0.0)
    relative = np.where(allowed_mask, A * allowed[:, None] - 1.0, 0.0)
    entropies = row_entropy(A)
    max_entropies = np.log(allowed)
    several = allowed > 1
    ratio = float(np.min(entropies[several] / max_entropies[several])) if several.any() else 1.0
    return WeightSpread(
        allowed=allowed,
        uniform=uniform,
        deviation=deviation,
        max_abs_deviation=float(np.max(np.abs(deviation))),
        max_relative_deviation=float(np.max(np.abs(relative))),
        entropies=entropies,
        max_entropies=max_entropies,
        min_entropy_ratio=ratio,
        largest_weight=float(A[allowed_mask].max()),
        smallest_weight=float(A[allowed_mask].min()),
    )


def linearized_weights(scaled_scores) -> np.ndarray:
    """First-order softmax near 0: a_ij ~ (1 + s~_ij - mean_k s~_ik) / n (Eq. 2.8, chapter 2).

    Because exp(x) = 1 + x + x^2/2 + ..., scores that are all small give
    weights that differ from 1/n by about (s~_ij - row mean)/n. The error is
    of the order of the squared spread of the scores in a row.
    """
    S = as_matrix(scaled_scores, "scaled_scores")
    n = S.shape[1]
    return (1.0 + S - S.mean(axis=1, keepdims=True)) / n


# ---------------------------------------------------------------------------
# Why divide by sqrt(d_k)? (Eq. 2.10)
# ---------------------------------------------------------------------------


def expected_score_variance(d_k: int, *, scale: bool = True) -> float:
    """Var(q . k) = d_k for q, k with independent N(0, 1) entries; 1 after dividing by sqrt(d_k) (Eq. 2.10)."""
    d_k = check_int(d_k, "d_k", minimum=1)
    return 1.0 if scale else float(d_k)


def score_variance(d_k: int, n_samples: int, rng=None, scale: bool = True) -> float:
    """The sample variance of q . k (divided by sqrt(d_k) when ``scale``) (Eq. 2.10, chapter 2).

    Draws ``n_samples`` pairs q, k with independent standard-normal entries
    of length ``d_k``. ``rng`` is a ``numpy.random.Generator`` or an integer
    seed (None: a fixed seed 0, so results repeat).
    """
    d_k = check_int(d_k, "d_k", minimum=1)
    n_samples = check_int(n_samples, "n_samples", minimum=2)
    if rng is None:
        rng = np.random.default_rng(0)
    elif isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        rng = np.random.default_rng(int(rng))
    elif not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator or an integer seed, got {rng!r}")
    q = rng.standard_normal((n_samples, d_k))
    k = rng.standard_normal((n_samples, d_k))
    dots = np.sum(q * k, axis=1)
    if scale:
        dots = dots / np.sqrt(d_k)
    return float(np.var(dots, ddof=1))


# ---------------------------------------------------------------------------
# Permutation equivariance (Eq. 2.11)
# ---------------------------------------------------------------------------


def permutation_matrix(order) -> np.ndarray:
    """Pi with (Pi X)[i] = X[order[i]] (Eq. 2.11, chapter 2).

    Unmasked self-attention satisfies Attention(Pi X) = Pi Attention(X): it
    does not know the order of the tokens. ``order`` must list 0..n-1, each
    once.
    """
    values = as_array(order, "order", ndim=1)
    if values.size == 0:
        raise ValueError("order must not be empty")
    if not np.all(values == np.round(values)):
        raise ValueError(f"order must contain whole numbers, got {values.tolist()}")
    indices = values.astype(int)
    n = indices.size
    if sorted(indices.tolist()) != list(range(n)):
        raise ValueError(f"order must list each of 0..{n - 1} exactly once, got {indices.tolist()}")
    P = np.zeros((n, n))
    P[np.arange(n), indices] = 1.0
    return P


# ---------------------------------------------------------------------------
# Positions: rotary position embedding (Eqs. 2.12-2.13)
# ---------------------------------------------------------------------------


def rotation_matrix(angle: float) -> np.ndarray:
    """The 2 x 2 rotation [[cos a, -sin a], [sin a, cos a]] (Eq. 2.12, chapter 2)."""
    angle = check_finite_number(angle, "angle")
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, -s], [s, c]])


def rotary_frequencies(d: int, base: float = 10000.0) -> np.ndarray:
    """theta_i = base^(-2(i-1)/d) for i = 1..d/2 (Eq. 2.12; Su et al. Eq. 15, as in LLaMA).

    ``d`` must be even. For d = 2 there is one frequency, theta_1 = 1 (whatever the base).
    """
    d = check_int(d, "d", minimum=2)
    if d % 2:
        raise ValueError(f"d must be even (coordinates are rotated in pairs), got {d}")
    base = check_finite_number(base, "base")
    if base <= 0:
        raise ValueError(f"base must be > 0, got {base}")
    return base ** (-np.arange(0, d, 2) / d)


def _positions(positions, n: int) -> np.ndarray:
    if positions is None:
        return np.arange(n, dtype=float)
    values = as_array(positions, "positions", ndim=1)
    if values.size != n:
        raise ValueError(f"positions must have one entry per row ({n}), got {values.size}")
    return values


def apply_rotary(X, positions=None, base: float = 10000.0) -> np.ndarray:
    """Row m of X rotated by R_(p_m): pairs (x_1, x_2), (x_3, x_4), ... turned by p_m theta_i (Eq. 2.12).

    ``positions`` p_m default to 0, 1, ..., n-1 (LLaMA counts from 0). Lengths are kept: a
    rotation never changes |x|. (LLaMA's Hugging Face code pairs coordinate i with i + d/2
    instead of 2i-1 with 2i; that is a fixed reordering of coordinates, the same for d = 2.)
    """
    X = as_matrix(X, "X")
    theta = rotary_frequencies(X.shape[1], base)
    angles = _positions(positions, X.shape[0])[:, None] * theta[None, :]
    x1, x2 = X[:, 0::2], X[:, 1::2]
    out = np.empty_like(X)
    out[:, 0::2] = x1 * np.cos(angles) - x2 * np.sin(angles)
    out[:, 1::2] = x1 * np.sin(angles) + x2 * np.cos(angles)
    return out


def exact_apply_rotary(X, positions=None, base=10000) -> sympy.Matrix:
    """:func:`apply_rotary` exactly: entries like cos(3)/10 - sin(3)/5 stay symbolic (Eq. 2.12).

    ``positions`` are whole numbers (default 0..n-1); theta_i = base^(-2(i-1)/d) is kept exact.
    """
    M = exact_matrix(X, "X")
    n, d = M.shape
    rotary_frequencies(d)  # validates d
    if positions is None:
        positions = list(range(n))
    positions = [sympy.Integer(check_int(p, "positions")) for p in positions]
    if len(positions) != n:
        raise ValueError(f"positions must have one entry per row ({n}), got {len(positions)}")
    base = sympy.nsimplify(base)
    out = sympy.zeros(n, d)
    for m in range(n):
        for i in range(d // 2):
            angle = positions[m] * base ** sympy.Rational(-2 * i, d)
            c, s = sympy.cos(angle), sympy.sin(angle)
            a, b = M[m, 2 * i], M[m, 2 * i + 1]
            out[m, 2 * i] = a * c - b * s
            out[m, 2 * i + 1] = a * s + b * c
    return out


def rotary_self_attention(X, W_q, W_k, W_v, causal: bool = True, *, positions=None,
                          base: float = 10000.0) -> AttentionResult:
    """Self-attention with rotated queries and keys (Eqs. 2.1-2.5 with 2.12), as in LLaMA.

    Q = R(X W^Q), K = R(X W^K); the values are not rotated. The returned ``queries`` and
    ``keys`` are the rotated ones, so ``scores`` holds q~_m . k~_n. Causal by default (a
    decoder-only language model).
    """
    X = as_matrix(X, "X")
    d_model = X.shape[1]
    W_q = as_matrix(W_q, "W_q", rows=d_model)
    W_k = as_matrix(W_k, "W_k", rows=d_model, cols=W_q.shape[1])
    W_v = as_matrix(W_v, "W_v", rows=d_model)
    Q = apply_rotary(X @ W_q, positions, base)
    K = apply_rotary(X @ W_k, positions, base)
    return scaled_dot_product_attention(Q, K, X @ W_v, causal=causal)


def rotary_score(q, k, m: float, n: float, base: float = 10000.0) -> float:
    """(R_p q) . (R_p' k): query at position p = ``m``, key at position p' = ``n`` (Eq. 2.13).

    Equals q^T R_(p'-p) k: shifting both positions by the same amount leaves it unchanged.
    """
    q = as_array(q, "q", ndim=1)
    k = as_array(k, "k", ndim=1, shape=q.shape)
    m = check_finite_number(m, "m")
    n = check_finite_number(n, "n")
    rq = apply_rotary(q[None, :], [m], base)[0]
    rk = apply_rotary(k[None, :], [n], base)[0]
    return float(rq @ rk)
