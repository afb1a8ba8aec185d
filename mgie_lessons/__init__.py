"""mgie-lessons: the mathematics of MGIE, computed step by step.

One module per chapter of the book; import the one you need::

    from mgie_lessons import tokens, attention, ffn, visual_tokens, diffusion, losses

:mod:`mgie_lessons.walkthrough` holds the seed walkthrough's inputs and printed
values as data; :mod:`mgie_lessons.validation` holds the input checks every
public function uses. Plotting, widgets and exercise checkers live in
:mod:`mgie_lessons.plots`, :mod:`mgie_lessons.widgets` and
:mod:`mgie_lessons.exercises` and only call the math modules.
"""

__version__ = "0.1.0"
