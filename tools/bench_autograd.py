"""Benchmark of mgie_lessons.autograd: forward + backward of one pre-norm transformer block.

    .venv/bin/python -m tools.bench_autograd [--json artifacts/bench_autograd.json] [--runs N]

The block (batch 64, sequence 32, width 64, 4 heads, float64), as in GPT-2:

    H  = X + MHA(LN_1(X))          causal multi-head self-attention (chapter 2, Eqs. 2.1-2.6)
    Y  = H + GELU(LN_2(H) W_1 + b_1) W_2 + b_2      MLP of width 4d (chapter 3, with GELU)

Three timings, each the median over ``--runs`` rounds after warm-up (in each round every
implementation runs once, in turn, so they share whatever load the machine has):

* ``autograd``: forward + backward with :mod:`mgie_lessons.autograd` (every parameter needs a
  gradient, X does not; backward from a fixed upstream gradient G = dL/dY);
* ``numpy forward``: the same forward in plain numpy, no graph (what the graph costs on top);
* ``torch``: forward + backward in PyTorch (float64, CPU, its default thread count), only when
  ``import torch`` works (PyTorch is not a dependency of the project).

Both wall-clock time (time.perf_counter) and CPU time of the process (time.process_time, all
threads together) are reported, since the machine may be shared. All three implementations
are checked to give the same output (and autograd and torch the same gradients) first.

numpy's BLAS and PyTorch both use every core by default (numpy's entry-by-entry operations
run on one core). For a one-core comparison run it with
``OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1``. Large fresh arrays cost page faults: how much
depends on the C library's malloc settings, which this script leaves at their defaults.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np

from mgie_lessons import autograd as ag

BATCH, SEQUENCE, WIDTH, HEADS = 64, 32, 64, 4
PARAMETER_NAMES = ("ln1_g", "ln1_b", "W_qkv", "b_qkv", "W_o", "b_o", "ln2_g", "ln2_b", "W_1", "b_1", "W_2", "b_2")


def make_inputs(seed: int = 0) -> tuple[np.ndarray, dict, np.ndarray]:
    """X (B, T, d), the block's parameters (GPT-2-like initialisation) and the upstream gradient G."""
    rng = np.random.default_rng(seed)
    d = WIDTH
    params = {
        "ln1_g": 1.0 + 0.1 * rng.standard_normal(d), "ln1_b": 0.1 * rng.standard_normal(d),
        "W_qkv": 0.02 * rng.standard_normal((d, 3 * d)) * 10, "b_qkv": 0.01 * rng.standard_normal(3 * d),
        "W_o": 0.02 * rng.standard_normal((d, d)) * 5, "b_o": 0.01 * rng.standard_normal(d),
        "ln2_g": 1.0 + 0.1 * rng.standard_normal(d), "ln2_b": 0.1 * rng.standard_normal(d),
        "W_1": 0.02 * rng.standard_normal((d, 4 * d)) * 5, "b_1": 0.01 * rng.standard_normal(4 * d),
        "W_2": 0.02 * rng.standard_normal((4 * d, d)) * 5, "b_2": 0.01 * rng.standard_normal(d),
    }
    x = rng.standard_normal((BATCH, SEQUENCE, d))
    upstream = rng.standard_normal((BATCH, SEQUENCE, d))
    return x, params, upstream


def causal_mask(n: int) -> np.ndarray:
    """0 on and below the diagonal, -inf above (Eq. 2.6)."""
    return np.where(np.triu(np.ones((n, n), dtype=bool), k=1), -np.inf, 0.0)


# -- the block in plain numpy (forward only) ---------------------------------------------------

def numpy_layer_norm(x, gamma, beta, eps=1e-5):
    mu = x.mean(axis=-1, keepdims=True)
    centred = x - mu
    return centred / np.sqrt(np.mean(centred * centred, axis=-1, keepdims=True) + eps) * gamma + beta


