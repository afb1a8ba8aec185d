"""Chapter 14's figures (Train your own MGIE): the task, the model as a diagram, training curves,
edits, the denoising steps, attention maps and the guidance grid.

Everything drawn is computed by :mod:`mgie_lessons.toy_edits` and :mod:`mgie_lessons.toy_mgie`;
these functions only lay it out. Pixel pictures are shown with ``interpolation="nearest"`` (each
of the 16 x 16 pixels a square), in [0, 1] RGB.
"""

from __future__ import annotations

import textwrap

import numpy as np
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from .. import toy_edits, toy_mgie
from .common import label_axes, new_figure

__all__ = [
    "BLOCKS",
    "block_parameter_counts",
    "rule_figure",
    "examples_figure",
    "model_figure",
    "moving_average",
    "training_curves_figure",
    "snr_figure",
    "gallery_figure",
    "denoising_figure",
    "attention_figure",
    "guidance_grid_figure",
    "edit_figure",
]


def _pixels(ax, image, title: str = "", fontsize: float = 8) -> None:
    """One 16 x 16 RGB picture with its pixel grid hidden (no ticks) and a small title."""
    ax.imshow(np.clip(np.asarray(image, dtype=float), 0.0, 1.0), interpolation="nearest", vmin=0, vmax=1)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=fontsize)


def _wrap(text: str, width: int = 22) -> str:
    return "\n".join(textwrap.wrap(text, width)) if text else "(nothing)"


# ---------------------------------------------------------------------------------------------
# The task
# ---------------------------------------------------------------------------------------------

def rule_figure(*, dpi: int = 90):
    """The held-out rule as a table: shape kind (rows) x new colour (columns), held-out pairs marked."""
    kinds, colours = toy_edits.KINDS, toy_edits.COLOURS
    figure, ax = new_figure(7.0, 2.6, dpi=dpi)
    for i, kind in enumerate(kinds):
        for j, colour in enumerate(colours):
            held = toy_edits.is_heldout(kind, colour)
            ax.add_patch(FancyBboxPatch((j + 0.08, i + 0.08), 0.84, 0.84, boxstyle="round,pad=0,rounding_size=0.08",
                                        facecolor=toy_edits.COLOUR_VALUES[colour] if held else "#f2f2f2",
                                        edgecolor="black" if held else "#c8c8c8", linewidth=1.6 if held else 0.8))
            ax.text(j + 0.5, i + 0.5, "held out" if held else "train", ha="center", va="center", fontsize=9,
                    color="black" if held else "#555555", fontweight="bold" if held else "normal",
                    bbox=dict(boxstyle="round,pad=0.15", facecolor="white", edgecolor="none", alpha=0.8) if held else None)
    ax.set_xlim(0, len(colours))
    ax.set_ylim(len(kinds), 0)
    ax.set_xticks(np.arange(len(colours)) + 0.5, colours)
    ax.set_yticks(np.arange(len(kinds)) + 0.5, kinds)
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    label_axes(ax, title="Recolourings never seen in training:\nkind k to new colour c is held out when "
                         "COLOURS.index(c) // 2 == KINDS.index(k)", xlabel="new colour c", ylabel="shape kind k")
    ax.title.set_fontsize(10)
    return figure


def examples_figure(examples, *, title: str, dpi: int = 90):
    """Inputs (top row) and exact targets (bottom row) of ``examples``: the terse instruction above
    each input, the expressive instruction under each target."""
    examples = list(examples)
    if not examples:
        raise ValueError("examples must not be empty")
    n = len(examples)
    figure, axes = new_figure(1.55 * n + 0.4, 4.1, dpi=dpi, ncols=n, nrows=2)
    axes = np.asarray(axes).reshape(2, n)
    for k, example in enumerate(examples):
        _pixels(axes[0, k], example.image, _wrap(example.instruction, 16))
        _pixels(axes[1, k], example.target)
        axes[1, k].set_xlabel(_wrap(example.expressive, 18), fontsize=7)
    axes[0, 0].set_ylabel("input V")
    axes[1, 0].set_ylabel("target")
    figure.suptitle(title)
    return figure


