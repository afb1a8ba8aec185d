"""Chapter 8: noise schedules, the forward process, and the DDPM and DDIM steps.

Timesteps index the schedule arrays from 0, as the diffusers library does: ``betas[t]`` for
t = 0, ..., T-1. The papers (Ho et al. 2020; Song et al. 2021) count t = 1, ..., T, so the book's
t is the paper's t + 1 shifted down by one; the formulas are the same.

    beta_t = beta_start + t / (T-1) (beta_end - beta_start)                       (Eq. 8.1, linear)
    beta_t = (sqrt(beta_start) + t / (T-1) (sqrt(beta_end) - sqrt(beta_start)))^2  (Eq. 8.2, scaled linear)
    f(u) = cos^2((u + s) / (1 + s) * pi / 2),
    beta_t = min(1 - f((t+1)/T) / f(t/T), 0.999)                                  (Eq. 8.3, cosine)
    alpha_t = 1 - beta_t,   abar_t = prod_{s <= t} alpha_s                         (Eq. 8.4)
    SNR(t) = abar_t / (1 - abar_t)                                                 (Eq. 8.5)
    x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps                                  (Eq. 8.6, forward)
    mu = (x_t - beta_t / sqrt(1 - abar_t) eps) / sqrt(alpha_t)                     (Eq. 8.7, DDPM mean)
    beta~_t = (1 - abar_{t-1}) / (1 - abar_t) beta_t,  x_{t-1} = mu + sqrt(beta~_t) z  (Eq. 8.8)
    x^_0 = (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t)                              (Eq. 8.9)
    x_{t'} = sqrt(abar_{t'}) x^_0 + sqrt(1 - abar_{t'}) eps                         (Eq. 8.10, DDIM)
    x_{t'} = a x_t - b eps,  a = sqrt(abar_{t'} / abar_t),
             b = sqrt(abar_{t'}) sqrt(1 - abar_t) / sqrt(abar_t) - sqrt(1 - abar_{t'})  (Eq. 8.11)
    z_{t-1} = z_t - eta eps^_t                       (Eq. 8.12, the seed's update, for comparison)
    x_final - x_0 = -delta sqrt((1 - abar_s) / abar_s)  (Eq. 8.13, DDIM with eps + delta, any steps)
    x~ = x / sqrt(abar),  sigma_t = sqrt((1 - abar_t) / abar_t) = 1 / sqrt(SNR(t))     (Eq. 8.14)
    x~_{t'} = x~_t + (sigma_{t'} - sigma_t) eps      (Eq. 8.15, Euler step of dx~/dsigma = eps)
    sigma_up = sqrt(sigma_{t'}^2 (sigma_t^2 - sigma_{t'}^2) / sigma_t^2),
    sigma_down = sqrt(sigma_{t'}^2 - sigma_up^2),
    x~_{t'} = x~_t + (sigma_down - sigma_t) eps + sigma_up xi         (Eq. 8.16, Euler ancestral)
    x_{t'} = sqrt(abar_{t'}) x^_0 + sqrt(1 - abar_{t'} - s^2) eps + s z,
    s = eta_DDIM sqrt((1 - abar_{t'}) / (1 - abar_t)) sqrt(1 - abar_t / abar_{t'})  (Eq. 8.17, DDIM with eta_DDIM)

Eq. 8.15 multiplied by sqrt(abar_{t'}) is exactly the DDIM step (Eq. 8.11), and Eq. 8.16 is
exactly Eq. 8.17 with eta_DDIM = 1 (Song et al. 2021, Eqs. 12 and 16; Karras et al. 2022, section 3).

Here abar_{-1} = 1: the step "to t' < 0" is the last one and lands on the clean image. The
cosine schedule is Nichol & Dhariwal's (2021) with s = 0.008, built the way diffusers'
``betas_for_alpha_bar`` builds its "squaredcos_cap_v2" schedule. ``exact_*`` functions are
sympy versions of the same formulas (exact rationals and square roots).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import sympy

from .images import toy_image
from .validation import as_array, as_vector, check_finite_number, check_int, check_nonnegative

__all__ = [
    "SCHEDULE_KINDS",
    "DEFAULT_BETA_RANGE",
    "COSINE_OFFSET",
    "MAX_BETA",
    "DDIMCoefficients",
    "Trajectory",
    "Reconstruction",
    "beta_schedule",
    "cosine_alpha_bar",
    "alphas_cumprod",
    "signal_to_noise",
    "q_sample",
    "ddpm_posterior_mean",
    "ddpm_posterior_variance",
    "ddpm_step",
    "predicted_x0",
    "ddim_coefficients",
    "ddim_step",
    "spaced_timesteps",
    "ddim_sample",
    "ddpm_sample",
    "true_noise_predictor",
    "x0_aware_predictor",
    "biased_predictor",
    "PREDICTORS",
    "ddim_reconstruction",
    "constant_bias_error_factor",
    "seed_update",
    "seed_trajectory",
    "forward_path_maximum",
    "forward_path_peak_alpha_bar",
    "to_model_range",
    "to_image_range",
    "exact_beta_schedule",
    "exact_alphas_cumprod",
    "exact_signal_to_noise",
    "exact_q_sample",
    "exact_ddpm_posterior_mean",
    "exact_ddpm_posterior_variance",
    "exact_ddim_coefficients",
    "exact_ddim_step",
    "AncestralSigmas",
    "noise_levels",
    "euler_step",
    "ancestral_sigmas",
    "euler_ancestral_step",
    "ddim_eta_step",
    "exact_noise_level",
    "exact_euler_step",
    "exact_ancestral_sigmas",
    "exact_seed_update",
    "exact_forward_path_maximum",
    "exact_forward_path_peak_alpha_bar",
    "TOY_NOISE_SEED",
    "toy_example",
]

#: The three schedules of chapter 8.
SCHEDULE_KINDS = ("linear", "scaled_linear", "cosine")
#: (beta_start, beta_end): DDPM's linear schedule (Ho et al. 2020, section 4) and Stable
#: Diffusion's scaled-linear one (the runwayml/stable-diffusion-v1-5 scheduler config).
DEFAULT_BETA_RANGE = {"linear": (1e-4, 0.02), "scaled_linear": (0.00085, 0.012)}
#: Nichol & Dhariwal's offset s, and the cap on beta that keeps alpha_t > 0.
COSINE_OFFSET = 0.008
MAX_BETA = 0.999


# ---------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class DDIMCoefficients:
    """The two numbers of one deterministic DDIM step x_{t'} = a x_t - b eps (Eq. 8.11).

    t, t_prev : the step's timesteps (t_prev < 0 for the final step to x_0)
    alpha_bar_t, alpha_bar_prev : abar_t and abar_{t'} (1 when t_prev < 0)
    a : sqrt(abar_{t'} / abar_t), how much the step scales x_t
    b : sqrt(abar_{t'}) sqrt(1 - abar_t) / sqrt(abar_t) - sqrt(1 - abar_{t'}), how much
        predicted noise it subtracts (the seed's eta plays this role with a = 1)
    """

    t: int
    t_prev: int
    alpha_bar_t: float
    alpha_bar_prev: float
    a: float
    b: float


@dataclass(frozen=True)
class Trajectory:
    """A sampling run.

    timesteps : int array (K,), the timesteps visited, in the order they run (decreasing)
    states : array (K + 1, *shape): states[0] is the start x_T, states[k + 1] follows step k
    predicted_noise : array (K, *shape): the noise prediction used at each step
    """

    timesteps: np.ndarray
    states: np.ndarray
    predicted_noise: np.ndarray

    @property
    def final(self) -> np.ndarray:
        """The last state, the sampler's estimate of x_0."""
        return self.states[-1]


@dataclass(frozen=True)
class Reconstruction:
    """DDIM run from x_s = q_sample(x_0, s, eps) back to x_0 with a (possibly wrong) predictor.

    trajectory : the :class:`Trajectory`
    errors : array (K + 1,), RMS distance of each state from the forward-process path
             sqrt(abar) x_0 + sqrt(1 - abar) eps at the same timestep (the last: from x_0)
    rms_error : RMS of final - x_0
    max_error : largest |final - x_0| over all entries
    """

    trajectory: Trajectory
    errors: np.ndarray
    rms_error: float
    max_error: float

    @property
    def final(self) -> np.ndarray:
        return self.trajectory.final


# ---------------------------------------------------------------------------
# Schedules (Eqs. 8.1-8.5)
# ---------------------------------------------------------------------------

def _check_kind(kind) -> str:
    if not isinstance(kind, str) or kind not in SCHEDULE_KINDS:
        raise ValueError(f"kind must be one of {SCHEDULE_KINDS}, got {kind!r}")
    return kind


def _beta_range(kind: str, beta_start, beta_end) -> tuple[float, float]:
    if kind == "cosine":
        if beta_start is not None or beta_end is not None:
            raise ValueError("beta_start and beta_end do not apply to the cosine schedule; leave them out")
        return (math.nan, math.nan)
    default_start, default_end = DEFAULT_BETA_RANGE[kind]
    start = default_start if beta_start is None else check_finite_number(beta_start, "beta_start")
    end = default_end if beta_end is None else check_finite_number(beta_end, "beta_end")
    if not 0 < start < 1:
        raise ValueError(f"beta_start must lie strictly between 0 and 1, got {start}")
    if not 0 < end < 1:
        raise ValueError(f"beta_end must lie strictly between 0 and 1, got {end}")
    if start >= end:
        raise ValueError(f"beta_start must be smaller than beta_end, got beta_start = {start} >= beta_end = {end}")
    return start, end


def cosine_alpha_bar(u, s: float = COSINE_OFFSET) -> np.ndarray:
    """f(u) = cos^2((u + s) / (1 + s) * pi / 2) for u in [0, 1] (Eq. 8.3, Nichol & Dhariwal 2021).

    The cosine schedule's cumulative product is abar = f(u) / f(0); the betas are built from
    ratios of f at consecutive points.
    """
    u = as_array(u, "u")
    s = check_nonnegative(s, "s")
    if u.size and (u.min() < 0 or u.max() > 1):
        raise ValueError("u must lie in [0, 1]")
    return np.cos((u + s) / (1 + s) * np.pi / 2) ** 2


def beta_schedule(kind: str, T: int = 1000, beta_start=None, beta_end=None) -> np.ndarray:
    """The T betas of a schedule, indexed t = 0, ..., T-1 (Eqs. 8.1-8.3, chapter 8).

    kind : "linear" (DDPM, 1e-4 to 0.02), "scaled_linear" (Stable Diffusion: a linear ramp of
        sqrt(beta) from sqrt(0.00085) to sqrt(0.012), squared) or "cosine" (Nichol & Dhariwal
        2021, s = 0.008, betas capped at 0.999; takes no beta_start/beta_end).
    T : number of timesteps, >= 1. With T = 1 the linear schedules hold just beta_start.
    beta_start, beta_end : override the kind's endpoints; 0 < beta_start < beta_end < 1.
    """
    kind = _check_kind(kind)
    T = check_int(T, "T", minimum=1)
    start, end = _beta_range(kind, beta_start, beta_end)
    if kind == "linear":
        return np.linspace(start, end, T)
    if kind == "scaled_linear":
        return np.linspace(math.sqrt(start), math.sqrt(end), T) ** 2
    grid = np.arange(T + 1) / T
    f = cosine_alpha_bar(grid)
    return np.minimum(1 - f[1:] / f[:-1], MAX_BETA)


def _check_betas(betas) -> np.ndarray:
    betas = as_vector(betas, "betas")
    if betas.min() <= 0 or betas.max() >= 1:
        raise ValueError("betas must lie strictly between 0 and 1")
    return betas


def _check_alphas_cumprod(values, name: str = "alphas_cumprod") -> np.ndarray:
    values = as_vector(values, name)
    if values.min() <= 0 or values.max() >= 1:
        raise ValueError(f"{name} must lie strictly between 0 and 1")
    return values


def alphas_cumprod(betas) -> np.ndarray:
    """abar_t = prod_{s <= t} (1 - beta_s) for t = 0, ..., T-1 (Eq. 8.4, chapter 8)."""
    betas = _check_betas(betas)
    return np.cumprod(1.0 - betas)


def signal_to_noise(alphas_cumprod) -> np.ndarray:
    """SNR(t) = abar_t / (1 - abar_t): signal power over noise power in x_t (Eq. 8.5, chapter 8)."""
    abar = _check_alphas_cumprod(alphas_cumprod)
    return abar / (1.0 - abar)


# ---------------------------------------------------------------------------
# Forward process and one reverse step (Eqs. 8.6-8.11)
# ---------------------------------------------------------------------------

def _check_timestep(t, T: int, name: str = "t") -> int:
    return check_int(t, name, minimum=0, maximum=T - 1)


def _check_same_shape(reference: np.ndarray, other, name: str, reference_name: str) -> np.ndarray:
    other = as_array(other, name)
    if other.shape != reference.shape:
        raise ValueError(f"{name} must have the same shape as {reference_name} {reference.shape}, got {other.shape}")
    return other


def q_sample(x0, t, noise, alphas_cumprod) -> np.ndarray:
    """x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps, in one shot (Eq. 8.6; Ho et al. Eq. 4).

    x0 and noise are arrays of the same shape (a number, a vector, an image); t indexes
    ``alphas_cumprod`` from 0.
    """
    abar = _check_alphas_cumprod(alphas_cumprod)
    x0 = as_array(x0, "x0")
    noise = _check_same_shape(x0, noise, "noise", "x0")
    t = _check_timestep(t, abar.size)
    return math.sqrt(abar[t]) * x0 + math.sqrt(1.0 - abar[t]) * noise


def ddpm_posterior_mean(x_t, t, eps, betas) -> np.ndarray:
    """mu = (x_t - beta_t / sqrt(1 - abar_t) eps) / sqrt(alpha_t) (Eq. 8.7; Ho et al. Eq. 11)."""
    betas = _check_betas(betas)
    x_t = as_array(x_t, "x_t")
    eps = _check_same_shape(x_t, eps, "eps", "x_t")
    t = _check_timestep(t, betas.size)
    abar_t = float(np.prod(1.0 - betas[: t + 1]))
    beta_t = float(betas[t])
    return (x_t - beta_t / math.sqrt(1.0 - abar_t) * eps) / math.sqrt(1.0 - beta_t)


def ddpm_posterior_variance(t, betas) -> float:
    """beta~_t = (1 - abar_{t-1}) / (1 - abar_t) beta_t, with abar_{-1} = 1 (Eq. 8.8).

    This is the variance of q(x_{t-1} | x_t, x_0) (Ho et al. Eq. 7); at t = 0 it is 0.
    """
    betas = _check_betas(betas)
    t = _check_timestep(t, betas.size)
    abar = np.cumprod(1.0 - betas)
    abar_prev = 1.0 if t == 0 else float(abar[t - 1])
    return (1.0 - abar_prev) / (1.0 - float(abar[t])) * float(betas[t])


def ddpm_step(x_t, t, eps, betas, noise) -> np.ndarray:
    """One DDPM reverse step x_{t-1} = mu + sqrt(beta~_t) z (Eqs. 8.7-8.8; Ho et al. Alg. 2).

    eps is the predicted noise at x_t, noise is the fresh Gaussian draw z (same shape as x_t).
    At t = 0 no noise is added (beta~_0 = 0), so the step returns the mean.
    """
    x_t = as_array(x_t, "x_t")
    noise = _check_same_shape(x_t, noise, "noise", "x_t")
    mean = ddpm_posterior_mean(x_t, t, eps, betas)
    if int(t) == 0:
        return mean
    return mean + math.sqrt(ddpm_posterior_variance(t, betas)) * noise


def predicted_x0(x_t, t, eps, alphas_cumprod) -> np.ndarray:
    """x^_0 = (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t): Eq. 8.6 solved for x_0 (Eq. 8.9)."""
    abar = _check_alphas_cumprod(alphas_cumprod)
    x_t = as_array(x_t, "x_t")
    eps = _check_same_shape(x_t, eps, "eps", "x_t")
    t = _check_timestep(t, abar.size)
    return (x_t - math.sqrt(1.0 - abar[t]) * eps) / math.sqrt(abar[t])


def ddim_coefficients(t, t_prev, alphas_cumprod) -> DDIMCoefficients:
    """a and b of the DDIM step x_{t'} = a x_t - b eps (Eq. 8.11, chapter 8).

    Substituting Eq. 8.9 into Eq. 8.10 (Song et al. Eq. 12 with sigma = 0) gives
    a = sqrt(abar_{t'} / abar_t) and
    b = sqrt(abar_{t'}) sqrt(1 - abar_t) / sqrt(abar_t) - sqrt(1 - abar_{t'}).
    t_prev must be smaller than t; any t_prev < 0 means the final step, with abar_{t'} = 1.
    """
    abar = _check_alphas_cumprod(alphas_cumprod)
    t = _check_timestep(t, abar.size)
    t_prev = check_int(t_prev, "t_prev", maximum=t - 1)
    abar_t = float(abar[t])
    abar_prev = 1.0 if t_prev < 0 else float(abar[t_prev])
    a = math.sqrt(abar_prev / abar_t)
    b = math.sqrt(abar_prev) * math.sqrt(1.0 - abar_t) / math.sqrt(abar_t) - math.sqrt(1.0 - abar_prev)
    return DDIMCoefficients(t, t_prev, abar_t, abar_prev, a, b)


def ddim_step(x_t, t, t_prev, eps, alphas_cumprod) -> np.ndarray:
    """Deterministic DDIM step (eta = 0) from t to t_prev (Eqs. 8.9-8.11; Song et al. Eq. 12).

    x_{t'} = sqrt(abar_{t'}) x^_0 + sqrt(1 - abar_{t'}) eps = a x_t - b eps. With t_prev < 0
    the step lands on x^_0 itself (abar_{t'} = 1).
    """
    x_t = as_array(x_t, "x_t")
    eps = _check_same_shape(x_t, eps, "eps", "x_t")
    coefficients = ddim_coefficients(t, t_prev, alphas_cumprod)
    return coefficients.a * x_t - coefficients.b * eps


# ---------------------------------------------------------------------------
# Eqs. 8.14 - 8.17: the Euler and Euler-ancestral steps (diffusers' EulerAncestralDiscreteScheduler)
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class AncestralSigmas:
    """One Euler-ancestral step from noise level ``sigma_from`` to ``sigma_to`` (Eq. 8.16).

    The deterministic part goes down to ``sigma_down`` and fresh noise of size ``sigma_up`` is
    added back; ``sigma_down**2 + sigma_up**2 == sigma_to**2``.
    """

    sigma_from: float
    sigma_to: float
    sigma_up: float
    sigma_down: float


def _abar_at(abar: np.ndarray, t: int) -> float:
    return 1.0 if t < 0 else float(abar[t])


def _sigma(alpha_bar: float) -> float:
    return math.sqrt((1.0 - alpha_bar) / alpha_bar)


def noise_levels(alphas_cumprod) -> np.ndarray:
    """sigma_t = sqrt((1 - abar_t) / abar_t) = 1 / sqrt(SNR(t)) for every t (Eq. 8.14, chapter 8).

    This is the array diffusers' Euler schedulers build from ``alphas_cumprod``
    (scheduling_euler_ancestral_discrete.py: ``((1 - self.alphas_cumprod) / self.alphas_cumprod) ** 0.5``).
    """
    abar = _check_alphas_cumprod(alphas_cumprod)
    return np.sqrt((1.0 - abar) / abar)


def euler_step(x_t, t, t_prev, eps, alphas_cumprod) -> np.ndarray:
    """One Euler step in the variables x~ = x / sqrt(abar), sigma = 1/sqrt(SNR) (Eqs. 8.14-8.15).

    In those variables the forward process is x~_t = x_0 + sigma_t eps, so along a path with fixed
    eps, dx~/dsigma = eps: the Euler step is x~_{t'} = x~_t + (sigma_{t'} - sigma_t) eps_theta. The
    result is returned in the book's x variables, x_{t'} = sqrt(abar_{t'}) x~_{t'}; t_prev < 0 means
    the final step (abar = 1, sigma = 0). It equals :func:`ddim_step` (chapter 8; Karras et al. 2022).
    """
    x_t = as_array(x_t, "x_t")
    eps = _check_same_shape(x_t, eps, "eps", "x_t")
    abar = _check_alphas_cumprod(alphas_cumprod)
    t = _check_timestep(t, abar.size)
    t_prev = check_int(t_prev, "t_prev", maximum=t - 1)
    abar_t, abar_prev = _abar_at(abar, t), _abar_at(abar, t_prev)
    y_t = x_t / math.sqrt(abar_t)
    y_prev = y_t + (_sigma(abar_prev) - _sigma(abar_t)) * eps
    return math.sqrt(abar_prev) * y_prev


def ancestral_sigmas(sigma_from, sigma_to) -> AncestralSigmas:
    """sigma_up and sigma_down of one Euler-ancestral step (Eq. 8.16, chapter 8).

    As diffusers' EulerAncestralDiscreteScheduler.step computes them:
    sigma_up = sqrt(sigma_to^2 (sigma_from^2 - sigma_to^2) / sigma_from^2),
    sigma_down = sqrt(sigma_to^2 - sigma_up^2). Needs sigma_from > 0 and 0 <= sigma_to <= sigma_from.
    """
    sigma_from = check_finite_number(sigma_from, "sigma_from")
    sigma_to = check_nonnegative(sigma_to, "sigma_to")
    if not sigma_from > 0:
        raise ValueError(f"sigma_from must be > 0, got {sigma_from}")
    if sigma_to > sigma_from:
        raise ValueError(f"sigma_to must not exceed sigma_from = {sigma_from}, got {sigma_to}")
    up = math.sqrt(sigma_to ** 2 * (sigma_from ** 2 - sigma_to ** 2) / sigma_from ** 2)
    down = math.sqrt(max(sigma_to ** 2 - up ** 2, 0.0))
    return AncestralSigmas(sigma_from, sigma_to, up, down)


def euler_ancestral_step(y_t, sigma_from, sigma_to, eps, noise) -> np.ndarray:
    """One Euler-ancestral step in the y variables (Eq. 8.16, chapter 8).

    x~_{t'} = x~_t + (sigma_down - sigma_from) eps + sigma_up xi, with xi = ``noise`` ~ N(0, I): an
    Euler step down to sigma_down, then fresh noise that brings the noise level back up to
    sigma_to. ``y_t`` is diffusers' sigma-scaled sample, the book's x~_t = x_t / sqrt(abar_t).
    """
    y_t = as_array(y_t, "y_t")
    eps = _check_same_shape(y_t, eps, "eps", "y_t")
    noise = _check_same_shape(y_t, noise, "noise", "y_t")
    sigmas = ancestral_sigmas(sigma_from, sigma_to)
    return y_t + (sigmas.sigma_down - sigmas.sigma_from) * eps + sigmas.sigma_up * noise


def ddim_eta_step(x_t, t, t_prev, eps, alphas_cumprod, eta, noise) -> np.ndarray:
    """DDIM's general step with stochasticity eta (Eq. 8.17; Song et al. 2021, Eqs. 12 and 16).

    x_{t'} = sqrt(abar_{t'}) x^_0 + sqrt(1 - abar_{t'} - s^2) eps + s z, with
    s = eta_DDIM sqrt((1 - abar_{t'}) / (1 - abar_t)) sqrt(1 - abar_t / abar_{t'}). eta = 0 is
    :func:`ddim_step`; eta = 1 is the Euler-ancestral step in x variables (chapter 8).
    """
    x_t = as_array(x_t, "x_t")
    eps = _check_same_shape(x_t, eps, "eps", "x_t")
    noise = _check_same_shape(x_t, noise, "noise", "x_t")
    eta = check_nonnegative(eta, "eta")
    abar = _check_alphas_cumprod(alphas_cumprod)
    t = _check_timestep(t, abar.size)
    t_prev = check_int(t_prev, "t_prev", maximum=t - 1)
    abar_t, abar_prev = _abar_at(abar, t), _abar_at(abar, t_prev)
    s = eta * math.sqrt((1.0 - abar_prev) / (1.0 - abar_t)) * math.sqrt(1.0 - abar_t / abar_prev)
    if s ** 2 > 1.0 - abar_prev + 1e-15:
        raise ValueError(f"eta = {eta} is too large for this step: the noise term would exceed 1 - abar_t'")
    x0_hat = (x_t - math.sqrt(1.0 - abar_t) * eps) / math.sqrt(abar_t)
    return math.sqrt(abar_prev) * x0_hat + math.sqrt(max(1.0 - abar_prev - s ** 2, 0.0)) * eps + s * noise


# ---------------------------------------------------------------------------
# Sampling loops
# ---------------------------------------------------------------------------

def spaced_timesteps(T: int, num_steps: int) -> np.ndarray:
    """num_steps timesteps from T-1 down, evenly spaced ("trailing" spacing in diffusers).

    round(T - k T / num_steps) - 1 for k = 0, ..., num_steps-1: the first is always T-1, and
    num_steps = T gives every timestep T-1, ..., 0.
    """
    T = check_int(T, "T", minimum=1)
    num_steps = check_int(num_steps, "num_steps", minimum=1, maximum=T)
    return (np.round(T - np.arange(num_steps) * T / num_steps) - 1).astype(int)


def _check_timesteps(timesteps, T: int) -> np.ndarray:
    values = as_vector(timesteps, "timesteps")
    if not np.all(values == np.round(values)):
        raise ValueError("timesteps must be whole numbers")
    values = values.astype(int)
    if values.min() < 0 or values.max() > T - 1:
        raise ValueError(f"timesteps must lie in [0, {T - 1}], got {values.min()} to {values.max()}")
    if values.size > 1 and np.any(np.diff(values) >= 0):
        raise ValueError("timesteps must be strictly decreasing (sampling runs from noise to image)")
    return values


def _predict(predict_noise: Callable, x_t: np.ndarray, t: int) -> np.ndarray:
    eps = as_array(predict_noise(x_t, t), "predicted noise")
    if eps.shape != x_t.shape:
        raise ValueError(f"predict_noise must return an array of shape {x_t.shape}, got {eps.shape}")
    return eps


def ddim_sample(x_T, timesteps, predict_noise: Callable, alphas_cumprod) -> Trajectory:
    """Run DDIM steps through ``timesteps`` (decreasing) and a final step to x_0 (chapter 8).

    predict_noise(x_t, t) returns the noise prediction at (x_t, t). Step k goes from
    timesteps[k] to timesteps[k + 1], the last one to t' = -1 (Eq. 8.11).
    """
    abar = _check_alphas_cumprod(alphas_cumprod)
    x = as_array(x_T, "x_T")
    steps = _check_timesteps(timesteps, abar.size)
    if not callable(predict_noise):
        raise ValueError("predict_noise must be a function (x_t, t) -> predicted noise")
    states, predictions = [x], []
    for k, t in enumerate(steps):
        t_prev = int(steps[k + 1]) if k + 1 < steps.size else -1
        eps = _predict(predict_noise, x, int(t))
        x = ddim_step(x, int(t), t_prev, eps, abar)
        states.append(x)
        predictions.append(eps)
    return Trajectory(steps, np.array(states), np.array(predictions))


def ddpm_sample(x_T, predict_noise: Callable, betas, *, start=None, seed: int = 0) -> Trajectory:
    """Ancestral DDPM sampling from x_start down to x_0, one timestep at a time (Ho et al. Alg. 2).

    start : the timestep of x_T (default T-1); the run visits start, start-1, ..., 0.
    seed : seeds the fresh noise z drawn at every step (numpy default_rng), so runs repeat.
    """
    betas = _check_betas(betas)
    x = as_array(x_T, "x_T")
    start = betas.size - 1 if start is None else _check_timestep(start, betas.size, "start")
    seed = check_int(seed, "seed", minimum=0)
    if not callable(predict_noise):
        raise ValueError("predict_noise must be a function (x_t, t) -> predicted noise")
    rng = np.random.default_rng(seed)
    steps = np.arange(start, -1, -1)
    states, predictions = [x], []
    for t in steps:
        eps = _predict(predict_noise, x, int(t))
        x = ddpm_step(x, int(t), eps, betas, rng.standard_normal(x.shape))
        states.append(x)
        predictions.append(eps)
    return Trajectory(steps, np.array(states), np.array(predictions))


# ---------------------------------------------------------------------------
# Noise predictors for experiments (stand-ins for a trained network)
# ---------------------------------------------------------------------------

def true_noise_predictor(noise) -> Callable:
    """A predictor that always answers the true noise eps of the forward sample, whatever x_t is.

    Along a deterministic DDIM run started at q_sample(x_0, s, eps) this is exactly right at
    every step (DDIM keeps x_t on the path sqrt(abar) x_0 + sqrt(1 - abar) eps).
    """
    noise = as_array(noise, "noise")

    def predict(x_t, t):
        return noise

    return predict


def x0_aware_predictor(x0, alphas_cumprod) -> Callable:
    """A predictor that knows x_0 and reads x_t: eps = (x_t - sqrt(abar_t) x_0) / sqrt(1 - abar_t).

    It returns the noise that x_t really contains, so it also corrects earlier mistakes, as a
    trained network (which sees x_t) can.
    """
    x0 = as_array(x0, "x0")
    abar = _check_alphas_cumprod(alphas_cumprod)

    def predict(x_t, t):
        return (np.asarray(x_t) - math.sqrt(abar[t]) * x0) / math.sqrt(1.0 - abar[t])

    return predict


def biased_predictor(predict_noise: Callable, bias=0.0, scale=1.0) -> Callable:
    """A slightly wrong predictor: eps_hat = scale * predict_noise(x_t, t) + bias."""
    if not callable(predict_noise):
        raise ValueError("predict_noise must be a function (x_t, t) -> predicted noise")
    bias = check_finite_number(bias, "bias")
    scale = check_finite_number(scale, "scale")

    def predict(x_t, t):
        return scale * np.asarray(predict_noise(x_t, t)) + bias

    return predict


#: Predictor names accepted by :func:`ddim_reconstruction`.
PREDICTORS = ("true noise", "reads x_t")


def ddim_reconstruction(x0, noise, alphas_cumprod, num_steps: int, *, bias=0.0, scale=1.0,
                        predictor: str = "true noise", start=None) -> Reconstruction:
    """Noise x_0 to x_s with Eq. 8.6, then run num_steps DDIM steps back and measure the error.

    predictor : "true noise" (:func:`true_noise_predictor`) or "reads x_t"
        (:func:`x0_aware_predictor`), made wrong by ``scale`` and ``bias``
        (:func:`biased_predictor`; bias = 0 and scale = 1 give the oracle).
    start : s, the timestep of the noisy start (default T-1); the steps are
        :func:`spaced_timesteps` over s + 1 timesteps.
    """
    abar = _check_alphas_cumprod(alphas_cumprod)
    x0 = as_array(x0, "x0")
    noise = _check_same_shape(x0, noise, "noise", "x0")
    start = abar.size - 1 if start is None else _check_timestep(start, abar.size, "start")
    num_steps = check_int(num_steps, "num_steps", minimum=1, maximum=start + 1)
    if predictor == "true noise":
        base = true_noise_predictor(noise)
    elif predictor == "reads x_t":
        base = x0_aware_predictor(x0, abar)
    else:
        raise ValueError(f"predictor must be one of {PREDICTORS}, got {predictor!r}")
    predict = biased_predictor(base, bias=bias, scale=scale)
    timesteps = spaced_timesteps(start + 1, num_steps)
    x_start = q_sample(x0, start, noise, abar)
    trajectory = ddim_sample(x_start, timesteps, predict, abar)
    path_abar = np.append(abar[timesteps], 1.0)
    on_path = (np.sqrt(path_abar)[:, None] * x0.reshape(1, -1)
               + np.sqrt(1.0 - path_abar)[:, None] * noise.reshape(1, -1))
    deviation = trajectory.states.reshape(len(path_abar), -1) - on_path
    errors = np.sqrt(np.mean(deviation ** 2, axis=1))
    final_error = trajectory.final - x0
    return Reconstruction(trajectory, errors, float(np.sqrt(np.mean(final_error ** 2))),
                          float(np.max(np.abs(final_error))))


def constant_bias_error_factor(alphas_cumprod, start) -> float:
    """sqrt((1 - abar_s) / abar_s): DDIM's final error per unit of constant bias (Eq. 8.13).

    With the fixed true-noise predictor plus a constant bias delta, each step adds
    -b_k delta, later scaled by 1/sqrt(abar_{t'_k}); b_k / sqrt(abar_{t'_k}) is
    sqrt((1 - abar_{t_k}) / abar_{t_k}) - sqrt((1 - abar_{t'_k}) / abar_{t'_k}), so the sum
    telescopes to this factor whatever the number of steps: final - x_0 = -delta * factor.
    """
    abar = _check_alphas_cumprod(alphas_cumprod)
    start = _check_timestep(start, abar.size, "start")
    return math.sqrt((1.0 - abar[start]) / abar[start])


# ---------------------------------------------------------------------------
# The seed's update, for comparison (Eq. 8.12)
# ---------------------------------------------------------------------------

def seed_update(z, eps_hat, eta) -> np.ndarray:
    """The seed's step z_{t-1} = z_t - eta eps^_t (Eq. 8.12): a = 1 and b = eta in Eq. 8.11's terms."""
    z = as_array(z, "z")
    eps_hat = _check_same_shape(z, eps_hat, "eps_hat", "z")
    eta = check_nonnegative(eta, "eta")
    return z - eta * eps_hat


def seed_trajectory(z_start, predicted_noise: Sequence, eta) -> np.ndarray:
    """Apply :func:`seed_update` once per predicted noise value; returns [z_T, ..., z_0]."""
    z = as_array(z_start, "z_start")
    noise_values = as_vector(predicted_noise, "predicted_noise")
    states = [z]
    for value in noise_values:
        z = seed_update(z, np.full(z.shape, value), eta)
        states.append(z)
    return np.array(states)


def forward_path_maximum(x0, noise) -> float:
    """The largest value sqrt(abar) x_0 + sqrt(1 - abar) eps takes for abar in [0, 1] (numbers).

    With c = sqrt(abar) and sqrt(1 - abar) = sqrt(1 - c^2) the path is a quarter circle; when
    x_0 and eps are both >= 0 the maximum is sqrt(x_0^2 + eps^2), otherwise an endpoint.
    """
    x0 = check_finite_number(x0, "x0")
    noise = check_finite_number(noise, "noise")
    if x0 >= 0 and noise >= 0:
        return math.hypot(x0, noise)
    return max(x0, noise)


# ---------------------------------------------------------------------------
# Images: [0, 1] pixels <-> the model range [-1, 1]
# ---------------------------------------------------------------------------

def forward_path_peak_alpha_bar(x0, noise) -> float:
    """The abar in [0, 1] at which sqrt(abar) x_0 + sqrt(1 - abar) eps is largest (numbers).

    With sqrt(abar) = cos(theta) the path is (x_0, eps) . (cos theta, sin theta), largest when the
    unit vector points along (x_0, eps): abar = x_0^2 / (x_0^2 + eps^2) when both are >= 0 (not
    both 0); otherwise at an endpoint, abar = 1 if x_0 >= eps, else 0.
    """
    x0 = check_finite_number(x0, "x0")
    noise = check_finite_number(noise, "noise")
    if x0 >= 0 and noise >= 0 and (x0 > 0 or noise > 0):
        return x0 * x0 / (x0 * x0 + noise * noise)
    return 1.0 if x0 >= noise else 0.0


def to_model_range(image) -> np.ndarray:
    """x = 2 p - 1: pixels in [0, 1] to the range [-1, 1] diffusion models work in."""
    image = as_array(image, "image")
    if image.size and (image.min() < 0 or image.max() > 1):
        raise ValueError("image values must lie in [0, 1]")
    return 2.0 * image - 1.0


def to_image_range(x) -> np.ndarray:
    """p = (x + 1) / 2 clipped to [0, 1], for display."""
    x = as_array(x, "x")
    return np.clip((x + 1.0) / 2.0, 0.0, 1.0)


# ---------------------------------------------------------------------------
# Exact (sympy) versions
# ---------------------------------------------------------------------------

def _rational(value, name: str):
    if isinstance(value, sympy.Basic):
        return value
    return sympy.Rational(str(check_finite_number(value, name)))


def exact_beta_schedule(kind: str, T: int, beta_start=None, beta_end=None) -> list:
    """Eqs. 8.1-8.3 exactly: rationals for "linear", square roots for the others (small T)."""
    kind = _check_kind(kind)
    T = check_int(T, "T", minimum=1, maximum=200)
    _beta_range(kind, beta_start, beta_end)   # validation only
    if kind == "cosine":
        s = sympy.Rational(str(COSINE_OFFSET))

        def f(u):
            return sympy.cos((u + s) / (1 + s) * sympy.pi / 2) ** 2

        return [sympy.Min(1 - f(sympy.Rational(t + 1, T)) / f(sympy.Rational(t, T)),
                          sympy.Rational(str(MAX_BETA))) for t in range(T)]
    default_start, default_end = DEFAULT_BETA_RANGE[kind]
    start = _rational(default_start if beta_start is None else beta_start, "beta_start")
    end = _rational(default_end if beta_end is None else beta_end, "beta_end")
    fractions = [sympy.Integer(0)] if T == 1 else [sympy.Rational(t, T - 1) for t in range(T)]
    if kind == "linear":
        return [start + u * (end - start) for u in fractions]
    return [sympy.expand((sympy.sqrt(start) + u * (sympy.sqrt(end) - sympy.sqrt(start))) ** 2)
            for u in fractions]


def exact_alphas_cumprod(betas) -> list:
    """Eq. 8.4 exactly: the running products of 1 - beta_s."""
    values, product = [], sympy.Integer(1)
    for index, beta in enumerate(betas):
        product = product * (1 - _rational(beta, f"betas[{index}]"))
        values.append(product)
    if not values:
        raise ValueError("betas must not be empty")
    return values


def exact_signal_to_noise(alpha_bar):
    """Eq. 8.5 exactly for one abar."""
    abar = _rational(alpha_bar, "alpha_bar")
    return abar / (1 - abar)


def exact_q_sample(x0, alpha_bar, noise):
    """Eq. 8.6 exactly for numbers: sqrt(abar) x_0 + sqrt(1 - abar) eps."""
    abar = _rational(alpha_bar, "alpha_bar")
    return sympy.sqrt(abar) * _rational(x0, "x0") + sympy.sqrt(1 - abar) * _rational(noise, "noise")


def exact_ddpm_posterior_mean(x_t, eps, beta_t, alpha_bar_t):
    """Eq. 8.7 exactly: (x_t - beta_t / sqrt(1 - abar_t) eps) / sqrt(1 - beta_t)."""
    beta = _rational(beta_t, "beta_t")
    abar = _rational(alpha_bar_t, "alpha_bar_t")
    return (_rational(x_t, "x_t") - beta / sympy.sqrt(1 - abar) * _rational(eps, "eps")) / sympy.sqrt(1 - beta)


def exact_ddpm_posterior_variance(beta_t, alpha_bar_t, alpha_bar_prev):
    """Eq. 8.8 exactly: (1 - abar_{t-1}) / (1 - abar_t) beta_t."""
    return ((1 - _rational(alpha_bar_prev, "alpha_bar_prev")) / (1 - _rational(alpha_bar_t, "alpha_bar_t"))
            * _rational(beta_t, "beta_t"))


def exact_ddim_coefficients(alpha_bar_t, alpha_bar_prev) -> tuple:
    """Eq. 8.11 exactly: (a, b) from abar_t and abar_{t'} (sympy numbers or symbols)."""
    abar_t = _rational(alpha_bar_t, "alpha_bar_t")
    abar_prev = _rational(alpha_bar_prev, "alpha_bar_prev")
    a = sympy.sqrt(abar_prev) / sympy.sqrt(abar_t)
    b = sympy.sqrt(abar_prev) * sympy.sqrt(1 - abar_t) / sympy.sqrt(abar_t) - sympy.sqrt(1 - abar_prev)
    return a, b


def exact_ddim_step(x_t, eps, alpha_bar_t, alpha_bar_prev):
    """Eq. 8.11 exactly for numbers: a x_t - b eps."""
    a, b = exact_ddim_coefficients(alpha_bar_t, alpha_bar_prev)
    return a * _rational(x_t, "x_t") - b * _rational(eps, "eps")


def exact_noise_level(alpha_bar):
    """Eq. 8.14 exactly: sigma = sqrt((1 - abar) / abar)."""
    abar = _rational(alpha_bar, "alpha_bar")
    return sympy.sqrt((1 - abar) / abar)


def exact_euler_step(x_t, eps, alpha_bar_t, alpha_bar_prev):
    """Eq. 8.15 exactly, returned in x variables: sqrt(abar') (x_t / sqrt(abar_t) + (sigma' - sigma) eps).

    Works on sympy symbols too, so the identity with :func:`exact_ddim_step` can be checked symbolically.
    """
    abar_t = _rational(alpha_bar_t, "alpha_bar_t")
    abar_prev = _rational(alpha_bar_prev, "alpha_bar_prev")
    y_t = _rational(x_t, "x_t") / sympy.sqrt(abar_t)
    y_prev = y_t + (exact_noise_level(abar_prev) - exact_noise_level(abar_t)) * _rational(eps, "eps")
    return sympy.sqrt(abar_prev) * y_prev


def exact_ancestral_sigmas(sigma_from, sigma_to) -> tuple:
    """Eq. 8.16's (sigma_up, sigma_down) exactly."""
    s_from, s_to = _rational(sigma_from, "sigma_from"), _rational(sigma_to, "sigma_to")
    up = sympy.sqrt(s_to ** 2 * (s_from ** 2 - s_to ** 2) / s_from ** 2)
    return up, sympy.sqrt(s_to ** 2 - up ** 2)


def exact_seed_update(z, eps_hat, eta):
    """Eq. 8.12 exactly: z - eta eps^."""
    return _rational(z, "z") - _rational(check_nonnegative(eta, "eta"), "eta") * _rational(eps_hat, "eps_hat")


def exact_forward_path_peak_alpha_bar(x0, noise):
    """:func:`forward_path_peak_alpha_bar` exactly (x_0^2 / (x_0^2 + eps^2) for non-negative numbers)."""
    x0_r, noise_r = _rational(x0, "x0"), _rational(noise, "noise")
    if x0_r >= 0 and noise_r >= 0 and (x0_r > 0 or noise_r > 0):
        return x0_r ** 2 / (x0_r ** 2 + noise_r ** 2)
    return sympy.Integer(1) if x0_r >= noise_r else sympy.Integer(0)


def exact_forward_path_maximum(x0, noise):
    """:func:`forward_path_maximum` exactly (sqrt(x_0^2 + eps^2) for non-negative numbers)."""
    x0_r, noise_r = _rational(x0, "x0"), _rational(noise, "noise")
    if x0_r >= 0 and noise_r >= 0:
        return sympy.sqrt(x0_r ** 2 + noise_r ** 2)
    return sympy.Max(x0_r, noise_r)


# ---------------------------------------------------------------------------
# The chapter's running example
# ---------------------------------------------------------------------------

#: The random seed of the toy example's one noise draw.
TOY_NOISE_SEED = 0


@functools.lru_cache(maxsize=4)
def _toy_example(size: int) -> tuple[np.ndarray, np.ndarray]:
    x0 = to_model_range(toy_image(size))
    noise = np.random.default_rng(TOY_NOISE_SEED).standard_normal(x0.shape)
    x0.setflags(write=False)
    noise.setflags(write=False)
    return x0, noise


def toy_example(size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """(x_0, eps), the chapter's running example: the toy image mapped to [-1, 1] (x = 2 p - 1,
    :func:`to_model_range`) and one fixed standard-normal noise draw of its shape (seed
    ``TOY_NOISE_SEED``), the inputs of Eq. 8.6's forward process and of every DDIM run in the
    chapter. Cached and read-only (shared by the figures, widget and checkers)."""
    return _toy_example(size)
