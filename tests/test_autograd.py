"""Tests for mgie_lessons.autograd (chapter 13).

Every operation's gradient is compared with central finite differences on random float64
inputs; hypothesis checks two properties of backward; a two-layer network is trained with Adam
to losses derived in closed form (numpy.linalg.lstsq); and chapter 2's attention and chapter
3's FFN, rebuilt from Tensor operations, give the numpy modules' numbers.
"""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from mgie_lessons import attention, ffn, pipeline, walkthrough, tokens
from mgie_lessons import autograd as ag
from mgie_lessons.autograd import Tensor

STEP = 1e-6          # central-difference step
FD_TOLERANCE = 1e-7  # relative to the gradient's size; central differences are good to ~1e-9


def finite_difference_check(function, *arrays, seed=0):
    """Gradients of L = sum(G * function(*tensors)) by backward and by central differences.

    G is a fixed random upstream gradient, so every entry of the output is exercised.
    Returns the worst relative error over all inputs.
    """
    rng = np.random.default_rng(seed)
    arrays = [np.asarray(a, dtype=float) for a in arrays]
    tensors = [Tensor(a, requires_grad=True) for a in arrays]
    out = function(*tensors)
    upstream = rng.standard_normal(out.shape)
    (out * upstream).sum().backward()

    def loss(values):
        return float(np.sum(function(*[Tensor(v) for v in values]).data * upstream))

    worst = 0.0
    for k, (tensor, base) in enumerate(zip(tensors, arrays)):
        numeric = np.zeros_like(base)
        for index in np.ndindex(base.shape):
            plus = [a.copy() for a in arrays]
            minus = [a.copy() for a in arrays]
            plus[k][index] += STEP
            minus[k][index] -= STEP
            numeric[index] = (loss(plus) - loss(minus)) / (2 * STEP)
        assert tensor.grad is not None and tensor.grad.shape == base.shape
        scale = max(1.0, float(np.max(np.abs(numeric))))
        worst = max(worst, float(np.max(np.abs(tensor.grad - numeric))) / scale)
    return worst


rng = np.random.default_rng(2024)


def r(*shape, low=None):
    """Random normal entries; with ``low``, entries kept at least ``low`` away from 0."""
    values = rng.standard_normal(shape)
    if low is not None:
        values = np.where(values >= 0, values + low, values - low)
    return values


def positive(*shape):
    return rng.uniform(0.5, 2.0, shape)


