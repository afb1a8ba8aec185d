"""Figures for chapter 5 (the seed's denoising loop): the trajectory z_t against t, and a toy image.

Every function builds a fresh Agg figure with :mod:`mgie_lessons.plots.common` and only calls
:mod:`mgie_lessons.diffusion`. :class:`TrajectoryPlot` can be updated in place (the widget uses it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.ticker import FormatStrFormatter, MaxNLocator

from .. import diffusion
from .common import Blitter, label_axes, new_figure, nice_ceiling

__all__ = [
    "TrajectoryPlot",
    "trajectory_plot",
    "trajectory_figure",
    "image_denoising_figure",
    "trajectory_alt_text",
    "freeze_plot",
]

START_COLOUR = "#1f77b4"
CLEAN_COLOUR = "#2ca02c"


def trajectory_alt_text(result: diffusion.DenoiseResult, clean_value: float) -> str:
    """A sentence describing the trajectory figure for screen readers."""
    error = float(result.final) - clean_value
    return (f"Line plot of z_t against the step t, from t = {result.T} down to 0: z starts at "
            f"{float(result.trajectory[0]):.4g} and ends at z_0 = {float(result.final):.4g}; "
            f"a dashed line marks the clean value I = {clean_value:.4g}, so z_0 - I = {error:+.4g}.")


@dataclass
class TrajectoryPlot:
    """The trajectory figure and the artists that :meth:`update` mutates."""

    figure: object
    ax: object
    line: object
    clean_line: object

    def update(self, result: diffusion.DenoiseResult, clean_value: float, *, title: str | None = None) -> None:
        """Show a new run (any T) by mutating the line, the clean-value line and the label."""
        t_values = np.arange(result.T, -1, -1)
        z_values = np.asarray(result.trajectory, dtype=float)
        if z_values.ndim != 1:
            raise ValueError("the trajectory plot shows a scalar z; for an image use image_denoising_figure")
        self.line.set_data(t_values, z_values)
        self.clean_line.set_ydata([clean_value, clean_value])
        low = min(float(z_values.min()), clean_value)
        high = max(float(z_values.max()), clean_value)
        # Limits on a grid of "nice" steps: small changes keep the same axes (and tick labels).
        step = nice_ceiling(max(high - low, 1e-3 * max(abs(high), abs(low)), 1e-12) / 4)
        self.ax.set_ylim(np.floor(low / step - 0.25) * step, np.ceil(high / step + 0.25) * step)
        self.ax.set_xlim(result.T + 0.3, -0.3)   # time runs from t = T (left) to t = 0 (right)
        if title is not None:
            self.ax.set_title(title)


def trajectory_plot(result: diffusion.DenoiseResult, clean_value: float, *, printed: dict | None = None,
                    title: str = "The seed's denoising trajectory", width: float = 5.6,
                    height: float = 3.4, dpi: int = 80, legend=True) -> TrajectoryPlot:
    """Draw z_t against t (from t = T on the left to t = 0) with the clean value I marked.

    ``printed`` optionally maps t -> the value the seed prints for z_t; those appear as crosses.
    ``legend`` is True (inside, upper right), "outside" (to the right of the axes) or False. Few ticks and small labels keep the redraw fast for the widget.
    """
    figure, ax = new_figure(width=width, height=height, dpi=dpi)
    line, = ax.plot([], [], marker="o", color=START_COLOUR, label="z_t (computed)")
    clean_line = ax.axhline(clean_value, color=CLEAN_COLOUR, linestyle="--", label="clean image I")
    if printed:
        ax.plot(list(printed), list(printed.values()), linestyle="none", marker="x", markersize=9,
                color="black", label="printed by the seed")
    label_axes(ax, title=title, xlabel="step t (runs from t = T down to t = 0)", ylabel="z_t")
    ax.title.set_fontsize(10)
    ax.xaxis.set_major_locator(MaxNLocator(6, integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(5))
    ax.yaxis.set_major_formatter(FormatStrFormatter("%.2f"))
    ax.tick_params(labelsize=8)
    if legend == "outside":      # beside the axes, where a moving line can never cover it
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    elif legend:
        ax.legend(loc="upper right", fontsize=8)
    plot = TrajectoryPlot(figure, ax, line, clean_line)
    plot.update(result, clean_value)
    return plot


def trajectory_figure(result: diffusion.DenoiseResult, clean_value: float, **options):
    """The figure of :func:`trajectory_plot` (a :class:`matplotlib.figure.Figure`)."""
    return trajectory_plot(result, clean_value, **options).figure


def image_denoising_figure(image, noise, eta, T, predicted_noise, *, dpi: int = 80):
    """Three panels: the clean image I, the noisy start z_T = I + eps, and the seed's z_0.

    ``image`` is (h, w) or (h, w, 3) in [0, 1]; ``noise`` has the same shape (or is a number).
    Values are clipped to [0, 1] for display only; the panel titles give the root-mean-square
    distance to I computed on the unclipped values.
    """
    clean = np.asarray(image, dtype=float)
    start = diffusion.noisy_start(clean, noise)
    result = diffusion.denoise(start, eta, T, predicted_noise)
    figure, axes = new_figure(width=7.2, height=2.9, dpi=dpi, ncols=3)
    panels = [("clean image I", clean), (f"noisy start z_{result.T}", np.asarray(start)),
              ("after the seed's steps: z_0", np.asarray(result.final))]
    for ax, (name, picture) in zip(axes, panels):
        rms = float(np.sqrt(np.mean((picture - clean) ** 2)))
        ax.imshow(np.clip(picture, 0.0, 1.0), interpolation="nearest")
        label_axes(ax, title=f"{name}\nRMS distance to I: {rms:.3f}", xlabel="pixel column", ylabel="pixel row")
        ax.title.set_fontsize(9)
    return figure


def freeze_plot(plot: TrajectoryPlot) -> Blitter:
    """For the widget: only the two lines are redrawn at each update (a :class:`Blitter`)."""
    plot.figure.get_layout_engine().set(w_pad=0.12)   # room for wider tick labels later on
    return Blitter(plot.figure, [plot.line, plot.clean_line])
