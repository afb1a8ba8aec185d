"""Tests for chapter 6 (mgie_lessons.losses): expected values worked out by hand or with sympy."""

import math

import numpy as np
import pytest
import sympy
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mgie_lessons import losses, walkthrough

R = sympy.Rational
Y = walkthrough.TARGET_TOKENS
Y_HAT = walkthrough.GENERATED_TOKENS
SEED_TRUE = [0.2, 0.2, 0.2]          # walkthrough.TRUE_NOISE for t = 3, 2, 1
SEED_PREDICTED = [0.6, 0.4, 0.2]     # 0.2 t for t = 3, 2, 1


# --- Eqs. 6.1 - 6.3 --------------------------------------------------------

def test_log_softmax_by_hand():
    # row [0, log 3]: p = [1/4, 3/4]
    out = losses.log_softmax([[0.0, math.log(3)]])
    assert np.allclose(out, [[math.log(0.25), math.log(0.75)]])


def test_cross_entropy_by_hand():
    # logits [1, 2, 3], target 2: -log(e^3 / (e + e^2 + e^3))
    expected = -3 + math.log(math.e + math.e ** 2 + math.e ** 3)
    assert losses.cross_entropy([[1, 2, 3]], [2]) == pytest.approx(expected)
    # two rows: uniform over 4 (log 4), and a sure hit (~0)
    logits = [[0, 0, 0, 0], [0, 50, 0, 0]]
    assert losses.per_token_nll(logits, [3, 1]) == pytest.approx([math.log(4), 0.0], abs=1e-12)
    assert losses.cross_entropy(logits, [3, 1]) == pytest.approx(math.log(4) / 2)
    assert losses.cross_entropy(logits, [3, 1], reduction="sum") == pytest.approx(math.log(4))


def test_exact_cross_entropy_matches():
    exact = losses.exact_cross_entropy([[1, 2, 3]], [2])
    assert sympy.simplify(exact - (sympy.log(sympy.E + sympy.exp(2) + sympy.exp(3)) - 3)) == 0
    logits = [[0.5, -1.0, 2.0], [0.0, 0.1, 0.2]]
    assert float(losses.exact_cross_entropy(logits, [0, 2])) == pytest.approx(losses.cross_entropy(logits, [0, 2]))
    exact_sum = losses.exact_cross_entropy(logits, [0, 2], reduction="sum", mask=[1, 0])
    assert float(exact_sum) == pytest.approx(losses.per_token_nll(logits, [0, 2])[0])


def test_mask_drops_tokens():
    logits = [[0, 0], [0, math.log(3)], [5, 0]]
    nll = losses.per_token_nll(logits, [0, 1, 1])
    assert losses.cross_entropy(logits, [0, 1, 1], mask=[0, 1, 1]) == pytest.approx((nll[1] + nll[2]) / 2)
    assert losses.cross_entropy(logits, [0, 1, 1], mask=[True, False, False]) == pytest.approx(math.log(2))


def test_huge_logits_stay_finite():
    assert losses.cross_entropy([[1e4, 0.0, -1e4]], [0]) == 0.0
    assert losses.cross_entropy([[1e4, 0.0, -1e4]], [1]) == pytest.approx(1e4)
    assert np.isfinite(losses.log_softmax([[1e300, -1e300]])).all()


@pytest.mark.parametrize("targets, phrase", [
    ([0, 3], "targets must lie in"),
    ([0, -1], "targets must lie in"),
    ([0, 1.5], "whole numbers"),
    ([0], "one class id per row"),
    ("ab", "targets must be a sequence"),
    ([0, float("nan")], "targets contains NaN"),
])
def test_bad_targets(targets, phrase):
    with pytest.raises(ValueError, match=phrase):
        losses.cross_entropy([[0, 0, 0], [1, 1, 1]], targets)


@pytest.mark.parametrize("logits, phrase", [
    ([[0, float("nan")]], "logits contains NaN"),
    ([[0, float("inf")]], "logits contains an infinite"),
    ([0, 1], "logits must have shape"),
    (np.zeros((0, 3)), "logits must not be empty"),
])
def test_bad_logits(logits, phrase):
    with pytest.raises(ValueError, match=phrase):
        losses.cross_entropy(logits, [0])


def test_bad_mask_and_reduction():
    with pytest.raises(ValueError, match="mask removes every token"):
        losses.cross_entropy([[0, 0]], [0], mask=[0])
    with pytest.raises(ValueError, match="mask must hold only 0/1"):
        losses.cross_entropy([[0, 0]], [0], mask=[0.5])
    with pytest.raises(ValueError, match="mask must have shape"):
        losses.cross_entropy([[0, 0]], [0], mask=[1, 1])
    with pytest.raises(ValueError, match="reduction must be one of"):
        losses.cross_entropy([[0, 0]], [0], reduction="max")


