"""Checkers for the exercises of chapter 12 (the whole pipeline).

Expected answers and typical wrong answers are computed with :mod:`mgie_lessons.end_to_end`
(exercises 1-4: the seed's caricature) and, for the pass through the trained toy MGIE
(exercises 5-6), with :mod:`mgie_lessons.toy_mgie` and its shipped weights.
"""

from __future__ import annotations

import numpy as np

from functools import lru_cache

from .. import end_to_end, toy_mgie, walkthrough
from .feedback import Feedback, check_choice, check_function, check_number

__all__ = [
    "check_end_to_end_ex_1",
    "check_end_to_end_ex_2",
    "check_end_to_end_ex_3",
    "check_end_to_end_ex_4",
    "check_end_to_end_ex_5",
    "check_end_to_end_ex_6",
    "SOLUTIONS",
    "EX2_COUPLING",
]

#: Exercise 2 uses the default pipeline with this kappa (not the dashboard default, whose L_edit the chapter prints).
EX2_COUPLING = 1.5


def check_end_to_end_ex_1(answer) -> Feedback:
    """With kappa = 0, what changes when the embedding of "hat" moves? (a, b, c or d)."""
    return check_choice(answer, "a", {
        "a": "Right: L_ins reads the FFN output through the tied head, but with kappa = 0 the "
             "predicted noise is the seed's 0.2 t, so the trajectory and L_edit cannot move.",
        "b": "L_edit depends on the embeddings only through kappa * mean(U); with kappa = 0 that "
             "term vanishes. Which loss reads the FFN output directly?",
        "c": "Only one of them can change: with kappa = 0 the predicted noise is 0.2 t whatever U is.",
        "d": "Move the word in the dashboard with kappa = 0 and watch the L_ins bar.",
    })


def _ex2_pipeline():
    return end_to_end.run_pipeline(coupling=EX2_COUPLING)


def check_end_to_end_ex_2(answer) -> Feedback:
    """L_edit of the default pipeline with kappa = 0.5, from mean(U) by hand."""
    result = _ex2_pipeline()
    u = float(result.U.mean())
    steps = np.arange(walkthrough.T, 0, -1)
    true = result.true_noise
    without_coupling = float(np.sum((true - walkthrough.NOISE_SLOPE * steps) ** 2))
    mean_instead_of_sum = float(np.mean((true - result.predicted_noise) ** 2))
    not_squared = float(np.sum(np.abs(true - result.predicted_noise)))
    return check_number(answer, result.l_edit, what="L_edit", mistakes=[
        (without_coupling, "That is the seed's L_edit (0.2): you left out the kappa * mean(U) term "
                           "that every eps_hat_t gets."),
        (mean_instead_of_sum, "You averaged the squared errors; L_edit as the seed writes it (chapter 6) sums over t."),
        (not_squared, "You added absolute errors; each term is squared."),
    ], hint=f"Add kappa * mean(U) = {EX2_COUPLING} x {u:.4f} to each eps_hat_t = 0.2 t, then sum the squared "
            "differences from 0.2.")


def _tied_logits_reference(F, E):
    return end_to_end.tied_lm_logits(F, E)


def _make_ex3_inputs(rng: np.random.Generator):
    n, vocabulary, d = rng.integers(2, 7), rng.integers(3, 9), rng.integers(2, 5)
    return rng.normal(size=(n, d)), rng.normal(size=(vocabulary, d))


def check_end_to_end_ex_3(student_function) -> Feedback:
    """Write ``tied_logits(F, E)`` returning the (n x |𝕍|) next-token logits."""
    return check_function(student_function, _tied_logits_reference, _make_ex3_inputs,
                          what="tied_logits", mistakes=[
                              (lambda F, E: (E @ F.T), "Your result is the transpose: rows should be "
                               "positions (F's rows), columns vocabulary words (E's rows)."),
                              (lambda F, E: F @ E.T / np.sqrt(F.shape[1]), "There is no sqrt(d) scaling in "
                               "an output layer; that belongs to attention scores."),
                          ])


