"""Tests for chapter 8 (mgie_lessons.schedules): closed forms written out here, not snapshots."""

import math

import numpy as np
import pytest
import sympy
from hypothesis import given
from hypothesis import strategies as st

from mgie_lessons import schedules as S
from mgie_lessons import schedules
import sympy as sp

KINDS = ("linear", "scaled_linear", "cosine")


# ---------------------------------------------------------------------------
# Schedules
# ---------------------------------------------------------------------------

def test_linear_schedule_endpoints_and_spacing():
    betas = S.beta_schedule("linear", 1000)
    assert betas.shape == (1000,)
    assert betas[0] == pytest.approx(1e-4, abs=1e-15)
    assert betas[-1] == pytest.approx(0.02, abs=1e-15)
    # equal steps of (0.02 - 1e-4) / 999
    assert np.allclose(np.diff(betas), (0.02 - 1e-4) / 999, rtol=1e-9)


def test_scaled_linear_endpoints_are_stable_diffusions():
    betas = S.beta_schedule("scaled_linear", 1000)
    assert betas[0] == pytest.approx(0.00085, rel=1e-12)
    assert betas[-1] == pytest.approx(0.012, rel=1e-12)
    # sqrt(beta) is the linear ramp, not beta itself
    roots = np.sqrt(betas)
    assert np.allclose(np.diff(roots), (math.sqrt(0.012) - math.sqrt(0.00085)) / 999, rtol=1e-9)
    middle = ((math.sqrt(0.00085) + math.sqrt(0.012)) / 2) ** 2
    assert S.beta_schedule("scaled_linear", 3)[1] == pytest.approx(middle, rel=1e-12)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("T", [1, 2, 10, 1000])
def test_alphas_cumprod_strictly_decreasing_in_open_unit_interval(kind, T):
    abar = S.alphas_cumprod(S.beta_schedule(kind, T))
    assert abar.shape == (T,)
    assert np.all(abar > 0) and np.all(abar < 1)
    assert np.all(np.diff(abar) < 0)


def test_alphas_cumprod_is_running_product():
    betas = np.array([0.1, 0.2, 0.5])
    assert np.allclose(S.alphas_cumprod(betas), [0.9, 0.9 * 0.8, 0.9 * 0.8 * 0.5])


def _f(u, s=0.008):
    return math.cos((u + s) / (1 + s) * math.pi / 2) ** 2


@pytest.mark.parametrize("T", [4, 50, 1000])
def test_cosine_alpha_bar_matches_closed_form(T):
    abar = S.alphas_cumprod(S.beta_schedule("cosine", T))
    # Nichol & Dhariwal: abar(t) = f(t/T) / f(0); array index t holds the paper's t + 1.
    expected = np.array([_f((t + 1) / T) / _f(0) for t in range(T)])
    # every beta except the capped last one is unclipped, so the closed form holds up to T-2
    assert np.allclose(abar[:-1], expected[:-1], rtol=1e-9, atol=1e-15)
    # the last beta would be 1 (f(1) = 0); it is capped at 0.999, leaving abar_{T-1} = 0.001 abar_{T-2}
    assert S.beta_schedule("cosine", T)[-1] == pytest.approx(0.999)
    assert abar[-1] == pytest.approx(abar[-2] * 0.001, rel=1e-12)


def test_cosine_alpha_bar_function():
    assert S.cosine_alpha_bar(np.array([0.0]))[0] == pytest.approx(_f(0.0))
    assert S.cosine_alpha_bar(np.array([1.0]))[0] == pytest.approx(0.0, abs=1e-30)


def test_signal_to_noise_closed_form():
    abar = np.array([0.8, 0.5, 0.2])
    assert np.allclose(S.signal_to_noise(abar), [4.0, 1.0, 0.25])


def test_custom_endpoints():
    betas = S.beta_schedule("linear", 5, beta_start=0.1, beta_end=0.5)
    assert np.allclose(betas, [0.1, 0.2, 0.3, 0.4, 0.5])


# ---------------------------------------------------------------------------
# Forward process and reverse steps
# ---------------------------------------------------------------------------

