"""Chapter 7: a printed number beside the computed one, and when they agree.

The seed walkthrough prints its results by hand, rounded. A value printed with d decimals,
p, agrees with the computed value c when it is within half a unit of its last printed digit:

    |p - c| <= 0.5 * 10^-d                                      (Eq. 7.1)

(0.005 for 0.09, 0.0005 for 1.414). Trailing zeros are lost when a printed number is stored
(0.10 becomes 0.1), so an entry is read with at least the number of decimals most common in
its matrix (:func:`printing_tolerance`). A printed matrix agrees only when it also has the
computed shape (every row there, each with the computed number of entries). A printed softmax
can be judged without any computation too: each of its rows must sum to one,

    sum_j A_ij = 1  for every row i                              (Eq. 7.2, from Eq. 2.4)

(:func:`printed_row_sums`).

The seed's matrices are ragged (rows of 8, 9 or 10 entries where 10 belong, extra rows), so
they are kept as tuples of rows and compared as printed: :func:`compare_printed` sets a printed
matrix beside the computed one entry by entry (aligned from the left), and
:func:`compare_printings` sets two printings of one matrix beside each other. Every chapter that
shows a printed value uses this module; chapter 7 (:mod:`mgie_lessons.errata`) collects them all.
Only numpy and :mod:`mgie_lessons.validation` are imported, so any chapter module may import it.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

from .validation import as_matrix, check_finite_number, check_int

__all__ = [
    "EntryDifference",
    "PrintedComparison",
    "printed_row_lengths",
    "printed_row_sums",
    "printed_array",
    "printing_tolerance",
    "compare_printed",
    "PrintingDifference",
    "compare_printings",
    "number_tolerance",
    "number_verdict",
    "describe_shape",
    "describe_differences",
    "describe_comparison",
]


def _checked_printed(printed, name: str = "printed") -> tuple[tuple[float, ...], ...]:
    if isinstance(printed, (str, bytes)) or not hasattr(printed, "__iter__"):
        raise ValueError(f"{name} must be a sequence of rows (a tuple of tuples), got {type(printed).__name__}")
    rows = []
    for i, row in enumerate(printed):
        if isinstance(row, (str, bytes)) or not hasattr(row, "__iter__"):
            raise ValueError(f"{name} row {i} must be a sequence of numbers, got {row!r}")
        values = []
        for value in row:
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise ValueError(f"{name} row {i} has a non-numeric entry {value!r}") from None
            if not math.isfinite(number):
                raise ValueError(f"{name} row {i} has a non-finite entry {value!r}")
            values.append(number)
        rows.append(tuple(values))
    if not rows:
        raise ValueError(f"{name} must have at least one row")
    return tuple(rows)


def printed_row_lengths(printed) -> tuple[int, ...]:
    """The number of entries in each printed row: the shape "as printed" (chapter 7)."""
    return tuple(len(row) for row in _checked_printed(printed))


def printed_row_sums(printed) -> np.ndarray:
    """The sum of each printed row, whatever its length (a softmax row must sum to 1, Eq. 7.2)."""
    return np.array([math.fsum(row) for row in _checked_printed(printed)])


def printed_array(printed, shape: tuple[int, int] | None = None) -> np.ndarray:
    """A ragged printed matrix as a rectangular float array, NaN where no entry was printed.

    Entries are aligned from the left: entry j of a printed row goes to column
    j. ``shape`` (rows, cols) crops or pads to that size; by default it is
    (number of printed rows, longest row).
    """
    rows = _checked_printed(printed)
    if shape is None:
        shape = (len(rows), max(len(row) for row in rows))
    if len(shape) != 2:
        raise ValueError(f"shape must be (rows, cols), got {shape!r}")
    n_rows = check_int(shape[0], "shape[0]", minimum=1)
    n_cols = check_int(shape[1], "shape[1]", minimum=1)
    array = np.full((n_rows, n_cols), np.nan)
    for i, row in enumerate(rows[:n_rows]):
        kept = row[:n_cols]
        array[i, :len(kept)] = kept
    return array


def _decimals(value: float) -> int:
    """The number of decimals in the shortest form of ``value`` (0.035 -> 3, 0.1 -> 1, 2.0 -> 0)."""
    text = repr(float(value))
    if "e" in text or "E" in text:
        mantissa, exponent = text.lower().split("e")
        digits = len(mantissa.split(".")[1].rstrip("0")) if "." in mantissa else 0
        return max(0, digits - int(exponent))
    if "." not in text:
        return 0
    return len(text.split(".")[1].rstrip("0"))


def printing_tolerance(printed) -> np.ndarray:
    """Half a unit in the last printed digit of each entry, as a NaN-padded array (Eq. 7.1).

    A value printed with d decimals may be off by up to 0.5 * 10^-d from the
    true one (0.005 for 0.09). Trailing zeros are lost when a number is stored
    (0.10 becomes 0.1), so every entry is read with at least the matrix's most
    common number of decimals: in a matrix printed to two decimals, 0.1 counts
    as 0.10.
    """
    rows = _checked_printed(printed)
    counts = Counter(_decimals(v) for row in rows for v in row)
    if not counts:
        raise ValueError("printed has no entries")
    # The most common number of decimals; ties go to the larger (stricter) one.
    typical = max(counts.items(), key=lambda item: (item[1], item[0]))[0]
    tolerance = np.full((len(rows), max(len(row) for row in rows) or 1), np.nan)
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            tolerance[i, j] = 0.5 * 10.0 ** -max(_decimals(value), typical)
    return tolerance


@dataclass(frozen=True)
class EntryDifference:
    """One printed entry that disagrees with the computed one (0-based row and col)."""

    row: int
    col: int
    printed: float
    computed: float
    difference: float
    tolerance: float


@dataclass(frozen=True)
class PrintedComparison:
    """A printed (possibly ragged) matrix beside the computed one (see :func:`compare_printed`).

    Shape as printed:
      ``row_lengths`` (entries in each printed row), ``computed_shape``,
      ``extra_rows`` / ``missing_rows`` (printed rows beyond / short of the
      computed number), ``short_rows`` / ``long_rows`` (0-based indices of
      printed rows, among the first computed-rows ones, with fewer / more
      entries than the computed columns), ``missing_entries`` (entries absent
      from the overlapping rows, plus all entries of missing rows) and
      ``extra_entries`` (entries beyond the computed columns plus every entry
      of an extra row).
    Values (the rectangular part: the first min(rows) rows, computed columns):
      ``printed`` (NaN where nothing was printed), ``computed``,
      ``difference`` = printed - computed (NaN where nothing was printed),
      ``tolerance`` (half a unit in the last printed digit),
      ``disagreements`` (entries with |difference| > tolerance, row-major).
    ``row_sums``: the sum of every printed row as printed (all rows).
    """

    row_lengths: tuple[int, ...]
    computed_shape: tuple[int, int]
    extra_rows: int
    missing_rows: int
    short_rows: tuple[int, ...]
    long_rows: tuple[int, ...]
    missing_entries: int
    extra_entries: int
    printed: np.ndarray
    computed: np.ndarray
    difference: np.ndarray
    tolerance: np.ndarray
    disagreements: tuple[EntryDifference, ...]
    row_sums: np.ndarray

    @property
    def n_printed_rows(self) -> int:
        return len(self.row_lengths)

    @property
    def shape_matches(self) -> bool:
        """True when every printed row is there and has exactly the computed number of entries."""
        return (self.extra_rows == 0 and self.missing_rows == 0
                and self.missing_entries == 0 and self.extra_entries == 0)

    @property
    def agrees(self) -> bool:
        """True when the shape matches and every entry is within printing precision."""
        return self.shape_matches and not self.disagreements

    @property
    def max_abs_difference(self) -> float:
        """The largest |printed - computed| over the entries that were printed (rectangular part)."""
        finite = self.difference[np.isfinite(self.difference)]
        return float(np.max(np.abs(finite))) if finite.size else 0.0

    @property
    def verdict(self) -> str:
        """"agrees" (right shape, every entry within Eq. 7.1) or "differs"."""
        return "agrees" if self.agrees else "differs"


def compare_printed(printed, computed, *, tolerance: float | None = None) -> PrintedComparison:
    """Set a hand-printed matrix beside the computed one, entry by entry (Eq. 7.1, chapter 7).

    Parameters
    ----------
    printed : a ragged sequence of rows, e.g. ``walkthrough.PRINTED_QK_T`` (a tuple of
        tuples, rows of any length). Entries are aligned from the left: entry j
        of a printed row is compared with column j.
    computed : the 2-d array the package computes (finite numbers).
    tolerance : how far a printed entry may be from the computed one and still
        agree. Default: half a unit in its last printed digit (see
        :func:`printing_tolerance`), 0.005 for a two-decimal entry.

    Returns a :class:`PrintedComparison` (pure data: counts, arrays, and the
    list of disagreeing entries).
    """
    rows = _checked_printed(printed)
    C = as_matrix(computed, "computed")
    n_rows, n_cols = C.shape
    if tolerance is None:
        entry_tolerance = printing_tolerance(rows)
    else:
        tol = check_finite_number(tolerance, "tolerance")
        if tol < 0:
            raise ValueError(f"tolerance must be >= 0, got {tol}")
        entry_tolerance = np.where(np.isnan(printed_array(rows)), np.nan, tol)
    lengths = tuple(len(row) for row in rows)
    common = min(len(rows), n_rows)
    P = printed_array(rows, shape=(common, n_cols))
    T = np.full((common, n_cols), np.nan)
    width = min(n_cols, entry_tolerance.shape[1])
    T[:, :width] = entry_tolerance[:common, :width]
    D = P - C[:common]
    disagreements = []
    for i in range(common):
        for j in range(n_cols):
            if np.isfinite(D[i, j]) and abs(D[i, j]) > T[i, j] + 1e-12:
                disagreements.append(EntryDifference(i, j, float(P[i, j]), float(C[i, j]),
                                                     float(D[i, j]), float(T[i, j])))
    extra_rows = max(0, len(rows) - n_rows)
    missing_rows = max(0, n_rows - len(rows))
    overlapping = lengths[:common]
    return PrintedComparison(
        row_lengths=lengths,
        computed_shape=(n_rows, n_cols),
        extra_rows=extra_rows,
        missing_rows=missing_rows,
        short_rows=tuple(i for i, m in enumerate(overlapping) if m < n_cols),
        long_rows=tuple(i for i, m in enumerate(overlapping) if m > n_cols),
        missing_entries=sum(max(0, n_cols - m) for m in overlapping) + missing_rows * n_cols,
        extra_entries=sum(max(0, m - n_cols) for m in overlapping) + sum(lengths[n_rows:]),
        printed=P,
        computed=C[:common].copy(),
        difference=D,
        tolerance=T,
        disagreements=tuple(disagreements),
        row_sums=printed_row_sums(rows),
    )


@dataclass(frozen=True)
class PrintingDifference:
    """One entry where two printings of the same matrix differ (0-based; None: not printed there)."""

    row: int
    col: int
    first: float | None
    second: float | None


def compare_printings(first, second, *, tolerance: float = 0.0) -> tuple[PrintingDifference, ...]:
    """Entries where two printings of one matrix differ, row by row (chapter 7).

    Both are ragged sequences of rows, aligned from the left like in
    :func:`compare_printed`. An entry present in one printing and absent from
    the other is a difference too (with ``None`` on the missing side), and so
    is every entry of a row only one printing has. Two present entries differ
    when |first - second| > ``tolerance`` (default 0: printed identically).
    """
    rows_first = _checked_printed(first, "first")
    rows_second = _checked_printed(second, "second")
    tol = check_finite_number(tolerance, "tolerance")
    if tol < 0:
        raise ValueError(f"tolerance must be >= 0, got {tol}")
    differences = []
    for i in range(max(len(rows_first), len(rows_second))):
        row_a = rows_first[i] if i < len(rows_first) else ()
        row_b = rows_second[i] if i < len(rows_second) else ()
        for j in range(max(len(row_a), len(row_b))):
            a = row_a[j] if j < len(row_a) else None
            b = row_b[j] if j < len(row_b) else None
            if a is None or b is None or abs(a - b) > tol + 1e-12:
                differences.append(PrintingDifference(i, j, a, b))
    return tuple(differences)


# ---------------------------------------------------------------------------
# One way to say it: agrees / differs, and how
# ---------------------------------------------------------------------------


def number_tolerance(printed: float, decimals: int | None = None) -> float:
    """0.5 * 10^-d for one printed number (Eq. 7.1): d is ``decimals``, or else the decimals of
    ``printed`` as stored (a stored 0.20 reads as 0.2; pass ``decimals=2`` if it was printed "0.20")."""
    value = check_finite_number(printed, "printed")
    d = _decimals(value) if decimals is None else check_int(decimals, "decimals", minimum=0)
    return 0.5 * 10.0 ** -d


def number_verdict(printed: float, *computed: float, decimals: int | None = None) -> str:
    """"agrees" when one printed number is within Eq. 7.1 of a computed value, else "differs".

    Several computed values may be given (different readings of what the seed computes, e.g. two
    ways of counting mismatches): the number agrees when it agrees with any of them.
    """
    if not computed:
        raise ValueError("computed must give at least one value")
    tol = number_tolerance(printed, decimals)
    values = [check_finite_number(c, "computed") for c in computed]
    return "agrees" if any(abs(float(printed) - c) <= tol + 1e-12 for c in values) else "differs"


def _shape_text(lengths: tuple[int, ...], compact: bool) -> str:
    counts = Counter(lengths)
    if compact:
        return ", ".join(f"{count}x{length}" for length, count in sorted(counts.items(), reverse=True))
    if len(counts) == 1:
        return f"{len(lengths)} x {lengths[0]}"
    parts = ", ".join(f"{count} of {length}" for length, count in sorted(counts.items(), reverse=True))
    return f"{len(lengths)} rows ({parts} entries)"


def describe_shape(printed, *, compact: bool = False) -> str:
    """The shape as printed: "10 x 2" when every row has the same length, else the rows and how many
    have each length, "27 rows (17 of 8, 1 of 3, 9 of 2 entries)"; ``compact``: "17x8, 1x3, 9x2"
    (count x entries, longest rows first; "10x2" for a rectangular matrix)."""
    return _shape_text(printed_row_lengths(printed), compact)


def describe_differences(comparison: PrintedComparison) -> str:
    """How many entries break Eq. 7.1, and by how much: "58 of the 100 entries differ (largest by 0.09)"."""
    n = comparison.computed_shape[0] * comparison.computed_shape[1]
    text = f"{len(comparison.disagreements)} of the {n} entries differ"
    if comparison.disagreements:
        text += f" (largest by {comparison.max_abs_difference:.3g})"
    return text


def describe_comparison(comparison: PrintedComparison) -> str:
    """The verdict and how: "agrees", the entries that differ (:func:`describe_differences`), and the
    shape when it differs ("shape differs: printed 11 x 2 for 10 x 2")."""
    if comparison.agrees:
        return "agrees"
    rows, cols = comparison.computed_shape
    shape = f"shape differs: printed {_shape_text(comparison.row_lengths, False)} for {rows} x {cols}"
    if not comparison.disagreements:
        return f"entries agree, {shape}"
    if comparison.shape_matches:
        return describe_differences(comparison)
    return f"{describe_differences(comparison)}; {shape}"
