"""Checkers for the exercises of chapter 6 (losses).

Each ``check_losses_ex_<n>(answer)`` returns a :class:`Feedback`. Expected answers and the typical
wrong answers are computed with :mod:`mgie_lessons.losses`, never typed in.
"""

from __future__ import annotations

import math

import numpy as np

from .. import losses, walkthrough
from .feedback import Feedback, check_choice, check_function, check_number

__all__ = [
    "check_losses_ex_1",
    "check_losses_ex_2",
    "check_losses_ex_3",
    "check_losses_ex_4",
    "check_losses_ex_5",
    "SOLUTIONS",
    "EX2_PROBABILITIES",
    "EX3_GENERATED",
    "SIG_FIGS",
]

#: Exercises 2 and 5 accept answers rounded to this many significant figures.
SIG_FIGS = 3

#: Exercise 2: the probabilities a model gives the three correct tokens.
EX2_PROBABILITIES = (0.5, 0.25, 1.0)


def _model_that_wrote_y_hat():
    vocabulary = losses.toy_vocabulary(walkthrough.TARGET_TOKENS, walkthrough.GENERATED_TOKENS)
    model = losses.bigram_model_logits(vocabulary, walkthrough.GENERATED_TOKENS)
    return losses.teacher_forced_loss(model, vocabulary, walkthrough.TARGET_TOKENS)


# --- Exercise 1: teacher forcing (multiple choice) ----------------------------

def check_losses_ex_1(answer) -> Feedback:
    """Which of the equally expensive tokens "the" (after "to"), "person" and "image" cost more
    because of the repeated "to" in yhat? (a, b, c or d)."""
    result = _model_that_wrote_y_hat()
    to_the = walkthrough.TARGET_TOKENS.index("to") + 1          # the position of "the" after "to"
    person = walkthrough.TARGET_TOKENS.index("person")
    hints = {
        "a": ("Under teacher forcing nothing shifts: every position is predicted from the TRUE previous token "
              "of y, so an extra token in yhat cannot move the later positions."),
        "b": (f"Right: the model saw 'to' followed once by 'to' and once by 'the', so p(the | to) = "
              f"{result.target_probabilities[to_the]:.3g}. 'person' and 'image' cost the same for another "
              "reason: 'the' is followed once by 'person' and once by 'image' (in y too), and a bigram model "
              "cannot tell the two 'the' apart."),
        "c": ("yhat does enter, through the model: the model that wrote yhat gives its probabilities to what it "
              "wrote, and the loss reads those probabilities at the tokens of y."),
        "d": (f"'person' and 'image' both follow 'the', which yhat (and y) follows once by each of them: "
              f"p(person | the) = {result.target_probabilities[person]:.3g} comes from that ambiguity, not "
              "from the repeated 'to'."),
    }
    return check_choice(answer, "b", hints)


# --- Exercise 2: cross-entropy by hand -----------------------------------------

def check_losses_ex_2(answer) -> Feedback:
    """L_ins (mean, natural log) when the correct tokens get probabilities 0.5, 0.25 and 1."""
    p = np.array(EX2_PROBABILITIES)
    expected = losses.loss_from_target_probabilities(p)
    mistakes = [
        (losses.loss_from_target_probabilities(p, reduction="sum"),
         "That is the sum over the three tokens; L_ins here is the mean (divide by 3)."),
        (-expected, "A loss is -log p; you dropped the minus sign (log of a probability is <= 0)."),
        (expected / math.log(10), "You used log base 10; cross-entropy uses the natural logarithm (nats)."),
        (expected / math.log(2), "You used log base 2 (bits); the book uses the natural logarithm."),
        (float(np.mean(1 - p)), "1 - p is not the loss; the loss of a token is -log p."),
    ]
    return check_number(answer, expected, mistakes=mistakes, what="L_ins", sig_figs=SIG_FIGS,
                        hint=("Check each term: -ln 0.5 and -ln 0.25 are positive (0.25 = 0.5^2, so its term is twice "
                              "the first), -ln 1 = 0, and all three count in the mean."))


# --- Exercise 3: one inserted word, counted position by position ---------------

#: Exercise 3's generated sentence: y with "bright" inserted before "blue" (and no repeated "to").
EX3_GENERATED = walkthrough.TARGET_TOKENS[:2] + ("bright",) + walkthrough.TARGET_TOKENS[2:]


