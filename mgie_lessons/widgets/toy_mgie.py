"""Chapter 14's panel: pick or draw a picture, type a terse instruction, see the trained toy MGIE
write the expressive instruction and make the edit.

The picture is a line of text (the ``image`` control), e.g. "red circle at the top left; blue
square of size 6 at the bottom right": one shape per ';'-separated item, its colour, kind and
quadrant, optionally its size (5 to 8 pixels, default 7; the shape sits in the middle of its
quadrant). Above it, a list picks one of :data:`PICTURES`, and a row of buttons draws: choose a
kind (or "erase") and a colour, then click a quadrant; either writes the text. The instruction is
typed, e.g. "make the circle blue" or "remove the square".

Each edit runs :func:`mgie_lessons.toy_mgie.edit_trace` on the shipped weights with the book's
defaults (20 DDIM steps, s_V = 1.5, s_X = 7.5, seed 0) and is kept, so a picture and instruction
seen before are shown without editing again. Bad input (an unknown word, an empty instruction,
two shapes of one kind, an instruction naming a shape the picture does not have) becomes a
message naming the parameter.
"""

from __future__ import annotations

import functools
import html

import ipywidgets as widgets
import numpy as np

from .. import toy_edits, toy_mgie
from ..plots import toy_mgie as toy_plots
from ..plots.common import HIDPI_SCALE, figure_png
from .panel import Panel

__all__ = ["make_panel", "BENCH_SETTINGS", "render_from_scratch", "compute", "DEFAULTS", "PICTURES",
           "DEFAULT_SIZE", "parse_picture", "picture_text", "instructions", "edit_for", "model"]

#: Size (pixels) of a drawn shape whose size the text does not give.
DEFAULT_SIZE = 7
#: Pictures to pick (name -> text of the ``image`` control): two shapes each, as in training.
PICTURES = {
    "red circle, blue square": "red circle at the top left; blue square of size 6 at the bottom right",
    "green triangle, yellow circle": "green triangle at the top right; yellow circle of size 6 at the bottom left",
    "magenta square, cyan triangle": "magenta square of size 5 at the top left; cyan triangle at the bottom right",
}
DEFAULTS = {"image": PICTURES["red circle, blue square"], "instruction": "make the circle blue"}

#: Valid settings for the benchmark; each changes the picture.
BENCH_SETTINGS = [
    dict(DEFAULTS),
    {**DEFAULTS, "instruction": "remove the square"},
    {"image": PICTURES["green triangle, yellow circle"], "instruction": "make the triangle red"},
    {"image": PICTURES["green triangle, yellow circle"], "instruction": "paint the circle cyan"},
    {"image": PICTURES["magenta square, cyan triangle"], "instruction": "turn the square green"},
]

_FILLER = {"the", "at", "of", "size", "a", "an"}


def parse_picture(text) -> tuple:
    """The shapes described by ``text`` (see the module docstring); ValueError naming ``image``."""
    if not isinstance(text, str):
        raise ValueError(f"image must be a text, got {type(text).__name__}")
    items = [item.strip() for item in text.lower().split(";") if item.strip()]
    if not items:
        raise ValueError("image is empty; describe a shape, e.g. 'red circle at the top left'")
    shapes = []
    for item in items:
        colour = kind = vertical = horizontal = None
        size = DEFAULT_SIZE
        for word in item.replace(",", " ").split():
            if word in _FILLER:
                continue
            if word in toy_edits.COLOURS and colour is None:
                colour = word
            elif word in toy_edits.KINDS and kind is None:
                kind = word
            elif word in ("top", "bottom") and vertical is None:
                vertical = word
            elif word in ("left", "right") and horizontal is None:
                horizontal = word
            elif word.isdigit() and int(word) in toy_edits.SIZES:
                size = int(word)
            else:
                raise ValueError(f"image: unexpected word {word!r} in {item!r}; an item reads "
                                 f"'<colour> <kind> [of size 5-8] at the <top|bottom> <left|right>'")
        missing = [name for name, value in (("colour", colour), ("kind", kind), ("top or bottom", vertical),
                                            ("left or right", horizontal)) if value is None]
        if missing:
            raise ValueError(f"image: {item!r} has no {' and no '.join(missing)}")
        quadrant = toy_edits.QUADRANTS.index((vertical, horizontal))
        offset = (toy_edits.QUADRANT_SIZE - size) // 2
        shapes.append(toy_edits.Shape(kind, colour, quadrant, size, (offset, offset)))
    if len({s.quadrant for s in shapes}) != len(shapes):
        raise ValueError("image: two shapes in one quadrant; each quadrant holds at most one shape")
    if len({s.kind for s in shapes}) != len(shapes):
        raise ValueError("image: two shapes of one kind; an instruction names a shape by its kind, so each kind "
                         "may appear once")
    return tuple(shapes)


