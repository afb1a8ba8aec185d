"""Checkers for the exercises of chapter 8 (schedules, the forward process, DDPM and DDIM).

Each ``check_schedules_ex_<n>(answer)`` returns a :class:`Feedback`. Expected answers and the
typical wrong answers are computed with :mod:`mgie_lessons.schedules`, never typed in.
"""

from __future__ import annotations

import math

import numpy as np

from .. import schedules, walkthrough
from .feedback import Feedback, check_choice, check_function, check_matrix, check_number

__all__ = [
    "check_schedules_ex_1",
    "check_schedules_ex_2",
    "check_schedules_ex_3",
    "check_schedules_ex_4",
    "check_schedules_ex_5",
    "check_schedules_ex_6",
    "SOLUTIONS",
    "EX2_ALPHAS_CUMPROD",
    "EX4_SETTING",
    "EX4_TOLERANCE",
    "ex4_smallest_steps",
    "EX6_T",
    "SIG_FIGS",
    "EX6_SIG_FIGS",
]

#: Exercises 2 and 5 accept answers rounded to this many significant figures; exercise 6 to four.
SIG_FIGS = 3
EX6_SIG_FIGS = 4

#: Exercise 2's schedule values: abar_0 = 0.64 (the step's t' = 0) and abar_1 = 0.25 (t = 1).
EX2_ALPHAS_CUMPROD = (0.64, 0.25)
#: Exercise 6's number of timesteps.
EX6_T = 10
#: Exercise 4's widget setting (the number of steps is the unknown) and its error tolerance.
EX4_SETTING = {"kind": "linear", "T": 1000, "t": 999, "predictor": "reads x_t", "bias": 0.01}
EX4_TOLERANCE = 1e-3


# --- Exercise 1: why a real step scales x_t up (multiple choice) ---------------

def check_schedules_ex_1(answer) -> Feedback:
    """Why is DDIM's a = sqrt(abar_t' / abar_t) larger than 1, when the seed's update keeps a = 1?"""
    abar = schedules.alphas_cumprod(schedules.beta_schedule("scaled_linear"))
    c = schedules.ddim_coefficients(999, 666, abar)
    hints = {
        "a": (f"Amplifying noise is the opposite of the goal, and the step also subtracts b = {c.b:.3g} times the "
              "predicted noise. Look at what x_t is made of (Eq. 8.6)."),
        "b": (f"Right: x_t carries the image as sqrt(abar_t) x_0 = {math.sqrt(c.alpha_bar_t):.3g} x_0 at t = 999; "
              f"at t' = 666 it must carry {math.sqrt(c.alpha_bar_prev):.3g} x_0, so the step multiplies by "
              f"a = {c.a:.3g} and removes the extra noise that comes with it (b = {c.b:.3g})."),
        "c": ("eta is the seed's own constant; no choice of eta turns z - eta eps into a real step, because the "
              "real step also rescales x_t."),
        "d": ("a is not a stabiliser: it is fixed by the schedule. Write x_t = sqrt(abar_t) x_0 + "
              "sqrt(1 - abar_t) eps and ask how big the x_0 part must become."),
    }
    return check_choice(answer, "b", hints)


# --- Exercise 2: DDIM's a and b by hand ----------------------------------------

def check_schedules_ex_2(answer) -> Feedback:
    """(a, b) for a DDIM step from t = 1 (abar = 0.25) to t' = 0 (abar = 0.64)."""
    abar = np.array(EX2_ALPHAS_CUMPROD)
    c = schedules.ddim_coefficients(1, 0, abar)
    expected = np.array([c.a, c.b])
    root_t, root_prev = math.sqrt(c.alpha_bar_t), math.sqrt(c.alpha_bar_prev)
    no_sqrt_a = c.alpha_bar_prev / c.alpha_bar_t
    mistakes = [
        (np.array([no_sqrt_a, c.b]), "a is a ratio of square roots: sqrt(0.64 / 0.25), not 0.64 / 0.25."),
        (np.array([1 / c.a, c.b]), "The ratio is upside down: a = sqrt(abar_t' / abar_t), with the later (smaller t') on top."),
        (np.array([c.a, c.a * math.sqrt(1 - c.alpha_bar_t)]),
         "b has two parts: after a * sqrt(1 - abar_t) you must subtract sqrt(1 - abar_t') (the noise x_t' keeps)."),
        (np.array([c.a, root_prev * (1 - c.alpha_bar_t) / root_t - (1 - c.alpha_bar_prev)]),
         "Use standard deviations, not variances: sqrt(1 - abar), not 1 - abar."),
        (np.array([c.a, c.a * math.sqrt(1 - c.alpha_bar_t) + math.sqrt(1 - c.alpha_bar_prev)]),
         "Sign: x_t' = sqrt(abar_t') x^_0 + sqrt(1 - abar_t') eps, so b = a sqrt(1 - abar_t) - sqrt(1 - abar_t')."),
    ]
    return check_matrix(answer, expected, mistakes=mistakes, what="(a, b)", sig_figs=SIG_FIGS,
                        hint=("a needs only sqrt(0.64) = 0.8 and sqrt(0.25) = 0.5; b also needs sqrt(1 - 0.25) and "
                              "sqrt(1 - 0.64) = 0.6."))


