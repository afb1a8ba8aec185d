"""Figures for chapter 12: the whole pipeline on one canvas, updated in place by the dashboard."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import end_to_end
from .common import MatrixHeatmap, label_axes, matrix_heatmap, new_figure, nice_ceiling

__all__ = ["PipelineFigure", "pipeline_figure", "update_pipeline_figure", "pipeline_alt"]

LOSS_LABELS = ("L_ins", "alpha L_edit", "L_all")


@dataclass
class PipelineFigure:
    """The dashboard's canvas and the artists that updates mutate."""

    figure: object
    weights: MatrixHeatmap
    visual: MatrixHeatmap
    trajectory_line: object
    clean_line: object
    trajectory_ax: object
    loss_bars: object
    loss_texts: list
    loss_ax: object

    def dynamic_artists(self) -> list:
        """What changes from one update to the next (for a :class:`~.common.Blitter`)."""
        return ([self.weights.image, self.visual.image, *self.visual.texts, self.trajectory_line,
                 *self.loss_bars, *self.loss_texts])


def _loss_values(result: end_to_end.PipelineResult, alpha: float) -> list[float]:
    return [result.l_ins, alpha * result.l_edit, result.l_all]


def pipeline_figure(result: end_to_end.PipelineResult, alpha: float, *, clean_value: float = 0.5,
                    dpi: int = 64, annotate_U: bool = True, label_bars: bool = True) -> PipelineFigure:
    """Four panels: attention weights, U, the denoising trajectory, the losses (chapter 12).

    The dashboard passes ``annotate_U=False`` and ``label_bars=False`` and prints U's values and
    the losses under the figure instead: each text costs time at every redraw.
    """
    figure, axes = new_figure(width=9.0, height=6.2, dpi=dpi, nrows=2, ncols=2)
    (ax_weights, ax_visual), (ax_traj, ax_loss) = axes
    labels = list(result.tokens) + [f"[IMG{i}]" for i in range(result.img_hidden.shape[0])]
    weights = matrix_heatmap(result.attention.weights, ax=ax_weights, annotate=False,
                             title="Causal attention weights A (Eq. 2.4)",
                             xlabel="key token", ylabel="query token",
                             row_labels=labels, col_labels=labels, vmin=0.0, vmax=1.0)
    ax_weights.tick_params(labelsize=7)
    visual = matrix_heatmap(result.U, ax=ax_visual, title="Visual condition U (edit head output)",
                            xlabel="feature", ylabel="query", cmap="coolwarm", colorbar=False,
                            annotate=annotate_U)
    trajectory = result.denoise.trajectory
    steps = np.arange(len(trajectory))
    (line,) = ax_traj.plot(steps, trajectory, marker="o", color="tab:blue", label="z_t")
    clean = ax_traj.axhline(clean_value, color="tab:green", linestyle="--", label="clean image I")
    label_axes(ax_traj, title="Denoising trajectory (chapter 5)", xlabel="step (0 = start z_T)", ylabel="z value")
    ax_traj.legend(loc="best", fontsize=8)
    values = _loss_values(result, alpha)
    bars = ax_loss.bar(LOSS_LABELS, values, color=["tab:orange", "tab:purple", "tab:red"])
    texts = [ax_loss.text(i, v, f"{v:.3f}", ha="center", va="bottom", fontsize=9)
             for i, v in enumerate(values)] if label_bars else []
    label_axes(ax_loss, title="Losses (chapter 6)", xlabel="loss term", ylabel="value")
    ax_loss.set_ylim(0, _loss_limit(values))
    _rescale_trajectory(ax_traj, trajectory, clean_value)
    return PipelineFigure(figure, weights, visual, line, clean, ax_traj, bars, texts, ax_loss)


def _loss_limit(values) -> float:
    """A y-limit for the loss bars that only changes when the losses cross a 'nice' value."""
    return nice_ceiling(max(values) * 1.15)


def _trajectory_limits(trajectory, clean_value: float) -> tuple:
    """Axis limits for the trajectory, snapped to steps of 0.25 so they rarely change."""
    values = np.append(np.asarray(trajectory, dtype=float).ravel(), clean_value)
    low = np.floor(float(values.min()) / 0.25) * 0.25
    high = np.ceil(float(values.max()) / 0.25) * 0.25
    if high - low < 0.25:
        high = low + 0.25
    return (-0.3, len(trajectory) - 0.7), (low - 0.05, high + 0.05)


def _rescale_trajectory(ax, trajectory, clean_value: float) -> bool:
    """Set the trajectory axis limits; returns True when they changed."""
    xlim, ylim = _trajectory_limits(trajectory, clean_value)
    changed = not (np.allclose(ax.get_xlim(), xlim) and np.allclose(ax.get_ylim(), ylim))
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    return changed


def update_pipeline_figure(drawn: PipelineFigure, result: end_to_end.PipelineResult, alpha: float,
                           *, clean_value: float = 0.5) -> bool:
    """Mutate the existing artists to show ``result`` (same instruction length).

    Returns True when something outside :meth:`PipelineFigure.dynamic_artists` changed (an axis
    limit), so a cached background must be redrawn.
    """
    drawn.weights.update(result.attention.weights, vmin=0.0, vmax=1.0)
    drawn.visual.update(result.U)
    trajectory = result.denoise.trajectory
    drawn.trajectory_line.set_data(np.arange(len(trajectory)), trajectory)
    drawn.clean_line.set_ydata([clean_value, clean_value])
    limits_changed = _rescale_trajectory(drawn.trajectory_ax, trajectory, clean_value)
    values = _loss_values(result, alpha)
    for bar, value in zip(drawn.loss_bars, values):
        bar.set_height(value)
    for text, value in zip(drawn.loss_texts, values):      # no texts when the bars are not labelled
        text.set_y(value)
        text.set_text(f"{value:.3f}")
    limit = _loss_limit(values)
    if not np.isclose(drawn.loss_ax.get_ylim()[1], limit):
        drawn.loss_ax.set_ylim(0, limit)
        limits_changed = True
    return limits_changed


def pipeline_alt(result: end_to_end.PipelineResult) -> str:
    """Alt text that states what the dashboard figure shows, with its key numbers."""
    return (f"Four panels. Causal attention weights over {len(result.tokens)} words and "
            f"{result.img_hidden.shape[0]} [IMG] tokens; the visual condition U "
            f"({result.U.shape[0]} by {result.U.shape[1]}); a denoising trajectory from "
            f"{float(np.ravel(result.denoise.trajectory)[0]):.3f} to {float(np.ravel(result.denoise.final)[0]):.3f}; "
            f"losses L_ins {result.l_ins:.3f}, L_edit {result.l_edit:.3f}, L_all {result.l_all:.3f}.")
