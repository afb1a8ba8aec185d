"""Chapter 0 (introduction): the book's map of the MGIE pipeline, as data.

The introduction draws the pipeline (``plots.pipeline``) and lists the chapters; both read the
tables below, so the figure, the chapter table and the tests agree. The seed's own run is here
too: :func:`seed_run` chains the chapter modules once on the seed's data (see its docstring for
the equations) and every chapter, checker and figure that needs an intermediate reads it there.

Imports run one way: this module imports the modules of chapters 1-5 that the run chains
(``tokens``, ``attention``, ``ffn``, ``visual_tokens``, ``diffusion``), so those may not import
it; later chapters (``edit_head``, ``errata``, ...), the checkers, figures and widgets may.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from pathlib import PurePath

import numpy as np

from . import attention, diffusion, ffn, tokens, visual_tokens, walkthrough
from .validation import as_matrix, check_int

__all__ = [
    "Chapter",
    "CHAPTERS",
    "chapter",
    "chapter_for_notebook",
    "Stage",
    "STAGES",
    "Loss",
    "LOSSES",
    "SeedRun",
    "seed_run",
    "FFN_INPUT_SOURCES",
    "seed_ffn_input",
]


@dataclass(frozen=True)
class Chapter:
    """One row of the book's chapter table: number, title, notebook file (in ``book/``), the math
    module it teaches (``mgie_lessons.<module>``, whose ``exercises``, ``plots``, ``widgets`` and
    ``explorers`` modules share the name) and what it computes (for the introduction's table)."""

    number: int
    title: str
    notebook: str
    module: str
    computes: str

    @property
    def page(self) -> str:
        """The notebook's name without ``.ipynb``, as ``_toc.yml`` lists it under ``book/``."""
        return self.notebook.removesuffix(".ipynb")


#: The book's one chapter table, chapters 1-14 in reading order: the introduction's table, the
#: table of contents (``_toc.yml``, checked by the tests), the errata table, the exercise registry
#: and the grader read it. ``computes`` is Markdown (with $...$ math) for the introduction's table.
CHAPTERS = (
    Chapter(1, "Tokens and embeddings", "01_tokens.ipynb", "tokens",
            r"the instruction's tokens and the matrix $\mathbf{X}$ of their embeddings, by lookup and as $\mathbf{X} = \mathbf{O}\mathbf{E}$"),
    Chapter(2, "Self-attention", "02_attention.ipynb", "attention",
            r"$\mathbf{Q}, \mathbf{K}, \mathbf{V}$, the scores, the softmax weights and the output $\mathbf{H} = \operatorname{softmax}(\mathbf{Q}\mathbf{K}^\top/\sqrt{d_k})\,\mathbf{V}$"),
    Chapter(3, "The feed-forward network", "03_ffn.ipynb", "ffn",
            r"$\mathbf{F} = \operatorname{ReLU}(\mathbf{H}\mathbf{W}_1 + \mathbf{b}_1)\mathbf{W}_2 + \mathbf{b}_2$, token by token"),
    Chapter(4, "Visual tokens", "04_visual_tokens.ipynb", "visual_tokens",
            r"the seed's visual tokens $\mathbf{u}_i$ beside MGIE's `[IMG]` tokens and their hidden states"),
    Chapter(5, "Denoising, the seed's way", "05_diffusion.ipynb", "diffusion",
            r"the noisy start and the seed's update $\mathbf{z}_{t-1} = \mathbf{z}_t - \eta\,\hat{\epsilon}_t$"),
    Chapter(6, "The losses", "06_losses.ipynb", "losses",
            r"$\mathcal{L}_{\text{ins}}$ (token cross-entropy), $\mathcal{L}_{\text{edit}}$ (noise-prediction error) and $\mathcal{L}_{\text{all}} = \mathcal{L}_{\text{ins}} + \alpha\,\mathcal{L}_{\text{edit}}$"),
    Chapter(7, "Errata", "07_errata.ipynb", "errata",
            r"every value the seed prints beside the computed one, with the reason they differ"),
    Chapter(8, "Noise schedules", "08_schedules.ipynb", "schedules",
            r"noise schedules $\beta_t$, $\bar{\alpha}_t$, the forward process and the DDPM and DDIM steps"),
    Chapter(9, "Classifier-free guidance", "09_guidance.ipynb", "guidance",
            r"classifier-free guidance with an image scale $s_V$ and an instruction scale $s_X$"),
    Chapter(10, "The edit head", "10_edit_head.ipynb", "edit_head",
            r"the edit head: learned queries reading the `[IMG]` hidden states, giving the condition $\mathbf{U}$"),
    Chapter(11, "Blending and attention masks", "11_blending.ipynb", "blending",
            r"feature blending through a mask and masked cross-attention (from PFB-Diff, not MGIE)"),
    Chapter(12, "The whole pipeline, end to end", "12_end_to_end.ipynb", "end_to_end",
            r"every stage chained from an instruction to $\mathcal{L}_{\text{all}}$, with a dashboard"),
    Chapter(13, "How MGIE learns", "13_learning.ipynb", "learning",
            r"gradients by the chain rule (softmax Jacobian, attention backward, $\nabla\mathcal{L}_{\text{ins}}$, $\nabla\mathcal{L}_{\text{edit}}$) with a small autograd, Adam, and what MGIE trains"),
    Chapter(14, "Train your own MGIE", "14_toy_mgie.ipynb", "toy_mgie",
            r"a toy MGIE trained end to end on 16 x 16 edits: $\mathcal{L}_{\text{all}} = \mathcal{L}_{\text{ins}} + 0.5\,\mathcal{L}_{\text{edit}}$, held-out success rates, ablations and guidance scales"),
)


def chapter(number: int) -> Chapter:
    """The :class:`Chapter` with this number (1 to 14)."""
    number = check_int(number, "number", minimum=1, maximum=len(CHAPTERS))
    return CHAPTERS[number - 1]


def chapter_for_notebook(name) -> Chapter:
    """The :class:`Chapter` whose notebook is ``name``: a file name or path, with or without
    ``.ipynb`` (``"02_attention.ipynb"``, ``"book/02_attention"``). Raises ``ValueError`` naming
    ``name`` for anything else (the introduction, the instructor guide, an unknown file)."""
    if not isinstance(name, (str, PurePath)):
        raise ValueError(f"name must be a notebook file name or path, got {name!r}")
    page = PurePath(name).name.removesuffix(".ipynb")
    for entry in CHAPTERS:
        if entry.page == page:
            return entry
    raise ValueError(f"name must be the notebook of a chapter ({CHAPTERS[0].notebook} ... "
                     f"{CHAPTERS[-1].notebook}), got {str(name)!r}")


@dataclass(frozen=True)
class Stage:
    """One box of the pipeline figure: its title, the chapters that compute it, one detail line."""

    key: str
    title: str
    chapters: tuple
    detail: str


#: The boxes of the pipeline figure, in the order the data flows. ``detail`` is a line of
#: matplotlib mathtext; the MGIE numbers (8 [IMG] tokens, 77 x 768) are from the paper and code.
STAGES = (
    Stage("instruction", "Instruction", (1,), "an edit request\nin words"),
    Stage("tokens", "Tokens", (1,), "$w_1, \\dots, w_n$"),
    Stage("embedding", "Embedding", (1,), "$\\mathbf{X} = \\mathbf{O}\\,\\mathbf{E}$"),
    Stage("attention", "Self-attention", (2,),
          "$\\mathbf{H} = \\mathrm{softmax}(\\mathbf{Q}\\mathbf{K}^\\top\\!/\\sqrt{d_k})\\,\\mathbf{V}$"),
    Stage("ffn", "Feed-forward", (3,), "$\\mathbf{F} = \\mathrm{ReLU}(\\mathbf{H}\\mathbf{W}_1 + \\mathbf{b}_1)"
                                       "\\mathbf{W}_2 + \\mathbf{b}_2$"),
    Stage("visual_tokens", "Visual tokens", (4,), "MGIE: [IMG0] ... [IMG7]\nseed: $\\mathbf{u}_1, \\dots, \\mathbf{u}_4$"),
    Stage("edit_head", "Edit head", (10,), "77 learned queries\n$\\mathbf{U}$: 77 x 768"),
    Stage("denoising", "Diffusion denoising", (5, 8, 9),
          "UNet on $[\\mathbf{z}_t,\\ \\operatorname{Enc}(\\mathcal{V})]$,\nreads $\\mathbf{U}$ by cross-attention"),
    Stage("edited_image", "Edited image", (5,), "the last latent,\ndecoded"),
)


@dataclass(frozen=True)
class Loss:
    """A training loss marked on the figure: its name, chapter, the stage it is attached to."""

    name: str
    chapter: int
    stage: str
    meaning: str


LOSSES = (
    Loss("L_ins", 6, "visual_tokens", "cross-entropy of the expressive instruction and the [IMG] tokens"),
    Loss("L_edit", 6, "denoising", "|| eps - eps_theta ||^2, the noise-prediction error"),
)


@dataclass(frozen=True)
class SeedRun:
    """Every intermediate of the seed walkthrough, computed once by the chapter modules.

    ``words``: the n = 10 tokens of ``walkthrough.INSTRUCTION``; ``X``: their embeddings (n x 2,
    Eq. 1.1); ``attention``: chapter 2's :class:`~mgie_lessons.attention.AttentionResult`
    (Q, K, V, scores, weights) and ``H`` its output; ``ffn``: chapter 3's
    :class:`~mgie_lessons.ffn.FFNResult` on H and ``ffn_output`` its output F;
    ``image_pass``: chapter 4's causal pass over the instruction and the seed's four [IMG]
    embeddings u_1..u_4; ``img_states``: the same pass with MGIE's eight [IMG] tokens, whose
    hidden states chapter 10's edit head reads (both from
    :func:`~mgie_lessons.visual_tokens.seed_image_token_pass`); ``denoising``: chapter 5's
    run of the seed's update from z_T = I + eps. Every array is read-only: the run is shared.
    """

    words: tuple
    X: np.ndarray
    attention: attention.AttentionResult
    H: np.ndarray
    ffn: ffn.FFNResult
    ffn_output: np.ndarray
    image_pass: visual_tokens.ImageTokenPass
    img_states: visual_tokens.ImageTokenPass
    denoising: diffusion.DenoiseResult


def _read_only(value):
    """Mark every numpy array in ``value`` (an array or a dataclass of them, nested) read-only."""
    if isinstance(value, np.ndarray):
        value.setflags(write=False)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            _read_only(getattr(value, field.name))
    return value


@functools.lru_cache(maxsize=None)
def seed_run() -> SeedRun:
    """The seed walkthrough's pipeline, run once with the seed's data and weights (cached).

    It chains the chapter modules:

        X = E[w_1..w_n] = O E                                              (Eqs. 1.1-1.2, chapter 1)
        H = softmax(Q K^T / sqrt(d_k)) V,  Q = X W^Q, K = X W^K, V = X W^V    (Eqs. 2.1-2.5, chapter 2)
        F = ReLU(H W_1 + b_1) W_2 + b_2                                     (Eq. 3.1, chapter 3)
        h_IMG = F rows before each [IMG] token of [X; E_IMG],  S_0 = h_IMG + E_IMG
                                                   (Eqs. 4.1-4.2, chapter 4; 8 tokens for chapter 10)
        z_T = I + eps,  z_{t-1} = z_t - eta * eps_hat_t,  eps_hat_t = 0.2 t  (Eqs. 5.1-5.3, chapter 5)

    with the seed's W^Q = W^K = W^V = I, its FFN weights, u_1..u_4 and its T, eta and noise rule.
    The result is shared by every caller, so its arrays are read-only: copy before changing one.
    """
    words, X = tokens.embed(walkthrough.INSTRUCTION)
    attended = attention.self_attention(X, walkthrough.W_Q, walkthrough.W_K, walkthrough.W_V)
    fed_forward = ffn.feed_forward(attended.output, walkthrough.W1, walkthrough.B1, walkthrough.W2, walkthrough.B2)
    start = diffusion.noisy_start(walkthrough.IMAGE_VALUE, walkthrough.NOISE_VALUE)
    denoising = diffusion.denoise(start, walkthrough.ETA, walkthrough.T,
                                  diffusion.linear_noise_rule(walkthrough.NOISE_SLOPE))
    run = SeedRun(tuple(words), X, attended, attended.output, fed_forward, fed_forward.output,
                  visual_tokens.seed_image_token_pass(len(walkthrough.VISUAL_TOKENS)),
                  visual_tokens.seed_image_token_pass(8), denoising)
    return _read_only(run)


#: The two inputs chapter 3 feeds to the FFN (see :func:`seed_ffn_input`).
FFN_INPUT_SOURCES = ("computed", "printed")


def seed_ffn_input(source: str = "computed") -> np.ndarray:
    """The attention output H (10 x 2) that chapter 3 feeds to the FFN.

    ``"computed"``: ``seed_run().H``, chapter 2's self-attention of the embedded seed instruction
    with W^Q = W^K = W^V = I (Eqs. 1.1, 2.1-2.5; read-only). ``"printed"``: the attention output
    the seed prints (``walkthrough.PRINTED_ATTENTION_OUTPUT``), so the seed's FFN arithmetic can be
    checked on its own input.
    """
    if source == "computed":
        return seed_run().H
    if source == "printed":
        return as_matrix(walkthrough.PRINTED_ATTENTION_OUTPUT, "walkthrough.PRINTED_ATTENTION_OUTPUT")
    raise ValueError(f"source must be one of {FFN_INPUT_SOURCES}, got {source!r}")