def check_end_to_end_ex_4(answer) -> Feedback:
    """The kappa that makes L_edit smallest for the default pipeline (found with the dashboard)."""
    result = end_to_end.run_pipeline(coupling=0.0)
    best = end_to_end.edit_loss_minimising_coupling(result.U, walkthrough.T, walkthrough.NOISE_SLOPE, walkthrough.TRUE_NOISE[1])
    return check_number(answer, best, rtol=0.05, atol=0.02, what="kappa", mistakes=[
        (-best, "Right size, wrong sign: the seed's eps_hat_t = 0.2 t is already too large at t = 2 and 3, "
                "so the condition must pull it down."),
        (0.0, "With kappa = 0 you get the seed's L_edit = 0.2; moving kappa can do better."),
    ], hint="Slide kappa in the dashboard and watch the alpha L_edit bar: it has one minimum. "
            "Read kappa off to two decimals.")


@lru_cache(maxsize=1)
def _ex5_tokens() -> end_to_end.TeacherForcedTokens:
    return end_to_end.teacher_forced_tokens(toy_mgie.load_pretrained(), end_to_end.held_out_example())


def check_end_to_end_ex_5(answer) -> Feedback:
    """L_ins of the chapter's held-out example, from the table of teacher-forced probabilities."""
    tokens = _ex5_tokens()
    logs = -np.log(tokens.probabilities)
    n_words = toy_mgie.EXPRESSIVE_LENGTH
    mistakes = [
        (float(np.sum(logs)), "You added the terms; L_ins is a mean over the target tokens (Eq. 12.2)."),
        (float(np.mean(logs[:n_words])), "You averaged over the expressive words only; the [IMG] tokens and "
                                         "<eos> are targets too."),
        (float(-np.mean(np.log10(tokens.probabilities))), "That is log base 10; cross-entropy uses the "
                                                          "natural logarithm."),
        (float(np.mean(tokens.probabilities)), "You averaged the probabilities; average -log p instead."),
    ]
    # relative only: a trained model's L_ins is tiny (about 5e-5), so an absolute tolerance would
    # accept the words-only mean too
    return check_number(answer, tokens.l_ins, rtol=2e-3, atol=0.0, what="L_ins", mistakes=mistakes,
                        hint=f"Take -ln p for each of the {len(tokens.tokens)} targets and average them.")


def _success_maes_reference(edited, target, region):
    return np.array(toy_mgie.edit_succeeds(edited, target, region)[1:])


def _make_ex6_inputs(rng: np.random.Generator):
    target = rng.random((16, 16, 3))
    region = rng.random((16, 16)) < rng.uniform(0.1, 0.6)
    edited = np.clip(target + rng.normal(0.0, rng.uniform(0.01, 0.2), size=(16, 16, 3))
                     * rng.uniform(0.2, 2.0, size=3), 0.0, 1.0)
    return edited, target, region


def _maes_mean_over_channels(edited, target, region):
    diff = np.abs(edited - target)
    return np.array([diff[region].mean(), diff[~region].mean()])


def _maes_swapped(edited, target, region):
    return _success_maes_reference(edited, target, region)[::-1]


def check_end_to_end_ex_6(student_function) -> Feedback:
    """Write ``success_maes(edited, target, region)`` returning [region MAE, outside MAE] (worst channel)."""
    return check_function(student_function, _success_maes_reference, _make_ex6_inputs, what="success_maes",
                          mistakes=[
                              (_maes_mean_over_channels, "You averaged over the channels too; the rule takes "
                               "the mean per channel, then the worst channel."),
                              (_maes_swapped, "Your two numbers are swapped: the region's MAE first, then "
                               "the rest of the image."),
                          ])


SOLUTIONS = {
    "end_to_end-ex-1": "a",
    "end_to_end-ex-2": _ex2_pipeline().l_edit,
    "end_to_end-ex-3": lambda F, E: F @ E.T,
    "end_to_end-ex-4": end_to_end.edit_loss_minimising_coupling(
        end_to_end.run_pipeline(coupling=0.0).U, walkthrough.T, walkthrough.NOISE_SLOPE, walkthrough.TRUE_NOISE[1]),
    "end_to_end-ex-5": _ex5_tokens().l_ins,
    "end_to_end-ex-6": lambda edited, target, region: np.array(
        [max(np.abs(edited - target)[mask].mean(axis=0)) if mask.any() else 0.0 for mask in (region, ~region)]),
}
