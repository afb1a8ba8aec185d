"""Tests for chapter 5 (mgie_lessons.diffusion): expected values worked out by hand or with sympy."""

import math

import numpy as np
import pytest
import sympy
from hypothesis import given
from hypothesis import strategies as st

from mgie_lessons import diffusion, walkthrough

R = sympy.Rational
finite = st.floats(min_value=-10, max_value=10, allow_nan=False, allow_infinity=False)
steps = st.integers(min_value=1, max_value=12)
etas = st.floats(min_value=0, max_value=2, allow_nan=False, allow_infinity=False)


def seed_rule():
    return diffusion.linear_noise_rule(walkthrough.NOISE_SLOPE)


# --- Eq. 5.1 ---------------------------------------------------------------

def test_noisy_start_of_the_seed_is_0_6():
    assert diffusion.noisy_start(0.5, 0.1) == pytest.approx(0.6)
    assert diffusion.exact_noisy_start(0.5, 0.1) == R(3, 5)


def test_noisy_start_adds_noise_to_every_pixel():
    image = np.array([[0.0, 0.5], [1.0, 0.25]])
    assert np.allclose(diffusion.noisy_start(image, 0.1), [[0.1, 0.6], [1.1, 0.35]])
    noise = np.array([[0.1, -0.1], [0.0, 0.2]])
    assert np.allclose(diffusion.noisy_start(image, noise), [[0.1, 0.4], [1.0, 0.45]])


def test_noisy_start_rejects_bad_input():
    with pytest.raises(ValueError, match="noise"):
        diffusion.noisy_start(np.zeros((2, 2)), np.zeros(3))
    with pytest.raises(ValueError, match="image"):
        diffusion.noisy_start(float("nan"), 0.1)
    with pytest.raises(ValueError, match="noise"):
        diffusion.noisy_start(0.5, "a lot")


# --- Eq. 5.2 ---------------------------------------------------------------

def test_linear_rule_gives_the_seeds_predictions():
    rule = seed_rule()
    assert [rule(t) for t in (3, 2, 1)] == pytest.approx([0.6, 0.4, 0.2])
    assert diffusion.constant_noise_rule(0.3)(7) == 0.3


def test_rules_reject_non_numbers():
    with pytest.raises(ValueError, match="slope"):
        diffusion.linear_noise_rule(float("inf"))
    with pytest.raises(ValueError, match="value"):
        diffusion.constant_noise_rule("x")


def test_predicted_noise_values_order_is_t_equals_T_first():
    values = diffusion.predicted_noise_values(lambda t: 10 * t, 4)
    assert values.tolist() == [40, 30, 20, 10]


# --- Eq. 5.3 ---------------------------------------------------------------

def test_seed_trajectory_by_hand():
    # 0.6 - 0.1*0.6 = 0.54; 0.54 - 0.1*0.4 = 0.50; 0.50 - 0.1*0.2 = 0.48
    result = diffusion.denoise(0.6, 0.1, 3, seed_rule())
    assert result.steps.tolist() == [3, 2, 1]
    assert result.predicted_noise == pytest.approx([0.6, 0.4, 0.2])
    assert result.trajectory == pytest.approx([0.6, 0.54, 0.50, 0.48])
    assert result.final == pytest.approx(0.48)
    assert isinstance(result.final, float)
    assert result.T == 3
    assert result.z(3) == pytest.approx(0.6) and result.z(0) == pytest.approx(0.48)


def test_sequence_of_predictions_equals_the_rule():
    by_rule = diffusion.denoise(0.6, 0.1, 3, seed_rule())
    by_values = diffusion.denoise(0.6, 0.1, 3, [0.6, 0.4, 0.2])
    assert np.allclose(by_rule.trajectory, by_values.trajectory)


def test_exact_seed_trajectory():
    result = diffusion.exact_denoise(R(3, 5), R(1, 10), 3, [R(3, 5), R(2, 5), R(1, 5)])
    assert result.trajectory == (R(3, 5), R(27, 50), R(1, 2), R(12, 25))
    from_floats = diffusion.exact_denoise(0.6, 0.1, 3, seed_rule())
    assert from_floats.trajectory == result.trajectory
    assert from_floats.predicted_noise == (R(3, 5), R(2, 5), R(1, 5))
    assert from_floats.final == R(12, 25)


def test_exact_and_numeric_agree_on_other_settings():
    numeric = diffusion.denoise(0.7, 0.25, 5, diffusion.linear_noise_rule(0.05))
    exact = diffusion.exact_denoise(0.7, 0.25, 5, diffusion.linear_noise_rule(0.05))
    assert np.allclose(numeric.trajectory, [float(v) for v in exact.trajectory])


def test_image_trajectory_each_pixel_moves_by_the_same_amount():
    image = np.array([[0.5, 0.6], [0.7, 0.8]])
    result = diffusion.denoise(image, 0.1, 3, seed_rule())
    assert result.trajectory.shape == (4, 2, 2)
    assert np.allclose(result.final, image - 0.12)
    assert result.predicted_noise.shape == (3, 2, 2)


