"""Figures for chapter 9: the toy latent, the three predictions, and edits over both guidance scales.

Every function builds a fresh Agg figure with :mod:`mgie_lessons.plots.common` and only calls
:mod:`mgie_lessons.guidance`. :class:`GuidancePanelPlot` is updated in place by the widget.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import guidance
from ..schedules import to_model_range
from ..images import toy_image
from matplotlib.ticker import MaxNLocator

from .common import Blitter, label_axes, matrix_heatmap, new_figure

__all__ = [
    "HAT_CELL",
    "CHANNEL_NAMES",
    "toy_edit",
    "latent_figure",
    "scale_grid_figure",
    "predictions_figure",
    "edit_figure",
    "GuidancePanelPlot",
    "guidance_panel_plot",
    "panel_alt_text",
]

#: The latent cell (row, column) fully inside the hat region, used to show numbers.
HAT_CELL = (0, 1)
CHANNEL_NAMES = ("R mean", "G mean", "B mean", "top - bottom")


def toy_edit(s_image: float, s_text: float, *, instruction: str = "add a blue hat") -> guidance.OneStepEdit:
    """The chapter's one-step edit of the toy image for the two scales."""
    if instruction == "add a blue hat":
        u = guidance.toy_instruction_embedding()
    elif instruction == "null instruction":
        u = guidance.toy_null_instruction()
    else:
        raise ValueError(f"instruction must be 'add a blue hat' or 'null instruction', got {instruction!r}")
    return guidance.one_step_edit(toy_image(32), u, s_image, s_text)


def _image_axes(ax, title: str) -> None:
    label_axes(ax, title=title, xlabel="pixel column", ylabel="pixel row")
    ax.set_xticks([])
    ax.set_yticks([])


def latent_figure(*, dpi: int = 80):
    """The toy image, its 4 latent channels (annotated 4x4 heatmaps) and what decoding gives back."""
    image = toy_image(32)
    latent = guidance.toy_encode(to_model_range(image))
    figure, axes = new_figure(12.0, 2.6, dpi=dpi, ncols=6)
    axes[0].imshow(image, interpolation="nearest")
    _image_axes(axes[0], "input image V\n32 x 32 x 3")
    for channel in range(4):
        matrix_heatmap(latent[channel], title=f"channel {channel}: {CHANNEL_NAMES[channel]}",
                       xlabel="latent column", ylabel="latent row" if channel == 0 else "", fmt=".1f",
                       ax=axes[channel + 1], cmap="coolwarm", colorbar=False,
                       vmin=-np.abs(latent).max(), vmax=np.abs(latent).max())
        axes[channel + 1].title.set_fontsize(8)
    axes[5].imshow(guidance.patch_projection(to_model_range(image)) * 0.5 + 0.5, interpolation="nearest")
    _image_axes(axes[5], "decoded D(E(V))\n32 x 32 x 3")
    for ax in (axes[0], axes[5]):
        ax.title.set_fontsize(8)
    figure.suptitle("The toy autoencoder: 8x8 patches -> 4 numbers each -> back", fontsize=10)
    return figure


