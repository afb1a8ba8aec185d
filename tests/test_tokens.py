"""Tests for mgie_lessons.tokens (chapter 1): tokenization, lookup X = E[t_i], one-hot X = O E."""

from fractions import Fraction

import numpy as np
import pytest
import sympy
from hypothesis import given
from hypothesis import strategies as st

from mgie_lessons import walkthrough, tokens

SEED_WORDS = ["Add", "a", "blue", "hat", "to", "the", "person", "in", "the", "image"]

# The seed's embedded instruction, written out by hand from the table in seed section 2.1.2,
# as exact fractions (tenths).
X_BY_HAND = [
    [Fraction(1, 10), Fraction(2, 10)],  # Add
    [Fraction(2, 10), Fraction(1, 10)],  # a
    [Fraction(1, 10), Fraction(3, 10)],  # blue
    [Fraction(3, 10), Fraction(2, 10)],  # hat
    [Fraction(1, 10), Fraction(3, 10)],  # to
    [Fraction(2, 10), Fraction(2, 10)],  # the
    [Fraction(3, 10), Fraction(3, 10)],  # person
    [Fraction(1, 10), Fraction(2, 10)],  # in
    [Fraction(2, 10), Fraction(2, 10)],  # the
    [Fraction(3, 10), Fraction(1, 10)],  # image
]


# --- tokenize ---------------------------------------------------------------------------------

def test_tokenize_seed_instruction_gives_ten_words():
    assert tokens.tokenize(walkthrough.INSTRUCTION) == SEED_WORDS


def test_tokenize_collapses_runs_of_white_space():
    assert tokens.tokenize("  Add\ta   hat \n") == ["Add", "a", "hat"]


@pytest.mark.parametrize("bad", ["", "   ", "\n\t"])
def test_tokenize_empty_instruction_raises(bad):
    with pytest.raises(ValueError, match="instruction is empty"):
        tokens.tokenize(bad)


def test_tokenize_non_string_raises():
    with pytest.raises(ValueError, match="instruction must be a string"):
        tokens.tokenize(["Add", "a"])


# --- lookup, Eq. 1.1 ----------------------------------------------------------------------------

def test_embed_seed_instruction_matches_hand_values():
    words, X = tokens.embed(walkthrough.INSTRUCTION)
    assert words == SEED_WORDS
    assert X.shape == (10, 2)
    np.testing.assert_allclose(X, np.array(X_BY_HAND, dtype=float), rtol=0, atol=1e-15)


def test_repeated_word_reads_the_same_row():
    _, X = tokens.embed(walkthrough.INSTRUCTION)
    np.testing.assert_array_equal(X[5], X[8])  # "the" at positions 6 and 9 (1-based)


def test_exact_embedding_matrix_is_rational_and_matches_by_hand():
    X = tokens.exact_embedding_matrix(SEED_WORDS)
    assert isinstance(X, sympy.Matrix)
    assert X.shape == (10, 2)
    for i in range(10):
        for j in range(2):
            assert isinstance(X[i, j], sympy.Rational)
            assert X[i, j] == sympy.Rational(X_BY_HAND[i][j].numerator, X_BY_HAND[i][j].denominator)


def test_exact_and_numeric_agree():
    X_exact = tokens.exact_embedding_matrix(SEED_WORDS)
    X = tokens.embedding_matrix(SEED_WORDS)
    np.testing.assert_allclose(np.array(X_exact.tolist(), dtype=float), X, rtol=0, atol=1e-15)


def test_exact_reads_decimals_not_binary_floats():
    X = tokens.exact_embedding_matrix(["w"], {"w": (0.1, 0.7)})
    assert X[0, 0] == sympy.Rational(1, 10) and X[0, 1] == sympy.Rational(7, 10)


def test_custom_table_and_width():
    table = {"x": (1.0, 2.0, 3.0), "y": (4.0, 5.0, 6.0)}
    X = tokens.embedding_matrix(["y", "x", "y"], table)
    np.testing.assert_array_equal(X, [[4, 5, 6], [1, 2, 3], [4, 5, 6]])


def test_unknown_word_raises_naming_word_and_known_words():
    with pytest.raises(ValueError) as info:
        tokens.embed("Add a red hat")
    message = str(info.value)
    assert "'red'" in message
    assert "token 3," in message
    assert "known words" in message
    for word in ("Add", "blue", "hat", "image", "person"):
        assert word in message


def test_unknown_unk_gives_zero_row():
    words, X = tokens.embed("Add a red hat", unknown="unk")
    assert words == ["Add", "a", "red", "hat"]
    np.testing.assert_array_equal(X[2], [0.0, 0.0])
    np.testing.assert_allclose(X[3], [0.3, 0.2])