def test_q_sample_formula():
    abar = np.array([0.64, 0.36])
    assert S.q_sample(np.array([1.0, -1.0]), 1, np.array([0.5, 2.0]), abar) == pytest.approx(
        [0.6 * 1.0 + 0.8 * 0.5, 0.6 * -1.0 + 0.8 * 2.0])


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("t", [0, 1, 250, 999])
def test_q_sample_then_final_ddim_step_returns_x0(kind, t):
    rng = np.random.default_rng(t)
    x0 = rng.uniform(-1, 1, size=(4, 4, 3))
    noise = rng.standard_normal(x0.shape)
    abar = S.alphas_cumprod(S.beta_schedule(kind))
    x_t = S.q_sample(x0, t, noise, abar)
    tolerance = 1e-10 if kind != "cosine" or t < 999 else 1e-6   # abar_999 = 2.4e-9 for cosine
    assert np.allclose(S.ddim_step(x_t, t, -1, noise, abar), x0, atol=tolerance, rtol=0)


def test_ddim_step_equals_song_eq12_written_out():
    abar = np.array([0.9, 0.5, 0.2])
    x_t, eps = np.array([0.3, -0.7]), np.array([1.1, 0.4])
    x0_hat = (x_t - math.sqrt(1 - 0.2) * eps) / math.sqrt(0.2)
    expected = math.sqrt(0.9) * x0_hat + math.sqrt(1 - 0.9) * eps
    assert np.allclose(S.ddim_step(x_t, 2, 0, eps, abar), expected, atol=1e-14)


def test_ddim_coefficients_closed_form():
    abar = np.array([0.64, 0.25])
    c = S.ddim_coefficients(1, 0, abar)
    assert c.a == pytest.approx(math.sqrt(0.64 / 0.25))            # 1.6
    assert c.b == pytest.approx(0.8 * math.sqrt(0.75) / 0.5 - 0.6)
    last = S.ddim_coefficients(1, -1, abar)
    assert last.alpha_bar_prev == 1.0
    assert last.a == pytest.approx(2.0) and last.b == pytest.approx(math.sqrt(0.75) / 0.5)


def test_ddpm_step_with_zero_noise_is_posterior_mean_by_hand():
    betas = np.array([0.1, 0.2, 0.3])
    t = 2
    abar_t = (1 - 0.1) * (1 - 0.2) * (1 - 0.3)
    x_t, eps = np.array([0.5, -1.0, 2.0]), np.array([0.3, 0.1, -0.4])
    mean = (x_t - 0.3 / math.sqrt(1 - abar_t) * eps) / math.sqrt(1 - 0.3)
    assert np.allclose(S.ddpm_step(x_t, t, eps, betas, np.zeros(3)), mean, atol=1e-14)


def test_ddpm_noise_term_uses_posterior_variance():
    betas = np.array([0.1, 0.2, 0.3])
    abar_1, abar_2 = 0.9 * 0.8, 0.9 * 0.8 * 0.7
    variance = (1 - abar_1) / (1 - abar_2) * 0.3
    assert S.ddpm_posterior_variance(2, betas) == pytest.approx(variance)
    x_t, eps, z = np.array([0.5]), np.array([0.2]), np.array([1.0])
    with_noise = S.ddpm_step(x_t, 2, eps, betas, z)
    without = S.ddpm_step(x_t, 2, eps, betas, np.zeros(1))
    assert with_noise - without == pytest.approx(math.sqrt(variance))


def test_ddpm_step_at_t0_adds_no_noise():
    betas = np.array([0.1, 0.2])
    x_t, eps = np.array([0.4]), np.array([0.3])
    assert S.ddpm_posterior_variance(0, betas) == 0.0
    assert S.ddpm_step(x_t, 0, eps, betas, np.array([5.0])) == pytest.approx(
        S.ddpm_step(x_t, 0, eps, betas, np.array([0.0])))


def test_ddpm_mean_at_t0_with_true_noise_is_x0():
    betas = S.beta_schedule("linear")
    abar = S.alphas_cumprod(betas)
    x0, eps = np.array([0.25, -0.5]), np.array([1.0, -2.0])
    x_0 = S.q_sample(x0, 0, eps, abar)
    assert np.allclose(S.ddpm_posterior_mean(x_0, 0, eps, betas), x0, atol=1e-12)


# ---------------------------------------------------------------------------
# Sampling
# ---------------------------------------------------------------------------

def test_spaced_timesteps():
    assert list(S.spaced_timesteps(1000, 3)) == [999, 666, 332]
    assert list(S.spaced_timesteps(10, 10)) == list(range(9, -1, -1))
    assert list(S.spaced_timesteps(1000, 1)) == [999]


