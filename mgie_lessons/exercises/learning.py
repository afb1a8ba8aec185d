"""Checkers for the exercises of chapter 13 (how MGIE learns).

Each ``check_learning_ex_<n>(answer)`` returns a :class:`Feedback`. Expected answers and the
typical wrong answers are computed with :mod:`mgie_lessons.learning`, never typed in; exercise 2
checks a student's backward rule against central finite differences, not against the package.
"""

from __future__ import annotations

import numpy as np

from .. import learning, walkthrough
from .feedback import Feedback, check_choice, check_function, check_number

__all__ = [
    "check_learning_ex_1",
    "check_learning_ex_2",
    "check_learning_ex_3",
    "check_learning_ex_4",
    "check_learning_ex_5",
    "SOLUTIONS",
    "EX1_SLOPE",
    "EX2_BUGGY_RULE",
    "softmax_backward_buggy",
    "EX3_LEARNING_RATES",
    "EX3_STEPS",
    "EX5_GRADIENT",
    "EX5_LR",
]

_STEPS = sorted(walkthrough.TRUE_NOISE, reverse=True)
_TRUE = [walkthrough.TRUE_NOISE[t] for t in _STEPS]


# --- Exercise 1: a gradient by hand ------------------------------------------------------------

#: Exercise 1: the slope c of the noise rule eps_hat_t = c t at which to differentiate L_edit.
EX1_SLOPE = 0.1


def check_learning_ex_1(answer) -> Feedback:
    """dL_edit/dc at c = 0.1 for the seed's L_edit = sum_t (eps_t - c t)^2, eps_t = 0.2, t = 3, 2, 1."""
    expected = learning.edit_loss_slope_gradient(_TRUE, EX1_SLOPE, _STEPS)
    without_t = float(np.sum(learning.edit_loss_noise_gradient(_TRUE, EX1_SLOPE * np.array(_STEPS))))
    mistakes = [
        (without_t, "You dropped the inner derivative: eps_hat_t = c t, so d eps_hat_t / dc = t multiplies each term."),
        (expected / 2, "The derivative of (c t - eps)^2 is 2 (c t - eps) t: you lost the factor 2."),
        (expected / len(_STEPS), "That is the gradient of the mean over the three steps; the seed's L_edit is a sum."),
        (-expected, "Check the sign: d/dc (c t - eps)^2 = +2 (c t - eps) t, and c t - eps is 0.1 at t = 3."),
        (learning.edit_loss_slope_gradient(_TRUE, walkthrough.NOISE_SLOPE, _STEPS),
         "That is the gradient at the seed's c = 0.2 (the graph of the idea section); this exercise asks at c = 0.1."),
    ]
    return check_number(answer, expected, mistakes=mistakes, what="dL_edit/dc", rtol=1e-6, atol=1e-9,
                        hint="Write L_edit(c) = (3c - 0.2)^2 + (2c - 0.2)^2 + (c - 0.2)^2 and differentiate term by term.")


# --- Exercise 2: find the bug in a backward rule ---------------------------------------------------

def softmax_backward_buggy(a, grad_a):
    """The exercise's wrong rule: each a_j treated as a function of x_j alone (a Jacobian's diagonal)."""
    a = np.asarray(a, dtype=float)
    return a * (1.0 - a) * np.asarray(grad_a, dtype=float)


#: The buggy rule as the exercise prints it.
EX2_BUGGY_RULE = "return a * (1 - a) * grad_a"


def _finite_difference_backward(a, grad_a):
    """nabla_x of f(x) = sum(grad_a * softmax(x)) at x = log(a), by central differences."""
    x = np.log(a)
    return learning.numerical_gradient(lambda z: np.sum(grad_a * learning.softmax(z, axis=1)), x, h=1e-6)


def _forgot_the_weights(a, grad_a):
    return a * (grad_a - np.sum(grad_a, axis=1, keepdims=True))


def _summed_down_columns(a, grad_a):
    return a * (grad_a - np.sum(a * grad_a, axis=0, keepdims=True))


def _softmax_inputs(rng):
    rows, classes = int(rng.integers(2, 5)), int(rng.integers(3, 7))
    a = learning.softmax(rng.normal(0.0, 1.5, (rows, classes)), axis=1)
    return a, rng.normal(0.0, 1.0, (rows, classes))


def check_learning_ex_2(student_function) -> Feedback:
    """``student_function(a, grad_a)``: the corrected softmax backward rule, rows of a = softmax(x).

    Compared with central finite differences of x -> sum(grad_a * softmax(x)) on random inputs.
    """
    feedback = check_function(
        student_function, _finite_difference_backward, _softmax_inputs, trials=6, seed=13,
        rtol=1e-5, atol=1e-8, what="your backward rule",
        mistakes=[
            (softmax_backward_buggy, ("That is still the buggy rule: it keeps only the diagonal da_j/dx_j of the "
                                      "Jacobian. Every a_j also depends on every other x_i through the sum in the "
                                      "denominator, which adds -a_i a_j off the diagonal.")),
            (_forgot_the_weights, ("Close: the subtracted term is the sum of grad_a weighted by a, "
                                   "sum_j a_j grad_a_j, not the plain sum of grad_a.")),
            (_summed_down_columns, ("The weighted sum runs along each row (over the classes of one softmax), "
                                    "not down the columns: use axis=1 (or -1) with keepdims=True.")),
        ])
    if feedback.correct:
        return Feedback(True, "Your backward rule agrees with central finite differences on 6 random inputs: "
                              "a * (grad_a - sum_j a_j grad_a_j) is the softmax Jacobian applied to grad_a.")
    return feedback


