"""What every panel shows: the same picture after an update as a new panel, with its titles.

The panels redraw cheaply by keeping pictures of what does not change (plots.common.Blitter:
frozen layouts, cached backgrounds, painted images, stamped numbers). If a cached picture goes stale,
or a title is lost or misplaced by a redraw (issue 9: the edit-head, errata and blending panels
drew their first picture without titles), the picture after an update differs from the picture a
freshly made panel draws for the same values.

For every widget module this walks one panel through its benchmark settings, from each setting
to the next, the previous and the one after next (an Eulerian circuit: each such pair (a, b)
exactly once, one update per pair), and compares each picture, decoded pixel for pixel, with a
fresh panel's picture for b. The comparison is exact, no tolerance: both pictures come from the same
deterministic drawing of the same artists, so any difference is a bug. Each fresh panel costs a
full layout and draw, so a module with n settings makes n panels in all; the walk itself is 3 n
cheap updates. At each setting's first visit the picture is also compared with a redraw that
forgets every cached background (a cache that misses a change goes stale in the fresh panel too).
"""

import importlib
import io

import numpy as np
import pytest
from PIL import Image

from tools.bench_widgets import benchable_widget_modules
from mgie_lessons.plots.common import HIDPI_SCALE, display_size, pixel_scale, png_size

MODULES = benchable_widget_modules()


def test_every_panel_module_is_covered():
    assert len(MODULES) >= 12


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


#: The updates walked: from each setting i to i + 1, i - 1 and i + 2 (modulo their number), so every
#: setting is reached from three others, consecutive and not (every ordered pair, n (n - 1) updates,
#: took about twice as long; with up to four settings that is every pair anyway).
STEPS = (1, -1, 2)


def walk_through(n: int, steps=STEPS) -> list[int]:
    """A walk 0 -> ... -> 0 over settings 0..n-1 that takes each step i -> (i + s) mod n, s in
    ``steps``, exactly once (Hierholzer's algorithm: every setting is left and reached equally often,
    so such a walk exists)."""
    unused = {i: sorted({(i + s) % n for s in steps} - {i}, reverse=True) for i in range(n)}
    stack, walk = [0], []
    while stack:
        node = stack[-1]
        if unused[node]:
            stack.append(unused[node].pop())
        else:
            walk.append(stack.pop())
    return walk[::-1]


def test_the_walk_takes_each_chosen_step_once():
    walk = walk_through(7)
    steps = sorted(zip(walk, walk[1:]))
    assert steps == sorted((i, (i + s) % 7) for i in range(7) for s in STEPS)
    small = walk_through(4)
    assert sorted(zip(small, small[1:])) == [(i, j) for i in range(4) for j in range(4) if i != j]


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
        for label in (ax.xaxis.label, ax.yaxis.label):
            box = title_box(label, renderer)
            assert 0 <= box.x0 and box.x1 <= width and 0 <= box.y0 and box.y1 <= height, \
                f"axis label {label.get_text()!r} lies outside the canvas: {box.bounds}"


def assert_no_stale_cache(panel, step: str) -> None:
    """The picture drawn over cached backgrounds equals the one drawn after forgetting them all.

    A fresh panel set to b went through an update too, so a cache that misses a change (axis
    limits, say) would go stale the same way in both; redrawing from nothing catches that."""
    renderer = getattr(panel._render, "__self__", None)
    if not hasattr(renderer, "invalidate"):
        return                                     # no cached pictures to go stale
    shown = pixels(panel.image.value)
    renderer.invalidate()
    redrawn = pixels(panel._render())
    differing = np.any(shown != redrawn, axis=-1).sum() if shown.shape == redrawn.shape else "all"
    assert not differing, f"{step}: {differing} pixels differ from a redraw without cached pictures"


def fresh_picture(module, values: dict) -> tuple[bytes, str]:
    """(picture, alt text) of a new panel set to ``values``."""
    panel = module.make_panel()
    assert set(values) == set(panel.controls), "a benchmark setting must set every control"
    assert panel.set(**values), panel.error
    return panel.image.value, panel.alt


def assert_drawn_for_high_density_screens(panel) -> None:
    """The PNG has as many device pixels per CSS pixel of the panel's image width as the figure's
    pixel scale says: 2 (HIDPI_SCALE), unless a module draws fewer to keep its update time (then at
    least 1.5, and the module says why)."""
    scale = pixel_scale(panel.figure)
    width, height = display_size(panel.figure)
    assert panel.image.layout.width == f"{width:g}px"
    assert png_size(panel.image.value) == (round(width * scale), round(height * scale))
    assert scale == HIDPI_SCALE or 1.5 <= scale < HIDPI_SCALE


@pytest.mark.parametrize("name", MODULES)
def test_the_picture_after_any_update_is_the_fresh_picture(name):
    """After every update a -> b the panel shows what a new panel set to b shows (picture and alt
    text). Also: every picture's titles and axis labels are drawn inside the canvas, the first
    picture's too (issue 9); the alt text follows the values; pictures are drawn for high-density
    screens; single numbers are sliders."""
    module = importlib.import_module(f"mgie_lessons.widgets.{name}")
    settings = module.BENCH_SETTINGS
    walk = walk_through(len(settings))
    panel = module.make_panel()
    assert_numbers_are_sliders(panel)
    assert_titles_are_drawn_inside(panel)
    assert_drawn_for_high_density_screens(panel)
    assert set(settings[walk[0]]) == set(panel.controls), "a benchmark setting must set every control"
    assert panel.set(**settings[walk[0]]), panel.error
    fresh = {walk[0]: (panel.image.value, panel.alt)}          # this panel is still a new one here
    fresh.update({b: fresh_picture(module, settings[b]) for b in range(len(settings)) if b != walk[0]})
    wrong, seen = [], {walk[0]}
    assert_titles_are_drawn_inside(panel)
    for a, b in zip(walk, walk[1:]):
        assert panel.set(**settings[b]), panel.error
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
            assert_no_stale_cache(panel, f"{a} -> {b}")
            seen.add(b)
    assert not wrong, f"widgets.{name}: " + "; ".join(wrong)
    alts = [alt for _, alt in fresh.values()]
    assert all(alts) and len(set(alts)) > 1, "the alt text describes the values shown"