def test_ddim_sample_with_true_noise_recovers_x0():
    rng = np.random.default_rng(1)
    x0 = rng.uniform(-1, 1, size=(8, 8, 3))
    noise = rng.standard_normal(x0.shape)
    abar = S.alphas_cumprod(S.beta_schedule("linear"))
    trajectory = S.ddim_sample(S.q_sample(x0, 999, noise, abar), S.spaced_timesteps(1000, 20),
                               S.true_noise_predictor(noise), abar)
    assert trajectory.states.shape == (21, 8, 8, 3)
    assert np.max(np.abs(trajectory.final - x0)) < 1e-10


@pytest.mark.parametrize("steps", [1, 3, 10, 100])
@pytest.mark.parametrize("bias", [-0.02, 0.001, 0.01])
def test_constant_bias_error_telescopes(steps, bias):
    rng = np.random.default_rng(2)
    x0 = rng.uniform(-1, 1, size=(6,))
    noise = rng.standard_normal(6)
    abar = S.alphas_cumprod(S.beta_schedule("linear"))
    result = S.ddim_reconstruction(x0, noise, abar, steps, bias=bias)
    # written out: final - x0 = -bias * sqrt((1 - abar_999) / abar_999), whatever the steps
    factor = math.sqrt((1 - abar[999]) / abar[999])
    assert np.allclose(result.final - x0, -bias * factor, rtol=1e-8)
    assert S.constant_bias_error_factor(abar, 999) == pytest.approx(factor)


def test_x0_aware_predictor_keeps_only_the_last_steps_error():
    rng = np.random.default_rng(3)
    x0, noise = rng.uniform(-1, 1, 5), rng.standard_normal(5)
    abar = S.alphas_cumprod(S.beta_schedule("linear"))
    for steps in (2, 10):
        result = S.ddim_reconstruction(x0, noise, abar, steps, bias=0.01, predictor="reads x_t")
        last = S.spaced_timesteps(1000, steps)[-1]
        # the last step lands on x^_0 = x0 - sqrt(1 - abar_last) * bias / sqrt(abar_last)
        assert np.allclose(result.final - x0, -0.01 * math.sqrt((1 - abar[last]) / abar[last]))


def test_reconstruction_errors_start_at_zero_and_are_measured_from_path():
    x0, noise = np.array([0.5, -0.5]), np.array([1.0, 0.0])
    abar = S.alphas_cumprod(S.beta_schedule("linear", 100))
    oracle = S.ddim_reconstruction(x0, noise, abar, 5)
    assert oracle.errors.shape == (6,)
    assert np.all(oracle.errors < 1e-10)
    wrong = S.ddim_reconstruction(x0, noise, abar, 5, scale=1.05)
    assert wrong.errors[0] == 0.0 and np.all(np.diff(wrong.errors) > 0)   # it accumulates


def test_ddpm_sample_with_x0_aware_predictor_ends_at_x0():
    x0 = np.array([0.3, -0.8, 0.1])
    betas = S.beta_schedule("linear", 50)
    abar = S.alphas_cumprod(betas)
    x_T = S.q_sample(x0, 49, np.ones(3), abar)
    trajectory = S.ddpm_sample(x_T, S.x0_aware_predictor(x0, abar), betas, seed=4)
    assert trajectory.states.shape == (51, 3)
    assert list(trajectory.timesteps) == list(range(49, -1, -1))
    assert np.allclose(trajectory.final, x0, atol=1e-12)
    again = S.ddpm_sample(x_T, S.x0_aware_predictor(x0, abar), betas, seed=4)
    assert np.array_equal(trajectory.states, again.states)


# ---------------------------------------------------------------------------
# The seed's update and the forward path
# ---------------------------------------------------------------------------

def test_seed_update_and_trajectory():
    assert S.seed_update(0.6, 0.6, 0.1) == pytest.approx(0.54)
    assert np.allclose(S.seed_trajectory(0.6, [0.6, 0.4, 0.2], 0.1), [0.6, 0.54, 0.50, 0.48])


