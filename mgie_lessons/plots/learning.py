"""Figures for chapter 13 (how MGIE learns): a computational graph, gradient heatmaps, loss curves.

Every function builds a fresh Agg figure with :mod:`mgie_lessons.plots.common` and only calls
:mod:`mgie_lessons.learning`. :class:`ExploreFigure` is updated in place by the widget.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .. import learning
from ..validation import check_int
from .common import HIDPI_SCALE, contrast_colours, label_axes, new_figure, nice_ceiling, set_pixel_scale

__all__ = [
    "graph_figure",
    "graph_alt_text",
    "loss_curves_figure",
    "curves_alt_text",
    "LR_EXPONENTS",
    "LEARNING_RATES",
    "MAX_STEPS",
    "HEATMAP_PARAMETERS",
    "TRAINING_SETS",
    "explore_runs",
    "nearest_rate_index",
    "ExploreFigure",
    "HIDPI_SCALE",
    "explore_figure",
    "explore_alt_text",
]

PARAMETER_COLOUR = "#c7e9c0"
CONSTANT_COLOUR = "#e0e0e0"
OPERATION_COLOUR = "#c6dbef"
GRADIENT_COLOUR = "#b2182b"


# ---------------------------------------------------------------------------------------------
# The computational graph (The idea)
# ---------------------------------------------------------------------------------------------

def _numbers(values) -> str:
    values = np.atleast_1d(np.asarray(values, dtype=float))
    text = ", ".join(f"{v:.3g}" for v in values.ravel()[:4]) + (", ..." if values.size > 4 else "")
    return text if values.size == 1 and np.ndim(values) == 0 else ("[" + text + "]" if values.size > 1 else text)


def _layers(nodes) -> list[int]:
    """Operations sit at their depth; a leaf sits one column left of its first child."""
    layers = [node.depth for node in nodes]
    for index, node in enumerate(nodes):
        if node.operation == "leaf":
            children = [layers[j] for j, other in enumerate(nodes) if index in other.parents]
            if children:
                layers[index] = min(children) - 1
    return layers


def _heights(nodes, layers) -> list[float]:
    """Leaves of the first column are spread out; an operation sits at the mean height of its
    parents; a later leaf sits below its child's other parents."""
    heights: list[float | None] = [None] * len(nodes)
    first = [i for i, layer in enumerate(layers) if layer == min(layers)]
    for rank, i in enumerate(first):
        heights[i] = (len(first) - 1) / 2 * 1.3 - 1.3 * rank
    for layer in range(min(layers), max(layers) + 1):
        for i, node in enumerate(nodes):
            if layers[i] != layer or heights[i] is not None:
                continue
            if node.operation != "leaf":
                heights[i] = float(np.mean([heights[j] for j in node.parents if heights[j] is not None] or [0.0]))
                continue
            siblings = [heights[j] for child in nodes if i in child.parents
                        for j in child.parents if j != i and heights[j] is not None]
            heights[i] = (min(siblings) if siblings else 0.0) - 1.3
    return [0.0 if h is None else h for h in heights]


def graph_alt_text(nodes) -> str:
    parts = []
    for node in nodes:
        label = node.name or node.operation
        kind = "parameter" if node.operation == "leaf" and node.requires_grad else (
            "constant" if node.operation == "leaf" else f"the result of {node.operation}")
        grad = f", gradient {_numbers(node.grad)}" if node.grad is not None else ""
        parts.append(f"{label} ({kind}) = {_numbers(node.value)}{grad}")
    return ("A computational graph drawn from the autograd engine's own records, inputs on the left and the "
            "loss on the right, arrows from each tensor to the operation that uses it. " + "; ".join(parts) + ".")


