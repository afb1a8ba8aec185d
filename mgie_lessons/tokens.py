"""Chapter 1: tokenization and embedding.

An instruction is split into word tokens, and each token is looked up in an
embedding table E, giving the matrix X whose row i is the embedding of token i:

    X[i, :] = E[token_i]            (Eq. 1.1)

The seed uses whitespace tokenization and a 2-d table (``seed.EMBEDDING_TABLE``).
"""

from __future__ import annotations

import numpy as np

from . import seed
from .validation import as_vector

__all__ = ["UNKNOWN_TOKEN", "tokenize", "embedding_matrix", "embed"]

#: The explicit row used for a word that is not in the table (``unknown="unk"``).
UNKNOWN_TOKEN = "<unk>"


def tokenize(instruction: str) -> list[str]:
    """Split ``instruction`` into word tokens on white space (chapter 1).

    Raises ``ValueError`` for a non-string or an empty instruction.
    """
    if not isinstance(instruction, str):
        raise ValueError(f"instruction must be a string, got {type(instruction).__name__}")
    tokens = instruction.split()
    if not tokens:
        raise ValueError("instruction is empty: type at least one word")
    return tokens


def _checked_table(table) -> dict[str, np.ndarray]:
    if not isinstance(table, dict) or not table:
        raise ValueError("table must be a non-empty dict mapping words to vectors")
    rows = {word: as_vector(vector, f"table[{word!r}]") for word, vector in table.items()}
    widths = {vector.shape[0] for vector in rows.values()}
    if len(widths) != 1:
        raise ValueError(f"table vectors must all have the same length, got lengths {sorted(widths)}")
    return rows


def embedding_matrix(tokens, table=None, unknown: str = "error") -> np.ndarray:
    """Stack the embedding of each token into X (Eq. 1.1), shape (n, d).

    ``unknown`` says what happens to a word missing from ``table``:
    ``"error"`` (default) raises ``ValueError`` naming the word and the known
    words; ``"unk"`` uses a zero row for the special token ``<unk>`` (or the
    table's own ``<unk>`` row if it has one).
    """
    table = _checked_table(seed.EMBEDDING_TABLE if table is None else table)
    if unknown not in ("error", "unk"):
        raise ValueError(f'unknown must be "error" or "unk", got {unknown!r}')
    if isinstance(tokens, str):
        raise ValueError("tokens must be a list of words; call tokenize() on a string first")
    tokens = list(tokens)
    if not tokens:
        raise ValueError("tokens is empty: an instruction needs at least one token")
    width = next(iter(table.values())).shape[0]
    unknown_row = table.get(UNKNOWN_TOKEN, np.zeros(width))
    rows = []
    for position, token in enumerate(tokens):
        if token in table:
            rows.append(table[token])
        elif unknown == "unk":
            rows.append(unknown_row)
        else:
            known = ", ".join(sorted(table, key=str.lower))
            raise ValueError(
                f"instruction word {token!r} (position {position}) is not in the embedding table; "
                f"known words: {known}"
            )
    return np.vstack(rows)


def embed(instruction: str, table=None, unknown: str = "error") -> tuple[list[str], np.ndarray]:
    """Tokenize ``instruction`` and embed it: returns (tokens, X) (chapter 1)."""
    tokens = tokenize(instruction)
    return tokens, embedding_matrix(tokens, table, unknown=unknown)
