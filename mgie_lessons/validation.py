"""Input checks shared by every module of :mod:`mgie_lessons`.

Every public function in the package validates what it is given and raises
:class:`ValueError` naming the parameter and what was expected, so that a
reader who types a wrong shape, a NaN or ``T = 0`` gets a sentence, not a
traceback from deep inside numpy.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

__all__ = [
    "as_array",
    "as_matrix",
    "as_vector",
    "check_int",
    "check_nonnegative",
    "check_finite_number",
    "check_probability",
]


def _describe_shape(shape: tuple) -> str:
    return "(" + ", ".join("?" if s is None else str(s) for s in shape) + ")"


def as_array(value, name: str, *, ndim: int | None = None, shape: tuple | None = None) -> np.ndarray:
    """Return ``value`` as a float array, or raise ``ValueError`` naming ``name``.

    ``shape`` may contain ``None`` for a free dimension, e.g. ``(None, 2)`` for
    "any number of rows, two columns". Non-numeric entries, NaN and infinite
    values are rejected.
    """
    if isinstance(value, str):
        raise ValueError(f"{name} must be numeric, got the text {value!r}")
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be numeric (an array of numbers); could not read it: {error}") from None
    if ndim is None and shape is not None:
        ndim = len(shape)
    if ndim is not None and array.ndim != ndim:
        expected = _describe_shape(shape) if shape is not None else f"{ndim}-dimensional"
        raise ValueError(f"{name} must have shape {expected}, got shape {array.shape}")
    if shape is not None:
        for axis, (want, got) in enumerate(zip(shape, array.shape)):
            if want is not None and want != got:
                raise ValueError(
                    f"{name} must have shape {_describe_shape(shape)}, got shape {array.shape} "
                    f"(axis {axis} has length {got}, expected {want})"
                )
    if array.size and np.isnan(array).any():
        raise ValueError(f"{name} contains NaN; every entry must be a finite number")
    if array.size and np.isinf(array).any():
        raise ValueError(f"{name} contains an infinite value; every entry must be a finite number")
    return array


def as_matrix(value, name: str, *, rows: int | None = None, cols: int | None = None) -> np.ndarray:
    """Return ``value`` as a finite 2-d float array of the given size."""
    array = as_array(value, name, shape=(rows, cols))
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"{name} must not be empty, got shape {array.shape}")
    return array


def as_vector(value, name: str, *, length: int | None = None) -> np.ndarray:
    """Return ``value`` as a finite 1-d float array, optionally of a fixed length."""
    array = as_array(value, name, shape=(length,))
    if array.shape[0] == 0:
        raise ValueError(f"{name} must not be empty")
    return array


def check_finite_number(value, name: str) -> float:
    """Return ``value`` as a finite float, or raise ``ValueError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        try:
            value = float(np.asarray(value, dtype=float).item())
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be a real number, got {value!r}") from None
    value = float(value)
    if math.isnan(value):
        raise ValueError(f"{name} must be a real number, got NaN")
    if math.isinf(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def check_nonnegative(value, name: str) -> float:
    """Return ``value`` as a finite float that is >= 0."""
    value = check_finite_number(value, name)
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return value


def check_probability(value, name: str) -> float:
    """Return ``value`` as a float in [0, 1]."""
    value = check_finite_number(value, name)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must lie in [0, 1], got {value}")
    return value


def check_int(value, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` as an int within [minimum, maximum]; floats like 3.0 are accepted."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    if isinstance(value, numbers.Integral):
        value = int(value)
    elif isinstance(value, numbers.Real) and float(value).is_integer():
        value = int(value)
    else:
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return value