def test_unknown_unk_uses_the_tables_own_unk_row():
    table = {"a": (1.0, 1.0), tokens.UNKNOWN_TOKEN: (9.0, 8.0)}
    X = tokens.embedding_matrix(["a", "zzz"], table, unknown="unk")
    np.testing.assert_array_equal(X, [[1, 1], [9, 8]])


def test_words_are_case_sensitive():
    with pytest.raises(ValueError, match="'add'"):
        tokens.embed("add a hat")


@pytest.mark.parametrize("table, match", [
    ({}, "table must be a non-empty dict"),
    ([("a", (1, 2))], "table must be a non-empty dict"),
    ({"a": (1, 2), "b": (1, 2, 3)}, "same length"),
    ({"a": (1, float("nan"))}, r"table\['a'\].*NaN"),
    ({"a": (1, float("inf"))}, r"table\['a'\].*infinite"),
    ({"a": ("x", 1)}, r"table\['a'\]"),
    ({"a": ()}, r"table\['a'\]"),
])
def test_bad_table_raises_naming_table(table, match):
    with pytest.raises(ValueError, match=match):
        tokens.embedding_matrix(["a"], table)


def test_bad_unknown_mode_raises():
    with pytest.raises(ValueError, match="unknown must be"):
        tokens.embedding_matrix(["a"], unknown="skip")


@pytest.mark.parametrize("bad, match", [
    ("Add a hat", "tokens must be a list"),
    ([], "tokens is empty"),
    (["Add", 3], r"tokens\[1\] must be a word"),
    (5, "tokens must be a list"),
])
def test_bad_tokens_raise(bad, match):
    with pytest.raises(ValueError, match=match):
        tokens.embedding_matrix(bad)


# --- distinct words and the table as a matrix ---------------------------------------------------

def test_distinct_words_of_the_seed_are_nine_in_order():
    words = tokens.distinct_words(SEED_WORDS)
    assert words == ["Add", "a", "blue", "hat", "to", "the", "person", "in", "image"]
    assert len(words) == 9


def test_table_matrix_has_one_row_per_word():
    vocabulary, E = tokens.table_matrix()
    assert vocabulary == list(walkthrough.EMBEDDING_TABLE)
    assert E.shape == (9, 2)
    np.testing.assert_allclose(E[vocabulary.index("person")], [0.3, 0.3])


def test_exact_table_matrix():
    vocabulary, E = tokens.exact_table_matrix()
    assert E.shape == (9, 2)
    assert E[vocabulary.index("image"), 0] == sympy.Rational(3, 10)


# --- one-hot view, Eq. 1.2 ------------------------------------------------------------------------

def test_one_hot_small_example_by_hand():
    O = tokens.one_hot_matrix(["b", "a", "b"], ["a", "b", "c"])
    np.testing.assert_array_equal(O, [[0, 1, 0], [1, 0, 0], [0, 1, 0]])


def test_one_hot_of_seed_is_10_by_9_with_the_column_used_twice():
    vocabulary, _ = tokens.table_matrix()
    O = tokens.one_hot_matrix(SEED_WORDS, vocabulary)
    assert O.shape == (10, 9)
    np.testing.assert_array_equal(O.sum(axis=1), np.ones(10))
    column_counts = O.sum(axis=0)
    assert column_counts[vocabulary.index("the")] == 2
    assert column_counts.sum() == 10


def test_one_hot_times_table_equals_lookup_for_the_seed():
    result = tokens.embed_one_hot(SEED_WORDS)
    np.testing.assert_array_equal(result.embedded, tokens.embedding_matrix(SEED_WORDS))
    np.testing.assert_array_equal(result.one_hot @ result.table, result.embedded)
    assert result.one_hot.shape == (10, 9) and result.table.shape == (9, 2)
    assert result.tokens == tuple(SEED_WORDS)


def test_exact_one_hot_times_exact_table_equals_exact_lookup():
    vocabulary, E = tokens.exact_table_matrix()
    O = tokens.exact_one_hot_matrix(SEED_WORDS, vocabulary)
    assert O * E == tokens.exact_embedding_matrix(SEED_WORDS)


def test_embed_one_hot_unk_appends_zero_row_only_when_needed():
    known = tokens.embed_one_hot(["a", "hat"], unknown="unk")
    assert tokens.UNKNOWN_TOKEN not in known.vocabulary
    result = tokens.embed_one_hot(["a", "red", "hat"], unknown="unk")
    assert result.vocabulary[-1] == tokens.UNKNOWN_TOKEN
    assert result.table.shape == (10, 2)
    np.testing.assert_array_equal(result.embedded,
                                  tokens.embedding_matrix(["a", "red", "hat"], unknown="unk"))


def test_embed_one_hot_unknown_word_raises_by_default():
    with pytest.raises(ValueError, match="'red'"):
        tokens.embed_one_hot(["a", "red"])


