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

__all__ = ["Feedback", "check_choice", "check_number", "check_matrix", "check_function"]


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


def check_choice(answer, correct: str, hints: dict[str, str]) -> Feedback:
    """A multiple-choice answer: one letter, compared case-insensitively, "(b)" accepted.

    ``hints`` maps every offered letter to what to say when it is chosen (for the correct letter:
    why it is right).
    """
    if correct not in hints:
        raise ValueError(f"correct must be one of the offered letters {sorted(hints)}, got {correct!r}")
    letter = str(answer).strip().strip("()").strip().lower()
    if letter == correct:
        return Feedback(True, hints[correct])
    if letter in hints:
        return Feedback(False, hints[letter])
    return Feedback(False, f"Answer with one letter: {', '.join(sorted(hints))}.")


def check_number(answer, expected: float, *, mistakes: Sequence[tuple[float, str]] = (),
                 rtol: float = 1e-3, atol: float = 1e-6, what: str = "your answer",
                 hint: str = "Recompute it step by step and compare each intermediate.") -> Feedback:
    """Is ``answer`` close to ``expected``? If not, is it one of the typical ``mistakes``?"""
    value = _as_float_array(answer)
    if value is None or value.ndim != 0:
        return Feedback(False, f"{what} should be a single number, got {answer!r}.")
    if not np.isfinite(value):
        return Feedback(False, f"{what} is {float(value)}; a finite number is expected.")
    if _close(value, np.asarray(expected, dtype=float), rtol, atol):
        return Feedback(True, f"{what} = {float(value):.6g} matches.")
    for wrong, mistake_hint in mistakes:
        if _close(value, np.asarray(wrong, dtype=float), rtol, atol):
            return Feedback(False, mistake_hint)
    return Feedback(False, hint)


def check_matrix(answer, expected, *, mistakes: Sequence[tuple[object, str]] = (),
                 rtol: float = 1e-3, atol: float = 1e-6, what: str = "your matrix",
                 hint: str = "Some entries differ; recompute one row by hand and compare.") -> Feedback:
    """Is ``answer`` an array close to ``expected``? If not, which typical mistake does it match?"""
    value = _as_float_array(answer)
    target = np.asarray(expected, dtype=float)
    if value is None:
        return Feedback(False, f"{what} should be an array of numbers.")
    if value.shape != target.shape:
        if value.shape == target.T.shape and _close(value, target.T, rtol, atol):
            return Feedback(False, f"{what} is the transpose of the expected matrix: check which index runs over rows.")
        for wrong, mistake_hint in mistakes:
            wrong = np.asarray(wrong, dtype=float)
            if _close(value, wrong, rtol, atol):
                return Feedback(False, mistake_hint)
        return Feedback(False, f"{what} has shape {value.shape}; the expected shape is {target.shape}.")
    if not np.all(np.isfinite(value)):
        return Feedback(False, f"{what} contains NaN or infinite entries.")
    if _close(value, target, rtol, atol):
        return Feedback(True, f"{what} matches every entry.")
    for wrong, mistake_hint in mistakes:
        if _close(value, np.asarray(wrong, dtype=float), rtol, atol):
            return Feedback(False, mistake_hint)
    return Feedback(False, hint)


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
