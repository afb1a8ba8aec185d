"""Chapter 1's explorer: embed an instruction with a table (every control of the Jupyter panel).

The panel's typed instruction and the nine rows of the table become two lists of presets; the
unknown-word policy is the panel's drop-down list (shown when the instruction has an unknown
word, the only case where it matters).
"""

from __future__ import annotations

from .. import walkthrough
from .kit import Explorer, PanelFrames, Select
from ..widgets.panel import matrix_text
from ..widgets.tokens import WORDS, control_name, make_panel

__all__ = ["make_explorer", "INSTRUCTIONS", "TABLES"]

#: Instructions offered (the seed's, two shorter ones of table words, one with a word not in the table).
INSTRUCTIONS = (
    walkthrough.INSTRUCTION,
    "Add a hat to the person",
    "the blue hat in the image",
    "Add a red hat to the person",
)


def _table(**rows) -> dict:
    """Control values of the nine embedding text boxes: the seed's rows with ``rows`` replaced."""
    table = {word: matrix_text(walkthrough.EMBEDDING_TABLE[word]) for word in WORDS}
    table.update({word: matrix_text(vector) for word, vector in rows.items()})
    return {control_name(word): text for word, text in table.items()}


#: Embedding tables offered: the seed's, and three with one or two rows changed.
TABLES = {
    "the seed's table": _table(),
    '"hat" doubled: (0.6, 0.4)': _table(hat=(0.6, 0.4)),
    '"hat" moved to (-0.3, 0.5)': _table(hat=(-0.3, 0.5)),
    '"blue" given the row of "hat"': _table(blue=walkthrough.EMBEDDING_TABLE["hat"]),
}


def make_explorer() -> Explorer:
    """Instruction x unknown-word policy x table, frames from the chapter's panel."""
    parameters = [
        Select("instruction", INSTRUCTIONS, label="instruction"),
        Select("unknown", [("stop with a message", "error"), ("use <unk> (a zero row)", "unk")],
               label="unknown word"),
        Select("table", TABLES, label="embedding table", covers=tuple(control_name(w) for w in WORDS)),
    ]
    view = PanelFrames(make_panel, caption="X for the chosen instruction and table: as colours and as points.")
    return Explorer("tokens-explorer", parameters, [view], title="From an instruction to X")