GRADIENT_CASES = {
    # binary operations, broadcasting on either side and ndarray / number operands
    "add same shape": (lambda a, b: a + b, [r(3, 4), r(3, 4)]),
    "add row": (lambda a, b: a + b, [r(3, 4), r(4)]),
    "add column + leading axis": (lambda a, b: a + b, [r(3, 1), r(2, 1, 4)]),
    "add number and array": (lambda a: 2.0 + a + np.arange(4.0), [r(3, 4)]),
    "sub broadcast": (lambda a, b: a - b, [r(1, 4), r(3, 1)]),
    "rsub": (lambda a: np.ones((2, 3)) - a, [r(3)]),
    "mul broadcast": (lambda a, b: a * b, [r(2, 3, 4), r(3, 1)]),
    "mul scalar tensor": (lambda a, b: a * b, [r(2, 3), r()]),
    "rmul": (lambda a: np.full((2, 1), 3.0) * a, [r(4)]),
    "div broadcast": (lambda a, b: a / b, [r(3, 4), positive(1, 4)]),
    "div leading axis": (lambda a, b: a / b, [r(4), positive(2, 3, 4)]),
    "rtruediv": (lambda a: 1.5 / a, [positive(2, 3)]),
    "neg": (lambda a: -a, [r(3, 2)]),
    "pow 2": (lambda a: a ** 2, [r(3, 2)]),
    "pow 3": (lambda a: a ** 3, [r(4)]),
    "pow 0.5": (lambda a: a ** 0.5, [positive(2, 3)]),
    "pow -1.5": (lambda a: a ** -1.5, [positive(5)]),
    "matmul 2-d": (lambda a, b: a @ b, [r(3, 4), r(4, 5)]),
    "matmul batch @ 2-d": (lambda a, b: a @ b, [r(2, 3, 4), r(4, 5)]),
    "matmul 2-d @ batch": (lambda a, b: a @ b, [r(3, 4), r(2, 4, 5)]),
    "matmul broadcast batches": (lambda a, b: a @ b, [r(2, 1, 3, 4), r(5, 4, 2)]),
    "matmul vector @ matrix": (lambda a, b: a @ b, [r(4), r(4, 5)]),
    "matmul matrix @ vector": (lambda a, b: a @ b, [r(3, 4), r(4)]),
    "matmul vector @ vector": (lambda a, b: a @ b, [r(4), r(4)]),
    "rmatmul": (lambda b: np.arange(6.0).reshape(2, 3) @ b, [r(3, 2)]),
    # entry by entry
    "exp": (lambda a: a.exp(), [r(3, 4)]),
    "log": (lambda a: a.log(), [positive(3, 4)]),
    "tanh": (lambda a: a.tanh(), [r(3, 4)]),
    "sigmoid": (lambda a: a.sigmoid(), [3 * r(3, 4)]),
    "relu": (lambda a: a.relu(), [r(3, 4, low=0.01)]),
    "gelu": (lambda a: a.gelu(), [2 * r(3, 5)]),
    # reductions and shapes
    "sum all": (lambda a: a.sum(), [r(3, 4)]),
    "sum axis": (lambda a: a.sum(axis=1), [r(2, 3, 4)]),
    "sum axes keepdims": (lambda a: a.sum(axis=(0, -1), keepdims=True), [r(2, 3, 4)]),
    "mean all": (lambda a: a.mean(), [r(3, 4)]),
    "mean axis keepdims": (lambda a: a.mean(axis=-1, keepdims=True), [r(2, 3, 4)]),
    "reshape": (lambda a: a.reshape(4, 6), [r(2, 3, 4)]),
    "reshape tuple and -1": (lambda a: a.reshape((-1, 2)), [r(2, 3, 4)]),
    "transpose axes": (lambda a: a.transpose(2, 0, 1), [r(2, 3, 4)]),
    "transpose reversed": (lambda a: a.transpose(), [r(2, 3, 4)]),
    "T": (lambda a: a.T, [r(3, 4)]),
    # indexing
    "index slice": (lambda a: a[1:, ::2], [r(3, 5)]),
    "index integer": (lambda a: a[1], [r(3, 5)]),
    "index negative step": (lambda a: a[::-1, 2:0:-1], [r(3, 5)]),
    "index ellipsis and None": (lambda a: a[..., 1, None], [r(2, 3, 4)]),
    "index integer array with repeats": (lambda a: a[np.array([0, 2, 0, 0, 1])], [r(3, 4)]),
    "index two integer arrays with repeats": (lambda a: a[np.array([0, 2, 0]), np.array([1, 1, 1])], [r(3, 4)]),
    "index array and slice": (lambda a: a[np.array([[1, 1], [0, 2]]), 1:3], [r(3, 4)]),
    "index boolean mask": (lambda a: a[np.array([True, False, True])], [r(3, 4)]),
    # fused functions
    "softmax last axis": (lambda a: ag.softmax(a), [r(3, 5)]),
    "softmax axis 0": (lambda a: ag.softmax(a, axis=0), [r(3, 5)]),
    "softmax 4-d": (lambda a: ag.softmax(a, axis=-1), [r(2, 2, 3, 3)]),
    "log_softmax": (lambda a: ag.log_softmax(a), [r(3, 5)]),
    "log_softmax axis 1": (lambda a: ag.log_softmax(a, axis=1), [r(2, 4, 3)]),
    "layer_norm": (lambda x, g, b: ag.layer_norm(x, g, b), [r(2, 3, 5), 1 + r(5), r(5)]),
    "layer_norm 1-d": (lambda x, g, b: ag.layer_norm(x, g, b, eps=1e-3), [r(4), r(4), r(4)]),
    "layer_norm without affine": (lambda x: ag.layer_norm(x, None, None), [r(3, 4)]),
    "cross_entropy": (lambda a: ag.cross_entropy(a, np.array([0, 2, 2, 4])), [r(4, 5)]),
    "cross_entropy 3-d": (lambda a: ag.cross_entropy(a, np.array([[0, 1, 1], [2, 0, 1]])), [r(2, 3, 3)]),
    "mse_loss": (lambda p, t: ag.mse_loss(p, t), [r(3, 4), r(3, 4)]),
    "concatenate axis 0": (lambda a, b, c: ag.concatenate([a, b, c]), [r(2, 3), r(1, 3), r(4, 3)]),
    "concatenate axis 1": (lambda a, b: ag.concatenate([a, b], axis=1), [r(3, 4), r(3, 2)]),
    "concatenate with array": (lambda a: ag.concatenate([a, np.ones((2, 2))], axis=-1), [r(2, 3)]),
    "embedding repeated ids": (lambda t: ag.embedding(t, np.array([[0, 1, 1], [3, 0, 0]])), [r(5, 3)]),
    "conv2d": (lambda x, w: ag.conv2d(x, w), [r(2, 3, 5, 5), r(4, 3, 3, 3)]),
    "conv2d bias stride 2 padding 1": (lambda x, w, b: ag.conv2d(x, w, b, stride=2, padding=1),
                                       [r(2, 3, 5, 6), r(4, 3, 3, 2), r(4)]),
    "conv2d stride 3 padding 2 1x1 output channel": (lambda x, w, b: ag.conv2d(x, w, b, stride=3, padding=2),
                                                     [r(1, 2, 4, 4), r(1, 2, 2, 3), r(1)]),
    "avg_pool2d 2": (lambda x: ag.avg_pool2d(x, 2), [r(2, 3, 4, 6)]),
    "avg_pool2d odd size": (lambda x: ag.avg_pool2d(x, 2), [r(1, 2, 5, 3)]),
    "avg_pool2d 3": (lambda x: ag.avg_pool2d(x, 3), [r(1, 2, 6, 7)]),
    "upsample_nearest 2": (lambda x: ag.upsample_nearest(x, 2), [r(2, 2, 3, 2)]),
    "upsample_nearest 3": (lambda x: ag.upsample_nearest(x, 3), [r(1, 2, 2, 3)]),
    # graphs with reuse
    "tensor used twice": (lambda a: a * a.tanh() + a, [r(3, 4)]),
    "shared intermediate": (lambda a, b: (lambda h: h @ h.T + h.sum(axis=0))(a @ b), [r(3, 4), r(4, 3)]),
    "split and rejoin": (lambda a: ag.concatenate([a[:, :2] * 2, a[:, 2:], a[:, 1:2]], axis=1), [r(3, 4)]),
}


