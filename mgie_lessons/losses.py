"""Chapter 6: the training losses L_ins, L_edit and L_all, computed.

Notation (chapter 6). For target tokens y_1..y_n, a model gives raw scores (logits) l_i in R^V at
every position i, computed from the TRUE previous tokens y_<i (teacher forcing):

    log p(v | y_<i) = l_{i,v} - m_i - log sum_w exp(l_{i,w} - m_i),  m_i = max_w l_{i,w}   (Eq. 6.1)
    nll_i = -log p(y_i | y_<i)                                                         (Eq. 6.2)
    L_ins = (1 / N) sum_i mask_i * nll_i,   N = sum_i mask_i                           (Eq. 6.3)
    L_edit = sum_{t=1}^{T} || eps_t - eps_hat_t ||^2          (the seed's sum over steps) (Eq. 6.4)
    L_simple = E_{t, eps} || eps - eps_theta(z_t, t) ||^2     (DDPM: a mean, not a sum)   (Eq. 6.5)
    L_all = L_ins + alpha * L_edit,   alpha >= 0   (MGIE's code: alpha = 0.5)             (Eq. 6.6)
    L_rule = c * (number of mismatched tokens)     (the seed's rule, c = 0.2)             (Eq. 6.7)
    L_edit^mean = (1 / N) sum_{j=1}^{N} (eps_j - eps_hat_j)^2 = L_edit^sum / N            (Eq. 6.9)

Eq. 6.9 is MGIE's normalisation: ``F.mse_loss(..., reduction='mean')`` averages over all N
entries of the latent noise (N = 4 x 32 x 32 = 4096 per 256 x 256 image), so in
L_all = L_ins + 0.5 L_edit^mean every squared error carries the weight 0.5 / N.

``mask_i`` is 1 for tokens the loss counts and 0 for masked ones (MGIE masks the human turn).
:func:`align_tokens` computes the token edit distance (Eq. 6.8, the Levenshtein recursion):

    D(i, j) = min(D(i-1, j) + 1, D(i, j-1) + 1, D(i-1, j-1) + [y_i != yhat_j])

Exact versions (``exact_*``) use sympy: seed decimals become rationals (L_edit = 1/5, L_all = 23/10).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy

from .diffusion import as_rational
from .guidance import sd_latent_shape
from .validation import as_array, as_matrix, as_vector, check_finite_number, check_int, check_nonnegative

__all__ = [
    "BOS",
    "InstructionLoss",
    "PositionalComparison",
    "TokenAlignment",
    "log_softmax",
    "per_token_nll",
    "cross_entropy",
    "exact_cross_entropy",
    "target_probabilities",
    "per_token_nll_from_probabilities",
    "token_cross_entropy",
    "exact_token_cross_entropy",
    "loss_from_target_probabilities",
    "exact_loss_from_target_probabilities",
    "edit_loss_terms",
    "edit_loss",
    "exact_edit_loss",
    "total_loss",
    "exact_total_loss",
    "MGIE_TRAIN_IMAGE_SIZE",
    "MGIE_EDIT_WEIGHT",
    "latent_entry_count",
    "sum_to_mean_factor",
    "mean_edit_loss",
    "edit_weight_per_entry",
    "exact_edit_weight_per_entry",
    "expected_zero_predictor_edit_loss",
    "positional_comparison",
    "align_tokens",
    "token_edit_distance",
    "mismatch_rule_loss",
    "exact_mismatch_rule_loss",
    "toy_vocabulary",
    "token_ids",
    "teacher_forcing_contexts",
    "random_bigram_logits",
    "bigram_model_logits",
    "teacher_forced_loss",
]

#: The start-of-sequence token: the context of the first position under teacher forcing.
BOS = "<s>"
REDUCTIONS = ("mean", "sum")
EDIT_REDUCTIONS = ("sum", "mean", "mse")


# ---------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------

def _check_reduction(reduction, allowed=REDUCTIONS) -> str:
    if reduction not in allowed:
        raise ValueError(f"reduction must be one of {allowed}, got {reduction!r}")
    return reduction


def _check_targets(targets, n: int, vocabulary_size: int) -> np.ndarray:
    """targets: n whole numbers in [0, V)."""
    if isinstance(targets, str):
        raise ValueError("targets must be a sequence of class ids (whole numbers), got a string")
    values = as_array(targets, "targets", shape=(None,))
    if values.shape[0] != n:
        raise ValueError(f"targets must have one class id per row of scores: expected {n}, got {values.shape[0]}")
    if not np.all(values == np.round(values)):
        raise ValueError("targets must be whole numbers (class ids)")
    ids = values.astype(int)
    if ids.min() < 0 or ids.max() >= vocabulary_size:
        raise ValueError(f"targets must lie in [0, {vocabulary_size - 1}] (the vocabulary has {vocabulary_size} "
                         f"entries), got {ids.min()} .. {ids.max()}")
    return ids


def _check_mask(mask, n: int) -> np.ndarray:
    if mask is None:
        return np.ones(n, dtype=bool)
    values = as_array(mask, "mask", shape=(n,))
    if not np.all((values == 0) | (values == 1)):
        raise ValueError("mask must hold only 0/1 (or False/True) values")
    keep = values.astype(bool)
    if not keep.any():
        raise ValueError("mask removes every token; at least one token must count")
    return keep


def _reduce(values: np.ndarray, keep: np.ndarray, reduction: str) -> float:
    total = float(values[keep].sum())
    return total / int(keep.sum()) if reduction == "mean" else total


# ---------------------------------------------------------------------------
# Eqs. 6.1 - 6.3: cross-entropy from logits
# ---------------------------------------------------------------------------

def log_softmax(logits) -> np.ndarray:
    """log softmax of every row of ``logits`` (n x V), computed stably (Eq. 6.1).

    Subtracting the row maximum first means exp never overflows, so logits of 1e4 are fine.
    """
    logits = as_matrix(logits, "logits")
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def per_token_nll(logits, targets) -> np.ndarray:
    """nll_i = -log p(y_i | y_<i) for every position (Eq. 6.2); shape (n,).

    ``logits`` is (n x V): row i holds the raw scores for position i; ``targets`` holds n class
    ids in [0, V).
    """
    log_probabilities = log_softmax(logits)
    ids = _check_targets(targets, *log_probabilities.shape)
    return -log_probabilities[np.arange(len(ids)), ids]


def cross_entropy(logits, targets, *, mask=None, reduction: str = "mean") -> float:
    """L_ins = mean (or sum) of -log p(y_i | y_<i) over the counted tokens (Eqs. 6.1-6.3, chapter 6).

    ``mask`` (optional, n values of 0/1) drops masked positions, as MGIE drops the human turn.
    ``reduction="mean"`` divides by the number of counted tokens (PyTorch's default);
    ``"sum"`` adds them up.
    """
    reduction = _check_reduction(reduction)
    values = per_token_nll(logits, targets)
    return _reduce(values, _check_mask(mask, len(values)), reduction)


def exact_cross_entropy(logits, targets, *, mask=None, reduction: str = "mean"):
    """:func:`cross_entropy` as a sympy expression: log(sum_w exp(l_w)) - l_y per token."""
    reduction = _check_reduction(reduction)
    numeric = as_matrix(logits, "logits")
    ids = _check_targets(targets, *numeric.shape)
    keep = _check_mask(mask, len(ids))
    rows = [[as_rational(value, "logits") for value in row] for row in numeric.tolist()]
    terms = [sympy.log(sum(sympy.exp(v) for v in row)) - row[i] for row, i, k in zip(rows, ids, keep) if k]
    total = sum(terms)
    return total / len(terms) if reduction == "mean" else total


# ---------------------------------------------------------------------------
# Cross-entropy from probabilities
# ---------------------------------------------------------------------------

def _check_probability_rows(probabilities) -> np.ndarray:
    p = as_matrix(probabilities, "probabilities")
    if (p < 0).any() or (p > 1).any():
        raise ValueError("probabilities must lie in [0, 1]")
    if not np.allclose(p.sum(axis=1), 1.0, atol=1e-6):
        raise ValueError(f"every row of probabilities must sum to 1, got row sums {np.round(p.sum(axis=1), 6).tolist()}")
    return p


def target_probabilities(probabilities, targets) -> np.ndarray:
    """p_i = P[i, y_i]: the probability the model gives the correct token at each position."""
    p = _check_probability_rows(probabilities)
    ids = _check_targets(targets, *p.shape)
    return p[np.arange(len(ids)), ids]


def _nll_of(p: np.ndarray) -> np.ndarray:
    if (p <= 0).any():
        position = int(np.argmax(p <= 0))
        raise ValueError(f"the probability of the correct token at position {position} is 0, so its loss "
                         "-log p would be infinite; probabilities of correct tokens must be > 0")
    return -np.log(p)


def per_token_nll_from_probabilities(probabilities, targets) -> np.ndarray:
    """-log P[i, y_i] for every position (Eq. 6.2 from probabilities); shape (n,)."""
    return _nll_of(target_probabilities(probabilities, targets))


def token_cross_entropy(probabilities, targets, *, mask=None, reduction: str = "mean") -> float:
    """L_ins from a probability matrix (n x V, rows summing to 1) and target ids (Eq. 6.3)."""
    reduction = _check_reduction(reduction)
    values = per_token_nll_from_probabilities(probabilities, targets)
    return _reduce(values, _check_mask(mask, len(values)), reduction)


def exact_token_cross_entropy(probabilities, targets, *, mask=None, reduction: str = "mean"):
    """:func:`token_cross_entropy` with sympy: -log of each rational probability."""
    return exact_loss_from_target_probabilities(target_probabilities(probabilities, targets),
                                                mask=mask, reduction=reduction)


def loss_from_target_probabilities(p_correct, *, mask=None, reduction: str = "mean") -> float:
    """L_ins from the probabilities of the correct tokens alone: mean (or sum) of -log p_i (Eq. 6.3).

    Each p_i must lie in (0, 1]; p_i = 0 would make the loss infinite.
    """
    reduction = _check_reduction(reduction)
    p = as_vector(p_correct, "p_correct")
    if (p > 1).any() or (p < 0).any():
        raise ValueError("p_correct must lie in (0, 1]: they are probabilities")
    values = _nll_of(p)
    return _reduce(values, _check_mask(mask, len(values)), reduction)


def exact_loss_from_target_probabilities(p_correct, *, mask=None, reduction: str = "mean"):
    """:func:`loss_from_target_probabilities` with sympy (e.g. (log 2 + log 4) / 3)."""
    reduction = _check_reduction(reduction)
    p = as_vector(p_correct, "p_correct")
    if (p <= 0).any() or (p > 1).any():
        raise ValueError("p_correct must lie in (0, 1]: they are probabilities of the correct tokens")
    keep = _check_mask(mask, len(p))
    terms = [-sympy.log(as_rational(value, "p_correct")) for value, k in zip(p.tolist(), keep) if k]
    total = sympy.expand_log(sum(terms), force=True)   # -log(1/4) becomes 2 log(2), so like terms add up
    return total / len(terms) if reduction == "mean" else total


# ---------------------------------------------------------------------------
# Eqs. 6.4 - 6.6: the editing loss and the total
# ---------------------------------------------------------------------------

def _noise_pair(true_noise, predicted_noise) -> tuple[np.ndarray, np.ndarray]:
    true = as_array(true_noise, "true_noise")
    if true.ndim == 0 or true.shape[0] == 0:
        raise ValueError("true_noise must hold one value (or array) per step t")
    predicted = as_array(predicted_noise, "predicted_noise")
    if predicted.shape != true.shape:
        raise ValueError(f"predicted_noise must have the shape of true_noise {true.shape}, got {predicted.shape}")
    return true, predicted


def edit_loss_terms(true_noise, predicted_noise) -> np.ndarray:
    """||eps_t - eps_hat_t||^2 for every step, shape (T,) (the terms of Eq. 6.4).

    ``true_noise`` and ``predicted_noise`` have shape (T,) (a number per step) or (T, ...) (an
    array per step); they must be in the same step order (the book uses t = T, ..., 1).
    """
    true, predicted = _noise_pair(true_noise, predicted_noise)
    squared = (true - predicted) ** 2
    return squared.reshape(len(squared), -1).sum(axis=1)


def edit_loss(true_noise, predicted_noise, *, reduction: str = "sum") -> float:
    """L_edit between true and predicted noise (Eq. 6.4; chapter 6).

    ``reduction="sum"``: sum_t ||eps_t - eps_hat_t||^2, as the seed writes it (Eq. 6.4).
    ``"mean"``: (1/T) sum_t ||.||^2, the average over steps that estimates DDPM's expectation
    over t (Eq. 6.5). ``"mse"``: the mean over every element, what ``F.mse_loss`` computes in
    MGIE's code (for one number per step it equals ``"mean"``).
    """
    reduction = _check_reduction(reduction, EDIT_REDUCTIONS)
    true, predicted = _noise_pair(true_noise, predicted_noise)
    terms = edit_loss_terms(true, predicted)
    if reduction == "sum":
        return float(terms.sum())
    if reduction == "mean":
        return float(terms.mean())
    return float(np.mean((true - predicted) ** 2))


def exact_edit_loss(true_noise, predicted_noise, *, reduction: str = "sum"):
    """Eq. 6.4 in rationals (one number per step): the seed's (1/5-3/5)^2 + (1/5-2/5)^2 + 0 = 1/5."""
    reduction = _check_reduction(reduction, EDIT_REDUCTIONS)
    true, predicted = _noise_pair(true_noise, predicted_noise)
    if true.ndim != 1:
        raise ValueError("exact_edit_loss takes one number per step (true_noise of shape (T,))")
    terms = [(as_rational(a, "true_noise") - as_rational(b, "predicted_noise")) ** 2
             for a, b in zip(true.tolist(), predicted.tolist())]
    total = sum(terms)
    return total if reduction == "sum" else total / len(terms)


def total_loss(l_ins, l_edit, alpha=0.5) -> float:
    """L_all = L_ins + alpha * L_edit (Eq. 6.6). alpha >= 0; MGIE's code uses 0.5 (mgie_llava.py)."""
    l_ins = check_nonnegative(l_ins, "l_ins")
    l_edit = check_nonnegative(l_edit, "l_edit")
    alpha = check_nonnegative(alpha, "alpha")
    return l_ins + alpha * l_edit


def exact_total_loss(l_ins, l_edit, alpha=0.5):
    """Eq. 6.6 exactly. Sympy expressions (e.g. from :func:`exact_cross_entropy`) are kept as they are."""
    values = []
    for value, name in ((l_ins, "l_ins"), (l_edit, "l_edit"), (alpha, "alpha")):
        exact = value if isinstance(value, sympy.Basic) and not value.is_Float else as_rational(value, name)
        if not exact.is_real or exact.is_negative or not exact.is_finite:
            raise ValueError(f"{name} must be a finite number >= 0, got {value}")
        values.append(exact)
    l_ins, l_edit, alpha = values
    return l_ins + alpha * l_edit


# ---------------------------------------------------------------------------
# Eq. 6.9: the scale of L_edit, sum or mean
# ---------------------------------------------------------------------------

#: MGIE trains on 256 x 256 images (mgie_train.py L540: ``.resize([256, 256])``).
MGIE_TRAIN_IMAGE_SIZE = 256
#: MGIE's weight of L_edit: ``loss = loss_ce+loss_edit*0.5`` (mgie_llava.py L326).
MGIE_EDIT_WEIGHT = 0.5


def latent_entry_count(height: int = MGIE_TRAIN_IMAGE_SIZE, width: int = MGIE_TRAIN_IMAGE_SIZE) -> int:
    """N, the number of entries of Stable Diffusion's latent noise for an H x W image (Eq. 6.9).

    4 channels at one eighth of the resolution: 4 x 32 x 32 = 4096 at MGIE's 256 x 256.
    ``F.mse_loss(out, noise, reduction='mean')`` divides the summed squared error by this N
    (and by the batch size, which a mean over a batch leaves out of the per-example scale).
    """
    return int(np.prod(sd_latent_shape(height, width)))


def sum_to_mean_factor(true_noise) -> int:
    """The factor between the seed's sum (Eq. 6.4) and the mean over all entries (Eq. 6.9).

    ``edit_loss(..., reduction="sum") == sum_to_mean_factor(true_noise) * mean_edit_loss(...)``:
    the number of entries of ``true_noise`` (3 for the seed: one number at each of three steps).
    """
    true = as_array(true_noise, "true_noise")
    if true.size == 0:
        raise ValueError("true_noise must not be empty")
    return int(true.size)


def mean_edit_loss(true_noise, predicted_noise) -> float:
    """L_edit as MGIE computes it: the mean of (eps - eps_hat)^2 over every entry (Eq. 6.9, chapter 6).

    The same as ``edit_loss(..., reduction="mse")`` and ``F.mse_loss(out, noise, reduction='mean')``
    in mgie_llava.py L324; any shape, e.g. a (4, 32, 32) latent.
    """
    true = as_array(true_noise, "true_noise")
    if true.size == 0:
        raise ValueError("true_noise must not be empty")
    predicted = as_array(predicted_noise, "predicted_noise")
    if predicted.shape != true.shape:
        raise ValueError(f"predicted_noise must have the shape of true_noise {true.shape}, got {predicted.shape}")
    return float(np.mean((true - predicted) ** 2))


def edit_weight_per_entry(alpha=MGIE_EDIT_WEIGHT, entries: int | None = None) -> float:
    """alpha / N: the weight one squared error (eps_j - eps_hat_j)^2 carries in L_all (Eq. 6.9).

    With L_all = L_ins + alpha * mean over N entries, each entry counts alpha / N; with the seed's
    sum it would count alpha. ``entries`` defaults to MGIE's N = 4096.
    """
    alpha = check_nonnegative(alpha, "alpha")
    entries = latent_entry_count() if entries is None else check_int(entries, "entries", minimum=1)
    return alpha / entries


def exact_edit_weight_per_entry(alpha=MGIE_EDIT_WEIGHT, entries: int | None = None):
    """:func:`edit_weight_per_entry` exactly (1/8192 for MGIE)."""
    exact_alpha = as_rational(check_nonnegative(alpha, "alpha"), "alpha")
    entries = latent_entry_count() if entries is None else check_int(entries, "entries", minimum=1)
    return exact_alpha / entries


def expected_zero_predictor_edit_loss(entries: int | None = None, *, reduction: str = "mean") -> float:
    """E ||eps - 0||^2 for eps ~ N(0, I) with N entries: N for the sum, 1 for the mean (Eq. 6.9).

    The loss of a predictor that always answers 0 (knows nothing about the noise): the scale
    L_edit starts from. Times alpha = 0.5 it is 0.5 under MGIE's mean and 0.5 N under a sum.
    """
    reduction = _check_reduction(reduction)
    entries = latent_entry_count() if entries is None else check_int(entries, "entries", minimum=1)
    return 1.0 if reduction == "mean" else float(entries)


# ---------------------------------------------------------------------------
# Eq. 6.7 - 6.8: counting mismatches, position by position or after alignment
# ---------------------------------------------------------------------------

def _check_tokens(tokens, name: str) -> tuple[str, ...]:
    if isinstance(tokens, str):
        raise ValueError(f"{name} must be a list of tokens, not a single string; split it first")
    tokens = tuple(tokens)
    if not tokens:
        raise ValueError(f"{name} is empty: it needs at least one token")
    for token in tokens:
        if not isinstance(token, str) or not token:
            raise ValueError(f"{name} must contain non-empty strings, got {token!r}")
    return tokens


@dataclass(frozen=True)
class PositionalComparison:
    """y and yhat compared index by index over their common length.

    matching_positions / mismatched_positions are 0-based indices in [0, compared);
    ``extra`` counts tokens of the longer sequence that have no partner at all.
    """

    compared: int
    matching_positions: tuple
    mismatched_positions: tuple
    extra: int

    @property
    def matches(self) -> int:
        return len(self.matching_positions)

    @property
    def mismatches(self) -> int:
        return len(self.mismatched_positions)

    @property
    def mismatches_with_extra(self) -> int:
        """Mismatched positions plus unpartnered tokens: 8 + 2 = 10 for the seed."""
        return self.mismatches + self.extra


def positional_comparison(target, generated) -> PositionalComparison:
    """Compare target y and generated yhat position by position (chapter 6).

    For the seed only positions 0 and 1 ("Add", "a") match; 8 of the 10 common positions differ
    and yhat has 2 extra tokens.
    """
    target = _check_tokens(target, "target")
    generated = _check_tokens(generated, "generated")
    compared = min(len(target), len(generated))
    matching = tuple(i for i in range(compared) if target[i] == generated[i])
    mismatched = tuple(i for i in range(compared) if target[i] != generated[i])
    return PositionalComparison(compared, matching, mismatched, abs(len(target) - len(generated)))


@dataclass(frozen=True)
class TokenAlignment:
    """A minimal-cost alignment of y (target) and yhat (generated) (Eq. 6.8).

    ``operations`` lists, in order, tuples (kind, target_token, generated_token) with kind one of
    "match", "substitute", "insert" (a token of yhat with no partner in y; target_token is None)
    and "delete" (a token of y missing from yhat; generated_token is None).
    """

    operations: tuple
    distance: int

    def count(self, kind: str) -> int:
        return sum(1 for op in self.operations if op[0] == kind)

    @property
    def matches(self) -> int:
        return self.count("match")

    @property
    def substitutions(self) -> int:
        return self.count("substitute")

    @property
    def insertions(self) -> int:
        return self.count("insert")

    @property
    def deletions(self) -> int:
        return self.count("delete")

    def inserted_tokens(self) -> tuple:
        return tuple(op[2] for op in self.operations if op[0] == "insert")


def _edit_distance_table(target: tuple, generated: tuple) -> np.ndarray:
    n, m = len(target), len(generated)
    table = np.zeros((n + 1, m + 1), dtype=int)
    table[:, 0] = np.arange(n + 1)
    table[0, :] = np.arange(m + 1)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            different = int(target[i - 1] != generated[j - 1])
            table[i, j] = min(table[i - 1, j] + 1, table[i, j - 1] + 1, table[i - 1, j - 1] + different)
    return table


def align_tokens(target, generated) -> TokenAlignment:
    """Align y and yhat with the fewest insertions, deletions and substitutions (Eq. 6.8).

    For the seed the distance is 2: yhat inserts "bright" and a second "to".
    Ties are broken in favour of match/substitute, then insert, then delete.
    """
    target = _check_tokens(target, "target")
    generated = _check_tokens(generated, "generated")
    table = _edit_distance_table(target, generated)
    i, j, operations = len(target), len(generated), []
    while i > 0 or j > 0:
        if i > 0 and j > 0:
            different = int(target[i - 1] != generated[j - 1])
            if table[i, j] == table[i - 1, j - 1] + different:
                operations.append(("substitute" if different else "match", target[i - 1], generated[j - 1]))
                i, j = i - 1, j - 1
                continue
        if j > 0 and table[i, j] == table[i, j - 1] + 1:
            operations.append(("insert", None, generated[j - 1]))
            j -= 1
        else:
            operations.append(("delete", target[i - 1], None))
            i -= 1
    return TokenAlignment(tuple(reversed(operations)), int(table[-1, -1]))


def token_edit_distance(target, generated) -> int:
    """The Levenshtein distance between two token lists (Eq. 6.8): 2 for the seed's y and yhat."""
    return align_tokens(target, generated).distance


def mismatch_rule_loss(mismatches, per_mismatch=0.2) -> float:
    """The seed's rule, L_rule = per_mismatch * mismatches (Eq. 6.7). It is not a cross-entropy."""
    mismatches = check_int(mismatches, "mismatches", minimum=0)
    per_mismatch = check_nonnegative(per_mismatch, "per_mismatch")
    return mismatches * per_mismatch


def exact_mismatch_rule_loss(mismatches, per_mismatch=0.2):
    """Eq. 6.7 in rationals: 11 * 1/5 = 11/5 (the seed's count), 2 * 1/5 = 2/5 (alignment)."""
    mismatches = check_int(mismatches, "mismatches", minimum=0)
    per_mismatch = as_rational(per_mismatch, "per_mismatch")
    if per_mismatch < 0:
        raise ValueError(f"per_mismatch must be >= 0, got {per_mismatch}")
    return mismatches * per_mismatch


# ---------------------------------------------------------------------------
# A toy language model and teacher forcing
# ---------------------------------------------------------------------------

def toy_vocabulary(*token_lists) -> tuple:
    """("<s>", then every distinct word in order of first appearance) over the given token lists."""
    words = [BOS]
    for number, tokens in enumerate(token_lists):
        for token in _check_tokens(tokens, f"token list {number}"):
            if token not in words:
                words.append(token)
    return tuple(words)


def _check_vocabulary(vocabulary) -> tuple:
    vocabulary = _check_tokens(vocabulary, "vocabulary")
    if len(set(vocabulary)) != len(vocabulary):
        raise ValueError("vocabulary must not repeat a word")
    return vocabulary


def token_ids(tokens, vocabulary) -> np.ndarray:
    """The index of every token in ``vocabulary``; an unknown word raises ``ValueError`` naming it."""
    vocabulary = _check_vocabulary(vocabulary)
    tokens = _check_tokens(tokens, "tokens")
    index = {word: i for i, word in enumerate(vocabulary)}
    for position, token in enumerate(tokens):
        if token not in index:
            raise ValueError(f"tokens: word {token!r} at position {position} is not in the vocabulary")
    return np.array([index[token] for token in tokens])


def teacher_forcing_contexts(target_tokens) -> tuple:
    """The previous TRUE token for every position: ("<s>", y_1, ..., y_{n-1}).

    Under teacher forcing, position i is predicted from the true prefix y_<i, never from what the
    model generated, so an inserted word in yhat does not shift the later positions.
    """
    target_tokens = _check_tokens(target_tokens, "target_tokens")
    return (BOS,) + target_tokens[:-1]


def random_bigram_logits(vocabulary, seed: int = 0, scale=1.0) -> np.ndarray:
    """An untrained bigram model: logits[prev, next] ~ N(0, scale^2) from a seeded generator (V x V)."""
    vocabulary = _check_vocabulary(vocabulary)
    seed = check_int(seed, "seed", minimum=0)
    scale = check_nonnegative(scale, "scale")
    return np.random.default_rng(seed).normal(0.0, scale, (len(vocabulary), len(vocabulary)))


def bigram_model_logits(vocabulary, corpus_tokens, smoothing=0.1) -> np.ndarray:
    """A bigram model estimated from ``corpus_tokens`` with add-k smoothing, as logits (V x V).

    p(next | prev) = (count(prev, next) + k) / (count(prev) + k V); the corpus starts with "<s>".
    Returned as log-probabilities, which are valid logits (their row softmax gives p back).
    Estimated from the generated yhat it is a "model that wrote yhat".
    """
    vocabulary = _check_vocabulary(vocabulary)
    smoothing = check_finite_number(smoothing, "smoothing")
    if smoothing <= 0:
        raise ValueError(f"smoothing must be > 0 (otherwise unseen pairs get probability 0), got {smoothing}")
    ids = token_ids((BOS,) + _check_tokens(corpus_tokens, "corpus_tokens"), vocabulary)
    counts = np.full((len(vocabulary), len(vocabulary)), smoothing)
    for previous, following in zip(ids[:-1], ids[1:]):
        counts[previous, following] += 1
    return np.log(counts / counts.sum(axis=1, keepdims=True))


@dataclass(frozen=True)
class InstructionLoss:
    """L_ins of a bigram model on y under teacher forcing, with every intermediate."""

    contexts: tuple
    targets: tuple
    target_ids: np.ndarray
    logits: np.ndarray
    target_probabilities: np.ndarray
    per_token: np.ndarray
    mean: float
    total: float


def teacher_forced_loss(bigram_logits, vocabulary, target_tokens) -> InstructionLoss:
    """L_ins of a bigram model on ``target_tokens`` under teacher forcing (Eqs. 6.1-6.3).

    Row i of the logits is the model's row for the TRUE previous token (see
    :func:`teacher_forcing_contexts`); the loss is the mean of -log p(y_i | y_{i-1}).
    """
    vocabulary = _check_vocabulary(vocabulary)
    table = as_matrix(bigram_logits, "bigram_logits", rows=len(vocabulary), cols=len(vocabulary))
    targets = _check_tokens(target_tokens, "target_tokens")
    contexts = teacher_forcing_contexts(targets)
    logits = table[token_ids(contexts, vocabulary)]
    ids = token_ids(targets, vocabulary)
    per_token = per_token_nll(logits, ids)
    return InstructionLoss(contexts, targets, ids, logits, np.exp(-per_token), per_token,
                           float(per_token.mean()), float(per_token.sum()))
