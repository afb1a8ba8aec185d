"""Feedback for exercises: compare an answer with the package's, recognise typical mistakes.

A checker describes each typical mistake by the answer it produces (computed with the package,
e.g. the attention weights without the sqrt(d_k) scaling) and the hint to give when the
student's answer matches it. Nothing here raises at the student: bad answers, wrong shapes and
exceptions inside a student's function all become a short message.
"""

from __future__ import annotations

import html
import traceback
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

__all__ = ["Feedback", "check_choice", "check_number", "check_matrix", "check_function", "precision_tolerance",
           "describe_difference"]


@dataclass(frozen=True)
class Feedback:
    """The verdict on one answer: ``correct`` and a one- or two-sentence ``message``."""

    correct: bool
    message: str

    def __bool__(self) -> bool:
        return self.correct

    def __str__(self) -> str:
        return ("Correct. " if self.correct else "Not yet. ") + self.message

    def _repr_html_(self) -> str:
        colour = "#1b5e20" if self.correct else "#b00020"
        mark = "&#10004;" if self.correct else "&#10008;"
        verdict = "Correct." if self.correct else "Not yet."
        return f'<p role="status" style="color:{colour}">{mark} <b>{verdict}</b> {html.escape(self.message)}</p>'


def _as_float_array(answer):
    try:
        array = np.asarray(answer, dtype=float)
    except (TypeError, ValueError):
        return None
    return array


def _close(a: np.ndarray, b: np.ndarray, rtol: float, atol: float) -> bool:
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol))


def precision_tolerance(expected, *, sig_figs: int | None = None, decimals: int | None = None) -> np.ndarray:
    """Half a unit in the last digit an exercise asks for, entry by entry (0 where nothing is asked).

    An answer rounded to ``sig_figs`` significant figures, or to ``decimals`` decimal places (as a
    widget that prints ``:.3f`` shows it), lies within this distance of the exact value; when both
    are given the looser one applies. A relative slack of 1e-9 absorbs the float error of the
    rounding itself.
    """
    target = np.abs(np.asarray(expected, dtype=float))
    tolerance = np.zeros_like(target)
    if sig_figs is not None:
        if int(sig_figs) != sig_figs or sig_figs < 1:
            raise ValueError(f"sig_figs must be a whole number >= 1, got {sig_figs!r}")
        with np.errstate(divide="ignore"):
            exponent = np.where(target > 0, np.floor(np.log10(np.where(target > 0, target, 1.0))), 0.0)
        tolerance = np.maximum(tolerance, 0.5 * 10.0 ** (exponent - sig_figs + 1))
    if decimals is not None:
        if int(decimals) != decimals or decimals < 0:
            raise ValueError(f"decimals must be a whole number >= 0, got {decimals!r}")
        tolerance = np.maximum(tolerance, 0.5 * 10.0 ** (-decimals))
    return tolerance * (1 + 1e-9) + 1e-12


def _accepts(value: np.ndarray, target: np.ndarray, rtol: float, atol: float, tolerance) -> bool:
    if value.shape != target.shape:
        return False
    if tolerance is not None and bool(np.all(np.abs(value - target) <= tolerance)):
        return True
    return _close(value, target, rtol, atol)


def _describe_entry(value: float, target: float) -> str:
    if target != 0 and value != 0 and np.sign(value) != np.sign(target):
        return "has the wrong sign"
    if target != 0 and value != 0:
        ratio = abs(value / target)
        power = round(float(np.log10(ratio)))
        if power != 0 and abs(ratio / 10.0 ** power - 1) < 0.02:
            return f"is {'too large' if power > 0 else 'too small'} by a factor of 10^{abs(power)} (a slipped decimal point?)"
    return "is too high" if value > target else "is too low"


