"""Chapter 13: a small reverse-mode automatic differentiation over numpy arrays.

A :class:`Tensor` holds an array ``data`` and, after :meth:`Tensor.backward`, the gradient
``grad`` of a scalar loss L with respect to it (same shape as ``data``). Every operation
returns a new Tensor that remembers its inputs (its *parents*) and a small function,
``_backward``, that turns the gradient of L with respect to the output into gradients with
respect to the inputs. That function is written right beside the forward computation, with
the equation in the docstring, so each rule can be read and checked on its own.

Notation used in the docstrings: for an operation Y = f(X), G = dL/dY is the upstream
gradient (same shape as Y; the chapter writes it nabla_Y) and dL/dX is what the rule adds to
X's gradient. Products of arrays written without a symbol are matrix products; ``*`` is
entry-by-entry; ``1`` is a vector of ones. Equation numbers 13.x are chapter 13's (see
:mod:`mgie_lessons.learning`). Chain rule on a computational graph (Eq. 13.1):

    dL/dX = sum over the operations Y_k that use X of  (dY_k/dX)^T dL/dY_k

so a tensor used twice receives the sum of two contributions ("gradients accumulate").

:meth:`Tensor.backward` sorts the graph in topological order (iteratively, so very deep graphs
do not hit Python's recursion limit), sets dL/dL = 1 and applies the ``_backward`` rules from
the loss back to the leaves. Leaves (tensors you created) accumulate gradients across calls,
as in PyTorch; call :meth:`Tensor.zero_grad` or an optimiser's ``zero_grad()`` between steps.
Intermediate tensors keep the gradient of the latest backward pass, so a chapter can show
dL/dY for a hidden Y too.

Broadcasting: numpy stretches a (1 x d) bias over n rows; the backward rule then sums the
gradient over the stretched axes (Eq. 13.2), see :func:`unbroadcast`.

Everything is float64 and vectorised: no Python loop runs over entries (``conv2d``'s
backward loops over the kh * kw kernel offsets only). Inside ``with no_grad():`` no graph is
recorded, which is how inference is run.
"""

from __future__ import annotations

import contextlib
import math
import numbers

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = [
    "Tensor",
    "no_grad",
    "is_grad_enabled",
    "unbroadcast",
    "softmax",
    "log_softmax",
    "layer_norm",
    "cross_entropy",
    "mse_loss",
    "concatenate",
    "embedding",
    "conv2d",
    "avg_pool2d",
    "upsample_nearest",
    "SGD",
    "Adam",
]

_GRAD_ENABLED = True


@contextlib.contextmanager
def no_grad():
    """Inside ``with no_grad():`` operations record no graph (inference: faster, less memory).

    Results made there have ``requires_grad=False`` and no parents, so ``backward`` cannot
    reach through them.
    """
    global _GRAD_ENABLED
    previous, _GRAD_ENABLED = _GRAD_ENABLED, False
    try:
        yield
    finally:
        _GRAD_ENABLED = previous


def is_grad_enabled() -> bool:
    """True unless inside :func:`no_grad`."""
    return _GRAD_ENABLED


def _float_array(value, name: str, copy: bool = False) -> np.ndarray:
    """``value`` as a float64 array, or ValueError naming ``name`` (NaN is rejected)."""
    if isinstance(value, Tensor):
        return value.data.copy() if copy else value.data
    if isinstance(value, str):
        raise ValueError(f"{name} must be numeric, got the text {value!r}")
    try:
        array = np.array(value, dtype=np.float64, copy=copy or None)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be numeric (an array of numbers); could not read it: {error}") from None
    if array.size and np.isnan(array).any():
        raise ValueError(f"{name} contains NaN; every entry must be a number")
    return array


def _tensor(value, name: str) -> "Tensor":
    """``value`` itself if it is a Tensor, else a constant Tensor (checked, named ``name``)."""
    if isinstance(value, Tensor):
        return value
    constant = Tensor.__new__(Tensor)  # no copy: a constant is never updated in place
    constant.data, constant.grad, constant.requires_grad = _float_array(value, name), None, False
    constant._parents, constant._backward, constant._own_grad = (), None, None
    constant.op = ""
    return constant


def _power(x: np.ndarray, p: float) -> np.ndarray:
    """x ** p; squares and cubes by multiplying (numpy's general power is ~50x slower for 3)."""
    if p == 2.0:
        return x * x
    if p == 3.0:
        return x * x * x
    return x ** p


