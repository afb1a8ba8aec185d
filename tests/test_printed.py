"""Tests for mgie_lessons.printed (chapter 7's comparison, Eqs. 7.1 and 7.2).

Expected values are derived by hand (dot products of the seed's 2-d embeddings, sums of printed
rows, half a unit of the last printed digit); none is pasted from the code's output.
"""

import numpy as np
import pytest

from mgie_lessons import printed, tokens, walkthrough

X_SEED = tokens.embed(walkthrough.INSTRUCTION)[1]

TOY_PRINTED = ((1.1, 2.2), (3.3,), (5.5, 6.0, 7.7), (8.8, 9.9))
TOY_COMPUTED = np.array([[1.1, 2.2], [3.3, 4.4], [5.5, 6.5]])


def test_compare_printed_counts_rows_and_entries():
    c = printed.compare_printed(TOY_PRINTED, TOY_COMPUTED)
    assert c.row_lengths == (2, 1, 3, 2)
    assert c.computed_shape == (3, 2)
    assert (c.extra_rows, c.missing_rows) == (1, 0)
    assert c.short_rows == (1,) and c.long_rows == (2,)
    assert c.missing_entries == 1          # row 1 lacks its second entry
    assert c.extra_entries == 1 + 2        # the 7.7 in row 2, and the whole extra row 3
    np.testing.assert_allclose(c.row_sums, [3.3, 3.3, 19.2, 18.7])
    assert not c.shape_matches and not c.agrees


def test_compare_printed_difference_and_disagreements():
    c = printed.compare_printed(TOY_PRINTED, TOY_COMPUTED)
    assert np.isnan(c.difference[1, 1])                 # nothing printed there
    assert c.difference[2, 1] == pytest.approx(-0.5)
    # One-decimal values are trusted to +-0.05 (6.0 counts as 6.0 with one decimal); only 6.0 vs 6.5
    # disagrees.
    assert [(d.row, d.col) for d in c.disagreements] == [(2, 1)]
    assert c.disagreements[0].tolerance == pytest.approx(0.05)
    assert c.max_abs_difference == pytest.approx(0.5)


def test_compare_printed_with_missing_rows_and_explicit_tolerance():
    c = printed.compare_printed(((1.1, 2.3),), TOY_COMPUTED, tolerance=0.2)
    assert c.missing_rows == 2 and c.missing_entries == 4
    assert c.disagreements == ()
    assert c.printed.shape == (1, 2)


def test_compare_printed_agrees_with_rounded_values():
    computed = np.array([[0.0707, 0.1273]])
    c = printed.compare_printed(((0.07, 0.13),), computed)
    assert c.agrees


def test_printing_tolerance_reads_the_matrix_precision():
    tol = printed.printing_tolerance(((0.09, 0.1, 0.008), (0.12,)))
    # Two decimals is the usual precision here, so 0.1 counts as 0.10; 0.008 has three decimals.
    np.testing.assert_allclose(tol[0], [0.005, 0.005, 0.0005])
    assert tol[1, 0] == pytest.approx(0.005) and np.isnan(tol[1, 1])


def test_printed_array_pads_and_crops():
    array = printed.printed_array(TOY_PRINTED)
    assert array.shape == (4, 3)
    assert np.isnan(array[1, 1]) and array[2, 2] == 7.7
    cropped = printed.printed_array(TOY_PRINTED, shape=(2, 1))
    np.testing.assert_array_equal(cropped, [[1.1], [3.3]])


def test_seed_printed_QK_T_shape_and_a_wrong_entry():
    S = X_SEED @ X_SEED.T
    c = printed.compare_printed(walkthrough.PRINTED_QK_T, S)
    assert c.n_printed_rows == 30 and c.extra_rows == 20
    assert sorted(set(c.row_lengths)) == [8, 9, 10]
    assert c.row_lengths.count(9) == 7 and c.row_lengths.count(8) == 1
    wrong = {(d.row, d.col): d for d in c.disagreements}
    # Entry (1, 3) (row "Add", column "blue"): printed 0.09, but (0.1, 0.2) . (0.1, 0.3) = 0.07.
    assert wrong[(0, 2)].printed == 0.09
    assert wrong[(0, 2)].computed == pytest.approx(0.07)
    assert (0, 0) not in wrong      # 0.1 * 0.1 + 0.2 * 0.2 = 0.05, printed 0.05


def test_seed_printed_softmax_row_sums():
    sums = printed.printed_row_sums(walkthrough.PRINTED_ATTENTION_WEIGHTS)
    # Row "to": four 0.194, three 0.091, one 0.076, one 0.091 and one 0.149.
    assert sums[4] == pytest.approx(4 * 0.194 + 4 * 0.091 + 0.076 + 0.149)
    assert sums[4] > 1.3
    assert printed.printed_row_lengths(walkthrough.PRINTED_ATTENTION_WEIGHTS)[6] == 9