def numpy_block(x, p, mask):
    b, t, d = x.shape
    dh = d // HEADS
    h = numpy_layer_norm(x, p["ln1_g"], p["ln1_b"])
    qkv = (h.reshape(-1, d) @ p["W_qkv"] + p["b_qkv"]).reshape(b, t, 3, HEADS, dh).transpose(2, 0, 3, 1, 4)
    scores = qkv[0] @ qkv[1].transpose(0, 1, 3, 2) * (1.0 / math.sqrt(dh)) + mask
    scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
    weights = scores / scores.sum(axis=-1, keepdims=True)
    heads = (weights @ qkv[2]).transpose(0, 2, 1, 3).reshape(-1, d)
    x = x + (heads @ p["W_o"] + p["b_o"]).reshape(b, t, d)
    h = numpy_layer_norm(x, p["ln2_g"], p["ln2_b"]).reshape(-1, d) @ p["W_1"] + p["b_1"]
    h = 0.5 * h * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (h + 0.044715 * h * h * h)))
    return x + (h @ p["W_2"] + p["b_2"]).reshape(b, t, d)


# -- the block with mgie_lessons.autograd ------------------------------------------------------

def autograd_block(x, p, mask):
    """The same block from Tensor operations; ``p`` maps names to Tensors."""
    b, t, d = x.shape
    dh = d // HEADS
    h = ag.layer_norm(x, p["ln1_g"], p["ln1_b"])
    qkv = (h @ p["W_qkv"] + p["b_qkv"]).reshape(b, t, 3, HEADS, dh).transpose(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]
    weights = ag.softmax((q @ k.transpose(0, 1, 3, 2)) * (1.0 / math.sqrt(dh)) + mask)
    heads = (weights @ v).transpose(0, 2, 1, 3).reshape(b, t, d)
    x = x + heads @ p["W_o"] + p["b_o"]
    h = (ag.layer_norm(x, p["ln2_g"], p["ln2_b"]) @ p["W_1"] + p["b_1"]).gelu()
    return x + h @ p["W_2"] + p["b_2"]


def autograd_step(x, params, mask, upstream):
    for tensor in params.values():
        tensor.zero_grad()
    out = autograd_block(x, params, mask)
    out.backward(upstream)
    return out


# -- the block in PyTorch -------------------------------------------------------------------

def torch_block(torch, x, p, mask):
    functional = torch.nn.functional
    b, t, d = x.shape
    dh = d // HEADS
    h = functional.layer_norm(x, (d,), p["ln1_g"], p["ln1_b"], eps=1e-5)
    qkv = (h @ p["W_qkv"] + p["b_qkv"]).reshape(b, t, 3, HEADS, dh).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]
    weights = torch.softmax((q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(dh)) + mask, dim=-1)
    heads = (weights @ v).transpose(1, 2).reshape(b, t, d)
    x = x + heads @ p["W_o"] + p["b_o"]
    h = functional.gelu(functional.layer_norm(x, (d,), p["ln2_g"], p["ln2_b"], eps=1e-5) @ p["W_1"] + p["b_1"],
                        approximate="tanh")
    return x + h @ p["W_2"] + p["b_2"]


def torch_step(torch, x, params, mask, upstream):
    for tensor in params.values():
        tensor.grad = None
    out = torch_block(torch, x, params, mask)
    out.backward(upstream)
    return out


# -- timing ------------------------------------------------------------------------------------

def measure(functions: dict, runs: int, warmup: int = 3) -> dict:
    """Median wall-clock and CPU milliseconds of each function, over ``runs`` rounds.

    The functions take turns (one call each per round), so a change in the machine's load
    during the benchmark affects all of them alike.
    """
    for function in functions.values():
        for _ in range(warmup):
            function()
    wall = {name: [] for name in functions}
    cpu = {name: [] for name in functions}
    for _ in range(runs):
        for name, function in functions.items():
            w0, c0 = time.perf_counter(), time.process_time()
            function()
            cpu[name].append(time.process_time() - c0)
            wall[name].append(time.perf_counter() - w0)
    return {name: {"wall_ms": 1e3 * statistics.median(wall[name]), "cpu_ms": 1e3 * statistics.median(cpu[name]),
                   "wall_ms_min": 1e3 * min(wall[name]), "runs": runs} for name in functions}


