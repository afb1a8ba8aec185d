"""Benchmark every chapter's widget panel: recompute + redraw time per update.

Run ``python -m tools.bench_widgets [--cpu] [widget ...]`` from the repository root (or
``make bench-widgets``, part of ``make bench``). For each module
``mgie_lessons.widgets.<topic>`` that defines ``make_panel``, ``BENCH_SETTINGS`` and
``render_from_scratch``, it cycles the panel through its settings many times (each update:
recompute with the package, mutate the figure's artists, render the PNG the reader sees) and
times the same settings with a baseline that re-creates the figure from scratch. It reports the
median and 90th percentile per update, the baseline's median and the speed-up, on the Agg
backend. Targets (issue 3): median <= 16 ms per update and >= 2x faster than the baseline.

This is a benchmark, not a test: it prints figures to quote; it fails nothing.
"""

from __future__ import annotations

import argparse
import os
import importlib
import json
import pkgutil
import statistics
import time
from dataclasses import asdict, dataclass

import matplotlib

matplotlib.use("Agg")

TARGET_MS = 16.0
#: Wall-clock time by default; ``--cpu`` (or MGIE_BENCH_CLOCK=cpu) uses this process's CPU time,
#: which is steadier on a machine busy with other work.
CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
TARGET_SPEEDUP = 2.0


@dataclass
class WidgetTiming:
    widget: str
    updates: int
    median_ms: float
    p90_ms: float
    baseline_median_ms: float
    speedup: float
    #: The PNG each update encodes: "width x height px @ device pixels per CSS pixel".
    picture: str = ""

    @property
    def meets_targets(self) -> bool:
        return self.median_ms <= TARGET_MS and self.speedup >= TARGET_SPEEDUP


def benchable_widget_modules() -> list[str]:
    """Names of the widget modules that provide the benchmark hooks."""
    from mgie_lessons import widgets

    names = []
    for info in pkgutil.iter_modules(widgets.__path__):
        if info.name.startswith("_") or info.name == "panel":
            continue
        module = importlib.import_module(f"{widgets.__name__}.{info.name}")
        if all(hasattr(module, hook) for hook in ("make_panel", "BENCH_SETTINGS", "render_from_scratch")):
            names.append(info.name)
    return sorted(names)


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def time_widget(name: str, updates: int = 60, baseline_runs: int = 20, clock: str = "wall") -> WidgetTiming:
    """Time ``updates`` panel updates and ``baseline_runs`` from-scratch renders of one widget."""
    if clock not in CLOCKS:
        raise ValueError(f"clock must be one of {sorted(CLOCKS)}, got {clock!r}")
    now = CLOCKS[clock]
    if updates < 1 or baseline_runs < 1:
        raise ValueError("updates and baseline_runs must be >= 1")
    module = importlib.import_module(f"mgie_lessons.widgets.{name}")
    settings = list(module.BENCH_SETTINGS)
    if len(settings) < 2:
        raise ValueError(f"widgets.{name}.BENCH_SETTINGS needs at least two settings to alternate")
    panel = module.make_panel()
    for values in settings:  # warm-up: first draw of every state, font caches
        panel.set(**values)
    update_times = []
    for i in range(updates):
        values = settings[i % len(settings)]
        start = now()
        ok = panel.set(**values)
        update_times.append((now() - start) * 1000)
        if not ok:
            raise RuntimeError(f"widgets.{name}: BENCH_SETTINGS[{i % len(settings)}] was rejected: {panel.error}")
    baseline_times = []
    module.render_from_scratch(settings[0])
    for i in range(baseline_runs):
        start = now()
        module.render_from_scratch(settings[i % len(settings)])
        baseline_times.append((now() - start) * 1000)
    median = statistics.median(update_times)
    baseline = statistics.median(baseline_times)
    return WidgetTiming(name, updates, median, _percentile(update_times, 0.9), baseline, baseline / median,
                        _picture(panel))


def _picture(panel) -> str:
    """The size of the panel's PNG and its device pixels per CSS pixel, e.g. "777x648 @2x"."""
    from mgie_lessons.plots.common import pixel_scale, png_size

    if panel.figure is None or not panel.image.value:
        return ""
    width, height = png_size(bytes(panel.image.value))
    return f"{width}x{height} @{pixel_scale(panel.figure):g}x"


def format_table(timings: list[WidgetTiming]) -> str:
    header = (f"{'widget':<16}{'updates':>8}{'median ms':>11}{'p90 ms':>9}{'re-create ms':>14}{'speed-up':>10}"
              f"  {'target':<8}picture")
    lines = [header, "-" * len(header)]
    for t in timings:
        verdict = "ok" if t.meets_targets else "MISSED"
        lines.append(f"{t.widget:<16}{t.updates:>8}{t.median_ms:>11.1f}{t.p90_ms:>9.1f}"
                     f"{t.baseline_median_ms:>14.1f}{t.speedup:>9.1f}x  {verdict:<8}{t.picture}")
    lines.append(f"targets: median <= {TARGET_MS:g} ms per update and >= {TARGET_SPEEDUP:g}x faster than re-creating the figure")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--updates", type=int, default=60, help="panel updates per widget (default 60)")
    parser.add_argument("--baseline-runs", type=int, default=20, help="from-scratch renders per widget (default 20)")
    parser.add_argument("--json", metavar="FILE", help="also write the figures to FILE as JSON")
    parser.add_argument("--cpu", action="store_true", default=os.environ.get("MGIE_BENCH_CLOCK") == "cpu",
                        help="time with this process's CPU time instead of the wall clock")
    parser.add_argument("widgets", nargs="*", help="widget modules to time (default: all)")
    args = parser.parse_args(argv)
    names = args.widgets or benchable_widget_modules()
    clock = "cpu" if args.cpu else "wall"
    timings = [time_widget(name, args.updates, args.baseline_runs, clock) for name in names]
    print(f"clock: {clock} time; matplotlib backend: {matplotlib.get_backend()}")
    print(format_table(timings))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump([asdict(t) for t in timings], handle, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
