"""Figures for chapter 8: schedules, the forward process on the toy image, DDIM runs and errors.

Every function builds a fresh Agg figure with :mod:`mgie_lessons.plots.common` and only calls
:mod:`mgie_lessons.schedules`. :class:`SchedulePanelPlot` is updated in place by the widget.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import schedules
from .common import Blitter, label_axes, new_figure

__all__ = [
    "KIND_COLOURS",
    "schedule_curves_figure",
    "noising_strip_figure",
    "ddim_trajectory_figure",
    "error_study_figure",
    "seed_vs_ddim_figure",
    "SchedulePanelPlot",
    "schedule_panel_plot",
    "side_by_side",
    "panel_alt_text",
]

KIND_COLOURS = {"linear": "#1f77b4", "scaled_linear": "#d62728", "cosine": "#2ca02c"}
KIND_LABELS = {"linear": "linear (DDPM)", "scaled_linear": "scaled linear (Stable Diffusion)",
               "cosine": "cosine (Nichol & Dhariwal)"}
def _image_axes(ax, title: str) -> None:
    label_axes(ax, title=title, xlabel="pixel column", ylabel="pixel row")
    ax.set_xticks([])
    ax.set_yticks([])


# ---------------------------------------------------------------------------
# Book figures
# ---------------------------------------------------------------------------

def schedule_curves_figure(T: int = 1000, *, dpi: int = 80):
    """Two panels: abar_t and log10 SNR(t) for the three schedules (Eqs. 8.4-8.5)."""
    figure, (left, right) = new_figure(8.0, 3.0, dpi=dpi, ncols=2)
    t = np.arange(T)
    for kind in schedules.SCHEDULE_KINDS:
        abar = schedules.alphas_cumprod(schedules.beta_schedule(kind, T))
        left.plot(t, abar, color=KIND_COLOURS[kind], label=KIND_LABELS[kind])
        right.plot(t, np.log10(schedules.signal_to_noise(abar)), color=KIND_COLOURS[kind], label=KIND_LABELS[kind])
    label_axes(left, title=r"Signal kept: $\bar\alpha_t$", xlabel="timestep t", ylabel=r"$\bar\alpha_t$")
    label_axes(right, title="Signal-to-noise ratio", xlabel="timestep t", ylabel=r"$\log_{10}\,\mathrm{SNR}(t)$")
    right.axhline(0.0, color="grey", linewidth=0.8, linestyle=":")
    left.legend(fontsize=7, frameon=False)
    return figure


def noising_strip_figure(timesteps=(0, 100, 250, 500, 750, 999), kinds=schedules.SCHEDULE_KINDS, *,
                         size: int = 32, dpi: int = 80):
    """A strip of x_t = q_sample(x_0, t, eps) of the toy image, one row per schedule (Eq. 8.6)."""
    x0, noise = schedules.toy_example(size)
    timesteps = list(timesteps)
    figure, axes = new_figure(1.25 * len(timesteps) + 0.6, 1.35 * len(kinds) + 0.4, dpi=dpi,
                              ncols=len(timesteps), nrows=len(kinds))
    axes = np.atleast_2d(axes)
    for row, kind in enumerate(kinds):
        abar = schedules.alphas_cumprod(schedules.beta_schedule(kind))
        for column, t in enumerate(timesteps):
            ax = axes[row, column]
            ax.imshow(schedules.to_image_range(schedules.q_sample(x0, t, noise, abar)), interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"t = {t}\n" + rf"$\bar\alpha_t$ = {abar[t]:.3g}", fontsize=7)
            if row == len(kinds) - 1:
                ax.set_xlabel("pixel column", fontsize=7)
            if column == 0:
                ax.set_ylabel(kind.replace("_", " "), fontsize=8)
    figure.suptitle("The forward process on the toy image: x_t for growing t", fontsize=10)
    return figure


def ddim_trajectory_figure(reconstruction: schedules.Reconstruction, *, max_images: int = 6, dpi: int = 80,
                           title: str = "A DDIM run, image by image"):
    """Images along a DDIM run (start, some intermediate states, final) and the error per state."""
    trajectory = reconstruction.trajectory
    count = trajectory.states.shape[0]
    picks = sorted(set(np.linspace(0, count - 1, min(max_images, count)).round().astype(int)))
    labels = [f"t = {t}" for t in trajectory.timesteps] + ["x_0 estimate"]
    figure, axes = new_figure(1.3 * len(picks) + 2.8, 2.0, dpi=dpi, ncols=len(picks) + 1)
    for ax, index in zip(axes[:-1], picks):
        ax.imshow(schedules.to_image_range(trajectory.states[index]), interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(labels[index], fontsize=7)
        ax.set_xlabel("column", fontsize=7)
    axes[0].set_ylabel("row", fontsize=7)
    error_ax = axes[-1]
    error_ax.plot(np.arange(count), reconstruction.errors, marker="o", markersize=3)
    label_axes(error_ax, title="distance from the\nforward path", xlabel="state index k", ylabel="RMS")
    error_ax.title.set_fontsize(8)
    figure.suptitle(title, fontsize=10)
    return figure


def error_study_figure(kind: str = "linear", *, biases=(1e-4, 1e-3, 1e-2, 1e-1),
                       steps=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000), dpi: int = 80):
    """Final RMS error of DDIM on the toy image against the bias delta and the number of steps."""
    x0, noise = schedules.toy_example()
    abar = schedules.alphas_cumprod(schedules.beta_schedule(kind))
    figure, (left, right) = new_figure(8.0, 3.1, dpi=dpi, ncols=2)
    for n, marker in ((1, "o"), (10, "s"), (100, "^")):
        errors = [schedules.ddim_reconstruction(x0, noise, abar, n, bias=b).rms_error for b in biases]
        left.loglog(biases, errors, marker=marker, label=f"{n} step{'s' if n > 1 else ''}, true noise + bias")
    errors = [schedules.ddim_reconstruction(x0, noise, abar, 10, bias=b, predictor="reads x_t").rms_error
              for b in biases]
    left.loglog(biases, errors, marker="x", linestyle="--", label="10 steps, reads x_t + bias")
    label_axes(left, title="Error grows in proportion to the bias", xlabel=r"bias $\delta$",
               ylabel="final RMS error")
    left.legend(fontsize=6.5, frameon=False)
    for predictor, marker in (("true noise", "o"), ("reads x_t", "x")):
        errors = [schedules.ddim_reconstruction(x0, noise, abar, n, bias=0.01, predictor=predictor).rms_error
                  for n in steps]
        right.loglog(steps, errors, marker=marker, label=f"{predictor} + 0.01")
    label_axes(right, title=r"...and the number of steps ($\delta$ = 0.01)", xlabel="DDIM steps",
               ylabel="final RMS error")
    right.legend(fontsize=7, frameon=False)
    return figure


def seed_vs_ddim_figure(seed_states, ddim_states, ddim_timesteps, *, dpi: int = 80):
    """The seed's three updates beside three DDIM steps on the same numbers (one value each)."""
    figure, ax = new_figure(5.0, 3.0, dpi=dpi)
    steps = np.arange(len(seed_states))
    ax.plot(steps, seed_states, marker="o", label=r"seed: $z - \eta\,\hat\epsilon$, $\eta$ = 0.1")
    ax.plot(steps, ddim_states, marker="s", label="DDIM, scaled-linear schedule")
    ax.set_xticks(steps)
    ax.set_xticklabels([f"start\n(t = {ddim_timesteps[0]})"] + [f"after step {k}" for k in steps[1:]], fontsize=7)
    label_axes(ax, title="The seed's update vs a real DDIM step", xlabel="step", ylabel="value of z")
    ax.legend(fontsize=7, frameon=False)
    return figure


