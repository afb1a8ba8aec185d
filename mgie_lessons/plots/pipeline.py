"""The introduction's figure: the MGIE pipeline as boxes and arrows, each box with its chapters.

The boxes, chapters and losses come from :mod:`mgie_lessons.pipeline`; this module only places
and draws them. The figure is a diagram, so its axes are hidden; it has a title and alt text
(:data:`PIPELINE_ALT`).
"""

from __future__ import annotations

from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from .. import pipeline
from .common import new_figure

__all__ = ["BOX_CENTRES", "pipeline_figure", "pipeline_alt"]

#: Centre (x, y) and size (width, height) of every box, in the figure's 0-100 x 0-100 frame.
#: The boxes snake down the page: row 1 left to right, row 2 right to left (both the language
#: model), row 3 left to right (the image editor).
_SIZE = (27.0, 11.5)
BOX_CENTRES = {
    "instruction": ((16.0, 83.0), _SIZE),
    "tokens": ((50.0, 83.0), _SIZE),
    "embedding": ((84.0, 83.0), _SIZE),
    "attention": ((84.0, 62.0), _SIZE),
    "ffn": ((50.0, 62.0), _SIZE),
    "visual_tokens": ((16.0, 62.0), _SIZE),
    "edit_head": ((16.0, 33.0), _SIZE),
    "denoising": ((50.0, 33.0), _SIZE),
    "edited_image": ((84.0, 33.0), _SIZE),
}

_STAGE_COLOUR = {"mllm": "#e8f0fb", "edit": "#fdf1e3"}
_EDGE = "#2b4c7e"
_LOSS = "#b00020"


def _chapters_text(chapters) -> str:
    return ("Ch. " if len(chapters) == 1 else "Ch. ") + ", ".join(str(c) for c in chapters)


def _box(ax, stage: pipeline.Stage, colour: str) -> None:
    (x, y), (width, height) = BOX_CENTRES[stage.key]
    ax.add_patch(FancyBboxPatch((x - width / 2, y - height / 2), width, height,
                                boxstyle="round,pad=0.3,rounding_size=1.2", linewidth=1.3,
                                edgecolor=_EDGE, facecolor=colour, zorder=2))
    ax.text(x, y + height / 2 - 2.4, stage.title, ha="center", va="center", fontsize=11,
            fontweight="bold", zorder=3)
    ax.text(x, y - 1.6, stage.detail, ha="center", va="center", fontsize=9, zorder=3,
            linespacing=1.2)
    ax.text(x + width / 2 - 0.4, y + height / 2 + 0.3, _chapters_text(stage.chapters), ha="right",
            va="center", fontsize=8.5, color="white", fontweight="bold", zorder=4,
            bbox=dict(boxstyle="round,pad=0.25", facecolor=_EDGE, edgecolor="none"))


def _edge_point(key: str, side: str) -> tuple[float, float]:
    (x, y), (width, height) = BOX_CENTRES[key]
    offsets = {"left": (-width / 2 - 0.4, 0.0), "right": (width / 2 + 0.4, 0.0),
               "top": (0.0, height / 2 + 0.4), "bottom": (0.0, -height / 2 - 0.4)}
    dx, dy = offsets[side]
    return x + dx, y + dy


def _arrow(ax, start, end, *, colour=_EDGE, style="-|>", dashed=False, width=1.4, label=None,
           label_at=None, connection="arc3") -> None:
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle=style, mutation_scale=13, color=colour,
                                 linewidth=width, linestyle="--" if dashed else "-",
                                 connectionstyle=connection, zorder=1.5))
    if label:
        lx, ly = label_at if label_at else ((start[0] + end[0]) / 2, (start[1] + end[1]) / 2)
        ax.text(lx, ly, label, ha="center", va="center", fontsize=8, color=colour, zorder=3,
                bbox=dict(boxstyle="round,pad=0.15", facecolor="white", edgecolor="none"))


