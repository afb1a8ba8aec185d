"""Checkers for the exercises of chapter 11 (Progressive Feature Blending, Cross-Attention Masking).

Each ``check_blending_ex_<n>(answer)`` returns a :class:`Feedback`. Expected answers and the
typical wrong answers are computed with :mod:`mgie_lessons.blending`, never typed in.
"""

from __future__ import annotations

import numpy as np

from .. import attention, blending
from ..images import region_mask
from .feedback import Feedback, check_choice, check_function, check_number

__all__ = [
    "check_blending_ex_1",
    "check_blending_ex_2",
    "check_blending_ex_3",
    "check_blending_ex_4",
    "check_blending_ex_5",
    "SOLUTIONS",
    "EX2_CELL",
    "EX2_H",
    "EX2_H_REF",
]

#: Exercise 2: the cell (row, column) of the 8x8 level, and the edited and reference feature there.
EX2_CELL = (2, 5)
EX2_H = 0.8
EX2_H_REF = 0.4


# --- Exercise 1: where do the two techniques live? (multiple choice) ---------

def check_blending_ex_1(answer) -> Feedback:
    """Where in MGIE's released code is Progressive Feature Blending implemented? (a, b, c or d)."""
    hints = {
        "a": ("EditMapper (mgie_llava.py) is a transformer that maps the 8 [IMG] states to 77 rows of U; "
              "it has no mask and no reference features, so nothing of the form h*m + h_ref*(1-m)."),
        "b": ("The UNet reads U through plain cross-attention, as Stable Diffusion reads a text embedding; "
              "no logits are masked and no features are blended there."),
        "c": ("Right: MGIE's code is mask-free. Feature blending and attention masking come from PFB-Diff "
              "(Huang, Tu, Xu), whose code blends UNet features with a reference branch through a mask."),
        "d": ("MGIE concatenates E(V) with the noisy latent as extra input channels (cat[z_t, E(V)]); "
              "that is conditioning, not a masked blend of two feature maps."),
    }
    return check_choice(answer, "c", hints)


# --- Exercise 2: one blended cell, by hand ------------------------------------

def _ex2_numbers():
    mask = region_mask("hat")
    soft = blending.resize_mask(mask, 8)
    hard = blending.resize_mask(mask, 8, threshold=0.5)
    i, j = EX2_CELL
    return soft[i, j], hard[i, j]


def check_blending_ex_2(answer) -> Feedback:
    """The blended feature at cell (2, 5) of the 8x8 level, with h = 0.8 and h_ref = 0.4."""
    m, m_hard = _ex2_numbers()
    h, h_ref = np.array([[EX2_H]]), np.array([[EX2_H_REF]])
    expected = blending.blend_features(h, h_ref, [[m]])[0, 0]
    rows_only = blending.blend_features(h, h_ref, [[0.5]])[0, 0]      # 2 of 4 rows, forgot the columns
    cols_only = blending.blend_features(h, h_ref, [[0.25]])[0, 0]     # 1 of 4 columns, forgot the rows
    mistakes = [
        (blending.blend_features(h_ref, h, [[m]])[0, 0],
         "You swapped the roles of m and 1 - m: where m is small the reference h_ref should dominate."),
        (blending.blend_features(h, h_ref, [[m_hard]])[0, 0],
         "You used the thresholded mask (0 at this cell). Blending keeps the soft value from average pooling."),
        (rows_only, "The cell's 4x4 block has 2 hat rows but only 1 hat column: the fraction is 2*1/16, not 2/4."),
        (cols_only, "The block has 1 hat column but also only 2 hat rows: the fraction is 2*1/16, not 1/4."),
        (EX2_H, "That is h itself: it would need m = 1, but this cell is only partly inside the hat."),
    ]
    return check_number(answer, expected, mistakes=mistakes, what="the blended feature",
                        hint="Count the hat pixels in rows 8-11, columns 20-23 (the hat covers rows 4-9, columns "
                             "11-20), divide by 16 to get m, then use h*m + h_ref*(1 - m).")


# --- Exercise 3: write blend -----------------------------------------------------

def _blend_inputs(rng):
    shape = (int(rng.integers(2, 6)), int(rng.integers(2, 6)))
    channels = int(rng.integers(1, 4))
    h = rng.normal(size=shape + (channels,))
    h_ref = rng.normal(size=shape + (channels,))
    mask = rng.random(shape)
    return h, h_ref, mask


def _swapped_blend(h, h_ref, mask):
    return h * (1 - mask[..., None]) + h_ref * mask[..., None]


def _rounded_blend(h, h_ref, mask):
    hard = (mask > 0.5).astype(float)[..., None]
    return h * hard + h_ref * (1 - hard)


def _only_edited_part(h, h_ref, mask):
    return h * mask[..., None]


