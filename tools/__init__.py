"""Tools that readers do not import: the site checks' helpers, benchmarks, training.

Every tool runs as a module from the repository root, e.g. ``python -m tools.bench_widgets``
(the Makefile's targets do); none is part of the installed package, and ``mgie_lessons`` never
imports from here.
"""
