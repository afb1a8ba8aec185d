"""Checkers for the exercises of chapter 14 (Train your own MGIE).

Each ``check_toy_mgie_ex_<n>(answer)`` returns a :class:`Feedback`. Expected answers and the
typical wrong answers are computed with :mod:`mgie_lessons.toy_mgie`, :mod:`mgie_lessons.toy_edits`,
:mod:`mgie_lessons.schedules` and :mod:`mgie_lessons.guidance`, never typed in. No checker needs
the trained weights.
"""

from __future__ import annotations

import numpy as np

from .. import guidance, schedules, toy_edits, toy_mgie
from .feedback import Feedback, check_choice, check_number

__all__ = [
    "check_toy_mgie_ex_1",
    "check_toy_mgie_ex_2",
    "check_toy_mgie_ex_3",
    "check_toy_mgie_ex_4",
    "check_toy_mgie_ex_5",
    "SOLUTIONS",
    "EX1_T",
    "ex2_output",
    "EX2_EXAMPLE_SEED",
    "snr_crossing",
]


def _abar() -> np.ndarray:
    config = toy_mgie.DEFAULT_CONFIG
    return schedules.alphas_cumprod(schedules.beta_schedule(config.schedule, config.T))


def snr_crossing() -> int:
    """The first timestep t at which SNR(t) = abar_t / (1 - abar_t) drops below 1 (cosine, T = 1000)."""
    weight = toy_mgie.eps_loss_weight(np.arange(toy_mgie.DEFAULT_CONFIG.T), _abar())
    return int(np.argmax(weight < 1.0))


# --- Exercise 1: the weight between the two losses -------------------------------------------------

#: Exercise 1: the timestep at which to compute SNR(t).
EX1_T = 700


def check_toy_mgie_ex_1(answer) -> Feedback:
    """SNR(t) = abar_t / (1 - abar_t) at t = 700 on the toy's cosine schedule (T = 1000)."""
    abar = _abar()
    expected = float(toy_mgie.eps_loss_weight(EX1_T, abar))
    mistakes = [
        (1.0 / expected, "That is (1 - abar_t) / abar_t, the inverse: the noise loss is the x_0 loss times abar_t / (1 - abar_t)."),
        (float(np.sqrt(expected)), "That is sqrt(SNR): eps - eps^ = sqrt(abar_t / (1 - abar_t)) (x^_0 - x_0), and the loss squares it."),
        (float(abar[EX1_T]), "That is abar_t itself; divide it by 1 - abar_t."),
        (float(toy_mgie.eps_loss_weight(EX1_T - 1, abar)), "That is SNR(699): abar is indexed by t, alphas_cumprod[700]."),
    ]
    return check_number(answer, expected, mistakes=mistakes, what="SNR(700)", rtol=2e-3,
                        hint="abar = schedules.alphas_cumprod(schedules.beta_schedule('cosine', 1000)); then abar[700] / (1 - abar[700]).")


# --- Exercise 2: does this edit succeed? -----------------------------------------------------------

#: Exercise 2: the held-out example (make_dataset(1, seed, "heldout")[0]) the made-up output edits.
EX2_EXAMPLE_SEED = 14


def ex2_output():
    """(example, output): a made-up edit of the exercise's example: the exact target with 0.08 added
    to the green channel (clipped to [0, 1]) everywhere and 0.2 taken from the blue channel of the
    edited shape's pixels (clipped)."""
    example = toy_edits.make_dataset(1, EX2_EXAMPLE_SEED, "heldout")[0]
    output = example.target.copy()
    output[..., 1] = np.clip(output[..., 1] + 0.08, 0.0, 1.0)
    output[example.region, 2] = np.clip(output[example.region, 2] - 0.2, 0.0, 1.0)
    return example, output


def _ex2_choice() -> tuple[str, float, float]:
    example, output = ex2_output()
    success, inside, outside = toy_mgie.edit_succeeds(output, example.target, example.region)
    if success:
        letter = "a"
    elif inside >= toy_mgie.REGION_TOLERANCE and outside >= toy_mgie.OUTSIDE_TOLERANCE:
        letter = "d"
    else:
        letter = "b" if inside >= toy_mgie.REGION_TOLERANCE else "c"
    return letter, inside, outside