# --- Exercise 3: write the DDIM step ---------------------------------------------

def _inputs(rng: np.random.Generator):
    kind = str(rng.choice(schedules.SCHEDULE_KINDS))
    abar = schedules.alphas_cumprod(schedules.beta_schedule(kind, 40))
    t = int(rng.integers(2, 40))
    t_prev = -1 if rng.random() < 0.5 else int(rng.integers(0, t))
    shape = (3, 2)
    return rng.standard_normal(shape), t, t_prev, rng.standard_normal(shape), abar


def _wrapped_index(x_t, t, t_prev, eps, abar):
    abar_prev = abar[t_prev]   # Python's abar[-1] is the LAST entry, not "1"
    return math.sqrt(abar_prev / abar[t]) * x_t - (
        math.sqrt(abar_prev) * math.sqrt(1 - abar[t]) / math.sqrt(abar[t]) - math.sqrt(1 - abar_prev)) * eps


def _no_square_roots(x_t, t, t_prev, eps, abar):
    abar_prev = 1.0 if t_prev < 0 else abar[t_prev]
    return abar_prev / abar[t] * x_t - (abar_prev * (1 - abar[t]) / abar[t] - (1 - abar_prev)) * eps


def _one_based_step(x_t, t, t_prev, eps, abar):
    abar_t = abar[t - 1]
    abar_prev = 1.0 if t_prev - 1 < 0 else abar[t_prev - 1]
    a = math.sqrt(abar_prev / abar_t)
    return a * x_t - (a * math.sqrt(1 - abar_t) - math.sqrt(1 - abar_prev)) * eps


def _seed_like(x_t, t, t_prev, eps, abar):
    return x_t - walkthrough.ETA * eps


def check_schedules_ex_3(student_function) -> Feedback:
    """Your ddim_step(x_t, t, t_prev, eps, alphas_cumprod) against the package on random inputs."""
    return check_function(
        student_function, schedules.ddim_step, _inputs, trials=8, seed=3,
        mistakes=[
            (_wrapped_index, ("For t_prev < 0 you used alphas_cumprod[t_prev]: in Python that is the LAST entry "
                              "(the noisiest), not 1. The final step needs abar = 1.")),
            (_no_square_roots, "a and b need square roots of abar: the forward process scales by sqrt(abar_t)."),
            (_one_based_step, ("Your indices are shifted by one: the book (like diffusers) indexes the arrays from 0, "
                               "so abar_t is alphas_cumprod[t].")),
            (_seed_like, "That is the seed's update z - 0.1 eps, not DDIM: a real step also rescales x_t."),
        ],
        what="your ddim_step")


# --- Exercise 4: explore with the widget: how many steps push the error below 0.001? ---

def _ex4_error(steps: int, **overrides) -> float:
    setting = {**EX4_SETTING, **overrides}
    x0, noise = schedules.toy_example()
    abar = schedules.alphas_cumprod(schedules.beta_schedule(setting["kind"], setting["T"]))
    return schedules.ddim_reconstruction(x0, noise, abar, steps, bias=setting["bias"],
                                         predictor=setting["predictor"], start=setting["t"]).rms_error


def ex4_smallest_steps() -> int:
    """The smallest number of DDIM steps with final RMS error < EX4_TOLERANCE in EX4_SETTING."""
    for steps in range(1, EX4_SETTING["t"] + 2):
        if _ex4_error(steps) < EX4_TOLERANCE:
            return steps
    raise RuntimeError("no number of steps reaches the tolerance")   # not reached for EX4_SETTING


def check_schedules_ex_4(answer) -> Feedback:
    """The smallest number of DDIM steps for which the widget shows a final RMS error below 0.001."""
    if isinstance(answer, str) and answer.strip().lower() in {"none", "never", "no", "impossible"}:
        return Feedback(False, ("With the 'true noise' predictor that is right (the error stays at "
                                f"{_ex4_error(10, predictor='true noise'):.3g} for any number of steps), "
                                "but this exercise uses the predictor that reads x_t."))
    try:
        steps = float(answer)
    except (TypeError, ValueError):
        return Feedback(False, f"Answer with a whole number of steps, got {answer!r}.")
    if not steps.is_integer() or not 1 <= steps <= EX4_SETTING["t"] + 1:
        return Feedback(False, f"The number of steps is a whole number from 1 to {EX4_SETTING['t'] + 1}.")
    steps = int(steps)
    best = ex4_smallest_steps()
    error = _ex4_error(steps)
    if steps == best:
        return Feedback(True, (f"{steps} steps give {error:.4g} < {EX4_TOLERANCE:g}, and {steps - 1} steps still "
                               f"give {_ex4_error(steps - 1):.4g}."))
    if error >= EX4_TOLERANCE:
        return Feedback(False, f"With {steps} steps the final RMS error is {error:.4g}, not below {EX4_TOLERANCE:g} yet.")
    return Feedback(False, (f"{steps} steps work (error {error:.4g}), but fewer steps do too: look for the "
                            "smallest number. Which timestep does the last step start from?"))


