"""Shared test settings: a headless matplotlib backend and a hypothesis profile fit for CI."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile("ci", max_examples=60, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci")

# Transitional (issue 12): the widget benchmark moved from mgie_lessons/bench.py to
# tools/bench_widgets.py. tests/test_widget_pictures.py still imports it by its old name; this
# alias (tests only: the package itself has no such module) goes when that file imports
# tools.bench_widgets. tools/ is importable when pytest runs as `python -m pytest` from the
# repository root (as the Makefile runs it); a bare `pytest` leaves the alias out.
import sys  # noqa: E402

try:
    import tools.bench_widgets
except ModuleNotFoundError:
    pass
else:
    sys.modules.setdefault("mgie_lessons.bench", tools.bench_widgets)
