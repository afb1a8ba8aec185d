"""Tests for mgie_lessons.toy_edits: the toy editing task."""

import numpy as np
import pytest

from mgie_lessons import toy_edits as te


def test_examples_have_the_documented_fields_and_shapes():
    for example in te.make_dataset(20, 3, "train"):
        assert example.image.shape == (16, 16, 3) and example.target.shape == (16, 16, 3)
        assert example.region.shape == (16, 16) and example.region.dtype == bool
        assert example.image.min() >= 0 and example.image.max() <= 1
        assert isinstance(example.instruction, str) and isinstance(example.expressive, str)


def test_target_differs_from_image_exactly_on_the_region():
    for split in te.SPLITS:
        for example in te.make_dataset(50, 1, split):
            changed = np.any(example.image != example.target, axis=-1)
            np.testing.assert_array_equal(changed, example.region)
            assert example.region.any()


def test_target_is_computed_exactly():
    shapes = (te.Shape("circle", "red", 0, 6, (1, 2)), te.Shape("square", "blue", 3, 5, (0, 3)))
    example = te.make_example(shapes, "make the circle green")
    assert example.expressive == "the red circle at the top left becomes green"
    np.testing.assert_array_equal(example.target[example.region], np.tile([0.0, 1.0, 0.0], (example.region.sum(), 1)))
    np.testing.assert_array_equal(example.target[~example.region], example.image[~example.region])
    removed = te.make_example(shapes, "remove the square")
    assert removed.expressive == "the blue square at the bottom right is removed"
    assert removed.region.sum() == 25 and removed.target[removed.region].max() == 0.0
    # the square fills its box: rows 8..12, columns 11..15
    assert removed.region[8:13, 11:16].all()


def test_shapes_stay_in_their_quadrant_and_have_their_kind():
    square = te.shape_mask(te.Shape("square", "red", 2, 7, (1, 0)))
    assert square.sum() == 49 and square[9:16, 0:7].all()
    circle = te.shape_mask(te.Shape("circle", "red", 1, 8, (0, 0)))
    assert circle[:8, 8:].sum() == circle.sum() and not circle[0, 8] and circle[3, 8]
    triangle = te.shape_mask(te.Shape("triangle", "red", 0, 5, (0, 0)))
    assert triangle[0].sum() == 1 and triangle[4].sum() == 5  # apex on top, base at the bottom


def test_two_shapes_of_different_kinds_in_different_quadrants():
    for example in te.make_dataset(100, 5, "train"):
        first, second = example.shapes
        assert first.kind != second.kind and first.quadrant != second.quadrant
        assert not np.any(te.shape_mask(first) & te.shape_mask(second))
        assert first.kind in example.instruction and first.kind in example.expressive


def test_heldout_rule_separates_the_splits():
    assert len(te.heldout_combinations()) == 6
    assert all(sum(te.is_heldout(k, c) for c in te.COLOURS) == 2 for k in te.KINDS)
    train = te.make_dataset(400, 0, "train")
    heldout = te.make_dataset(200, 0, "heldout")
    for example in train:
        if example.command.action == "recolour":
            assert not te.is_heldout(example.command.kind, example.command.colour)
    assert {e.command.action for e in train} == {"recolour", "remove"}
    assert all(e.command.action == "recolour" and te.is_heldout(e.command.kind, e.command.colour) for e in heldout)
    # every held-out pair appears in the held-out split, and every colour is a new colour in training
    assert {(e.command.kind, e.command.colour) for e in heldout} == set(te.heldout_combinations())
    assert {e.command.colour for e in train if e.command.colour} == set(te.COLOURS)
    assert all(e.command.colour != e.shapes[0].colour for e in train + heldout if e.command.colour)


def test_dataset_is_reproducible_and_prefix_stable():
    a = te.make_dataset(10, 7, "heldout")
    b = te.make_dataset(4, 7, "heldout")
    for x, y in zip(a, b):
        assert x.instruction == y.instruction and np.array_equal(x.image, y.image)
    c = te.make_dataset(10, 8, "heldout")
    assert any(not np.array_equal(x.image, y.image) for x, y in zip(a, c))


@pytest.mark.parametrize("text, action, kind, colour", [
    ("make the circle blue", "recolour", "circle", "blue"),
    ("  Paint the TRIANGLE magenta ", "recolour", "triangle", "magenta"),
    ("erase the square", "remove", "square", None),
])
def test_parse_instruction(text, action, kind, colour):
    command = te.parse_instruction(text)
    assert (command.action, command.kind, command.colour) == (action, kind, colour)


@pytest.mark.parametrize("text", ["", "   ", "make the circle purple", "make the blue circle",
                                  "remove the square red", "the circle", 3])
def test_bad_instructions_name_the_parameter(text):
    with pytest.raises(ValueError, match="instruction"):
        te.parse_instruction(text)


def test_bad_arguments_name_the_parameter():
    with pytest.raises(ValueError, match="split"):
        te.make_dataset(3, 0, "test")
    with pytest.raises(ValueError, match="n"):
        te.make_dataset(-1, 0)
    with pytest.raises(ValueError, match="seed"):
        te.make_dataset(2, 1.5)
    with pytest.raises(ValueError, match="quadrant"):
        te.Shape("circle", "red", 4, 5, (0, 0))
    with pytest.raises(ValueError, match="offset"):
        te.Shape("circle", "red", 0, 6, (3, 0))
    with pytest.raises(ValueError, match="colour"):
        te.Shape("circle", "purple", 0, 6, (0, 0))
    with pytest.raises(ValueError, match="different quadrants"):
        te.render([te.Shape("circle", "red", 0, 5, (0, 0)), te.Shape("square", "red", 0, 5, (0, 0))])
    with pytest.raises(ValueError, match="instruction"):
        te.make_example([te.Shape("circle", "red", 0, 5, (0, 0))], "remove the square")


@pytest.mark.parametrize("image, message", [
    (np.zeros((16, 16)), "shape"), (np.zeros((8, 8, 3)), "shape"),
    (np.full((16, 16, 3), 1.5), r"\[0, 1\]"), (np.full((16, 16, 3), -0.1), r"\[0, 1\]"),
    (np.full((16, 16, 3), np.nan), "NaN"),
])
def test_check_image(image, message):
    with pytest.raises(ValueError, match=f"image.*{message}|{message}.*image"):
        te.check_image(image)
