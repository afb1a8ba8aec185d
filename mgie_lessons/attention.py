"""Chapter 2: scaled dot-product self-attention.

With the embedded instruction X (n x d_model) and weights W^Q, W^K, W^V:

    Q = X W^Q,   K = X W^K,   V = X W^V                     (Eq. 2.1)
    S = Q K^T                                               (Eq. 2.2, scores)
    S~ = S / (sqrt(d_k) * tau)                              (Eq. 2.3, scaled scores)
    A = softmax(S~ + M)   row by row                        (Eq. 2.4, weights)
    O = A V                                                 (Eq. 2.5, output)

tau is a temperature (1 in the seed and in Vaswani et al.), and M is the
causal mask of a decoder-only model: 0 on and below the diagonal, -inf above.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .validation import as_array, as_matrix, check_finite_number

__all__ = [
    "AttentionResult",
    "softmax",
    "causal_mask",
    "scaled_dot_product_attention",
    "self_attention",
]


def softmax(x, axis: int = -1) -> np.ndarray:
    """softmax(x)_j = exp(x_j - max x) / sum_k exp(x_k - max x) along ``axis``.

    Subtracting the maximum first keeps the result finite for huge logits
    (Eq. 2.4). Entries equal to -inf (masked positions) get weight 0; a row
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
    """The decoder's causal mask M (n x n): 0 where j <= i, -inf where j > i."""
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
