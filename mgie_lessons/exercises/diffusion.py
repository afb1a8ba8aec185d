"""Checkers for the exercises of chapter 5 (the seed's denoising loop).

Each ``check_diffusion_ex_<n>(answer)`` returns a :class:`Feedback`. Expected answers and the
typical wrong answers are computed with :mod:`mgie_lessons.diffusion`, never typed in.
"""

from __future__ import annotations

import numpy as np

from .. import diffusion, walkthrough
from .feedback import Feedback, check_choice, check_function, check_matrix, check_number

__all__ = [
    "check_diffusion_ex_1",
    "check_diffusion_ex_2",
    "check_diffusion_ex_3",
    "check_diffusion_ex_4",
    "check_diffusion_ex_5",
    "SOLUTIONS",
    "EX2_ETA",
    "EX5_STEPS",
    "SIG_FIGS",
]

#: Exercises 3 and 5 accept the step sizes rounded to this many significant figures (or, for the
#: widget reading of exercise 5, to three decimal places).
SIG_FIGS = 3

#: Exercise 2 reruns the seed with this step size.
EX2_ETA = 0.2
#: Exercise 5 asks for the recovering step size for these T.
EX5_STEPS = (1, 2, 3, 4, 5)


def _seed_rule():
    return diffusion.linear_noise_rule(walkthrough.NOISE_SLOPE)


def _seed_start():
    return diffusion.noisy_start(walkthrough.IMAGE_VALUE, walkthrough.NOISE_VALUE)


# --- Exercise 1: what the update really does (multiple choice) --------------

def check_diffusion_ex_1(answer) -> Feedback:
    """Which statement about the seed's update is true? (a, b, c or d)."""
    budget = diffusion.noise_budget(walkthrough.IMAGE_VALUE, walkthrough.NOISE_VALUE, walkthrough.ETA, walkthrough.T, _seed_rule())
    longer = diffusion.noise_budget(walkthrough.IMAGE_VALUE, walkthrough.NOISE_VALUE, walkthrough.ETA, 10, _seed_rule())
    hints = {
        "a": (f"More steps remove more, not less: with T = 10 the update removes {longer.removed:.3g} and "
              f"ends at z_0 = {longer.final:.3g}, far below I = {walkthrough.IMAGE_VALUE:g}. Try it in the widget."),
        "b": (f"Right: eps_hat_t ignores z_t, so the steps simply add up to eta * sum eps_hat_t = "
              f"{budget.removed:.3g}, subtracted from every start value whatever the image or the instruction."),
        "c": (f"Compare the numbers: the noise added is {budget.added:.3g}, the update removes "
              f"{budget.removed:.3g}; nothing in the update knows eps."),
        "d": (f"The steps add up (Eq. 5.4): 0.6 - {budget.removed:.3g} = {budget.final:.3g} < I = "
              f"{walkthrough.IMAGE_VALUE:g}, an overshoot of {budget.overshoot:.3g}."),
    }
    return check_choice(answer, "b", hints)


# --- Exercise 2: the seed's loop with eta = 0.2, by hand ----------------------

def check_diffusion_ex_2(answer) -> Feedback:
    """z_0 for the seed's numbers but eta = 0.2 (T = 3, eps_hat_t = 0.2 t, z_T = 0.6)."""
    start = _seed_start()
    rule = _seed_rule()
    expected = diffusion.denoise(start, EX2_ETA, walkthrough.T, rule).final
    two_steps = diffusion.denoise(start, EX2_ETA, walkthrough.T, rule).z(1)
    t_from_zero = diffusion.denoise(start, EX2_ETA, walkthrough.T, lambda t: rule(t - 1)).final
    added = start + EX2_ETA * diffusion.predicted_noise_values(rule, walkthrough.T).sum()
    no_noise = diffusion.denoise(walkthrough.IMAGE_VALUE, EX2_ETA, walkthrough.T, rule).final
    mistakes = [
        (two_steps, "That is z_1: you stopped after two steps. The loop runs t = 3, 2 and 1, three subtractions."),
        (t_from_zero, ("You used eps_hat = 0.2 t for t = 2, 1, 0 (or kept eta = 0.1). The steps are t = 3, 2, 1, "
                       "so eps_hat is 0.6, 0.4, 0.2, and eta is 0.2 in this exercise.")),
        (added, "The update subtracts eta * eps_hat_t; you added it."),
        (no_noise, "You started from I = 0.5; the loop starts from the noisy z_T = I + eps = 0.6."),
    ]
    return check_number(answer, expected, mistakes=mistakes, what="z_0",
                        hint="Do the three steps: z_2 = z_3 - 0.2 * 0.6, then subtract 0.2 * 0.4, then 0.2 * 0.2.")


# --- Exercise 3: the eta that lands on I ----------------------------------