def describe_difference(value, expected, tolerance=None, *, rtol: float = 1e-3, atol: float = 1e-6,
                        what: str = "your answer") -> str:
    """Say WHAT is wrong with an answer of the right shape, without giving the expected value away.

    For a number: too high, too low, wrong sign, or off by a power of ten. For an array: which
    entries (counted from 1, in reading order) are off and in which direction.
    """
    value = np.asarray(value, dtype=float)
    target = np.asarray(expected, dtype=float)
    if tolerance is None:
        tolerance = atol + rtol * np.abs(target)
    tolerance = np.broadcast_to(np.asarray(tolerance, dtype=float), target.shape)
    if target.ndim == 0:
        return f"Your value {_describe_entry(float(value), float(target))}."
    flat_value, flat_target, flat_tol = value.ravel(), target.ravel(), tolerance.ravel()
    off = [i for i in range(flat_target.size) if abs(flat_value[i] - flat_target[i]) > flat_tol[i]]
    if not off:
        return f"{what} is close but not within the precision asked for."
    parts = [f"entry {i + 1} {_describe_entry(float(flat_value[i]), float(flat_target[i]))}" for i in off[:4]]
    more = f" and {len(off) - 4} more" if len(off) > 4 else ""
    right = flat_target.size - len(off)
    kept = f"; the other {right} match" if right else ""
    return f"In {what}, " + ", ".join(parts) + more + kept + "."


def check_choice(answer, correct: str, hints: dict[str, str]) -> Feedback:
    """A multiple-choice answer: one letter, as a string, in either case and with or without the
    book's marks ("b", "(B)", "B." and "**b**" all choose b).

    ``hints`` maps every offered letter, written as the book prints it (``"B"`` where the book
    prints **B.**, ``"b"`` where it prints (b)), to what to say when it is chosen (for
    ``correct``: why it is right).
    """
    if correct not in hints:
        raise ValueError(f"correct must be one of the offered letters {sorted(hints)}, got {correct!r}")
    letters = {letter.lower(): letter for letter in hints}
    chosen = letters.get(answer.strip().strip("()*.").strip().lower()) if isinstance(answer, str) else None
    if chosen is None:
        return Feedback(False, f"Answer with one letter out of {', '.join(sorted(hints))}, "
                               f"as a string (e.g. \"{min(hints)}\").")
    return Feedback(chosen == correct, hints[chosen])


def check_number(answer, expected: float, *, mistakes: Sequence[tuple[float, str]] = (),
                 rtol: float = 1e-3, atol: float = 1e-6, what: str = "your answer",
                 hint: str = "Recompute it step by step and compare each intermediate.",
                 sig_figs: int | None = None, decimals: int | None = None) -> Feedback:
    """Is ``answer`` close to ``expected``? If not, is it one of the typical ``mistakes``?

    ``sig_figs`` / ``decimals``: also accept the exact value rounded to that many significant
    figures / decimal places (the precision the exercise states), see :func:`precision_tolerance`.
    A wrong answer that matches no typical mistake gets :func:`describe_difference` (too high, too
    low, wrong sign, a power of ten) before the ``hint``.
    """
    value = _as_float_array(answer)
    if value is None or value.ndim != 0:
        return Feedback(False, f"{what} should be a single number, got {answer!r}.")
    if not np.isfinite(value):
        return Feedback(False, f"{what} is {float(value)}; a finite number is expected.")
    target = np.asarray(expected, dtype=float)
    tolerance = None if sig_figs is None and decimals is None else precision_tolerance(
        target, sig_figs=sig_figs, decimals=decimals)
    if _accepts(value, target, rtol, atol, tolerance):
        return Feedback(True, f"{what} = {float(value):.6g} matches.")
    for wrong, mistake_hint in mistakes:
        wrong = np.asarray(wrong, dtype=float)
        wrong_tolerance = None if tolerance is None else precision_tolerance(wrong, sig_figs=sig_figs, decimals=decimals)
        if _accepts(value, wrong, rtol, atol, wrong_tolerance):
            return Feedback(False, mistake_hint)
    return Feedback(False, f"{describe_difference(value, target, tolerance, rtol=rtol, atol=atol, what=what)} {hint}")


