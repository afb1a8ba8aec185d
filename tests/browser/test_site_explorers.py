"""The kernel-free explorers on the built website (issue 9).

* Each chapter's explorer offers every control of the chapter's Jupyter panel (read from
  ``make_panel()``, so a control added to a panel must reach the website): numeric ones as a
  control of the same name, typed matrices and texts at least through a preset.
* An explorer that computes in the page gives the package's numbers: its script's ``compute``
  is evaluated in the browser on many combinations of its controls (every combination when
  there are few, else a fixed random sample) and compared with the explorer module's
  ``reference``, which calls the package.
"""

from __future__ import annotations

import importlib
import itertools
import random

import numpy as np
import pytest

from mgie_lessons.explorers import explorer_topic, is_numeric_control, panel_controls

#: Combinations of an in-page explorer's controls compared with the package (all if fewer).
SAMPLES = 60
#: The schedules explorer returns two 32 x 32 x 3 images and T values per combination: fewer.
SAMPLES_BY_TOPIC = {"schedules": 20}


def _explorers(visits, chapter):
    found = visits(chapter).facts.get("explorers", [])
    if not found:
        pytest.skip(f"{chapter} has no explorer")
    return found


def test_explorer_offers_every_panel_control(chapter, visits, report):
    for explorer in _explorers(visits, chapter):
        topic = explorer_topic(explorer["id"])
        controls = panel_controls(topic)
        names = {p["name"] for p in explorer["params"]}
        covered = {name for p in explorer["params"] for name in p["covers"]}
        numeric = sorted(name for name, control in controls.items() if is_numeric_control(control))
        report.setdefault(chapter, {}).update(
            explorer_controls=len(explorer["params"]), panel=len(controls), explorer_bytes=explorer["bytes"],
            computed="script" if explorer["scripts"] else f"{explorer['frames']} frames")
        assert not sorted(set(controls) - covered), f"{chapter}: panel controls {sorted(set(controls) - covered)} missing"
        assert not [n for n in numeric if n not in names], \
            f"{chapter}: numeric panel parameters {[n for n in numeric if n not in names]} are not explorer controls"
        assert explorer["shown"] >= 1


def _combinations(params, topic):
    sizes = [len(p["values"]) for p in params]
    total = int(np.prod(sizes))
    wanted = SAMPLES_BY_TOPIC.get(topic, SAMPLES)
    if total <= wanted:
        return [list(c) for c in itertools.product(*(range(n) for n in sizes))]
    rng = random.Random(f"mgie-{topic}")
    return [[rng.randrange(n) for n in sizes] for _ in range(wanted)]


COMPUTE = """
([id, view, combos]) => {
  const e = window.mgieExplorers[id], spec = e.spec, script = e.scripts[view];
  return combos.map((combo) => {
    const values = {};
    spec.params.forEach((p, i) => { values[p.name] = p.values[combo[i]]; });
    try { return {values: values, result: script.compute(values, spec.views[view].data)}; }
    catch (error) { return {values: values, error: String(error)}; }
  });
}
"""


def test_in_page_script_matches_the_package(chapter, visits, browser_context, base_url):
    explorers = [e for e in _explorers(visits, chapter) if e["scripts"]]
    if not explorers:
        pytest.skip(f"{chapter}'s explorer shows precomputed frames only")
    page = browser_context.new_page()
    try:
        page.goto(base_url + chapter, wait_until="load")
        for explorer in explorers:
            topic = explorer_topic(explorer["id"])
            module = importlib.import_module(f"mgie_lessons.explorers.{topic}")
            # Relative agreement required: 1e-9 for maths done in the page in float64; an explorer
            # that hands the page float32 data says so (mgie_lessons.explorers.learning.TOLERANCE).
            tolerance = getattr(module, "TOLERANCE", 1e-9)
            spec = page.evaluate("(id) => window.mgieExplorers[id].spec", explorer["id"])
            combos = _combinations(spec["params"], topic)
            views = [n for n, view in enumerate(spec["views"]) if view["type"] == "script"]
            compared, problems = 0, []
            for view in views:
                for start in range(0, len(combos), 20):
                    for item in page.evaluate(COMPUTE, [explorer["id"], view, combos[start:start + 20]]):
                        assert "error" not in item, f"{chapter}: the page's script failed for {item['values']}: {item['error']}"
                        expected = module.reference(item["values"])
                        for key, value in expected.items():
                            got = np.asarray(item["result"].get(key), dtype=float)
                            want = np.asarray(value, dtype=float)
                            scale = float(np.max(np.abs(want))) if want.size else 0.0
                            if got.shape != want.shape or not np.allclose(got, want, rtol=tolerance,
                                                                          atol=max(1e-12, tolerance * 1e-3 * scale)):
                                problems.append(f"{key} for {item['values']}: page {np.ravel(got)[:6]} package {np.ravel(want)[:6]}")
                        compared += 1
            assert compared >= min(len(combos), 20)
            assert not problems, f"{chapter}: the page's script and the package disagree ({len(problems)}):\n  " + \
                "\n  ".join(problems[:10])
    finally:
        page.close()