def test_per_pixel_predictions_are_accepted():
    z = np.array([1.0, 2.0])
    predictions = np.array([[0.5, 1.0], [0.5, 1.0]])   # t = 2, then t = 1
    result = diffusion.denoise(z, 1.0, 2, predictions)
    assert np.allclose(result.final, [0.0, 0.0])


@pytest.mark.parametrize("T", [0, -2])
def test_T_below_one_is_rejected(T):
    with pytest.raises(ValueError, match="T must be >= 1"):
        diffusion.denoise(0.6, 0.1, T, seed_rule())


@pytest.mark.parametrize("T", [2.5, "3", None, True])
def test_non_integer_T_is_rejected(T):
    with pytest.raises(ValueError, match="T must be a whole number"):
        diffusion.denoise(0.6, 0.1, T, seed_rule())


def test_whole_float_T_is_accepted():
    assert diffusion.denoise(0.6, 0.1, 3.0, seed_rule()).T == 3


def test_negative_eta_is_rejected():
    with pytest.raises(ValueError, match="eta must be >= 0"):
        diffusion.denoise(0.6, -0.1, 3, seed_rule())
    with pytest.raises(ValueError, match="eta"):
        diffusion.exact_denoise(0.6, -0.1, 3, seed_rule())


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_nan_or_inf_eta_and_start_are_rejected(bad):
    with pytest.raises(ValueError, match="eta"):
        diffusion.denoise(0.6, bad, 3, seed_rule())
    with pytest.raises(ValueError, match="z_start"):
        diffusion.denoise(bad, 0.1, 3, seed_rule())
    with pytest.raises(ValueError, match="z_start"):
        diffusion.exact_denoise(bad, 0.1, 3, seed_rule())


def test_z_start_with_nan_pixel_is_rejected():
    with pytest.raises(ValueError, match="z_start contains NaN"):
        diffusion.denoise(np.array([0.1, np.nan]), 0.1, 3, seed_rule())


@pytest.mark.parametrize("values", [[0.6, 0.4], [0.6, 0.4, 0.2, 0.0], 0.5])
def test_predicted_noise_of_wrong_length_is_rejected(values):
    with pytest.raises(ValueError, match="predicted_noise must hold T = 3 values"):
        diffusion.denoise(0.6, 0.1, 3, values)


def test_exact_predicted_noise_of_wrong_length_is_rejected():
    with pytest.raises(ValueError, match="predicted_noise must hold T = 3 values"):
        diffusion.exact_denoise(0.6, 0.1, 3, [0.6, 0.4])
    with pytest.raises(ValueError, match="predicted_noise"):
        diffusion.exact_denoise(0.6, 0.1, 3, 0.5)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "noise"])
def test_rule_returning_non_finite_values_is_rejected(bad):
    with pytest.raises(ValueError, match=r"predicted_noise\(t=3\)"):
        diffusion.denoise(0.6, 0.1, 3, lambda t: bad)


def test_predicted_noise_with_nan_entry_is_rejected():
    with pytest.raises(ValueError, match="predicted_noise contains NaN"):
        diffusion.denoise(0.6, 0.1, 3, [0.6, float("nan"), 0.2])


def test_prediction_of_the_wrong_image_shape_is_rejected():
    with pytest.raises(ValueError, match="predicted_noise"):
        diffusion.denoise(np.zeros((2, 2)), 0.1, 2, lambda t: np.ones(3))


def test_overflowing_trajectory_is_rejected():
    with pytest.raises(ValueError, match="predicted_noise"):
        diffusion.denoise(0.0, 2.0, 2, [1e308, 1e308])


def test_z_outside_the_range_is_rejected():
    result = diffusion.denoise(0.6, 0.1, 3, seed_rule())
    with pytest.raises(ValueError, match="t must be <= 3"):
        result.z(4)


# --- Eqs. 5.4 - 5.6 --------------------------------------------------------

def test_closed_form_of_the_seed():
    # 0.6 - 0.1 * (0.6 + 0.4 + 0.2) = 0.6 - 0.12 = 0.48
    assert diffusion.closed_form_final(0.6, 0.1, 3, seed_rule()) == pytest.approx(0.48)
    assert diffusion.exact_closed_form_final(0.6, 0.1, 3, seed_rule()) == R(12, 25)


def test_noise_budget_of_the_seed():
    budget = diffusion.noise_budget(0.5, 0.1, 0.1, 3, seed_rule())
    assert budget.start == pytest.approx(0.6)
    assert budget.added == pytest.approx(0.1)
    assert budget.removed == pytest.approx(0.12)
    assert budget.final == pytest.approx(0.48)
    assert budget.error == pytest.approx(-0.02)
    assert budget.overshoot == pytest.approx(0.02)
    exact = diffusion.exact_noise_budget(0.5, 0.1, 0.1, 3, seed_rule())
    assert (exact.added, exact.removed, exact.error, exact.overshoot) == (R(1, 10), R(3, 25), R(-1, 50), R(1, 50))


