"""Chapter 1: tokenization and embedding.

An instruction is split into word tokens w_1, ..., w_n, and each token is looked
up in an embedding table E (one row per word v_1, ..., v_|𝕍| of the vocabulary),
giving the matrix X whose row i is the embedding of token i:

    X[i, :] = E[w_i]                 (Eq. 1.1, lookup)

The same lookup, written as a matrix product with the one-hot matrix O
(n x |𝕍|, O[i, j] = 1 exactly when w_i = v_j, else 0):

    X = O E                          (Eq. 1.2, one-hot view)

The seed uses whitespace tokenization and a 2-d table (``walkthrough.EMBEDDING_TABLE``)
with 9 words; its instruction has 10 tokens because "the" occurs twice, and both
occurrences read the same row of E.

The image enters the same sequence as tokens too (LLaVA, Liu et al. 2023, Sec. 4.1, Eq. 1).
CLIP ViT-L/14 cuts a 224 x 224 image into 14-pixel patches on a 16 x 16 grid, 256 patches, each
a 1024-d feature Z_v (read at layer -2, the class token dropped); one linear layer maps them into
the language model's token space:

    H_v = Z_v W + 1 b,   Z_v: 256 x 1024,  W: 1024 x 4096,  H_v: 256 x 4096      (Eq. 1.3)

(``mm_projector = nn.Linear(mm_hidden_size, hidden_size)`` in MGIE's mgie_llava.py, L44 and L77.)
:func:`llava_image_token_shapes` gives these shapes and :func:`project_patch_features` computes
Eq. 1.3 for any sizes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy

from . import walkthrough
from .validation import as_matrix, as_vector, check_int

__all__ = [
    "UNKNOWN_TOKEN",
    "tokenize",
    "embedding_matrix",
    "embed",
    "distinct_words",
    "table_matrix",
    "one_hot_matrix",
    "OneHotEmbedding",
    "embed_one_hot",
    "exact_table_matrix",
    "exact_embedding_matrix",
    "exact_one_hot_matrix",
    "CLIP_IMAGE_SIDE",
    "CLIP_PATCH_SIDE",
    "CLIP_WIDTH",
    "LLAVA_7B_WIDTH",
    "ImageTokenShapes",
    "llava_image_token_shapes",
    "project_patch_features",
]

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


def _checked_tokens(tokens) -> list[str]:
    if isinstance(tokens, str):
        raise ValueError("tokens must be a list of words; call tokenize() on a string first")
    try:
        tokens = list(tokens)
    except TypeError:
        raise ValueError(f"tokens must be a list of words, got {type(tokens).__name__}") from None
    if not tokens:
        raise ValueError("tokens is empty: an instruction needs at least one token")
    for position, token in enumerate(tokens):
        if not isinstance(token, str):
            raise ValueError(f"tokens[{position}] must be a word (a string), got {token!r}")
    return tokens


def _unknown_word_error(token: str, position: int, known) -> ValueError:
    listed = ", ".join(sorted(known, key=str.lower))
    return ValueError(
        f"instruction word {token!r} (token {position + 1}, counting from 1) is not in the embedding table; "
        f"known words: {listed}"
    )


def _checked_unknown(unknown: str) -> str:
    if unknown not in ("error", "unk"):
        raise ValueError(f'unknown must be "error" or "unk", got {unknown!r}')
    return unknown


def embedding_matrix(tokens, table=None, unknown: str = "error") -> np.ndarray:
    """Stack the embedding of each token into X (Eq. 1.1), shape (n, d).

    ``unknown`` says what happens to a word missing from ``table``:
    ``"error"`` (default) raises ``ValueError`` naming the word and the known
    words; ``"unk"`` uses a zero row for the special token ``<unk>`` (or the
    table's own ``<unk>`` row if it has one).
    """
    table = _checked_table(walkthrough.EMBEDDING_TABLE if table is None else table)
    _checked_unknown(unknown)
    tokens = _checked_tokens(tokens)
    width = next(iter(table.values())).shape[0]
    unknown_row = table.get(UNKNOWN_TOKEN, np.zeros(width))
    rows = []
    for position, token in enumerate(tokens):
        if token in table:
            rows.append(table[token])
        elif unknown == "unk":
            rows.append(unknown_row)
        else:
            raise _unknown_word_error(token, position, table)
    return np.vstack(rows)


def embed(instruction: str, table=None, unknown: str = "error") -> tuple[list[str], np.ndarray]:
    """Tokenize ``instruction`` and embed it: returns (tokens, X) (chapter 1, Eq. 1.1)."""
    tokens = tokenize(instruction)
    return tokens, embedding_matrix(tokens, table, unknown=unknown)


def distinct_words(tokens) -> list[str]:
    """The distinct words of ``tokens`` in order of first appearance (chapter 1).

    For the seed's 10 tokens this is the 9 words of its table: the second "the"
    adds no new word.
    """
    return list(dict.fromkeys(_checked_tokens(tokens)))


def table_matrix(table=None) -> tuple[list[str], np.ndarray]:
    """The embedding table as (vocabulary, E): E has one row per word, in the table's order.

    This is the E of Eq. 1.2, shape (|𝕍|, d); for the seed, (9, 2).
    """
    table = _checked_table(walkthrough.EMBEDDING_TABLE if table is None else table)
    vocabulary = list(table)
    return vocabulary, np.vstack([table[word] for word in vocabulary])


def _checked_vocabulary(vocabulary) -> list[str]:
    if isinstance(vocabulary, str):
        raise ValueError("vocabulary must be a list of words, not a single string")
    try:
        vocabulary = list(vocabulary)
    except TypeError:
        raise ValueError(f"vocabulary must be a list of words, got {type(vocabulary).__name__}") from None
    if not vocabulary:
        raise ValueError("vocabulary is empty: it needs at least one word")
    for index, word in enumerate(vocabulary):
        if not isinstance(word, str):
            raise ValueError(f"vocabulary[{index}] must be a word (a string), got {word!r}")
    repeated = sorted({word for word in vocabulary if vocabulary.count(word) > 1})
    if repeated:
        raise ValueError(f"vocabulary must list each word once; repeated: {', '.join(repeated)}")
    return vocabulary


def one_hot_matrix(tokens, vocabulary) -> np.ndarray:
    """The one-hot matrix O of Eq. 1.2, shape (n, |𝕍|) (chapter 1).

    O[i, j] = 1 if token i is ``vocabulary[j]``, else 0, so every row has exactly
    one 1. A token missing from ``vocabulary`` raises ``ValueError`` naming it.
    """
    tokens = _checked_tokens(tokens)
    vocabulary = _checked_vocabulary(vocabulary)
    column = {word: j for j, word in enumerate(vocabulary)}
    O = np.zeros((len(tokens), len(vocabulary)))
    for position, token in enumerate(tokens):
        if token not in column:
            raise _unknown_word_error(token, position, vocabulary)
        O[position, column[token]] = 1.0
    return O


@dataclass(frozen=True)
class OneHotEmbedding:
    """The pieces of X = O E (Eq. 1.2), by name.

    tokens: the n tokens; vocabulary: the |𝕍| words, in the order of E's rows;
    one_hot: O (n x |𝕍|); table: E (|𝕍| x d); embedded: X = O E (n x d).
    """

    tokens: tuple
    vocabulary: tuple
    one_hot: np.ndarray
    table: np.ndarray
    embedded: np.ndarray


def embed_one_hot(tokens, table=None, unknown: str = "error") -> OneHotEmbedding:
    """Embed ``tokens`` the second way, X = O E (Eq. 1.2, chapter 1).

    Gives the same X as :func:`embedding_matrix` (Eq. 1.1). With ``unknown="unk"``
    a word missing from the table becomes ``<unk>``; if the table has no ``<unk>``
    row, a zero row for it is appended to E (and ``<unk>`` to the vocabulary).
    """
    vocabulary, E = table_matrix(table)
    _checked_unknown(unknown)
    tokens = _checked_tokens(tokens)
    if unknown == "unk":
        looked_up = [token if token in vocabulary else UNKNOWN_TOKEN for token in tokens]
        if UNKNOWN_TOKEN in looked_up and UNKNOWN_TOKEN not in vocabulary:
            vocabulary = vocabulary + [UNKNOWN_TOKEN]
            E = np.vstack([E, np.zeros(E.shape[1])])
    else:
        looked_up = tokens
    O = one_hot_matrix(looked_up, vocabulary)
    return OneHotEmbedding(tuple(tokens), tuple(vocabulary), O, E, O @ E)


def _exact(value: float) -> sympy.Rational:
    """A float as the rational its decimal digits say: 0.1 -> 1/10 (not 3602879701896397/2**55)."""
    return sympy.Rational(str(float(value)))


def exact_table_matrix(table=None) -> tuple[list[str], sympy.Matrix]:
    """:func:`table_matrix` with exact rational entries: (vocabulary, E) with E a sympy Matrix."""
    vocabulary, E = table_matrix(table)
    return vocabulary, sympy.Matrix([[_exact(v) for v in row] for row in E])


def exact_one_hot_matrix(tokens, vocabulary) -> sympy.Matrix:
    """:func:`one_hot_matrix` as a sympy Matrix of 0s and 1s (Eq. 1.2)."""
    O = one_hot_matrix(tokens, vocabulary)
    return sympy.Matrix(O.astype(int).tolist())


def exact_embedding_matrix(tokens, table=None, unknown: str = "error") -> sympy.Matrix:
    """X of Eq. 1.1 with exact rational entries (a sympy Matrix, shape (n, d)).

    Each table entry is read as the decimal it prints as, so the seed's 0.1
    becomes 1/10. ``unknown`` works as in :func:`embedding_matrix`.
    """
    X = embedding_matrix(tokens, table, unknown=unknown)
    return sympy.Matrix([[_exact(v) for v in row] for row in X])


# ---------------------------------------------------------------------------
# How the image becomes tokens: LLaVA's projection (Eq. 1.3)
# ---------------------------------------------------------------------------

#: CLIP ViT-L/14 at 224 px (Radford et al. 2021; ``openai/clip-vit-large-patch14`` in MGIE's README, L62).
CLIP_IMAGE_SIDE = 224
#: ViT-L/**14**: square patches 14 pixels wide.
CLIP_PATCH_SIDE = 14
#: Width of ViT-L/14's hidden states (``torch.zeros(256, 1024)`` in mgie_llava.py, L134).
CLIP_WIDTH = 1024
#: Model dimension of LLaMA-7B / Vicuna-7B, LLaVA-7B's language model (Touvron et al. 2023, Table 2).
LLAVA_7B_WIDTH = 4096


@dataclass(frozen=True)
class ImageTokenShapes:
    """The shapes of Eq. 1.3, by name (chapter 1).

    grid_side: patches per side (image_side / patch_side); n_patches: grid_side^2;
    features: shape of Z_v (n_patches, clip_width); weight: shape of W (clip_width, llm_width);
    projector_parameters: entries of W plus b; image_tokens: shape of H_v (n_patches, llm_width).
    """

    image_side: int
    patch_side: int
    grid_side: int
    n_patches: int
    features: tuple
    weight: tuple
    projector_parameters: int
    image_tokens: tuple


def llava_image_token_shapes(image_side: int = CLIP_IMAGE_SIDE, patch_side: int = CLIP_PATCH_SIDE,
                             clip_width: int = CLIP_WIDTH, llm_width: int = LLAVA_7B_WIDTH) -> ImageTokenShapes:
    """Shapes of LLaVA's image tokens, H_v = Z_v W + 1 b (Eq. 1.3, chapter 1).

    The image is cut into (image_side / patch_side)^2 square patches (``num_patches =
    (image_size // patch_size) ** 2`` in mgie_llava.py, L70); ``patch_side`` must divide
    ``image_side``. Defaults: CLIP ViT-L/14 at 224 px into LLaVA-7B, 256 tokens of width 4096.
    """
    image_side = check_int(image_side, "image_side", minimum=1)
    patch_side = check_int(patch_side, "patch_side", minimum=1, maximum=image_side)
    clip_width = check_int(clip_width, "clip_width", minimum=1)
    llm_width = check_int(llm_width, "llm_width", minimum=1)
    if image_side % patch_side:
        raise ValueError(f"patch_side must divide image_side: {image_side} / {patch_side} is not whole")
    grid = image_side // patch_side
    n = grid * grid
    return ImageTokenShapes(image_side, patch_side, grid, n, (n, clip_width), (clip_width, llm_width),
                            clip_width * llm_width + llm_width, (n, llm_width))


def project_patch_features(features, W, b) -> np.ndarray:
    """H_v = Z_v W + 1 b: patch features into the token space (Eq. 1.3, chapter 1).

    ``features`` Z_v is (n_patches x d_clip), ``W`` is (d_clip x d_model), ``b`` has length
    d_model. Each patch is mapped on its own, by the same W, exactly like a token's embedding
    row; the result has one row per patch, the width of a token embedding.
    """
    Z = as_matrix(features, "features")
    W = as_matrix(W, "W", rows=Z.shape[1])
    b = as_vector(b, "b", length=W.shape[1])
    return Z @ W + b
