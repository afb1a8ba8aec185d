"""Small images made in code, shared by chapters 8-11 (no data files, no downloads).

:func:`toy_image` draws a scene standing in for "the person in the image": a sky-and-grass
background, a skin-coloured head and a body. :func:`region_mask` returns a mask of a named
region ("hat": where the blue hat should go, "person", "background"). Everything is
deterministic and fits in a few kilobytes.
"""

from __future__ import annotations

import numpy as np

from .validation import check_int

__all__ = ["toy_image", "region_mask", "REGIONS"]

REGIONS = ("hat", "person", "background")


def _grid(size: int):
    coordinates = (np.arange(size) + 0.5) / size
    return np.meshgrid(coordinates, coordinates, indexing="xy")


def _head(size: int) -> np.ndarray:
    x, y = _grid(size)
    return (x - 0.5) ** 2 + (y - 0.42) ** 2 <= 0.14 ** 2


def _body(size: int) -> np.ndarray:
    x, y = _grid(size)
    return (np.abs(x - 0.5) <= 0.2) & (y >= 0.58) & (y <= 0.95)


def _hat(size: int) -> np.ndarray:
    x, y = _grid(size)
    return (np.abs(x - 0.5) <= 0.17) & (y >= 0.14) & (y < 0.3)


def toy_image(size: int = 32) -> np.ndarray:
    """A (size, size, 3) RGB image with values in [0, 1]: a person against sky and grass."""
    size = check_int(size, "size", minimum=8, maximum=512)
    x, y = _grid(size)
    image = np.empty((size, size, 3))
    image[...] = np.array([0.55, 0.75, 0.95])          # sky
    image[y > 0.7] = np.array([0.35, 0.65, 0.3])        # grass
    image[_body(size)] = np.array([0.8, 0.3, 0.25])     # red shirt
    image[_head(size)] = np.array([0.95, 0.8, 0.65])    # face
    return image


def region_mask(region: str, size: int = 32) -> np.ndarray:
    """A (size, size) float mask, 1 inside ``region`` and 0 outside (see :data:`REGIONS`)."""
    size = check_int(size, "size", minimum=8, maximum=512)
    if region not in REGIONS:
        raise ValueError(f"region must be one of {REGIONS}, got {region!r}")
    if region == "hat":
        mask = _hat(size)
    elif region == "person":
        mask = _head(size) | _body(size)
    else:
        mask = ~(_head(size) | _body(size))
    return mask.astype(float)