def pipeline_figure(*, width: float = 8.6, height: float = 9.2, dpi: int = 100):
    """The MGIE pipeline: instruction -> tokens -> embedding -> self-attention -> FFN -> visual
    tokens -> edit head -> diffusion denoising -> edited image, with L_ins and L_edit marked and
    every box labelled with the chapters that compute it. Returns an Agg Figure."""
    figure, ax = new_figure(width, height, dpi=dpi)
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    ax.set_axis_off()
    ax.set_title("The MGIE pipeline, and the chapter that computes each step", fontsize=13)
    stages = {stage.key: stage for stage in pipeline.STAGES}

    # The two halves of the model, as shaded regions.
    ax.add_patch(FancyBboxPatch((0.8, 53.5), 98.4, 45.5, boxstyle="round,pad=0.2,rounding_size=2",
                                facecolor="#f6f9fe", edgecolor="#9db4d6", linewidth=1, zorder=0))
    ax.text(2.0, 97.0, "Multimodal LLM: LLaVA-7B in MGIE, which also reads the input image through CLIP "
            "(the seed: a 2-d toy)",
            fontsize=9.5, color="#2b4c7e", va="center", style="italic")
    ax.add_patch(FancyBboxPatch((0.8, 22.5), 98.4, 22.0, boxstyle="round,pad=0.2,rounding_size=2",
                                facecolor="#fffaf4", edgecolor="#e0b98a", linewidth=1, zorder=0))
    ax.text(2.0, 42.8, "Image editing: Stable Diffusion v1.5 UNet in MGIE (the seed: one number)",
            fontsize=9.5, color="#8a5a1c", va="center", style="italic")

    for key in ("instruction", "tokens", "embedding", "attention", "ffn", "visual_tokens"):
        _box(ax, stages[key], _STAGE_COLOUR["mllm"])
    for key in ("edit_head", "denoising", "edited_image"):
        _box(ax, stages[key], _STAGE_COLOUR["edit"])

    _arrow(ax, _edge_point("instruction", "right"), _edge_point("tokens", "left"))
    _arrow(ax, _edge_point("tokens", "right"), _edge_point("embedding", "left"))
    _arrow(ax, _edge_point("embedding", "bottom"), _edge_point("attention", "top"))
    _arrow(ax, _edge_point("attention", "left"), _edge_point("ffn", "right"))
    _arrow(ax, _edge_point("ffn", "left"), _edge_point("visual_tokens", "right"))
    _arrow(ax, _edge_point("visual_tokens", "bottom"), _edge_point("edit_head", "top"),
           label="hidden states\nat [IMG]", label_at=(16.0, 49.0))
    _arrow(ax, _edge_point("edit_head", "right"), _edge_point("denoising", "left"),
           label=r"$\mathbf{U}$", label_at=(33.0, 35.5))
    _arrow(ax, _edge_point("denoising", "right"), _edge_point("edited_image", "left"),
           label="T steps", label_at=(67.0, 35.5))

    # The input image enters the denoiser as a latent concatenated with z_t (InstructPix2Pix-style).
    ax.add_patch(FancyBboxPatch((36.0, 7.0), 28.0, 8.0, boxstyle="round,pad=0.3,rounding_size=1",
                                facecolor="white", edgecolor="0.35", linewidth=1.1, zorder=2))
    ax.text(50.0, 11.0, "Input image $\\mathcal{V}$: its latent\n$\\mathcal{E}(\\mathcal{V})$ is concatenated"
            " with $\\mathbf{z}_t$\n(InstructPix2Pix-style)", ha="center", va="center", fontsize=9,
            zorder=3, linespacing=1.3)
    _arrow(ax, (50.0, 15.6), _edge_point("denoising", "bottom"), colour="0.35")

    # Chapter 11's techniques come from PFB-Diff, not from MGIE: a side note.
    ax.add_patch(FancyBboxPatch((2.0, 7.0), 28.0, 8.0, boxstyle="round,pad=0.3,rounding_size=1",
                                facecolor="white", edgecolor="0.5", linewidth=1, linestyle=":", zorder=2))
    ax.text(16.0, 11.0, "Ch. 11: feature blending and\nattention masks (from PFB-Diff,\nnot in MGIE's code)",
            ha="center", va="center", fontsize=9, color="0.25", zorder=3, linespacing=1.3)
    _arrow(ax, (30.5, 14.0), (38.0, 26.6), colour="0.5", dashed=True, style="-")

    # The two training losses.
    losses = {loss.stage: loss for loss in pipeline.LOSSES}
    l_ins, l_edit = losses["visual_tokens"], losses["denoising"]
    ax.text(60.0, 49.0, rf"$\mathcal{{L}}_{{\mathrm{{ins}}}}$ (Ch. {l_ins.chapter}): cross-entropy of the"
            "\nexpressive instruction and the [IMG] tokens", ha="center", va="center", fontsize=9,
            color=_LOSS, zorder=3,
            bbox=dict(boxstyle="round,pad=0.3", facecolor="white", edgecolor=_LOSS, linestyle="--"))
    _arrow(ax, (42.5, 49.0), (25.0, 55.6), colour=_LOSS, dashed=True, width=1.1)
    ax.text(84.0, 11.0, rf"$\mathcal{{L}}_{{\mathrm{{edit}}}}$ (Ch. {l_edit.chapter}):"
            "\n" r"$\|\epsilon - \epsilon_\theta\|^2$", ha="center", va="center", fontsize=9.5,
            color=_LOSS, zorder=3, linespacing=1.4,
            bbox=dict(boxstyle="round,pad=0.4", facecolor="white", edgecolor=_LOSS, linestyle="--"))
    _arrow(ax, (78.0, 15.5), (62.0, 26.6), colour=_LOSS, dashed=True, width=1.1)
    ax.text(98.5, 1.5, r"training: $\mathcal{L}_{\mathrm{all}} = \mathcal{L}_{\mathrm{ins}}"
            r" + 0.5\,\mathcal{L}_{\mathrm{edit}}$ (Ch. 6)", ha="right", va="center", fontsize=9.5,
            color=_LOSS)
    return figure


def pipeline_alt() -> str:
    """Alt text for :func:`pipeline_figure`, built from the same data."""
    steps = "; ".join(f"{stage.title} ({_chapters_text(stage.chapters)})" for stage in pipeline.STAGES)
    return ("Diagram of the MGIE pipeline as boxes joined by arrows that snake down the page. First "
            "the multimodal language model (LLaVA-7B in MGIE), in two rows: " + steps.split("; Edit head")[0]
            + ". An arrow carries the hidden states at the [IMG] positions down to the image-editing "
            "row: Edit head (Ch. 10), 77 learned queries giving U of size 77 x 768; "
            "Diffusion denoising (Ch. 5, 8, 9), a UNet that reads U by cross-attention and also "
            "receives the input image's latent concatenated with the noisy latent "
            "(InstructPix2Pix-style); Edited image (Ch. 5). Dashed red markers attach the loss L_ins "
            "(Ch. 6, cross-entropy of the expressive instruction and the [IMG] tokens) to the visual "
            "tokens and the loss L_edit (Ch. 6, squared noise-prediction error) to the denoiser; "
            "L_all = L_ins + 0.5 L_edit. A dotted side note: Ch. 11, feature blending and attention "
            "masks, come from PFB-Diff, not MGIE's code.")
