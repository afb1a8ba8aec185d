"""Chapter 11: Progressive Feature Blending and Cross-Attention Masking.

The seed names these two techniques as parts of MGIE but never defines them. They come from
PFB-Diff (Huang, Tu, Xu, arXiv 2306.16894; code CMACH508/PFB-Diff), not from MGIE, whose own
code uses no mask. This module defines them precisely and computes them on the toy image of
:mod:`mgie_lessons.images`.

Feature blending at one level, with the mask m resized to that level (PFB-Diff,
ldm/modules/diffusionmodules/openaimodel.py, ``fusion_func``):

    h_blend = h * m + h_ref * (1 - m)                                   (Eq. 11.1)

Mask resizing by average pooling over f x f blocks (f = 2^l at level l), kept soft for
blending, thresholded (> 1/2) for attention masking:

    m_l[i, j] = mean of m over block (i, j);   m_l^bin = [m_l > 1/2]     (Eq. 11.2)

The toy feature pyramid: level l is the image average-pooled by 2^l (32 -> 16 -> 8 -> 4):

    phi_l = Pool_l(x)                                                   (Eq. 11.3)

Cross-attention masking (PFB-Diff, ldm/modules/attention.py, ``CrossAttention.forward``):
for a restricted token j, positions i outside the region get logit -inf before the softmax:

    allowed[i, j] = 0 if (token j restricted and m_i = 0), else 1       (Eq. 11.4)
    A = softmax(Q K^T / sqrt(d_k) + M),  M[i, j] = 0 if allowed else -inf (Eq. 11.5)

The toy edit, one step t (t = T, ..., 1) at every level l of L levels, with gate g_l (the
attention weight a position gives to the edit tokens), hat colour c and step size eta:

    g_l = A_l s                                   (s: edit strength of each token)  (Eq. 11.6)
    phi~_l = phi_l + eta * g_l * (c - phi_l)                            (Eq. 11.7)
    phi^_l = blend(phi~_l, Pool_l(x_ref), m_l) if l is a blended level and t > T - k, else phi~_l
                                                                         (Eq. 11.8)
    x_{t-1} = x_t + (1/L) sum_l Up_l(phi^_l - phi_l)  (Up_l: repeat each cell 2^l times) (Eq. 11.9)

"Progressive" in the book's toy: blending at several levels at once, during the first k of
the T steps (PFB-Diff blends while the timestep t > t_combine). How much the image changed:

    Delta_in  = mean over pixels with m = 1 of mean_c |x_0 - x_ref|
    Delta_out = mean over pixels with m = 0 of mean_c |x_0 - x_ref|     (Eq. 11.10)

Which way an outside pixel moved: its change projected on the direction from its original
colour to the hat colour c,

    a_p = (x_0 - x_ref)_p . (c - x_ref,p) / |c - x_ref,p|               (Eq. 11.11)

a_p > 0 is edit leaking out (the pixel turned toward the hat colour), a_p < 0 is a pull-back
(the pixel was pushed away from it). :func:`compare_techniques` runs the four cases (none,
blending, masking, both) and :func:`outside_change_split` splits Delta_out by that sign.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy

from . import attention
from .images import region_mask, toy_image
from .validation import as_array, as_matrix, as_vector, check_int, check_probability

__all__ = [
    "TOKENS",
    "EDIT_STRENGTHS",
    "RESTRICTED_TOKENS",
    "TOKEN_KEYS",
    "HAT_COLOUR",
    "MAX_STEPS",
    "blend_features",
    "exact_blend_features",
    "avg_pool",
    "upsample",
    "resize_mask",
    "exact_resize_mask",
    "feature_pyramid",
    "progressive_blend",
    "blend_schedule",
    "MaskedAttentionResult",
    "masked_cross_attention",
    "exact_masked_attention_weights",
    "toy_edit_gate",
    "RegionChange",
    "region_change",
    "ToyEditResult",
    "toy_edit",
    "TECHNIQUES",
    "compare_techniques",
    "OutsideChangeSplit",
    "outside_change_split",
    "TechniqueRow",
    "technique_table",
]

# ---------------------------------------------------------------------------
# The toy instruction's tokens (the book's choice, not learned weights)
# ---------------------------------------------------------------------------

#: Tokens of the toy instruction "blue hat ... person" as the denoiser's cross-attention sees them.
TOKENS = ("<start>", "blue", "hat", "person")
#: Edit strength s_j of each token: how hard it pulls a position toward the hat colour.
EDIT_STRENGTHS = (0.0, 1.0, 1.0, 0.0)
#: Tokens restricted to the edit region when masking is on (PFB-Diff's ``words[0]``).
RESTRICTED_TOKENS = (False, True, True, False)
#: Token keys (one row per token) in colour space: "blue" and "hat" answer blue-ish colours,
#: "person" answers red-ish colours, "<start>" answers nothing in particular (logit 0).
TOKEN_KEYS = 6.0 * np.array([
    [0.0, 0.0, 0.0],
    [-1.0, 0.0, 1.0],
    [-0.5, -0.5, 1.0],
    [1.0, 0.0, -1.0],
])
TOKEN_KEYS.setflags(write=False)
#: The toy edit runs at most this many steps (a guard for the widget).
MAX_STEPS = 100
#: The colour the edit pulls toward (a blue hat).
HAT_COLOUR = (0.15, 0.25, 0.75)


# ---------------------------------------------------------------------------
# Eq. 11.1: blending one feature map
# ---------------------------------------------------------------------------

def _mask_like(mask, name: str, shape: tuple) -> np.ndarray:
    m = as_array(mask, name, shape=shape)
    if m.size == 0:
        raise ValueError(f"{name} must not be empty")
    if (m < 0).any() or (m > 1).any():
        raise ValueError(f"{name} must have every entry in [0, 1], got values from {m.min():g} to {m.max():g}")
    return m


def blend_features(h, h_ref, mask) -> np.ndarray:
    """h * m + h_ref * (1 - m) (Eq. 11.1, chapter 11).

    ``h`` and ``h_ref`` have the same shape (H, W) or (H, W, C); ``mask`` is (H, W) with entries
    in [0, 1] and is applied to every channel. Where m = 1 the edited feature h is kept, where
    m = 0 the reference feature h_ref replaces it, and a soft m mixes the two.
    """
    h = as_array(h, "h")
    if h.ndim not in (2, 3) or h.size == 0:
        raise ValueError(f"h must have shape (H, W) or (H, W, C) and not be empty, got shape {h.shape}")
    h_ref = as_array(h_ref, "h_ref", shape=h.shape)
    m = _mask_like(mask, "mask", h.shape[:2])
    if h.ndim == 3:
        m = m[..., None]
    return h * m + h_ref * (1.0 - m)


def exact_blend_features(h, h_ref, mask) -> sympy.Matrix:
    """Eq. 11.1 in exact rational arithmetic for one channel ((H, W) matrices)."""
    h_num = as_matrix(h, "h")
    as_matrix(h_ref, "h_ref", rows=h_num.shape[0], cols=h_num.shape[1])
    _mask_like(mask, "mask", h_num.shape)
    H, R, M = (sympy.Matrix(np.asarray(a, dtype=float).tolist()).applyfunc(lambda v: sympy.Rational(str(v)))
               for a in (h, h_ref, mask))
    return H.multiply_elementwise(M) + R.multiply_elementwise(sympy.ones(*M.shape) - M)


# ---------------------------------------------------------------------------
# Eqs. 11.2-11.3: resizing masks, the feature pyramid
# ---------------------------------------------------------------------------

def _pool(x: np.ndarray, factor: int) -> np.ndarray:
    H, W = x.shape[:2]
    return x.reshape(H // factor, factor, W // factor, factor, *x.shape[2:]).mean(axis=(1, 3))


def _upsample(x: np.ndarray, factor: int) -> np.ndarray:
    return np.repeat(np.repeat(x, factor, axis=0), factor, axis=1)


def avg_pool(x, factor: int) -> np.ndarray:
    """Average over non-overlapping factor x factor blocks of an (H, W) or (H, W, C) array."""
    x = as_array(x, "x")
    factor = check_int(factor, "factor", minimum=1)
    if x.ndim not in (2, 3) or x.size == 0:
        raise ValueError(f"x must have shape (H, W) or (H, W, C) and not be empty, got shape {x.shape}")
    H, W = x.shape[:2]
    if H % factor or W % factor:
        raise ValueError(f"factor must divide the height and width {H} x {W}, got {factor}")
    return _pool(x, factor)


def upsample(x, factor: int) -> np.ndarray:
    """Nearest-neighbour upsampling: repeat each cell factor x factor times (the Up_l of Eq. 11.9)."""
    x = as_array(x, "x")
    factor = check_int(factor, "factor", minimum=1)
    if x.ndim not in (2, 3) or x.size == 0:
        raise ValueError(f"x must have shape (H, W) or (H, W, C) and not be empty, got shape {x.shape}")
    return _upsample(x, factor)


def _target_shape(mask: np.ndarray, shape) -> tuple[int, int]:
    if isinstance(shape, (tuple, list)):
        if len(shape) != 2:
            raise ValueError(f"shape must be a size or a pair (rows, cols), got {shape!r}")
        rows = check_int(shape[0], "shape", minimum=1)
        cols = check_int(shape[1], "shape", minimum=1)
    else:
        rows = cols = check_int(shape, "shape", minimum=1)
    H, W = mask.shape
    if H % rows or W % cols:
        raise ValueError(f"shape must divide the mask's size {H} x {W} (average pooling), got {rows} x {cols}")
    if H // rows != W // cols:
        raise ValueError(f"shape must shrink both sides by the same factor, got {H} x {W} -> {rows} x {cols}")
    return rows, cols


def resize_mask(mask, shape, *, threshold: float | None = None) -> np.ndarray:
    """The mask m at a coarser level by average pooling (Eq. 11.2, chapter 11).

    ``shape`` is the level's size (an int for a square level, or (rows, cols)); it must divide
    the mask's size by the same factor f on both sides. Each coarse cell holds the fraction of
    its f x f block that is inside the region (a soft mask, used for blending). With
    ``threshold`` (PFB-Diff uses 0.5 for attention masking) the result is 1 where that fraction
    is strictly greater than the threshold and 0 elsewhere. PFB-Diff itself resizes with bicubic
    interpolation; average pooling is the book's choice because it is exact and easy to follow.
    """
    m = as_matrix(mask, "mask")
    m = _mask_like(m, "mask", m.shape)
    rows, _ = _target_shape(m, shape)
    soft = avg_pool(m, m.shape[0] // rows)
    if threshold is None:
        return soft
    threshold = check_probability(threshold, "threshold")
    return (soft > threshold).astype(float)


def exact_resize_mask(mask, shape, *, threshold=None) -> sympy.Matrix:
    """Eq. 11.2 with exact fractions (block averages as sympy Rationals)."""
    m = as_matrix(mask, "mask")
    m = _mask_like(m, "mask", m.shape)
    rows, cols = _target_shape(m, shape)
    f = m.shape[0] // rows
    M = sympy.Matrix(m.tolist()).applyfunc(lambda v: sympy.Rational(str(v)))
    out = sympy.zeros(rows, cols)
    for i in range(rows):
        for j in range(cols):
            out[i, j] = sum(M[i * f:(i + 1) * f, j * f:(j + 1) * f]) / (f * f)
    if threshold is None:
        return out
    t = sympy.Rational(str(check_probability(threshold, "threshold")))
    return out.applyfunc(lambda v: sympy.Integer(1) if v > t else sympy.Integer(0))


def feature_pyramid(image, n_levels: int) -> tuple[np.ndarray, ...]:
    """phi_l = Pool_l(x): the image average-pooled by 2^l for l = 0, ..., L - 1 (Eq. 11.3).

    ``image`` is (S, S) or (S, S, C) with S divisible by 2^(L - 1). Level 0 is the image itself.
    In a real UNet the levels are learned feature maps of the encoder; here they are plain
    averages, so that every number can be checked by hand.
    """
    x = as_array(image, "image")
    if x.ndim not in (2, 3) or x.size == 0:
        raise ValueError(f"image must have shape (S, S) or (S, S, C), got shape {x.shape}")
    if x.shape[0] != x.shape[1]:
        raise ValueError(f"image must be square, got shape {x.shape}")
    n_levels = check_int(n_levels, "n_levels", minimum=1)
    if x.shape[0] % (2 ** (n_levels - 1)):
        raise ValueError(f"n_levels = {n_levels} needs the size {x.shape[0]} to be divisible by {2 ** (n_levels - 1)}")
    return tuple(avg_pool(x, 2 ** level) for level in range(n_levels))


def _check_levels(levels, n_levels: int) -> tuple[int, ...]:
    if isinstance(levels, (str, bytes)) or not hasattr(levels, "__iter__"):
        raise ValueError(f"levels must be a collection of level numbers, got {levels!r}")
    checked = []
    for level in levels:
        checked.append(check_int(level, "levels", minimum=0, maximum=n_levels - 1))
    if len(set(checked)) != len(checked):
        raise ValueError(f"levels must not repeat a level, got {tuple(levels)!r}")
    return tuple(sorted(checked))


def progressive_blend(features_by_level, reference_by_level, mask, levels=None) -> tuple[np.ndarray, ...]:
    """Blend the chosen levels of a feature pyramid with the reference pyramid (Eq. 11.1 per level).

    ``features_by_level`` and ``reference_by_level`` are sequences of (S_l, S_l[, C]) arrays of
    the same shapes; ``mask`` is the full-resolution (S_0, S_0) mask, resized to each level with
    :func:`resize_mask` (soft). ``levels`` lists the levels to blend (default: all); the other
    levels are returned unchanged.
    """
    if len(features_by_level) == 0:
        raise ValueError("features_by_level must hold at least one level")
    if len(reference_by_level) != len(features_by_level):
        raise ValueError(f"reference_by_level must have {len(features_by_level)} levels, got {len(reference_by_level)}")
    levels = tuple(range(len(features_by_level))) if levels is None else _check_levels(levels, len(features_by_level))
    m = as_matrix(mask, "mask")
    out = []
    for level, (h, h_ref) in enumerate(zip(features_by_level, reference_by_level)):
        h = as_array(h, f"features_by_level[{level}]")
        if level in levels:
            out.append(blend_features(h, as_array(h_ref, f"reference_by_level[{level}]", shape=h.shape),
                                      resize_mask(m, h.shape[:2])))
        else:
            out.append(h)
    return tuple(out)


def blend_schedule(T: int, blend_steps: int) -> np.ndarray:
    """Which steps t = T, T-1, ..., 1 blend: the first ``blend_steps`` of them (t > T - k).

    Returns a boolean array of length T in the order the steps run. PFB-Diff blends while the
    timestep exceeds ``t_combine`` (0 in its object-editing script, 200 of 1000 in its
    background-editing script), so the last steps run without blending.
    """
    T = check_int(T, "T", minimum=1)
    blend_steps = check_int(blend_steps, "blend_steps", minimum=0, maximum=T)
    steps = np.arange(T, 0, -1)
    return steps > T - blend_steps


# ---------------------------------------------------------------------------
# Eqs. 11.4-11.5: cross-attention masking
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class MaskedAttentionResult:
    """Cross-attention with masking (Eqs. 11.4-11.5): the plain attention's intermediates
    (``attention``), which (position, token) pairs are allowed, the additive mask M, and the
    rows that would have been entirely masked (left unmasked instead)."""

    attention: attention.AttentionResult
    allowed: np.ndarray
    mask: np.ndarray
    guarded_rows: tuple

    @property
    def weights(self) -> np.ndarray:
        return self.attention.weights

    @property
    def output(self) -> np.ndarray:
        return self.attention.output


def _flags(value, name: str, length: int) -> np.ndarray:
    flags = as_vector(value, name, length=length)
    if not np.isin(flags, (0.0, 1.0)).all():
        raise ValueError(f"{name} must contain only 0/1 (or True/False) entries")
    return flags.astype(bool)


def _allowed(token_mask, region, outside_token_mask, n_q: int, n_k: int):
    restricted = _flags(token_mask, "token_mask", n_k)
    inside = np.asarray(region, dtype=float).reshape(-1)
    if inside.size != n_q:
        raise ValueError(f"region_mask must have one entry per query position ({n_q}), got {inside.size}")
    inside = _flags(inside, "region_mask", n_q)
    allowed = ~(restricted[None, :] & ~inside[:, None])
    if outside_token_mask is not None:
        outside_only = _flags(outside_token_mask, "outside_token_mask", n_k)
        allowed &= ~(outside_only[None, :] & inside[:, None])
    guarded = np.flatnonzero(~allowed.any(axis=1))
    allowed[guarded, :] = True
    return allowed, tuple(int(i) for i in guarded)


def masked_cross_attention(Q, K, V, token_mask, region_mask, *, outside_token_mask=None) -> MaskedAttentionResult:
    """Cross-attention in which restricted tokens only reach positions inside the region
    (Eqs. 11.4-11.5, chapter 11).

    Q is (n_q x d_k), one row per image position; K (n_k x d_k) and V (n_k x d_v), one row per
    token. ``token_mask`` (length n_k, 0/1) marks the restricted tokens; ``region_mask`` holds
    one 0/1 entry per position (an (H, W) mask is read row by row). For a restricted token j
    and a position i outside the region, the logit is set to -inf before the softmax, so that
    token gets exactly zero weight there and the row's weight is shared by the other tokens.
    ``outside_token_mask`` optionally marks tokens restricted to the *outside* (PFB-Diff's
    ``words[1]``). A row in which every token would be masked is left unmasked and listed in
    ``guarded_rows`` (PFB-Diff fills with the most negative float instead of -inf, which makes
    such a row uniform).
    """
    Q = as_matrix(Q, "Q")
    K = as_matrix(K, "K", cols=Q.shape[1])
    V = as_matrix(V, "V", rows=K.shape[0])
    region = as_array(region_mask, "region_mask")
    allowed, guarded = _allowed(token_mask, region, outside_token_mask, Q.shape[0], K.shape[0])
    additive = np.where(allowed, 0.0, -np.inf)
    result = attention.scaled_dot_product_attention(Q, K, V, mask=additive)
    return MaskedAttentionResult(result, allowed, additive, guarded)


def exact_masked_attention_weights(Q, K, token_mask, region_mask) -> sympy.Matrix:
    """The weights of Eq. 11.5 in exact arithmetic: softmax over the allowed tokens only."""
    Q_num = as_matrix(Q, "Q")
    K_num = as_matrix(K, "K", cols=Q_num.shape[1])
    allowed, _ = _allowed(token_mask, as_array(region_mask, "region_mask"), None, Q_num.shape[0], K_num.shape[0])
    Qs, Ks = (sympy.Matrix(a.tolist()).applyfunc(lambda v: sympy.Rational(str(v))) for a in (Q_num, K_num))
    scaled = (Qs * Ks.T) / sympy.sqrt(Ks.shape[1])
    weights = sympy.zeros(*scaled.shape)
    for i in range(scaled.shape[0]):
        exps = [sympy.exp(scaled[i, j]) if allowed[i, j] else sympy.Integer(0) for j in range(scaled.shape[1])]
        total = sum(exps)
        for j in range(scaled.shape[1]):
            weights[i, j] = exps[j] / total
    return weights


# ---------------------------------------------------------------------------
# Eqs. 11.6-11.10: the toy edit
# ---------------------------------------------------------------------------

def toy_edit_gate(features, region_mask_level=None, *, masking: bool = False) -> np.ndarray:
    """g = A s: the attention weight each position gives to the edit tokens (Eq. 11.6).

    ``features`` is (S, S, 3): each position's colour is its query (W^Q = I). Keys are
    :data:`TOKEN_KEYS`, values the edit strengths :data:`EDIT_STRENGTHS`. With ``masking`` the
    restricted tokens ("blue", "hat") are masked outside ``region_mask_level`` (an (S, S) 0/1
    mask at this level). Returns an (S, S) map with entries in [0, 1].
    """
    f = as_array(features, "features")
    if f.ndim != 3 or f.shape[2] != 3 or f.shape[0] == 0:
        raise ValueError(f"features must have shape (S, S, 3), got shape {f.shape}")
    queries = f.reshape(-1, 3)
    values = np.asarray(EDIT_STRENGTHS)[:, None]
    if masking:
        if region_mask_level is None:
            raise ValueError("region_mask_level is needed when masking is on")
        region = as_array(region_mask_level, "region_mask_level", shape=f.shape[:2])
        result = masked_cross_attention(queries, TOKEN_KEYS, values, RESTRICTED_TOKENS, region)
        output = result.output
    else:
        output = attention.scaled_dot_product_attention(queries, TOKEN_KEYS, values).output
    return output.reshape(f.shape[:2])


@dataclass(frozen=True)
class RegionChange:
    """Eq. 11.10: mean absolute change inside and outside the region, and per pixel."""

    inside: float
    outside: float
    per_pixel: np.ndarray


def region_change(edited, original, mask) -> RegionChange:
    """Mean over pixels (and channels) of |edited - original|, inside (m = 1) and outside (m = 0).

    ``edited`` and ``original`` are (H, W) or (H, W, C); ``mask`` is an (H, W) 0/1 mask with at
    least one pixel on each side (Eq. 11.10).
    """
    original = as_array(original, "original")
    if original.ndim not in (2, 3) or original.size == 0:
        raise ValueError(f"original must have shape (H, W) or (H, W, C), got shape {original.shape}")
    edited = as_array(edited, "edited", shape=original.shape)
    m = _flags(as_array(mask, "mask", shape=original.shape[:2]).reshape(-1), "mask", original.shape[0] * original.shape[1])
    m = m.reshape(original.shape[:2])
    if m.all() or not m.any():
        raise ValueError("mask must have pixels both inside (1) and outside (0) the region")
    diff = np.abs(edited - original)
    per_pixel = diff.mean(axis=2) if diff.ndim == 3 else diff
    return RegionChange(float(per_pixel[m].mean()), float(per_pixel[~m].mean()), per_pixel)


@dataclass(frozen=True)
class ToyEditResult:
    """The toy edit of Eqs. 11.6-11.9 and its change numbers (Eq. 11.10)."""

    original: np.ndarray
    edited: np.ndarray
    mask: np.ndarray
    change: RegionChange
    gates: tuple
    blend_levels: tuple
    blended_steps: np.ndarray
    masking: bool

    @property
    def change_inside(self) -> float:
        return self.change.inside

    @property
    def change_outside(self) -> float:
        return self.change.outside


def toy_edit(*, T: int = 8, eta: float = 0.25, n_levels: int = 4, blend_levels=(), blend_steps: int | None = None,
             masking: bool = False, region: str = "hat", size: int = 32, image=None) -> ToyEditResult:
    """Run the toy edit "add a blue hat" for T steps (Eqs. 11.6-11.9, chapter 11).

    Starting from x_T = x_ref (the toy image, or ``image``), each step builds the feature pyramid
    (``n_levels`` levels), pulls every level toward :data:`HAT_COLOUR` by eta times the edit gate
    g_l, blends the levels in ``blend_levels`` with the reference pyramid during the first
    ``blend_steps`` steps (default: all T steps when ``blend_levels`` is not empty), and adds the
    average of the levels' changes, upsampled, to the image. ``masking`` restricts the tokens
    "blue" and "hat" to the region (mask thresholded at 1/2 at each level).
    """
    T = check_int(T, "T", minimum=1, maximum=MAX_STEPS)
    eta = check_probability(eta, "eta")
    if not isinstance(masking, (bool, np.bool_)):
        raise ValueError(f"masking must be True or False, got {masking!r}")
    size = check_int(size, "size", minimum=8, maximum=512)
    if image is None:
        x_ref = toy_image(size)
    else:
        x_ref = as_array(image, "image")
        if x_ref.ndim != 3 or x_ref.shape[2] != 3 or x_ref.shape[0] != x_ref.shape[1]:
            raise ValueError(f"image must have shape (S, S, 3), got shape {x_ref.shape}")
        size = x_ref.shape[0]
    m = region_mask(region, size)
    n_levels = check_int(n_levels, "n_levels", minimum=1, maximum=int(np.log2(size)) + 1)
    if size % (2 ** (n_levels - 1)):
        raise ValueError(f"n_levels = {n_levels} needs the size {size} to be divisible by {2 ** (n_levels - 1)}")
    levels = _check_levels(blend_levels, n_levels)
    if blend_steps is None:
        blend_steps = T
    schedule = blend_schedule(T, blend_steps)
    if not levels:
        schedule = np.zeros(T, dtype=bool)
    colour = np.asarray(HAT_COLOUR)
    strengths = np.asarray(EDIT_STRENGTHS)
    reference = feature_pyramid(x_ref, n_levels)
    soft_masks = [resize_mask(m, r.shape[:2])[..., None] for r in reference]
    # The additive attention mask M of each level (Eq. 11.5) does not change between steps.
    additive = []
    for r in reference:
        if masking:
            hard = resize_mask(m, r.shape[:2], threshold=0.5)
            allowed, _ = _allowed(RESTRICTED_TOKENS, hard, None, hard.size, len(TOKENS))
            additive.append(np.where(allowed, 0.0, -np.inf))
        else:
            additive.append(np.zeros((r.shape[0] * r.shape[1], len(TOKENS))))
    x = x_ref.copy()
    gates = ()
    for blend_now in schedule:
        # The loop repeats Eqs. 11.3-11.9 on arrays already validated above, so it calls the
        # unvalidated building blocks (same formulas as feature_pyramid, toy_edit_gate, blend_features).
        delta = np.zeros_like(x)
        gates = []
        for level in range(n_levels):
            f = _pool(x, 2 ** level)
            logits = f.reshape(-1, 3) @ TOKEN_KEYS.T / np.sqrt(3.0) + additive[level]
            g = (attention.softmax(logits) @ strengths).reshape(f.shape[:2])
            gates.append(g)
            edited = f + eta * g[..., None] * (colour - f)
            if blend_now and level in levels:
                edited = edited * soft_masks[level] + reference[level] * (1.0 - soft_masks[level])
            delta += _upsample(edited - f, 2 ** level)
        x = x + delta / n_levels
        gates = tuple(gates)
    change = region_change(x, x_ref, m)
    return ToyEditResult(x_ref, x, m, change, gates, levels, schedule, bool(masking))


# ---------------------------------------------------------------------------
# The four cases side by side, and which way the outside pixels moved (Eq. 11.11)
# ---------------------------------------------------------------------------

#: The four cases chapter 11 compares: (label, blend_levels, masking). Blending uses all four
#: levels of the default pyramid during every step.
TECHNIQUES = (
    ("none", (), False),
    ("blending", (0, 1, 2, 3), False),
    ("masking", (), True),
    ("both", (0, 1, 2, 3), True),
)


def compare_techniques(**kwargs) -> dict:
    """The toy edit under each of :data:`TECHNIQUES` (label -> :class:`ToyEditResult`).

    ``kwargs`` go to :func:`toy_edit` (e.g. ``T``, ``eta``, ``blend_steps``); they must not set
    ``blend_levels`` or ``masking``, which the four cases fix.
    """
    for name in ("blend_levels", "masking"):
        if name in kwargs:
            raise ValueError(f"{name} is fixed by each of the four cases; do not pass it")
    return {label: toy_edit(blend_levels=levels, masking=masking, **kwargs)
            for label, levels, masking in TECHNIQUES}


@dataclass(frozen=True)
class OutsideChangeSplit:
    """Eq. 11.11 over the pixels outside the region.

    ``toward``, ``away``: mean over outside pixels of max(a_p, 0) and max(-a_p, 0), in colour
    units; ``changed``: outside pixels whose change exceeds ``tol``; ``ring``: outside pixels
    that share a cell of a blended level with the region (soft mask above 0 there);
    ``changed_in_ring``: changed pixels that lie in that ring.
    """

    toward: float
    away: float
    changed: int
    ring: int
    changed_in_ring: int


def _ring(mask: np.ndarray, levels) -> np.ndarray:
    ring = np.zeros(mask.shape, dtype=bool)
    for level in levels:
        f = 2 ** level
        touched = resize_mask(mask, mask.shape[0] // f) > 0
        ring |= _upsample(touched, f).astype(bool)
    return ring & (mask == 0)


def outside_change_split(result: ToyEditResult, tol: float = 1e-9) -> OutsideChangeSplit:
    """Split the change outside the region into edit leaking out and pull-back (Eq. 11.11).

    a_p = (x_0 - x_ref)_p . (c - x_ref,p) / |c - x_ref,p| with c = :data:`HAT_COLOUR`; pixels
    already of the hat colour (|c - x_ref,p| = 0) count as neither.
    """
    if not isinstance(result, ToyEditResult):
        raise ValueError(f"result must be a ToyEditResult, got {type(result).__name__}")
    tol = check_probability(tol, "tol")
    toward_c = np.asarray(HAT_COLOUR) - result.original
    length = np.linalg.norm(toward_c, axis=2)
    safe = np.where(length > 0, length, 1.0)
    a = np.where(length > 0, np.einsum("ijk,ijk->ij", result.edited - result.original, toward_c) / safe, 0.0)
    outside = result.mask == 0
    changed = outside & (result.change.per_pixel > tol)
    ring = _ring(result.mask, result.blend_levels)
    return OutsideChangeSplit(float(np.maximum(a[outside], 0).mean()), float(np.maximum(-a[outside], 0).mean()),
                              int(changed.sum()), int(ring.sum()), int((changed & ring).sum()))


@dataclass(frozen=True)
class TechniqueRow:
    """One case of the comparison: Delta_out and Delta_in (Eq. 11.10), how many times smaller
    Delta_out is than with no technique (``outside_reduction``, inf when Delta_out = 0), the
    fraction of the no-technique Delta_in that remains (``inside_kept``), and the Eq. 11.11 split
    of the outside change."""

    label: str
    change_outside: float
    change_inside: float
    outside_reduction: float
    inside_kept: float
    split: OutsideChangeSplit


def technique_table(results: dict | None = None) -> tuple:
    """One :class:`TechniqueRow` per case of :func:`compare_techniques` (default: its defaults),
    relative to the case ``"none"``."""
    results = compare_techniques() if results is None else results
    if not isinstance(results, dict) or "none" not in results:
        raise ValueError("results must be a dict of ToyEditResult with a 'none' entry (see compare_techniques)")
    base = results["none"]
    rows = []
    for label, r in results.items():
        if not isinstance(r, ToyEditResult):
            raise ValueError(f"results[{label!r}] must be a ToyEditResult, got {type(r).__name__}")
        reduction = base.change_outside / r.change_outside if r.change_outside > 0 else float("inf")
        rows.append(TechniqueRow(label, r.change_outside, r.change_inside, reduction,
                                 r.change_inside / base.change_inside, outside_change_split(r)))
    return tuple(rows)