# --- Exercise 3: two learning rates --------------------------------------------------------------

#: Exercise 3: Adam at these two learning rates, for this many steps.
EX3_LEARNING_RATES = (0.1, 1.0)
EX3_STEPS = 200


def _ex3_runs():
    return [learning.train_tiny_lm_by_hand(lr, EX3_STEPS) for lr in EX3_LEARNING_RATES]


def check_learning_ex_3(answer) -> Feedback:
    """The final L_ins of the better of the two runs (Adam, 200 steps, lr = 0.1 and lr = 1)."""
    runs = _ex3_runs()
    best = min(runs, key=lambda run: run.final_loss)
    worst = max(runs, key=lambda run: run.final_loss)
    mistakes = [
        (worst.final_loss, (f"That is the run with lr = {worst.lr:g}, which ends higher: its steps are so large "
                            "that the ReLU units die and it stalls.")),
        (runs[0].losses[0], "That is the loss before training (chapter 12's L_ins); give the loss after 200 steps."),
        (learning.best_constant_loss(), ("That is where the lr = 1 run stalls (the entropy of the next-word "
                                         "frequencies); the other run goes lower.")),
    ]
    return check_number(answer, best.final_loss, mistakes=mistakes, what="the better final L_ins", rtol=1e-3,
                        hint="Run learning.train_tiny_lm(lr, 200) for both rates and compare their final_loss.")


# --- Exercise 4: identical hidden units (multiple choice) ------------------------------------------

def check_learning_ex_4(answer) -> Feedback:
    """Why are the two columns of nabla W_1 equal at the seed's weights, and what follows? (a-d)"""
    grads = learning.tiny_lm_gradients()
    column = ", ".join(f"{v:.3g}" for v in grads["W1"][:, 0])
    hints = {
        "a": ("It is no coincidence of the numbers: with other inputs the columns are still equal, as long as the "
              "two hidden units have the same weights in and out."),
        "b": (f"Right: both hidden units compute the same thing (same column of W_1, same bias, same row of W_2), so "
              f"they receive the same gradient ({column} in each column) and every update keeps them identical. "
              "Networks start from random weights to break this symmetry."),
        "c": ("ReLU's derivative is 1 wherever the pre-activation is positive, but that alone does not make two "
              "columns equal: the units' outgoing weights (rows of W_2) must be equal too."),
        "d": ("Adam rescales each entry by its own history, but two entries with identical gradient histories get "
              "identical updates: Adam keeps the symmetry as well."),
    }
    return check_choice(answer, "b", hints)


# --- Exercise 5: Adam's first step --------------------------------------------------------------

#: Exercise 5: the gradient of one parameter at Adam's first step, and the learning rate.
EX5_GRADIENT = 0.5
EX5_LR = 0.1


def check_learning_ex_5(answer) -> Feedback:
    """The change theta_1 - theta_0 of Adam's first step for g = 0.5, lr = 0.1, default betas and eps."""
    start = learning.adam_start(np.array(0.0))
    expected = float(learning.adam_update(start, EX5_GRADIENT, EX5_LR).theta)
    uncorrected = float(learning.adam_update(start, EX5_GRADIENT, EX5_LR, bias_correction=False).theta)
    mistakes = [
        (uncorrected, ("That is the step without bias correction: s_1 = 0.05 and r_1 = 0.00025 underestimate the "
                       "moments because they start at 0; dividing by 1 - beta^1 undoes that.")),
        (float(learning.sgd_update(0.0, EX5_GRADIENT, EX5_LR)), "That is plain gradient descent, -lr g (Eq. 13.7); Adam divides by sqrt(r^)."),
        (-expected, "The update goes against the gradient: theta_1 - theta_0 is negative for g > 0."),
    ]
    return check_number(answer, expected, mistakes=mistakes, what="theta_1 - theta_0", rtol=1e-6, atol=1e-9,
                        hint="Compute s_1, r_1, their bias-corrected versions and lr s^ / (sqrt(r^) + eps).")


# --- Solutions (for the tests and the instructor's grading tool) -------------------------------------

def _solution_softmax_backward(a, grad_a):
    a = np.asarray(a, dtype=float)
    grad_a = np.asarray(grad_a, dtype=float)
    return a * (grad_a - np.sum(a * grad_a, axis=1, keepdims=True))


SOLUTIONS = {
    "learning-ex-1": 0.4,
    "learning-ex-2": _solution_softmax_backward,
    "learning-ex-3": learning.train_tiny_lm_by_hand(EX3_LEARNING_RATES[0], EX3_STEPS).final_loss,
    "learning-ex-4": "b",
    "learning-ex-5": -0.1,
}