def check_blending_ex_3(student_function) -> Feedback:
    """``blend(h, h_ref, mask)`` for (H, W, C) features and an (H, W) mask, as Eq. 11.1."""
    return check_function(
        student_function, blending.blend_features, _blend_inputs,
        mistakes=[
            (_swapped_blend, "Your blend keeps h where m = 0: swap m and 1 - m (m = 1 means keep the edit)."),
            (_rounded_blend, "You rounded the mask to 0/1; blending uses the soft mask values."),
            (_only_edited_part, "You dropped the reference term h_ref * (1 - m)."),
        ],
        what="blend")


# --- Exercise 4: write the masked attention weights -----------------------------

def _masked_inputs(rng):
    n_q, n_k, d = int(rng.integers(2, 6)), int(rng.integers(2, 5)), int(rng.integers(1, 4))
    Q = rng.normal(size=(n_q, d))
    K = rng.normal(size=(n_k, d))
    tokens = rng.random(n_k) < 0.5
    tokens[0] = False          # one free token, so no row is ever fully masked
    tokens[-1] = True          # and at least one restricted token
    region = (rng.random(n_q) < 0.5).astype(float)
    region[0], region[-1] = 1.0, 0.0
    return Q, K, tokens.astype(float), region


def _reference_weights(Q, K, token_mask, region_mask):
    return blending.masked_cross_attention(Q, K, np.eye(K.shape[0]), token_mask, region_mask).weights


def _zeroed_after_softmax(Q, K, token_mask, region_mask):
    weights = attention.scaled_dot_product_attention(Q, K, np.eye(K.shape[0])).weights
    blocked = token_mask[None, :].astype(bool) & (region_mask[:, None] == 0)
    return np.where(blocked, 0.0, weights)


def _masked_inside(Q, K, token_mask, region_mask):
    return blending.masked_cross_attention(Q, K, np.eye(K.shape[0]), token_mask, 1 - region_mask).weights


def _no_sqrt(Q, K, token_mask, region_mask):
    return _reference_weights(Q * np.sqrt(Q.shape[1]), K, token_mask, region_mask)


def check_blending_ex_4(student_function) -> Feedback:
    """``masked_weights(Q, K, token_mask, region_mask)``: the weights of Eq. 11.5."""
    return check_function(
        student_function, _reference_weights, _masked_inputs,
        mistakes=[
            (_zeroed_after_softmax, "You set the weights to 0 after the softmax, so the rows no longer sum to 1. "
                                    "Put -inf in the logits before the softmax instead."),
            (_masked_inside, "You blocked the restricted tokens inside the region; they must be blocked outside "
                             "it (where region_mask is 0)."),
            (_no_sqrt, "The logits are Q K^T divided by sqrt(d_k) before the mask and the softmax."),
        ],
        what="masked_weights")


# --- Exercise 5: which single blended level removes the most of the edit? -------

def _single_level_inside_changes() -> dict[int, float]:
    return {level: blending.toy_edit(blend_levels=(level,)).change_inside for level in range(4)}


def check_blending_ex_5(answer) -> Feedback:
    """The level (0-3) which, blended alone (all steps, masking off), gives the smallest Delta_in."""
    changes = _single_level_inside_changes()
    expected = min(changes, key=changes.get)
    largest = max(changes, key=changes.get)
    try:
        level = int(str(answer).strip())
    except ValueError:
        return Feedback(False, f"Answer with a level number from 0 to 3, got {answer!r}.")
    if level == expected:
        return Feedback(True, f"Level {level}: Delta_in = {changes[level]:.4f}, the smallest of "
                              + ", ".join(f"{changes[k]:.4f}" for k in sorted(changes)) + ".")
    if level == largest:
        return Feedback(False, f"Level {level} keeps the most of the edit (Delta_in = {changes[level]:.4f}). "
                               "You are looking for the smallest Delta_in.")
    if level in changes:
        return Feedback(False, f"Level {level} gives Delta_in = {changes[level]:.4f}; another level gives less. "
                               "Look at how large the resized mask gets at each level inside the hat.")
    return Feedback(False, f"The toy has levels 0 to 3, got {answer!r}.")


def _solution_blend(h, h_ref, mask):
    m = np.asarray(mask)[..., None]
    return h * m + h_ref * (1 - m)


def _solution_masked_weights(Q, K, token_mask, region_mask):
    logits = Q @ K.T / np.sqrt(K.shape[1])
    blocked = (np.asarray(token_mask)[None, :] == 1) & (np.asarray(region_mask)[:, None] == 0)
    logits = np.where(blocked, -np.inf, logits)
    logits = logits - logits.max(axis=1, keepdims=True)
    weights = np.exp(logits)
    return weights / weights.sum(axis=1, keepdims=True)


def _solution_ex2() -> float:
    m, _ = _ex2_numbers()
    return float(blending.blend_features([[EX2_H]], [[EX2_H_REF]], [[m]])[0, 0])


def _solution_ex5() -> int:
    changes = _single_level_inside_changes()
    return min(changes, key=changes.get)


SOLUTIONS = {
    "blending-ex-1": "c",
    "blending-ex-2": _solution_ex2(),
    "blending-ex-3": _solution_blend,
    "blending-ex-4": _solution_masked_weights,
    "blending-ex-5": _solution_ex5(),
}
