"""Checkers for the exercises of chapter 7 (errata)."""

from __future__ import annotations

import numpy as np

from .. import pipeline, printed, walkthrough
from .feedback import Feedback, check_choice

__all__ = ["check_errata_ex_1", "check_errata_ex_2", "SOLUTIONS"]


def _qk_comparison():
    return printed.compare_printed(walkthrough.PRINTED_QK_T, pipeline.seed_run().attention.scores)


def check_errata_ex_1(answer) -> Feedback:
    """(row, column), 1-based, of a wrong entry of the printed Q K^T other than (1, 3)."""
    try:
        row, column = (int(v) for v in answer)
    except (TypeError, ValueError):
        return Feedback(False, "Give the entry as a pair (row, column), e.g. (2, 4).")
    comparison = _qk_comparison()
    if not (1 <= row <= 10 and 1 <= column <= 10):
        return Feedback(False, "Rows and columns of Q K^T run from 1 to 10 (one per token); the seed's extra rows "
                               "are not part of the matrix.")
    if (row, column) == (1, 3):
        return Feedback(False, "That is the chapter's example; find another one.")
    wrong = {(d.row + 1, d.col + 1): d for d in comparison.disagreements}
    if (row, column) in wrong:
        d = wrong[(row, column)]
        return Feedback(True, f"The seed prints {d.printed:g}; the dot product is {d.computed:.2f}.")
    entry = printed.printed_array(walkthrough.PRINTED_QK_T, shape=(10, 10))[row - 1, column - 1]
    if np.isnan(entry):
        return Feedback(False, f"Row {row} has no entry {column} in the seed: that is a shape error, not a wrong "
                               "value. Pick an entry that is printed.")
    return Feedback(False, f"Entry ({row}, {column}) is printed {entry:g}, which is the dot product to two "
                           "decimals. Recompute another one: row i is token i, column j is token j.")


def check_errata_ex_2(answer) -> Feedback:
    """Which printings of sqrt(2) agree at their printing precision? (a-d)."""
    root = float(np.sqrt(2))
    return check_choice(answer, "c", {
        "a": "Three and four decimals can agree too: 1.414 is within 0.0005 of sqrt(2).",
        "b": f"1.41 is within 0.005 of sqrt(2) (it is {abs(1.41 - root):.5f} away), so it agrees at two decimals.",
        "c": "Right: each is within half a unit of its last digit.",
        "d": f"1.415 is {abs(1.415 - root):.5f} away from sqrt(2), more than 0.0005.",
    })


SOLUTIONS = {
    "errata-ex-1": (5, 3),
    "errata-ex-2": "c",
}