def test_forward_path_maximum():
    assert S.forward_path_maximum(0.5, 0.1) == pytest.approx(math.sqrt(0.26))
    assert S.forward_path_maximum(0.5, -0.1) == 0.5
    assert S.forward_path_maximum(-0.5, 0.2) == 0.2
    grid = np.linspace(0, 1, 100001)
    assert np.max(np.sqrt(grid) * 0.5 + np.sqrt(1 - grid) * 0.1) == pytest.approx(math.sqrt(0.26), abs=1e-8)


def test_forward_path_peak():
    # by hand: cos(theta) = 0.5 / sqrt(0.26), so abar = 0.25 / 0.26
    assert S.forward_path_peak_alpha_bar(0.5, 0.1) == pytest.approx(0.25 / 0.26)
    assert S.forward_path_peak_alpha_bar(0.5, -0.1) == 1.0
    assert S.forward_path_peak_alpha_bar(-0.5, 0.2) == 0.0
    grid = np.linspace(0, 1, 100001)
    values = np.sqrt(grid) * 0.5 + np.sqrt(1 - grid) * 0.1
    assert grid[np.argmax(values)] == pytest.approx(0.25 / 0.26, abs=1e-4)
    assert S.exact_forward_path_peak_alpha_bar(0.5, 0.1) == sympy.Rational(25, 26)
    peak = S.forward_path_peak_alpha_bar(0.5, 0.1)
    assert math.sqrt(peak) * 0.5 + math.sqrt(1 - peak) * 0.1 == pytest.approx(S.forward_path_maximum(0.5, 0.1))


def test_image_range_round_trip():
    p = np.array([0.0, 0.25, 1.0])
    assert np.allclose(S.to_model_range(p), [-1.0, -0.5, 1.0])
    assert np.allclose(S.to_image_range(S.to_model_range(p)), p)
    assert np.allclose(S.to_image_range(np.array([-3.0, 3.0])), [0.0, 1.0])


# ---------------------------------------------------------------------------
# Exact versions agree with numeric ones
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_exact_schedule_and_cumprod_agree(kind):
    exact = S.exact_beta_schedule(kind, 6)
    assert np.allclose([float(b) for b in exact], S.beta_schedule(kind, 6), rtol=1e-12)
    exact_abar = S.exact_alphas_cumprod(exact)
    assert np.allclose([float(a) for a in exact_abar], S.alphas_cumprod(S.beta_schedule(kind, 6)), rtol=1e-12)


def test_exact_linear_is_rational():
    exact = S.exact_beta_schedule("linear", 3)
    assert exact == [sympy.Rational(1, 10000), sympy.Rational(201, 20000), sympy.Rational(1, 50)]


def test_exact_step_functions_agree():
    abar_t, abar_prev = sympy.Rational(1, 4), sympy.Rational(16, 25)
    a, b = S.exact_ddim_coefficients(abar_t, abar_prev)
    assert a == sympy.Rational(8, 5)
    assert sympy.simplify(b - (sympy.Rational(8, 5) * sympy.sqrt(3) / 2 - sympy.Rational(3, 5))) == 0
    numeric = S.ddim_coefficients(1, 0, np.array([0.64, 0.25]))
    assert float(a) == pytest.approx(numeric.a) and float(b) == pytest.approx(numeric.b)
    assert float(S.exact_ddim_step(0.3, 0.2, abar_t, abar_prev)) == pytest.approx(
        float(S.ddim_step(np.array(0.3), 1, 0, np.array(0.2), np.array([0.64, 0.25]))))
    betas = np.array([0.1, 0.2, 0.3])
    abar = S.alphas_cumprod(betas)
    mean = S.exact_ddpm_posterior_mean(0.5, 0.3, 0.3, sympy.Rational(504, 1000))
    assert float(mean) == pytest.approx(float(S.ddpm_posterior_mean(np.array(0.5), 2, np.array(0.3), betas)))
    variance = S.exact_ddpm_posterior_variance(0.3, sympy.Rational(504, 1000), sympy.Rational(72, 100))
    assert float(variance) == pytest.approx(S.ddpm_posterior_variance(2, betas))
    assert float(S.exact_q_sample(1, abar[2], 0.5)) == pytest.approx(float(S.q_sample(1.0, 2, 0.5, abar)))
    assert S.exact_signal_to_noise(sympy.Rational(4, 5)) == 4
    assert S.exact_seed_update(0.6, 0.6, 0.1) == sympy.Rational(27, 50)
    assert S.exact_forward_path_maximum(0.5, 0.1) == sympy.sqrt(26) / 10


# ---------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------

