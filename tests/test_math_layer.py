"""The math layer and the checkers import no plotting: importing every chapter module, the seed
run and every exercises module leaves matplotlib (and ipywidgets) unimported (issue 12)."""

import pkgutil
import subprocess
import sys

import pytest

import mgie_lessons.exercises
from mgie_lessons import pipeline

EXERCISE_MODULES = sorted(f"mgie_lessons.exercises.{m.name}" for m in pkgutil.iter_modules(mgie_lessons.exercises.__path__))
MATH_MODULES = ["mgie_lessons.pipeline", "mgie_lessons.walkthrough"] + [f"mgie_lessons.{c.module}" for c in pipeline.CHAPTERS]


def _imports_in_a_fresh_interpreter(modules) -> set:
    """The top-level packages in sys.modules after importing ``modules`` in a new Python."""
    code = ("import sys\n" + "".join(f"import {m}\n" for m in modules)
            + "print(' '.join(sorted({name.split('.')[0] for name in sys.modules})))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return set(done.stdout.split())


def test_the_lists_cover_every_chapter_and_checker():
    assert len(set(MATH_MODULES)) == 2 + len(pipeline.CHAPTERS) >= 15 and "mgie_lessons.edit_head" in MATH_MODULES
    assert {"mgie_lessons.exercises.edit_head", "mgie_lessons.exercises.schedules",
            "mgie_lessons.exercises.visual_tokens"} <= set(EXERCISE_MODULES)


@pytest.mark.parametrize("modules", [EXERCISE_MODULES, MATH_MODULES], ids=["exercises", "math"])
def test_importing_does_not_import_matplotlib_or_widgets(modules):
    loaded = _imports_in_a_fresh_interpreter(modules)
    assert "mgie_lessons" in loaded
    assert not loaded & {"matplotlib", "ipywidgets"}


def test_the_check_can_fail():
    assert "matplotlib" in _imports_in_a_fresh_interpreter(["mgie_lessons.plots.edit_head"])


def test_the_modules_the_seed_run_chains_do_not_import_the_pipeline():
    """pipeline imports them, so an import of pipeline there would run upward (and in a cycle)."""
    import ast
    import importlib
    from pathlib import Path

    chained = ["tokens", "attention", "ffn", "visual_tokens", "diffusion", "walkthrough", "validation"]
    for name in chained[:5]:
        assert getattr(pipeline, name) is importlib.import_module(f"mgie_lessons.{name}"), name
    for name in chained:
        tree = ast.parse(Path(importlib.import_module(f"mgie_lessons.{name}").__file__).read_text())
        imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                    for alias in node.names} | {node.module or "" for node in ast.walk(tree)
                                                 if isinstance(node, ast.ImportFrom)}
        assert "pipeline" not in imported and "mgie_lessons.pipeline" not in imported, name
