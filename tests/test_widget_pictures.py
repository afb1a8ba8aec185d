"""What every panel shows: the same picture after an update as a new panel, with its titles.

The panels redraw cheaply by keeping pictures of what does not change (BlitRenderer,
BackgroundCache, frozen layouts, painted images, copied titles). If a cached picture goes stale,
or a title is lost or misplaced by a redraw (issue 9: the edit-head, errata and blending panels
drew their first picture without titles), the picture after an update differs from the picture a
freshly made panel draws for the same values.

For every widget module this walks one panel through every ordered pair (a, b) of its benchmark
settings (an Eulerian circuit of the complete directed graph on the settings: each pair exactly
once, one update per pair) and compares each picture, decoded pixel for pixel, with a fresh
panel's picture for b. The comparison is exact, no tolerance: both pictures come from the same
deterministic drawing of the same artists, so any difference is a bug. Each fresh panel costs a
full layout and draw, so a module with n settings makes n + 1 panels in all; the walk itself
is n (n - 1) cheap updates.
"""

import importlib
import io

import numpy as np
import pytest
from PIL import Image

from mgie_lessons.bench import benchable_widget_modules
from mgie_lessons.plots.common import HIDPI_SCALE, display_size, pixel_scale, png_size

MODULES = benchable_widget_modules()


def test_every_panel_module_is_covered():
    assert len(MODULES) >= 12


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def every_ordered_pair(n: int) -> list[int]:
    """A walk 0 -> ... -> 0 over settings 0..n-1 that takes each step i -> j (i != j) exactly once.

    Hierholzer's algorithm on the complete directed graph (every node has in-degree = out-degree,
    so an Eulerian circuit exists)."""
    unused = {i: [j for j in range(n) if j != i] for i in range(n)}
    stack, walk = [0], []
    while stack:
        node = stack[-1]
        if unused[node]:
            stack.append(unused[node].pop())
        else:
            walk.append(stack.pop())
    return walk[::-1]


def test_the_walk_takes_every_ordered_pair_once():
    walk = every_ordered_pair(5)
    steps = list(zip(walk, walk[1:]))
    assert sorted(steps) == [(i, j) for i in range(5) for j in range(5) if i != j]


def titled_axes(figure):
    """(axes, title) for every axes with a title, colour bars aside (hidden axes included: a
    panel may bake an axes into a picture and hide it)."""
    return [(ax, ax.title) for ax in figure.axes if ax.get_label() != "<colorbar>" and ax.get_title()]


def title_box(title, renderer):
    """The title's box in canvas pixels, measured even when the title is hidden (drawn in a cached
    picture of the background)."""
    visible = title.get_visible()
    title.set_visible(True)
    try:
        return title.get_window_extent(renderer)
    finally:
        title.set_visible(visible)


def assert_titles_are_drawn_inside(panel) -> None:
    """Every title lies inside the canvas, and the picture has ink (text) where it lies."""
    figure = panel.figure
    shown = pixels(panel.image.value)
    height, width = shown.shape[:2]
    assert (width, height) == figure.canvas.get_width_height(physical=True)
    renderer = figure.canvas.get_renderer()
    titles = titled_axes(figure)
    assert titles, "a panel's figure has titles"
    for ax, title in titles:
        box = title_box(title, renderer)
        assert 0 <= box.x0 and box.x1 <= width and 0 <= box.y0 and box.y1 <= height, \
            f"title {title.get_text()!r} lies outside the canvas: {box.bounds}"
        region = shown[int(height - box.y1):int(np.ceil(height - box.y0)), int(box.x0):int(np.ceil(box.x1))]
        assert region.size and region.min() < 128, f"title {title.get_text()!r} is not drawn"
        assert ax.get_xlabel() and ax.get_ylabel(), f"axes titled {title.get_text()!r} needs labelled axes"


@pytest.fixture(scope="module", params=MODULES)
def module(request):
    return importlib.import_module(f"mgie_lessons.widgets.{request.param}")


@pytest.fixture(scope="module")
def fresh(module):
    """(picture, alt text) of a new panel set to each benchmark setting (one new panel each)."""
    shown = []
    for values in module.BENCH_SETTINGS:
        panel = module.make_panel()
        assert set(values) == set(panel.controls), "a benchmark setting must set every control"
        assert panel.set(**values), panel.error
        shown.append((panel.image.value, panel.alt))
    return shown


def assert_drawn_for_high_density_screens(panel) -> None:
    """The PNG has as many device pixels per CSS pixel of the panel's image width as the figure's
    pixel scale says: 2 (HIDPI_SCALE), unless a module draws fewer to keep its update time (then at
    least 1.5, and the module says why)."""
    scale = pixel_scale(panel.figure)
    width, height = display_size(panel.figure)
    assert panel.image.layout.width == f"{width:g}px"
    assert png_size(panel.image.value) == (round(width * scale), round(height * scale))
    assert scale == HIDPI_SCALE or 1.5 <= scale < HIDPI_SCALE


def test_the_picture_after_any_update_is_the_fresh_picture(module, fresh):
    """Also: every picture's titles are drawn inside the canvas, the first picture's too (issue 9),
    and pictures are drawn for high-density screens."""
    panel = module.make_panel()
    assert_titles_are_drawn_inside(panel)
    assert_drawn_for_high_density_screens(panel)
    walk = every_ordered_pair(len(module.BENCH_SETTINGS))
    assert panel.set(**module.BENCH_SETTINGS[walk[0]]), panel.error
    wrong, seen = [], set()
    for a, b in zip(walk, walk[1:]):
        assert panel.set(**module.BENCH_SETTINGS[b]), panel.error
        assert panel.message.value == "" and panel.error is None
        picture, alt = fresh[b]
        assert panel.alt == alt, f"{a} -> {b}: the alt text is not the fresh panel's"
        if panel.image.value != picture:
            shown, expected = pixels(panel.image.value), pixels(picture)
            if shown.shape != expected.shape:
                wrong.append(f"{a} -> {b}: size {shown.shape} instead of {expected.shape}")
            elif np.any(shown != expected):
                wrong.append(f"{a} -> {b}: {int(np.any(shown != expected, axis=-1).sum())} pixels differ")
        if b not in seen:
            assert_titles_are_drawn_inside(panel)
            seen.add(b)
    assert not wrong, f"widgets.{module.__name__.rsplit('.', 1)[-1]}: " + "; ".join(wrong)


def test_the_alt_text_follows_the_values(module, fresh):
    alts = [alt for _, alt in fresh]
    assert all(alts) and len(set(alts)) > 1, "the alt text describes the values shown"