# --- from probabilities ---------------------------------------------------------

def test_token_cross_entropy_by_hand():
    probabilities = [[0.5, 0.5, 0.0], [0.25, 0.25, 0.5], [0.0, 0.0, 1.0]]
    assert losses.target_probabilities(probabilities, [0, 2, 2]) == pytest.approx([0.5, 0.5, 1.0])
    # (log 2 + log 2 + 0) / 3
    assert losses.token_cross_entropy(probabilities, [0, 2, 2]) == pytest.approx(2 * math.log(2) / 3)
    exact = losses.exact_token_cross_entropy(probabilities, [0, 2, 2])
    assert sympy.simplify(exact - 2 * sympy.log(2) / 3) == 0


def test_loss_from_target_probabilities_by_hand():
    # (log 2 + log 4 + log 1) / 3 = log 8 / 3
    assert losses.loss_from_target_probabilities([0.5, 0.25, 1.0]) == pytest.approx(math.log(8) / 3)
    exact = losses.exact_loss_from_target_probabilities([0.5, 0.25, 1.0])
    assert sympy.simplify(exact - sympy.log(8) / 3) == 0
    assert losses.loss_from_target_probabilities([0.5, 0.25], reduction="sum") == pytest.approx(math.log(8))
    assert losses.loss_from_target_probabilities([0.5, 0.25], mask=[0, 1]) == pytest.approx(math.log(4))


def test_probability_errors():
    with pytest.raises(ValueError, match="sum to 1"):
        losses.token_cross_entropy([[0.5, 0.6]], [0])
    with pytest.raises(ValueError, match="lie in"):
        losses.token_cross_entropy([[1.5, -0.5]], [0])
    with pytest.raises(ValueError, match="infinite"):
        losses.token_cross_entropy([[0.0, 1.0]], [0])
    with pytest.raises(ValueError, match="p_correct"):
        losses.loss_from_target_probabilities([0.5, 1.2])
    with pytest.raises(ValueError, match="infinite"):
        losses.loss_from_target_probabilities([0.5, 0.0])
    with pytest.raises(ValueError, match="p_correct"):
        losses.exact_loss_from_target_probabilities([0.0])
    with pytest.raises(ValueError, match="p_correct must not be empty"):
        losses.loss_from_target_probabilities([])


# --- Eqs. 6.4 - 6.6 -------------------------------------------------------------

def test_seed_edit_loss_by_hand():
    # (0.2-0.6)^2 + (0.2-0.4)^2 + (0.2-0.2)^2 = 0.16 + 0.04 + 0 = 0.20
    assert losses.edit_loss_terms(SEED_TRUE, SEED_PREDICTED) == pytest.approx([0.16, 0.04, 0.0])
    assert losses.edit_loss(SEED_TRUE, SEED_PREDICTED) == pytest.approx(0.20)
    assert losses.exact_edit_loss(SEED_TRUE, SEED_PREDICTED) == R(1, 5)
    assert losses.edit_loss(SEED_TRUE, SEED_PREDICTED, reduction="mean") == pytest.approx(0.20 / 3)
    assert losses.exact_edit_loss(SEED_TRUE, SEED_PREDICTED, reduction="mean") == R(1, 15)
    assert losses.edit_loss(SEED_TRUE, SEED_PREDICTED, reduction="mse") == pytest.approx(0.20 / 3)


def test_edit_loss_on_arrays_per_step():
    true = np.zeros((2, 2, 2))
    predicted = np.ones((2, 2, 2))
    assert losses.edit_loss_terms(true, predicted) == pytest.approx([4.0, 4.0])
    assert losses.edit_loss(true, predicted) == pytest.approx(8.0)
    assert losses.edit_loss(true, predicted, reduction="mean") == pytest.approx(4.0)
    assert losses.edit_loss(true, predicted, reduction="mse") == pytest.approx(1.0)
    with pytest.raises(ValueError, match="one number per step"):
        losses.exact_edit_loss(true, predicted)


def test_edit_loss_errors():
    with pytest.raises(ValueError, match="predicted_noise must have the shape"):
        losses.edit_loss([0.2, 0.2], [0.1])
    with pytest.raises(ValueError, match="true_noise"):
        losses.edit_loss(0.2, 0.2)
    with pytest.raises(ValueError, match="true_noise contains NaN"):
        losses.edit_loss([float("nan")], [0.1])
    with pytest.raises(ValueError, match="predicted_noise"):
        losses.edit_loss([0.1], ["x"])
    with pytest.raises(ValueError, match="reduction"):
        losses.edit_loss([0.1], [0.1], reduction="avg")