def check_matrix(answer, expected, *, mistakes: Sequence[tuple[object, str]] = (),
                 rtol: float = 1e-3, atol: float = 1e-6, what: str = "your matrix",
                 hint: str = "Recompute the entries named above by hand and compare.",
                 sig_figs: int | None = None, decimals: int | None = None) -> Feedback:
    """Is ``answer`` an array close to ``expected``? If not, which typical mistake does it match?

    ``sig_figs`` / ``decimals`` accept every entry rounded to that precision, as in
    :func:`check_number`. A wrong answer of the right shape that matches no typical mistake is
    told which entries are off and in which direction (:func:`describe_difference`).
    """
    value = _as_float_array(answer)
    target = np.asarray(expected, dtype=float)
    tolerance = None if sig_figs is None and decimals is None else precision_tolerance(
        target, sig_figs=sig_figs, decimals=decimals)

    def matches(array, reference):
        reference = np.asarray(reference, dtype=float)
        ref_tolerance = None if tolerance is None else precision_tolerance(reference, sig_figs=sig_figs, decimals=decimals)
        return _accepts(array, reference, rtol, atol, ref_tolerance)

    if value is None:
        return Feedback(False, f"{what} should be an array of numbers.")
    if value.shape != target.shape:
        if value.shape == target.T.shape and matches(value, target.T):
            return Feedback(False, f"{what} is the transpose of the expected matrix: check which index runs over rows.")
        for wrong, mistake_hint in mistakes:
            if matches(value, wrong):
                return Feedback(False, mistake_hint)
        return Feedback(False, f"{what} has shape {value.shape}; the expected shape is {target.shape}.")
    if not np.all(np.isfinite(value)):
        return Feedback(False, f"{what} contains NaN or infinite entries.")
    if matches(value, target):
        return Feedback(True, f"{what} matches every entry.")
    for wrong, mistake_hint in mistakes:
        if matches(value, wrong):
            return Feedback(False, mistake_hint)
    return Feedback(False, f"{describe_difference(value, target, tolerance, rtol=rtol, atol=atol, what=what)} {hint}")


def check_function(student_function: Callable, reference_function: Callable,
                   make_inputs: Callable[[np.random.Generator], tuple], *, trials: int = 5,
                   seed: int = 0, mistakes: Sequence[tuple[Callable, str]] = (),
                   rtol: float = 1e-6, atol: float = 1e-9, what: str = "your function") -> Feedback:
    """Call ``student_function`` and ``reference_function`` on ``trials`` fresh random inputs.

    ``make_inputs(rng)`` returns a tuple of positional arguments. ``mistakes`` pairs a function
    implementing a typical mistake with its hint: if the student's outputs match a mistake on
    every trial, that hint is given. Exceptions from the student's code become a message.
    """
    if not callable(student_function):
        return Feedback(False, f"{what} should be a function (pass it without calling it).")
    rng = np.random.default_rng(seed)
    matches_mistake = [True] * len(mistakes)
    first_failure = None
    for trial in range(trials):
        arguments = make_inputs(rng)
        expected = np.asarray(reference_function(*arguments), dtype=float)
        try:
            got = student_function(*[np.array(a, copy=True) if isinstance(a, np.ndarray) else a for a in arguments])
        except Exception as error:  # the student's code: report, never raise
            last = traceback.extract_tb(error.__traceback__)[-1]
            return Feedback(False, f"{what} raised {type(error).__name__}: {error} (line {last.lineno}).")
        got_array = _as_float_array(got)
        if got_array is None:
            return Feedback(False, f"{what} returned {type(got).__name__}; an array of numbers is expected.")
        for index, (mistake_function, _) in enumerate(mistakes):
            wrong = np.asarray(mistake_function(*arguments), dtype=float)
            matches_mistake[index] = matches_mistake[index] and _close(got_array, wrong, 1e-6, 1e-9)
        if not _close(got_array, expected, rtol, atol) and first_failure is None:
            first_failure = (trial, got_array.shape, expected.shape)
    if first_failure is None:
        return Feedback(True, f"{what} agrees with the package on {trials} random inputs.")
    for matched, (_, mistake_hint) in zip(matches_mistake, mistakes):
        if matched:
            return Feedback(False, mistake_hint)
    trial, got_shape, expected_shape = first_failure
    if got_shape != expected_shape:
        return Feedback(False, f"{what} returned shape {got_shape} on random input {trial + 1}; expected {expected_shape}.")
    return Feedback(False, f"{what} disagrees with the package on random input {trial + 1} of {trials}.")