@pytest.mark.parametrize("toks, vocabulary, match", [
    (["a", "z"], ["a", "b"], "'z'"),
    (["a"], [], "vocabulary is empty"),
    (["a"], "ab", "vocabulary must be a list"),
    (["a"], ["a", "a"], "repeated: a"),
    (["a"], ["a", 1], r"vocabulary\[1\]"),
    ([], ["a"], "tokens is empty"),
    ("a", ["a"], "tokens must be a list"),
])
def test_one_hot_bad_input_raises(toks, vocabulary, match):
    with pytest.raises(ValueError, match=match):
        tokens.one_hot_matrix(toks, vocabulary)


# --- properties ------------------------------------------------------------------------------------

WORDS = st.sampled_from(["w0", "w1", "w2", "w3", "w4", "w5"])


@st.composite
def tables_and_tokens(draw):
    vocabulary = draw(st.lists(WORDS, min_size=1, max_size=6, unique=True))
    width = draw(st.integers(1, 4))
    entries = st.floats(-10, 10, allow_nan=False)
    table = {w: tuple(draw(st.lists(entries, min_size=width, max_size=width))) for w in vocabulary}
    toks = draw(st.lists(st.sampled_from(vocabulary), min_size=1, max_size=12))
    return table, toks


@given(tables_and_tokens())
def test_property_one_hot_product_equals_lookup(case):
    table, toks = case
    result = tokens.embed_one_hot(toks, table)
    lookup = tokens.embedding_matrix(toks, table)
    np.testing.assert_allclose(result.embedded, lookup, rtol=0, atol=0)
    np.testing.assert_array_equal(result.one_hot.sum(axis=1), np.ones(len(toks)))


@given(tables_and_tokens())
def test_property_row_i_is_the_table_row_of_token_i(case):
    table, toks = case
    X = tokens.embedding_matrix(toks, table)
    assert X.shape == (len(toks), len(next(iter(table.values()))))
    for i, token in enumerate(toks):
        np.testing.assert_array_equal(X[i], np.asarray(table[token], dtype=float))


@given(tables_and_tokens())
def test_property_reordering_tokens_reorders_rows(case):
    table, toks = case
    X = tokens.embedding_matrix(toks, table)
    X_reversed = tokens.embedding_matrix(list(reversed(toks)), table)
    np.testing.assert_array_equal(X_reversed, X[::-1])


@given(tables_and_tokens())
def test_property_column_sums_are_counts_times_table(case):
    # 1^T X = 1^T O E = c E, with c the number of times each vocabulary word occurs.
    table, toks = case
    vocabulary, E = tokens.table_matrix(table)
    counts = np.array([toks.count(w) for w in vocabulary], dtype=float)
    np.testing.assert_allclose(tokens.embedding_matrix(toks, table).sum(axis=0), counts @ E, atol=1e-9)


# --- How the image becomes tokens: LLaVA's projection (Eq. 1.3) ---

def test_llava_7b_image_token_shapes():
    shapes = tokens.llava_image_token_shapes()
    assert (shapes.grid_side, shapes.n_patches) == (16, 256)
    assert shapes.features == (256, 1024)
    assert shapes.weight == (1024, 4096)
    assert shapes.image_tokens == (256, 4096)
    assert shapes.projector_parameters == 1024 * 4096 + 4096


def test_image_token_shapes_for_other_sizes_and_bad_input():
    assert tokens.llava_image_token_shapes(336, 14).n_patches == 24 * 24
    with pytest.raises(ValueError, match="patch_side"):
        tokens.llava_image_token_shapes(224, 15)
    with pytest.raises(ValueError, match="image_side"):
        tokens.llava_image_token_shapes(0, 14)


def test_projection_maps_each_patch_like_an_embedding_row():
    rng = np.random.default_rng(1)
    Z, W, b = rng.standard_normal((6, 3)), rng.standard_normal((3, 2)), rng.standard_normal(2)
    H = tokens.project_patch_features(Z, W, b)
    assert H.shape == (6, 2)
    for i in range(6):
        np.testing.assert_allclose(H[i], Z[i] @ W + b)
    # A zero feature (MGIE's dummy torch.zeros(256, 1024)) projects to the bias alone.
    np.testing.assert_allclose(tokens.project_patch_features(np.zeros((4, 3)), W, b), np.tile(b, (4, 1)))
    with pytest.raises(ValueError, match="W"):
        tokens.project_patch_features(Z, np.ones((4, 2)), b)
    with pytest.raises(ValueError, match="b"):
        tokens.project_patch_features(Z, W, np.ones(3))
    with pytest.raises(ValueError, match="features"):
        tokens.project_patch_features(np.full((2, 3), np.nan), W, b)