def check_losses_ex_3(answer) -> Feedback:
    """The seed's rule (0.2 per mismatch), position by position with the extra token counted,
    for y and EX3_GENERATED."""
    comparison = losses.positional_comparison(walkthrough.TARGET_TOKENS, EX3_GENERATED)
    alignment = losses.align_tokens(walkthrough.TARGET_TOKENS, EX3_GENERATED)
    rule = lambda count: losses.mismatch_rule_loss(count, walkthrough.LOSS_PER_MISMATCH)  # noqa: E731
    expected = rule(comparison.mismatches_with_extra)
    seed_pair = losses.positional_comparison(walkthrough.TARGET_TOKENS, walkthrough.GENERATED_TOKENS)
    mistakes = [
        (rule(alignment.distance), ("That is the alignment's count (one insertion); this exercise compares "
                                    "position by position, where one early insertion misaligns everything after it.")),
        (rule(comparison.mismatches), "You counted the differing positions but not the extra token at the end of yhat."),
        (rule(comparison.matches), "You counted the matching positions; the rule charges the mismatches."),
        (rule(len(EX3_GENERATED)), "You charged every token of yhat, including the two that match."),
        (rule(seed_pair.mismatches_with_extra), "That is the count for the seed's yhat; this yhat has no repeated 'to'."),
    ]
    return check_number(answer, expected, mistakes=mistakes, what="the rule's L_ins",
                        hint="Write y and yhat one above the other, mark the positions that differ, add the extra token.")


# --- Exercise 4: write a stable cross-entropy ------------------------------------

def _reference(logits, targets):
    return losses.cross_entropy(logits, targets)


def _sum_not_mean(logits, targets):
    return losses.cross_entropy(logits, targets, reduction="sum")


def _no_minus(logits, targets):
    return -losses.cross_entropy(logits, targets)


def _softmax_over_columns(logits, targets):
    log_p = losses.log_softmax(np.asarray(logits).T).T      # normalised down each column
    return float(-log_p[np.arange(len(targets)), targets].mean())


def _random_inputs(rng):
    n, vocabulary_size = int(rng.integers(2, 6)), int(rng.integers(3, 8))
    return rng.normal(0, 3, (n, vocabulary_size)), rng.integers(0, vocabulary_size, n)


def check_losses_ex_4(student_function) -> Feedback:
    """``student_function(logits, targets)`` returns the mean cross-entropy, stable for huge logits."""
    feedback = check_function(student_function, _reference, _random_inputs, trials=6, what="your cross_entropy",
                              mistakes=[
                                  (_sum_not_mean, "You summed over the tokens; take the mean (divide by n)."),
                                  (_no_minus, "Your loss is negative: it is MINUS the log-probability."),
                                  (_softmax_over_columns, "You normalised over axis 0 (columns); the softmax runs "
                                                          "along each row (over the vocabulary)."),
                              ])
    if not feedback.correct:
        return feedback
    huge = np.array([[1000.0, 0.0, -1000.0], [0.0, 1000.0, 999.0]])
    try:
        value = float(student_function(huge.copy(), np.array([0, 2])))
    except Exception as error:  # the student's code: report, never raise
        return Feedback(False, f"your cross_entropy raised {type(error).__name__} on logits of size 1000: {error}.")
    if not np.isfinite(value) or not np.isclose(value, _reference(huge, [0, 2])):
        return Feedback(False, ("Correct on ordinary logits, but not on logits of size 1000: exp(1000) overflows. "
                                "Subtract each row's maximum before exponentiating (Eq. 6.1)."))
    return Feedback(True, "Your cross_entropy agrees with the package, also for logits of size 1000.")


# --- Exercise 5: explore with the widget --------------------------------------

def check_losses_ex_5(answer) -> Feedback:
    """The probability p, the same for all 10 tokens, at which the mean L_ins equals the seed's 2.2."""
    target = walkthrough.PRINTED_L_INS
    n = len(walkthrough.TARGET_TOKENS)
    expected = math.exp(-target)     # the mean of n equal terms -log p is -log p
    mistakes = [
        (math.exp(-target / n), ("That p makes the SUM over the 10 tokens equal 2.2; the panel shows the mean, "
                                 "which is -log p itself.")),
        (10 ** (-target), "You used log base 10; the loss uses the natural logarithm, so p = e^(-2.2)."),
        (2 ** (-target), "You used log base 2; the loss uses the natural logarithm, so p = e^(-2.2)."),
        (math.exp(-target / len(walkthrough.GENERATED_TOKENS)), "Sum over the 12 tokens of yhat? The loss runs over y (10 tokens), and it is a mean."),
    ]
    return check_number(answer, expected, mistakes=mistakes, what="p", sig_figs=SIG_FIGS,
                        hint=("A higher p gives a lower loss: if your p is too high, the panel's L_ins is below 2.2; "
                              "too low, above. With all ten p equal, the mean is just -ln p."))


# --- Solutions (for the tests and the instructor's grading tool) ------------

def _solution_cross_entropy(logits, targets):
    logits = np.asarray(logits, dtype=float)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -log_p[np.arange(len(targets)), targets].mean()


SOLUTIONS = {
    "losses-ex-1": "b",
    "losses-ex-2": math.log(8) / 3,
    "losses-ex-3": 1.8,
    "losses-ex-4": _solution_cross_entropy,
    "losses-ex-5": math.exp(-2.2),
}
