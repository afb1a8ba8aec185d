"""Checkers for the exercises of chapter 9 (latents, InstructPix2Pix conditioning, two-scale guidance).

Each ``check_guidance_ex_<n>(answer)`` returns a :class:`Feedback`. Expected answers and the
typical wrong answers are computed with :mod:`mgie_lessons.guidance`, never typed in.
"""

from __future__ import annotations

import numpy as np

from .. import guidance
from ..images import toy_image
from .feedback import Feedback, check_choice, check_function, check_matrix, check_number

__all__ = [
    "check_guidance_ex_1",
    "check_guidance_ex_2",
    "check_guidance_ex_3",
    "check_guidance_ex_4",
    "check_guidance_ex_5",
    "check_guidance_ex_6",
    "SOLUTIONS",
    "EX2_PREDICTIONS",
    "EX4_IMAGE_SIZE",
    "outside_change",
    "EX5_DECIMALS",
]

#: Exercise 5 is read off the panel, which prints the change with this many decimals.
EX5_DECIMALS = 3

#: Exercise 2's three predictions at one latent entry: eps(z,0,0), eps(z,V,0), eps(z,V,U).
EX2_PREDICTIONS = (0.2, 0.5, 0.6)
#: Exercise 4's image size (height = width).
EX4_IMAGE_SIZE = 512


# --- Exercise 1: equal scales (multiple choice) -------------------------------------

def check_guidance_ex_1(answer) -> Feedback:
    """With s_V = s_X = s, what does Eq. 9.4 become? (a, b, c or d)."""
    e0, ev, evu = (np.array([v]) for v in EX2_PREDICTIONS)
    s = 3.0
    equal = float(guidance.guided_noise(e0, ev, evu, s, s)[0])
    hints = {
        "a": (f"Only for s = 1. With s = {s:g} and the predictions of exercise 2 the formula gives {equal:.3g}, "
              f"not eps(z, V, U) = {EX2_PREDICTIONS[2]:g}."),
        "b": ("Right: the middle prediction eps(z, V, 0) cancels, leaving ordinary one-scale classifier-free "
              "guidance of the full condition (V, U) against the fully unconditional prediction."),
        "c": ("That would be guidance of the instruction alone, with the image always kept. Expand the formula: "
              "the eps(z, V, 0) terms cancel when the scales are equal."),
        "d": ("The formula is affine, not a pure multiple: at s = 0 it must give eps(z, 0, 0), not 0."),
    }
    return check_choice(answer, "b", hints)


# --- Exercise 2: the guided value by hand -------------------------------------------

def _ex2_expected(s_image=guidance.DEFAULT_IMAGE_SCALE, s_text=guidance.DEFAULT_TEXT_SCALE) -> float:
    e0, ev, evu = (np.array([v]) for v in EX2_PREDICTIONS)
    return float(guidance.guided_noise(e0, ev, evu, s_image, s_text)[0])


def check_guidance_ex_2(answer) -> Feedback:
    """eps~ for eps(z,0,0) = 0.2, eps(z,V,0) = 0.5, eps(z,V,U) = 0.6 and the default scales."""
    e0, ev, evu = EX2_PREDICTIONS
    s_v, s_x = guidance.DEFAULT_IMAGE_SCALE, guidance.DEFAULT_TEXT_SCALE
    mistakes = [
        (_ex2_expected(s_x, s_v), "The scales are swapped: s_V = 1.5 multiplies the image direction eps(z,V,0) - eps(z,0,0)."),
        (e0 + s_v * (ev - e0) + s_x * (evu - e0),
         "The instruction direction is eps(z,V,U) - eps(z,V,0), measured from the image-only prediction, not from eps(z,0,0)."),
        (s_v * (ev - e0) + s_x * (evu - ev), "You left out the starting point eps(z, 0, 0) = 0.2."),
        (e0 + (ev - e0) + (evu - ev), "That is the formula with both scales 1 (it returns eps(z, V, U)); use 1.5 and 7.5."),
    ]
    return check_number(answer, _ex2_expected(), mistakes=mistakes, what="eps~", sig_figs=3,
                        hint=("Check the two directions (each measured from the prediction before it), which scale "
                              "goes with which, and that the result starts from eps(z, 0, 0)."))


# --- Exercise 3: write the guidance ----------------------------------------------------

def _inputs(rng: np.random.Generator):
    shape = (4, 2, 2)
    return (rng.standard_normal(shape), rng.standard_normal(shape), rng.standard_normal(shape),
            float(rng.uniform(0, 3)), float(rng.uniform(0, 12)))


def _swapped(e0, ev, evu, s_v, s_x):
    return e0 + s_x * (ev - e0) + s_v * (evu - ev)


def _text_from_uncond(e0, ev, evu, s_v, s_x):
    return e0 + s_v * (ev - e0) + s_x * (evu - e0)


def _no_base(e0, ev, evu, s_v, s_x):
    return s_v * (ev - e0) + s_x * (evu - ev)


def _single_scale(e0, ev, evu, s_v, s_x):
    return e0 + s_x * (evu - e0)