@pytest.mark.parametrize("name", list(GRADIENT_CASES))
def test_gradient_matches_finite_differences(name):
    function, arrays = GRADIENT_CASES[name]
    assert finite_difference_check(function, *arrays) < FD_TOLERANCE


def test_softmax_with_causal_mask_has_zero_weight_and_gradient_above_the_diagonal():
    mask = attention.causal_mask(4)
    scores = r(4, 4)
    error = finite_difference_check(lambda s: ag.softmax(s + mask), scores)
    assert error < FD_TOLERANCE
    x = Tensor(scores, requires_grad=True)
    weights = ag.softmax(x + mask)
    np.testing.assert_allclose(weights.data, attention.softmax(scores + mask), atol=1e-15)
    (weights * r(4, 4)).sum().backward()
    assert np.all(x.grad[np.triu_indices(4, k=1)] == 0)


def test_fused_functions_agree_with_their_compositions():
    x = r(3, 5)
    gamma, beta = r(5), r(5)
    composed = lambda t: (t - t.mean(axis=-1, keepdims=True)) / (  # noqa: E731
        ((t - t.mean(axis=-1, keepdims=True)) ** 2).mean(axis=-1, keepdims=True) + 1e-5) ** 0.5 * gamma + beta
    np.testing.assert_allclose(ag.layer_norm(x, gamma, beta).data, composed(Tensor(x)).data, atol=1e-13)
    e = Tensor(x).exp()
    np.testing.assert_allclose(ag.softmax(x).data, (e / e.sum(axis=-1, keepdims=True)).data, atol=1e-15)
    np.testing.assert_allclose(ag.log_softmax(x).data, np.log(ag.softmax(x).data), atol=1e-14)
    targets = np.array([4, 0, 2])
    expected = -np.mean(ag.log_softmax(x).data[np.arange(3), targets])
    assert ag.cross_entropy(x, targets).item() == pytest.approx(expected, abs=1e-14)


def test_forward_values_of_the_nn_functions_by_hand():
    # conv2d: a 2x2 all-ones kernel sums each window; padding 1 adds a zero frame
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    y = ag.conv2d(x, np.ones((1, 1, 2, 2)), bias=[10.0]).data
    np.testing.assert_array_equal(y[0, 0], [[0 + 1 + 3 + 4 + 10, 1 + 2 + 4 + 5 + 10],
                                            [3 + 4 + 6 + 7 + 10, 4 + 5 + 7 + 8 + 10]])
    y = ag.conv2d(x, np.ones((1, 1, 2, 2)), padding=1, stride=2).data
    np.testing.assert_array_equal(y[0, 0], [[0, 1 + 2], [3 + 6, 4 + 5 + 7 + 8]])
    # cross-correlation, not flipped: the kernel's top-left weight meets the window's top-left pixel
    y = ag.conv2d(x, np.array([[[[1.0, 0.0], [0.0, 0.0]]]])).data
    np.testing.assert_array_equal(y[0, 0], [[0, 1], [3, 4]])
    np.testing.assert_array_equal(ag.avg_pool2d(np.arange(16.0).reshape(1, 1, 4, 4), 2).data[0, 0],
                                  [[2.5, 4.5], [10.5, 12.5]])
    np.testing.assert_array_equal(ag.upsample_nearest(np.array([[[[1.0, 2.0]]]]), 2).data[0, 0],
                                  [[1, 1, 2, 2], [1, 1, 2, 2]])
    np.testing.assert_array_equal(ag.embedding([[1.0, 2.0], [3.0, 4.0]], [1, 1, 0]).data, [[3, 4], [3, 4], [1, 2]])
    gelu = Tensor([-1.0, 0.0, 1.0]).gelu().data
    c = math.sqrt(2 / math.pi)
    np.testing.assert_allclose(gelu, [-0.5 * (1 + math.tanh(c * (-1 - 0.044715))), 0.0,
                                      0.5 * (1 + math.tanh(c * (1 + 0.044715)))], atol=1e-15)
    np.testing.assert_allclose(Tensor([-800.0, 0.0, 800.0]).sigmoid().data, [0.0, 0.5, 1.0])