def graph_figure(nodes, *, title: str = "A computational graph: values forward, gradients backward",
                 dpi: int = 80):
    """Draw the :class:`~mgie_lessons.learning.GraphNode` list from :func:`learning.computational_graph`.

    Each box shows a tensor's name, the operation that made it, its value (forward) and, in red,
    the gradient of the loss with respect to it (backward). Parameters are green, constants
    grey, results of operations blue.
    """
    nodes = list(nodes)
    if not nodes:
        raise ValueError("nodes must contain at least one graph node")
    layers = _layers(nodes)
    heights = _heights(nodes, layers)
    columns = max(layers) - min(layers) + 1
    figure, ax = new_figure(width=max(6.0, 2.05 * columns), height=3.2, dpi=dpi)
    boxes = []
    for node, layer, height in zip(nodes, layers, heights):
        if node.operation == "leaf":
            colour = PARAMETER_COLOUR if node.requires_grad else CONSTANT_COLOUR
            kind = "parameter" if node.requires_grad else "constant"
        else:
            colour, kind = OPERATION_COLOUR, node.operation
        lines = [f"{node.name or node.operation}  ({kind})", f"value {_numbers(node.value)}"]
        text = ax.text(layer, height, "\n".join(lines), ha="center", va="center", fontsize=7.5,
                       linespacing=1.4, bbox=dict(boxstyle="round,pad=0.4", facecolor=colour, edgecolor="#555555"))
        boxes.append(text)
        if node.grad is not None:      # the backward pass's result, in red under the box
            ax.annotate(f"grad {_numbers(node.grad)}", xy=(0.5, 0.0), xycoords=text, xytext=(0, -5),
                        textcoords="offset points", ha="center", va="top", fontsize=7.5, color=GRADIENT_COLOUR)
    for child_index, node in enumerate(nodes):
        for parent_index in node.parents:
            ax.annotate("", xy=(0.0, 0.5), xycoords=boxes[child_index], xytext=(1.0, 0.5),
                        textcoords=boxes[parent_index],
                        arrowprops=dict(arrowstyle="->", color="#333333", shrinkA=4, shrinkB=4,
                                        connectionstyle="arc3,rad=0.0"))
    ax.set_xlim(min(layers) - 0.6, max(layers) + 0.6)
    bottom = min(heights) - 1.05
    ax.set_ylim(bottom - 0.2, max(heights) + 0.7)
    ax.annotate("backward pass: gradients (red) flow from the loss back to the inputs", xy=(min(layers), bottom),
                xytext=(max(layers), bottom), ha="right", va="center", fontsize=8, color=GRADIENT_COLOUR,
                arrowprops=dict(arrowstyle="->", color=GRADIENT_COLOUR, linestyle="--"))
    ax.set_xticks(range(min(layers), max(layers) + 1))
    ax.set_yticks([])
    label_axes(ax, title=title, xlabel="column: how many operations from the inputs (forward pass runs left to right)",
               ylabel="tensors")
    ax.title.set_fontsize(10)
    ax.xaxis.label.set_fontsize(8)
    for spine in ("top", "right", "left"):
        ax.spines[spine].set_visible(False)
    return figure


# ---------------------------------------------------------------------------------------------
# Loss curves (the live training run, the learning-rate exercise)
# ---------------------------------------------------------------------------------------------

def curves_alt_text(curves: dict, *, what: str = "training runs") -> str:
    parts = [f"{label}: from {np.asarray(losses)[0]:.3g} to {np.asarray(losses)[-1]:.3g} after "
             f"{len(losses) - 1} steps (lowest {np.min(losses):.3g})" for label, losses in curves.items()]
    return f"Loss curves of {len(curves)} {what}, loss L_ins against the training step. " + "; ".join(parts) + "."


