"""Checks the widget test files share."""

import html

import pytest


def assert_bad_value_is_reported(panel, defaults: dict, bad: dict, word: str) -> None:
    """Set good values, then ``bad``: the panel must refuse it with a message naming ``word``,
    keep the figure it showed, and recover when the good values come back."""
    assert panel.set(**defaults), panel.error
    before, alt = panel.image.value, panel.alt
    assert not panel.set(**bad)
    assert panel.error is not None and word in panel.error
    assert word in html.unescape(panel.message.value)
    assert panel.image.value == before and panel.alt == alt
    assert panel.set(**defaults) and panel.message.value == ""


def assert_slider_refuses(panel, name: str, value) -> None:
    """A value outside a slider's range cannot be set (ipywidgets would silently move it into
    range); the package's own check of that value is tested beside this call."""
    before = panel.values()
    with pytest.raises(ValueError, match=name):
        panel.set(**{name: value})
    assert panel.values() == before


def assert_shows_cleanly(panel) -> None:
    """A good update: no message, a PNG, alt text."""
    assert panel.error is None and panel.message.value == ""
    assert bytes(panel.image.value)[:8] == b"\x89PNG\r\n\x1a\n"
    assert panel.alt