def test_conv2d_equals_a_direct_sum_over_the_kernel():
    x, w, b = r(2, 3, 6, 5), r(4, 3, 3, 2), r(4)
    stride, padding = 2, 1
    out = ag.conv2d(x, w, b, stride=stride, padding=padding).data
    x_pad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho, wo = (6 + 2 - 3) // 2 + 1, (5 + 2 - 2) // 2 + 1
    assert out.shape == (2, 4, ho, wo)
    for i in range(ho):
        for j in range(wo):
            window = x_pad[:, :, stride * i:stride * i + 3, stride * j:stride * j + 2]
            np.testing.assert_allclose(out[:, :, i, j], np.einsum("ncpq,ocpq->no", window, w) + b, atol=1e-13)


# --- backward mechanics -----------------------------------------------------------------------

def test_leaf_gradients_accumulate_until_zero_grad():
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x * x).sum().backward()
    (3 * x).sum().backward()
    np.testing.assert_array_equal(x.grad, 2 * np.array([1.0, 2.0, 3.0]) + 3)
    x.zero_grad()
    assert x.grad is None
    x.sum().backward()
    np.testing.assert_array_equal(x.grad, [1, 1, 1])


def test_intermediate_gradients_are_kept_and_refreshed_per_backward():
    x = Tensor([1.0, -2.0], requires_grad=True)
    h = x * 3
    loss = (h * h).sum()
    loss.backward()
    np.testing.assert_array_equal(h.grad, 2 * h.data)   # dL/dh = 2h, visible for a hidden tensor
    loss.backward()                                     # same graph again: h.grad is not doubled
    np.testing.assert_array_equal(h.grad, 2 * h.data)
    np.testing.assert_array_equal(x.grad, 2 * (3 * 2 * h.data))


def test_gradient_arrays_are_never_shared_and_modified():
    a = Tensor(r(2, 3), requires_grad=True)
    b = Tensor(r(2, 3), requires_grad=True)
    s = a + b                # the upstream gradient reaches a and b as one array
    loss = (s * 2).sum() + a.sum()
    loss.backward()
    np.testing.assert_array_equal(b.grad, np.full((2, 3), 2.0))
    np.testing.assert_array_equal(a.grad, np.full((2, 3), 3.0))
    a.grad += 100            # an optimiser may update a leaf's gradient in place
    np.testing.assert_array_equal(b.grad, np.full((2, 3), 2.0))


def test_backward_with_explicit_upstream_gradient():
    x = Tensor(r(2, 3), requires_grad=True)
    upstream = r(2, 3)
    x.exp().backward(upstream)
    np.testing.assert_allclose(x.grad, upstream * np.exp(x.data))