# ---------------------------------------------------------------------------------------------
# The model as a diagram
# ---------------------------------------------------------------------------------------------

#: The diagram's blocks: key, title, detail line, chapters, parameter-name prefixes, (x, y) centre.
BLOCKS = (
    ("image", "Input image V", "16 x 16 RGB", (1,), (), (12, 84)),
    ("vision", "Vision encoder + W_proj", "3 x 3 convs at 16, 8, 4 px\n16 patch tokens", (1, 4), ("vis.",), (12, 60)),
    ("instruction", "Terse instruction", "'make the circle blue'", (1,), (), (40, 84)),
    ("llm", "Causal LLM", "pre-norm blocks: MHA + FFN\nwrites the expressive\ninstruction + [IMG] tokens",
     (1, 2, 3, 4), ("llm.",), (40, 56)),
    ("head", "Edit head", "learned queries attend to\nh_IMG + E_IMG, giving U", (10,), ("head.",), (68, 56)),
    ("unet", "UNet denoiser", "input [x_t ; V] (V again, Eq. 9.3),\ntime embedding, cross-attention to U", (5, 9, 10), ("unet.",),
     (68, 28)),
    ("sampler", "DDIM + two-scale guidance", "Eqs. 8.11 and 9.4,\nguidance while t/T in interval", (8, 9), (),
     (40, 28)),
    ("output", "Edited image", "16 x 16 RGB", (5,), (), (12, 28)),
)
_EDGES = (("image", "vision"), ("vision", "llm"), ("instruction", "llm"), ("llm", "head"), ("head", "unet"),
          ("unet", "sampler"), ("sampler", "output"))
_SIZE = (24.0, 15.0)


def block_parameter_counts(model) -> dict:
    """Numbers learned per block of the diagram (key -> count), from the model's weights."""
    counts = {}
    for key, _title, _detail, _chapters, prefixes, _centre in BLOCKS:
        if prefixes:
            counts[key] = int(sum(np.asarray(v).size for name, v in model.params.items()
                                  if any(name.startswith(p) for p in prefixes)))
    return counts


def _anchor(key: str, towards: str) -> tuple[float, float]:
    """The middle of the side of box ``key`` that faces box ``towards``."""
    centres = {b[0]: b[5] for b in BLOCKS}
    (x, y), (tx, ty) = centres[key], centres[towards]
    if abs(tx - x) >= abs(ty - y):
        return (x + np.sign(tx - x) * (_SIZE[0] / 2 + 0.6), y)
    return (x, y + np.sign(ty - y) * (_SIZE[1] / 2 + 0.6))


def model_figure(model, *, dpi: int = 90):
    """The toy MGIE as boxes and arrows, each block with the chapters that explain it and the
    number of weights it learns (counted from ``model``); the training losses in red."""
    counts = block_parameter_counts(model)
    figure, ax = new_figure(8.6, 6.4, dpi=dpi)
    ax.set_xlim(-2, 82)
    ax.set_ylim(12, 96)
    ax.axis("off")
    for key, title, detail, chapters, _prefixes, (x, y) in BLOCKS:
        learned = key in counts
        ax.add_patch(FancyBboxPatch((x - _SIZE[0] / 2, y - _SIZE[1] / 2), *_SIZE,
                                    boxstyle="round,pad=0.3,rounding_size=1.2", linewidth=1.3, edgecolor="#2b4c7e",
                                    facecolor="#e8f0fb" if learned else "#f6f6f6"))
        ax.text(x, y + 4.6, title, ha="center", va="center", fontsize=9.5, fontweight="bold")
        ax.text(x, y - 0.6, detail, ha="center", va="center", fontsize=7.5, linespacing=1.15)
        if learned:
            ax.text(x, y - 6.0, f"{counts[key]:,} weights", ha="center", va="center", fontsize=7.5, color="#2b4c7e")
        ax.text(x + _SIZE[0] / 2 - 0.3, y + _SIZE[1] / 2 + 0.5, "Ch. " + ", ".join(map(str, chapters)),
                ha="right", va="center", fontsize=7.5, color="white", fontweight="bold",
                bbox=dict(boxstyle="round,pad=0.22", facecolor="#2b4c7e", edgecolor="none"))
    for start, end in _EDGES:
        ax.add_patch(FancyArrowPatch(_anchor(start, end), _anchor(end, start), arrowstyle="-|>", mutation_scale=12,
                                     linewidth=1.3, color="#2b4c7e", connectionstyle="arc3,rad=0.0"))
    ax.text(40, 72, "L_ins (cross-entropy, Ch. 6)", ha="center", fontsize=8, color="#b00020")
    ax.text(68, 42.5, "L_edit (MSE, Ch. 6, 8)", ha="center", fontsize=8, color="#b00020")
    total = toy_mgie.parameter_count(model.params)
    ax.set_title(f"The toy MGIE: {total:,} weights, every block a chapter's block "
                 f"(L_all = L_ins + {model.config.edit_weight:g} L_edit)", fontsize=10)
    return figure