def check_guidance_ex_3(student_function) -> Feedback:
    """Your guided(eps_uncond, eps_image, eps_full, s_image, s_text) against the package."""
    return check_function(
        student_function, guidance.guided_noise, _inputs, trials=6, seed=9,
        mistakes=[
            (_swapped, "The scales are swapped: s_image multiplies eps_image - eps_uncond."),
            (_text_from_uncond, "The instruction direction starts from eps_image: eps_full - eps_image."),
            (_no_base, "Add the starting point eps_uncond."),
            (_single_scale, "That is one-scale guidance; the image direction needs its own scale s_image."),
        ],
        what="your guided_noise")


# --- Exercise 4: the UNet input shape ----------------------------------------------------

def check_guidance_ex_4(answer) -> Feedback:
    """The shape (channels, height, width) of MGIE's UNet input for a 512 x 512 image."""
    expected = np.array(guidance.unet_input_shape(EX4_IMAGE_SIZE, EX4_IMAGE_SIZE), dtype=float)
    latent = np.array(guidance.sd_latent_shape(EX4_IMAGE_SIZE, EX4_IMAGE_SIZE), dtype=float)
    mistakes = [
        (latent, "That is one latent. The UNet reads the noisy latent AND the image latent, stacked on channels."),
        (np.array([2 * guidance.SD_LATENT_CHANNELS, EX4_IMAGE_SIZE, EX4_IMAGE_SIZE], dtype=float),
         "The VAE downsamples by 8: the latent is 512 / 8 = 64 on each side."),
        (np.array([guidance.SD_LATENT_CHANNELS, 2 * EX4_IMAGE_SIZE // 8, EX4_IMAGE_SIZE // 8], dtype=float),
         "The two latents are stacked on the channel axis, not side by side."),
        (np.array([6, EX4_IMAGE_SIZE, EX4_IMAGE_SIZE], dtype=float),
         "The UNet never sees pixels: both the noisy input and the image go through the VAE first."),
    ]
    return check_matrix(answer, expected,
                        mistakes=mistakes, what="the shape", rtol=0, atol=0,
                        hint="Latent: 4 channels at 1/8 of the size. Then concatenate two of them on channels.")


# --- Exercise 5: explore: which s_V keeps the background? -----------------------------------

def outside_change(s_image: float, s_text: float = guidance.DEFAULT_TEXT_SCALE) -> float:
    """Mean |x^_0 - Enc(V)| over the latent cells outside the hat region, for the toy one-step edit."""
    edit = guidance.one_step_edit(toy_image(32), guidance.toy_instruction_embedding(), s_image, s_text)
    outside = guidance.latent_region_mask("hat") == 0
    return float(np.abs(edit.latent_edit - edit.image_latent)[:, outside].mean())


def check_guidance_ex_5(answer) -> Feedback:
    """The panel's "mean change of the latent outside the hat" at s_V = 1, s_X = 7.5 (plain image conditioning)."""
    expected = outside_change(1.0)
    mistakes = [
        (outside_change(guidance.DEFAULT_IMAGE_SCALE),
         "That is the value at the default s_V = 1.5; set the image scale to 1."),
        (outside_change(0.0), ("That is the value at s_V = 0 (the image ignored), which s_V = 3 also gives (it "
                               "overshoots by as much); set the image scale to 1.")),
    ]
    return check_number(answer, expected, mistakes=mistakes, rtol=5e-3, what="the mean change", decimals=EX5_DECIMALS,
                        hint=("Check the panel's settings: image scale s_V = 1, instruction scale s_X = 7.5, instruction "
                              "'add a blue hat'; the value is the last line under the figure."))


# --- Exercise 6: what the dropout teaches -------------------------------------------------

def check_guidance_ex_6(answer) -> Feedback:
    """The share of MGIE's training examples that train eps(z, V, 0) (instruction dropped, image kept)."""
    fractions = guidance.dropout_fractions()
    expected = fractions["instruction dropped"]
    mistakes = [
        (fractions["instruction dropped"] + fractions["both dropped"],
         "Among the examples whose instruction is dropped (prob < 0.1), half also lose the image: those train eps(z, 0, 0)."),
        (fractions["instruction dropped"] + fractions["both dropped"] + fractions["image dropped"],
         "That is the share with any condition dropped; only one of the three cases keeps the image and drops the text."),
        (fractions["both kept"], "That is the share that keeps both conditions and trains eps(z, V, U)."),
    ]
    return check_number(answer, expected, mistakes=mistakes, what="the share", sig_figs=3,
                        hint="Read the two masks in mgie_llava.py: the instruction goes when prob < 2p, the image when p <= prob < 3p.")


def _solution_ex3(eps_uncond, eps_image, eps_full, s_image, s_text):
    return eps_uncond + s_image * (eps_image - eps_uncond) + s_text * (eps_full - eps_image)


SOLUTIONS = {
    "guidance-ex-1": "b",
    "guidance-ex-2": _ex2_expected(),
    "guidance-ex-3": _solution_ex3,
    "guidance-ex-4": guidance.unet_input_shape(EX4_IMAGE_SIZE, EX4_IMAGE_SIZE),
    "guidance-ex-5": outside_change(1.0),
    "guidance-ex-6": guidance.dropout_fractions()["instruction dropped"],
}
