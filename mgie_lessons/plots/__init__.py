"""Figures for the book. Each chapter's figures live in ``plots/<topic>.py`` and only call the
math modules; :mod:`mgie_lessons.plots.common` holds the shared pieces."""
