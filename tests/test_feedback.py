"""Tests for mgie_lessons.exercises.feedback: precision the exercise states, and hints that say what is wrong."""

import numpy as np
import pytest

from mgie_lessons.exercises.feedback import (Feedback, check_choice, check_matrix, check_number, describe_difference,
                                             precision_tolerance)


def test_precision_tolerance_is_half_a_unit_in_the_last_digit():
    assert precision_tolerance(1 / 6, sig_figs=3) == pytest.approx(5e-4)
    assert precision_tolerance(1 / 12, sig_figs=3) == pytest.approx(5e-5)
    assert precision_tolerance(123.4, sig_figs=2) == pytest.approx(5.0)
    assert precision_tolerance(0.0833, decimals=3) == pytest.approx(5e-4)
    both = precision_tolerance([0.5, 1 / 30], sig_figs=3, decimals=3)   # the looser of the two, entry by entry
    assert both == pytest.approx([5e-4, 5e-4])


@pytest.mark.parametrize("bad", [0, -1, 2.5])
def test_precision_tolerance_rejects_bad_precision(bad):
    with pytest.raises(ValueError, match="sig_figs"):
        precision_tolerance(1.0, sig_figs=bad)


@pytest.mark.parametrize("expected", [1 / 3, 2 / 3, 0.0123456, 98765.4321, -0.4567])
def test_every_correctly_rounded_answer_passes_and_one_unit_off_fails(expected):
    for sig in (2, 3, 4):
        rounded = float(f"{expected:.{sig}g}")
        unit = 10.0 ** (np.floor(np.log10(abs(expected))) - sig + 1)
        assert check_number(rounded, expected, sig_figs=sig, rtol=0, atol=0).correct
        assert not check_number(rounded + 1.5 * unit, expected, sig_figs=sig, rtol=0, atol=0).correct


def test_without_a_stated_precision_the_old_tolerance_holds():
    assert not check_number(0.167, 1 / 6).correct
    assert check_number(0.16667, 1 / 6).correct


def test_describe_difference_for_numbers():
    assert "too high" in describe_difference(2.0, 1.0)
    assert "too low" in describe_difference(0.5, 1.0)
    assert "wrong sign" in describe_difference(-1.0, 1.0)
    assert "factor of 10^2" in describe_difference(100.0, 1.0)
    assert "too small by a factor of 10^1" in describe_difference(0.1, 1.0)


def test_describe_difference_for_arrays_names_the_entries():
    message = describe_difference([1.0, 2.5, 3.0, -4.0], [1.0, 2.0, 3.0, 4.0], what="your list")
    assert "entry 2 is too high" in message and "entry 4 has the wrong sign" in message
    assert "other 2 match" in message


def test_wrong_answers_get_the_direction_before_the_hint():
    feedback = check_number(3.0, 2.0, hint="HINT")
    assert not feedback.correct and feedback.message.startswith("Your value is too high") and "HINT" in feedback.message
    feedback = check_matrix([[1, 2], [3, 5]], [[1, 2], [3, 4]], hint="HINT")
    assert "entry 4 is too high" in feedback.message and feedback.message.endswith("HINT")


def test_mistakes_are_recognised_at_the_stated_precision():
    feedback = check_number(0.333, 0.5, mistakes=[(1 / 3, "a third")], sig_figs=3)
    assert not feedback.correct and feedback.message == "a third"
    feedback = check_matrix([0.333, 1], [0.5, 1], mistakes=[([1 / 3, 1], "a third")], sig_figs=3)
    assert feedback.message == "a third"


HINTS_AS_PRINTED = {"A": "A is wrong.", "B": "B is right.", "C": "C is wrong."}   # the book prints **A.**


@pytest.mark.parametrize("hints, correct", [(HINTS_AS_PRINTED, "B"),
                                            ({k.lower(): v for k, v in HINTS_AS_PRINTED.items()}, "b")])
def test_check_choice_reads_a_letter_however_the_book_prints_it(hints, correct):
    for answer in ("B", "b", " (b) ", "B.", "**B.**"):
        assert check_choice(answer, correct, hints) == Feedback(True, "B is right.")
    assert check_choice("c", correct, hints) == Feedback(False, "C is wrong.")
    for answer in ("E", "", "BC", 2, None):
        feedback = check_choice(answer, correct, hints)
        assert not feedback and "Answer with one letter out of" in feedback.message


def test_check_choice_rejects_a_correct_letter_that_is_not_offered():
    with pytest.raises(ValueError, match="correct"):
        check_choice("a", "b", HINTS_AS_PRINTED)
