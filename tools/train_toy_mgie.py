"""Train the toy MGIE from scratch and write the shipped weights (``make train``).

    .venv/bin/python -m tools.train_toy_mgie [--ablation NAME] [--out PATH] [--steps N] [--seed S]
                                             [--eval N] [--no-progress]

Trains ``mgie_lessons.toy_mgie.DEFAULT_CONFIG`` (or, with ``--ablation``, one of
``toy_mgie.ABLATIONS``) for ``PRETRAINED_STEPS`` steps from ``PRETRAINED_SEED`` (a fixed number of
steps, never a time limit, so the result depends only on the seed), saves it with
``toy_mgie.save`` (float32; float16 for an ablation) and prints the file's SHA-256; the same
machine gives the same bytes on every run. ``make train`` runs the shipped model, ``make
ablations`` the three ablations. Then it measures the saved weights on the test examples
(``toy_edits.make_dataset(N, toy_mgie.TEST_SEED, "heldout")``, combinations never seen in
training, a seed never used to choose anything): the share of edits that succeed and of
expressive instructions written word for word.

The BLAS library is held to one thread (set below, before numpy loads): a matrix product
split over two threads adds in another order and changes the last bits, so the weights would
depend on the number of cores. The bytes can still differ between CPU families (the BLAS
library picks different kernels).
"""

from __future__ import annotations

import os

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"

import argparse  # noqa: E402
import hashlib  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from mgie_lessons import toy_edits, toy_mgie  # noqa: E402



def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ablation", choices=[name.replace(" ", "_") for name in toy_mgie.ABLATIONS],
                        help="train this ablation instead")
    parser.add_argument("--out", type=Path, default=None, help="where to write the .npz (default: the shipped path)")
    parser.add_argument("--steps", type=int, default=toy_mgie.PRETRAINED_STEPS, help="training steps")
    parser.add_argument("--seed", type=int, default=toy_mgie.PRETRAINED_SEED, help="training seed")
    parser.add_argument("--eval", type=int, default=500, help="held-out examples to measure (0: skip)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if args.steps < 1 or args.seed < 0 or args.eval < 0:
        parser.error("--steps must be >= 1, --seed and --eval >= 0")

    if args.ablation:
        name = args.ablation.replace("_", " ")
        config, dtype = toy_mgie.ABLATIONS[name], np.float16
        out = args.out or toy_mgie.ablation_path(name)
    else:
        config, dtype = toy_mgie.DEFAULT_CONFIG, np.float32
        out = args.out or toy_mgie.PRETRAINED_PATH
    started = time.perf_counter()
    model = toy_mgie.train(config, args.seed, steps=args.steps, progress=not args.no_progress)
    wall = time.perf_counter() - started
    path = toy_mgie.save(model, out, dtype=dtype)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    print(f"trained {args.steps} steps (seed {args.seed}) in {wall:.1f} s "
          f"({args.steps / model.history['seconds'][-1]:.2f} steps/s)")
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB), sha256 {digest}")
    print(f"parameters: {toy_mgie.parameter_count(model.params)}")
    if args.eval:
        result = toy_mgie.evaluate(toy_mgie.load(path), toy_edits.make_dataset(args.eval, toy_mgie.TEST_SEED, "heldout"))
        print(f"held-out test ({args.eval} examples, seed {toy_mgie.TEST_SEED}): edits succeed {result.success_rate:.1%}, "
              f"expressive word for word {result.expressive_rate:.1%}, "
              f"edits succeed when the expressive instruction is right {result.success_given_expressive:.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
