"""Chapter 3: the position-wise feed-forward network (FFN).

After attention (chapter 2), every token's vector goes through the same small two-layer
network. With the attention output H (n x d, Eq. 2.5; the seed's X_attention), weights
W_1 (d x d_ff), W_2 (d_ff x d) and biases b_1 (1 x d_ff), b_2 (1 x d):

    FFN(H) = ReLU(H W_1 + 1 b_1) W_2 + 1 b_2                    (Eq. 3.1)
    P = H W_1 + 1 b_1              pre-activation, n x d_ff      (Eq. 3.2)
    ReLU(p) = max(0, p)            entry by entry                (Eq. 3.3)
    Z = ReLU(P)                    hidden layer, n x d_ff        (Eq. 3.4)
    F = Z W_2 + 1 b_2              FFN output, n x d             (Eq. 3.5)

``1 b`` is the bias row repeated for each of the n rows (numpy's broadcasting). Eq. 3.1 is
Eq. 2 of Vaswani et al. (2017). With the seed's weights (every entry of W_1 equal to w,
both entries of b_1 equal to b) the two hidden units coincide, and when no entry of P is
negative the FFN is affine:

    P_i1 = P_i2 = w (h_i1 + h_i2) + b                             (Eq. 3.6)
    F_ij = P_i1 (W_2,1j + W_2,2j) + b_2,j                         (Eq. 3.7)

LLaMA-family models (MGIE's language model) use a gated variant instead, SwiGLU (Touvron et
al. 2023, Section 2.2), with no biases:

    SiLU(x) = x * sigmoid(x),  FFN_SwiGLU(H) = (SiLU(H W_gate) * (H W_up)) W_down   (Eq. 3.8)

where * is the entry-by-entry product.

A LLaMA layer wraps attention and the FFN in residual connections, each branch reading an
RMS-normalised copy of its input ("pre-norm"; Touvron et al. 2023, Sec. 2.2; RMSNorm from Zhang &
Sennrich 2019, Eq. 4):

    RMSNorm(x) = gamma * x / sqrt(mean_j x_j^2 + eps)                                  (Eq. 3.9)
    Y' = X + Attn(RMSNorm(X)),   Y = Y' + FFN(RMSNorm(Y'))                          (Eq. 3.10)

(:func:`rms_norm`, :func:`exact_rms_norm`, :func:`pre_norm_layer`). In code the fields are named in words: ``pre_activation``
(P), ``hidden`` (Z), ``output`` (F). The ``exact_*`` functions redo the same arithmetic with
sympy rationals, so a hand computation can be checked digit for digit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy

from . import attention
from .validation import as_array, as_matrix, as_vector, check_nonnegative

__all__ = [
    "FFNResult",
    "ExactFFNResult",
    "relu",
    "affine",
    "feed_forward",
    "zeroed_by_relu",
    "exact_relu",
    "exact_affine",
    "exact_feed_forward",
    "to_rational_matrix",
    "silu",
    "exact_silu",
    "SwiGLUResult",
    "swiglu_feed_forward",
    "rms_norm",
    "exact_rms_norm",
    "PreNormLayerResult",
    "pre_norm_layer",
]


@dataclass(frozen=True)
class FFNResult:
    """The intermediates of Eqs. 3.2-3.5: P (``pre_activation``), Z (``hidden``), F (``output``)."""

    pre_activation: np.ndarray
    hidden: np.ndarray
    output: np.ndarray


@dataclass(frozen=True)
class ExactFFNResult:
    """The same intermediates as :class:`FFNResult`, as sympy matrices of rationals."""

    pre_activation: sympy.Matrix
    hidden: sympy.Matrix
    output: sympy.Matrix


def relu(x) -> np.ndarray:
    """ReLU(p) = max(0, p), entry by entry (Eq. 3.3, chapter 3).

    Accepts a number, a vector or a matrix; NaN and infinite entries are rejected.
    """
    values = as_array(x, "x")
    if values.size == 0:
        raise ValueError("x must not be empty")
    return np.maximum(values, 0.0)


def zeroed_by_relu(pre_activation) -> np.ndarray:
    """A boolean array: True where ReLU changes the entry (it was negative) (Eq. 3.3).

    ReLU leaves every entry >= 0 unchanged, so this marks exactly the entries it sets to 0.
    """
    values = as_array(pre_activation, "pre_activation")
    if values.size == 0:
        raise ValueError("pre_activation must not be empty")
    return values < 0


def affine(X, W, b, *, names: tuple[str, str, str] = ("X", "W", "b")) -> np.ndarray:
    """X W + 1 b: a matrix product and the bias added to every row (Eqs. 3.2 and 3.5).

    X is (n x d_in), W is (d_in x d_out), b has length d_out. ``names`` are the parameter
    names used in error messages (e.g. ``("H", "W2", "b2")``).
    """
    x_name, w_name, b_name = names
    X = as_matrix(X, x_name)
    W = as_matrix(W, w_name, rows=X.shape[1])
    b = as_vector(b, b_name, length=W.shape[1])
    return X @ W + b


def feed_forward(X, W1, b1, W2, b2) -> FFNResult:
    """FFN(H) = ReLU(H W_1 + 1 b_1) W_2 + 1 b_2 (Eq. 3.1, chapter 3).

    ``X`` is the attention output H of chapter 2 (n x d); W1 is (d x d_ff), b1 has length
    d_ff, W2 is (d_ff x d_out), b2 has length d_out (d_out = d in a transformer). Returns an
    :class:`FFNResult` with ``pre_activation`` P = H W_1 + 1 b_1 (Eq. 3.2), ``hidden``
    Z = ReLU(P) (Eq. 3.4) and ``output`` F = Z W_2 + 1 b_2 (Eq. 3.5).
    """
    X = as_matrix(X, "X")
    W1 = as_matrix(W1, "W1", rows=X.shape[1])
    b1 = as_vector(b1, "b1", length=W1.shape[1])
    W2 = as_matrix(W2, "W2", rows=W1.shape[1])
    b2 = as_vector(b2, "b2", length=W2.shape[1])
    pre_activation = X @ W1 + b1
    hidden = np.maximum(pre_activation, 0.0)
    output = hidden @ W2 + b2
    return FFNResult(pre_activation, hidden, output)


# ---------------------------------------------------------------------------
# Exact versions (sympy rationals)
# ---------------------------------------------------------------------------

def to_rational_matrix(value, name: str) -> sympy.Matrix:
    """The numbers of ``value`` as a sympy Matrix of rationals, read from their decimal text.

    ``0.1`` becomes ``1/10`` (``sympy.Rational(str(x))``), not the binary fraction a float
    stores. A vector becomes a single row. Raises ``ValueError`` naming ``name``.
    """
    values = as_array(value, name)
    if values.ndim == 1:
        values = values[np.newaxis, :]
    if values.ndim != 2 or values.size == 0:
        raise ValueError(f"{name} must be a non-empty vector or matrix, got shape {values.shape}")
    return sympy.Matrix([[sympy.Rational(repr(float(v))) for v in row] for row in values])


def _broadcast_row(row: sympy.Matrix, n: int) -> sympy.Matrix:
    return sympy.Matrix.vstack(*([row] * n))


def exact_relu(P) -> sympy.Matrix:
    """ReLU entry by entry on a sympy matrix (or numbers read as rationals), exactly (Eq. 3.3)."""
    if not isinstance(P, sympy.MatrixBase):
        P = to_rational_matrix(P, "P")
    return P.applyfunc(lambda p: sympy.Max(0, p))


def exact_affine(X, W, b, *, names: tuple[str, str, str] = ("X", "W", "b")) -> sympy.Matrix:
    """X W + 1 b with rationals (Eqs. 3.2 and 3.5); inputs are checked like :func:`affine`."""
    x_name, w_name, b_name = names
    X_num = as_matrix(X, x_name)
    W_num = as_matrix(W, w_name, rows=X_num.shape[1])
    as_vector(b, b_name, length=W_num.shape[1])
    X_q = to_rational_matrix(X_num, x_name)
    W_q = to_rational_matrix(W_num, w_name)
    b_q = to_rational_matrix(b, b_name)
    return X_q * W_q + _broadcast_row(b_q, X_q.rows)


def exact_feed_forward(X, W1, b1, W2, b2) -> ExactFFNResult:
    """Eq. 3.1 with sympy rationals: every entry exact (chapter 3).

    Inputs are checked exactly like :func:`feed_forward`; decimals are read as the rationals
    they spell (0.2 -> 1/5). Returns an :class:`ExactFFNResult`.
    """
    X_num = as_matrix(X, "X")
    W1_num = as_matrix(W1, "W1", rows=X_num.shape[1])
    as_vector(b1, "b1", length=W1_num.shape[1])
    W2_num = as_matrix(W2, "W2", rows=W1_num.shape[1])
    as_vector(b2, "b2", length=W2_num.shape[1])
    pre_activation = exact_affine(X_num, W1_num, b1, names=("X", "W1", "b1"))
    hidden = exact_relu(pre_activation)
    W2_q = to_rational_matrix(W2_num, "W2")
    b2_q = to_rational_matrix(b2, "b2")
    output = hidden * W2_q + _broadcast_row(b2_q, hidden.rows)
    return ExactFFNResult(pre_activation, hidden, output)


# ---------------------------------------------------------------------------
# The gated variant used by LLaMA-family models (MGIE's language model)
# ---------------------------------------------------------------------------

def silu(x) -> np.ndarray:
    """SiLU(x) = x * sigmoid(x) = x / (1 + exp(-x)), entry by entry (Eq. 3.8, chapter 3).

    Unlike ReLU it changes positive inputs too (SiLU(x) < x for every x > 0).
    """
    values = as_array(x, "x")
    if values.size == 0:
        raise ValueError("x must not be empty")
    # x * sigmoid(x) written with exp(-|x|) so that large |x| does not overflow
    sigmoid = np.where(values >= 0, 1 / (1 + np.exp(-np.abs(values))),
                       np.exp(-np.abs(values)) / (1 + np.exp(-np.abs(values))))
    return values * sigmoid


def exact_silu(x) -> sympy.Matrix:
    """SiLU exactly, x / (1 + exp(-x)), on numbers read as rationals (Eq. 3.8)."""
    X = x if isinstance(x, sympy.MatrixBase) else to_rational_matrix(x, "x")
    return X.applyfunc(lambda v: v / (1 + sympy.exp(-v)))


@dataclass(frozen=True)
class SwiGLUResult:
    """The intermediates of Eq. 3.8: H W_gate (``gate``), H W_up (``up``), their gated product
    SiLU(gate) * up (``hidden``) and the output hidden W_down (``output``)."""

    gate: np.ndarray
    up: np.ndarray
    hidden: np.ndarray
    output: np.ndarray


def swiglu_feed_forward(X, W_gate, W_up, W_down) -> SwiGLUResult:
    """FFN_SwiGLU(H) = (SiLU(H W_gate) * (H W_up)) W_down, no biases (Eq. 3.8, chapter 3).

    ``X`` is H (n x d); W_gate and W_up are (d x d_ff); W_down is (d_ff x d_out).
    """
    X = as_matrix(X, "X")
    W_gate = as_matrix(W_gate, "W_gate", rows=X.shape[1])
    W_up = as_matrix(W_up, "W_up", rows=X.shape[1], cols=W_gate.shape[1])
    W_down = as_matrix(W_down, "W_down", rows=W_gate.shape[1])
    gate = X @ W_gate
    up = X @ W_up
    hidden = silu(gate) * up
    return SwiGLUResult(gate, up, hidden, hidden @ W_down)


# ---------------------------------------------------------------------------
# RMSNorm and the residual, pre-norm layer of LLaMA (Eqs. 3.9-3.10)
# ---------------------------------------------------------------------------

def rms_norm(X, gain=None, eps: float = 1e-6) -> np.ndarray:
    """RMSNorm(x) = gamma * x / sqrt(mean_j x_j^2 + eps), row by row (Eq. 3.9, chapter 3).

    Each row is divided by its root mean square, so (with g = 1 and eps = 0) every row ends with
    mean square 1: only its direction survives. Unlike LayerNorm, nothing is subtracted.
    ``gain`` gamma (length d, learned in LLaMA) defaults to ones; ``eps`` keeps a zero row finite.
    """
    X = as_matrix(X, "X")
    g = np.ones(X.shape[1]) if gain is None else as_vector(gain, "gain", length=X.shape[1])
    eps = check_nonnegative(eps, "eps")
    ms = np.mean(X ** 2, axis=1, keepdims=True) + eps
    if np.any(ms == 0):
        raise ValueError("X has a zero row and eps = 0: its root mean square is 0; use eps > 0")
    return g * X / np.sqrt(ms)


def exact_rms_norm(X, gain=None, eps=0) -> sympy.Matrix:
    """:func:`rms_norm` exactly, entries read as rationals: surds such as 2*sqrt(10)/5 stay exact (Eq. 3.9)."""
    M = X if isinstance(X, sympy.MatrixBase) else to_rational_matrix(X, "X")
    n, d = M.shape
    g = [sympy.Integer(1)] * d if gain is None else list(to_rational_matrix([gain], "gain"))
    if len(g) != d:
        raise ValueError(f"gain must have length {d}, got {len(g)}")
    eps = sympy.Rational(str(check_nonnegative(eps, "eps")))
    out = sympy.zeros(n, d)
    for i in range(n):
        ms = sum(M[i, j] ** 2 for j in range(d)) / d + eps
        if ms == 0:
            raise ValueError("X has a zero row and eps = 0: its root mean square is 0; use eps > 0")
        for j in range(d):
            out[i, j] = sympy.radsimp(g[j] * M[i, j] / sympy.sqrt(ms))
    return out


@dataclass(frozen=True)
class PreNormLayerResult:
    """Every stage of Eq. 3.10, by name: ``attention_input`` RMSNorm(X), ``attention`` (the
    chapter-2 result), ``after_attention`` Y' = X + Attn, ``ffn_input`` RMSNorm(Y'), ``ffn``
    (the chapter-3 result) and ``output`` Y = Y' + FFN."""

    attention_input: np.ndarray
    attention: object
    after_attention: np.ndarray
    ffn_input: np.ndarray
    ffn: FFNResult
    output: np.ndarray


