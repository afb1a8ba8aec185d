"""Figures for chapter 11 (Progressive Feature Blending and Cross-Attention Masking).

Every figure is a fresh Agg figure built with :mod:`mgie_lessons.plots.common`; the numbers
come from :mod:`mgie_lessons.blending`.
"""

from __future__ import annotations

import numpy as np
from matplotlib import colormaps
from matplotlib.patches import Rectangle

from .. import blending
from ..images import region_mask, toy_image
from .common import label_axes, new_figure

__all__ = [
    "VARIANTS",
    "run_variants",
    "idea_figure",
    "mask_levels_figure",
    "gate_figure",
    "comparison_figure",
    "steps_figure",
    "EditView",
]

ALL_LEVELS = (0, 1, 2, 3)
CHANGE_MAX = 0.5
GAP = 2

#: The four settings the chapter compares: (label, blend_levels, masking).
VARIANTS = (
    ("neither", (), False),
    ("blending", ALL_LEVELS, False),
    ("masking", (), True),
    ("both", ALL_LEVELS, True),
)


def run_variants(**kwargs) -> dict:
    """The toy edit under each of :data:`VARIANTS` (label -> ToyEditResult)."""
    return {label: blending.toy_edit(blend_levels=levels, masking=masking, **kwargs)
            for label, levels, masking in VARIANTS}


def _hat_box(ax, size: int = 32, colour: str = "white", offset: int = 0) -> None:
    """Outline the hat region (a rectangle in the toy image) without covering it."""
    rows, cols = np.nonzero(region_mask("hat", size))
    ax.add_patch(Rectangle((offset + cols.min() - 0.5, rows.min() - 0.5), cols.max() - cols.min() + 1,
                           rows.max() - rows.min() + 1, fill=False, edgecolor=colour, linewidth=1.2,
                           linestyle="--"))


def _image_axes(ax, image, title: str, *, cmap=None, vmin=None, vmax=None):
    shown = ax.imshow(np.clip(image, 0, 1) if cmap is None else image, cmap=cmap, vmin=vmin, vmax=vmax,
                      interpolation="nearest")
    label_axes(ax, title=title, xlabel="x (pixel)", ylabel="y (pixel)")
    return shown


def idea_figure(dpi: int = 80):
    """The toy image, the hat mask, and the toy edit in the four cases (none, blending, masking, both)."""
    results = run_variants()
    figure, axes = new_figure(width=14.0, height=3.0, dpi=dpi, ncols=6)
    _image_axes(axes[0], toy_image(32), "input image")
    _image_axes(axes[1], region_mask("hat"), "mask m (hat)", cmap="gray", vmin=0, vmax=1)
    names = {"neither": "plain toy edit", "blending": "blending", "masking": "masking",
             "both": "blending + masking"}
    for ax, (label, name) in zip(axes[2:], names.items()):
        r = results[label]
        _image_axes(ax, r.edited, f"{name}\nchange outside {r.change_outside:.4f}")
        _hat_box(ax)
    figure.suptitle('The toy edit "add a blue hat": no technique, each alone, and both')
    return figure


def mask_levels_figure(dpi: int = 80):
    """The hat mask resized to every level: soft (for blending) and thresholded (for masking)."""
    mask = region_mask("hat")
    figure, axes = new_figure(width=10.0, height=5.2, dpi=dpi, ncols=4, nrows=2)
    for level in range(4):
        size = 32 // 2 ** level
        soft = blending.resize_mask(mask, size)
        hard = blending.resize_mask(mask, size, threshold=0.5)
        titles = (f"level {level} ({size}x{size}): soft", f"level {level}: thresholded")
        for row, (values, title) in enumerate(zip((soft, hard), titles)):
            ax = axes[row, level]
            shown = _image_axes(ax, values, title, cmap="magma", vmin=0, vmax=1)
            if level:
                ax.set_xlabel("x (cell)")
                ax.set_ylabel("y (cell)")
            if size <= 8:
                for (i, j), v in np.ndenumerate(values):
                    if v > 0:
                        ax.text(j, i, f"{v:g}", ha="center", va="center", fontsize=6,
                                color="black" if v > 0.5 else "white")
    figure.colorbar(shown, ax=axes, shrink=0.6, label="mask value")
    figure.suptitle("The hat mask m resized by average pooling (Eq. 11.2); bottom row: 1 where the value > 1/2")
    return figure


