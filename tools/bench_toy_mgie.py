"""Benchmark of the toy MGIE: time to the quality bar, training steps per second, time per edit.

    .venv/bin/python -m tools.bench_toy_mgie [--json artifacts/bench_toy_mgie.json]
                                            [--every 250] [--eval 200] [--steps N] [--edit-only]
                                            [--out PATH]

1. **Time to the bar.** Trains ``DEFAULT_CONFIG`` from ``PRETRAINED_SEED`` exactly as
   ``make train`` does (``PRETRAINED_STEPS`` steps, the same learning-rate schedule); every
   ``--every`` steps it pauses the clock and measures ``--eval`` held-out examples
   (``make_dataset(n, toy_mgie.VALIDATION_SEED, "heldout")``, with ``edit``'s defaults: 20 DDIM
   steps, s_V = 1.5, s_X = 7.5 inside ``GUIDANCE_INTERVAL``). The time to the bar is the training time (evaluation excluded) of the first
   checkpoint where at least 90% of edits succeed and at least 90% of expressive instructions
   come out word for word. Steps per second are measured over the whole run. The evaluations
   do not change the training (their noise has its own seeds), so the trained weights are
   ``make train``'s: ``--out`` saves them (float32, as ``make train``) and prints their SHA-256
   to compare with the shipped file.
2. **Time per edit.** The shipped weights (``load_pretrained``) edit one image with 20 DDIM
   steps and two-scale guidance (3 UNet passes per step, batched); median of ``--edits`` runs.

numpy's BLAS uses every core by default; set ``OPENBLAS_NUM_THREADS=1`` for one core.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import statistics
import time
from pathlib import Path

from mgie_lessons import toy_edits, toy_mgie  # noqa: E402

EVAL_SEED = toy_mgie.VALIDATION_SEED
BAR = 0.9


def time_to_bar(steps: int, every: int, n_eval: int, out=None) -> dict:
    """Train as ``make train`` does, measuring held-out quality every ``every`` steps."""
    held_out = toy_edits.make_dataset(n_eval, EVAL_SEED, "heldout")
    checkpoints = []

    def callback(step, model):
        if step % every and step != steps:
            return
        result = toy_mgie.evaluate(model, held_out)
        checkpoints.append({"step": step, "seconds": model.history["seconds"][-1],
                            "success_rate": result.success_rate, "expressive_rate": result.expressive_rate,
                            "success_given_expressive": result.success_given_expressive})
        print(f"step {step:5d}  {model.history['seconds'][-1]:7.1f} s  edits {result.success_rate:6.1%}  "
              f"expressive {result.expressive_rate:6.1%}", flush=True)

    model = toy_mgie.train(toy_mgie.DEFAULT_CONFIG, toy_mgie.PRETRAINED_SEED, steps=steps, progress=False,
                           callback=callback)
    if out is not None:
        path = toy_mgie.save(model, out)
        print(f"wrote {path}, sha256 {hashlib.sha256(path.read_bytes()).hexdigest()}")
    reached = next((c for c in checkpoints if c["success_rate"] >= BAR and c["expressive_rate"] >= BAR), None)
    return {"steps": steps, "training_seconds": model.history["seconds"][-1],
            "steps_per_second": steps / model.history["seconds"][-1],
            "checkpoints": checkpoints,
            "bar_reached_at_step": reached["step"] if reached else None,
            "seconds_to_bar": reached["seconds"] if reached else None}


def time_per_edit(runs: int) -> dict:
    """Median seconds for ``edit`` of one held-out image with the shipped weights (defaults: 20 steps, guidance)."""
    if toy_mgie.PRETRAINED_PATH.exists():
        model, weights = toy_mgie.load_pretrained(), "shipped"
    else:  # the time does not depend on the weights' values
        model, weights = toy_mgie.train(toy_mgie.DEFAULT_CONFIG, 0, steps=1, progress=False), "untrained (no shipped file)"
    example = toy_edits.make_dataset(1, EVAL_SEED, "heldout")[0]
    toy_mgie.edit(model, example.image, example.instruction)  # warm-up
    times = []
    for seed in range(runs):
        started = time.perf_counter()
        toy_mgie.edit(model, example.image, example.instruction, seed=seed)
        times.append(time.perf_counter() - started)
    return {"edit_seconds_median": statistics.median(times), "edit_seconds_min": min(times), "runs": runs,
            "edit_weights": weights}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--steps", type=int, default=toy_mgie.PRETRAINED_STEPS, help="training steps")
    parser.add_argument("--every", type=int, default=250, help="evaluate every this many steps")
    parser.add_argument("--eval", type=int, default=200, help="held-out examples per evaluation")
    parser.add_argument("--edits", type=int, default=10, help="timed edits")
    parser.add_argument("--out", type=Path, help="save the trained weights here (float32, as make train)")
    parser.add_argument("--edit-only", action="store_true", help="time the edit only (no training)")
    args = parser.parse_args(argv)
    if min(args.steps, args.every, args.eval, args.edits) < 1:
        parser.error("--steps, --every, --eval and --edits must be >= 1")

    report = {"machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
              "openblas_threads": os.environ.get("OPENBLAS_NUM_THREADS", "default")}
    report.update(time_per_edit(args.edits))
    print(f"edit of one image (20 DDIM steps, guidance): {report['edit_seconds_median'] * 1e3:.0f} ms median")
    if not args.edit_only:
        report.update(time_to_bar(args.steps, args.every, args.eval, args.out))
        print(f"training: {report['steps_per_second']:.2f} steps/s; "
              + (f"bar reached at step {report['bar_reached_at_step']} after {report['seconds_to_bar']:.0f} s"
                 if report["seconds_to_bar"] is not None else "bar not reached"))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