def pre_norm_layer(X, W_q, W_k, W_v, W1, b1, W2, b2, *, causal: bool = True, residual: bool = True,
                   normalise: bool = True, eps: float = 1e-6) -> PreNormLayerResult:
    """One decoder layer as LLaMA arranges it: Y' = X + Attn(RMSNorm(X)), Y = Y' + FFN(RMSNorm(Y')) (Eq. 3.10).

    Attention is chapter 2's (causal by default), the FFN chapter 3's (Eq. 3.1, ReLU; LLaMA's
    is SwiGLU, Eq. 3.8). ``residual=False`` drops the two additions and ``normalise=False`` the
    two RMSNorms, so both switched off give the seed's bare layer FFN(Attn(X)). W^V and W_2 must
    map back to width d so that the additions are defined.
    """
    X = as_matrix(X, "X")
    d = X.shape[1]
    as_matrix(W_v, "W_v", rows=d, cols=d)
    as_matrix(W2, "W2", cols=d)
    norm = (lambda A: rms_norm(A, eps=eps)) if normalise else (lambda A: A)
    attention_input = norm(X)
    attn = attention.self_attention(attention_input, W_q, W_k, W_v, causal=causal)
    after_attention = X + attn.output if residual else attn.output
    ffn_input = norm(after_attention)
    ffn_result = feed_forward(ffn_input, W1, b1, W2, b2)
    output = after_attention + ffn_result.output if residual else ffn_result.output
    return PreNormLayerResult(attention_input, attn, after_attention, ffn_input, ffn_result, output)