def test_deep_graph_does_not_hit_the_recursion_limit():
    x = Tensor(np.array(0.5), requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0001 + 0.0
    y.backward()
    assert x.grad == pytest.approx(1.0001 ** 5000, rel=1e-10)


def test_no_grad_records_no_graph():
    w = Tensor(r(3, 3), requires_grad=True)
    with ag.no_grad():
        assert not ag.is_grad_enabled()
        y = (w @ w).tanh().sum()
    assert ag.is_grad_enabled()
    assert not y.requires_grad and y._parents == ()
    with pytest.raises(ValueError, match="requires a gradient"):
        y.backward()
    assert (w @ w).requires_grad


def test_constants_need_no_gradient_and_get_none():
    w = Tensor(r(2, 2), requires_grad=True)
    c = Tensor(r(2, 2))
    (w * c).sum().backward()
    assert c.grad is None
    np.testing.assert_array_equal(w.grad, c.data)


def test_tensor_copies_its_data_and_numpy_defers_to_tensor():
    source = np.array([1.0, 2.0])
    t = Tensor(source, requires_grad=True)
    ag.SGD([t], lr=1.0).step()   # no gradient yet: nothing moves
    t.sum().backward()
    ag.SGD([t], lr=1.0).step()
    np.testing.assert_array_equal(source, [1.0, 2.0])   # the caller's array is untouched
    np.testing.assert_array_equal(t.data, [0.0, 1.0])
    mixed = np.array([1.0, 1.0]) + t                  # ndarray + Tensor is a Tensor
    assert isinstance(mixed, Tensor) and isinstance(np.ones(2) @ t, Tensor)
    assert t.data.dtype == np.float64 and Tensor([1, 2]).data.dtype == np.float64
    assert Tensor(3).shape == () and Tensor(3).item() == 3.0
    assert "requires_grad=True" in repr(t)


# --- hypothesis properties ----------------------------------------------------------------------

finite = st.floats(min_value=-3, max_value=3, allow_nan=False, allow_infinity=False)


@given(arrays(np.float64, array_shapes(min_dims=0, max_dims=4, max_side=4), elements=finite))
def test_gradient_of_a_sum_is_ones(values):
    x = Tensor(values, requires_grad=True)
    x.sum().backward()
    np.testing.assert_array_equal(x.grad, np.ones_like(values))
    x.zero_grad()
    (x.reshape(-1).sum() + x.transpose().mean() * x.size).backward()   # same sum, other routes
    np.testing.assert_allclose(x.grad, 2 * np.ones_like(values), rtol=1e-12)


def _block(x, w, gamma, beta):
    """A small composite: layer norm, matmul, GELU, softmax (what a transformer does)."""
    return ag.softmax(ag.layer_norm(x, gamma, beta) @ w).gelu()


@given(st.integers(0, 2 ** 32 - 1), finite, finite)
def test_backward_is_linear_in_the_upstream_gradient(seed, a, b):
    local = np.random.default_rng(seed)
    x, w, gamma, beta = local.standard_normal((3, 4)), local.standard_normal((4, 5)), \
        local.standard_normal(4), local.standard_normal(4)
    g1, g2 = local.standard_normal((3, 5)), local.standard_normal((3, 5))

    def gradients(upstream):
        tensors = [Tensor(v, requires_grad=True) for v in (x, w, gamma, beta)]
        _block(*tensors).backward(upstream)
        return [t.grad for t in tensors]

    combined = gradients(a * g1 + b * g2)
    for together, first, second in zip(combined, gradients(g1), gradients(g2)):
        np.testing.assert_allclose(together, a * first + b * second, rtol=1e-9, atol=1e-12)


# --- training: a two-layer network with Adam, against closed-form least squares -----------------

def _readout_optimum(features, y):
    """The smallest mean squared error of any linear readout [features, 1] c (numpy.linalg.lstsq)."""
    design = np.hstack([features, np.ones((len(features), 1))])
    coefficients, *_ = np.linalg.lstsq(design, y, rcond=None)
    return float(np.mean((design @ coefficients - y) ** 2))


def test_two_layer_network_trained_with_adam_beats_derived_least_squares_losses():
    local = np.random.default_rng(0)
    X = local.uniform(-1.5, 1.5, (64, 2))
    y = (np.sin(2 * X[:, 0]) + X[:, 0] * X[:, 1])[:, None]
    W1 = Tensor(local.standard_normal((2, 16)), requires_grad=True)
    b1 = Tensor(np.zeros(16), requires_grad=True)
    W2 = Tensor(0.1 * local.standard_normal((16, 1)), requires_grad=True)
    b2 = Tensor(np.zeros(1), requires_grad=True)

    def hidden():
        return (X @ W1 + b1).tanh()

    best_linear = _readout_optimum(X, y)                   # the best straight-line fit
    best_on_initial_features = _readout_optimum(hidden().data, y)
    optimiser = ag.Adam([W1, b1, W2, b2], lr=0.02)
    losses = []
    for _ in range(2000):
        optimiser.zero_grad()
        loss = ag.mse_loss(hidden() @ W2 + b2, y)
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    with ag.no_grad():
        final = ag.mse_loss(hidden() @ W2 + b2, y).item()
    best_on_final_features = _readout_optimum(hidden().data, y)
    # training the first layer helped: no readout of the initial random features fits this well,
    # nor does any linear model of X
    assert final < best_on_initial_features
    assert final < best_linear
    # and Adam brought the readout close to its closed-form optimum for the learned features
    assert best_on_final_features <= final <= 1.1 * best_on_final_features
    assert losses[-1] < losses[0]


def test_sgd_step_by_hand():
    w = Tensor([1.0, -2.0], requires_grad=True)
    optimiser = ag.SGD([w], lr=0.1)
    (w * w).sum().backward()            # dL/dw = 2w
    optimiser.step()
    np.testing.assert_allclose(w.data, [1.0 - 0.2, -2.0 + 0.4])
    optimiser.zero_grad()
    assert w.grad is None


def test_adam_steps_by_hand():
    w = Tensor([1.0, -2.0, 0.0], requires_grad=True)
    optimiser = ag.Adam([w], lr=0.1, betas=(0.9, 0.99), eps=1e-8)
    grads = []
    m = v = np.zeros(3)
    expected = w.data.copy()
    for t in range(1, 4):
        optimiser.zero_grad()
        (w * w * np.array([1.0, 3.0, 1.0])).sum().backward()
        g = w.grad.copy()
        grads.append(g)
        optimiser.step()
        m = 0.9 * m + 0.1 * g
        v = 0.99 * v + 0.01 * g * g
        expected = expected - 0.1 * (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.99 ** t)) + 1e-8)
        np.testing.assert_allclose(w.data, expected, rtol=1e-14)
    # a parameter whose gradient stays 0 never moves (m = v = 0, so the step is 0 / eps)
    assert all(g[2] == 0.0 for g in grads) and w.data[2] == 0.0