def loss_curves_figure(curves: dict, *, title: str, dpi: int = 80, log_scale: bool = False,
                       reference: tuple | None = None):
    """One line per entry of ``curves`` (label -> losses at steps 0, 1, 2, ...).

    ``reference`` = (value, label) adds a dashed horizontal line (e.g. the best constant loss).
    """
    if not curves:
        raise ValueError("curves must contain at least one run")
    figure, ax = new_figure(width=6.4, height=3.2, dpi=dpi)
    for label, losses in curves.items():
        losses = np.asarray(losses, dtype=float)
        ax.plot(np.arange(len(losses)), losses, label=label, linewidth=1.6)
    if reference is not None:
        value, label = reference
        ax.axhline(float(value), color="#777777", linestyle="--", linewidth=1, label=label)
    if log_scale:
        ax.set_yscale("log")
    else:
        ax.set_ylim(0, nice_ceiling(max(float(np.max(v)) for v in curves.values()) * 1.05))
    ax.set_xlim(0, max(len(v) for v in curves.values()) - 1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    label_axes(ax, title=title, xlabel="training step k", ylabel="loss L_ins (nats)")
    ax.title.set_fontsize(10)
    return figure


# ---------------------------------------------------------------------------------------------
# The Explore panel: gradient heatmaps and a learning-rate grid of training runs
# ---------------------------------------------------------------------------------------------

#: The learning rates the panel offers: 10^(-3), 10^(-2.875), ..., 10^0 (the slider's positions).
LR_EXPONENTS = np.round(np.arange(-3.0, 0.0001, 0.125), 3)
LEARNING_RATES = 10.0 ** LR_EXPONENTS
MAX_STEPS = 300
#: The 2 x 2 matrices whose gradient the panel shows.
HEATMAP_PARAMETERS = ("W_q", "W_k", "W_v", "W1", "W2")
#: What is trained: every parameter, or what MGIE trains (embeddings and output layer).
TRAINING_SETS = {"all": learning.PARAMETER_NAMES, "mgie": learning.MGIE_TRAINABLE}
#: The loss axis of the panel (log scale): every run of the grid stays inside.
LOSS_LIMITS = (1e-3, 20.0)
_PLAIN = {"W_q": "W^Q", "W_k": "W^K", "W_v": "W^V", "W1": "W_1", "W2": "W_2"}


@functools.lru_cache(maxsize=4)
def explore_runs(which: str = "all") -> learning.BatchOfRuns:
    """The model trained with Adam for MAX_STEPS steps at every rate of LEARNING_RATES, at once,
    recording the gradients of the heatmap parameters at every step (cached: about 0.3 s)."""
    if which not in TRAINING_SETS:
        raise ValueError(f"which must be one of {sorted(TRAINING_SETS)}, got {which!r}")
    return learning.train_tiny_lm_batch(LEARNING_RATES, MAX_STEPS, trainable=TRAINING_SETS[which],
                                        record=HEATMAP_PARAMETERS)


def nearest_rate_index(lr) -> int:
    """The position of LEARNING_RATES closest to ``lr`` on a log scale."""
    lr = float(lr)
    if not np.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr must be a number > 0, got {lr}")
    return int(np.argmin(np.abs(LR_EXPONENTS - np.log10(lr))))


def _symmetric_limit(values) -> float:
    top = float(np.max(np.abs(values)))
    return top if top > 0 else 1.0


@dataclass
class ExploreFigure:
    """Two gradient heatmaps (at the seed's weights and after k steps) and the loss curves."""

    figure: object
    start_ax: object
    now_ax: object
    curve_ax: object
    start_image: object
    now_image: object
    start_texts: list
    now_texts: list
    background_lines: list
    line: object
    marker: object
    step_line: object
    which: str
    parameter: str = ""

    def dynamic_artists(self) -> list:
        """What an update changes (for a :class:`~.common.Blitter`, whose background also depends on
        :attr:`which`, the grey curves' training set; titles are always redrawn)."""
        return [self.start_image, self.now_image, *self.start_texts, *self.now_texts, self.line, self.marker,
                self.step_line]

    def set_runs(self, which: str) -> bool:
        """Show the grey curves of another training set; True when the background changed."""
        if which == self.which:
            return False
        runs = explore_runs(which)
        for line, losses in zip(self.background_lines, runs.losses):
            line.set_ydata(losses)
        self.which = which
        self._set_titles(self.parameter or HEATMAP_PARAMETERS[0])
        return True

    def _set_titles(self, parameter: str) -> None:
        symbol = _PLAIN[parameter]
        frozen = " (frozen)" if parameter not in TRAINING_SETS[self.which] else ""
        trained = "all parameters trained" if self.which == "all" else "only E and W_out trained"
        self.start_ax.set_title(f"\u2207{symbol} at the seed's weights", fontsize=9)
        self.now_ax.set_title(f"\u2207{symbol} after k steps{frozen}", fontsize=9)
        self.curve_ax.set_title(f"Adam, 25 learning rates ({trained})", fontsize=9)
        self.parameter = parameter

    def update(self, parameter: str, rate_index: int, steps: int) -> dict:
        """Show ``parameter``'s gradient and the run at LEARNING_RATES[rate_index] after ``steps`` steps.

        Returns what is shown. The titles change with the parameter (a cached background of the
        figure's static parts belongs to one parameter and one training set)."""
        runs = explore_runs(self.which)
        self._set_titles(parameter)
        history = runs.gradients[parameter][rate_index]
        start, now = history[0], history[steps]
        for image, texts, values in ((self.start_image, self.start_texts, start),
                                     (self.now_image, self.now_texts, now)):
            limit = _symmetric_limit(values)
            image.set_data(values)
            image.set_clim(-limit, limit)
            for text, value, colour in zip(texts, values.ravel(), contrast_colours(image, values)):
                text.set_text(f"{value:.2e}")
                text.set_color(colour)
        losses = runs.losses[rate_index]
        self.line.set_ydata(losses)
        self.marker.set_data([steps], [losses[steps]])
        self.step_line.set_xdata([steps, steps])
        lr = LEARNING_RATES[rate_index]
        return {"parameter": parameter, "lr": float(lr), "steps": int(steps), "which": self.which,
                "gradient_start": start, "gradient_now": now, "loss_start": float(losses[0]),
                "loss_now": float(losses[steps]), "frozen": parameter not in TRAINING_SETS[self.which]}



def _heatmap(ax, values):
    limit = _symmetric_limit(values)
    image = ax.imshow(values, cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
    texts = [ax.text(j, i, f"{v:.2e}", ha="center", va="center", fontsize=8.5, zorder=5)
             for (i, j), v in np.ndenumerate(values)]
    ax.set_xticks([0, 1])
    ax.set_yticks([0, 1])
    ax.set_xticklabels(["col 1", "col 2"], fontsize=8)
    ax.set_yticklabels(["row 1", "row 2"], fontsize=8)
    ax.set_xlabel("column j", fontsize=8)
    ax.set_ylabel("row i", fontsize=8)
    return image, texts


def explore_figure(parameter: str = "W1", lr: float = 0.1, steps: int = MAX_STEPS, which: str = "all", *,
                   dpi: int = 72, width: float = 9.0, height: float = 2.875, scale: float = 1) -> tuple[ExploreFigure, dict]:
    """The panel's figure for a first setting; returns (figure, what it shows).

    ``dpi`` is the density at the display size; ``scale`` device pixels per CSS pixel (the panel
    passes HIDPI_SCALE)."""
    check_parameter(parameter)
    runs = explore_runs(which)
    figure = Figure(figsize=(width, height), dpi=dpi * scale, layout="constrained")
    FigureCanvasAgg(figure)
    set_pixel_scale(figure, scale)
    start_ax, now_ax, curve_ax = figure.subplots(1, 3, gridspec_kw={"width_ratios": [1.0, 1.0, 1.9]})
    zeros = np.zeros((2, 2))
    start_image, start_texts = _heatmap(start_ax, zeros)
    now_image, now_texts = _heatmap(now_ax, zeros)
    steps_axis = np.arange(MAX_STEPS + 1)
    background = [curve_ax.plot(steps_axis, losses, color="#bbbbbb", linewidth=0.7, zorder=1)[0]
                  for losses in runs.losses]
    line, = curve_ax.plot(steps_axis, runs.losses[0], color="#d62728", linewidth=2.0, zorder=3,
                          label="the chosen lr")
    marker, = curve_ax.plot([0], [runs.losses[0, 0]], "o", color="#d62728", zorder=4)
    step_line = curve_ax.axvline(0, color="#555555", linewidth=0.8, linestyle=":", zorder=2)
    curve_ax.set_xlim(0, MAX_STEPS)
    curve_ax.set_yscale("log")
    curve_ax.set_ylim(*LOSS_LIMITS)
    label_axes(curve_ax, title="", xlabel="training step k", ylabel="L_ins (nats, log scale)")
    curve_ax.xaxis.label.set_fontsize(8)
    curve_ax.yaxis.label.set_fontsize(8)
    curve_ax.tick_params(labelsize=8)
    curve_ax.legend([line, background[0]], ["your lr", "the other lr"], fontsize=7, loc="upper right")
    drawn = ExploreFigure(figure, start_ax, now_ax, curve_ax, start_image, now_image, start_texts, now_texts,
                          background, line, marker, step_line, which)
    shown = drawn.update(parameter, nearest_rate_index(lr), check_steps(steps))
    return drawn, shown


def check_parameter(parameter) -> str:
    if parameter not in HEATMAP_PARAMETERS:
        raise ValueError(f"parameter must be one of {HEATMAP_PARAMETERS}, got {parameter!r}")
    return parameter


def check_steps(steps) -> int:
    return check_int(steps, "steps", minimum=0, maximum=MAX_STEPS)


def explore_alt_text(shown: dict) -> str:
    symbol = _PLAIN[shown["parameter"]]
    start = ", ".join(f"{v:.2e}" for v in np.ravel(shown["gradient_start"]))
    now = ", ".join(f"{v:.2e}" for v in np.ravel(shown["gradient_now"]))
    trained = "every parameter trained" if shown["which"] == "all" else "only E and W_out trained, as in MGIE"
    return (f"Left: heatmap of the gradient of L_ins with respect to {symbol} at the seed's weights, entries "
            f"{start} (row by row). Middle: the same gradient after {shown['steps']} Adam steps, entries {now}"
            f"{' (the parameter is frozen)' if shown['frozen'] else ''}. Right: loss curves of "
            f"{len(LEARNING_RATES)} learning rates in grey ({trained}), the one for lr = {shown['lr']:.2g} in red, "
            f"going from {shown['loss_start']:.3f} to {shown['loss_now']:.3f} at step {shown['steps']}.")


