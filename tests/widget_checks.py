"""A check every widget test file uses: a bad value gives a message and keeps the last figure."""


def assert_bad_value_is_reported(panel, defaults: dict, bad: dict, word: str) -> None:
    """Set good values, then ``bad``: the panel must refuse it with a message naming ``word``,
    keep the figure it showed, and recover when the good values come back."""
    assert panel.set(**defaults), panel.error
    before = panel.image.value
    assert not panel.set(**bad)
    assert panel.error is not None and word in panel.error
    assert word in panel.message.value
    assert panel.image.value == before
    assert panel.set(**defaults) and panel.message.value == ""
