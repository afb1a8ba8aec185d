"""Every chapter 11 solution passes its checker; typical mistakes get their specific hint."""

import numpy as np

from mgie_lessons import blending
from mgie_lessons.exercises import blending as ex


def test_ex1_wrong_letters_get_their_hints():
    assert "EditMapper" in ex.check_blending_ex_1("a").message
    assert "cat[z_t, E(V)]" in ex.check_blending_ex_1("d").message
    assert not ex.check_blending_ex_1("e").correct
    assert ex.check_blending_ex_1(" (C) ").correct


def test_ex2_by_hand_value_and_mistakes():
    # the cell's block (rows 8-11, columns 20-23) holds 2 hat rows x 1 hat column: m = 2/16
    m = 2 / 16
    assert ex.check_blending_ex_2(0.8 * m + 0.4 * (1 - m)).correct
    assert ex.check_blending_ex_2(0.45).correct
    assert "swapped" in ex.check_blending_ex_2(0.8 * (1 - m) + 0.4 * m).message
    assert "thresholded" in ex.check_blending_ex_2(0.4).message
    assert "not 2/4" in ex.check_blending_ex_2(0.8 * 0.5 + 0.4 * 0.5).message
    assert "not 1/4" in ex.check_blending_ex_2(0.8 * 0.25 + 0.4 * 0.75).message
    assert "That is h itself" in ex.check_blending_ex_2(0.8).message
    assert not ex.check_blending_ex_2("0.45 maybe").correct


def test_ex3_mistakes():
    assert "swap m and 1 - m" in ex.check_blending_ex_3(lambda h, r, m: h * (1 - m[..., None]) + r * m[..., None]).message
    assert "rounded" in ex.check_blending_ex_3(
        lambda h, r, m: h * (m > 0.5)[..., None] + r * (m <= 0.5)[..., None]).message
    assert "dropped the reference" in ex.check_blending_ex_3(lambda h, r, m: h * m[..., None]).message
    assert "raised" in ex.check_blending_ex_3(lambda h, r, m: h * m + r * (1 - m)).message


def _softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_ex4_mistakes():
    def after_softmax(Q, K, tokens, region):
        w = _softmax(Q @ K.T / np.sqrt(K.shape[1]))
        return np.where((tokens[None, :] == 1) & (region[:, None] == 0), 0.0, w)

    def inside(Q, K, tokens, region):
        logits = Q @ K.T / np.sqrt(K.shape[1])
        return _softmax(np.where((tokens[None, :] == 1) & (region[:, None] == 1), -np.inf, logits))

    def no_sqrt(Q, K, tokens, region):
        logits = Q @ K.T
        return _softmax(np.where((tokens[None, :] == 1) & (region[:, None] == 0), -np.inf, logits))

    assert "after the softmax" in ex.check_blending_ex_4(after_softmax).message
    assert "inside the region" in ex.check_blending_ex_4(inside).message
    assert "sqrt(d_k)" in ex.check_blending_ex_4(no_sqrt).message
    assert not ex.check_blending_ex_4("not a function").correct


def test_ex5_answer_is_the_level_with_the_smallest_inside_change():
    changes = [blending.toy_edit(blend_levels=(level,)).change_inside for level in range(4)]
    assert ex.check_blending_ex_5(int(np.argmin(changes))).correct
    assert "keeps the most" in ex.check_blending_ex_5(int(np.argmax(changes))).message
    middle = [level for level in range(4) if level not in (np.argmin(changes), np.argmax(changes))][0]
    assert "another level gives less" in ex.check_blending_ex_5(middle).message
    assert "levels 0 to 3" in ex.check_blending_ex_5(7).message
    assert "level number" in ex.check_blending_ex_5("top").message
