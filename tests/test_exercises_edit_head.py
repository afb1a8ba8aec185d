"""Every chapter 10 solution passes its checker; typical mistakes get their specific hint."""

import numpy as np

from mgie_lessons.exercises import edit_head as ex


def test_ex1_letters():
    assert "rounding only" in ex.check_edit_head_ex_1("b").message
    assert "77 learned queries" in ex.check_edit_head_ex_1("a").message
    assert "does not depend on their order" in ex.check_edit_head_ex_1("c").message
    assert "one letter" in ex.check_edit_head_ex_1("maybe").message


def test_ex2_layer_norm_by_hand_and_mistakes():
    x = np.array([1.0, 2.0, 3.0, 6.0])
    # mean 3, variance (4 + 1 + 0 + 9) / 4 = 3.5
    assert ex.check_edit_head_ex_2((x - 3) / np.sqrt(3.5 + 1e-5)).correct
    assert ex.check_edit_head_ex_2((x - 3) / np.sqrt(3.5)).correct          # eps is negligible here
    assert "unbiased" in ex.check_edit_head_ex_2((x - 3) / np.sqrt(14 / 3)).message
    assert "square root" in ex.check_edit_head_ex_2((x - 3) / 3.5).message
    assert "Subtract the mean" in ex.check_edit_head_ex_2(x / np.sqrt(3.5)).message
    assert "shape" in ex.check_edit_head_ex_2([1.0, 2.0]).message


def test_ex3_parameter_count_by_hand_and_mistakes():
    d, f = 512, 2048
    attention_block = 4 * d * d + 4 * d
    ffn_block = 2 * d * f + f + d
    assert ex.check_edit_head_ex_3(2 * attention_block + ffn_block + 3 * 2 * d).correct
    assert "weight matrices only" in ex.check_edit_head_ex_3(2 * 4 * d * d + 2 * d * f).message
    assert "two attention blocks" in ex.check_edit_head_ex_3(attention_block + ffn_block + 3 * 2 * d).message
    assert "encoder layer" in ex.check_edit_head_ex_3(attention_block + ffn_block + 2 * 2 * d).message
    assert "LayerNorms" in ex.check_edit_head_ex_3(2 * attention_block + ffn_block).message
    assert "output projection" in ex.check_edit_head_ex_3(2 * (3 * d * d + 3 * d) + ffn_block + 6 * d).message


def _softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _heads(Q, K, V, n_heads, divisor, axis=1):
    d_head = Q.shape[1] // n_heads
    out = []
    for h in range(n_heads):
        c = slice(h * d_head, (h + 1) * d_head)
        out.append(_softmax(Q[:, c] @ K[:, c].T / divisor(d_head, Q.shape[1]), axis) @ V[:, c])
    return np.hstack(out)


def test_ex4_mistakes():
    right = lambda Q, K, V, n: _heads(Q, K, V, n, lambda dh, d: np.sqrt(dh))          # noqa: E731
    by_d_model = lambda Q, K, V, n: _heads(Q, K, V, n, lambda dh, d: np.sqrt(d))      # noqa: E731
    one_head = lambda Q, K, V, n: _heads(Q, K, V, 1, lambda dh, d: np.sqrt(dh))       # noqa: E731
    by_column = lambda Q, K, V, n: _heads(Q, K, V, n, lambda dh, d: np.sqrt(dh), axis=0)  # noqa: E731
    assert ex.check_edit_head_ex_4(right).correct
    assert "sqrt(d_head)" in ex.check_edit_head_ex_4(by_d_model).message
    assert "one head over all the columns" in ex.check_edit_head_ex_4(one_head).message
    assert "along each row" in ex.check_edit_head_ex_4(by_column).message
    assert not ex.check_edit_head_ex_4(None).correct


def test_ex5_single_row_and_mistakes():
    assert ex.check_edit_head_ex_5(1).correct
    assert "1/77" in ex.check_edit_head_ex_5(1 / 77).message
    assert "not over the 64 positions" in ex.check_edit_head_ex_5(1 / 64).message
    assert not ex.check_edit_head_ex_5("all of it").correct