@given(st.floats(0.01, 0.99), st.floats(-3, 3), st.floats(-3, 3))
def test_ddim_final_step_inverts_forward_process(abar_value, x0, eps):
    abar = np.array([0.999, abar_value]) if abar_value < 0.999 else np.array([0.9995, 0.999])
    x_t = S.q_sample(np.array(x0), 1, np.array(eps), abar)
    assert S.ddim_step(x_t, 1, -1, np.array(eps), abar) == pytest.approx(x0, abs=1e-9)


@given(st.floats(-2, 2), st.floats(-2, 2), st.floats(-2, 2))
def test_ddim_step_is_linear_in_x_and_eps(x, eps, c):
    abar = S.alphas_cumprod(S.beta_schedule("scaled_linear", 20))
    lhs = S.ddim_step(np.array(c * x), 10, 4, np.array(c * eps), abar)
    assert lhs == pytest.approx(c * S.ddim_step(np.array(x), 10, 4, np.array(eps), abar), abs=1e-9)


@given(st.integers(1, 400), st.integers(1, 400))
def test_spaced_timesteps_properties(T, n):
    n = min(n, T)
    steps = S.spaced_timesteps(T, n)
    assert steps[0] == T - 1 and steps.size == n
    assert np.all(np.diff(steps) < 0) and steps.min() >= 0


# ---------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("call, name", [
    (lambda: S.beta_schedule("linear", 0), "T"),
    (lambda: S.beta_schedule("linear", 2.5), "T"),
    (lambda: S.beta_schedule("quadratic", 10), "kind"),
    (lambda: S.beta_schedule("linear", 10, beta_start=0.02, beta_end=0.01), "beta_start"),
    (lambda: S.beta_schedule("linear", 10, beta_start=0.02, beta_end=0.02), "beta_start"),
    (lambda: S.beta_schedule("linear", 10, beta_start=-0.1), "beta_start"),
    (lambda: S.beta_schedule("linear", 10, beta_end=1.5), "beta_end"),
    (lambda: S.beta_schedule("linear", 10, beta_start=float("nan")), "beta_start"),
    (lambda: S.beta_schedule("cosine", 10, beta_start=0.001), "beta_start"),
    (lambda: S.alphas_cumprod([0.1, 1.2]), "betas"),
    (lambda: S.alphas_cumprod([]), "betas"),
    (lambda: S.alphas_cumprod([0.1, float("nan")]), "betas"),
    (lambda: S.signal_to_noise([0.5, 1.0]), "alphas_cumprod"),
    (lambda: S.q_sample(np.zeros(3), 5, np.zeros(3), [0.9, 0.5]), "t"),
    (lambda: S.q_sample(np.zeros(3), -1, np.zeros(3), [0.9, 0.5]), "t"),
    (lambda: S.q_sample(np.zeros(3), 0, np.zeros(2), [0.9, 0.5]), "noise"),
    (lambda: S.q_sample(np.array([np.nan]), 0, np.zeros(1), [0.9, 0.5]), "x0"),
    (lambda: S.ddpm_step(np.zeros(2), 0, np.zeros(3), [0.1, 0.2], np.zeros(2)), "eps"),
    (lambda: S.ddpm_step(np.zeros(2), 0, np.zeros(2), [0.1, 0.2], np.zeros(3)), "noise"),
    (lambda: S.ddpm_step(np.zeros(2), 2, np.zeros(2), [0.1, 0.2], np.zeros(2)), "t"),
    (lambda: S.ddpm_step(np.zeros(2), 0, np.zeros(2), [0.1, np.inf], np.zeros(2)), "betas"),
    (lambda: S.ddim_step(np.zeros(2), 1, 1, np.zeros(2), [0.9, 0.5]), "t_prev"),
    (lambda: S.ddim_step(np.zeros(2), 3, 1, np.zeros(2), [0.9, 0.5]), "t"),
    (lambda: S.ddim_step(np.zeros(2), 1, 0, np.zeros((2, 1)), [0.9, 0.5]), "eps"),
    (lambda: S.ddim_coefficients(1, 0.5, [0.9, 0.5]), "t_prev"),
    (lambda: S.spaced_timesteps(10, 11), "num_steps"),
    (lambda: S.spaced_timesteps(0, 1), "T"),
    (lambda: S.ddim_sample(np.zeros(2), [1, 1], lambda x, t: x, [0.9, 0.5]), "timesteps"),
    (lambda: S.ddim_sample(np.zeros(2), [3], lambda x, t: x, [0.9, 0.5]), "timesteps"),
    (lambda: S.ddim_sample(np.zeros(2), [1], "oracle", [0.9, 0.5]), "predict_noise"),
    (lambda: S.ddim_sample(np.zeros(2), [1], lambda x, t: np.zeros(3), [0.9, 0.5]), "predict_noise"),
    (lambda: S.ddpm_sample(np.zeros(2), lambda x, t: x, [0.1, 0.2], start=2), "start"),
    (lambda: S.ddim_reconstruction(np.zeros(2), np.zeros(2), [0.9, 0.5], 3), "num_steps"),
    (lambda: S.ddim_reconstruction(np.zeros(2), np.zeros(2), [0.9, 0.5], 1, predictor="magic"), "predictor"),
    (lambda: S.ddim_reconstruction(np.zeros(2), np.zeros(2), [0.9, 0.5], 1, bias=float("nan")), "bias"),
    (lambda: S.seed_update(0.6, 0.6, -0.1), "eta"),
    (lambda: S.to_model_range(np.array([1.5])), "image"),
    (lambda: S.forward_path_peak_alpha_bar(float("nan"), 0.1), "x0"),
    (lambda: S.forward_path_maximum(0.5, "a"), "noise"),
    (lambda: S.exact_beta_schedule("linear", 0), "T"),
])
def test_validation_errors_name_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()


