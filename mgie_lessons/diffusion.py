"""Chapter 5: the seed's denoising loop, computed (a caricature of diffusion; chapter 8 has the real one).

The seed starts from a noisy image and removes a fraction of a predicted noise at every step.
The book writes the noisy START as z_T and the FINAL image as z_0 (the seed calls both z_0):

    z_T = I + eps                                          (Eq. 5.1, noisy start)
    eps_hat_t = c * t            (the seed: c = 0.2)       (Eq. 5.2, the seed's noise rule)
    z_{t-1} = z_t - eta * eps_hat_t,   t = T, T-1, ..., 1  (Eq. 5.3, the seed's update)
    z_0 = z_T - eta * sum_{t=1}^{T} eps_hat_t              (Eq. 5.4, closed form)
    z_0 - I = eps - eta * sum_{t=1}^{T} eps_hat_t          (Eq. 5.5, what is left of the noise)
    eta* = eps / sum_{t=1}^{T} eps_hat_t     (Eq. 5.5 set to 0: the step that lands on I; exercise 5.3)

I is the clean image (a number or an array of pixels), eps the noise added to it, eta >= 0 the
step size, T >= 1 the number of steps. Every pixel follows the same scalar recursion, so z may
be a number or an array. The update is NOT a DDPM or DDIM step (those rescale z_t and, for
DDPM, add fresh noise; see chapter 8): it is the seed's simplification, computed exactly.

Exact versions (``exact_*``) use sympy rationals: a float such as 0.1 is read as the decimal it
prints as, so the seed's trajectory is 3/5 -> 27/50 -> 1/2 -> 12/25.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import sympy

from .validation import as_array, check_finite_number, check_int, check_nonnegative

__all__ = [
    "DenoiseResult",
    "ExactDenoiseResult",
    "NoiseBudget",
    "as_rational",
    "noisy_start",
    "exact_noisy_start",
    "linear_noise_rule",
    "constant_noise_rule",
    "predicted_noise_values",
    "denoise",
    "exact_denoise",
    "closed_form_final",
    "exact_closed_form_final",
    "noise_budget",
    "exact_noise_budget",
    "eta_to_recover_image",
    "exact_eta_to_recover_image",
    "noise_standard_deviation",
    "exact_noise_standard_deviation",
    "draw_noise",
]

NOISE_CONVENTIONS = ("variance", "std")


# ---------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class DenoiseResult:
    """The whole run of Eq. 5.3, step by step.

    Attributes
    ----------
    steps : int array (T,), the step numbers t = T, T-1, ..., 1 in the order they run
    predicted_noise : array (T,) + shape of z, eps_hat_t for t = T, ..., 1 (same order as ``steps``)
    trajectory : array (T + 1,) + shape of z: z_T, z_{T-1}, ..., z_0
    eta : the step size
    final : z_0 (a float for a scalar z, an array for an image)
    """

    steps: np.ndarray
    predicted_noise: np.ndarray
    trajectory: np.ndarray
    eta: float
    final: object

    @property
    def T(self) -> int:
        """The number of steps."""
        return len(self.steps)

    def z(self, t: int):
        """z_t, for t = T (the noisy start) down to 0 (the final image)."""
        t = check_int(t, "t", minimum=0, maximum=self.T)
        return self.trajectory[self.T - t]


@dataclass(frozen=True)
class ExactDenoiseResult:
    """Eq. 5.3 in exact rational arithmetic (scalars only); fields as in :class:`DenoiseResult`."""

    steps: tuple
    predicted_noise: tuple
    trajectory: tuple
    eta: sympy.Rational
    final: sympy.Rational


@dataclass(frozen=True)
class NoiseBudget:
    """How much noise went in, how much the update took out, and what is left (Eqs. 5.1, 5.4, 5.5).

    added = z_T - I = eps; removed = z_T - z_0 = eta * sum eps_hat_t;
    error = z_0 - I = added - removed; overshoot = removed - added = -error.
    """

    image: object
    start: object
    added: object
    removed: object
    final: object
    error: object
    overshoot: object


# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------

def _plain(array: np.ndarray):
    """A 0-d array as a float, any other array unchanged."""
    return float(array) if np.ndim(array) == 0 else array


def as_rational(value, name: str) -> sympy.Rational:
    """``value`` as an exact sympy rational.

    Integers and sympy rationals are kept; a float is read as the decimal it prints as to 15
    significant digits, so 0.1 becomes 1/10 and 0.2 * 3 = 0.6000000000000001 becomes 3/5.
    Raises ``ValueError`` naming ``name`` for NaN, infinity or a non-number.
    """
    if isinstance(value, sympy.Rational):
        return value
    if isinstance(value, sympy.Basic):
        if not (value.is_number and value.is_real and value.is_finite):
            raise ValueError(f"{name} must be a finite real number, got {value}")
        return sympy.Rational(format(float(value), ".15g"))
    number = check_finite_number(value, name)
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return sympy.Integer(int(value))
    return sympy.Rational(format(number, ".15g"))


# ---------------------------------------------------------------------------
# Eq. 5.1: the noisy start
# ---------------------------------------------------------------------------

def noisy_start(image, noise):
    """z_T = I + eps (Eq. 5.1, chapter 5).

    ``image`` (I) and ``noise`` (eps) are numbers or arrays; a scalar ``noise`` is added to every
    pixel, otherwise the shapes must match. Returns a float for scalars, else an array.
    """
    image = as_array(image, "image")
    noise = as_array(noise, "noise")
    if noise.ndim and noise.shape != image.shape:
        raise ValueError(f"noise must be a number or have the image's shape {image.shape}, got shape {noise.shape}")
    return _plain(image + noise)


def exact_noisy_start(image, noise) -> sympy.Rational:
    """Eq. 5.1 in rationals (scalars): 1/2 + 1/10 = 3/5 for the seed."""
    return as_rational(image, "image") + as_rational(noise, "noise")


# ---------------------------------------------------------------------------
# Eq. 5.2: noise-prediction rules
# ---------------------------------------------------------------------------

def linear_noise_rule(slope) -> Callable[[int], float]:
    """The seed's rule eps_hat_t = slope * t (Eq. 5.2; the seed uses slope 0.2).

    Returns a function of the step number t. It never looks at z_t or at the instruction: that is
    the seed's simplification (a trained network predicts eps from z_t, t and the conditions).
    """
    slope = check_finite_number(slope, "slope")

    def predicted_noise(t):
        return slope * t

    predicted_noise.__doc__ = f"eps_hat_t = {slope:g} * t (Eq. 5.2)"
    return predicted_noise


def constant_noise_rule(value) -> Callable[[int], float]:
    """The rule eps_hat_t = value at every step (a variant of Eq. 5.2 for comparison)."""
    value = check_finite_number(value, "value")

    def predicted_noise(t):
        return value

    predicted_noise.__doc__ = f"eps_hat_t = {value:g} (constant)"
    return predicted_noise


def predicted_noise_values(predicted_noise, T, shape=()) -> np.ndarray:
    """eps_hat_t for t = T, T-1, ..., 1, stacked into an array of shape (T,) + ``shape``.

    ``predicted_noise`` is either a function of t (called for t = T, ..., 1) or a sequence of T
    values ordered t = T, T-1, ..., 1 (the seed's [0.6, 0.4, 0.2]). Each value is a number or an
    array of the image's ``shape``. Raises ``ValueError`` naming ``predicted_noise`` for the wrong
    length or shape, NaN or infinity.
    """
    T = check_int(T, "T", minimum=1)
    if callable(predicted_noise):
        values = [as_array(predicted_noise(t), f"predicted_noise(t={t})") for t in range(T, 0, -1)]
        names = [f"predicted_noise(t={t})" for t in range(T, 0, -1)]
    else:
        stacked = as_array(predicted_noise, "predicted_noise")
        if stacked.ndim == 0 or stacked.shape[0] != T:
            got = "a single number" if stacked.ndim == 0 else f"{stacked.shape[0]} values"
            raise ValueError(
                f"predicted_noise must hold T = {T} values, one per step t = T, ..., 1 "
                f"(ordered t = {T} first), got {got}"
            )
        values = list(stacked)
        names = [f"predicted_noise[{i}] (t={T - i})" for i in range(T)]
    rows = []
    for value, name in zip(values, names):
        try:
            rows.append(np.broadcast_to(value, shape))
        except ValueError:
            raise ValueError(f"{name} has shape {np.shape(value)}, which does not fit z's shape {shape}") from None
    return np.stack(rows).astype(float)


# ---------------------------------------------------------------------------
# Eq. 5.3: the update, step by step
# ---------------------------------------------------------------------------

def denoise(z_start, eta, T, predicted_noise) -> DenoiseResult:
    """Run z_{t-1} = z_t - eta * eps_hat_t for t = T, ..., 1 (Eq. 5.3, chapter 5).

    Parameters
    ----------
    z_start : z_T, a number or an array (an image)
    eta : the step size, >= 0
    T : the number of steps, a whole number >= 1
    predicted_noise : a function t -> eps_hat_t (e.g. :func:`linear_noise_rule`), or a sequence
        of T values ordered for t = T, T-1, ..., 1

    Returns a :class:`DenoiseResult` with the steps, the predicted noise per step and the whole
    trajectory z_T, ..., z_0. The seed (z_T = 0.6, eta = 0.1, T = 3, eps_hat_t = 0.2 t) gives
    0.6, 0.54, 0.50, 0.48.
    """
    z = as_array(z_start, "z_start")
    eta = check_nonnegative(eta, "eta")
    T = check_int(T, "T", minimum=1)
    noise = predicted_noise_values(predicted_noise, T, z.shape)
    trajectory = [z]
    with np.errstate(over="ignore", invalid="ignore"):   # an overflow is reported just below
        for step in range(T):
            z = z - eta * noise[step]
            trajectory.append(z)
    trajectory = np.stack(trajectory)
    if not np.all(np.isfinite(trajectory)):
        raise ValueError("predicted_noise is so large that z overflows; use smaller values or a smaller eta")
    steps = np.arange(T, 0, -1)
    return DenoiseResult(steps, noise, trajectory, eta, _plain(trajectory[-1]))


def _exact_noise_values(predicted_noise, T: int) -> tuple:
    if callable(predicted_noise):
        return tuple(as_rational(predicted_noise(t), f"predicted_noise(t={t})") for t in range(T, 0, -1))
    if isinstance(predicted_noise, (str, bytes)) or not hasattr(predicted_noise, "__len__"):
        raise ValueError(f"predicted_noise must be a function of t or a sequence of T = {T} values")
    if len(predicted_noise) != T:
        raise ValueError(f"predicted_noise must hold T = {T} values, one per step t = T, ..., 1, "
                         f"got {len(predicted_noise)} values")
    return tuple(as_rational(v, f"predicted_noise[{i}] (t={T - i})") for i, v in enumerate(predicted_noise))


def exact_denoise(z_start, eta, T, predicted_noise) -> ExactDenoiseResult:
    """Eq. 5.3 with sympy rationals (scalar z only); same arguments as :func:`denoise`.

    The seed gives 3/5 -> 27/50 -> 1/2 -> 12/25.
    """
    z = as_rational(z_start, "z_start")
    eta_exact = as_rational(eta, "eta")
    if eta_exact < 0:
        raise ValueError(f"eta must be >= 0, got {eta}")
    T = check_int(T, "T", minimum=1)
    noise = _exact_noise_values(predicted_noise, T)
    trajectory = [z]
    for value in noise:
        z = z - eta_exact * value
        trajectory.append(z)
    return ExactDenoiseResult(tuple(range(T, 0, -1)), noise, tuple(trajectory), eta_exact, trajectory[-1])


# ---------------------------------------------------------------------------
# Eqs. 5.4 - 5.5: closed form, the noise budget, the step that lands on I
# ---------------------------------------------------------------------------

def closed_form_final(z_start, eta, T, predicted_noise):
    """z_0 = z_T - eta * sum_{t=1}^{T} eps_hat_t (Eq. 5.4), without the loop.

    Because eps_hat_t does not depend on z_t in the seed's update, the steps simply add up.
    """
    z = as_array(z_start, "z_start")
    eta = check_nonnegative(eta, "eta")
    noise = predicted_noise_values(predicted_noise, T, z.shape)
    return _plain(z - eta * noise.sum(axis=0))


def exact_closed_form_final(z_start, eta, T, predicted_noise) -> sympy.Rational:
    """Eq. 5.4 in rationals (scalars)."""
    eta_exact = as_rational(eta, "eta")
    if eta_exact < 0:
        raise ValueError(f"eta must be >= 0, got {eta}")
    T = check_int(T, "T", minimum=1)
    return as_rational(z_start, "z_start") - eta_exact * sum(_exact_noise_values(predicted_noise, T))


def noise_budget(image, noise, eta, T, predicted_noise) -> NoiseBudget:
    """Noise added (eps), noise removed (eta * sum eps_hat_t) and what is left (Eqs. 5.1, 5.4, 5.5).

    For the seed: added 0.1, removed 0.12, final 0.48, error z_0 - I = -0.02 (an overshoot of 0.02).
    """
    start = noisy_start(image, noise)
    result = denoise(start, eta, T, predicted_noise)
    image = _plain(as_array(image, "image"))
    added = _plain(np.asarray(start) - np.asarray(image))
    removed = _plain(np.asarray(start) - np.asarray(result.final))
    error = _plain(np.asarray(result.final) - np.asarray(image))
    return NoiseBudget(image, start, added, removed, result.final, error, _plain(-np.asarray(error)))


def exact_noise_budget(image, noise, eta, T, predicted_noise) -> NoiseBudget:
    """:func:`noise_budget` in rationals (scalars): added 1/10, removed 3/25, error -1/50."""
    image_exact = as_rational(image, "image")
    start = exact_noisy_start(image, noise)
    final = exact_denoise(start, eta, T, predicted_noise).final
    return NoiseBudget(image_exact, start, start - image_exact, start - final, final,
                       final - image_exact, image_exact - final)


def eta_to_recover_image(noise, T, predicted_noise) -> float:
    """The step size that makes z_0 = I exactly: eta* = eps / sum_t eps_hat_t (Eq. 5.5 set to 0).

    Scalars only. For the seed: 0.1 / (0.6 + 0.4 + 0.2) = 1/12. Raises ``ValueError`` when the
    predicted noise sums to 0 or when only a negative step would work.
    """
    eps = check_finite_number(noise, "noise")
    total = float(predicted_noise_values(predicted_noise, T).sum())
    if total == 0:
        raise ValueError("predicted_noise sums to 0 over the T steps, so no step size eta can remove any noise")
    eta = eps / total
    if eta < 0:
        raise ValueError(f"only eta = {eta:.4g} < 0 would land on the image; eta must be >= 0 "
                         "(the predicted noise has the opposite sign to the noise that was added)")
    return eta


def exact_eta_to_recover_image(noise, T, predicted_noise) -> sympy.Rational:
    """:func:`eta_to_recover_image` in rationals: 1/12 for the seed."""
    eps = as_rational(noise, "noise")
    T = check_int(T, "T", minimum=1)
    total = sum(_exact_noise_values(predicted_noise, T))
    if total == 0:
        raise ValueError("predicted_noise sums to 0 over the T steps, so no step size eta can remove any noise")
    eta = eps / total
    if eta < 0:
        raise ValueError(f"only eta = {eta} < 0 would land on the image; eta must be >= 0")
    return eta


# ---------------------------------------------------------------------------
# The seed's "eps ~ N(0, 0.1)": which number is 0.1?
# ---------------------------------------------------------------------------

def noise_standard_deviation(scale, convention: str) -> float:
    """The standard deviation sigma meant by N(0, scale) (chapter 5).

    ``convention="variance"`` reads N(mean, variance), the usual statistics notation, so
    sigma = sqrt(scale); ``convention="std"`` reads N(mean, sigma), so sigma = scale.
    For the seed's N(0, 0.1): sigma = 0.316... or 0.1.
    """
    scale = check_nonnegative(scale, "scale")
    if convention not in NOISE_CONVENTIONS:
        raise ValueError(f"convention must be one of {NOISE_CONVENTIONS}, got {convention!r}")
    return math.sqrt(scale) if convention == "variance" else scale


def exact_noise_standard_deviation(scale, convention: str):
    """:func:`noise_standard_deviation` exactly: sqrt(1/10) = sqrt(10)/10 or 1/10."""
    scale_exact = as_rational(scale, "scale")
    if scale_exact < 0:
        raise ValueError(f"scale must be >= 0, got {scale}")
    if convention not in NOISE_CONVENTIONS:
        raise ValueError(f"convention must be one of {NOISE_CONVENTIONS}, got {convention!r}")
    return sympy.sqrt(scale_exact) if convention == "variance" else scale_exact


def draw_noise(std, size, seed: int = 0) -> np.ndarray:
    """``size`` independent draws eps ~ N(0, std^2) from a seeded generator (reproducible)."""
    std = check_nonnegative(std, "std")
    size = check_int(size, "size", minimum=1)
    seed = check_int(seed, "seed", minimum=0)
    return np.random.default_rng(seed).normal(0.0, std, size)