def test_total_loss_of_the_seed():
    # 2.2 + 0.5 * 0.2 = 2.3
    assert losses.total_loss(2.2, 0.2, 0.5) == pytest.approx(2.3)
    assert losses.total_loss(2.2, 0.2) == pytest.approx(2.3)          # alpha defaults to MGIE's 0.5
    assert losses.exact_total_loss(2.2, 0.2, 0.5) == R(23, 10)
    symbolic = losses.exact_total_loss(sympy.log(2), R(1, 5), 1)
    assert sympy.simplify(symbolic - (sympy.log(2) + R(1, 5))) == 0


@pytest.mark.parametrize("args, name", [((2.2, 0.2, -0.5), "alpha"), ((-1, 0.2, 0.5), "l_ins"),
                                        ((2.2, float("nan"), 0.5), "l_edit"), ((2.2, 0.2, "half"), "alpha")])
def test_total_loss_errors(args, name):
    with pytest.raises(ValueError, match=name):
        losses.total_loss(*args)
    with pytest.raises(ValueError, match=name):
        losses.exact_total_loss(*args)


# --- Eqs. 6.7 - 6.8: the seed's L_ins ----------------------------------------------

def test_positional_comparison_of_the_seed():
    comparison = losses.positional_comparison(Y, Y_HAT)
    # by hand: Add/Add, a/a match; blue/bright, hat/blue, ... image/in all differ
    assert comparison.compared == 10
    assert comparison.matching_positions == (0, 1)
    assert comparison.mismatches == 8
    assert comparison.extra == 2
    assert comparison.mismatches_with_extra == 10


def test_alignment_of_the_seed_finds_two_insertions():
    alignment = losses.align_tokens(Y, Y_HAT)
    assert alignment.distance == 2
    assert (alignment.insertions, alignment.deletions, alignment.substitutions) == (2, 0, 0)
    assert alignment.matches == 10
    assert alignment.inserted_tokens() == ("bright", "to")
    assert losses.token_edit_distance(Y, Y_HAT) == 2


def test_alignment_small_cases_by_hand():
    assert losses.token_edit_distance(["a", "b"], ["a", "b"]) == 0
    assert losses.token_edit_distance(["a", "b", "c"], ["a", "c"]) == 1
    deletion = losses.align_tokens(["a", "b", "c"], ["a", "c"])
    assert deletion.deletions == 1 and deletion.operations[1] == ("delete", "b", None)
    substitution = losses.align_tokens(["cat"], ["dog"])
    assert substitution.operations == (("substitute", "cat", "dog"),)
    assert losses.token_edit_distance(["kitten"], ["sitting", "down", "now"]) == 3


@pytest.mark.parametrize("bad, phrase", [("Add a blue hat", "not a single string"), ([], "is empty"),
                                         (["a", ""], "non-empty strings"), (["a", 3], "non-empty strings")])
def test_token_list_errors(bad, phrase):
    with pytest.raises(ValueError, match=phrase):
        losses.align_tokens(bad, Y)
    with pytest.raises(ValueError, match="generated"):
        losses.positional_comparison(Y, bad)


def test_mismatch_rule_losses():
    assert losses.mismatch_rule_loss(6 + 5) == pytest.approx(2.2)     # the seed's count
    assert losses.mismatch_rule_loss(2) == pytest.approx(0.4)         # alignment
    assert losses.mismatch_rule_loss(10) == pytest.approx(2.0)        # positions + extra tokens
    assert losses.exact_mismatch_rule_loss(11) == R(11, 5)
    assert losses.exact_mismatch_rule_loss(2, 0.2) == R(2, 5)
    with pytest.raises(ValueError, match="mismatches"):
        losses.mismatch_rule_loss(-1)
    with pytest.raises(ValueError, match="mismatches"):
        losses.mismatch_rule_loss(2.5)
    with pytest.raises(ValueError, match="per_mismatch"):
        losses.mismatch_rule_loss(2, -0.2)
    with pytest.raises(ValueError, match="per_mismatch"):
        losses.exact_mismatch_rule_loss(2, -0.2)


# --- the toy model and teacher forcing ---------------------------------------------

def test_vocabulary_and_ids():
    vocabulary = losses.toy_vocabulary(Y, Y_HAT)
    assert vocabulary[0] == "<s>"
    assert set(vocabulary) == {"<s>"} | set(Y) | set(Y_HAT)
    assert len(vocabulary) == 11
    assert losses.token_ids(["a", "Add"], vocabulary).tolist() == [vocabulary.index("a"), vocabulary.index("Add")]
    with pytest.raises(ValueError, match="'cat'"):
        losses.token_ids(["cat"], vocabulary)
    with pytest.raises(ValueError, match="vocabulary must not repeat"):
        losses.token_ids(["a"], ["a", "a"])


