"""Chapter 12: the whole toy pipeline, from an instruction to L_all, in one function.

The seed's chapters are disconnected: its visual tokens are given, and its denoising ignores
them. To let a change upstream (an embedding, a weight) flow all the way to the losses, this
module chains the package's chapter functions and closes the two gaps with the simplest honest
stand-ins, each named as such:

1. X = E[w_1..w_n]                                    tokens.embed          (Eq. 1.1)
2. one causal layer over [X; E_img]: attention + FFN  visual_tokens.image_token_pass (Eqs. 2.1-3.1, 4.1-4.2)
3. U = toy edit head of the [IMG] hidden states        visual_tokens.toy_edit_head (Eqs. 4.3-4.5)
4. eps_hat_t = s t + kappa * mean(U)                  stand-in for the denoiser's cross-attention to U (Eq. 12.1)
5. z_{t-1} = z_t - eta * eps_hat_t                     diffusion.denoise     (chapter 5)
6. L_ins: next-token cross-entropy of a tied LM head  logits_i = F_i E^T     (Eq. 12.2)
7. L_edit = sum_t (eps_t - eps_hat_t)^2,  L_all = L_ins + alpha L_edit       losses (chapter 6)

Step 4 is the book's toy coupling (kappa = 0 gives back the seed's eps_hat_t = 0.2 t); in MGIE
the UNet reads U through cross-attention (chapter 10). Step 6 uses the transposed embedding
table as the output layer ("weight tying"), so the next-token probabilities depend on the
embeddings and on every weight before it; with the causal mask, position i sees only tokens
1..i, which is teacher forcing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import diffusion, losses, seed, tokens, visual_tokens
from .attention import AttentionResult
from .ffn import FFNResult
from .validation import as_matrix, as_vector, check_finite_number, check_int, check_nonnegative

__all__ = ["PipelineResult", "tied_lm_logits", "next_token_targets", "conditioned_noise",
           "edit_loss_minimising_coupling", "run_pipeline"]


@dataclass(frozen=True)
class PipelineResult:
    """Every stage of :func:`run_pipeline`, by name."""

    tokens: tuple
    X: np.ndarray
    attention: AttentionResult
    ffn: FFNResult
    img_hidden: np.ndarray
    U: np.ndarray
    predicted_noise: np.ndarray
    true_noise: np.ndarray
    denoise: diffusion.DenoiseResult
    lm_logits: np.ndarray
    l_ins: float
    l_edit: float
    l_all: float


def tied_lm_logits(F, table_matrix) -> np.ndarray:
    """Next-token logits of a weight-tied output layer: logits = F E^T (Eq. 12.2).

    F is (n x d), one output row per position; ``table_matrix`` E is (|V| x d), one row per
    vocabulary word. Entry (i, j) scores word j as the token after position i.
    """
    F = as_matrix(F, "F")
    E = as_matrix(table_matrix, "table_matrix", cols=F.shape[1])
    return F @ E.T


def next_token_targets(words, vocabulary) -> np.ndarray:
    """The id of each token's successor: targets[i] = id(w_{i+2}) for i = 0..n-2 (chapter 12)."""
    words, vocabulary = list(words), list(vocabulary)
    if len(words) < 2:
        raise ValueError("words must contain at least two tokens to predict a next token")
    index = {word: i for i, word in enumerate(vocabulary)}
    missing = [w for w in words if w not in index]
    if missing:
        raise ValueError(f"words {missing} are not in vocabulary")
    return np.array([index[w] for w in words[1:]])


def conditioned_noise(U, T: int, slope: float, coupling: float) -> np.ndarray:
    """eps_hat_t = slope * t + coupling * mean(U), for t = T, T-1, ..., 1 (Eq. 12.1)."""
    U = as_matrix(U, "U")
    T = check_int(T, "T", minimum=1)
    slope = check_finite_number(slope, "slope")
    coupling = check_finite_number(coupling, "coupling")
    steps = np.arange(T, 0, -1)
    return slope * steps + coupling * float(U.mean())


def edit_loss_minimising_coupling(U, T: int, slope: float, true_noise: float) -> float:
    """The kappa that minimises L_edit = sum_t (eps - slope t - kappa u)^2, u = mean(U) (chapter 12).

    Setting the derivative to zero gives kappa* u = mean_t (eps - slope t), so
    kappa* = (eps - slope (T + 1) / 2) / u. Raises ``ValueError`` when mean(U) = 0 (then kappa has
    no effect on the loss).
    """
    U = as_matrix(U, "U")
    T = check_int(T, "T", minimum=1)
    slope = check_finite_number(slope, "slope")
    true_noise = check_finite_number(true_noise, "true_noise")
    u = float(U.mean())
    if u == 0.0:
        raise ValueError("U has mean 0, so kappa does not change the predicted noise")
    return (true_noise - slope * (T + 1) / 2) / u


def run_pipeline(instruction: str = seed.INSTRUCTION, *, table=None,
                 W_q=seed.W_Q, W_k=seed.W_K, W_v=seed.W_V,
                 W1=seed.W1, b1=seed.B1, W2=seed.W2, b2=seed.B2,
                 n_img_tokens: int = 4, n_queries: int = 4, edit_head_seed: int = 0,
                 z_start: float = seed.PRINTED_Z_START, eta: float = seed.ETA, T: int = seed.T,
                 slope: float = seed.NOISE_SLOPE, coupling: float = 0.5,
                 true_noise: float = seed.TRUE_NOISE[1], alpha: float = seed.ALPHA) -> PipelineResult:
    """Run the whole toy pipeline (steps 1-7 of the module docstring) and return every stage.

    Defaults are the seed's values; ``coupling`` kappa = 0 reproduces the seed's noise rule.
    ``true_noise`` is the noise eps_t the seed's L_edit compares against at every step (0.2).
    Every parameter is validated by the chapter function that uses it.
    """
    table = dict(seed.EMBEDDING_TABLE if table is None else table)
    words, X = tokens.embed(instruction, table)
    n_img_tokens = check_int(n_img_tokens, "n_img_tokens", minimum=1, maximum=16)
    image_pass = visual_tokens.image_token_pass(
        X, visual_tokens.image_token_embeddings(n_img_tokens), W_q, W_k, W_v, W1, b1, W2, b2,
        words=words, causal=True)
    head = visual_tokens.toy_edit_head(image_pass.edit_head_input, n_queries=n_queries,
                                       d_out=X.shape[1], seed=edit_head_seed)
    T = check_int(T, "T", minimum=1)
    predicted = conditioned_noise(head.output, T, slope, coupling)
    true = np.full(T, check_finite_number(true_noise, "true_noise"))
    trajectory = diffusion.denoise(check_finite_number(z_start, "z_start"),
                                   check_nonnegative(eta, "eta"), T, predicted)
    vocabulary = list(table)
    table_matrix = np.vstack([as_vector(table[w], f"table[{w!r}]") for w in vocabulary])
    n = len(words)
    logits = tied_lm_logits(image_pass.ffn.output[:n], table_matrix)
    l_ins = float(losses.cross_entropy(logits[:-1], next_token_targets(words, vocabulary))) if n > 1 else 0.0
    l_edit = float(losses.edit_loss(true, predicted))
    l_all = float(losses.total_loss(l_ins, l_edit, alpha))
    return PipelineResult(tuple(words), X, image_pass.attention, image_pass.ffn, image_pass.hidden_states,
                          head.output, predicted, true, trajectory, logits, l_ins, l_edit, l_all)
