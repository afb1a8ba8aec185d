"""Tests for mgie_lessons.toy_ops: channels-last convolution, pooling and upsampling."""

import numpy as np
import pytest

from mgie_lessons import autograd as ag
from mgie_lessons import toy_ops


def numeric_gradient(f, array, eps=1e-6):
    """Central finite differences of the scalar f() with respect to every entry of ``array`` (changed in place)."""
    grad = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        old = array[index]
        array[index] = old + eps
        plus = f()
        array[index] = old - eps
        minus = f()
        array[index] = old
        grad[index] = (plus - minus) / (2 * eps)
    return grad


@pytest.mark.parametrize("k", [1, 3, 5])
def test_conv2d_same_matches_autograd_conv2d(k):
    rng = np.random.default_rng(k)
    x = rng.standard_normal((2, 6, 5, 3))
    w = rng.standard_normal((k, k, 3, 4))
    b = rng.standard_normal(4)
    g = rng.standard_normal((2, 6, 5, 4))
    tx, tw, tb = (ag.Tensor(a, requires_grad=True) for a in (x, w, b))
    toy_ops.conv2d_same(tx, tw, tb).backward(g)
    rx, rw, rb = (ag.Tensor(a, requires_grad=True) for a in (x.transpose(0, 3, 1, 2), w.transpose(3, 2, 0, 1), b))
    reference = ag.conv2d(rx, rw, rb, padding=k // 2)
    reference.backward(g.transpose(0, 3, 1, 2))
    np.testing.assert_allclose(toy_ops.conv2d_same(x, w, b).data, reference.data.transpose(0, 2, 3, 1), atol=1e-12)
    np.testing.assert_allclose(tx.grad, rx.grad.transpose(0, 2, 3, 1), atol=1e-12)
    np.testing.assert_allclose(tw.grad, rw.grad.transpose(2, 3, 1, 0), atol=1e-12)
    np.testing.assert_allclose(tb.grad, rb.grad, atol=1e-12)


def test_conv2d_same_gradients_against_finite_differences():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 3, 2))
    w = rng.standard_normal((3, 3, 2, 3))
    b = rng.standard_normal(3)
    g = rng.standard_normal((2, 4, 3, 3))
    tx, tw, tb = (ag.Tensor(a, requires_grad=True) for a in (x, w, b))
    toy_ops.conv2d_same(tx, tw, tb).backward(g)
    loss = lambda: float(np.sum(toy_ops.conv2d_same(x, w, b).data * g))
    for array, tensor in ((x, tx), (w, tw), (b, tb)):
        np.testing.assert_allclose(tensor.grad, numeric_gradient(loss, array), rtol=1e-6, atol=1e-8)


def test_pool_and_upsample_against_autograd_and_finite_differences():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 4, 6, 3))
    for ours, theirs, out_shape in ((toy_ops.avg_pool2, ag.avg_pool2d, (2, 2, 3, 3)),
                                    (toy_ops.upsample2, ag.upsample_nearest, (2, 8, 12, 3))):
        g = rng.standard_normal(out_shape)
        tx = ag.Tensor(x, requires_grad=True)
        y = ours(tx)
        y.backward(g)
        rx = ag.Tensor(x.transpose(0, 3, 1, 2), requires_grad=True)
        reference = theirs(rx, 2)
        reference.backward(g.transpose(0, 3, 1, 2))
        np.testing.assert_allclose(y.data, reference.data.transpose(0, 2, 3, 1), atol=1e-12)
        np.testing.assert_allclose(tx.grad, rx.grad.transpose(0, 2, 3, 1), atol=1e-12)
        loss = lambda: float(np.sum(ours(x).data * g))
        np.testing.assert_allclose(tx.grad, numeric_gradient(loss, x), rtol=1e-6, atol=1e-8)


def test_bad_shapes_name_the_parameter():
    with pytest.raises(ValueError, match="x"):
        toy_ops.conv2d_same(np.zeros((4, 4, 3)), np.zeros((3, 3, 3, 2)))
    with pytest.raises(ValueError, match="weight"):
        toy_ops.conv2d_same(np.zeros((1, 4, 4, 3)), np.zeros((2, 2, 3, 2)))
    with pytest.raises(ValueError, match="weight"):
        toy_ops.conv2d_same(np.zeros((1, 4, 4, 3)), np.zeros((3, 3, 2, 2)))
    with pytest.raises(ValueError, match="bias"):
        toy_ops.conv2d_same(np.zeros((1, 4, 4, 3)), np.zeros((3, 3, 3, 2)), np.zeros(3))
    with pytest.raises(ValueError, match="x"):
        toy_ops.avg_pool2(np.zeros((1, 3, 4, 2)))
    with pytest.raises(ValueError, match="x"):
        toy_ops.upsample2(np.zeros((3, 4, 2)))


def test_without_gradients_the_convolution_gives_the_same_result_by_shifted_products():
    rng = np.random.default_rng(5)
    x, w, b = rng.standard_normal((2, 8, 8, 5)), rng.standard_normal((3, 3, 5, 4)), rng.standard_normal(4)
    with_graph = toy_ops.conv2d_same(ag.Tensor(x, requires_grad=True), w, b)
    with ag.no_grad():
        without = toy_ops.conv2d_same(ag.Tensor(x, requires_grad=True), w, b)
    assert with_graph.requires_grad and not without.requires_grad
    np.testing.assert_allclose(without.data, with_graph.data, rtol=1e-12, atol=1e-12)