# --- Issue 11, item 4: the Euler step is the DDIM step; Euler ancestral is DDIM with eta = 1 ---

def _random_state(shape=(4, 3, 2), seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape), rng.standard_normal(shape), rng.standard_normal(shape)


@pytest.mark.parametrize("kind", schedules.SCHEDULE_KINDS)
@pytest.mark.parametrize("t, t_prev", [(999, 989), (999, 0), (500, 499), (10, -1), (1, 0)])
def test_euler_step_equals_ddim_step_to_machine_precision(kind, t, t_prev):
    abar = schedules.alphas_cumprod(schedules.beta_schedule(kind, 1000))
    x, eps, _ = _random_state()
    euler = schedules.euler_step(x, t, t_prev, eps, abar)
    ddim = schedules.ddim_step(x, t, t_prev, eps, abar)
    scale = max(1.0, float(np.abs(ddim).max()))
    assert np.max(np.abs(euler - ddim)) <= 64 * np.finfo(float).eps * scale


def test_euler_step_equals_ddim_step_symbolically():
    abar_t, abar_prev = sp.symbols("abar_t abar_prev", positive=True)
    x, eps = sp.symbols("x eps", real=True)
    difference = schedules.exact_euler_step(x, eps, abar_t, abar_prev) - schedules.exact_ddim_step(x, eps, abar_t, abar_prev)
    assert sp.simplify(difference) == 0


def test_euler_step_is_a_different_step_from_the_seeds():
    abar = schedules.alphas_cumprod(schedules.beta_schedule("scaled_linear", 1000))
    x, eps, _ = _random_state()
    assert not np.allclose(schedules.euler_step(x, 999, 666, eps, abar), x - 0.1 * eps)


def test_noise_levels_are_one_over_root_snr():
    abar = schedules.alphas_cumprod(schedules.beta_schedule("scaled_linear", 1000))
    sigma = schedules.noise_levels(abar)
    np.testing.assert_allclose(sigma, 1 / np.sqrt(schedules.signal_to_noise(abar)), rtol=1e-12)
    assert float(schedules.exact_noise_level(sp.Rational(1, 5))) == pytest.approx(2.0)


@pytest.mark.parametrize("sigma_from, sigma_to", [(14.6, 10.0), (2.0, 1.0), (0.5, 0.0), (1.0, 1.0)])
def test_ancestral_sigmas_split_the_target_noise_level(sigma_from, sigma_to):
    sigmas = schedules.ancestral_sigmas(sigma_from, sigma_to)
    assert sigmas.sigma_down ** 2 + sigmas.sigma_up ** 2 == pytest.approx(sigma_to ** 2)
    assert 0 <= sigmas.sigma_down <= sigma_to
    up, down = schedules.exact_ancestral_sigmas(sigma_from, sigma_to)
    assert float(up) == pytest.approx(sigmas.sigma_up) and float(down) == pytest.approx(sigmas.sigma_down)


