"""The toy editing task of the chapter "Train your own MGIE", made in code.

An image is 16 x 16 RGB in [0, 1] on a black background with two shapes of different kinds
(circle, square, triangle), each in one of six pure colours. The image is cut into four 8 x 8
quadrants and each shape lies inside its own quadrant, at a random size (5 to 8 pixels) and a
random offset there: shapes never overlap, and "the shape at the top left" always means one
thing.

A terse instruction names the shape's kind and nothing else about it:

    "make the circle blue"   (also "turn ...", "paint ...")      recolour
    "remove the square"      (also "delete ...", "erase ...")    paint it background (black)

and the expressive instruction the model must learn to write first needs the image (the old
colour and the quadrant):

    "the red circle at the top left becomes blue"
    "the green square at the bottom right is removed"

The target image is computed exactly: the edited shape's pixels (``region``) take the new
colour (or black); every other pixel is unchanged.

Held-out rule (composition, not memory): a recolouring to new colour c of a shape of kind k is
held out when ``COLOURS.index(c) // 2 == KINDS.index(k)``, i.e.

    circle -> red or yellow,   square -> green or cyan,   triangle -> blue or magenta.

The "train" split never contains these six (kind, new colour) combinations; the "heldout" split
contains only them (recolourings; removals have no new colour and are all in "train"). Every
colour and every kind occur in training, as new colours and as old ones: only the pairings are
new. Tune on ``make_dataset(n, other_seed, "train")`` and report on "heldout".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .validation import as_array, check_int

__all__ = [
    "IMAGE_SIZE",
    "QUADRANT_SIZE",
    "KINDS",
    "COLOURS",
    "COLOUR_VALUES",
    "QUADRANTS",
    "SIZES",
    "RECOLOUR_VERBS",
    "REMOVE_VERBS",
    "SPLITS",
    "REMOVE_PROBABILITY",
    "Shape",
    "Instruction",
    "Example",
    "is_heldout",
    "heldout_combinations",
    "shape_mask",
    "render",
    "parse_instruction",
    "terse_instruction",
    "expressive_instruction",
    "apply_edit",
    "make_example",
    "random_shapes",
    "draw_examples",
    "make_dataset",
    "check_image",
]

IMAGE_SIZE = 16
QUADRANT_SIZE = 8
KINDS = ("circle", "square", "triangle")
#: The six colours, in hue order; pure RGB corners, so every channel is 0 or 1.
COLOURS = ("red", "yellow", "green", "cyan", "blue", "magenta")
COLOUR_VALUES = {
    "red": (1.0, 0.0, 0.0),
    "yellow": (1.0, 1.0, 0.0),
    "green": (0.0, 1.0, 0.0),
    "cyan": (0.0, 1.0, 1.0),
    "blue": (0.0, 0.0, 1.0),
    "magenta": (1.0, 0.0, 1.0),
}
#: (vertical word, horizontal word) of each quadrant, and the quadrant's top-left pixel.
QUADRANTS = (("top", "left"), ("top", "right"), ("bottom", "left"), ("bottom", "right"))
_QUADRANT_ORIGIN = ((0, 0), (0, 8), (8, 0), (8, 8))
SIZES = (5, 6, 7, 8)
RECOLOUR_VERBS = ("make", "turn", "paint")
REMOVE_VERBS = ("remove", "delete", "erase")
SPLITS = ("train", "heldout")
#: Share of removals among "train" examples (the rest are recolourings).
REMOVE_PROBABILITY = 0.25


@dataclass(frozen=True)
class Shape:
    """One shape: ``kind`` (KINDS), ``colour`` (COLOURS), ``quadrant`` (0-3, index into
    QUADRANTS), ``size`` (its bounding box's side, 5-8 pixels) and ``offset`` (row, column) of
    that box inside the quadrant (each in 0 .. 8 - size)."""

    kind: str
    colour: str
    quadrant: int
    size: int
    offset: tuple

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        if self.colour not in COLOURS:
            raise ValueError(f"colour must be one of {COLOURS}, got {self.colour!r}")
        check_int(self.quadrant, "quadrant", minimum=0, maximum=3)
        check_int(self.size, "size", minimum=min(SIZES), maximum=max(SIZES))
        if len(self.offset) != 2:
            raise ValueError(f"offset must be (row, column), got {self.offset!r}")
        for value in self.offset:
            check_int(value, "offset", minimum=0, maximum=QUADRANT_SIZE - self.size)

    @property
    def place(self) -> str:
        """The quadrant in words, e.g. "top left"."""
        return " ".join(QUADRANTS[self.quadrant])


@dataclass(frozen=True)
class Instruction:
    """A parsed terse instruction: ``action`` ("recolour" or "remove"), ``kind``, ``colour``
    (the new colour; None for a removal) and ``verb`` (the word it starts with)."""

    action: str
    kind: str
    colour: str | None
    verb: str


@dataclass(frozen=True)
class Example:
    """One editing example.

    image : (16, 16, 3) input in [0, 1];  target : (16, 16, 3) the exact edited image
    instruction : the terse instruction;  expressive : the instruction the model must write
    region : (16, 16) bool, the pixels the edit changes (the edited shape)
    shapes : the two shapes, the edited one first;  command : the parsed instruction
    """

    image: np.ndarray
    instruction: str
    expressive: str
    target: np.ndarray
    region: np.ndarray
    shapes: tuple
    command: Instruction


def is_heldout(kind: str, colour: str) -> bool:
    """True when recolouring a ``kind`` to ``colour`` is held out: COLOURS.index(colour) // 2 == KINDS.index(kind)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if colour not in COLOURS:
        raise ValueError(f"colour must be one of {COLOURS}, got {colour!r}")
    return COLOURS.index(colour) // 2 == KINDS.index(kind)


def heldout_combinations() -> tuple:
    """The six held-out (kind, new colour) pairs."""
    return tuple((k, c) for k in KINDS for c in COLOURS if is_heldout(k, c))


def shape_mask(shape: Shape) -> np.ndarray:
    """The (16, 16) boolean mask of a shape's pixels.

    Inside its size x size box, a pixel (i, j) with centre (i + 1/2, j + 1/2) belongs to
    a square always; to a circle when its centre is within size/2 of the box's centre; to a
    triangle (pointing up) when |j + 1/2 - size/2| <= (i + 1/2) / 2.
    """
    s = shape.size
    centre = (np.arange(s) + 0.5)
    rows, cols = np.meshgrid(centre, centre, indexing="ij")
    if shape.kind == "square":
        box = np.ones((s, s), dtype=bool)
    elif shape.kind == "circle":
        box = (rows - s / 2) ** 2 + (cols - s / 2) ** 2 <= (s / 2) ** 2
    else:
        box = np.abs(cols - s / 2) <= rows / 2
    mask = np.zeros((IMAGE_SIZE, IMAGE_SIZE), dtype=bool)
    r0 = _QUADRANT_ORIGIN[shape.quadrant][0] + shape.offset[0]
    c0 = _QUADRANT_ORIGIN[shape.quadrant][1] + shape.offset[1]
    mask[r0:r0 + s, c0:c0 + s] = box
    return mask


def _check_shapes(shapes) -> tuple:
    shapes = tuple(shapes)
    if not shapes or not all(isinstance(s, Shape) for s in shapes):
        raise ValueError("shapes must be a non-empty sequence of Shape")
    if len({s.quadrant for s in shapes}) != len(shapes):
        raise ValueError("shapes must lie in different quadrants")
    if len({s.kind for s in shapes}) != len(shapes):
        raise ValueError("shapes must be of different kinds (an instruction names a shape by its kind)")
    return shapes


def render(shapes) -> np.ndarray:
    """The (16, 16, 3) image of ``shapes`` on black."""
    image = np.zeros((IMAGE_SIZE, IMAGE_SIZE, 3))
    for shape in _check_shapes(shapes):
        image[shape_mask(shape)] = COLOUR_VALUES[shape.colour]
    return image


def parse_instruction(instruction) -> Instruction:
    """Read a terse instruction: "<make|turn|paint> the <kind> <colour>" or "<remove|delete|erase> the <kind>".

    Case and surrounding spaces do not matter. Anything else (an empty text, an unknown word,
    another word order) raises ValueError naming ``instruction``.
    """
    if not isinstance(instruction, str):
        raise ValueError(f"instruction must be a text, got {type(instruction).__name__}")
    words = instruction.lower().split()
    if not words:
        raise ValueError("instruction is empty; try e.g. 'make the circle blue' or 'remove the square'")
    known = set(RECOLOUR_VERBS + REMOVE_VERBS + KINDS + COLOURS + ("the",))
    unknown = [w for w in words if w not in known]
    if unknown:
        raise ValueError(f"instruction has unknown words {unknown}; it may use {sorted(known)}")
    verb = words[0]
    if verb in RECOLOUR_VERBS and len(words) == 4 and words[1] == "the" and words[2] in KINDS \
            and words[3] in COLOURS:
        return Instruction("recolour", words[2], words[3], verb)
    if verb in REMOVE_VERBS and len(words) == 3 and words[1] == "the" and words[2] in KINDS:
        return Instruction("remove", words[2], None, verb)
    raise ValueError(f"instruction {instruction!r} is not of the form '<make|turn|paint> the <kind> <colour>' "
                     f"or '<remove|delete|erase> the <kind>'")


def terse_instruction(command: Instruction) -> str:
    """The instruction text of a parsed command."""
    if command.action == "remove":
        return f"{command.verb} the {command.kind}"
    return f"{command.verb} the {command.kind} {command.colour}"


def expressive_instruction(shape: Shape, command: Instruction) -> str:
    """"the <old colour> <kind> at the <place> becomes <colour>" or "... is removed"."""
    result = "is removed" if command.action == "remove" else f"becomes {command.colour}"
    return f"the {shape.colour} {shape.kind} at the {shape.place} {result}"


def apply_edit(shapes, command: Instruction) -> tuple[np.ndarray, np.ndarray]:
    """The exact target image and the edited region for ``command`` on ``shapes``.

    The shape of the named kind takes the new colour (or black for a removal). If no shape
    has that kind, nothing changes (empty region).
    """
    shapes = _check_shapes(shapes)
    target = render(shapes)
    region = np.zeros((IMAGE_SIZE, IMAGE_SIZE), dtype=bool)
    for shape in shapes:
        if shape.kind == command.kind:
            region = shape_mask(shape)
            target[region] = 0.0 if command.action == "remove" else COLOUR_VALUES[command.colour]
    return target, region


def make_example(shapes, instruction) -> Example:
    """An :class:`Example` from shapes and a terse instruction naming one of their kinds."""
    shapes = _check_shapes(shapes)
    command = parse_instruction(instruction)
    edited = [s for s in shapes if s.kind == command.kind]
    if not edited:
        raise ValueError(f"instruction names a {command.kind}, but the shapes are {[s.kind for s in shapes]}")
    ordered = tuple(edited) + tuple(s for s in shapes if s.kind != command.kind)
    target, region = apply_edit(shapes, command)
    return Example(render(shapes), terse_instruction(command), expressive_instruction(edited[0], command),
                   target, region, ordered, command)


def _random_shape(rng: np.random.Generator, kind: str, quadrant: int) -> Shape:
    size = int(rng.choice(SIZES))
    offset = tuple(int(v) for v in rng.integers(0, QUADRANT_SIZE - size + 1, size=2))
    return Shape(kind, COLOURS[int(rng.integers(len(COLOURS)))], quadrant, size, offset)


def random_shapes(rng: np.random.Generator, n_shapes: int = 2) -> tuple:
    """``n_shapes`` shapes of different kinds in different quadrants, sizes, offsets and colours drawn from ``rng``."""
    n_shapes = check_int(n_shapes, "n_shapes", minimum=1, maximum=len(KINDS))
    kinds = rng.permutation(len(KINDS))[:n_shapes]
    quadrants = rng.permutation(len(QUADRANTS))[:n_shapes]
    return tuple(_random_shape(rng, KINDS[int(k)], int(q)) for k, q in zip(kinds, quadrants))


def _random_command(rng: np.random.Generator, shape: Shape, split: str) -> Instruction:
    if split == "train" and rng.random() < REMOVE_PROBABILITY:
        return Instruction("remove", shape.kind, None, REMOVE_VERBS[int(rng.integers(len(REMOVE_VERBS)))])
    allowed = [c for c in COLOURS if c != shape.colour and is_heldout(shape.kind, c) == (split == "heldout")]
    colour = allowed[int(rng.integers(len(allowed)))]
    return Instruction("recolour", shape.kind, colour, RECOLOUR_VERBS[int(rng.integers(len(RECOLOUR_VERBS)))])


def draw_examples(rng: np.random.Generator, n: int, split: str = "train") -> list:
    """``n`` random examples of ``split`` drawn from the generator ``rng`` (see :func:`make_dataset`)."""
    n = check_int(n, "n", minimum=0)
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    examples = []
    for _ in range(n):
        shapes = random_shapes(rng)
        command = _random_command(rng, shapes[0], split)
        target, region = apply_edit(shapes, command)
        examples.append(Example(render(shapes), terse_instruction(command),
                                expressive_instruction(shapes[0], command), target, region, shapes, command))
    return examples


def make_dataset(n, seed, split: str = "train") -> list:
    """``n`` random examples drawn with ``seed`` from ``split`` ("train" or "heldout").

    Each example: two shapes (different kinds, different quadrants, random colours, sizes and
    offsets), one of them chosen for the edit; in "train" a removal with probability 1/4,
    else a recolouring to a new colour (never the old one) whose (kind, new colour) is not held
    out; in "heldout" always a recolouring whose (kind, new colour) is held out
    (:func:`is_heldout`). The same (n, seed, split) always gives the same examples, and the
    first k of n examples are the examples of (k, seed, split).
    """
    n = check_int(n, "n", minimum=0)
    seed = check_int(seed, "seed", minimum=0)
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    return draw_examples(np.random.default_rng([seed, SPLITS.index(split)]), n, split)


def check_image(image, name: str = "image") -> np.ndarray:
    """``image`` as a (16, 16, 3) float array with values in [0, 1], or ValueError naming ``name``."""
    array = as_array(image, name)
    if array.shape != (IMAGE_SIZE, IMAGE_SIZE, 3):
        raise ValueError(f"{name} must have shape ({IMAGE_SIZE}, {IMAGE_SIZE}, 3) (RGB), got shape {array.shape}")
    if array.min() < 0 or array.max() > 1:
        raise ValueError(f"{name} values must lie in [0, 1], got values from {array.min()} to {array.max()}")
    return array