# ---------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------

def moving_average(values, window: int) -> np.ndarray:
    """Mean of each value and the ``window - 1`` before it (fewer at the start)."""
    values = np.asarray(values, dtype=float)
    if values.ndim != 1 or values.size == 0:
        raise ValueError("values must be a non-empty 1-D sequence")
    window = max(1, min(int(window), values.size))
    sums = np.cumsum(np.concatenate([[0.0], values]))
    ends = np.arange(1, values.size + 1)
    starts = np.maximum(0, ends - window)
    return (sums[ends] - sums[starts]) / (ends - starts)


def training_curves_figure(history: dict, *, title: str, window: int = 1, dpi: int = 85):
    """L_ins (left) and L_edit (right) per training step from ``model.history``, on log axes;
    with ``window`` > 1 the raw values are faint and their moving average is drawn over them."""
    if not history or not history.get("l_edit"):
        raise ValueError("history must hold the per-step losses 'l_ins' and 'l_edit' (model.history)")
    figure, axes = new_figure(8.4, 3.0, dpi=dpi, ncols=2)
    for ax, key, name, colour in ((axes[0], "l_ins", "L_ins (expressive instruction)", "#ff7f0e"),
                                  (axes[1], "l_edit", "L_edit (denoising MSE)", "#1f77b4")):
        values = np.asarray(history[key], dtype=float)
        steps = np.arange(1, values.size + 1)
        if window > 1:
            ax.plot(steps, values, color=colour, alpha=0.25, linewidth=0.8)
            ax.plot(steps, moving_average(values, window), color=colour, linewidth=1.6,
                    label=f"mean of the last {window} steps")
            ax.legend(fontsize=8)
        else:
            ax.plot(steps, values, color=colour, linewidth=1.4, marker="." if values.size <= 60 else None)
        if np.all(values > 0):
            ax.set_yscale("log")
        label_axes(ax, title=name, xlabel="training step", ylabel="loss (log scale)")
    figure.suptitle(title)
    return figure


def snr_figure(alphas_cumprod, *, interval=toy_mgie.GUIDANCE_INTERVAL, dpi: int = 85):
    """SNR(t) = abar_t / (1 - abar_t), the weight that turns the x_0 loss into the noise loss, on a
    log axis over t, with SNR = 1 and the guidance interval marked."""
    abar = np.asarray(alphas_cumprod, dtype=float)
    t = np.arange(abar.size)
    weight = toy_mgie.eps_loss_weight(t, abar)
    figure, ax = new_figure(6.4, 3.2, dpi=dpi)
    ax.plot(t, weight, color="#2b4c7e", linewidth=1.6, label="SNR(t) = abar_t / (1 - abar_t)")
    ax.axhline(1.0, color="#777777", linestyle="--", linewidth=1, label="SNR = 1: both losses weigh t alike")
    low, high = interval
    ax.axvspan(low * abar.size, high * abar.size, color="#fdf1e3", zorder=0, label="guidance interval")
    ax.set_yscale("log")
    ax.legend(fontsize=8, loc="upper right")
    label_axes(ax, title="||eps - eps^||^2 = SNR(t) ||x_0 - x^_0||^2 on the cosine schedule", xlabel="timestep t",
               ylabel="weight SNR(t) (log scale)")
    return figure