def _is_basic_index(index) -> bool:
    """True for numpy "basic" indexing (ints, slices, ..., None): it never selects an entry twice."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (slice, int, np.integer)) for p in parts)


def unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum ``grad`` over the axes numpy broadcasting stretched, so it gets ``shape`` back.

    If X of shape ``shape`` was broadcast to Y, each entry of X was used once per copy, so
    dL/dX = sum of G over the copied axes (Eq. 13.2, chapter 13): for a bias b added to every
    row of an n x d matrix, dL/db = 1^T G.
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad


def _result(data: np.ndarray, parents: tuple, backward, op: str) -> "Tensor":
    """A new Tensor made by the operation named ``op``; records the graph only when a parent needs a gradient."""
    out = Tensor.__new__(Tensor)
    out.data = data
    out.op = op
    out.grad = out._own_grad = None
    needs_grad = _GRAD_ENABLED and any(p.requires_grad for p in parents)
    out.requires_grad = needs_grad
    out._parents = parents if needs_grad else ()
    out._backward = backward if needs_grad else None
    return out


def _topological_order(root: "Tensor") -> list:
    """Every tensor ``root`` depends on (that needs a gradient), each after its parents.

    Depth-first search with an explicit stack (no recursion): a node is appended when it is
    popped the second time, after all its parents are in the list.
    """
    order, seen = [], set()
    stack = [(root, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        for parent in node._parents:
            if parent.requires_grad and id(parent) not in seen:
                stack.append((parent, False))
    return order


class Tensor:
    """An array with a gradient: ``Tensor(data, requires_grad=False)`` (chapter 13).

    ``data`` is a float64 ndarray (numbers, lists and arrays are converted; NaN is rejected),
    ``grad`` is None until :meth:`backward` fills it with dL/d(data), ``shape`` is
    ``data.shape``. Set ``requires_grad=True`` on the tensors you want gradients for
    (parameters); results of operations need a gradient when any input does. ``data`` is a
    copy, so an optimiser's in-place updates never change the array you passed in. ``op`` names
    the operation that made the tensor ("+", "@", "softmax", "power 2", ...; "" for a leaf),
    which is what a drawing of the graph labels its boxes with.
    """

    __slots__ = ("data", "grad", "requires_grad", "op", "_parents", "_backward", "_own_grad")
    __array_ufunc__ = None  # ndarray + Tensor calls Tensor.__radd__ instead of numpy's own loop

    def __init__(self, data, requires_grad: bool = False):
        self.data = _float_array(data, "data", copy=True)  # an optimiser updates it in place
        if not isinstance(requires_grad, (bool, np.bool_)):
            raise ValueError(f"requires_grad must be True or False, got {requires_grad!r}")
        self.requires_grad = bool(requires_grad)
        self.grad = None
        self.op = ""  # a leaf: no operation made it
        self._parents = ()
        self._backward = None
        self._own_grad = None

    # -- basics ---------------------------------------------------------------------------

    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    def __repr__(self) -> str:
        flag = ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor({np.array2string(self.data, precision=4, threshold=20)}{flag})"

    def __len__(self) -> int:
        return len(self.data)

    def item(self) -> float:
        """The value of a one-entry tensor as a Python float."""
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one entry, this one has shape {self.shape}")
        return float(self.data.reshape(()))

    def numpy(self) -> np.ndarray:
        """The data array (not a copy)."""
        return self.data

    def detach(self) -> "Tensor":
        """The same data as a new leaf that needs no gradient (cuts the graph here)."""
        return Tensor(self.data)

    def zero_grad(self) -> None:
        """Forget the accumulated gradient (``grad`` becomes None)."""
        self.grad = self._own_grad = None

    def _accumulate(self, grad: np.ndarray, index=None) -> None:
        """Add one contribution to dL/d(self) (the sum in Eq. 13.1); with ``index``, to dL/d(self[index]).

        The first contribution to an intermediate tensor is kept as it is (no copy). Adding
        more is done in place, into an array this tensor allocated itself (``_own_grad``), so
        a gradient array shared with another tensor is never modified. With ``index`` the
        contribution goes to the selected entries only; np.add.at adds repeated ones twice.
        """
        if self.grad is None and index is None and self._parents:
            self.grad = grad
            return
        if self.grad is None:
            self.grad = self._own_grad = np.zeros_like(self.data)
        elif self.grad is not self._own_grad:
            self.grad = self._own_grad = np.array(self.grad)  # a copy we may add into
        if index is None:
            if grad.shape != self.data.shape:  # a wrong backward rule, never the user's input
                raise RuntimeError(f"gradient of shape {grad.shape} for a tensor of shape {self.data.shape}")
            self.grad += grad
        elif _is_basic_index(index):  # slices and integers: no entry is selected twice
            self.grad[index] += grad
        else:
            np.add.at(self.grad, index, grad)

    def backward(self, grad=None) -> None:
        """Fill ``.grad`` of every tensor this one depends on with dL/d(tensor) (Eq. 13.1).

        For a scalar L, ``grad`` defaults to dL/dL = 1. For a non-scalar Y, pass ``grad`` = G
        (same shape as Y): the result is then the gradient of sum(G * Y).
        """
        if not self.requires_grad:
            raise ValueError("backward needs a tensor that requires a gradient: make a parameter "
                             "with Tensor(..., requires_grad=True) and compute this tensor from it")
        if grad is None:
            if self.data.size != 1:
                raise ValueError(f"grad must be given for backward on a non-scalar tensor of shape "
                                 f"{self.shape} (only a one-entry loss defaults to grad = 1)")
            grad = np.ones_like(self.data)
        else:
            grad = _float_array(grad, "grad")
            if grad.shape != self.shape:
                raise ValueError(f"grad must have the tensor's shape {self.shape}, got shape {grad.shape}")
        order = _topological_order(self)
        for node in order:
            if node._parents:  # intermediates hold the gradient of this pass only
                node.grad = node._own_grad = None
        self._accumulate(grad)
        for node in reversed(order):
            if node._backward is not None and node.grad is not None:
                node._backward(node.grad)

    # -- binary operations (with broadcasting) --------------------------------------------

    def _binary(self, other, forward, name: str):
        other = _tensor(other, "other")
        try:
            data = forward(self.data, other.data)
        except ValueError:
            raise ValueError(f"other has shape {other.shape}, which does not broadcast with "
                             f"shape {self.shape} in {name}") from None
        return other, data

    def __add__(self, other) -> "Tensor":
        """Y = A + B.  dL/dA = G, dL/dB = G (each summed back to its shape, Eq. 13.2)."""
        other, data = self._binary(other, np.add, "+")
        a, b = self, other

        def backward(g):
            if a.requires_grad:
                a._accumulate(unbroadcast(g, a.shape))
            if b.requires_grad:
                b._accumulate(unbroadcast(g, b.shape))
        return _result(data, (a, b), backward, '+')

    def __sub__(self, other) -> "Tensor":
        """Y = A - B.  dL/dA = G, dL/dB = -G."""
        other, data = self._binary(other, np.subtract, "-")
        a, b = self, other

        def backward(g):
            if a.requires_grad:
                a._accumulate(unbroadcast(g, a.shape))
            if b.requires_grad:
                b._accumulate(unbroadcast(-g, b.shape))
        return _result(data, (a, b), backward, '−')

    def __mul__(self, other) -> "Tensor":
        """Y = A * B entry by entry.  dL/dA = G * B, dL/dB = G * A."""
        other, data = self._binary(other, np.multiply, "*")
        a, b = self, other

        def backward(g):
            if a.requires_grad:
                a._accumulate(unbroadcast(g * b.data, a.shape))
            if b.requires_grad:
                b._accumulate(unbroadcast(g * a.data, b.shape))
        return _result(data, (a, b), backward, '×')

    def __truediv__(self, other) -> "Tensor":
        """Y = A / B entry by entry.  dL/dA = G / B, dL/dB = -G * A / B^2 = -G * Y / B."""
        other, data = self._binary(other, np.divide, "/")
        a, b = self, other

        def backward(g):
            g_over_b = g / b.data
            if a.requires_grad:
                a._accumulate(unbroadcast(g_over_b, a.shape))
            if b.requires_grad:
                b._accumulate(unbroadcast(-g_over_b * data, b.shape))
        return _result(data, (a, b), backward, '÷')

    def __radd__(self, other) -> "Tensor":
        return self + other

    def __rsub__(self, other) -> "Tensor":
        return _tensor(other, "other") - self

    def __rmul__(self, other) -> "Tensor":
        return self * other

    def __rtruediv__(self, other) -> "Tensor":
        return _tensor(other, "other") / self

    def __neg__(self) -> "Tensor":
        """Y = -X.  dL/dX = -G."""
        a = self

        def backward(g):
            a._accumulate(-g)
        return _result(-a.data, (a,), backward, 'negate')

    def __pow__(self, exponent) -> "Tensor":
        """Y = X^p for a number p, entry by entry.  dL/dX = G * p X^(p-1)."""
        if isinstance(exponent, (Tensor, bool)) or not isinstance(exponent, numbers.Real) \
                or not math.isfinite(exponent):
            raise ValueError(f"exponent must be a finite number, got {exponent!r}")
        a, p = self, float(exponent)

        def backward(g):
            a._accumulate(g * (p * _power(a.data, p - 1.0)))
        return _result(_power(a.data, p), (a,), backward, f"power {p:g}")

    def __matmul__(self, other) -> "Tensor":
        """Y = A B (matrix product; leading axes broadcast as in numpy.matmul).

        dL/dA = G B^T,  dL/dB = A^T G  (Eq. 13.3, chapter 13), with the transposes on the last
        two axes and the gradients summed over broadcast batch axes. A 1-d operand is a row
        (on the left) or a column (on the right), as in numpy.
        """
        other = _tensor(other, "other")
        a, b = self, other
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError("@ needs operands with at least one axis; use * for a number")
        a2 = a.data[None, :] if a.ndim == 1 else a.data  # (k,) -> (1, k)
        b2 = b.data[:, None] if b.ndim == 1 else b.data  # (k,) -> (k, 1)
        if a2.shape[-1] != b2.shape[-2]:
            raise ValueError(f"other has shape {b.shape}; @ needs its axis {-2 if b.ndim > 1 else 0} "
                             f"to have length {a2.shape[-1]} (the last axis of shape {a.shape})")
        flat = b2.ndim == 2 and a2.ndim > 2  # (..., n, k) @ (k, m): one big product, not a loop
        if flat:
            out2 = (a2.reshape(-1, a2.shape[-1]) @ b2).reshape(a2.shape[:-1] + (b2.shape[-1],))
        else:
            try:
                out2 = np.matmul(a2, b2)
            except ValueError:
                raise ValueError(f"other has shape {b.shape}, whose batch axes do not broadcast with "
                                 f"shape {a.shape} in @") from None
        data = out2
        if a.ndim == 1:
            data = data[..., 0, :]
        if b.ndim == 1:
            data = data[..., 0]

        def backward(g):
            g2 = g.reshape(out2.shape)
            if flat:  # the same two products on (n_total x k) and (n_total x m) matrices
                g_rows = g2.reshape(-1, g2.shape[-1])
                if a.requires_grad:
                    a._accumulate((g_rows @ b2.T).reshape(a.shape))
                if b.requires_grad:
                    b._accumulate(a2.reshape(-1, a2.shape[-1]).T @ g_rows)
                return
            if a.requires_grad:
                ga = np.matmul(g2, np.swapaxes(b2, -1, -2))
                a._accumulate(unbroadcast(ga, a2.shape).reshape(a.shape))
            if b.requires_grad:
                gb = unbroadcast(np.matmul(np.swapaxes(a2, -1, -2), g2), b2.shape)
                b._accumulate(gb.reshape(b.shape))
        return _result(data, (a, b), backward, '@')

    def __rmatmul__(self, other) -> "Tensor":
        return _tensor(other, "other") @ self

    # -- entry-by-entry functions ---------------------------------------------------------

    def exp(self) -> "Tensor":
        """Y = exp(X).  dL/dX = G * Y."""
        a, data = self, np.exp(self.data)

        def backward(g):
            a._accumulate(g * data)
        return _result(data, (a,), backward, 'exp')

    def log(self) -> "Tensor":
        """Y = log(X) (natural log).  dL/dX = G / X."""
        a = self

        def backward(g):
            a._accumulate(g / a.data)
        return _result(np.log(a.data), (a,), backward, 'log')

    def tanh(self) -> "Tensor":
        """Y = tanh(X).  dL/dX = G * (1 - Y^2)."""
        a, data = self, np.tanh(self.data)

        def backward(g):
            a._accumulate(g * (1.0 - data * data))
        return _result(data, (a,), backward, 'tanh')

    def sigmoid(self) -> "Tensor":
        """Y = sigma(X) = 1 / (1 + exp(-X)), computed as (1 + tanh(X/2)) / 2 (no overflow).

        dL/dX = G * Y * (1 - Y).
        """
        a = self
        data = 0.5 * (1.0 + np.tanh(0.5 * a.data))

        def backward(g):
            a._accumulate(g * data * (1.0 - data))
        return _result(data, (a,), backward, 'sigmoid')

    def relu(self) -> "Tensor":
        """Y = max(0, X) (Eq. 3.3).  dL/dX = G * [X > 0] (0 at X = 0, as PyTorch)."""
        a = self

        def backward(g):
            a._accumulate(g * (a.data > 0))
        return _result(np.maximum(a.data, 0.0), (a,), backward, 'relu')

    def gelu(self) -> "Tensor":
        """GELU, tanh approximation (GPT-2; PyTorch ``gelu(approximate="tanh")``).

        Y = X/2 (1 + tanh(u)),  u = sqrt(2/pi) (X + 0.044715 X^3)
        dL/dX = G * [ (1 + tanh u)/2 + X/2 (1 - tanh^2 u) sqrt(2/pi) (1 + 3 * 0.044715 X^2) ]
        """
        a, x = self, self.data
        c = math.sqrt(2.0 / math.pi)
        # written as in-place steps: fresh big arrays are what costs time here
        t = x * x
        t *= 0.044715
        t += 1.0
        t *= x
        t *= c                               # u
        np.tanh(t, out=t)                    # tanh u (kept for the backward)
        data = t + 1.0
        data *= x
        data *= 0.5                          # X/2 (1 + tanh u)

        def backward(g):
            local = t * t
            np.subtract(1.0, local, out=local)   # 1 - tanh^2 u
            local *= x
            local *= 0.5 * c
            factor = x * x
            factor *= 3 * 0.044715
            factor += 1.0
            local *= factor                      # X/2 (1 - tanh^2 u) sqrt(2/pi) (1 + 3 * 0.044715 X^2)
            np.multiply(t, 0.5, out=factor)
            local += factor
            local += 0.5                         # + (1 + tanh u)/2
            local *= g
            a._accumulate(local)
        return _result(data, (a,), backward, 'gelu')

    # -- reductions and shape changes -----------------------------------------------------

    def _axes(self, axis) -> tuple:
        """``axis`` (None, an int or a tuple of ints) as a sorted tuple of non-negative axes."""
        if axis is None:
            return tuple(range(self.ndim))
        axes = (axis,) if isinstance(axis, (int, np.integer)) else axis
        if not isinstance(axes, (tuple, list)) or not all(
                isinstance(ax, (int, np.integer)) and -self.ndim <= ax < self.ndim for ax in axes):
            raise ValueError(f"axis must be None, an axis or a tuple of axes of shape {self.shape}, got {axis!r}")
        return tuple(sorted(int(ax) % self.ndim for ax in axes))

    def sum(self, axis=None, keepdims: bool = False) -> "Tensor":
        """Y = sum of X over ``axis``.  dL/dX = G copied back along the summed axes."""
        a, axes = self, self._axes(axis)
        data = np.sum(a.data, axis=axes, keepdims=keepdims)

        def backward(g):
            if not keepdims:
                g = np.expand_dims(g, axes)
            a._accumulate(np.broadcast_to(g, a.shape))
        return _result(np.asarray(data), (a,), backward, 'sum')

    def mean(self, axis=None, keepdims: bool = False) -> "Tensor":
        """Y = (1/m) sum of X over ``axis`` (m entries each).  dL/dX = G / m copied back."""
        axes = self._axes(axis)
        count = math.prod(self.shape[ax] for ax in axes)
        if count == 0:
            raise ValueError(f"axis {axis!r} of shape {self.shape} has no entries to average")
        return self.sum(axis=axes, keepdims=keepdims) * (1.0 / count)

    def reshape(self, *shape) -> "Tensor":
        """Y = X with a new shape (same entries, same order).  dL/dX = G reshaped back."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        a = self
        try:
            data = a.data.reshape(shape)
        except (ValueError, TypeError):
            raise ValueError(f"shape {shape} does not fit the {a.size} entries of shape {a.shape}") from None

        def backward(g):
            a._accumulate(g.reshape(a.shape))
        return _result(data, (a,), backward, 'reshape')

    def transpose(self, *axes) -> "Tensor":
        """Y = X with its axes permuted (reversed when none are given).  dL/dX = G permuted back."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        axes = tuple(reversed(range(self.ndim))) if not axes else axes
        a = self
        try:
            data = a.data.transpose(axes)
        except (ValueError, TypeError):
            raise ValueError(f"axes must be a permutation of the {self.ndim} axes of shape {self.shape}, "
                             f"got {axes}") from None
        inverse = tuple(np.argsort([ax % self.ndim for ax in axes]))

        def backward(g):
            a._accumulate(g.transpose(inverse))
        return _result(data, (a,), backward, 'transpose')

    @property
    def T(self) -> "Tensor":
        """All axes reversed (the transpose of a matrix)."""
        return self.transpose()

    def __getitem__(self, index) -> "Tensor":
        """Y = X[index] (slices, integers, integer arrays).

        dL/dX = zeros with G added at the selected places; an entry selected k times gets k
        contributions (np.add.at, which does not drop repeats the way X[index] += G would).
        The adding happens in :meth:`_accumulate`, straight into X's gradient.
        """
        if isinstance(index, Tensor):
            index = index.data.astype(np.intp)
        a = self
        try:
            data = a.data[index]
        except IndexError as error:
            raise ValueError(f"index {index!r} does not fit shape {a.shape}: {error}") from None

        def backward(g):
            a._accumulate(g, index)
        return _result(np.asarray(data), (a,), backward, 'index')


# ---------------------------------------------------------------------------------------------
# Fused functions: one forward, one hand-written backward each (fewer, bigger numpy calls)
# ---------------------------------------------------------------------------------------------


def softmax(x, axis: int = -1) -> Tensor:
    """A = softmax(X) along ``axis``: A_j = exp(X_j - max X) / sum_k exp(X_k - max X) (Eq. 2.4).

    Backward (the softmax Jacobian dA_j/dX_i = A_j (delta_ij - A_i), Eq. 13.4):
        dL/dX = A * (G - sum_j G_j A_j)
    Entries equal to -inf (a causal mask, Eq. 2.6) get weight 0 and gradient 0.
    """
    x = _tensor(x, "x")
    data = x.data - np.max(x.data, axis=axis, keepdims=True)
    np.exp(data, out=data)  # in place: one array for the whole forward
    data /= data.sum(axis=axis, keepdims=True)

    def backward(g):
        grad = g * data
        grad -= data * grad.sum(axis=axis, keepdims=True)  # A * G - A * sum_j G_j A_j
        x._accumulate(grad)
    return _result(data, (x,), backward, 'softmax')


def log_softmax(x, axis: int = -1) -> Tensor:
    """Y = log softmax(X) = X - max X - log sum_k exp(X_k - max X) along ``axis``.

    Backward: dL/dX = G - softmax(X) * sum_j G_j.
    """
    x = _tensor(x, "x")
    shifted = x.data - np.max(x.data, axis=axis, keepdims=True)
    data = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))

    def backward(g):
        x._accumulate(g - np.exp(data) * np.sum(g, axis=axis, keepdims=True))
    return _result(data, (x,), backward, 'log_softmax')


def layer_norm(x, gamma, beta, eps: float = 1e-5) -> Tensor:
    """LN(x) = gamma * (x - mu) / sqrt(sigma^2 + eps) + beta over the last axis (d entries).

    mu and sigma^2 are the mean and the (biased) variance of each row. With
    x^ = (x - mu) r, r = 1 / sqrt(sigma^2 + eps) and Gx^ = G * gamma, the backward is
    (Eq. 13.5, chapter 13):
        dL/dx = r (Gx^ - mean(Gx^) - x^ mean(Gx^ * x^))      row by row
        dL/dgamma = sum over rows of G * x^,   dL/dbeta = sum over rows of G.
    ``gamma`` or ``beta`` may be None (no scale, no shift).
    """
    x = _tensor(x, "x")
    if x.ndim == 0:
        raise ValueError("x must have at least one axis (layer_norm normalises the last one)")
    d = x.shape[-1]
    params = []
    for name, value in (("gamma", gamma), ("beta", beta)):
        if value is None:
            params.append(None)
            continue
        value = _tensor(value, name)
        if value.shape != (d,):
            raise ValueError(f"{name} must have shape ({d},) (the last axis of x), got shape {value.shape}")
        params.append(value)
    gamma, beta = params
    eps = float(eps)
    if not eps > 0:
        raise ValueError(f"eps must be > 0, got {eps}")
    mu = x.data.mean(axis=-1, keepdims=True)
    data = x.data - mu
    r = 1.0 / np.sqrt(np.einsum("...i,...i->...", data, data)[..., None] / d + eps)  # 1/sqrt(sigma^2 + eps)
    data *= r                                   # x^ (recomputed from mu and r in the backward)
    if gamma is not None:
        data *= gamma.data
    if beta is not None:
        data += beta.data
    parents = tuple(t for t in (x, gamma, beta) if t is not None)

    def backward(g):
        x_hat = x.data - mu
        x_hat *= r
        if gamma is not None and gamma.requires_grad:
            gamma._accumulate((g * x_hat).reshape(-1, d).sum(axis=0))
        if beta is not None and beta.requires_grad:
            beta._accumulate(g.reshape(-1, d).sum(axis=0))
        if x.requires_grad:
            g_hat = g * gamma.data if gamma is not None else g.copy()
            mean_g_hat_x_hat = np.einsum("...i,...i->...", g_hat, x_hat)[..., None] / d
            g_hat -= g_hat.mean(axis=-1, keepdims=True)
            g_hat -= x_hat * mean_g_hat_x_hat
            g_hat *= r
            x._accumulate(g_hat)
    return _result(data, parents, backward, 'layer_norm')


def _int_array(values, name: str, upper: int) -> np.ndarray:
    """``values`` as an integer array with entries in [0, upper), or ValueError naming ``name``."""
    if isinstance(values, Tensor):
        values = values.data
    array = np.asarray(values)
    if array.dtype.kind == "f" and array.size and np.all(np.isfinite(array)) and np.all(array == np.round(array)):
        array = array.astype(np.intp)
    if array.dtype.kind not in "iu":
        raise ValueError(f"{name} must be an array of whole numbers, got dtype {array.dtype}")
    if array.size and (array.min() < 0 or array.max() >= upper):
        raise ValueError(f"{name} must lie in [0, {upper - 1}], got values from {array.min()} to {array.max()}")
    return array


def cross_entropy(logits, targets) -> Tensor:
    """L = (1/N) sum_i -log softmax(l_i)[y_i], the mean over N rows (L_ins, chapter 6).

    ``logits`` is (N, C) (or (..., C), every leading position being a row), ``targets`` an
    integer array of the leading shape. Backward (Eq. 13.6, chapter 13):
        dL/dl_i = (softmax(l_i) - onehot(y_i)) / N      (times the upstream scalar G)
    """
    logits = _tensor(logits, "logits")
    if logits.ndim < 1:
        raise ValueError("logits must have a class axis (shape (N, C))")
    classes = logits.shape[-1]
    targets = _int_array(targets, "targets", classes)
    if targets.shape != logits.shape[:-1]:
        raise ValueError(f"targets must have shape {logits.shape[:-1]} (one class per row of logits), "
                         f"got shape {targets.shape}")
    rows = logits.data.reshape(-1, classes)
    picks = targets.reshape(-1)
    n = rows.shape[0]
    if n == 0:
        raise ValueError("logits must have at least one row")
    shifted = rows - rows.max(axis=1, keepdims=True)
    log_z = np.log(np.exp(shifted).sum(axis=1))
    data = np.asarray(np.mean(log_z - shifted[np.arange(n), picks]))

    def backward(g):
        grad = np.exp(shifted - log_z[:, None])  # softmax
        grad[np.arange(n), picks] -= 1.0
        logits._accumulate((grad * (g / n)).reshape(logits.shape))
    return _result(data, (logits,), backward, 'cross_entropy')


def mse_loss(pred, target) -> Tensor:
    """L = (1/m) sum (pred - target)^2 over all m entries (like L_edit as a mean, chapter 6).

    Backward: dL/dpred = 2 (pred - target) / m,  dL/dtarget = -2 (pred - target) / m.
    """
    pred = _tensor(pred, "pred")
    target = _tensor(target, "target")
    if target.shape != pred.shape:
        raise ValueError(f"target must have the shape of pred {pred.shape}, got shape {target.shape}")
    if pred.size == 0:
        raise ValueError("pred must not be empty")
    diff = pred.data - target.data
    data = np.asarray(np.mean(diff * diff))

    def backward(g):
        grad = diff * (2.0 * g / diff.size)
        if pred.requires_grad:
            pred._accumulate(grad)
        if target.requires_grad:
            target._accumulate(-grad)
    return _result(data, (pred, target), backward, 'mse_loss')


def concatenate(tensors, axis: int = 0) -> Tensor:
    """Y = [X_1, X_2, ...] joined along ``axis``.  dL/dX_k = the slice of G where X_k sits."""
    if isinstance(tensors, Tensor) or not hasattr(tensors, "__len__") or len(tensors) == 0:
        raise ValueError("tensors must be a non-empty list of tensors")
    parts = tuple(_tensor(t, f"tensors[{k}]") for k, t in enumerate(tensors))
    try:
        data = np.concatenate([t.data for t in parts], axis=axis)
    except ValueError as error:
        raise ValueError(f"tensors do not fit together along axis {axis}: shapes "
                         f"{[t.shape for t in parts]} ({error})") from None
    ends = np.cumsum([t.shape[axis] for t in parts])[:-1]

    def backward(g):
        for part, piece in zip(parts, np.split(g, ends, axis=axis)):
            if part.requires_grad:
                part._accumulate(piece)
    return _result(data, parts, backward, 'concatenate')


def embedding(table, ids) -> Tensor:
    """X[i, :] = E[ids_i], rows of the table E (Eq. 1.1, chapter 1; X = O E with O one-hot).

    Backward: dL/dE = O^T G: row v of E receives the sum of G over every position whose id
    is v (np.add.at, so repeated ids add up).
    """
    table = _tensor(table, "table")
    if table.ndim != 2:
        raise ValueError(f"table must be 2-dimensional (vocabulary x d), got shape {table.shape}")
    ids = _int_array(ids, "ids", table.shape[0])

    def backward(g):
        table._accumulate(g.reshape(-1, table.shape[1]), ids.reshape(-1))
    return _result(table.data[ids], (table,), backward, 'embedding')


def _positive_int(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum}, got {value!r}")
    return int(value)


def conv2d(x, weight, bias=None, stride: int = 1, padding: int = 0) -> Tensor:
    """2-d convolution (cross-correlation, as PyTorch) of x (N, C, H, W) with weight (O, C, kh, kw).

    Y[n, o, i, j] = b_o + sum_{c, p, q} W[o, c, p, q] X_pad[n, c, s i + p, s j + q]
    computed as one matrix product: the patches of X_pad are laid out as the rows of a matrix
    ("im2col", P of shape (N Ho Wo) x (C kh kw)), so Y = P W^T + b. Backward (Eq. 13.3 again):
        dL/dW = G^T P,   dL/db = sum of G over n, i, j,
        dL/dP = G W, added back into dL/dX_pad patch by patch ("col2im": a loop over the
        kh * kw kernel offsets only), then the padding is cut off.
    """
    x = _tensor(x, "x")
    weight = _tensor(weight, "weight")
    if x.ndim != 4:
        raise ValueError(f"x must have shape (N, C, H, W), got shape {x.shape}")
    if weight.ndim != 4 or weight.shape[1] != x.shape[1]:
        raise ValueError(f"weight must have shape (C_out, {x.shape[1]}, kh, kw) for x with {x.shape[1]} "
                         f"channels, got shape {weight.shape}")
    stride = _positive_int(stride, "stride", 1)
    padding = _positive_int(padding, "padding", 0)
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    if bias is not None:
        bias = _tensor(bias, "bias")
        if bias.shape != (o,):
            raise ValueError(f"bias must have shape ({o},) (one per output channel), got shape {bias.shape}")
    hp, wp = h + 2 * padding, w + 2 * padding
    if kh > hp or kw > wp:
        raise ValueError(f"weight's kernel {kh}x{kw} is larger than the padded input {hp}x{wp}")
    ho, wo = (hp - kh) // stride + 1, (wp - kw) // stride + 1
    x_pad = np.pad(x.data, ((0, 0), (0, 0), (padding, padding), (padding, padding))) if padding else x.data
    windows = sliding_window_view(x_pad, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]
    patches = windows.transpose(0, 2, 3, 1, 4, 5).reshape(n * ho * wo, c * kh * kw)  # im2col (a copy)
    w_mat = weight.data.reshape(o, c * kh * kw)
    out = patches @ w_mat.T
    if bias is not None:
        out += bias.data
    data = out.reshape(n, ho, wo, o).transpose(0, 3, 1, 2)
    parents = (x, weight) if bias is None else (x, weight, bias)

    def backward(g):
        g_mat = g.transpose(0, 2, 3, 1).reshape(n * ho * wo, o)
        if weight.requires_grad:
            weight._accumulate((g_mat.T @ patches).reshape(weight.shape))
        if bias is not None and bias.requires_grad:
            bias._accumulate(g_mat.sum(axis=0))
        if x.requires_grad:
            g_patches = (g_mat @ w_mat).reshape(n, ho, wo, c, kh, kw)
            g_pad = np.zeros((n, c, hp, wp))
            for p in range(kh):  # col2im: each kernel offset adds one strided block
                for q in range(kw):
                    g_pad[:, :, p:p + stride * ho:stride, q:q + stride * wo:stride] += \
                        g_patches[:, :, :, :, p, q].transpose(0, 3, 1, 2)
            x._accumulate(g_pad[:, :, padding:padding + h, padding:padding + w])
    return _result(data, parents, backward, 'conv2d')


def avg_pool2d(x, kernel_size: int = 2) -> Tensor:
    """Average over non-overlapping k x k blocks of x (N, C, H, W) -> (N, C, H//k, W//k).

    Y[n, c, i, j] = (1/k^2) sum_{p, q < k} X[n, c, k i + p, k j + q]; rows and columns left
    over when k does not divide H or W are dropped (as PyTorch). dL/dX = G / k^2 copied to
    each block's k^2 entries (0 for dropped ones).
    """
    x = _tensor(x, "x")
    if x.ndim != 4:
        raise ValueError(f"x must have shape (N, C, H, W), got shape {x.shape}")
    k = _positive_int(kernel_size, "kernel_size", 1)
    n, c, h, w = x.shape
    ho, wo = h // k, w // k
    if ho == 0 or wo == 0:
        raise ValueError(f"kernel_size {k} is larger than the image {h}x{w}")
    blocks = x.data[:, :, :ho * k, :wo * k].reshape(n, c, ho, k, wo, k)

    def backward(g):
        full = np.zeros_like(x.data)
        full[:, :, :ho * k, :wo * k] = np.broadcast_to(
            (g / (k * k))[:, :, :, None, :, None], (n, c, ho, k, wo, k)).reshape(n, c, ho * k, wo * k)
        x._accumulate(full)
    return _result(blocks.mean(axis=(3, 5)), (x,), backward, 'avg_pool2d')


def upsample_nearest(x, scale_factor: int = 2) -> Tensor:
    """Repeat every pixel of x (N, C, H, W) into an s x s block -> (N, C, sH, sW).

    Y[n, c, i, j] = X[n, c, i // s, j // s].  dL/dX = the sum of G over each s x s block.
    """
    x = _tensor(x, "x")
    if x.ndim != 4:
        raise ValueError(f"x must have shape (N, C, H, W), got shape {x.shape}")
    s = _positive_int(scale_factor, "scale_factor", 1)
    n, c, h, w = x.shape
    data = np.broadcast_to(x.data[:, :, :, None, :, None], (n, c, h, s, w, s)).reshape(n, c, h * s, w * s)

    def backward(g):
        x._accumulate(g.reshape(n, c, h, s, w, s).sum(axis=(3, 5)))
    return _result(data, (x,), backward, 'upsample_nearest')


# ---------------------------------------------------------------------------------------------
# Optimisers
# ---------------------------------------------------------------------------------------------


class _Optimizer:
    def __init__(self, params, lr):
        params = list(params) if not isinstance(params, Tensor) else None
        if not params or not all(isinstance(p, Tensor) and p.requires_grad for p in params):
            raise ValueError("params must be a non-empty list of Tensors made with requires_grad=True")
        lr = float(lr) if isinstance(lr, numbers.Real) and not isinstance(lr, bool) else float("nan")
        if not (math.isfinite(lr) and lr > 0):
            raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
        self.params, self.lr = params, lr

    def zero_grad(self) -> None:
        """Forget every parameter's gradient (call before each backward pass)."""
        for p in self.params:
            p.zero_grad()


class SGD(_Optimizer):
    """Plain gradient descent: theta <- theta - lr * dL/dtheta (Eq. 13.7, chapter 13)."""

    def step(self) -> None:
        """Update every parameter that has a gradient, in place."""
        for p in self.params:
            if p.grad is not None:
                p.data -= self.lr * p.grad


class Adam(_Optimizer):
    """Adam (Kingma and Ba 2015) with bias correction, as ``torch.optim.Adam`` (Eq. 13.8).

    With g = dL/dtheta at step t = 1, 2, ...:
        m <- b1 m + (1 - b1) g,        v <- b2 v + (1 - b2) g^2
        m^ = m / (1 - b1^t),           v^ = v / (1 - b2^t)
        theta <- theta - lr m^ / (sqrt(v^) + eps)
    """

    def __init__(self, params, lr, betas=(0.9, 0.999), eps: float = 1e-8):
        super().__init__(params, lr)
        try:
            b1, b2 = (float(b) for b in betas)
        except (TypeError, ValueError):
            raise ValueError(f"betas must be two numbers in [0, 1), got {betas!r}") from None
        if not (0.0 <= b1 < 1.0 and 0.0 <= b2 < 1.0):
            raise ValueError(f"betas must be two numbers in [0, 1), got {betas!r}")
        eps = float(eps)
        if not (math.isfinite(eps) and eps >= 0):
            raise ValueError(f"eps must be a finite number >= 0, got {eps!r}")
        self.betas, self.eps, self.t = (b1, b2), eps, 0
        self.m = [np.zeros_like(p.data) for p in self.params]
        self.v = [np.zeros_like(p.data) for p in self.params]

    def step(self) -> None:
        """One Adam update of every parameter that has a gradient, in place."""
        self.t += 1
        b1, b2 = self.betas
        correction1, correction2 = 1.0 - b1 ** self.t, 1.0 - b2 ** self.t
        for p, m, v in zip(self.params, self.m, self.v):
            if p.grad is None:
                continue
            m *= b1
            m += (1.0 - b1) * p.grad
            v *= b2
            v += (1.0 - b2) * p.grad * p.grad
            p.data -= self.lr * (m / correction1) / (np.sqrt(v / correction2) + self.eps)