def picture_text(shapes) -> str:
    """The ``image`` text of ``shapes`` (the inverse of :func:`parse_picture` for centred shapes)."""
    parts = []
    for shape in sorted(shapes, key=lambda s: s.quadrant):
        size = "" if shape.size == DEFAULT_SIZE else f" of size {shape.size}"
        parts.append(f"{shape.colour} {shape.kind}{size} at the {shape.place}")
    return "; ".join(parts)


def instructions() -> list[str]:
    """Every terse instruction with the verbs "make" and "remove": 3 kinds x (6 colours + removal)."""
    return [f"make the {kind} {colour}" for kind in toy_edits.KINDS for colour in toy_edits.COLOURS] + \
        [f"remove the {kind}" for kind in toy_edits.KINDS]


@functools.lru_cache(maxsize=1)
def model():
    """The shipped weights (loaded once)."""
    return toy_mgie.load_pretrained()


@functools.lru_cache(maxsize=256)
def edit_for(image_text: str, instruction: str):
    """(example, trace): the exact task example and the model's edit of it (kept for reuse)."""
    shapes = parse_picture(image_text)
    command = toy_edits.parse_instruction(instruction)
    if command.kind not in {s.kind for s in shapes}:
        raise ValueError(f"instruction {instruction.strip()!r} names a {command.kind}, but the picture has "
                         f"{' and '.join('a ' + s.kind for s in shapes)}")
    example = toy_edits.make_example(shapes, instruction)
    return example, toy_mgie.edit_trace(model(), example.image, instruction)


def compute(values: dict) -> dict:
    """Check the controls' values and edit: the example, the edit, the generated expressive
    instruction and the verdict of :func:`toy_mgie.edit_succeeds`."""
    example, trace = edit_for(values["image"], values["instruction"])
    success, region, outside = toy_mgie.edit_succeeds(trace.edited[0], example.target, example.region)
    return {"example": example, "edited": trace.edited[0], "expressive": trace.expressive[0], "success": success,
            "region_mae": region, "outside_mae": outside}


def _alt(shown: dict) -> str:
    example = shown["example"]
    shapes = ", ".join(f"a {s.colour} {s.kind} at the {s.place}" for s in example.shapes)
    verdict = "within" if shown["success"] else "outside"
    return (f"Three 16 x 16 pictures: the input with {shapes}; the model's edit for '{example.instruction}'; the "
            f"exact target. The model wrote '{shown['expressive']}'. The edit is {verdict} the success tolerance "
            f"(region error {shown['region_mae']:.3f}, elsewhere {shown['outside_mae']:.3f}).")


def _summary_html(shown: dict) -> str:
    example = shown["example"]
    right = shown["expressive"] == example.expressive
    verdict = "succeeds" if shown["success"] else "fails"
    expected = "" if right else f" (the exact one: <i>{html.escape(example.expressive)}</i>)"
    return (f"<p>Expressive instruction written by the model: <b>{html.escape(shown['expressive'])}</b>{expected}."
            f"<br>The edit {verdict}: mean error over the edited shape {shown['region_mae']:.3f} "
            f"(&lt; {toy_mgie.REGION_TOLERANCE:g} needed), elsewhere {shown['outside_mae']:.3f} "
            f"(&lt; {toy_mgie.OUTSIDE_TOLERANCE:g} needed).</p>")