@pytest.mark.parametrize("call, message", [
    (lambda: printed.compare_printed(5, TOY_COMPUTED), "printed must be a sequence of rows"),
    (lambda: printed.compare_printed(((1.0, "x"),), TOY_COMPUTED), "printed row 0 has a non-numeric entry"),
    (lambda: printed.compare_printed(((1.0, np.inf),), TOY_COMPUTED), "printed row 0 has a non-finite entry"),
    (lambda: printed.compare_printed((5.0,), TOY_COMPUTED), "printed row 0 must be a sequence"),
    (lambda: printed.compare_printed((), TOY_COMPUTED), "printed must have at least one row"),
    (lambda: printed.compare_printed(TOY_PRINTED, [[np.nan, 1.0]]), "computed contains NaN"),
    (lambda: printed.compare_printed(TOY_PRINTED, TOY_COMPUTED, tolerance=-1), "tolerance must be >= 0"),
    (lambda: printed.printed_array(TOY_PRINTED, shape=(0, 2)), "shape\\[0\\] must be >= 1"),
    (lambda: printed.printed_array(TOY_PRINTED, shape=(2,)), "shape must be \\(rows, cols\\)"),
])
def test_printed_helpers_reject_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_compare_printings_finds_changed_missing_and_extra_entries():
    first = ((0.1, 0.2), (0.3, 0.4), (0.5,))
    second = ((0.1, 0.2), (0.3, 0.9, 0.7))
    differences = printed.compare_printings(first, second)
    assert [(d.row, d.col, d.first, d.second) for d in differences] == [
        (1, 1, 0.4, 0.9), (1, 2, None, 0.7), (2, 0, 0.5, None)]
    assert printed.compare_printings(first, first) == ()
    assert printed.compare_printings(((0.1,),), ((0.12,),), tolerance=0.05) == ()


def test_seed_prints_the_weights_twice_differently():
    differences = printed.compare_printings(walkthrough.PRINTED_ATTENTION_WEIGHTS, walkthrough.PRINTED_WEIGHTS_IN_PRODUCT)
    cells = {(d.row, d.col) for d in differences}
    # Row 3 ("blue"), column 9: 0.091 in the softmax line, 0.104 inside the product.
    assert (2, 8) in cells
    assert (0, 0) not in cells


def test_compare_printings_rejects_bad_input():
    with pytest.raises(ValueError, match="first must be a sequence of rows"):
        printed.compare_printings(1.0, ((1.0,),))
    with pytest.raises(ValueError, match="second row 0 has a non-numeric entry"):
        printed.compare_printings(((1.0,),), (("x",),))
    with pytest.raises(ValueError, match="tolerance must be >= 0"):
        printed.compare_printings(((1.0,),), ((1.0,),), tolerance=-0.1)


# --- One way to say it: agrees / differs, and how ---

def test_number_tolerance_is_half_a_unit_of_the_last_digit():
    assert printed.number_tolerance(0.09) == pytest.approx(0.005)
    assert printed.number_tolerance(1.414) == pytest.approx(0.0005)
    assert printed.number_tolerance(2.3) == pytest.approx(0.05)
    # A stored 0.20 reads as 0.2; the seed printed two decimals.
    assert printed.number_tolerance(0.20, decimals=2) == pytest.approx(0.005)


def test_number_verdict_applies_eq_7_1():
    root = 2 ** 0.5                                           # 1.41421...
    assert printed.number_verdict(1.414, root) == "agrees"    # 0.00021 <= 0.0005
    assert printed.number_verdict(1.415, root) == "differs"   # 0.00079 > 0.0005
    assert printed.number_verdict(1.41, root) == "agrees"     # 0.0042 <= 0.005
    # Agrees when it agrees with any of several readings of what was computed.
    assert printed.number_verdict(2.2, 2.0, 0.4) == "differs"
    assert printed.number_verdict(2.2, 2.0, 2.24) == "agrees"
    assert printed.number_verdict(0.2, 0.21) == "agrees"
    assert printed.number_verdict(0.2, 0.21, decimals=2) == "differs"


@pytest.mark.parametrize("call, message", [
    (lambda: printed.number_verdict(1.0), "computed must give at least one value"),
    (lambda: printed.number_verdict(float("nan"), 1.0), "printed"),
    (lambda: printed.number_verdict(1.0, float("inf")), "computed"),
    (lambda: printed.number_tolerance(1.0, decimals=-1), "decimals must be >= 0"),
])
def test_number_verdict_rejects_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_describe_shape_names_ragged_rows():
    assert printed.describe_shape(((1, 2), (3, 4))) == "2 x 2"
    assert printed.describe_shape(((1, 2), (3,), (4, 5))) == "3 rows (2 of 2, 1 of 1 entries)"
    assert printed.describe_shape(((1, 2), (3,), (4, 5)), compact=True) == "2x2, 1x1"
    assert printed.describe_shape(((1, 2), (3, 4)), compact=True) == "2x2"


def test_describe_comparison_says_agrees_or_how_it_differs():
    toy = printed.compare_printed(TOY_PRINTED, TOY_COMPUTED)
    # Only 6.0 vs 6.5 is off (by 0.5); rows of 2, 1, 3 and 2 entries where 3 rows of 2 belong.
    assert printed.describe_differences(toy) == "1 of the 6 entries differ (largest by 0.5)"
    assert toy.verdict == "differs"
    assert printed.describe_comparison(toy) == ("1 of the 6 entries differ (largest by 0.5); shape differs: "
                                                "printed 4 rows (1 of 3, 2 of 2, 1 of 1 entries) for 3 x 2")
    extra_row = printed.compare_printed(((1.1, 2.2), (3.3, 4.4), (5.5, 6.5), (1.0, 1.0)), TOY_COMPUTED)
    assert printed.describe_comparison(extra_row) == "entries agree, shape differs: printed 4 x 2 for 3 x 2"
    wrong_value = printed.compare_printed(((1.1, 2.2), (3.3, 4.4), (5.5, 6.0)), TOY_COMPUTED)
    assert printed.describe_comparison(wrong_value) == "1 of the 6 entries differ (largest by 0.5)"
    right = printed.compare_printed(((1.1, 2.2), (3.3, 4.4), (5.5, 6.5)), TOY_COMPUTED)
    assert right.verdict == printed.describe_comparison(right) == "agrees"
