"""Figures for chapter 12: one held-out example through the trained toy MGIE, stage by stage, and
the seed's caricature on one canvas (updated in place by the dashboard).

The stages' numbers come from :func:`mgie_lessons.toy_mgie.trace_pass` and
:mod:`mgie_lessons.end_to_end`; these functions only lay them out. Pixel pictures are drawn with
``interpolation="nearest"`` (each of the 16 x 16 pixels a square).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import end_to_end
from .common import MatrixHeatmap, label_axes, matrix_heatmap, new_figure, nice_ceiling

__all__ = ["PipelineFigure", "pipeline_figure", "update_pipeline_figure", "pipeline_alt",
           "short_token", "patches_figure", "sequence_attention_figure", "generation_figure",
           "condition_figure", "edit_loss_figure", "result_figure"]

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


# ---------------------------------------------------------------------------
# One held-out example through the trained toy MGIE
# ---------------------------------------------------------------------------

def short_token(token: str) -> str:
    """A tick label: '<patch 3>' -> 'p3', every other token unchanged."""
    return "p" + token[len("<patch "):-1] if token.startswith("<patch ") else token


def _picture(ax, image, title: str) -> None:
    ax.imshow(np.clip(np.asarray(image, dtype=float), 0.0, 1.0), interpolation="nearest", vmin=0, vmax=1)
    label_axes(ax, title=title, xlabel="x (pixel)", ylabel="y (pixel)")


def patches_figure(image, patch_tokens, patch: int = 4, *, dpi: int = 80):
    """Left: the input image cut into patch x patch pixel patches, numbered in reading order.
    Right: X_v, one row per patch: its feature projected into the token space (chapters 1, 4)."""
    image = np.asarray(image, dtype=float)
    tokens = np.asarray(patch_tokens, dtype=float)
    figure, (ax_image, ax_tokens) = new_figure(width=9.5, height=3.9, dpi=dpi, ncols=2)
    _picture(ax_image, image, "Input V in 4 x 4 patches")
    side = image.shape[0] // patch
    for k in range(1, side):
        ax_image.axhline(k * patch - 0.5, color="white", linewidth=1)
        ax_image.axvline(k * patch - 0.5, color="white", linewidth=1)
    for i in range(side * side):
        row, col = divmod(i, side)
        ax_image.text(col * patch + 0.2, row * patch + 0.9, f"p{i}", color="white", fontsize=7,
                      bbox={"facecolor": "black", "pad": 0.5, "linewidth": 0})
    matrix_heatmap(tokens, ax=ax_tokens, annotate=False, cmap="coolwarm",
                   title=f"Patch tokens X_v ({tokens.shape[0]} x {tokens.shape[1]})",
                   xlabel="token-space dimension", ylabel="patch", row_labels=[f"p{i}" for i in range(len(tokens))])
    ax_tokens.set_xticks(range(0, tokens.shape[1], 8))
    ax_tokens.set_xticklabels(range(0, tokens.shape[1], 8), rotation=0)
    ax_tokens.tick_params(labelsize=7)
    return figure


def sequence_attention_figure(weights, sequence, layer: int, *, dpi: int = 80):
    """The LLM's causal attention over the whole input sequence in one layer, heads averaged (Eq. 2.4)."""
    weights = np.asarray(weights, dtype=float)
    labels = [short_token(t) for t in sequence]
    drawn = matrix_heatmap(weights, annotate=False, vmin=0.0, vmax=float(weights.max()),
                           title=f"Causal self-attention, layer {layer + 1} (mean over heads)",
                           xlabel="key position (what is read)", ylabel="query position (who reads)",
                           row_labels=labels, col_labels=labels, dpi=dpi)
    drawn.figure.set_size_inches(9.0, 8.0)
    drawn.ax.tick_params(labelsize=6)
    return drawn.figure