# ---------------------------------------------------------------------------------------------
# Edits
# ---------------------------------------------------------------------------------------------

def gallery_figure(examples, evaluation, indices, *, title: str, dpi: int = 85):
    """One row per chosen example: input, the model's edit, the exact target; the terse and the
    generated expressive instruction (with a tick when word for word) and the verdict beside."""
    indices = [int(i) for i in indices]
    if not indices:
        raise ValueError("indices must not be empty")
    rows = len(indices)
    figure, axes = new_figure(7.0, 1.3 * rows + 0.5, dpi=dpi, ncols=4, nrows=rows)
    axes = np.asarray(axes).reshape(rows, 4)
    for r, i in enumerate(indices):
        example = examples[i]
        _pixels(axes[r, 0], example.image, "input V" if r == 0 else "")
        _pixels(axes[r, 1], evaluation.edited[i], "the model's edit" if r == 0 else "")
        _pixels(axes[r, 2], example.target, "exact target" if r == 0 else "")
        text_ax = axes[r, 3]
        text_ax.axis("off")
        right = "word for word" if evaluation.expressive_correct[i] else f"expected: {example.expressive}"
        verdict = "success" if evaluation.success[i] else "failure"
        text_ax.text(0.0, 0.5, f"'{example.instruction}'\nwrote: {_wrap(evaluation.expressive[i], 30)}\n"
                     f"({_wrap(right, 34)})\n{verdict}: region MAE {evaluation.region_mae[i]:.3f}, "
                     f"rest {evaluation.outside_mae[i]:.3f}",
                     fontsize=7, va="center", ha="left", transform=text_ax.transAxes,
                     color="#1b5e20" if evaluation.success[i] else "#b00020")
        axes[r, 0].set_ylabel(f"held-out #{i}", fontsize=8)
    figure.suptitle(title)
    return figure


def denoising_figure(trace, *, shown: int = 6, dpi: int = 85):
    """The DDIM states x_t (top) and the guided prediction x^_0 (bottom) of the first edit in
    ``trace`` at ``shown`` evenly spaced steps, from pure noise to the edited image."""
    steps = len(trace.timesteps)
    picks = np.unique(np.linspace(0, steps - 1, min(shown, steps)).round().astype(int))
    figure, axes = new_figure(1.45 * len(picks) + 1.6, 3.6, dpi=dpi, ncols=len(picks) + 1, nrows=2)
    axes = np.asarray(axes).reshape(2, len(picks) + 1)
    for c, k in enumerate(picks):
        _pixels(axes[0, c], trace.states[k, 0], f"step {k + 1}: t = {int(trace.timesteps[k])}")
        _pixels(axes[1, c], trace.x0[k, 0])
    _pixels(axes[0, -1], trace.states[-1, 0], "result x_0")
    axes[1, -1].axis("off")
    axes[0, 0].set_ylabel("state x_t")
    axes[1, 0].set_ylabel("predicted x^_0")
    figure.suptitle(f"Denoising one edit: {steps} DDIM steps, '{trace.expressive[0]}'", fontsize=10)
    return figure


