"""Tests for chapter 8's exercise checkers: solutions pass, typical mistakes get their hint."""

import math

import numpy as np

from mgie_lessons import schedules
from mgie_lessons.exercises import schedules as E


def test_ex1_letters():
    assert E.check_schedules_ex_1("B").correct
    assert "opposite" in E.check_schedules_ex_1("a").message
    assert "seed's own constant" in E.check_schedules_ex_1("c").message
    assert "one letter" in E.check_schedules_ex_1("z").message


def test_ex2_by_hand_values_and_mistakes():
    # independent: a = sqrt(0.64 / 0.25) = 1.6, b = 0.8 * sqrt(0.75) / 0.5 - 0.6
    assert E.check_schedules_ex_2((1.6, 1.6 * math.sqrt(0.75) - 0.6)).correct
    assert "square roots" in E.check_schedules_ex_2((2.56, 1.6 * math.sqrt(0.75) - 0.6)).message
    assert "subtract" in E.check_schedules_ex_2((1.6, 1.6 * math.sqrt(0.75))).message
    assert "upside down" in E.check_schedules_ex_2((0.625, 1.6 * math.sqrt(0.75) - 0.6)).message
    assert "variances" in E.check_schedules_ex_2((1.6, 0.8 * 0.75 / 0.5 - 0.36)).message


def test_ex3_typical_mistakes():
    def wrapped(x_t, t, t_prev, eps, abar):
        prev = abar[t_prev]
        a = np.sqrt(prev / abar[t])
        return a * x_t - (a * np.sqrt(1 - abar[t]) - np.sqrt(1 - prev)) * eps

    def seed_like(x_t, t, t_prev, eps, abar):
        return x_t - 0.1 * eps

    def one_based(x_t, t, t_prev, eps, abar):
        at = abar[t - 1]
        prev = 1.0 if t_prev < 1 else abar[t_prev - 1]
        a = np.sqrt(prev / at)
        return a * x_t - (a * np.sqrt(1 - at) - np.sqrt(1 - prev)) * eps

    def crashes(x_t, t, t_prev, eps, abar):
        raise RuntimeError("oops")

    assert "LAST entry" in E.check_schedules_ex_3(wrapped).message
    assert "seed's update" in E.check_schedules_ex_3(seed_like).message
    assert "shifted by one" in E.check_schedules_ex_3(one_based).message
    assert "raised RuntimeError" in E.check_schedules_ex_3(crashes).message
    assert not E.check_schedules_ex_3(42).correct


def test_ex4_exploration():
    abar = schedules.alphas_cumprod(schedules.beta_schedule("linear"))

    def last_step_error(n):
        # independent closed form: the predictor that reads x_t leaves only the last step's error,
        # bias * sqrt((1 - abar) / abar) at the last timestep round(1000 / n) - 1
        last = round(1000 / n) - 1
        return 0.01 * math.sqrt((1 - abar[last]) / abar[last])

    smallest = next(n for n in range(1, 1001) if last_step_error(n) < 1e-3)
    assert E.ex4_smallest_steps() == smallest
    assert E.check_schedules_ex_4(smallest).correct
    assert E.check_schedules_ex_4(str(smallest)).correct
    assert "not below" in E.check_schedules_ex_4(smallest - 1).message
    assert "fewer steps do too" in E.check_schedules_ex_4(smallest + 20).message
    assert "reads x_t" in E.check_schedules_ex_4("never").message
    assert "whole number" in E.check_schedules_ex_4(2.5).message


def test_ex5_peak():
    # by hand: cos(theta) = 0.5 / sqrt(0.26), abar = cos^2 = 0.25 / 0.26
    assert E.check_schedules_ex_5(0.25 / 0.26).correct
    assert E.check_schedules_ex_5(0.9615).correct
    assert "largest VALUE" in E.check_schedules_ex_5(math.sqrt(0.26)).message
    assert "Square the amplitudes" in E.check_schedules_ex_5(0.5 / 0.6).message
    assert "1 - abar" in E.check_schedules_ex_5(0.01 / 0.26).message
    assert "square it" in E.check_schedules_ex_5(0.5 / math.sqrt(0.26)).message


def test_ex6_index_mistakes():
    # by hand: beta_0 = 1e-4, beta_1 = 1e-4 + 0.0199 / 9
    beta1 = 1e-4 + (0.02 - 1e-4) / 9
    share = 1 - (1 - 1e-4) * (1 - beta1)
    assert E.check_schedules_ex_6(share).correct
    assert E.check_schedules_ex_6(round(share, 7)).correct
    assert "beta_1 alone" in E.check_schedules_ex_6(beta1).message
    wrong_beta1 = 1e-4 + (0.02 - 1e-4) / 10
    assert "9 gaps" in E.check_schedules_ex_6(1 - (1 - 1e-4) * (1 - wrong_beta1)).message
    beta2 = 1e-4 + 2 * (0.02 - 1e-4) / 9
    assert "three factors" in E.check_schedules_ex_6(1 - (1 - 1e-4) * (1 - beta1) * (1 - beta2)).message
    assert "abar_1 itself" in E.check_schedules_ex_6((1 - 1e-4) * (1 - beta1)).message


# --- Issue 11, item 9: answers at the stated precision pass, wrong ones are told what is wrong ---

def test_rounded_answers_pass():
    assert E.check_schedules_ex_2((1.6, 0.786)).correct
    assert E.check_schedules_ex_5(0.962).correct
    assert E.check_schedules_ex_6(0.002411).correct


def test_wrong_answers_at_that_precision_fail_with_a_direction():
    feedback = E.check_schedules_ex_2((1.6, 0.79))
    assert not feedback.correct and "entry 2 is too high" in feedback.message
    assert not E.check_schedules_ex_5(0.96).correct
    assert "too low" in E.check_schedules_ex_5(0.9).message
    assert not E.check_schedules_ex_6(0.00240).correct
    assert "too high" in E.check_schedules_ex_6(0.0025).message
