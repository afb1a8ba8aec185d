"""Chapter 1's widget: type an instruction and edit the embedding table, see X.

Controls: the instruction (words of the table), what to do with an unknown word (stop with a
message, or use the zero row of <unk>), and one text box per word of the seed's table holding
its 2-d embedding, e.g. "0.1, 0.2". The figure shows X as a heatmap and its rows as points in
the plane; X is also shown in LaTeX. A bad entry, an empty instruction or an unknown word puts
the package's message on the panel and leaves the last good figure.
"""

from __future__ import annotations

import html

import ipywidgets as widgets
import numpy as np
import sympy

from .. import walkthrough, tokens
from ..plots.common import HIDPI_SCALE, figure_png, set_pixel_scale
from ..plots.tokens import MAX_TOKENS, TokensFigure
from .panel import Panel, matrix_text, parse_vector

__all__ = ["WORDS", "control_name", "default_values", "make_panel", "labelled_matrix_latex", "x_latex",
           "BENCH_SETTINGS", "render_from_scratch"]

#: The words that get a text box: the seed's table, in its order.
WORDS = tuple(walkthrough.EMBEDDING_TABLE)
#: The figure's density at its display size (CSS pixels per inch) and device pixels per CSS pixel.
DPI, SCALE = 80, HIDPI_SCALE


def control_name(word: str) -> str:
    """The panel's control name for the embedding of ``word``: ``e_<word>``."""
    return f"e_{word}"


def default_values() -> dict:
    """The seed's instruction and table, as control values."""
    values = {"instruction": walkthrough.INSTRUCTION, "unknown": "error"}
    for word, vector in walkthrough.EMBEDDING_TABLE.items():
        values[control_name(word)] = matrix_text(vector)
    return values


def _compute(values: dict) -> tuple[list[str], np.ndarray]:
    """Read the controls and embed the instruction with the package; ValueError on bad input."""
    table = {word: parse_vector(values[control_name(word)], f'the embedding of "{word}"', length=2)
             for word in WORDS}
    words, X = tokens.embed(values["instruction"], table, unknown=values["unknown"])
    if len(words) > MAX_TOKENS:
        raise ValueError(f"instruction has {len(words)} tokens; this panel shows at most {MAX_TOKENS}")
    return words, X


_LATEX_SPECIAL = {"\\": r"\backslash ", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "#": r"\#",
                  "%": r"\%", "_": r"\_", "^": r"\hat{}", "~": r"\sim "}


def _latex_word(word: str) -> str:
    return r"\text{" + "".join(_LATEX_SPECIAL.get(c, c) for c in word) + "}"


def _latex_entry(value) -> str:
    if isinstance(value, sympy.Basic):
        return sympy.latex(value)
    return f"{float(value):.4g}"


def labelled_matrix_latex(name: str, labels, matrix) -> str:
    """LaTeX for ``name = [matrix]`` with one label written to the right of each row.

    ``matrix`` may hold floats (shown with 4 significant digits) or sympy numbers (shown exactly,
    e.g. 1/10 as a fraction). Each label carries an invisible copy of its row's entries, so label
    and row have the same height even when the entries are fractions.
    """
    rows = [[matrix[i, j] for j in range(matrix.shape[1])] for i in range(matrix.shape[0])]
    if len(labels) != len(rows):
        raise ValueError(f"labels must have one entry per row ({len(rows)}), got {len(labels)}")
    entries = [[_latex_entry(v) for v in row] for row in rows]
    body = r" \\ ".join(" & ".join(row) for row in entries)
    side = r" \\ ".join(r"\vphantom{" + "".join(row) + "}" + _latex_word(str(label))
                          for label, row in zip(labels, entries))
    return (name + r" = \left[\begin{array}{" + "r" * len(rows[0]) + "} " + body + r" \end{array}\right]"
            + r"\;\begin{array}{l} " + side + r" \end{array}")


def x_latex(words, X) -> str:
    """X as a display-math LaTeX string, each row labelled with its position and token."""
    labels = [f"{i + 1} {w}" for i, w in enumerate(words)]
    return ("$$" + labelled_matrix_latex(r"\mathbf{X}", labels, np.asarray(X, dtype=float))
            + rf"\qquad ({len(words)} \times {np.shape(X)[1]})$$")


def make_panel() -> Panel:
    """The chapter 1 panel, starting from the seed's instruction and table."""
    start = default_values()
    words, X = _compute(start)
    figure = TokensFigure(words, X, static_background=True, dpi=DPI * SCALE)
    set_pixel_scale(figure.figure, SCALE)
    controls = {
        "instruction": widgets.Text(value=start["instruction"], description="instruction",
                                    layout=widgets.Layout(width="32em"),
                                    style={"description_width": "8em"}),
        "unknown": widgets.Dropdown(options=[("stop with a message", "error"),
                                             ("use <unk> (a zero row)", "unk")],
                                    value="error", description="unknown word",
                                    style={"description_width": "8em"}),
    }
    for word in WORDS:
        controls[control_name(word)] = widgets.Text(value=start[control_name(word)],
                                                    description=f'"{word}" \u2192',
                                                    layout=widgets.Layout(width="16em"),
                                                    style={"description_width": "8em"})
    summary = widgets.HTML()
    latex = widgets.HTMLMath()

    def update(values: dict):
        words, X = _compute(values)
        figure.update(words, X)
        summary.value = html.escape(f"{len(words)} tokens, {len(tokens.distinct_words(words))} distinct words; "
                                    f"X is {X.shape[0]} \u00d7 {X.shape[1]}.")
        latex.value = html.escape(x_latex(words, X), quote=False)
        return words, X

    panel = Panel(controls, update, figure.figure, title="Chapter 1: from an instruction to X",
                  outputs=[summary, latex], render=figure.background.png, describe=alt_text)
    panel.summary = summary
    panel.latex = latex
    panel.tokens_figure = figure
    return panel


def alt_text(shown) -> str:
    """The figure's text alternative for (words, X): a heatmap of X, its rows labelled."""
    words, X = shown
    rows = "; ".join(f"{i + 1} {word} ({x[0]:.3g}, {x[1]:.3g})" for i, (word, x) in enumerate(zip(words, X)))
    return (f"A heatmap of X, {len(words)} rows (one per token) by 2 columns, dark for low values and yellow "
            f"for high: {rows}.")


def _setting(instruction: str, **rows) -> dict:
    values = default_values()
    values["instruction"] = instruction
    for word, vector in rows.items():
        values[control_name(word)] = vector
    return values


#: Settings the benchmark cycles through (each sets every control).
BENCH_SETTINGS = [
    _setting(walkthrough.INSTRUCTION),
    _setting(walkthrough.INSTRUCTION, hat="0.6, 0.4"),
    _setting("Add a hat to the person"),
    _setting("the person in the blue hat", the="0.5, -0.1"),
    _setting("Add a blue hat to the image", blue="-0.2, 0.8"),
    _setting(walkthrough.INSTRUCTION, Add="0.4, 0.05", image="0.0, 0.0"),
]


def render_from_scratch(values: dict) -> bytes:
    """Baseline for the benchmark: a NEW figure for ``values``, rendered to PNG once.

    (Without the panel's cached background: for a figure drawn only once, caching would cost an
    extra draw.)"""
    words, X = _compute(values)
    figure = TokensFigure(words, X, dpi=DPI * SCALE)
    set_pixel_scale(figure.figure, SCALE)
    return figure_png(figure.figure)