def test_adam_first_step_is_lr_times_sign():
    w = Tensor([3.0, -0.001], requires_grad=True)
    (w * w).sum().backward()
    ag.Adam([w], lr=0.05, eps=0.0).step()
    np.testing.assert_allclose(w.data, [3.0 - 0.05, -0.001 + 0.05], rtol=1e-12)


# --- the book's own forward passes, rebuilt from Tensor operations -----------------------------

def _seed_embedding():
    _, X = tokens.embed(walkthrough.INSTRUCTION)
    return X


@pytest.mark.parametrize("causal", [False, True])
def test_chapter2_attention_from_tensor_operations(causal):
    X = _seed_embedding()
    reference = attention.self_attention(X, walkthrough.W_Q, walkthrough.W_K, walkthrough.W_V, causal=causal)
    x = Tensor(X)
    W_q, W_k, W_v = (Tensor(w, requires_grad=True) for w in (walkthrough.W_Q, walkthrough.W_K, walkthrough.W_V))
    Q, K, V = x @ W_q, x @ W_k, x @ W_v                                  # Eq. 2.1
    S = Q @ K.T                                                          # Eq. 2.2
    S_scaled = S / math.sqrt(K.shape[1])                                 # Eq. 2.3
    A = ag.softmax(S_scaled + attention.causal_mask(len(X)) if causal else S_scaled)   # Eqs. 2.4, 2.6
    H = A @ V                                                            # Eq. 2.5
    for ours, theirs in ((Q, reference.queries), (K, reference.keys), (V, reference.values),
                         (S, reference.scores), (S_scaled, reference.scaled_scores),
                         (A, reference.weights), (H, reference.output)):
        np.testing.assert_allclose(ours.data, theirs, rtol=1e-14, atol=1e-15)
    # and the gradient of the attention output reaches W^Q, W^K, W^V correctly
    error = finite_difference_check(
        lambda wq, wk, wv: ag.softmax((x @ wq) @ (x @ wk).T / math.sqrt(2)
                                      + (attention.causal_mask(len(X)) if causal else 0.0)) @ (x @ wv),
        np.asarray(walkthrough.W_Q), np.asarray(walkthrough.W_K), np.asarray(walkthrough.W_V))
    assert error < FD_TOLERANCE


