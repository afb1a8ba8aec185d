"""Every chapter 5 solution passes its checker; typical wrong answers get their specific hint."""

import numpy as np
import pytest

from mgie_lessons.exercises import diffusion as ex


def test_solution_values_by_hand():
    # eta = 0.2: 0.6 - 0.2 * (0.6 + 0.4 + 0.2) = 0.36; eta* = 0.1 / 1.2 = 1/12; eta*(T) = 1/(T(T+1))
    assert ex.check_diffusion_ex_2(0.6 - 0.2 * 1.2).correct
    assert ex.check_diffusion_ex_3(0.1 / 1.2).correct
    assert ex.check_diffusion_ex_5([1 / (T * (T + 1)) for T in range(1, 6)]).correct


@pytest.mark.parametrize("letter, phrase", [("a", "More steps remove more"), ("c", "nothing in the update knows eps"),
                                            ("d", "overshoot"), ("z", "one letter")])
def test_ex1_wrong_letters(letter, phrase):
    feedback = ex.check_diffusion_ex_1(letter)
    assert not feedback.correct and phrase in feedback.message


def test_ex1_accepts_formats():
    assert ex.check_diffusion_ex_1(" (B) ").correct


@pytest.mark.parametrize("answer, phrase", [
    (0.40, "stopped after two steps"),
    (0.48, "t = 2, 1, 0"),
    (0.84, "you added it"),
    (0.26, "started from I"),
    (0.30, "Do the three steps"),
])
def test_ex2_mistakes(answer, phrase):
    feedback = ex.check_diffusion_ex_2(answer)
    assert not feedback.correct and phrase in feedback.message


@pytest.mark.parametrize("answer, phrase", [
    (1 / 6, "eps_hat_3 = 0.6 alone"),
    (0.5, "eps / eps_hat_1"),
    (0.5 / 1.2, "image value I"),
    (0.1, "seed's eta"),
])
def test_ex3_mistakes(answer, phrase):
    feedback = ex.check_diffusion_ex_3(answer)
    assert not feedback.correct and phrase in feedback.message


def _ascending(z, eta, T, slope):
    out = [z]
    for t in range(1, T + 1):
        z = z - eta * slope * t
        out.append(z)
    return out


def _plus(z, eta, T, slope):
    out = [z]
    for t in range(T, 0, -1):
        z = z + eta * slope * t
        out.append(z)
    return out


def _no_start(z, eta, T, slope):
    out = []
    for t in range(T, 0, -1):
        z = z - eta * slope * t
        out.append(z)
    return out


def _broken(z, eta, T, slope):
    raise RuntimeError("not written yet")


@pytest.mark.parametrize("function, phrase", [
    (_ascending, "t = 1, 2, ..., T"),
    (_plus, "yours adds it"),
    (_no_start, "Include the start"),
    (_broken, "raised RuntimeError"),
])
def test_ex4_mistakes(function, phrase):
    feedback = ex.check_diffusion_ex_4(function)
    assert not feedback.correct and phrase in feedback.message


def test_ex5_mistakes():
    T = np.arange(1, 6)
    feedback = ex.check_diffusion_ex_5(0.1 / (0.2 * T))
    assert not feedback.correct and "first prediction" in feedback.message
    feedback = ex.check_diffusion_ex_5(0.5 / (0.1 * T * (T + 1)))
    assert not feedback.correct and "not the image value" in feedback.message
    feedback = ex.check_diffusion_ex_5([0.5, 0.2])
    assert not feedback.correct and "shape" in feedback.message


# --- Issue 11, item 9: answers at the stated precision pass, wrong ones are told what is wrong ---

def test_ex5_accepts_three_significant_figures_and_widget_readings():
    assert ex.check_diffusion_ex_5([0.5, 0.167, 0.0833, 0.05, 0.0333]).correct
    assert ex.check_diffusion_ex_5([0.5, 0.167, 0.083, 0.05, 0.033]).correct      # three decimals, as read off
    assert ex.check_diffusion_ex_5([1 / 2, 1 / 6, 1 / 12, 1 / 20, 1 / 30]).correct


def test_ex5_names_the_wrong_entry_and_direction():
    feedback = ex.check_diffusion_ex_5([0.5, 0.17, 0.0833, 0.05, 0.0333])
    assert not feedback.correct and "entry 2 is too high" in feedback.message and "other 4 match" in feedback.message
    feedback = ex.check_diffusion_ex_5([0.5, 0.167, 0.0833, 0.05, 0.03])
    assert not feedback.correct and "entry 5 is too low" in feedback.message


def test_ex3_precision_and_direction():
    assert ex.check_diffusion_ex_3(0.0833).correct
    assert not ex.check_diffusion_ex_3(0.083).correct           # two significant figures only
    assert "too high" in ex.check_diffusion_ex_3(0.09).message
    assert "too low" in ex.check_diffusion_ex_3(0.07).message
