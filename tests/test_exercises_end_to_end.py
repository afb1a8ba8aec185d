"""Every chapter-12 solution passes its checker; typical wrong answers get their hint."""

import numpy as np
import pytest

from mgie_lessons import end_to_end
from mgie_lessons.exercises import end_to_end as ex

def test_ex1_wrong_letters_get_their_hints():
    assert "kappa * mean(U)" in ex.check_end_to_end_ex_1("b").message
    assert "Answer with one letter" in ex.check_end_to_end_ex_1("z").message
    assert ex.check_end_to_end_ex_1("(A)").correct


def test_ex2_recognises_the_typical_mistakes():
    result = end_to_end.run_pipeline(coupling=ex.EX2_COUPLING)
    errors = result.true_noise - result.predicted_noise
    seed_loss = (0.2 - 0.6) ** 2 + (0.2 - 0.4) ** 2 + (0.2 - 0.2) ** 2  # 0.20 by hand
    assert "left out the kappa" in ex.check_end_to_end_ex_2(seed_loss).message
    assert "averaged" in ex.check_end_to_end_ex_2(np.mean(errors ** 2)).message
    assert "absolute" in ex.check_end_to_end_ex_2(np.sum(np.abs(errors))).message
    assert not ex.check_end_to_end_ex_2("abc").correct


def test_ex3_recognises_transpose_and_scaling_and_survives_a_crash():
    assert "transpose" in ex.check_end_to_end_ex_3(lambda F, E: E @ F.T).message
    assert "sqrt(d)" in ex.check_end_to_end_ex_3(lambda F, E: F @ E.T / np.sqrt(F.shape[1])).message
    crashed = ex.check_end_to_end_ex_3(lambda F, E: F @ E)
    assert not crashed.correct and "raised" in crashed.message


def test_ex4_accepts_a_value_read_off_the_slider_and_rejects_sign_errors():
    best = ex.SOLUTIONS["end_to_end-ex-4"]
    # Independently: u = mean(U); kappa* u = mean_t(0.2 - 0.2 t) = 0.2 - 0.2 * 2 = -0.2
    u = float(end_to_end.run_pipeline(coupling=0.0).U.mean())
    assert best == pytest.approx(-0.2 / u)
    assert ex.check_end_to_end_ex_4(round(best, 1)).correct
    assert "wrong sign" in ex.check_end_to_end_ex_4(-best).message
    assert "kappa = 0" in ex.check_end_to_end_ex_4(0.0).message


def test_ex5_recognises_sum_words_only_and_log10():
    tokens = ex._ex5_tokens()
    logs = -np.log(tokens.probabilities)
    assert ex.check_end_to_end_ex_5(float(np.mean(logs))).correct
    assert "mean" in ex.check_end_to_end_ex_5(float(np.sum(logs))).message
    assert "[IMG]" in ex.check_end_to_end_ex_5(float(np.mean(logs[:9]))).message
    assert "base 10" in ex.check_end_to_end_ex_5(float(-np.mean(np.log10(tokens.probabilities)))).message


def test_ex6_recognises_channel_mean_and_swapped_order():
    assert "channels" in ex.check_end_to_end_ex_6(ex._maes_mean_over_channels).message
    assert "swapped" in ex.check_end_to_end_ex_6(ex._maes_swapped).message
    assert not ex.check_end_to_end_ex_6(lambda e, t, r: np.array([0.0, 0.0])).correct
    # the random inputs give both verdicts of the success rule
    rng = np.random.default_rng(0)
    from mgie_lessons import toy_mgie
    verdicts = {toy_mgie.edit_succeeds(*ex._make_ex6_inputs(rng))[0] for _ in range(40)}
    assert verdicts == {True, False}