# --- The drawing and encoding pieces of plots.common ----------------------------------------

from mgie_lessons.plots.common import (Blitter, compact_png, figure_png, new_figure, notebook_png,  # noqa: E402
                                       pixels_png)


@pytest.mark.parametrize("origin, aspect", [("upper", "auto"), ("lower", "auto"), ("upper", "equal")])
def test_painted_images_are_the_pictures_matplotlib_draws(origin, aspect):
    """Blitter paints nearest-neighbour images with numpy: the same pixels as matplotlib's
    own full draw (cells of fractional pixel size, a blank NaN cell, the frame on top)."""
    values = np.random.default_rng(0).random((7, 5))
    values[2, 3] = np.nan
    figure, ax = new_figure(3, 2.5, dpi=72, scale=2)
    image = ax.imshow(values, interpolation="nearest", origin=origin, aspect=aspect)
    line = ax.axhline(3.2, color="black")      # above the image: dynamic too (it would be covered)
    ax.set_title("t"), ax.set_xlabel("x"), ax.set_ylabel("y")
    figure.colorbar(image, ax=ax)
    renderer = Blitter(figure, [image, line])
    assert renderer.painters, "the image is painted, not drawn by matplotlib"
    painted, drawn = pixels(renderer.png()).copy(), pixels(figure_png(figure)).copy()
    # The title is stamped from a glyph bitmap (never part of the background): ink where matplotlib
    # puts it, the same pixels everywhere else.
    box = title_box(ax.title, figure.canvas.get_renderer())
    rows = slice(int(painted.shape[0] - box.y1) - 1, int(np.ceil(painted.shape[0] - box.y0)) + 1)
    assert painted[rows].min() < 128 and drawn[rows].min() < 128
    painted[rows], drawn[rows] = 0, 0
    np.testing.assert_array_equal(painted, drawn)


@pytest.mark.parametrize("channels", [3, 4])
def test_pixels_png_stores_every_pixel(channels):
    values = (np.random.default_rng(1).random((37, 53, channels)) * 255).astype(np.uint8)
    decoded = np.asarray(Image.open(io.BytesIO(pixels_png(values))))
    np.testing.assert_array_equal(decoded, values)
    with pytest.raises(ValueError, match="uint8"):
        pixels_png(values.astype(float))
    few = values[..., :3] // 128 * 255                      # at most 8 colours: a palette PNG keeps them exactly
    palette = pixels_png(few, colours=8)
    assert palette[25] == 3 and compact_png(pixels_png(few), colours=8) == palette
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(palette)).convert("RGB")), few)


def test_figure_png_at_scale_two_and_the_notebook_picture():
    figure, ax = new_figure(3, 2, dpi=80)
    ax.plot([0, 1], [0, 1])
    assert png_size(figure_png(figure)) == (240, 160)
    assert png_size(figure_png(figure, scale=2)) == (480, 320)
    assert figure.dpi == 80 and display_size(figure) == (240, 160)     # the figure is left as it was
    png, metadata = notebook_png(figure)
    assert png_size(png) == (480, 320) and metadata == {"width": 240, "height": 160}
    assert all(type(size) is int for size in metadata.values())      # "240", not "240.0", in the page
    assert png[25] == 3                                                # a palette PNG
    with pytest.raises(ValueError, match="PNG"):
        png_size(b"GIF89a" + bytes(30))


def test_the_benchmark_times_a_panel_and_names_its_picture():
    from tools.bench_widgets import format_table, time_widget

    timing = time_widget("ffn", updates=3, baseline_runs=1, clock="cpu")
    assert timing.updates == 3 and timing.median_ms > 0 and timing.baseline_median_ms > 0
    assert timing.picture.endswith("@2x") and "x" in timing.picture
    table = format_table([timing])
    assert "ffn" in table and timing.picture in table and "targets:" in table
    with pytest.raises(ValueError, match="clock"):
        time_widget("ffn", updates=1, baseline_runs=1, clock="sundial")


def assert_numbers_are_sliders(panel) -> None:
    """A continuous number is a slider that updates while dragged; text boxes are left for
    matrices, vectors, lists and instructions, never for a single number."""
    import ipywidgets as widgets

    for control_name, control in panel.controls.items():
        if isinstance(control, (widgets.FloatSlider, widgets.IntSlider, widgets.FloatLogSlider,
                                widgets.SelectionSlider)):
            assert control.continuous_update, f"{control_name} updates only when released"
        elif isinstance(control, (widgets.Text, widgets.FloatText, widgets.BoundedFloatText)):
            entries = str(control.value).replace(";", ",").replace(",", " ").split()
            assert len(entries) != 1 or not _is_number(entries[0]), \
                f"{control_name} holds one number ({control.value!r}): make it a slider"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
