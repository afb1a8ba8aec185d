"""Faster image operations for the toy MGIE, in the pattern of :mod:`mgie_lessons.autograd`.

:func:`mgie_lessons.autograd.conv2d` works on (N, C, H, W) arrays, as PyTorch does. With few
channels, most of its time goes into gathering strided memory (im2col through a transposed
view, and the col2im adds in the backward). The toy MGIE's UNet and vision encoder therefore
keep images channels-last, (N, H, W, C), where every patch entry is a run of C contiguous
numbers, and use the "same"-padded, stride-1 convolution below, whose backward is itself a
convolution (no scattered adds). Its forward and backward
are written side by side, as in autograd, and tests check them against autograd.conv2d and
against central finite differences.
"""

from __future__ import annotations

import numpy as np

from . import autograd as ag

__all__ = ["conv2d_same", "avg_pool2", "upsample2"]


def _patches(x: np.ndarray, k: int) -> np.ndarray:
    """im2col, channels last: the (N H W) x (k k C) matrix of every k x k window of x zero-padded by (k-1)/2."""
    n, h, w, c = x.shape
    r = k // 2
    padded = np.zeros((n, h + 2 * r, w + 2 * r, c))
    padded[:, r:r + h, r:r + w] = x
    patches = np.empty((n, h, w, k, k, c))
    for p in range(k):                     # each kernel offset copies one shifted view
        for q in range(k):
            patches[:, :, :, p, q] = padded[:, p:p + h, q:q + w]
    return patches.reshape(n * h * w, k * k * c)


def _shifted_products(x: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """The same convolution as k^2 products of shifted views with the kernel's (C x O) slices,
    Y = sum_{p, q} X_pad[:, p:p+H, q:q+W] W[p, q], without the (N H W) x (k k C) patch matrix.

    Used when no gradient is needed (sampling, evaluation): 4.4x faster than building the patch
    matrix for a batch of 30 images of 16 x 16 x 48 -> 16 channels (3.1 ms against 13.4 ms, one
    core), because each product's operands stay small; the sums differ only in the last bits.
    """
    n, h, w, c = x.shape
    k = weight.shape[0]
    r = k // 2
    padded = np.zeros((n, h + 2 * r, w + 2 * r, c))
    padded[:, r:r + h, r:r + w] = x
    out = np.zeros((n, h, w, weight.shape[3]))
    for p in range(k):
        for q in range(k):
            out += padded[:, p:p + h, q:q + w] @ weight[p, q]
    return out


def conv2d_same(x, weight, bias=None) -> ag.Tensor:
    """Y = X * W + b, "same" padding, stride 1, channels last (chapter 13's conv2d in NHWC).

    x : (N, H, W, C);  weight : (k, k, C, O) with k odd;  bias : (O,) or None.
    Y[n, i, j, o] = b_o + sum_{p, q, c} W[p, q, c, o] X_pad[n, i + p, j + q, c], with
    r = (k - 1) / 2 zero rows and columns around X. As one matrix product: the patches form
    P ((N H W) x (k k C)), Y = P W_mat + b. Backward (Eq. 13.3 again):
        dL/dW = P^T G,   dL/db = sum of G over n, i, j,
        dL/dX = G * W~, the same "same" convolution of G with the kernel flipped in both
                directions and its channel axes swapped, W~[p, q, o, c] = W[k-1-p, k-1-q, c, o]
    (each X entry feeds k^2 outputs; the flipped kernel gathers them back), again one patch
    matrix times one weight matrix, so no scattered adds are needed.
    """
    x = ag._tensor(x, "x")
    weight = ag._tensor(weight, "weight")
    if x.ndim != 4:
        raise ValueError(f"x must have shape (N, H, W, C), got shape {x.shape}")
    if weight.ndim != 4 or weight.shape[0] != weight.shape[1] or weight.shape[0] % 2 == 0 \
            or weight.shape[2] != x.shape[3]:
        raise ValueError(f"weight must have shape (k, k, {x.shape[3]}, C_out) with k odd, got shape {weight.shape}")
    n, h, w, c = x.shape
    k, o = weight.shape[0], weight.shape[3]
    if bias is not None:
        bias = ag._tensor(bias, "bias")
        if bias.shape != (o,):
            raise ValueError(f"bias must have shape ({o},), got shape {bias.shape}")
    parents = (x, weight) if bias is None else (x, weight, bias)
    if not (ag.is_grad_enabled() and any(p.requires_grad for p in parents)):
        out = _shifted_products(x.data, weight.data)
        if bias is not None:
            out += bias.data
        return ag._result(out, parents, None, "conv2d_same")
    patches = _patches(x.data, k)
    out = patches @ weight.data.reshape(k * k * c, o)
    if bias is not None:
        out += bias.data

    def backward(g):
        g_mat = g.reshape(n * h * w, o)
        if weight.requires_grad:
            weight._accumulate((patches.T @ g_mat).reshape(weight.shape))
        if bias is not None and bias.requires_grad:
            bias._accumulate(g_mat.sum(axis=0))
        if x.requires_grad:
            flipped = weight.data[::-1, ::-1].transpose(0, 1, 3, 2).reshape(k * k * o, c)
            x._accumulate((_patches(g, k) @ flipped).reshape(n, h, w, c))
    return ag._result(out.reshape(n, h, w, o), parents, backward, "conv2d_same")


def avg_pool2(x) -> ag.Tensor:
    """Mean over 2 x 2 blocks of x (N, H, W, C) -> (N, H/2, W/2, C).  dL/dX = G / 4 copied to each block."""
    x = ag._tensor(x, "x")
    if x.ndim != 4 or x.shape[1] % 2 or x.shape[2] % 2:
        raise ValueError(f"x must have shape (N, H, W, C) with H and W even, got shape {x.shape}")
    n, h, w, c = x.shape
    data = x.data.reshape(n, h // 2, 2, w // 2, 2, c).mean(axis=(2, 4))

    def backward(g):
        x._accumulate(np.broadcast_to((g * 0.25)[:, :, None, :, None, :], (n, h // 2, 2, w // 2, 2, c))
                      .reshape(n, h, w, c))
    return ag._result(data, (x,), backward, "avg_pool2")


def upsample2(x) -> ag.Tensor:
    """Nearest upsampling of x (N, H, W, C) -> (N, 2H, 2W, C).  dL/dX = sum of G over each 2 x 2 block."""
    x = ag._tensor(x, "x")
    if x.ndim != 4:
        raise ValueError(f"x must have shape (N, H, W, C), got shape {x.shape}")
    n, h, w, c = x.shape
    data = np.broadcast_to(x.data[:, :, None, :, None, :], (n, h, 2, w, 2, c)).reshape(n, 2 * h, 2 * w, c)

    def backward(g):
        x._accumulate(g.reshape(n, h, 2, w, 2, c).sum(axis=(2, 4)))
    return ag._result(data, (x,), backward, "upsample2")