def _figure(shown: dict):
    example = shown["example"]
    return toy_plots.edit_figure(example.image, shown["edited"], example.target,
                                 title=f"'{example.instruction}': {shown['expressive']}", scale=HIDPI_SCALE)


class _Drawing:
    """Kind, colour and size buttons and four quadrant buttons that rewrite the ``image`` text."""

    def __init__(self, image_control: widgets.Text):
        self.image = image_control
        self.kind = widgets.ToggleButtons(options=list(toy_edits.KINDS) + ["erase"], value="circle",
                                          description="draw", style={"button_width": "70px"})
        self.colour = widgets.ToggleButtons(options=list(toy_edits.COLOURS), value="red", description="colour",
                                            style={"button_width": "70px"})
        self.size = widgets.ToggleButtons(options=list(toy_edits.SIZES), value=DEFAULT_SIZE, description="size",
                                          style={"button_width": "40px"})
        self.buttons = []
        for vertical, horizontal in toy_edits.QUADRANTS:
            button = widgets.Button(description=f"{vertical} {horizontal}", layout=widgets.Layout(width="110px"))
            button.on_click(functools.partial(self.place, quadrant=len(self.buttons)))
            self.buttons.append(button)
        grid = widgets.GridBox(self.buttons, layout=widgets.Layout(grid_template_columns="110px 110px"))
        self.widget = widgets.VBox([self.kind, self.colour, self.size,
                                    widgets.HBox([widgets.Label("click a quadrant:"), grid])])

    def place(self, _button=None, *, quadrant: int) -> None:
        """Put the chosen shape (or nothing) in ``quadrant``; other shapes of its kind move there."""
        try:
            shapes = list(parse_picture(self.image.value))
        except ValueError:
            shapes = []                                    # an unreadable text is drawn over
        shapes = [s for s in shapes if s.quadrant != quadrant
                  and (self.kind.value == "erase" or s.kind != self.kind.value)]
        if self.kind.value != "erase":
            offset = (toy_edits.QUADRANT_SIZE - self.size.value) // 2
            shapes.append(toy_edits.Shape(self.kind.value, self.colour.value, quadrant, self.size.value,
                                          (offset, offset)))
        self.image.value = picture_text(shapes)


def make_panel() -> Panel:
    """The chapter 14 panel: a picture (picked, drawn or typed) and a terse instruction."""
    style = {"description_width": "initial"}
    layout = widgets.Layout(width="95%")
    controls = {
        "image": widgets.Text(value=DEFAULTS["image"], description="picture", style=style, layout=layout,
                              continuous_update=False),
        "instruction": widgets.Text(value=DEFAULTS["instruction"], description="instruction", style=style,
                                    continuous_update=False),
    }
    first = compute(DEFAULTS)
    figure = _figure(first)
    axes = figure.axes
    summary = widgets.HTML(value=_summary_html(first))

    def update(values: dict) -> dict:
        shown = compute(values)
        example = shown["example"]
        for ax, picture in zip(axes, (example.image, shown["edited"], example.target)):
            ax.images[0].set_data(np.clip(picture, 0.0, 1.0))
        figure._suptitle.set_text(f"'{example.instruction}': {shown['expressive']}")
        summary.value = _summary_html(shown)
        return shown

    panel = Panel(controls, update, figure, title="Edit a picture with the trained toy MGIE", outputs=[summary],
                  describe=_alt, alt=_alt(first))
    picker = widgets.Dropdown(options=[("(pick a picture)", "")] + [(name, text) for name, text in PICTURES.items()],
                              value="", description="pick", style=style)

    def pick(change):
        if change["new"]:
            controls["image"].value = change["new"]
    picker.observe(pick, names="value")
    drawing = _Drawing(controls["image"])
    children = list(panel.widget.children)
    panel.widget.children = tuple(children[:1] + [picker, drawing.widget] + children[1:])
    panel.picker, panel.drawing = picker, drawing
    return panel


def render_from_scratch(values: dict) -> bytes:
    """Benchmark baseline: a NEW figure for ``values`` (the edits themselves are kept)."""
    return figure_png(_figure(compute(values)))