def test_eta_that_recovers_the_seeds_image_is_one_twelfth():
    assert diffusion.eta_to_recover_image(0.1, 3, seed_rule()) == pytest.approx(1 / 12)
    assert diffusion.exact_eta_to_recover_image(0.1, 3, seed_rule()) == R(1, 12)
    # and it does land on I = 0.5
    assert diffusion.denoise(0.6, 1 / 12, 3, seed_rule()).final == pytest.approx(0.5)


def test_eta_to_recover_image_for_other_T_is_one_over_T_times_T_plus_one():
    # 0.1 / (0.2 * T (T + 1) / 2) = 1 / (T (T + 1))
    for T in range(1, 7):
        assert diffusion.exact_eta_to_recover_image(0.1, T, seed_rule()) == R(1, T * (T + 1))


def test_eta_to_recover_image_errors():
    with pytest.raises(ValueError, match="sums to 0"):
        diffusion.eta_to_recover_image(0.1, 2, [0.5, -0.5])
    with pytest.raises(ValueError, match="eta must be >= 0"):
        diffusion.eta_to_recover_image(-0.1, 3, seed_rule())
    with pytest.raises(ValueError, match="sums to 0"):
        diffusion.exact_eta_to_recover_image(0.1, 2, [0.5, -0.5])
    with pytest.raises(ValueError, match="noise"):
        diffusion.eta_to_recover_image(float("nan"), 3, seed_rule())


# --- the seed's N(0, 0.1) ----------------------------------------------------

def test_noise_standard_deviation_under_both_readings():
    assert diffusion.noise_standard_deviation(0.1, "variance") == pytest.approx(math.sqrt(0.1))
    assert diffusion.noise_standard_deviation(0.1, "std") == 0.1
    assert diffusion.exact_noise_standard_deviation(0.1, "variance") == sympy.sqrt(10) / 10
    assert diffusion.exact_noise_standard_deviation(0.1, "std") == R(1, 10)
    with pytest.raises(ValueError, match="convention"):
        diffusion.noise_standard_deviation(0.1, "sigma")
    with pytest.raises(ValueError, match="scale"):
        diffusion.noise_standard_deviation(-0.1, "std")
    with pytest.raises(ValueError, match="scale"):
        diffusion.exact_noise_standard_deviation(-0.1, "std")


def test_draw_noise_is_reproducible_and_has_the_right_spread():
    first = diffusion.draw_noise(0.1, 20000, seed=3)
    assert np.array_equal(first, diffusion.draw_noise(0.1, 20000, seed=3))
    assert first.std() == pytest.approx(0.1, rel=0.03)
    with pytest.raises(ValueError, match="size"):
        diffusion.draw_noise(0.1, 0)
    with pytest.raises(ValueError, match="std"):
        diffusion.draw_noise(-1, 3)


def test_as_rational_reads_floats_as_their_decimals():
    assert diffusion.as_rational(0.2 * 3, "x") == R(3, 5)
    assert diffusion.as_rational(7, "x") == 7
    assert diffusion.as_rational(sympy.Float(0.25), "x") == R(1, 4)
    with pytest.raises(ValueError, match="x"):
        diffusion.as_rational(float("nan"), "x")
    with pytest.raises(ValueError, match="x"):
        diffusion.as_rational(sympy.oo, "x")


# --- properties ----------------------------------------------------------------

@given(z=finite, T=steps, slope=finite)
def test_eta_zero_leaves_z_unchanged(z, T, slope):
    result = diffusion.denoise(z, 0.0, T, diffusion.linear_noise_rule(slope))
    assert np.all(result.trajectory == z)


@given(z=finite, eta=etas, T=steps, slope=finite)
def test_closed_form_equals_the_loop(z, eta, T, slope):
    loop = diffusion.denoise(z, eta, T, diffusion.linear_noise_rule(slope)).final
    closed = diffusion.closed_form_final(z, eta, T, diffusion.linear_noise_rule(slope))
    by_formula = z - eta * slope * T * (T + 1) / 2
    assert loop == pytest.approx(closed, abs=1e-9)
    assert loop == pytest.approx(by_formula, abs=1e-9)


@given(z=finite, eta=etas, T=st.integers(min_value=1, max_value=6), values=st.lists(finite, min_size=6, max_size=6))
def test_exact_agrees_with_numeric(z, eta, T, values):
    numeric = diffusion.denoise(z, eta, T, values[:T])
    exact = diffusion.exact_denoise(z, eta, T, values[:T])
    assert np.allclose(numeric.trajectory, [float(v) for v in exact.trajectory], atol=1e-9)


@given(z=finite, eta=etas, T=steps, value=finite)
def test_trajectory_has_T_plus_one_values_and_steps_run_down(z, eta, T, value):
    result = diffusion.denoise(z, eta, T, diffusion.constant_noise_rule(value))
    assert result.trajectory.shape == (T + 1,)
    assert result.steps.tolist() == list(range(T, 0, -1))
    assert np.allclose(np.diff(result.trajectory), -eta * value)