# --- Exercise 5: where does the forward path of the seed's numbers peak? --------------

def check_schedules_ex_5(answer) -> Feedback:
    """The abar at which sqrt(abar) I + sqrt(1 - abar) eps is largest, for I = 0.5, eps = 0.1."""
    image, noise = walkthrough.IMAGE_VALUE, walkthrough.NOISE_VALUE
    expected = schedules.forward_path_peak_alpha_bar(image, noise)
    mistakes = [
        (schedules.forward_path_maximum(image, noise),
         "That is the largest VALUE of the path (sqrt(I^2 + eps^2)); the question asks where it is reached: which abar."),
        (0.5, "abar = 1/2 weighs image and noise equally; the image is five times larger, so the peak lies nearer abar = 1."),
        (image / (image + noise), "Square the amplitudes: cos(theta) = I / sqrt(I^2 + eps^2), and abar = cos^2(theta)."),
        (noise ** 2 / (image ** 2 + noise ** 2), "That is 1 - abar at the peak (sin^2); abar is cos^2(theta)."),
        (image / math.sqrt(image ** 2 + noise ** 2), "That is sqrt(abar) = cos(theta); square it."),
    ]
    return check_number(answer, expected, mistakes=mistakes, rtol=1e-3, what="abar at the peak", sig_figs=SIG_FIGS,
                        hint=("At the peak the derivative of I cos(theta) + eps sin(theta) is 0, so tan(theta) = eps / I; "
                              "the image is five times the noise, so the peak lies close to abar = 1."))


# --- Exercise 6: the noise share after two steps of a short linear schedule ----------

def _ex6_noise_share(betas) -> float:
    return float(1.0 - schedules.alphas_cumprod(betas)[1])


def check_schedules_ex_6(answer) -> Feedback:
    """1 - abar_1 (t = 1, 0-based) of the linear schedule 1e-4 .. 0.02 with T = EX6_T = 10."""
    betas = schedules.beta_schedule("linear", EX6_T)
    expected = _ex6_noise_share(betas)
    start, end = schedules.DEFAULT_BETA_RANGE["linear"]
    divided_by_T = np.array([start, start + (end - start) / EX6_T])
    mistakes = [
        (betas[1], "That is beta_1 alone: 1 - abar_1 = 1 - (1 - beta_0)(1 - beta_1) also contains beta_0."),
        (float(1.0 - schedules.alphas_cumprod(betas)[2]),
         "That is 1 - abar_2 (three factors): with 0-based t, abar_1 has two factors, for beta_0 and beta_1."),
        (_ex6_noise_share(divided_by_T),
         f"The ramp has T - 1 = {EX6_T - 1} gaps: beta_1 = 1e-4 + (0.02 - 1e-4) / {EX6_T - 1}, not / {EX6_T}."),
        (float(schedules.alphas_cumprod(betas)[1]), "That is abar_1 itself; the question asks for 1 - abar_1."),
        (betas[0], "That is 1 - abar_0 = beta_0; go one step further."),
    ]
    return check_number(answer, expected, mistakes=mistakes, rtol=1e-3, what="1 - abar_1", sig_figs=EX6_SIG_FIGS,
                        hint=f"Check beta_1 = 1e-4 + (0.02 - 1e-4) / {EX6_T - 1} and that abar_1 = (1 - beta_0)(1 - beta_1) "
                             "has exactly these two factors.")


def _solution_ddim_step(x_t, t, t_prev, eps, alphas_cumprod):
    abar_t = alphas_cumprod[t]
    abar_prev = 1.0 if t_prev < 0 else alphas_cumprod[t_prev]
    a = np.sqrt(abar_prev / abar_t)
    b = np.sqrt(abar_prev) * np.sqrt(1 - abar_t) / np.sqrt(abar_t) - np.sqrt(1 - abar_prev)
    return a * x_t - b * eps


def _solution_ex2():
    c = schedules.ddim_coefficients(1, 0, np.array(EX2_ALPHAS_CUMPROD))
    return (c.a, c.b)


SOLUTIONS = {
    "schedules-ex-1": "b",
    "schedules-ex-2": _solution_ex2(),
    "schedules-ex-3": _solution_ddim_step,
    "schedules-ex-4": ex4_smallest_steps(),
    "schedules-ex-5": schedules.forward_path_peak_alpha_bar(walkthrough.IMAGE_VALUE, walkthrough.NOISE_VALUE),
    "schedules-ex-6": _ex6_noise_share(schedules.beta_schedule("linear", EX6_T)),
}