def test_teacher_forcing_contexts_are_the_true_previous_tokens():
    assert losses.teacher_forcing_contexts(["x", "y", "z"]) == ("<s>", "x", "y")
    contexts = losses.teacher_forcing_contexts(Y)
    assert contexts[2] == "a" and "bright" not in contexts


def test_bigram_model_probabilities_by_hand():
    vocabulary = ("<s>", "a", "b")
    logits = losses.bigram_model_logits(vocabulary, ["a", "b", "a"], smoothing=1.0)
    # counts + 1: <s> -> a: 1 + 1 of (1 + 3); a -> b: 2/4; b -> a: 2/4
    probabilities = np.exp(logits)
    assert probabilities[0] == pytest.approx([0.25, 0.5, 0.25])
    assert probabilities[1] == pytest.approx([0.25, 0.25, 0.5])
    assert np.allclose(probabilities.sum(axis=1), 1)
    with pytest.raises(ValueError, match="smoothing"):
        losses.bigram_model_logits(vocabulary, ["a"], smoothing=0)


def test_teacher_forced_loss_of_the_model_that_wrote_y_hat():
    vocabulary = losses.toy_vocabulary(Y, Y_HAT)
    k, V = 0.1, len(vocabulary)
    result = losses.teacher_forced_loss(losses.bigram_model_logits(vocabulary, Y_HAT, k), vocabulary, Y)
    # by hand: a pair seen once in y_hat with 1 follower: (1 + k) / (1 + kV); "a" was followed by
    # "bright", so p(blue | a) = k / (1 + kV); "to" and "the" had 2 followers: (1 + k) / (2 + kV)
    once, unseen, split = (1 + k) / (1 + k * V), k / (1 + k * V), (1 + k) / (2 + k * V)
    expected = [once, once, unseen, once, once, split, split, once, once, split]
    assert result.target_probabilities == pytest.approx(expected)
    assert result.mean == pytest.approx(np.mean(-np.log(expected)))
    assert result.total == pytest.approx(np.sum(-np.log(expected)))
    assert int(np.argmax(result.per_token)) == 2        # the costliest position is "blue" after "a"


def test_random_model_is_reproducible():
    vocabulary = losses.toy_vocabulary(Y)
    first = losses.random_bigram_logits(vocabulary, seed=1)
    assert np.array_equal(first, losses.random_bigram_logits(vocabulary, seed=1))
    assert first.shape == (10, 10)
    with pytest.raises(ValueError, match="bigram_logits"):
        losses.teacher_forced_loss(first[:3], vocabulary, Y)


# --- properties -------------------------------------------------------------------

noises = hnp.arrays(float, st.integers(1, 6), elements=st.floats(-5, 5, allow_nan=False))


@given(noises)
def test_edit_loss_is_zero_when_predictions_equal_the_noise(true):
    assert losses.edit_loss(true, true) == 0.0


@given(noises, st.data())
def test_edit_loss_positive_when_predictions_differ(true, data):
    predicted = data.draw(hnp.arrays(float, true.shape, elements=st.floats(-5, 5, allow_nan=False)))
    assume(np.max(np.abs(true - predicted)) > 1e-100)   # smaller differences underflow when squared
    assert losses.edit_loss(true, predicted) > 0
    assert float(losses.exact_edit_loss(true, predicted)) == pytest.approx(losses.edit_loss(true, predicted))


logit_rows = hnp.arrays(float, st.tuples(st.integers(1, 5), st.integers(2, 6)),
                        elements=st.floats(-1e6, 1e6, allow_nan=False))


@given(logit_rows, st.data())
def test_cross_entropy_is_nonnegative_and_minus_log_p(logits, data):
    targets = data.draw(st.lists(st.integers(0, logits.shape[1] - 1), min_size=logits.shape[0],
                                 max_size=logits.shape[0]))
    nll = losses.per_token_nll(logits, targets)
    assert np.all(nll >= 0) and np.all(np.isfinite(nll))
    shifted = logits - logits.max(axis=1, keepdims=True)
    probabilities = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    p = probabilities[np.arange(len(targets)), targets]
    finite = p > 1e-300
    assert np.allclose(nll[finite], -np.log(p[finite]), rtol=1e-9, atol=1e-9)
    assert losses.cross_entropy(logits, targets) >= 0