def check_agreement(x, params, mask, upstream, torch=None) -> dict:
    """Largest differences between the implementations (outputs; gradients against torch)."""
    tensors = {name: ag.Tensor(value, requires_grad=True) for name, value in params.items()}
    out = autograd_step(x, tensors, mask, upstream)
    report = {"autograd_vs_numpy_output": float(np.max(np.abs(out.data - numpy_block(x, params, mask))))}
    if torch is not None:
        t_params = {name: torch.tensor(value, requires_grad=True) for name, value in params.items()}
        t_out = torch_step(torch, torch.tensor(x), t_params, torch.tensor(mask), torch.tensor(upstream))
        report["autograd_vs_torch_output"] = float(np.max(np.abs(out.data - t_out.detach().numpy())))
        report["autograd_vs_torch_grad_relative"] = max(
            float(np.max(np.abs(tensors[n].grad - t_params[n].grad.numpy())) / np.max(np.abs(t_params[n].grad.numpy())))
            for n in params)
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--runs", type=int, default=50, help="timed repetitions per implementation (median)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed calls of each implementation first")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.warmup < 0:
        parser.error("--runs must be >= 1 and --warmup >= 0")

    x, params, upstream = make_inputs()
    mask = causal_mask(SEQUENCE)
    try:
        import torch
    except ImportError:
        torch = None

    agreement = check_agreement(x, params, mask, upstream, torch)
    tensors = {name: ag.Tensor(value, requires_grad=True) for name, value in params.items()}
    functions = {
        "autograd forward+backward": lambda: autograd_step(x, tensors, mask, upstream),
        "numpy forward": lambda: numpy_block(x, params, mask),
    }
    if torch is not None:
        t_params = {name: torch.tensor(value, requires_grad=True) for name, value in params.items()}
        tx, tmask, tup = torch.tensor(x), torch.tensor(mask), torch.tensor(upstream)
        functions["torch forward+backward"] = lambda: torch_step(torch, tx, t_params, tmask, tup)
    results = measure(functions, args.runs, args.warmup)

    print(f"one pre-norm transformer block, batch {BATCH}, sequence {SEQUENCE}, width {WIDTH}, "
          f"{HEADS} heads, float64; median of {args.runs} runs")
    print(f"{'':28s}{'wall ms':>10s}{'CPU ms':>10s}")
    for name, figures in results.items():
        print(f"{name:28s}{figures['wall_ms']:10.2f}{figures['cpu_ms']:10.2f}")
    ours = results["autograd forward+backward"]
    ratios = {"autograd / numpy forward (wall)": ours["wall_ms"] / results["numpy forward"]["wall_ms"]}
    if torch is not None:
        theirs = results["torch forward+backward"]
        ratios["autograd / torch (wall)"] = ours["wall_ms"] / theirs["wall_ms"]
        ratios["autograd / torch (CPU)"] = ours["cpu_ms"] / theirs["cpu_ms"]
    else:
        print("(PyTorch is not importable here: no torch comparison)")
    for name, value in ratios.items():
        print(f"{name:36s}{value:8.2f}")
    for name, value in agreement.items():
        print(f"{name:36s}{value:10.2e}")

    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "shape": {"batch": BATCH, "sequence": SEQUENCE, "width": WIDTH, "heads": HEADS, "dtype": "float64"},
            "results": results, "ratios": ratios, "agreement": agreement,
            "machine": {"python": platform.python_version(), "numpy": np.__version__,
                        "torch": getattr(torch, "__version__", None),
                        "torch_threads": torch.get_num_threads() if torch is not None else None,
                        "cpus": os.cpu_count(),
                        "thread_variables": {name: os.environ.get(name) for name in
                                             ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}},
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