def scale_grid_figure(s_images=(0.0, 1.0, 1.5, 3.0), s_texts=(0.0, 1.0, 7.5, 15.0), *, dpi: int = 80):
    """The decoded one-step edit for every (s_V, s_X) pair: rows s_V, columns s_X."""
    figure, axes = new_figure(1.45 * len(s_texts) + 0.8, 1.5 * len(s_images) + 0.6, dpi=dpi,
                              ncols=len(s_texts), nrows=len(s_images))
    axes = np.atleast_2d(axes)
    for row, s_image in enumerate(s_images):
        for column, s_text in enumerate(s_texts):
            ax = axes[row, column]
            ax.imshow(toy_edit(s_image, s_text).image_edit, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(f"s_X = {s_text:g}", fontsize=8)
            if column == 0:
                ax.set_ylabel(f"s_V = {s_image:g}", fontsize=8)
            if row == len(s_images) - 1:
                ax.set_xlabel("pixel column", fontsize=7)
    figure.suptitle("One guided step on the toy image, for image scale s_V (rows) and instruction scale s_X (columns)",
                    fontsize=9)
    return figure


def predictions_figure(edit: guidance.OneStepEdit, *, cell=HAT_CELL, dpi: int = 80):
    """Bars: the three predictions and the guided one at one latent cell, per channel."""
    figure, ax = new_figure(6.4, 3.0, dpi=dpi)
    row, column = cell
    series = [
        ("eps(z, 0, 0)", edit.eps_uncond[:, row, column], "#7f7f7f"),
        ("eps(z, V, 0)", edit.eps_image[:, row, column], "#1f77b4"),
        ("eps(z, V, U)", edit.eps_full[:, row, column], "#ff7f0e"),
        ("guided", edit.terms.guided[:, row, column], "#2ca02c"),
    ]
    width = 0.2
    positions = np.arange(4)
    for k, (label, values, colour) in enumerate(series):
        ax.bar(positions + (k - 1.5) * width, values, width, label=label, color=colour)
    ax.set_xticks(positions)
    ax.set_xticklabels(CHANNEL_NAMES)
    ax.axhline(0, color="black", linewidth=0.6)
    label_axes(ax, title=f"Noise predictions at latent cell {cell} (inside the hat region)",
               xlabel="latent channel", ylabel="predicted noise")
    ax.legend(fontsize=7, frameon=False, ncol=2)
    return figure


def edit_figure(edit: guidance.OneStepEdit, *, dpi: int = 80):
    """Three images: the input V, what the toy latent keeps of it, and the one-step guided edit."""
    figure, axes = new_figure(6.6, 2.5, dpi=dpi, ncols=3)
    for ax, picture, title in zip(axes, (toy_image(32), edit.image_reference, edit.image_edit),
                                  ("input image V", "D(E(V)): what the latent keeps",
                                   f"one guided step (t = {edit.t})")):
        ax.imshow(picture, interpolation="nearest")
        _image_axes(ax, title)
        ax.title.set_fontsize(9)
    return figure


@dataclass
class GuidancePanelPlot:
    """The widget's figure: the (s_V, s_X) plane with a marker, and the edited image."""

    figure: object
    plane_ax: object
    marker: object
    image_ax: object
    image: object
    background: object = None

    def update(self, s_image: float, s_text: float, edit: guidance.OneStepEdit) -> None:
        """Move the marker and replace the image (no new figure)."""
        self.marker.set_data([s_image], [s_text])
        self.plane_ax.set_xlim(0, max(4.0, s_image * 1.1))      # new limits: a new background (rare)
        self.plane_ax.set_ylim(0, max(16.0, s_text * 1.1))
        self.image.set_data(edit.image_edit)
        # y = 1.0: the title stays at the top of its axes, which have no ticks
        self.image_ax.set_title(f"s_V = {s_image:g}, s_X = {s_text:g}", fontsize=9, y=1.0)

    def freeze(self) -> None:
        """Fix the layout; only the marker and the image are redrawn at each update (a :class:`Blitter`)."""
        self.background = Blitter(self.figure, [self.marker, self.image])


def guidance_panel_plot(s_image: float, s_text: float, edit: guidance.OneStepEdit, *, dpi: int = 72) -> GuidancePanelPlot:
    """Build the widget's figure once (then :meth:`GuidancePanelPlot.update` it)."""
    figure, (plane_ax, image_ax) = new_figure(5.6, 2.6, dpi=dpi, ncols=2)
    plane_ax.axvline(1.0, color="#bbbbbb", linewidth=0.8)
    plane_ax.axhline(1.0, color="#bbbbbb", linewidth=0.8)
    plane_ax.plot([guidance.DEFAULT_IMAGE_SCALE], [guidance.DEFAULT_TEXT_SCALE], marker="*", color="#ff7f0e",
                  markersize=11, linestyle="none")
    (marker,) = plane_ax.plot([s_image], [s_text], marker="o", markerfacecolor="none", markeredgecolor="#1f77b4",
                              markeredgewidth=2, markersize=10, linestyle="none")
    label_axes(plane_ax, title="star: defaults", xlabel="image scale s_V", ylabel="instruction scale s_X")
    plane_ax.title.set_fontsize(9)
    plane_ax.xaxis.set_major_locator(MaxNLocator(4))
    plane_ax.yaxis.set_major_locator(MaxNLocator(4))
    image = image_ax.imshow(edit.image_edit, interpolation="nearest")
    label_axes(image_ax, title="", xlabel="column", ylabel="row")
    image_ax.set_xticks([])
    image_ax.set_yticks([])
    plot = GuidancePanelPlot(figure, plane_ax, marker, image_ax, image)
    plot.update(s_image, s_text, edit)
    return plot


def panel_alt_text(s_image: float, s_text: float, edit: guidance.OneStepEdit) -> str:
    """A sentence describing the widget's figure."""
    row, column = HAT_CELL
    hat = edit.image_edit[row * 8:(row + 1) * 8, column * 8:(column + 1) * 8].mean(axis=(0, 1))
    return (f"Left: a plane of the two guidance scales with a dot at s_V = {s_image:g}, s_X = {s_text:g} and a star at "
            f"the defaults 1.5, 7.5. Right: the toy image after one guided step; the patch above the head has "
            f"colour R {hat[0]:.2f}, G {hat[1]:.2f}, B {hat[2]:.2f}.")