def attention_figure(trace, image, *, dpi: int = 85):
    """Left: the edit head's cross-attention, each learned query (row) over the [IMG] states
    (columns), averaged over heads. Right: the UNet's cross-attention at its 4 x 4 level at the
    last step, one small map per query of U (how much each position reads it, averaged over
    heads), enlarged to 16 x 16 and laid over the input image."""
    head = np.asarray(trace.head_maps[0]).mean(axis=0)              # (queries, K)
    unet = np.asarray(trace.unet_maps[0]).mean(axis=0)              # (16 positions, queries)
    queries = head.shape[0]
    columns = (queries + 1) // 2
    figure = new_figure(2.6 + 1.35 * columns, 3.9, dpi=dpi, ncols=1, nrows=1)[0]
    figure.clf()
    grid = figure.add_gridspec(2, columns + 2)
    ax = figure.add_subplot(grid[:, :2])
    shown = ax.imshow(head, cmap="viridis", vmin=0, aspect="auto")
    ax.set_xticks(range(head.shape[1]), [f"[IMG{k}]" for k in range(head.shape[1])], rotation=90, fontsize=7)
    ax.set_yticks(range(queries), [f"q{k}" for k in range(queries)], fontsize=7)
    figure.colorbar(shown, ax=ax, shrink=0.8, label="weight")
    label_axes(ax, title="Edit head: query -> [IMG]", xlabel="[IMG] state", ylabel="learned query")
    side = int(round(np.sqrt(unet.shape[0])))
    peak = float(unet.max())
    grey = np.asarray(image, dtype=float).mean(axis=2)
    for q in range(queries):
        sub = figure.add_subplot(grid[q // columns, 2 + q % columns])
        weights = np.kron(unet[:, q].reshape(side, side), np.ones((16 // side, 16 // side)))
        sub.imshow(grey, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        sub.imshow(weights, cmap="magma", vmin=0, vmax=peak, alpha=0.65, interpolation="nearest")
        sub.set_xticks([])
        sub.set_yticks([])
        sub.set_title(f"U row q{q}", fontsize=7)
    figure.suptitle(f"Cross-attention for '{trace.expressive[0]}' (UNet maps: last step, {side} x {side} level, "
                    f"brightest = {peak:.2f})", fontsize=9)
    return figure


def guidance_grid_figure(images, s_images, s_texts, *, rates=None, count: int | None = None, dpi: int = 85):
    """Edits of one example for every (s_V, s_X) (rows: s_V = ``s_images``, columns: s_X =
    ``s_texts``); with ``rates`` (same grid) each title gives the success rate over ``count``
    held-out examples."""
    images = np.asarray(images, dtype=float)
    rows, cols = len(s_images), len(s_texts)
    if images.shape[:2] != (rows, cols):
        raise ValueError(f"images must have shape ({rows}, {cols}, 16, 16, 3), got shape {images.shape}")
    figure, axes = new_figure(1.5 * cols + 1.0, 1.55 * rows + 0.7, dpi=dpi, ncols=cols, nrows=rows)
    axes = np.asarray(axes).reshape(rows, cols)
    for r, s_v in enumerate(s_images):
        for c, s_x in enumerate(s_texts):
            title = f"{rates[r][c]:.0%} succeed" if rates is not None else ""
            _pixels(axes[r, c], images[r, c], title, fontsize=7.5)
            if c == 0:
                axes[r, c].set_ylabel(f"s_V = {s_v:g}")
            if r == rows - 1:
                axes[r, c].set_xlabel(f"s_X = {s_x:g}")
    suffix = f" (success over {count} held-out edits)" if rates is not None and count else ""
    figure.suptitle("Guidance scales: image s_V (rows) x instruction s_X (columns)" + suffix, fontsize=9.5)
    return figure


def edit_figure(image, edited, target=None, *, title: str = "", dpi: int = 80, scale: float = 1):
    """The widget's picture: input, the model's edit and (if known) the exact target."""
    panels = [("input V", image), ("the model's edit", edited)] + ([("exact target", target)] if target is not None
                                                                   else [])
    figure, axes = new_figure(2.0 * len(panels) + 0.2, 2.55, dpi=dpi, ncols=len(panels), scale=scale)
    for ax, (name, picture) in zip(np.atleast_1d(axes), panels):
        _pixels(ax, picture, name, fontsize=9)
        ax.set_xlabel("16 pixels", fontsize=7)
        ax.set_ylabel("16 pixels", fontsize=7)
    if title:
        figure.suptitle(title, fontsize=9)
    return figure