def check_diffusion_ex_3(answer) -> Feedback:
    """The step size eta that makes the seed's z_0 equal I = 0.5 in T = 3 steps."""
    rule = _seed_rule()
    expected = diffusion.eta_to_recover_image(walkthrough.NOISE_VALUE, walkthrough.T, rule)
    total = diffusion.predicted_noise_values(rule, walkthrough.T).sum()
    first_step_only = walkthrough.NOISE_VALUE / rule(walkthrough.T)
    last_step_only = walkthrough.NOISE_VALUE / rule(1)
    mistakes = [
        (first_step_only, ("You divided the noise by eps_hat_3 = 0.6 alone (or summed 0.2 t over t = 0, 1, 2). "
                           "All three steps subtract: eta * (0.6 + 0.4 + 0.2) must equal 0.1.")),
        (last_step_only, ("0.5 is eps / eps_hat_1 (or z_T / sum eps_hat); the three steps together must remove "
                          "exactly the noise eps = 0.1: eta * 1.2 = 0.1.")),
        (walkthrough.IMAGE_VALUE / total, "You divided the image value I by the sum; divide the noise eps = 0.1 that has to go."),
        (walkthrough.ETA, "That is the seed's eta, which ends at 0.48, not 0.5."),
    ]
    return check_number(answer, expected, mistakes=mistakes, what="eta", sig_figs=SIG_FIGS,
                        hint=("With that eta, z_0 misses I: too high an eta removes more than the noise eps = 0.1, "
                              "too low leaves some. Eq. 5.4 says the steps remove eta * (0.6 + 0.4 + 0.2) in total."))


# --- Exercise 4: write the loop ---------------------------------------------

def _reference_trajectory(z_start, eta, T, slope):
    return diffusion.denoise(z_start, eta, T, diffusion.linear_noise_rule(slope)).trajectory


def _ascending_t(z_start, eta, T, slope):
    return diffusion.denoise(z_start, eta, T, [slope * t for t in range(1, T + 1)]).trajectory


def _t_minus_one(z_start, eta, T, slope):
    return diffusion.denoise(z_start, eta, T, [slope * (t - 1) for t in range(T, 0, -1)]).trajectory


def _plus_sign(z_start, eta, T, slope):
    return diffusion.denoise(z_start, eta, T, [-slope * t for t in range(T, 0, -1)]).trajectory


def _without_start(z_start, eta, T, slope):
    return _reference_trajectory(z_start, eta, T, slope)[1:]


def _random_inputs(rng):
    return (float(rng.uniform(0, 1)), float(rng.uniform(0, 0.3)), int(rng.integers(1, 9)),
            float(rng.uniform(0.05, 0.5)))


def check_diffusion_ex_4(student_function) -> Feedback:
    """``student_function(z_start, eta, T, slope)`` returns the T + 1 values z_T, ..., z_0."""
    mistakes = [
        (_ascending_t, "Your steps use t = 1, 2, ..., T; the loop runs t = T, T-1, ..., 1 (eps_hat_T first)."),
        (_t_minus_one, "Off by one: the first step uses eps_hat_T = slope * T, the last eps_hat_1 = slope * 1."),
        (_plus_sign, "The update subtracts eta * eps_hat_t (Eq. 5.3); yours adds it."),
        (_without_start, "Include the start: the list begins with z_T itself and has T + 1 values."),
    ]
    return check_function(student_function, _reference_trajectory, _random_inputs, trials=6,
                          mistakes=mistakes, what="your denoising loop")


# --- Exercise 5: explore with the widget --------------------------------------

def _eta_for_each_T(numerator: float, total_for) -> np.ndarray:
    return np.array([numerator / total_for(T) for T in EX5_STEPS])


def check_diffusion_ex_5(answer) -> Feedback:
    """The recovering eta for T = 1, ..., 5 with the seed's I, eps and rule (a list of 5 numbers)."""
    rule = _seed_rule()
    expected = [diffusion.eta_to_recover_image(walkthrough.NOISE_VALUE, T, rule) for T in EX5_STEPS]
    total = lambda T: diffusion.predicted_noise_values(rule, T).sum()  # noqa: E731
    start = _seed_start()
    mistakes = [
        (_eta_for_each_T(walkthrough.NOISE_VALUE, lambda T: rule(T)),
         "You divided eps by the first prediction eps_hat_T only; every step subtracts, so divide by the sum over t."),
        (_eta_for_each_T(walkthrough.IMAGE_VALUE, total), "Divide the noise eps = 0.1, not the image value I."),
        (_eta_for_each_T(start, total), "Divide the noise eps = z_T - I = 0.1, not z_T itself."),
    ]
    return check_matrix(answer, expected, mistakes=mistakes, what="your list of five step sizes",
                        sig_figs=SIG_FIGS, decimals=SIG_FIGS,
                        hint=("For an entry that is too high, z_0 ends below I (the loop removes more than eps); "
                              "too low, above it. The total removed for T steps is eta * 0.2 * (1 + ... + T)."))


# --- Solutions (for the tests and the instructor's grading tool) ------------

def _solution_loop(z_start, eta, T, slope):
    z = z_start
    trajectory = [z]
    for t in range(T, 0, -1):
        z = z - eta * slope * t
        trajectory.append(z)
    return np.array(trajectory)


SOLUTIONS = {
    "diffusion-ex-1": "b",
    "diffusion-ex-2": 0.36,
    "diffusion-ex-3": 1 / 12,
    "diffusion-ex-4": _solution_loop,
    "diffusion-ex-5": [1 / 2, 1 / 6, 1 / 12, 1 / 20, 1 / 30],
}