def generation_figure(tokens, probabilities, expected, *, dpi: int = 80):
    """One bar per generated token: the probability the LM head gave the token greedy decoding
    chose (Eq. 12.3); orange where it differs from the ``expected`` (target) token."""
    probabilities = np.asarray(probabilities, dtype=float)
    figure, ax = new_figure(width=9.0, height=3.6, dpi=dpi)
    colours = ["tab:blue" if t == e else "tab:orange" for t, e in zip(tokens, expected)]
    ax.bar(range(len(tokens)), probabilities, color=colours)
    ax.set_xticks(range(len(tokens)))
    ax.set_xticklabels(tokens, rotation=45, ha="right", fontsize=8)
    ax.set_ylim(0, 1.08)
    label_axes(ax, title="Greedy decoding: probability of each chosen token (orange: not the target's)",
               xlabel="generated token, in order", ylabel="probability")
    return figure


def condition_figure(s0, U, *, dpi: int = 80):
    """S_0 = h_IMG + E_IMG (the edit head's input, one row per [IMG] token) and U (one row per
    learned query), chapter 10."""
    s0, U = np.asarray(s0, dtype=float), np.asarray(U, dtype=float)
    figure, (ax_s, ax_u) = new_figure(width=9.5, height=3.4, dpi=dpi, ncols=2)
    matrix_heatmap(s0, ax=ax_s, annotate=False, cmap="coolwarm", title=f"Edit head input S_0 ({s0.shape[0]} x {s0.shape[1]})",
                   xlabel="LLM dimension", ylabel="[IMG] state", row_labels=[f"[IMG{k}]" for k in range(len(s0))])
    matrix_heatmap(U, ax=ax_u, annotate=False, cmap="coolwarm", title=f"Visual condition U ({U.shape[0]} x {U.shape[1]})",
                   xlabel="U dimension", ylabel="learned query", row_labels=[f"q{k}" for k in range(len(U))])
    for ax, width in ((ax_s, s0.shape[1]), (ax_u, U.shape[1])):
        ax.set_xticks(range(0, width, 16))
        ax.set_xticklabels(range(0, width, 16), rotation=0)
        ax.tick_params(labelsize=7)
    return figure


def edit_loss_figure(timesteps, losses, *, dpi: int = 80):
    """L_edit of one example at each timestep: one dot per noise draw, the line their mean (log scale)."""
    timesteps = np.asarray(timesteps)
    losses = np.asarray(losses, dtype=float)
    figure, ax = new_figure(width=6.5, height=3.6, dpi=dpi)
    for k in range(losses.shape[1]):
        ax.scatter(timesteps, losses[:, k], s=12, color="tab:blue", alpha=0.5,
                   label="one noise draw" if k == 0 else None)
    ax.plot(timesteps, losses.mean(axis=1), color="tab:red", marker="o", label="mean over draws")
    ax.set_yscale("log")
    ax.legend(loc="upper left", fontsize=8)
    label_axes(ax, title="L_edit on this example against the timestep", xlabel="timestep t (of T = 1000)",
               ylabel="L_edit = mean (x_0 - x^_0)^2")
    return figure


def result_figure(image, edited, target, region, *, dpi: int = 80):
    """Input, the model's edit, the exact target, and |edit - target| (worst channel) with the
    edited region outlined: the success rule's two means are taken inside and outside it."""
    error = np.abs(np.asarray(edited, dtype=float) - np.asarray(target, dtype=float)).max(axis=2)
    figure, axes = new_figure(width=10.0, height=3.0, dpi=dpi, ncols=4)
    for ax, picture, title in zip(axes, (image, edited, target), ("input V", "the model's edit", "exact target")):
        _picture(ax, picture, title)
    shown = axes[3].imshow(error, cmap="magma", vmin=0, vmax=1, interpolation="nearest")
    axes[3].contour(np.asarray(region, dtype=float), levels=[0.5], colors="cyan", linewidths=1)
    label_axes(axes[3], title="|edit - target|, region cyan", xlabel="x (pixel)", ylabel="y (pixel)")
    figure.colorbar(shown, ax=axes[3], shrink=0.8)
    return figure
