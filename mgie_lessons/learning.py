"""Chapter 13: how MGIE learns. Gradients derived by hand, beside the autograd engine.

Notation (chapter 13). For any array X that a scalar loss L depends on, nabla_X = dL/dX is an
array of X's shape; G = nabla_Y is the gradient arriving at an operation's output Y.

    nabla_x = sum_k (dy_k/dx)^T nabla_{y_k},  nabla_L = 1   (chain rule on a graph)  (Eq. 13.1)
    Y = X + 1 b:  nabla_b = 1^T G               (broadcasting sums back)           (Eq. 13.2)
    Y = A B:      nabla_A = G B^T,  nabla_B = A^T G                                 (Eq. 13.3)
    a = softmax(x):  J = da/dx = diag(a) - a a^T,
                     nabla_x = J^T nabla_a = a * (nabla_a - (a . nabla_a))          (Eq. 13.4)
    (Eq. 13.5 is layer normalisation's rule, in :mod:`mgie_lessons.autograd`.)
    nabla_{l_i} L_ins = (softmax(l_i) - onehot(y_i)) / N,
    dL_edit/d eps_hat_t = 2 (eps_hat_t - eps_t)   (the seed's sum; 2/n (...) for a mean) (Eq. 13.6)
    theta <- theta - lambda nabla_theta                        (gradient descent, SGD) (Eq. 13.7)
    s_k = b1 s_{k-1} + (1 - b1) g_k,  r_k = b2 r_{k-1} + (1 - b2) g_k * g_k,
    s^ = s_k / (1 - b1^k),  r^ = r_k / (1 - b2^k),
    theta_k = theta_{k-1} - lambda s^ / (sqrt(r^) + eps)                    (Adam)    (Eq. 13.8)
    attention (Eqs. 2.1-2.5) backwards, with G = nabla_H:                              (Eq. 13.9)
        nabla_A = G V^T,  nabla_V = A^T G,  nabla_S~ = A * (nabla_A - rowsum(A * nabla_A) 1^T),
        nabla_S = nabla_S~ / (sqrt(d_k) tau),  nabla_Q = nabla_S K,  nabla_K = nabla_S^T Q,
        nabla_W^Q = X^T nabla_Q,  nabla_W^K = X^T nabla_K,  nabla_W^V = X^T nabla_V,
        nabla_X = nabla_Q W^Q^T + nabla_K W^K^T + nabla_V W^V^T

The chapter's model is the seed's one-layer language model of chapter 12 (embedding, causal
self-attention, the FFN and an output layer, no residuals), with the output layer W_out kept
as its own parameter (started as a copy of E, so the first loss is chapter 12's L_ins):

    X = O E,  H = softmax(X W^Q (X W^K)^T / sqrt(d_k) + M) X W^V,
    F = ReLU(H W_1 + 1 b_1) W_2 + 1 b_2,  l = F W_out^T,
    L_ins = mean_{i < n} -log softmax(l_i)[w_{i+1}]                       (Eq. 12.2 and 6.3)

:func:`tiny_lm_gradients` writes every backward rule out in numpy; :func:`autograd_tiny_lm_gradients`
lets :mod:`mgie_lessons.autograd` find the same numbers; :func:`numerical_gradient` checks both
with central differences. ``exact_*`` functions give sympy rationals where the seed's numbers
allow it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy

from . import autograd, walkthrough, tokens
from .diffusion import as_rational
from .validation import as_array, as_matrix, as_vector, check_finite_number, check_int, check_nonnegative

__all__ = [
    # single rules, by hand
    "softmax",
    "softmax_jacobian",
    "exact_softmax_jacobian",
    "softmax_backward",
    "cross_entropy_logit_gradient",
    "exact_cross_entropy_gradient",
    "exact_bigram_probabilities",
    "EDIT_REDUCTIONS",
    "edit_loss_noise_gradient",
    "exact_edit_loss_noise_gradient",
    "edit_loss_slope_gradient",
    "exact_edit_loss_slope_gradient",
    "edit_loss_minimising_slope",
    "exact_edit_loss_minimising_slope",
    "AttentionGradients",
    "attention_backward",
    "numerical_gradient",
    # optimisers, written out
    "AdamState",
    "adam_start",
    "adam_update",
    "exact_adam_first_step",
    "sgd_update",
    # the chapter's model
    "PARAMETER_NAMES",
    "PARAMETER_SYMBOLS",
    "MGIE_TRAINABLE",
    "TinyLMData",
    "seed_lm_data",
    "seed_lm_parameters",
    "TinyLMForward",
    "tiny_lm_forward",
    "tiny_lm_loss",
    "tiny_lm_gradients",
    "tiny_lm_loss_tensor",
    "autograd_tiny_lm_gradients",
    "best_constant_loss",
    "exact_best_constant_loss",
    "TrainingRun",
    "OPTIMIZERS",
    "train_tiny_lm",
    "BatchOfRuns",
    "train_tiny_lm_batch",
    "train_tiny_lm_by_hand",
    # the graph, for the figure of the idea
    "seed_edit_loss_graph",
    "GraphNode",
    "computational_graph",
]


# ---------------------------------------------------------------------------------------------
# Eq. 13.4: the softmax and its Jacobian
# ---------------------------------------------------------------------------------------------

def softmax(x, axis: int = -1) -> np.ndarray:
    """softmax(x)_j = exp(x_j - max x) / sum_k exp(x_k - max x) along ``axis`` (Eq. 2.4).

    -inf entries (a causal mask) get weight 0; NaN and +inf are rejected.
    """
    values = np.asarray(x, dtype=float)
    if values.ndim == 0 or values.size == 0:
        raise ValueError(f"x must be a non-empty array, got shape {values.shape}")
    if np.isnan(values).any() or np.isposinf(values).any():
        raise ValueError("x contains NaN or +inf; only finite numbers and -inf (a mask) are allowed")
    top = values.max(axis=axis, keepdims=True)
    if np.isneginf(top).any():
        raise ValueError("x has a row that is entirely -inf; softmax is undefined there")
    exponentials = np.exp(values - top)
    return exponentials / exponentials.sum(axis=axis, keepdims=True)


def _probability_vector(a, name: str) -> np.ndarray:
    a = as_vector(a, name)
    if (a < 0).any() or not np.isclose(a.sum(), 1.0, atol=1e-9):
        raise ValueError(f"{name} must be a probability vector (entries >= 0 summing to 1), "
                         f"got a sum of {a.sum():.6g}")
    return a


def softmax_jacobian(a) -> np.ndarray:
    """J = diag(a) - a a^T, the Jacobian da_j/dx_i = a_j ([i = j] - a_i) of a = softmax(x) (Eq. 13.4).

    ``a`` is the softmax output (a probability vector of length V); J is V x V, symmetric, and
    every row and column sums to 0 (adding a constant to x changes nothing, Eq. 2.7).
    """
    a = _probability_vector(a, "a")
    return np.diag(a) - np.outer(a, a)


def exact_softmax_jacobian(logits) -> sympy.Matrix:
    """Eq. 13.4 in sympy for a vector of logits: a_j ([i = j] - a_i) with a = exp(x) / sum exp(x)."""
    values = as_vector(logits, "logits")
    exact = [as_rational(v, "logits") for v in values.tolist()]
    exponentials = [sympy.exp(v) for v in exact]
    total = sympy.Add(*exponentials)
    a = [e / total for e in exponentials]
    size = len(a)
    return sympy.Matrix(size, size, lambda i, j: sympy.simplify(a[i] * (int(i == j) - a[j])))


def softmax_backward(a, grad_a, axis: int = -1) -> np.ndarray:
    """nabla_x = a * (nabla_a - sum_j a_j (nabla_a)_j) along ``axis`` (Eq. 13.4 as a product J^T g).

    ``a`` = softmax(x) (rows summing to 1 along ``axis``), ``grad_a`` the gradient arriving at
    a (same shape). No n x n Jacobian is formed: J^T g = a * g - a (a . g).
    """
    a = as_array(a, "a")
    grad_a = as_array(grad_a, "grad_a")
    if grad_a.shape != a.shape:
        raise ValueError(f"grad_a must have the shape of a {a.shape}, got {grad_a.shape}")
    if a.ndim == 0:
        raise ValueError("a must have at least one axis")
    return a * (grad_a - np.sum(a * grad_a, axis=axis, keepdims=True))


# ---------------------------------------------------------------------------------------------
# Eq. 13.6: the gradients the two losses send back
# ---------------------------------------------------------------------------------------------

def _class_ids(targets, rows: int, classes: int) -> np.ndarray:
    if isinstance(targets, str):
        raise ValueError("targets must be class ids (whole numbers), got a string")
    values = as_array(targets, "targets", shape=(rows,))
    if not np.all(values == np.round(values)) or values.min() < 0 or values.max() >= classes:
        raise ValueError(f"targets must be whole numbers in [0, {classes - 1}]")
    return values.astype(int)


def cross_entropy_logit_gradient(logits, targets) -> np.ndarray:
    """nabla_{l_i} L_ins = (softmax(l_i) - onehot(y_i)) / N for the mean cross-entropy (Eq. 13.6).

    ``logits`` is N x V (one row per counted token, chapter 6), ``targets`` N class ids. Every
    row of the result sums to 0: the target's logit is pushed up by (1 - p_y)/N, every other
    logit down by p_v/N.
    """
    logits = as_matrix(logits, "logits")
    ids = _class_ids(targets, *logits.shape)
    grad = softmax(logits, axis=1)
    grad[np.arange(len(ids)), ids] -= 1.0
    return grad / len(ids)


def exact_cross_entropy_gradient(probabilities, targets) -> sympy.Matrix:
    """Eq. 13.6 exactly from exact probabilities P (N x V sympy matrix or rationals): (P - Y) / N."""
    P = probabilities if isinstance(probabilities, sympy.MatrixBase) else \
        sympy.Matrix([[as_rational(v, "probabilities") for v in row] for row in as_matrix(probabilities, "probabilities").tolist()])
    ids = _class_ids(targets, P.rows, P.cols)
    if any(sympy.simplify(sum(P.row(i)) - 1) != 0 for i in range(P.rows)):
        raise ValueError("every row of probabilities must sum to 1 exactly")
    one_hot = sympy.zeros(P.rows, P.cols)
    for i, y in enumerate(ids):
        one_hot[i, int(y)] = 1
    return (P - one_hot) / P.rows


def exact_bigram_probabilities(vocabulary, corpus_tokens, smoothing=sympy.Rational(1, 10)) -> sympy.Matrix:
    """Chapter 6's smoothed bigram model in rationals: p(next | prev) = (count + k) / (count(prev) + k V).

    The same numbers as ``exp(losses.bigram_model_logits(...))``, kept exact, so the gradient
    of L_ins with respect to its logits (Eq. 13.6) comes out in fractions.
    """
    vocabulary = list(vocabulary)
    if not vocabulary or len(set(vocabulary)) != len(vocabulary):
        raise ValueError("vocabulary must be a non-empty list of distinct tokens")
    k = as_rational(smoothing, "smoothing")
    if k <= 0:
        raise ValueError(f"smoothing must be > 0, got {smoothing}")
    corpus = ["<s>"] + list(corpus_tokens)
    index = {word: i for i, word in enumerate(vocabulary)}
    missing = [w for w in corpus if w not in index]
    if missing:
        raise ValueError(f"corpus_tokens has words {missing} that are not in vocabulary")
    size = len(vocabulary)
    counts = sympy.Matrix(size, size, lambda i, j: k)
    for previous, following in zip(corpus[:-1], corpus[1:]):
        counts[index[previous], index[following]] += 1
    return sympy.Matrix(size, size, lambda i, j: counts[i, j] / sum(counts.row(i)))


EDIT_REDUCTIONS = ("sum", "mean")


def _noise_pair(true_noise, predicted_noise):
    true = as_array(true_noise, "true_noise")
    if true.ndim == 0 or true.size == 0:
        raise ValueError("true_noise must hold at least one value")
    predicted = as_array(predicted_noise, "predicted_noise")
    if predicted.shape != true.shape:
        raise ValueError(f"predicted_noise must have the shape of true_noise {true.shape}, got {predicted.shape}")
    return true, predicted


def _check_reduction(reduction) -> str:
    if reduction not in EDIT_REDUCTIONS:
        raise ValueError(f"reduction must be one of {EDIT_REDUCTIONS}, got {reduction!r}")
    return reduction


def edit_loss_noise_gradient(true_noise, predicted_noise, *, reduction: str = "sum") -> np.ndarray:
    """dL_edit/d eps_hat = 2 (eps_hat - eps) (Eq. 13.6, the seed's sum of Eq. 6.4).

    ``reduction="mean"`` is for L_edit = (1/n) sum (eps - eps_hat)^2 over all n entries, as
    ``F.mse_loss`` in MGIE's code: the gradient is then 2/n (eps_hat - eps).
    """
    reduction = _check_reduction(reduction)
    true, predicted = _noise_pair(true_noise, predicted_noise)
    grad = 2.0 * (predicted - true)
    return grad if reduction == "sum" else grad / true.size


def exact_edit_loss_noise_gradient(true_noise, predicted_noise, *, reduction: str = "sum") -> list:
    """Eq. 13.6 for L_edit in rationals (one number per step): the seed's 4/5, 2/5, 0."""
    reduction = _check_reduction(reduction)
    true, predicted = _noise_pair(true_noise, predicted_noise)
    if true.ndim != 1:
        raise ValueError("the exact version takes one number per step (true_noise of shape (T,))")
    grads = [2 * (as_rational(b, "predicted_noise") - as_rational(a, "true_noise"))
             for a, b in zip(true.tolist(), predicted.tolist())]
    return grads if reduction == "sum" else [g / len(grads) for g in grads]


def _steps(steps) -> np.ndarray:
    values = as_vector(steps, "steps")
    if (values < 1).any() or not np.all(values == np.round(values)):
        raise ValueError("steps must be whole numbers >= 1 (the timesteps t)")
    return values


def edit_loss_slope_gradient(true_noise, slope, steps, *, reduction: str = "sum") -> float:
    """dL_edit/dc for the seed's noise rule eps_hat_t = c t (Eq. 5.2) and L_edit of Eq. 6.4.

    By the chain rule (Eq. 13.1) through eps_hat_t = c t:
    dL_edit/dc = sum_t 2 (c t - eps_t) t  (divided by T for ``reduction="mean"``).
    ``true_noise`` and ``steps`` are listed in the same order.
    """
    c = check_finite_number(slope, "slope")
    t = _steps(steps)
    true = as_vector(true_noise, "true_noise", length=len(t))
    grad = edit_loss_noise_gradient(true, c * t, reduction=reduction)
    return float(np.sum(grad * t))


def exact_edit_loss_slope_gradient(true_noise, slope, steps, *, reduction: str = "sum"):
    """:func:`edit_loss_slope_gradient` in rationals (the seed at c = 1/5: 16/5)."""
    c = as_rational(slope, "slope")
    t = _steps(steps)
    true = as_vector(true_noise, "true_noise", length=len(t))
    exact_t = [sympy.Integer(int(v)) for v in t]
    predicted = [c * v for v in exact_t]
    grads = exact_edit_loss_noise_gradient(true, [float(p) for p in predicted], reduction=reduction)
    return sum(g * v for g, v in zip(grads, exact_t))


def edit_loss_minimising_slope(true_noise, steps) -> float:
    """The c where dL_edit/dc = 0: c* = sum_t eps_t t / sum_t t^2 (least squares through 0)."""
    t = _steps(steps)
    true = as_vector(true_noise, "true_noise", length=len(t))
    return float(np.dot(true, t) / np.dot(t, t))


def exact_edit_loss_minimising_slope(true_noise, steps):
    """:func:`edit_loss_minimising_slope` in rationals (the seed: 3/35)."""
    t = [sympy.Integer(int(v)) for v in _steps(steps)]
    true = [as_rational(v, "true_noise") for v in as_vector(true_noise, "true_noise", length=len(t)).tolist()]
    return sum(a * b for a, b in zip(true, t)) / sum(v * v for v in t)


# ---------------------------------------------------------------------------------------------
# Eq. 13.9: backpropagation through self-attention, by hand
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AttentionGradients:
    """The gradients of Eq. 13.9, by name (each has the shape of what it is the gradient of)."""

    weights: np.ndarray        # nabla_A
    scaled_scores: np.ndarray  # nabla_S~
    scores: np.ndarray         # nabla_S
    queries: np.ndarray        # nabla_Q
    keys: np.ndarray           # nabla_K
    values: np.ndarray         # nabla_V
    W_q: np.ndarray
    W_k: np.ndarray
    W_v: np.ndarray
    X: np.ndarray


def _transpose(M: np.ndarray) -> np.ndarray:
    """M^T on the last two axes (a batch of matrices keeps its leading axes)."""
    return np.swapaxes(M, -1, -2)


def _attention_backward(X, W_q, W_k, W_v, Q, K, V, A, grad_H, divisor) -> AttentionGradients:
    T = _transpose
    grad_A = grad_H @ T(V)                                          # H = A V (Eq. 13.3)
    grad_V = T(A) @ grad_H
    grad_scaled = A * (grad_A - np.sum(A * grad_A, axis=-1, keepdims=True))   # softmax (Eq. 13.4)
    grad_S = grad_scaled / divisor                                  # S~ = S / (sqrt(d_k) tau)
    grad_Q = grad_S @ K                                             # S = Q K^T (Eq. 13.3)
    grad_K = T(grad_S) @ Q
    grad_X = grad_Q @ T(W_q) + grad_K @ T(W_k) + grad_V @ T(W_v)   # X is used three times (Eq. 13.1)
    return AttentionGradients(grad_A, grad_scaled, grad_S, grad_Q, grad_K, grad_V,
                              T(X) @ grad_Q, T(X) @ grad_K, T(X) @ grad_V, grad_X)


def attention_backward(X, W_q, W_k, W_v, grad_output, *, causal: bool = False,
                       temperature: float = 1.0) -> AttentionGradients:
    """Backpropagate nabla_H through self-attention H = softmax(X W^Q (X W^K)^T / (sqrt(d_k) tau) + M) X W^V.

    Eq. 13.9 (chapter 13): the matrix-product rule (Eq. 13.3) for H = A V and S = Q K^T, the
    softmax rule (Eq. 13.4) row by row, and the product rule again for Q, K, V = X W. ``X`` is
    n x d, the weights d x d_k (d_v for W^V), ``grad_output`` = nabla_H is n x d_v.
    """
    from .attention import self_attention

    forward = self_attention(X, W_q, W_k, W_v, causal=causal, temperature=temperature)
    grad_H = as_matrix(grad_output, "grad_output", rows=forward.output.shape[0], cols=forward.output.shape[1])
    d_k = forward.keys.shape[1]
    divisor = np.sqrt(d_k) * check_finite_number(temperature, "temperature")
    return _attention_backward(as_matrix(X, "X"), as_matrix(W_q, "W_q"), as_matrix(W_k, "W_k"),
                               as_matrix(W_v, "W_v"), forward.queries, forward.keys, forward.values,
                               forward.weights, grad_H, divisor)


def numerical_gradient(function, x, *, h: float = 1e-6) -> np.ndarray:
    """Central differences: (f(x + h e_i) - f(x - h e_i)) / (2h) for every entry i of x.

    ``function`` maps an array of x's shape to a number. The error is O(h^2) from the Taylor
    series plus O(machine eps / h) from rounding; h = 1e-6 gives about 1e-9 for smooth f.
    """
    x = as_array(x, "x")
    h = check_finite_number(h, "h")
    if h <= 0:
        raise ValueError(f"h must be > 0, got {h}")
    grad = np.zeros_like(x)
    flat = x.reshape(-1).copy()
    for i in range(flat.size):
        saved = flat[i]
        flat[i] = saved + h
        plus = float(function(flat.reshape(x.shape).copy()))
        flat[i] = saved - h
        minus = float(function(flat.reshape(x.shape).copy()))
        flat[i] = saved
        grad.reshape(-1)[i] = (plus - minus) / (2 * h)
    return grad


# ---------------------------------------------------------------------------------------------
# Eqs. 13.7 and 13.8: SGD and Adam, written out
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AdamState:
    """Adam's state after step k (Eq. 13.8): the parameters and both moment estimates.

    ``first`` is s_k (PyTorch's exp_avg), ``second`` r_k (exp_avg_sq); ``first_hat`` and
    ``second_hat`` are their bias-corrected versions and ``update`` what was subtracted.
    """

    step: int
    theta: np.ndarray
    first: np.ndarray
    second: np.ndarray
    first_hat: np.ndarray
    second_hat: np.ndarray
    update: np.ndarray


def adam_start(theta) -> AdamState:
    """Adam before its first step: k = 0, s_0 = r_0 = 0."""
    theta = as_array(theta, "theta")
    zeros = np.zeros_like(theta)
    return AdamState(0, theta, zeros, zeros, zeros, zeros, zeros)


def _check_betas(betas) -> tuple[float, float]:
    try:
        b1, b2 = (float(b) for b in betas)
    except (TypeError, ValueError):
        raise ValueError(f"betas must be two numbers in [0, 1), got {betas!r}") from None
    if not (0.0 <= b1 < 1.0 and 0.0 <= b2 < 1.0):
        raise ValueError(f"betas must be two numbers in [0, 1), got {betas!r}")
    return b1, b2


def _check_lr(lr) -> float:
    lr = check_finite_number(lr, "lr")
    if lr <= 0:
        raise ValueError(f"lr must be > 0, got {lr}")
    return lr


def adam_update(state: AdamState, grad, lr, *, betas=(0.9, 0.999), eps: float = 1e-8,
                bias_correction: bool = True) -> AdamState:
    """One Adam step (Eq. 13.8, chapter 13), every line of the update written out.

    s_k = b1 s_{k-1} + (1 - b1) g;  r_k = b2 r_{k-1} + (1 - b2) g^2;
    s^ = s_k / (1 - b1^k);  r^ = r_k / (1 - b2^k);  theta_k = theta_{k-1} - lr s^ / (sqrt(r^) + eps).
    ``bias_correction=False`` skips the two divisions (to show why they are there).
    """
    if not isinstance(state, AdamState):
        raise ValueError("state must be an AdamState (start with adam_start(theta))")
    grad = as_array(grad, "grad")
    if grad.shape != state.theta.shape:
        raise ValueError(f"grad must have the shape of theta {state.theta.shape}, got {grad.shape}")
    lr = _check_lr(lr)
    b1, b2 = _check_betas(betas)
    eps = check_nonnegative(eps, "eps")
    k = state.step + 1
    first = b1 * state.first + (1.0 - b1) * grad
    second = b2 * state.second + (1.0 - b2) * grad * grad
    first_hat = first / (1.0 - b1 ** k) if bias_correction else first
    second_hat = second / (1.0 - b2 ** k) if bias_correction else second
    update = lr * first_hat / (np.sqrt(second_hat) + eps)
    return AdamState(k, state.theta - update, first, second, first_hat, second_hat, update)


def exact_adam_first_step(grad, lr, *, betas=(sympy.Rational(9, 10), sympy.Rational(999, 1000)),
                          bias_correction: bool = True):
    """Adam's first update lr s^ / sqrt(r^) in sympy for one number g (eps = 0).

    With bias correction it is lr * g / |g| = lr sign(g), whatever the size of g; without,
    lr (1 - b1) g / sqrt((1 - b2) g^2) = lr (1 - b1) / sqrt(1 - b2) sign(g), about 3.16 lr.
    """
    g = as_rational(grad, "grad")
    if g == 0:
        raise ValueError("grad must be non-zero (for g = 0 the update is 0/0 without eps)")
    lr = as_rational(_check_lr(lr), "lr")
    b1, b2 = (b if isinstance(b, sympy.Basic) else as_rational(b, "betas") for b in betas)
    s, r = (1 - b1) * g, (1 - b2) * g ** 2
    if bias_correction:
        s, r = s / (1 - b1), r / (1 - b2)
    return sympy.nsimplify(lr * s / sympy.sqrt(r))


def sgd_update(theta, grad, lr) -> np.ndarray:
    """theta - lr * grad (Eq. 13.7)."""
    theta = as_array(theta, "theta")
    grad = as_array(grad, "grad")
    if grad.shape != theta.shape:
        raise ValueError(f"grad must have the shape of theta {theta.shape}, got {grad.shape}")
    return theta - _check_lr(lr) * grad


# ---------------------------------------------------------------------------------------------
# The chapter's model: the seed's one-layer language model (chapter 12), trainable
# ---------------------------------------------------------------------------------------------

#: The parameters, in a fixed order (the flat vector of the fast training loop uses it).
PARAMETER_NAMES = ("E", "W_q", "W_k", "W_v", "W1", "b1", "W2", "b2", "W_out")
#: How the book writes them (LaTeX).
PARAMETER_SYMBOLS = {
    "E": r"\mathbf{E}", "W_q": r"\mathbf{W}^Q", "W_k": r"\mathbf{W}^K", "W_v": r"\mathbf{W}^V",
    "W1": r"\mathbf{W}_1", "b1": r"\mathbf{b}_1", "W2": r"\mathbf{W}_2", "b2": r"\mathbf{b}_2",
    "W_out": r"\mathbf{W}_{\text{out}}",
}
#: What MGIE's training code leaves trainable, in the toy's terms: the token embeddings and
#: the output layer (MGIE also trains the edit head and the UNet, which this model has not).
MGIE_TRAINABLE = ("E", "W_out")


@dataclass(frozen=True)
class TinyLMData:
    """The seed instruction as training data: vocabulary, token ids, next-token targets."""

    words: tuple
    vocabulary: tuple
    ids: np.ndarray
    targets: np.ndarray


def seed_lm_data(instruction: str = walkthrough.INSTRUCTION) -> TinyLMData:
    """Token ids of ``instruction`` in the seed's table and the id of each token's successor."""
    words = tokens.tokenize(instruction)
    vocabulary, _ = tokens.table_matrix()
    index = {word: i for i, word in enumerate(vocabulary)}
    missing = [w for w in words if w not in index]
    if missing:
        raise ValueError(f"instruction has words {missing} that are not in the seed's table")
    if len(words) < 2:
        raise ValueError("instruction must have at least two words (one to predict)")
    ids = np.array([index[w] for w in words])
    return TinyLMData(tuple(words), tuple(vocabulary), ids, ids[1:].copy())


def seed_lm_parameters() -> dict:
    """The seed's weights as the model's starting parameters (W_out starts as a copy of E)."""
    _, E = tokens.table_matrix()
    return {
        "E": E.copy(), "W_q": np.array(walkthrough.W_Q, dtype=float), "W_k": np.array(walkthrough.W_K, dtype=float),
        "W_v": np.array(walkthrough.W_V, dtype=float), "W1": np.array(walkthrough.W1, dtype=float),
        "b1": np.array(walkthrough.B1, dtype=float), "W2": np.array(walkthrough.W2, dtype=float),
        "b2": np.array(walkthrough.B2, dtype=float), "W_out": E.copy(),
    }


def _check_parameters(params) -> dict:
    if not isinstance(params, dict):
        raise ValueError("params must be a dict of the model's parameters (see seed_lm_parameters())")
    missing = [name for name in PARAMETER_NAMES if name not in params]
    if missing:
        raise ValueError(f"params is missing {missing}")
    checked = {name: as_array(params[name], f"params[{name!r}]") for name in PARAMETER_NAMES}
    E, W_q = checked["E"], checked["W_q"]
    d = E.shape[1] if E.ndim == 2 else -1
    shapes = {"E": (None, None), "W_q": (d, None), "W_k": (d, W_q.shape[-1]), "W_v": (d, None),
              "W1": (checked["W_v"].shape[-1], None), "b1": (checked["W1"].shape[-1],),
              "W2": (checked["W1"].shape[-1], None), "b2": (checked["W2"].shape[-1],),
              "W_out": (E.shape[0], checked["W2"].shape[-1])}
    for name, shape in shapes.items():
        as_array(checked[name], f"params[{name!r}]", shape=shape)
    return checked


def _check_data(data, vocabulary_size: int) -> TinyLMData:
    if not isinstance(data, TinyLMData):
        raise ValueError("data must be a TinyLMData (see seed_lm_data())")
    if data.ids.max() >= vocabulary_size:
        raise ValueError(f"data has token ids up to {data.ids.max()}, but E has {vocabulary_size} rows")
    return data


def _causal_mask(n: int) -> np.ndarray:
    return np.triu(np.full((n, n), -np.inf), k=1)


def _one_hot(ids: np.ndarray, vocabulary_size: int) -> np.ndarray:
    """O with O[i, v] = 1 when token i is word v (Eq. 1.2): X = O E, and nabla_E = O^T nabla_X."""
    O = np.zeros((len(ids), vocabulary_size))
    O[np.arange(len(ids)), ids] = 1.0
    return O


@dataclass(frozen=True)
class TinyLMForward:
    """Every intermediate of the model's forward pass, and L_ins."""

    X: np.ndarray
    queries: np.ndarray
    keys: np.ndarray
    values: np.ndarray
    weights: np.ndarray
    H: np.ndarray
    pre_activation: np.ndarray
    hidden: np.ndarray
    F: np.ndarray
    logits: np.ndarray
    probabilities: np.ndarray
    loss: np.ndarray


def _forward(p: dict, O: np.ndarray, targets: np.ndarray, mask: np.ndarray) -> TinyLMForward:
    """The forward pass for parameters with a leading batch axis (several models at once)."""
    X = O @ p["E"]                                                   # Eq. 1.2
    Q, K, V = X @ p["W_q"], X @ p["W_k"], X @ p["W_v"]               # Eq. 2.1
    scores = Q @ _transpose(K) / np.sqrt(K.shape[-1]) + mask         # Eqs. 2.2, 2.3, 2.6
    e = np.exp(scores - scores.max(axis=-1, keepdims=True))
    A = e / e.sum(axis=-1, keepdims=True)                            # Eq. 2.4
    H = A @ V                                                        # Eq. 2.5
    P = H @ p["W1"] + p["b1"][..., None, :]                          # Eq. 3.2
    Z = np.maximum(P, 0.0)                                           # Eq. 3.4
    F = Z @ p["W2"] + p["b2"][..., None, :]                          # Eq. 3.5
    logits = F @ _transpose(p["W_out"])                              # Eq. 12.2
    counted = logits[..., :-1, :]
    shifted = counted - counted.max(axis=-1, keepdims=True)
    log_z = np.log(np.exp(shifted).sum(axis=-1))
    picked = shifted[..., np.arange(len(targets)), targets]
    loss = np.mean(log_z - picked, axis=-1)                          # Eq. 6.3
    probabilities = np.exp(shifted - log_z[..., None])
    return TinyLMForward(X, Q, K, V, A, H, P, Z, F, logits, probabilities, loss)


def _backward(p: dict, f: TinyLMForward, O: np.ndarray, targets: np.ndarray) -> dict:
    """Every backward rule of the model, from L_ins back to each parameter (Eqs. 13.2-13.9)."""
    rows = len(targets)
    grad_logits = np.zeros_like(f.logits)
    grad_logits[..., :-1, :] = f.probabilities                       # Eq. 13.6
    grad_logits[..., np.arange(rows), targets] -= 1.0
    grad_logits /= rows
    grads = {"W_out": _transpose(grad_logits) @ f.F}                 # Eq. 13.3 for l = F W_out^T
    grad_F = grad_logits @ p["W_out"]
    grads["W2"] = _transpose(f.hidden) @ grad_F                      # Eq. 13.3 for F = Z W_2 + 1 b_2
    grads["b2"] = grad_F.sum(axis=-2)                                # Eq. 13.2
    grad_P = (grad_F @ _transpose(p["W2"])) * (f.pre_activation > 0)  # ReLU passes where P > 0
    grads["W1"] = _transpose(f.H) @ grad_P
    grads["b1"] = grad_P.sum(axis=-2)
    grad_H = grad_P @ _transpose(p["W1"])
    attention = _attention_backward(f.X, p["W_q"], p["W_k"], p["W_v"], f.queries, f.keys, f.values,
                                    f.weights, grad_H, np.sqrt(f.keys.shape[-1]))     # Eq. 13.9
    grads.update(W_q=attention.W_q, W_k=attention.W_k, W_v=attention.W_v)
    grads["E"] = O.T @ attention.X                                   # Eq. 13.3 for X = O E
    return {name: grads[name] for name in PARAMETER_NAMES}


def _batched(p: dict) -> dict:
    return {name: value[None] for name, value in p.items()}


def _unbatched(values: dict) -> dict:
    return {name: value[0] for name, value in values.items()}


def _prepared(params, data):
    p = _check_parameters(seed_lm_parameters() if params is None else params)
    data = _check_data(seed_lm_data() if data is None else data, p["E"].shape[0])
    return p, data, _one_hot(data.ids, p["E"].shape[0]), _causal_mask(len(data.ids))


def tiny_lm_forward(params=None, data: TinyLMData | None = None) -> TinyLMForward:
    """The model's forward pass (Eqs. 1.2, 2.1-2.6 causal, 3.1, 12.2) and L_ins (Eq. 6.3).

    ``params`` defaults to :func:`seed_lm_parameters`, ``data`` to :func:`seed_lm_data`. Row i of
    the logits scores the word after token i; the last row predicts nothing and is not counted.
    """
    p, data, O, mask = _prepared(params, data)
    f = _forward(_batched(p), O, data.targets, mask)
    return TinyLMForward(*(np.asarray(getattr(f, field))[0] for field in TinyLMForward.__dataclass_fields__))


def tiny_lm_loss(params=None, data: TinyLMData | None = None) -> float:
    """L_ins of the model (chapter 12's L_ins for the seed's parameters)."""
    return float(tiny_lm_forward(params, data).loss)


def tiny_lm_gradients(params=None, data: TinyLMData | None = None) -> dict:
    """nabla_theta L_ins for every parameter, every rule written out in numpy (chapter 13).

    Returns a dict name -> gradient (the parameter's shape). Checked in the tests against the
    autograd engine (:func:`autograd_tiny_lm_gradients`) and against :func:`numerical_gradient`.
    """
    p, data, O, mask = _prepared(params, data)
    batch = _batched(p)
    return _unbatched(_backward(batch, _forward(batch, O, data.targets, mask), O, data.targets))


def tiny_lm_loss_tensor(params: dict, data: TinyLMData | None = None) -> "autograd.Tensor":
    """The same L_ins built from :mod:`mgie_lessons.autograd` operations (a Tensor to call backward on).

    ``params`` maps every name of :data:`PARAMETER_NAMES` to a Tensor (or an array, which becomes
    a constant).
    """
    if not isinstance(params, dict):
        raise ValueError("params must be a dict of Tensors")
    missing = [name for name in PARAMETER_NAMES if name not in params]
    if missing:
        raise ValueError(f"params is missing {missing}")
    p = {name: params[name] if isinstance(params[name], autograd.Tensor) else autograd.Tensor(params[name])
         for name in PARAMETER_NAMES}
    data = _check_data(seed_lm_data() if data is None else data, p["E"].shape[0])
    X = autograd.embedding(p["E"], data.ids)                        # Eq. 1.1
    Q, K, V = X @ p["W_q"], X @ p["W_k"], X @ p["W_v"]              # Eq. 2.1
    scores = (Q @ K.T) * (1.0 / np.sqrt(K.shape[1])) + _causal_mask(len(data.ids))
    H = autograd.softmax(scores, axis=-1) @ V                       # Eqs. 2.3-2.5
    F = (H @ p["W1"] + p["b1"]).relu() @ p["W2"] + p["b2"]          # Eq. 3.1
    logits = F @ p["W_out"].T                                       # Eq. 12.2 (untied)
    return autograd.cross_entropy(logits[:-1], data.targets)        # Eq. 6.3


def autograd_tiny_lm_gradients(params=None, data: TinyLMData | None = None) -> dict:
    """The gradients of :func:`tiny_lm_gradients`, found by the autograd engine's backward pass."""
    p = _check_parameters(seed_lm_parameters() if params is None else params)
    tensors = {name: autograd.Tensor(value, requires_grad=True) for name, value in p.items()}
    tiny_lm_loss_tensor(tensors, data).backward()
    return {name: tensors[name].grad for name in PARAMETER_NAMES}


def best_constant_loss(data: TinyLMData | None = None) -> float:
    """The lowest L_ins of a model that predicts the same distribution q at every position.

    The mean of -log q(y_i) is smallest for q = the frequencies of the target words, where it is
    their entropy H = -sum_v q_v log q_v. A model whose ReLU units have all died outputs the
    same logits everywhere, so this is where its training stalls (chapter 13).
    """
    data = seed_lm_data() if data is None else data
    if not isinstance(data, TinyLMData):
        raise ValueError("data must be a TinyLMData (see seed_lm_data())")
    _, counts = np.unique(data.targets, return_counts=True)
    q = counts / counts.sum()
    return float(-np.sum(q * np.log(q)))


def exact_best_constant_loss(data: TinyLMData | None = None):
    """:func:`best_constant_loss` in sympy (the seed: 7/9 log 9 + 2/9 log(9/2))."""
    data = seed_lm_data() if data is None else data
    if not isinstance(data, TinyLMData):
        raise ValueError("data must be a TinyLMData (see seed_lm_data())")
    _, counts = np.unique(data.targets, return_counts=True)
    total = int(counts.sum())
    return sympy.expand_log(-sum(sympy.Rational(int(c), total) * sympy.log(sympy.Rational(int(c), total))
                                 for c in counts), force=True)


@dataclass(frozen=True)
class TrainingRun:
    """A training run: the loss before each step (``losses[k]`` before update k + 1), the loss
    after the last step (``final_loss``), the final parameters and the settings."""

    losses: np.ndarray
    final_loss: float
    params: dict
    lr: float
    optimizer: str
    trainable: tuple


OPTIMIZERS = ("adam", "sgd")


def _check_run_settings(steps, trainable, optimizer):
    steps = check_int(steps, "steps", minimum=1, maximum=100_000)
    if isinstance(trainable, str):
        trainable = (trainable,)
    trainable = tuple(trainable)
    unknown = [name for name in trainable if name not in PARAMETER_NAMES]
    if unknown or not trainable:
        raise ValueError(f"trainable must name at least one of {PARAMETER_NAMES}, got {trainable!r}")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {optimizer!r}")
    return steps, tuple(name for name in PARAMETER_NAMES if name in trainable), optimizer


def train_tiny_lm(lr, steps: int, *, trainable=PARAMETER_NAMES, optimizer: str = "adam",
                  params=None, data: TinyLMData | None = None) -> TrainingRun:
    """Train the model with the autograd engine: ``steps`` x (zero_grad, loss, backward, step).

    Only the parameters named in ``trainable`` get ``requires_grad=True`` (the others are frozen,
    as MGIE freezes its language model); ``optimizer`` is ``"adam"`` (Eq. 13.8, default betas) or
    ``"sgd"`` (Eq. 13.7).
    """
    lr = _check_lr(lr)
    steps, trainable, optimizer = _check_run_settings(steps, trainable, optimizer)
    p = _check_parameters(seed_lm_parameters() if params is None else params)
    tensors = {name: autograd.Tensor(value.copy(), requires_grad=name in trainable) for name, value in p.items()}
    learnable = [tensors[name] for name in trainable]
    opt = autograd.Adam(learnable, lr) if optimizer == "adam" else autograd.SGD(learnable, lr)
    losses = np.empty(steps)
    for k in range(steps):
        opt.zero_grad()
        loss = tiny_lm_loss_tensor(tensors, data)
        loss.backward()
        opt.step()
        losses[k] = loss.item()
    with autograd.no_grad():
        final = tiny_lm_loss_tensor(tensors, data).item()
    return TrainingRun(losses, final, {name: t.data.copy() for name, t in tensors.items()}, lr, optimizer, trainable)


@dataclass(frozen=True)
class BatchOfRuns:
    """Several runs of the same model with different learning rates, trained side by side.

    ``losses`` is (B, steps + 1): the loss at theta_0 .. theta_steps for each of the B learning
    rates. ``gradients`` (when recorded) maps a parameter name to an array (B, steps + 1, *shape):
    nabla_theta L_ins at every theta_k, frozen parameters included (computed, never applied).
    """

    lrs: np.ndarray
    losses: np.ndarray
    params: dict
    gradients: dict
    optimizer: str
    trainable: tuple


def train_tiny_lm_batch(lrs, steps: int, *, trainable=PARAMETER_NAMES, optimizer: str = "adam",
                        params=None, data: TinyLMData | None = None, betas=(0.9, 0.999),
                        eps: float = 1e-8, record=()) -> BatchOfRuns:
    """Train one copy of the model per learning rate in ``lrs`` at once, with the hand-written
    gradients (Eq. 13.9 and friends) and Adam (Eq. 13.8) or SGD (Eq. 13.7) in plain numpy.

    Every array carries a leading axis of length B = len(lrs), so the B runs cost about as much
    as one. The trainable parameters of each run live in one flat vector, so an Adam update is a
    handful of numpy calls. ``record`` names the parameters whose gradients are kept at every
    step. Gives the same numbers as :func:`train_tiny_lm` (the tests check it); the chapter's
    widget uses it.
    """
    rates = as_vector(lrs, "lrs")
    if (rates <= 0).any():
        raise ValueError("lrs must all be > 0")
    steps, trainable, optimizer = _check_run_settings(steps, trainable, optimizer)
    if isinstance(record, str):
        record = (record,)
    unknown = [name for name in record if name not in PARAMETER_NAMES]
    if unknown:
        raise ValueError(f"record must name parameters among {PARAMETER_NAMES}, got {unknown}")
    p, data, O, mask = _prepared(params, data)
    b1, b2 = _check_betas(betas)
    eps = check_nonnegative(eps, "eps")
    B = len(rates)
    shapes = {name: p[name].shape for name in PARAMETER_NAMES}
    sizes = [p[name].size for name in trainable]
    offsets = np.cumsum([0] + sizes)
    flat = np.concatenate([np.broadcast_to(p[name].ravel(), (B, p[name].size)) for name in trainable], axis=1)
    now = {name: np.broadcast_to(p[name], (B,) + shapes[name]) for name in PARAMETER_NAMES}
    for name, start, stop in zip(trainable, offsets[:-1], offsets[1:]):
        now[name] = flat[:, start:stop].reshape((B,) + shapes[name])     # views into the flat vectors
    first, second, grad = np.zeros_like(flat), np.zeros_like(flat), np.empty_like(flat)
    rate = rates[:, None]
    losses = np.empty((B, steps + 1))
    history = {name: np.empty((B, steps + 1) + shapes[name]) for name in record}
    for k in range(steps + 1):
        forward = _forward(now, O, data.targets, mask)
        losses[:, k] = forward.loss
        if k == steps and not record:
            break
        grads = _backward(now, forward, O, data.targets)
        for name in record:
            history[name][:, k] = grads[name]
        if k == steps:
            break
        for name, start, stop in zip(trainable, offsets[:-1], offsets[1:]):
            grad[:, start:stop] = grads[name].reshape(B, -1)
        if optimizer == "sgd":
            flat -= rate * grad
            continue
        first *= b1
        first += (1.0 - b1) * grad
        second *= b2
        second += (1.0 - b2) * grad * grad
        flat -= (rate / (1.0 - b1 ** (k + 1))) * first / (np.sqrt(second / (1.0 - b2 ** (k + 1))) + eps)
    final = {name: np.array(value) for name, value in now.items()}
    return BatchOfRuns(rates, losses, final, history, optimizer, trainable)


def train_tiny_lm_by_hand(lr, steps: int, *, trainable=PARAMETER_NAMES, optimizer: str = "adam",
                          params=None, data: TinyLMData | None = None, betas=(0.9, 0.999),
                          eps: float = 1e-8) -> TrainingRun:
    """:func:`train_tiny_lm` with the hand-written gradients and optimiser (one run of
    :func:`train_tiny_lm_batch`)."""
    lr = _check_lr(lr)
    batch = train_tiny_lm_batch([lr], steps, trainable=trainable, optimizer=optimizer, params=params,
                                data=data, betas=betas, eps=eps)
    return TrainingRun(batch.losses[0, :-1].copy(), float(batch.losses[0, -1]), _unbatched(batch.params),
                       lr, batch.optimizer, batch.trainable)


# ---------------------------------------------------------------------------------------------
# The computational graph of a small expression (the chapter's first figure)
# ---------------------------------------------------------------------------------------------

def seed_edit_loss_graph(slope=walkthrough.NOISE_SLOPE):
    """L_edit(c) = sum_t (c t - eps_t)^2 built from Tensors on the seed's numbers, after backward.

    c is the slope of the seed's noise rule eps_hat_t = c t (0.2), t = 3, 2, 1 and eps_t = 0.2
    (Eq. 6.4). Returns (loss, names) where ``names`` maps id(tensor) -> a name for the leaves
    and the intermediates, for :func:`computational_graph`.
    """
    steps = sorted(walkthrough.TRUE_NOISE, reverse=True)
    c = autograd.Tensor(check_finite_number(slope, "slope"), requires_grad=True)
    t = autograd.Tensor(np.array(steps, dtype=float))
    eps = autograd.Tensor(np.array([walkthrough.TRUE_NOISE[s] for s in steps]))
    eps_hat = c * t
    residual = eps_hat - eps
    squared = residual ** 2
    loss = squared.sum()
    loss.backward()
    names = {id(c): "c", id(t): "t", id(eps): "\u03b5", id(eps_hat): "\u03b5\u0302",
             id(residual): "\u03b5\u0302 \u2212 \u03b5", id(squared): "(\u03b5\u0302 \u2212 \u03b5)\u00b2",
             id(loss): "L_edit"}
    return loss, names


@dataclass(frozen=True)
class GraphNode:
    """One tensor of a computational graph: its operation (or "leaf"), value, gradient, parents.

    ``parents`` are indices into the list :func:`computational_graph` returns; ``depth`` is the
    longest path from a leaf (leaves have depth 0).
    """

    name: str
    operation: str
    value: np.ndarray
    grad: np.ndarray | None
    parents: tuple
    depth: int
    requires_grad: bool


def _operation_name(tensor) -> str:
    """The operation that made ``tensor`` (its ``op``), or "leaf" for a tensor you created."""
    return tensor.op or "leaf"


def computational_graph(root, names: dict | None = None) -> list:
    """Walk ``root``'s parents (an autograd Tensor) and list every tensor it was computed from.

    Returns :class:`GraphNode` objects, parents before children, the root last. Operations are
    named by each tensor's ``op``; ``names`` (id(tensor) -> name)
    labels the tensors you built by hand.
    """
    if not isinstance(root, autograd.Tensor):
        raise ValueError("root must be an autograd Tensor")
    names = names or {}
    order, index = [], {}
    stack = [(root, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            if id(node) not in index:
                index[id(node)] = len(order)
                order.append(node)
            continue
        if id(node) in index:
            continue
        stack.append((node, True))
        for parent in reversed(node._parents):
            if id(parent) not in index:
                stack.append((parent, False))
    nodes = []
    for node in order:
        parents = tuple(index[id(parent)] for parent in node._parents)
        depth = 1 + max((nodes[i].depth for i in parents), default=-1)
        grad = None if node.grad is None else np.array(node.grad)
        nodes.append(GraphNode(names.get(id(node), ""), _operation_name(node), np.array(node.data), grad,
                               parents, depth, bool(node.requires_grad)))
    return nodes