def test_ancestral_sigmas_by_hand():
    # sigma_from = 2, sigma_to = 1: sigma_up = sqrt(1 * 3 / 4), sigma_down = sqrt(1 - 3/4) = 1/2
    sigmas = schedules.ancestral_sigmas(2.0, 1.0)
    assert sigmas.sigma_up == pytest.approx(math.sqrt(0.75)) and sigmas.sigma_down == pytest.approx(0.5)


@pytest.mark.parametrize("kind", schedules.SCHEDULE_KINDS)
@pytest.mark.parametrize("t, t_prev", [(999, 989), (700, 300), (5, -1)])
def test_euler_ancestral_is_ddim_with_eta_one(kind, t, t_prev):
    abar = schedules.alphas_cumprod(schedules.beta_schedule(kind, 1000))
    sigma = schedules.noise_levels(abar)
    x, eps, z = _random_state(seed=3)
    y_prev = schedules.euler_ancestral_step(x / np.sqrt(abar[t]), sigma[t], 0.0 if t_prev < 0 else sigma[t_prev], eps, z)
    abar_prev = 1.0 if t_prev < 0 else abar[t_prev]
    np.testing.assert_allclose(np.sqrt(abar_prev) * y_prev, schedules.ddim_eta_step(x, t, t_prev, eps, abar, 1.0, z),
                               rtol=1e-12, atol=1e-12)


def test_euler_ancestral_without_noise_stops_short_of_ddim():
    abar = schedules.alphas_cumprod(schedules.beta_schedule("scaled_linear", 1000))
    sigma = schedules.noise_levels(abar)
    x, eps, z = _random_state(seed=4)
    ancestral = np.sqrt(abar[500]) * schedules.euler_ancestral_step(x / np.sqrt(abar[999]), sigma[999], sigma[500],
                                                                    eps, np.zeros_like(z))
    assert not np.allclose(ancestral, schedules.ddim_step(x, 999, 500, eps, abar))


def test_ddim_eta_zero_is_ddim_and_eta_one_on_one_step_is_ddpm():
    betas = schedules.beta_schedule("scaled_linear", 1000)
    abar = schedules.alphas_cumprod(betas)
    x, eps, z = _random_state(seed=5)
    np.testing.assert_allclose(schedules.ddim_eta_step(x, 800, 700, eps, abar, 0.0, z),
                               schedules.ddim_step(x, 800, 700, eps, abar), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(schedules.ddim_eta_step(x, 500, 499, eps, abar, 1.0, z),
                               schedules.ddpm_step(x, 500, eps, betas, z), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("call, name", [
    (lambda: schedules.ancestral_sigmas(0.0, 0.0), "sigma_from"),
    (lambda: schedules.ancestral_sigmas(1.0, 2.0), "sigma_to"),
    (lambda: schedules.ancestral_sigmas(float("nan"), 1.0), "sigma_from"),
    (lambda: schedules.euler_step(np.zeros(2), 5, 6, np.zeros(2), np.linspace(0.9, 0.1, 10)), "t_prev"),
    (lambda: schedules.euler_step(np.zeros(2), 5, 4, np.zeros(3), np.linspace(0.9, 0.1, 10)), "eps"),
    (lambda: schedules.euler_ancestral_step(np.zeros(2), 2.0, 1.0, np.zeros(2), np.zeros(3)), "noise"),
    (lambda: schedules.ddim_eta_step(np.zeros(2), 5, 4, np.zeros(2), np.linspace(0.9, 0.1, 10), -1, np.zeros(2)), "eta"),
])
def test_euler_functions_reject_bad_input(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_toy_example_is_the_toy_image_in_model_range_with_one_fixed_noise_draw():
    from mgie_lessons.images import toy_image
    x0, noise = schedules.toy_example()
    np.testing.assert_array_equal(x0, 2.0 * toy_image(32) - 1.0)
    np.testing.assert_array_equal(noise, np.random.default_rng(schedules.TOY_NOISE_SEED).standard_normal((32, 32, 3)))
    assert x0.min() >= -1 and x0.max() <= 1
    assert schedules.toy_example()[0] is x0  # cached, shared ...
    assert not x0.flags.writeable and not noise.flags.writeable   # ... so read-only
    assert schedules.toy_example(16)[0].shape == (16, 16, 3)
