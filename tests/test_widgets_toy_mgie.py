"""The chapter 14 panel and explorer: pictures picked, drawn or typed, instructions typed, edits by
the package; bad input becomes a message naming the parameter. A tiny model trained here stands in
for the shipped weights (the panel's edits do not depend on which weights, only on the package)."""

import html

import numpy as np
import pytest

from mgie_lessons import toy_edits, toy_mgie
from mgie_lessons.widgets import toy_mgie as panel_module

from widget_checks import assert_bad_value_is_reported, assert_shows_cleanly


@pytest.fixture(scope="module")
def tiny():
    return toy_mgie.train(toy_mgie.TINY_CONFIG, seed=0, steps=3, progress=False)


@pytest.fixture
def use_tiny(tiny, monkeypatch):
    monkeypatch.setattr(panel_module, "model", lambda: tiny)
    panel_module.edit_for.cache_clear()
    yield tiny
    panel_module.edit_for.cache_clear()


@pytest.fixture
def panel(use_tiny):
    return panel_module.make_panel()


def test_pictures_round_trip_through_their_text():
    for text in panel_module.PICTURES.values():
        shapes = panel_module.parse_picture(text)
        assert len(shapes) == 2 and panel_module.parse_picture(panel_module.picture_text(shapes)) == shapes
    circle, = panel_module.parse_picture("Red circle at the TOP left")
    assert (circle.colour, circle.kind, circle.quadrant, circle.size, circle.offset) == ("red", "circle", 0, 7, (0, 0))
    square, = panel_module.parse_picture("blue square of size 6 at the bottom right")
    assert (square.quadrant, square.size, square.offset) == (3, 6, (1, 1))


@pytest.mark.parametrize("text, phrase", [
    ("", "image is empty"),
    ("red circle at the top", "no left or right"),
    ("purple circle at the top left", "unexpected word 'purple'"),
    ("red circle at the top left; blue circle at the bottom left", "two shapes of one kind"),
    ("red circle at the top left; blue square at the top left", "one quadrant"),
])
def test_bad_pictures_name_the_image(text, phrase):
    with pytest.raises(ValueError, match="image") as error:
        panel_module.parse_picture(text)
    assert phrase in str(error.value)


def test_every_instruction_is_understood():
    texts = panel_module.instructions()
    assert len(texts) == len(set(texts)) == 3 * (6 + 1)
    for text in texts:
        assert toy_edits.parse_instruction(text).kind in toy_edits.KINDS


def test_default_panel_shows_the_packages_edit(panel, use_tiny):
    assert_shows_cleanly(panel)
    example = toy_edits.make_example(panel_module.parse_picture(panel_module.DEFAULTS["image"]),
                                     panel_module.DEFAULTS["instruction"])
    trace = toy_mgie.edit_trace(use_tiny, example.image, example.instruction)
    images = [ax.images[0].get_array() for ax in panel.figure.axes]
    assert np.allclose(images[0], example.image) and np.allclose(images[2], example.target)
    assert np.allclose(images[1], trace.edited[0])
    assert trace.expressive[0] in html.unescape(panel.outputs[0].value)
    assert trace.expressive[0] in panel.alt and "make the circle blue" in panel.alt


@pytest.mark.parametrize("bad, word", [
    ({"instruction": ""}, "instruction"),
    ({"instruction": "make the circle purple"}, "instruction"),
    ({"instruction": "make the triangle red"}, "instruction"),
    ({"image": "red circle"}, "image"),
    ({"image": "red circle at the top left; blue circle at the bottom right"}, "image"),
])
def test_bad_values_are_reported(panel, bad, word):
    assert_bad_value_is_reported(panel, panel_module.DEFAULTS, bad, word)


def test_picking_and_drawing_write_the_picture(panel):
    text = panel_module.PICTURES["green triangle, yellow circle"]
    panel.picker.value = text
    assert panel.controls["image"].value == text and panel.error is None
    drawing = panel.drawing
    drawing.kind.value, drawing.colour.value, drawing.size.value = "square", "cyan", 5
    drawing.buttons[0].click()                                   # top left
    shapes = panel_module.parse_picture(panel.controls["image"].value)
    assert {(s.kind, s.colour, s.quadrant) for s in shapes} == {("triangle", "green", 1), ("circle", "yellow", 2),
                                                                 ("square", "cyan", 0)}
    drawing.colour.value = "red"
    drawing.buttons[3].click()                                   # the square moves to the bottom right
    shapes = panel_module.parse_picture(panel.controls["image"].value)
    assert [(s.kind, s.quadrant) for s in shapes if s.kind == "square"] == [("square", 3)]
    drawing.kind.value = "erase"
    drawing.buttons[1].click()
    assert "triangle" not in panel.controls["image"].value
    assert panel.set(instruction="remove the square") and panel.error is None


def test_explorer_offers_every_panel_control_and_every_instruction(use_tiny):
    from mgie_lessons.explorers.toy_mgie import make_explorer

    built = make_explorer()
    names = {p.name for p in built.parameters}
    assert names == {"image", "instruction"} and built.covered_controls == {"image", "instruction"}
    assert built.nbytes <= 2_000_000
    instruction = next(p for p in built.parameters if p.name == "instruction")
    assert list(instruction.values) == panel_module.instructions()
    missing = built.content(image=panel_module.PICTURES["red circle, blue square"], instruction="remove the triangle")
    assert "picture has a circle and a square" in repr(missing)
    shown = built.content(image=panel_module.PICTURES["red circle, blue square"], instruction="make the circle blue")
    assert "picture has" not in repr(shown)