def gate_figure(level: int = 0, dpi: int = 80):
    """The edit gate g (weight on "blue" + "hat") of the input image, without and with masking."""
    mask = region_mask("hat")
    features = blending.feature_pyramid(toy_image(32), level + 1)[level]
    hard = blending.resize_mask(mask, features.shape[0], threshold=0.5)
    figure, axes = new_figure(width=7.6, height=3.4, dpi=dpi, ncols=2)
    for ax, masking in zip(axes, (False, True)):
        gate = blending.toy_edit_gate(features, hard, masking=masking)
        shown = _image_axes(ax, gate, f"gate g, masking {'on' if masking else 'off'}", cmap="viridis", vmin=0, vmax=1)
        _hat_box(ax, features.shape[0])
    figure.colorbar(shown, ax=axes, shrink=0.8, label='weight on "blue" + "hat"')
    figure.suptitle(f"Cross-attention weight on the edit tokens at level {level} (Eq. 11.6)")
    return figure


def comparison_figure(results: dict | None = None, dpi: int = 80):
    """Edited image (top) and per-pixel change |x_0 - x_ref| (bottom) for each variant."""
    results = run_variants() if results is None else results
    figure, axes = new_figure(width=10.0, height=5.4, dpi=dpi, ncols=len(results), nrows=2)
    for column, (label, r) in enumerate(results.items()):
        _image_axes(axes[0, column], r.edited, f"{label}")
        _hat_box(axes[0, column])
        shown = _image_axes(axes[1, column], r.change.per_pixel,
                            f"out {r.change_outside:.4f}, in {r.change_inside:.4f}",
                            cmap="inferno", vmin=0, vmax=0.5)
        _hat_box(axes[1, column])
    figure.colorbar(shown, ax=axes[1, :], shrink=0.8, label="mean |change| per pixel")
    figure.suptitle("Toy edit under each technique: image and change (out = outside the hat, in = inside)")
    return figure


def steps_figure(T: int = 8, dpi: int = 80):
    """Change outside and inside the hat against the number of blended steps k (all levels)."""
    ks = np.arange(T + 1)
    figure, ax = new_figure(width=6.4, height=3.6, dpi=dpi)
    for masking, style in ((False, "-"), (True, "--")):
        runs = [blending.toy_edit(T=T, blend_levels=ALL_LEVELS, blend_steps=int(k), masking=masking) for k in ks]
        suffix = " (masking on)" if masking else ""
        ax.plot(ks, [r.change_outside for r in runs], style, marker="o", color="tab:red", label="outside" + suffix)
        ax.plot(ks, [r.change_inside for r in runs], style, marker="s", color="tab:blue", label="inside" + suffix)
    label_axes(ax, title=f"Blending during the first k of T = {T} steps",
               xlabel="blended steps k", ylabel="mean |change| per pixel")
    ax.legend(fontsize=7)
    return figure


def _side_by_side(result) -> np.ndarray:
    """The edited image, a white gap, and the change map coloured with 'inferno' (0 to 0.5)."""
    change = colormaps["inferno"](np.clip(result.change.per_pixel / CHANGE_MAX, 0, 1))[..., :3]
    gap = np.ones((result.edited.shape[0], GAP, 3))
    return np.concatenate([np.clip(result.edited, 0, 1), gap, change], axis=1)


class EditView:
    """The widget's figure: edited image and change map side by side in one axes, updated in place.

    One axes without ticks keeps a redraw cheap: an update only replaces the pixels and the title text.
    """

    def __init__(self, result, dpi: int = 72):
        self.figure, self.ax = new_figure(width=5.4, height=3.3, dpi=dpi)
        size = result.edited.shape[1]
        self.image = self.ax.imshow(_side_by_side(result), interpolation="nearest")
        label_axes(self.ax, title="", xlabel="x (pixel): image | change", ylabel="y (pixel)")
        # No tick labels: every text costs milliseconds per redraw; the axis labels say what is shown.
        self.ax.set_xticks([])
        self.ax.set_yticks([])
        for offset in (0, size + GAP):
            _hat_box(self.ax, size, offset=offset)
        self.update(result)

    def dynamic_artists(self) -> list:
        """What changes from one update to the next (for a :class:`~.common.Blitter`): the image
        and what is drawn on top of it (hat outlines, axes frame); the title is always redrawn."""
        return [self.image, *self.ax.patches, *self.ax.spines.values()]

    def update(self, result) -> None:
        self.image.set_data(_side_by_side(result))
        self.ax.set_title(f"out {result.change_outside:.4f} | in {result.change_inside:.4f}", fontsize=10)


def describe(result) -> str:
    """A one-line description of the settings of a toy edit."""
    levels = ",".join(map(str, result.blend_levels)) if result.blend_levels else "none"
    return (f"blend levels {levels}, {int(result.blended_steps.sum())} of {len(result.blended_steps)} steps "
            f"blended, masking {'on' if result.masking else 'off'}")