# ---------------------------------------------------------------------------
# The widget's figure
# ---------------------------------------------------------------------------

def side_by_side(left: np.ndarray, right: np.ndarray, gap: int = 2) -> np.ndarray:
    """Two model-range images in one display array [left | white gap | right] (values in [0, 1])."""
    height = left.shape[0]
    spacer = np.ones((height, gap, 3))
    return np.concatenate([schedules.to_image_range(left), spacer, schedules.to_image_range(right)], axis=1)


@dataclass
class SchedulePanelPlot:
    """The widget's two panels: abar_t and 1 - abar_t against t / T with a marker at t; x_t beside DDIM's result.

    The horizontal axis is t / T (as in Nichol & Dhariwal's plots), so its ticks never change and
    :meth:`freeze` can bake every static artist into one bitmap.
    """

    figure: object
    curve_ax: object
    signal_line: object
    noise_line: object
    t_marker: object
    image: object
    image_ax: object
    background: object = None

    def update(self, kind: str, abar: np.ndarray, t: int, x_t: np.ndarray,
               reconstruction: schedules.Reconstruction) -> None:
        """Show new values by mutating the existing artists (no new figure)."""
        fraction = np.arange(abar.size) / abar.size
        self.signal_line.set_data(fraction, abar)
        self.noise_line.set_data(fraction, 1.0 - abar)
        self.t_marker.set_xdata([t / abar.size, t / abar.size])
        # y = 1.0: the titles stay at the top of their axes
        self.curve_ax.set_title(f"{kind.replace('_', ' ')}, T = {abar.size}: \u0101_{t} = {abar[t]:.3g}",
                                fontsize=8, y=1.0)
        self.image.set_data(side_by_side(x_t, reconstruction.final))
        steps_done = reconstruction.trajectory.timesteps.size
        self.image_ax.set_title(f"x_t | DDIM, {steps_done} step{'s' if steps_done > 1 else ''}", fontsize=8, y=1.0)

    def freeze(self) -> None:
        """Fix the layout; only the lines, the marker and the image are redrawn at each update (a
        :class:`~.common.Blitter`; the titles are always redrawn)."""
        self.background = Blitter(self.figure, [self.signal_line, self.noise_line, self.t_marker, self.image])