@given(st.lists(st.floats(0.01, 1.0), min_size=1, max_size=8))
def test_loss_from_probabilities_agrees_with_exact(p):
    assert float(losses.exact_loss_from_target_probabilities(p)) == pytest.approx(
        losses.loss_from_target_probabilities(p))


@given(st.floats(0, 50), st.floats(0, 50), st.floats(0, 10))
def test_total_loss_agrees_with_exact_and_grows_with_alpha(l_ins, l_edit, alpha):
    assert losses.total_loss(l_ins, l_edit, alpha) == pytest.approx(float(losses.exact_total_loss(l_ins, l_edit, alpha)))
    assert losses.total_loss(l_ins, l_edit, alpha + 1) >= losses.total_loss(l_ins, l_edit, alpha)


words = st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=7)


@given(words, words)
def test_alignment_is_consistent(target, generated):
    alignment = losses.align_tokens(target, generated)
    rebuilt_target = [op[1] for op in alignment.operations if op[1] is not None]
    rebuilt_generated = [op[2] for op in alignment.operations if op[2] is not None]
    assert rebuilt_target == target and rebuilt_generated == generated
    assert alignment.distance == alignment.substitutions + alignment.insertions + alignment.deletions
    assert alignment.distance == losses.token_edit_distance(generated, target)   # symmetric
    assert alignment.distance <= losses.positional_comparison(target, generated).mismatches_with_extra


# --- Issue 11, item 6: the scale of L_edit (MGIE's mean over latent entries vs the seed's sum) ---

def test_latent_entry_count_for_mgie_and_other_sizes():
    assert losses.latent_entry_count() == 4 * 32 * 32 == 4096
    assert losses.latent_entry_count(512, 512) == 4 * 64 * 64
    assert losses.latent_entry_count(256, 512) == 4 * 32 * 64


def test_seed_sum_is_three_times_the_mean():
    true, predicted = [0.2, 0.2, 0.2], [0.6, 0.4, 0.2]
    factor = losses.sum_to_mean_factor(true)
    assert factor == 3
    assert losses.edit_loss(true, predicted) == pytest.approx(factor * losses.mean_edit_loss(true, predicted))
    assert losses.mean_edit_loss(true, predicted) == pytest.approx((0.16 + 0.04 + 0.0) / 3)


def test_mean_edit_loss_is_mse_over_every_latent_entry():
    rng = np.random.default_rng(0)
    noise, predicted = rng.standard_normal((4, 32, 32)), rng.standard_normal((4, 32, 32))
    by_hand = sum((a - b) ** 2 for a, b in zip(noise.ravel(), predicted.ravel())) / 4096
    assert losses.mean_edit_loss(noise, predicted) == pytest.approx(by_hand)
    assert losses.mean_edit_loss(noise, predicted) == pytest.approx(losses.edit_loss(noise, predicted, reduction="mse"))
    assert losses.sum_to_mean_factor(noise) == losses.latent_entry_count()


def test_weight_per_entry():
    assert losses.edit_weight_per_entry() == pytest.approx(0.5 / 4096)
    assert losses.exact_edit_weight_per_entry() == sympy.Rational(1, 8192)
    assert losses.edit_weight_per_entry(0.5, 3) == pytest.approx(0.5 / 3)


def test_zero_predictor_loss_matches_a_monte_carlo_estimate():
    rng = np.random.default_rng(1)
    draws = rng.standard_normal((200, 4, 32, 32))
    mean_mc = float(np.mean(draws ** 2))
    sum_mc = float(np.mean(np.sum(draws.reshape(200, -1) ** 2, axis=1)))
    assert losses.expected_zero_predictor_edit_loss() == 1.0 and abs(mean_mc - 1.0) < 0.01
    assert losses.expected_zero_predictor_edit_loss(reduction="sum") == 4096.0 and abs(sum_mc - 4096) < 0.01 * 4096


@pytest.mark.parametrize("call, name", [
    (lambda: losses.latent_entry_count(250, 256), "height"),
    (lambda: losses.sum_to_mean_factor([]), "true_noise"),
    (lambda: losses.mean_edit_loss([1.0, 2.0], [1.0]), "predicted_noise"),
    (lambda: losses.mean_edit_loss([float("nan")], [1.0]), "true_noise"),
    (lambda: losses.edit_weight_per_entry(-0.5), "alpha"),
    (lambda: losses.edit_weight_per_entry(0.5, 0), "entries"),
    (lambda: losses.expected_zero_predictor_edit_loss(reduction="max"), "reduction"),
])
def test_scale_functions_reject_bad_input(call, name):
    with pytest.raises(ValueError, match=name):
        call()
