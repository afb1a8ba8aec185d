"""Figures for chapter 12: the whole pipeline on one canvas, updated in place by the dashboard."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import end_to_end
from .common import MatrixHeatmap, figure_png, label_axes, matrix_heatmap, new_figure

__all__ = ["PipelineFigure", "pipeline_figure", "update_pipeline_figure", "pipeline_png", "pipeline_alt"]

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


def _loss_values(result: end_to_end.PipelineResult, alpha: float) -> list[float]:
    return [result.l_ins, alpha * result.l_edit, result.l_all]


def pipeline_figure(result: end_to_end.PipelineResult, alpha: float, *, clean_value: float = 0.5,
                    dpi: int = 72) -> PipelineFigure:
    """Four panels: attention weights, U, the denoising trajectory, the losses (chapter 12)."""
    figure, axes = new_figure(width=9.0, height=6.2, dpi=dpi, nrows=2, ncols=2)
    (ax_weights, ax_visual), (ax_traj, ax_loss) = axes
    labels = list(result.tokens) + [f"[IMG{i + 1}]" for i in range(result.img_hidden.shape[0])]
    weights = matrix_heatmap(result.attention.weights, ax=ax_weights, annotate=False,
                             title="Causal attention weights A (Eq. 2.4)",
                             xlabel="key token", ylabel="query token",
                             row_labels=labels, col_labels=labels, vmin=0.0, vmax=1.0)
    ax_weights.tick_params(labelsize=7)
    visual = matrix_heatmap(result.U, ax=ax_visual, fmt=".3f", title="Visual condition U (edit head output)",
                            xlabel="feature", ylabel="query", cmap="coolwarm")
    trajectory = result.denoise.trajectory
    steps = np.arange(len(trajectory))
    (line,) = ax_traj.plot(steps, trajectory, marker="o", color="tab:blue", label="z_t")
    clean = ax_traj.axhline(clean_value, color="tab:green", linestyle="--", label="clean image I")
    label_axes(ax_traj, title="Denoising trajectory (chapter 5)", xlabel="step (0 = start z_T)", ylabel="z value")
    ax_traj.legend(loc="best", fontsize=8)
    values = _loss_values(result, alpha)
    bars = ax_loss.bar(LOSS_LABELS, values, color=["tab:orange", "tab:purple", "tab:red"])
    texts = [ax_loss.text(i, v, f"{v:.3f}", ha="center", va="bottom", fontsize=9) for i, v in enumerate(values)]
    label_axes(ax_loss, title="Losses (chapter 6)", xlabel="loss term", ylabel="value")
    ax_loss.set_ylim(0, max(values) * 1.25 + 1e-9)
    _rescale_trajectory(ax_traj, trajectory, clean_value)
    return PipelineFigure(figure, weights, visual, line, clean, ax_traj, bars, texts, ax_loss)


def _rescale_trajectory(ax, trajectory, clean_value: float) -> None:
    values = np.append(np.asarray(trajectory, dtype=float).ravel(), clean_value)
    low, high = float(values.min()), float(values.max())
    pad = max(0.05 * (high - low), 0.02)
    ax.set_xlim(-0.3, len(trajectory) - 0.7)
    ax.set_ylim(low - pad, high + pad)


def update_pipeline_figure(drawn: PipelineFigure, result: end_to_end.PipelineResult, alpha: float,
                           *, clean_value: float = 0.5) -> None:
    """Mutate the existing artists to show ``result`` (same instruction length)."""
    drawn.weights.update(result.attention.weights, vmin=0.0, vmax=1.0)
    drawn.visual.update(result.U)
    trajectory = result.denoise.trajectory
    drawn.trajectory_line.set_data(np.arange(len(trajectory)), trajectory)
    drawn.clean_line.set_ydata([clean_value, clean_value])
    _rescale_trajectory(drawn.trajectory_ax, trajectory, clean_value)
    values = _loss_values(result, alpha)
    for bar, text, value in zip(drawn.loss_bars, drawn.loss_texts, values):
        bar.set_height(value)
        text.set_y(value)
        text.set_text(f"{value:.3f}")
    drawn.loss_ax.set_ylim(0, max(values) * 1.25 + 1e-9)


def pipeline_alt(result: end_to_end.PipelineResult) -> str:
    """Alt text that states what the dashboard figure shows, with its key numbers."""
    return (f"Four panels. Causal attention weights over {len(result.tokens)} words and "
            f"{result.img_hidden.shape[0]} [IMG] tokens; the visual condition U "
            f"({result.U.shape[0]} by {result.U.shape[1]}); a denoising trajectory from "
            f"{float(np.ravel(result.denoise.trajectory)[0]):.3f} to {float(np.ravel(result.denoise.final)[0]):.3f}; "
            f"losses L_ins {result.l_ins:.3f}, L_edit {result.l_edit:.3f}, L_all {result.l_all:.3f}.")


def pipeline_png(result: end_to_end.PipelineResult, alpha: float, dpi: int = 60) -> tuple[bytes, str]:
    """A fresh figure for ``result`` as PNG bytes plus alt text (for kernel-free controls)."""
    drawn = pipeline_figure(result, alpha, dpi=dpi)
    return figure_png(drawn.figure), pipeline_alt(result)