def schedule_panel_plot(kind: str, abar: np.ndarray, t: int, x_t: np.ndarray,
                        reconstruction: schedules.Reconstruction, *, dpi: int = 72) -> SchedulePanelPlot:
    """Build the widget's figure once (then :meth:`SchedulePanelPlot.update` it)."""
    figure, (curve_ax, image_ax) = new_figure(6.8, 2.4, dpi=dpi, ncols=2)
    fraction = np.arange(abar.size) / abar.size
    (signal_line,) = curve_ax.plot(fraction, abar, color="#1f77b4")
    (noise_line,) = curve_ax.plot(fraction, 1.0 - abar, color="#d62728")
    t_marker = curve_ax.axvline(t / abar.size, color="black", linestyle=":", linewidth=1)
    label_axes(curve_ax, title="", xlabel="t / T", ylabel="\u0101_t (blue), 1 \u2212 \u0101_t (red)")
    curve_ax.set_xlim(0, 1)
    curve_ax.set_ylim(0, 1.02)
    curve_ax.set_xticks([0, 0.5, 1])
    curve_ax.set_yticks([0, 0.5, 1])
    image = image_ax.imshow(side_by_side(x_t, reconstruction.final), interpolation="nearest")
    label_axes(image_ax, title="", xlabel="column (left: x_t, right: DDIM's result)", ylabel="row")
    image_ax.set_xticks([])
    image_ax.set_yticks([])
    plot = SchedulePanelPlot(figure, curve_ax, signal_line, noise_line, t_marker, image, image_ax)
    plot.update(kind, abar, t, x_t, reconstruction)
    return plot


def panel_alt_text(kind: str, abar: np.ndarray, t: int, reconstruction: schedules.Reconstruction) -> str:
    """A sentence describing the widget's figure."""
    steps = reconstruction.trajectory.timesteps.size
    return (f"Left: abar_t (signal) and 1 - abar_t (noise) of the {kind} schedule against t / T for T = {abar.size}, "
            f"with a dotted line at t = {t} where abar_t = {abar[t]:.3g}. Right: the toy image noised to x_t, "
            f"and beside it the image DDIM recovers in {steps} steps, RMS error {reconstruction.rms_error:.3g}.")


# ---------------------------------------------------------------------------
# Kernel-free controls
# ---------------------------------------------------------------------------