def check_toy_mgie_ex_2(answer) -> Feedback:
    """Does the made-up output of :func:`ex2_output` succeed? (a) yes; (b) no, the edited region
    is off; (c) no, the rest of the picture is off; (d) no, both are."""
    correct, inside, outside = _ex2_choice()
    numbers = (f"Per channel, the worst mean error over the edited shape is {inside:.3f} (needs < "
               f"{toy_mgie.REGION_TOLERANCE:g}) and over the other pixels {outside:.3f} (needs < "
               f"{toy_mgie.OUTSIDE_TOLERANCE:g}).")
    claims = {
        "a": "a success needs both errors below their tolerances",
        "b": "that says the edited shape is off and the rest is fine",
        "c": "that says the rest of the picture is off and the edited shape is fine",
        "d": "that says both are off",
    }
    hints = {letter: f"{numbers} " + ("Right." if letter == correct else f"Not what they show: {claim}.")
             for letter, claim in claims.items()}
    return check_choice(answer, correct, hints)


# --- Exercise 3: counting the training pairs ---------------------------------------------------------

def _pairs() -> tuple[int, int, int]:
    total = len(toy_edits.KINDS) * len(toy_edits.COLOURS)
    held = len(toy_edits.heldout_combinations())
    return total, held, total - held


def check_toy_mgie_ex_3(answer) -> Feedback:
    """How many (kind, new colour) recolouring pairs occur in the "train" split?"""
    total, held, train = _pairs()
    mistakes = [
        (held, "That is the number of held-out pairs; the question asks for those that occur in training."),
        (total, "That counts every (kind, colour) pair; the held-out ones never occur in training."),
        (train + len(toy_edits.KINDS), "Removals have no new colour: they are not (kind, new colour) recolouring pairs."),
    ]
    return check_number(answer, train, mistakes=mistakes, what="the number of training pairs", rtol=0, atol=0,
                        hint="Count the kinds times the colours, then take away toy_edits.heldout_combinations().")


# --- Exercise 4: what s_V = s_X = 1 means -------------------------------------------------------------

def _ex4_reduces_to_full() -> bool:
    rng = np.random.default_rng(4)
    uncond, image, full = rng.standard_normal((3, 5))
    return bool(np.allclose(guidance.guided_noise(uncond, image, full, 1.0, 1.0), full))


def check_toy_mgie_ex_4(answer) -> Feedback:
    """With s_V = s_X = 1, Eq. 9.4 gives: (a) the unconditional prediction eps(z_t, 0, 0); (b) the
    fully conditioned eps(z_t, V, U); (c) the image-only eps(z_t, V, 0); (d) the mean of the three."""
    correct = "b" if _ex4_reduces_to_full() else "d"
    hints = {
        "a": "Set s_V = s_X = 1 in Eq. 9.4: the unconditional terms cancel, they do not remain.",
        "b": ("Right: eps(0,0) + [eps(V,0) - eps(0,0)] + [eps(V,U) - eps(V,0)] = eps(V,U), so 'no guidance' in the "
              "ablation table is the fully conditioned model (one UNet pass per step would do)."),
        "c": "The last bracket adds eps(V, U) - eps(V, 0): the instruction's part stays in.",
        "d": "The scales multiply differences, not the three predictions: nothing is averaged.",
    }
    return check_choice(answer, correct, hints)


# --- Exercise 5: why noise prediction learns slowly here -------------------------------------------------

def check_toy_mgie_ex_5(answer) -> Feedback:
    """Why does predicting the noise learn the edit more slowly than predicting x_0 at this scale?
    (a) its loss weighs x_0 errors by SNR(t), tiny at large t, where the edit must be made from V and
    U alone; (b) the noise has more entries than the image; (c) the noise loss cannot reach zero;
    (d) DDIM needs x^_0, which a noise model cannot give."""
    abar = _abar()
    crossing = snr_crossing()
    high = float(toy_mgie.eps_loss_weight(900, abar))
    hints = {
        "a": (f"Right: ||eps - eps^||^2 = SNR(t) ||x_0 - x^_0||^2, and SNR(t) < 1 from t = {crossing} on "
              f"({high:.3g} at t = 900). At large t the noisy picture shows almost nothing of the result, so that is "
              "where the change must be learned; the noise loss barely rewards getting x_0 right there."),
        "b": "Both predictions are 16 x 16 x 3 arrays: eps and x_0 have the same number of entries.",
        "c": ("A perfect model reaches zero in either parametrisation (the two losses are equal up to a positive "
              "weight per timestep)."),
        "d": "A noise prediction gives x^_0 = (x_t - sqrt(1 - abar_t) eps^) / sqrt(abar_t) (chapter 8); DDIM works from either.",
    }
    return check_choice(answer, "a", hints)


# --- Solutions (for the tests and the instructor's grading tool) -------------------------------------

SOLUTIONS = {
    "toy_mgie-ex-1": float(toy_mgie.eps_loss_weight(EX1_T, _abar())),
    "toy_mgie-ex-2": _ex2_choice()[0],
    "toy_mgie-ex-3": _pairs()[2],
    "toy_mgie-ex-4": "b",
    "toy_mgie-ex-5": "a",
}