@pytest.mark.parametrize("source", pipeline.FFN_INPUT_SOURCES)
def test_chapter3_ffn_from_tensor_operations(source):
    H = pipeline.seed_ffn_input(source)
    reference = ffn.feed_forward(H, walkthrough.W1, walkthrough.B1, walkthrough.W2, walkthrough.B2)
    W1, b1, W2, b2 = (Tensor(v, requires_grad=True) for v in (walkthrough.W1, walkthrough.B1, walkthrough.W2, walkthrough.B2))
    P = Tensor(H) @ W1 + b1                  # Eq. 3.2
    Z = P.relu()                             # Eqs. 3.3-3.4
    F = Z @ W2 + b2                          # Eq. 3.5
    np.testing.assert_allclose(P.data, reference.pre_activation, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(Z.data, reference.hidden, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(F.data, reference.output, rtol=1e-14, atol=1e-15)


def test_chapter3_ffn_with_negative_pre_activations_and_swiglu():
    H, W1, b1, W2, b2 = r(6, 3), r(3, 5), r(5), r(5, 3), r(3)
    reference = ffn.feed_forward(H, W1, b1, W2, b2)
    assert np.any(reference.pre_activation < 0)          # ReLU really zeroes something here
    F = (Tensor(H) @ W1 + b1).relu() @ W2 + b2
    np.testing.assert_allclose(F.data, reference.output, rtol=1e-13, atol=1e-14)
    W_gate, W_up, W_down = r(3, 4), r(3, 4), r(4, 3)
    swiglu = ffn.swiglu_feed_forward(H, W_gate, W_up, W_down)
    gate = Tensor(H) @ W_gate
    ours = (gate * gate.sigmoid() * (Tensor(H) @ W_up)) @ W_down     # Eq. 3.8, SiLU(x) = x sigma(x)
    np.testing.assert_allclose(ours.data, swiglu.output, rtol=1e-13, atol=1e-14)
    assert finite_difference_check(lambda h, w1, w2: (h @ w1 + b1).relu() @ w2 + b2,
                                   H, W1 + 0.0, W2) < FD_TOLERANCE


# --- bad input: ValueError naming the parameter -------------------------------------------------

BAD_INPUTS = {
    "NaN in data": (lambda: Tensor([1.0, float("nan")]), "data"),
    "text as data": (lambda: Tensor("abc"), "data"),
    "requires_grad not a bool": (lambda: Tensor([1.0], requires_grad="yes"), "requires_grad"),
    "NaN operand": (lambda: Tensor([1.0]) + np.array([np.nan]), "other"),
    "shapes that do not broadcast": (lambda: Tensor(np.ones((2, 3))) + np.ones((4,)), "other"),
    "mul shapes": (lambda: Tensor(np.ones((2, 3))) * Tensor(np.ones((3, 2))), "other"),
    "matmul inner sizes": (lambda: Tensor(np.ones((2, 3))) @ np.ones((2, 3)), "other"),
    "matmul batch axes": (lambda: Tensor(np.ones((2, 2, 3))) @ np.ones((3, 3, 4)), "other"),
    "matmul of a number": (lambda: Tensor(2.0) @ np.ones(3), "@"),
    "tensor exponent": (lambda: Tensor([1.0]) ** Tensor(2.0), "exponent"),
    "infinite exponent": (lambda: Tensor([1.0]) ** float("inf"), "exponent"),
    "reshape size": (lambda: Tensor(np.ones(6)).reshape(4, 2), "shape"),
    "transpose axes": (lambda: Tensor(np.ones((2, 3))).transpose(0, 0), "axes"),
    "sum axis": (lambda: Tensor(np.ones((2, 3))).sum(axis=2), "axis"),
    "mean axis type": (lambda: Tensor(np.ones((2, 3))).mean(axis="rows"), "axis"),
    "index out of range": (lambda: Tensor(np.ones(3))[np.array([5])], "index"),
    "item of a vector": (lambda: Tensor(np.ones(3)).item(), "item"),
    "backward on a non-scalar": (lambda: (Tensor(np.ones(3), requires_grad=True) * 2).backward(), "grad"),
    "backward grad shape": (lambda: (Tensor(np.ones(3), requires_grad=True) * 2).backward(np.ones(2)), "grad"),
    "backward grad NaN": (lambda: (Tensor(np.ones(2), requires_grad=True) * 2).backward([1.0, np.nan]), "grad"),
    "backward without parameters": (lambda: Tensor(1.0).backward(), "requires"),
    "layer_norm gamma": (lambda: ag.layer_norm(np.ones((2, 3)), np.ones(2), np.zeros(3)), "gamma"),
    "layer_norm beta": (lambda: ag.layer_norm(np.ones((2, 3)), np.ones(3), np.zeros((1, 3))), "beta"),
    "layer_norm eps": (lambda: ag.layer_norm(np.ones((2, 3)), None, None, eps=0), "eps"),
    "layer_norm NaN x": (lambda: ag.layer_norm([[np.nan, 1.0]], None, None), "x"),
    "softmax NaN x": (lambda: ag.softmax([np.nan, 1.0]), "x"),
    "cross_entropy targets shape": (lambda: ag.cross_entropy(np.ones((3, 4)), [0, 1]), "targets"),
    "cross_entropy targets range": (lambda: ag.cross_entropy(np.ones((2, 4)), [0, 4]), "targets"),
    "cross_entropy targets fractional": (lambda: ag.cross_entropy(np.ones((2, 4)), [0.5, 1]), "targets"),
    "cross_entropy negative target": (lambda: ag.cross_entropy(np.ones((2, 4)), [-1, 1]), "targets"),
    "mse_loss shapes": (lambda: ag.mse_loss(np.ones((2, 3)), np.ones(3)), "target"),
    "mse_loss NaN pred": (lambda: ag.mse_loss([np.nan], [1.0]), "pred"),
    "concatenate empty": (lambda: ag.concatenate([]), "tensors"),
    "concatenate shapes": (lambda: ag.concatenate([np.ones((2, 3)), np.ones((2, 4))]), "tensors"),
    "embedding ids range": (lambda: ag.embedding(np.ones((4, 2)), [0, 4]), "ids"),
    "embedding table shape": (lambda: ag.embedding(np.ones(4), [0]), "table"),
    "conv2d x shape": (lambda: ag.conv2d(np.ones((3, 5, 5)), np.ones((1, 3, 2, 2))), "x"),
    "conv2d channels": (lambda: ag.conv2d(np.ones((1, 3, 5, 5)), np.ones((2, 2, 3, 3))), "weight"),
    "conv2d bias": (lambda: ag.conv2d(np.ones((1, 3, 5, 5)), np.ones((2, 3, 3, 3)), bias=np.ones(3)), "bias"),
    "conv2d stride": (lambda: ag.conv2d(np.ones((1, 1, 5, 5)), np.ones((1, 1, 3, 3)), stride=0), "stride"),
    "conv2d padding": (lambda: ag.conv2d(np.ones((1, 1, 5, 5)), np.ones((1, 1, 3, 3)), padding=-1), "padding"),
    "conv2d kernel too big": (lambda: ag.conv2d(np.ones((1, 1, 2, 2)), np.ones((1, 1, 3, 3))), "weight"),
    "avg_pool2d kernel": (lambda: ag.avg_pool2d(np.ones((1, 1, 3, 3)), 4), "kernel_size"),
    "avg_pool2d x shape": (lambda: ag.avg_pool2d(np.ones((4, 4)), 2), "x"),
    "upsample factor": (lambda: ag.upsample_nearest(np.ones((1, 1, 2, 2)), 0), "scale_factor"),
    "upsample x shape": (lambda: ag.upsample_nearest(np.ones((2, 2)), 2), "x"),
    "optimiser without params": (lambda: ag.SGD([], lr=0.1), "params"),
    "optimiser constant param": (lambda: ag.SGD([Tensor(1.0)], lr=0.1), "params"),
    "optimiser lr": (lambda: ag.Adam([Tensor(1.0, requires_grad=True)], lr=0), "lr"),
    "optimiser lr NaN": (lambda: ag.SGD([Tensor(1.0, requires_grad=True)], lr=float("nan")), "lr"),
    "adam betas": (lambda: ag.Adam([Tensor(1.0, requires_grad=True)], lr=0.1, betas=(0.9, 1.0)), "betas"),
    "adam eps": (lambda: ag.Adam([Tensor(1.0, requires_grad=True)], lr=0.1, eps=-1), "eps"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_raises_value_error_naming_the_parameter(case):
    make, name = BAD_INPUTS[case]
    with pytest.raises(ValueError, match=name):
        make()


# --- the benchmark tool (tools/bench_autograd.py) runs and its three blocks agree ---------------

def test_benchmark_tool_runs_and_its_implementations_agree(tmp_path):
    import importlib.util
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "tools" / "bench_autograd.py"
    spec = importlib.util.spec_from_file_location("bench_autograd", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "bench.json"
    assert bench.main(["--runs", "1", "--warmup", "0", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["agreement"]["autograd_vs_numpy_output"] < 1e-12
    assert report["results"]["autograd forward+backward"]["wall_ms"] > 0
    # the block's gradients match a central difference along one random direction of all parameters
    x, params, upstream = bench.make_inputs()
    mask = bench.causal_mask(x.shape[1])
    tensors = {name: Tensor(value, requires_grad=True) for name, value in params.items()}
    bench.autograd_step(x, tensors, mask, upstream)
    direction = {name: np.random.default_rng(1).standard_normal(value.shape) for name, value in params.items()}
    predicted = sum(float(np.sum(tensors[name].grad * direction[name])) for name in params)

    def loss(sign):
        moved = {name: value + sign * STEP * direction[name] for name, value in params.items()}
        return float(np.sum(bench.numpy_block(x, moved, mask) * upstream))
    assert (loss(1) - loss(-1)) / (2 * STEP) == pytest.approx(predicted, rel=1e-6)


def test_every_result_names_the_operation_that_made_it():
    x = Tensor([[1.0, -2.0], [0.5, 3.0]], requires_grad=True)
    assert x.op == ""
    assert (x + 1).op == "+" and (x @ x).op == "@" and (x ** 2).op == "power 2"
    assert ag.softmax(x).op == "softmax" and x.relu().op == "relu" and x[0].op == "index"
