"""walkthrough.py holds the seed document's printed matrices as data; check the transcription against
the document itself when it is available (it sits in ../shared/seed/ beside the repository in
this workplace and in CI; elsewhere these tests skip)."""

import re
from pathlib import Path

import pytest

from mgie_lessons import walkthrough

SEED_FILE = Path(__file__).resolve().parents[2] / "shared" / "seed" / "000_eb678e3793df21f2.txt"

#: Order of the bmatrix blocks in the seed document -> the name of their transcription.
BLOCKS = {
    0: "PRINTED_X_EMBEDDED",
    2: "PRINTED_QK_T",
    3: "PRINTED_SCALED_SCORES",
    4: "PRINTED_ATTENTION_WEIGHTS",
    5: "PRINTED_WEIGHTS_IN_PRODUCT",
    6: "PRINTED_V_IN_PRODUCT",
    7: "PRINTED_ATTENTION_OUTPUT",
    15: "PRINTED_FFN_XW1",
    16: "PRINTED_FFN_B1_BROADCAST",
    17: "PRINTED_FFN_PRE_ACTIVATION",
    19: "PRINTED_FFN_HIDDEN",
    20: "PRINTED_FFN_HIDDEN_IN_PRODUCT",
    21: "PRINTED_FFN_W2_IN_PRODUCT",
    22: "PRINTED_FFN_OUTPUT",
}


def _printed_blocks(text: str) -> list[tuple[tuple[float, ...], ...]]:
    """Every bmatrix of the document as rows of numbers (a block cut off by '$$' ends there)."""
    blocks = re.findall(r"\\begin\{bmatrix\}(.*?)(?:\\end\{bmatrix\}|\$\$)", text, re.S)
    parsed = []
    for block in blocks:
        rows = [row.strip() for row in block.split("\\\\") if row.strip()]
        try:
            parsed.append(tuple(tuple(float(entry) for entry in row.split("&")) for row in rows))
        except ValueError:  # a matrix of words (the token lists of section 4)
            parsed.append(None)
    return parsed


@pytest.fixture(scope="module")
def document_blocks():
    if not SEED_FILE.exists():
        pytest.skip(f"the seed document is not beside the repository ({SEED_FILE})")
    return _printed_blocks(SEED_FILE.read_text())


@pytest.mark.parametrize("index, name", sorted(BLOCKS.items()))
def test_printed_matrix_is_transcribed_exactly(document_blocks, index, name):
    assert getattr(walkthrough, name) == document_blocks[index]


def test_embedding_table_and_weights_match_the_document(document_blocks):
    table_rows = tuple(walkthrough.EMBEDDING_TABLE[word] for word in walkthrough.INSTRUCTION.split())
    assert table_rows == document_blocks[0]
    assert walkthrough.W1 == document_blocks[8] and walkthrough.B1 == document_blocks[9][0]
    assert walkthrough.W2 == document_blocks[10] and walkthrough.B2 == document_blocks[11][0]


def test_scalars_appear_in_the_document():
    if not SEED_FILE.exists():
        pytest.skip("the seed document is not beside the repository")
    text = SEED_FILE.read_text()
    assert "6\\times0.2 + 5\\times0.2 = 2.2" in text
    assert "= 0.16 + 0.04 + 0 = 0.20" in text
    assert "2.2 + 0.5 \\cdot 0.20 = 2.3" in text
    assert "0.50 - 0.1 \\cdot 0.2 = 0.48" in text
