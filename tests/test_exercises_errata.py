"""Chapter 7's checkers accept the solutions and give the intended hints."""

from mgie_lessons.exercises import errata as ex


def test_ex1_hints():
    assert "chapter's example" in ex.check_errata_ex_1((1, 3)).message
    # Row 1, column 1: "Add" . "Add" = 0.01 + 0.04 = 0.05, printed 0.05: a right entry.
    assert "dot product to two decimals" in ex.check_errata_ex_1((1, 1)).message
    assert "1 to 10" in ex.check_errata_ex_1((12, 1)).message
    assert "pair" in ex.check_errata_ex_1("five").message


def test_ex2_hints():
    assert "1.41 is within 0.005" in ex.check_errata_ex_2("b").message
    assert "more than 0.0005" in ex.check_errata_ex_2("d").message
