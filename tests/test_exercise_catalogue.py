"""The exercise catalogue: the registry's reader, then the rules every chapter's exercises follow.

The first half tests mgie_lessons/exercises/registry.py on known text and a fake chapter. The
second half checks the real book: every chapter notebook (pipeline.CHAPTERS, except 07 errata)
has >= 4 exercises with a label, 1-3 stars and a time; every exercise has a dropdown solution in
a cell tagged `solution`; every checker a notebook names exists; every checker has a SOLUTIONS
entry and an exercise; the book has >= 30 exercises. (That every SOLUTIONS entry passes its
checker is tested over every module in tests/test_exercises_common.py.)
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

import nbformat
import pytest

from mgie_lessons.exercises import registry
from mgie_lessons.exercises.registry import (canonical_label, checker_name_for, label_for_checker,
                                             parse_directives, parse_notebook)

sys.path.insert(0, str(Path(__file__).parent))
from teaching_fixtures import toy_chapter, write_exercises_package  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
BOOK = REPO / "book"
NOT_CHAPTERS = ("07_errata.ipynb",)  # errata: no exercises required
MIN_EXERCISES_PER_CHAPTER = 4
MIN_EXERCISES_IN_BOOK = 30


# ------------------------------------------------------------------------------------------
# The MyST reader
# ------------------------------------------------------------------------------------------

def test_parse_directives_reads_name_argument_options_and_body():
    text = "Intro\n\n```{exercise} Find the scale\n:label: attention-ex-2\n:class: hard\n\nBody line\n```\n"
    [directive] = parse_directives(text)
    assert (directive.name, directive.argument) == ("exercise", "Find the scale")
    assert directive.options == {"label": "attention-ex-2", "class": "hard"}
    assert directive.body.strip() == "Body line"
    assert (directive.start, directive.end, directive.closed) == (2, 7, True)


def test_parse_directives_skips_code_blocks_and_finds_nested_directives():
    text = "\n".join([
        "````{exercise}", ":label: a-ex-1", "", "```python", "x = 1", "```",
        "```{note}", "inner", "```", "````",
        "````md", "```{solution} a-ex-9", ":class: dropdown", "not real", "```", "````",
        ":::{solution} a-ex-1", ":class: dropdown", "real", ":::",
    ])
    found = [(d.name, d.depth) for d in parse_directives(text)]
    assert found == [("exercise", 0), ("note", 1), ("solution", 0)]


def test_parse_directives_yaml_options_and_unclosed_fence():
    [directive] = parse_directives("```{solution} x-ex-1\n---\nclass: dropdown\n---\nText")
    assert directive.options == {"class": "dropdown"} and directive.classes == ("dropdown",)
    assert not directive.closed and directive.body.strip() == "Text"


def test_labels_and_checker_names_convert_both_ways():
    assert checker_name_for("attention-ex-2") == "check_attention_ex_2"
    assert checker_name_for("visual_tokens-ex-1") == checker_name_for("visual-tokens-ex-1") == "check_visual_tokens_ex_1"
    assert label_for_checker("check_visual_tokens_ex_12") == "visual_tokens-ex-12"
    assert canonical_label("Visual_Tokens-ex-1") == "visual-tokens-ex-1"
    with pytest.raises(ValueError, match="name"):
        label_for_checker("softmax")


# ------------------------------------------------------------------------------------------
# The notebook reader and the catalogue, on the toy chapter
# ------------------------------------------------------------------------------------------

@pytest.fixture()
def toy_book(tmp_path, monkeypatch):
    book = tmp_path / "book"
    book.mkdir()
    nbformat.write(toy_chapter(), str(book / "01_toy.ipynb"))
    write_exercises_package(tmp_path / "pkgs")
    monkeypatch.syspath_prepend(str(tmp_path / "pkgs"))
    return book


def test_parse_notebook_reads_every_exercise_and_solution(toy_book):
    report = parse_notebook(toy_book / "01_toy.ipynb")
    assert [e.label for e in report.exercises] == [f"toy-ex-{n}" for n in range(1, 6)]
    assert [e.stars for e in report.exercises] == [1, 2, 3, 2, 1]
    assert {e.star_slots for e in report.exercises} == {3}
    assert [e.time for e in report.exercises] == ["5 min", "10 min", "15 min", "10 min", "5 min"]
    assert report.exercises[0].title == report.exercises[0].summary == "Which axis?"
    assert report.exercises[1].checker_names == ("check_toy_ex_2",)
    assert [s.label for s in report.solutions] == [f"toy-ex-{n}" for n in range(1, 6)]
    assert all(s.tagged and s.dropdown and s.alone_in_cell for s in report.solutions)
    assert report.checker_names == {f"check_toy_ex_{n}" for n in range(1, 5)}
    assert report.gated_cells == [] and report.error is None


def test_parse_notebook_flags_untagged_and_shared_solution_cells(tmp_path):
    cells = [nbformat.v4.new_markdown_cell("```{solution} a-ex-1\nText\n```\nAnd more prose."),
             nbformat.v4.new_markdown_cell("```{solution-start} a-ex-2\n```")]
    path = tmp_path / "01_a.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=cells), str(path))
    report = parse_notebook(path)
    [solution] = report.solutions
    assert not solution.tagged and not solution.dropdown and not solution.alone_in_cell
    assert report.gated_cells == [1]


def test_parse_notebook_reports_an_unreadable_file(tmp_path):
    path = tmp_path / "01_broken.ipynb"
    path.write_text("{ this is not json")
    assert parse_notebook(path).error


def test_summary_without_a_title_is_the_start_of_the_task(tmp_path):
    body = ("\n```{exercise}\n:label: a-ex-1\n\n**Difficulty:** ★☆☆ · **Time:** 5 min\n\n"
            "Use [the panel](x.ipynb) and {eq}`eq-a` to find **which** row wins. Then explain.\n```")
    path = tmp_path / "01_a.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(body)]), str(path))
    [exercise] = parse_notebook(path).exercises
    assert exercise.summary == "Use the panel and eq-a to find which row wins."


def test_difficulty_and_time_variants():
    stars, slots, minutes = registry._parse_first_line("**Difficulty:** ★★★ · **Time:** 10–15 min")
    assert (stars, slots, minutes) == (3, 3, (10, 15))
    assert registry._parse_first_line("no stars here") == (None, 0, None)


def test_catalogue_kinds_and_table_formats(toy_book):
    table = registry.catalogue_table(toy_book, package="toy_exercises", chapters=["01_toy.ipynb"])
    kinds = {row.label: row.kind for row in table.rows}
    assert kinds == {"toy-ex-1": "choice", "toy-ex-2": "number", "toy-ex-3": "function",
                     "toy-ex-4": "matrix", "toy-ex-5": "exploration"}
    assert table.rows[4].checker is None and table.rows[0].checker == "check_toy_ex_1"
    html = table._repr_html_()
    assert '<a href="01_toy.html#toy-ex-3">toy-ex-3</a>' in html and "<caption>" in html
    assert 'aria-label="3 of 3 stars"' in html
    assert "01_toy</a>: 5 exercises, 4 with a checker, about 45 min" in html
    assert table.chapter_totals() == [("01_toy", 5, 4, 45)]
    assert table.to_csv().splitlines()[0] == "label,chapter,task,kind,stars,time,checker"
    assert len(table.to_markdown().splitlines()) == 2 + 5
    assert "5 exercises, 4 with a checker, about 45 min" in table.to_text()


def test_kind_of_without_solutions():
    assert registry.kind_of(None, has_checker=True) == "checked"
    assert registry.kind_of(None, body="Move the slider of the widget") == "exploration"
    assert registry.kind_of(None, body="Explain in two sentences") == "open"
    assert registry.kind_of([1.0, 2.0]) == "vector" and registry.kind_of(0.5) == "number"


def test_a_broken_exercises_module_is_reported_not_raised(tmp_path, monkeypatch):
    package = write_exercises_package(tmp_path, "broken_exercises")
    (package / "bad.py").write_text("raise RuntimeError('half written')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    modules = {m.topic: m for m in registry.exercise_modules("broken_exercises")}
    assert "RuntimeError: half written" in modules["bad"].error
    assert modules["toy"].error is None and len(modules["toy"].checkers) == 4
    assert set(registry.all_checkers("broken_exercises")) == {f"toy-ex-{n}" for n in range(1, 5)}


def test_registry_command_line(toy_book, capsys):
    assert registry.main(["--book", str(toy_book), "--csv"]) == 0  # default package: the real one
    assert capsys.readouterr().out.startswith("label,chapter")


def test_the_book_folder_is_found_from_toc_upward_or_named(tmp_path, monkeypatch, capsys):
    assert registry.find_book_dir(BOOK) == registry.find_book_dir(REPO) == BOOK
    monkeypatch.chdir(BOOK)  # as when a notebook runs
    assert registry.find_book_dir() == BOOK
    with pytest.raises(FileNotFoundError, match="_toc.yml"):
        registry.find_book_dir(tmp_path)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit):
        registry.main(["--csv"])
    assert "no _toc.yml" in capsys.readouterr().err


def test_chapter_notebooks_are_the_chapter_table_in_book_order():
    from mgie_lessons.pipeline import CHAPTERS

    assert [p.name for p in registry.chapter_notebooks(BOOK)] == [c.notebook for c in CHAPTERS]


# ------------------------------------------------------------------------------------------
# The real book
# ------------------------------------------------------------------------------------------

ALL_NOTEBOOKS = sorted(BOOK.glob("*.ipynb"))   # the introduction and the instructor guide too
CHAPTERS = [p for p in registry.chapter_notebooks(BOOK) if p.name not in NOT_CHAPTERS]
MODULES = registry.exercise_modules()
CHECKERS = registry.all_checkers(modules=MODULES)
SOLUTIONS = registry.all_solutions(modules=MODULES)
REPORTS = {p.name: parse_notebook(p) for p in ALL_NOTEBOOKS}


def _book_exercises():
    return [exercise for report in REPORTS.values() for exercise in report.exercises]


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.topic)
def test_exercise_module_imports(module):
    assert module.error is None, f"{module.name} cannot be imported: {module.error}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_has_enough_well_formed_exercises(path):
    report = REPORTS[path.name]
    assert report.error is None, f"{path.name} cannot be read: {report.error}"
    topic = canonical_label(path.stem[3:])
    problems = []
    if len(report.exercises) < MIN_EXERCISES_PER_CHAPTER:
        problems.append(f"{len(report.exercises)} exercises, at least {MIN_EXERCISES_PER_CHAPTER} expected")
    for exercise in report.exercises:
        where = f"cell {exercise.cell} ({exercise.label or 'no label'})"
        if not exercise.label:
            problems.append(f"{where}: the exercise has no :label:")
        elif not re.fullmatch(rf"{re.escape(topic)}-ex-\d+", canonical_label(exercise.label)):
            problems.append(f"{where}: label should be {path.stem[3:]}-ex-<n>")
        if exercise.stars is None or exercise.star_slots != 3 or not 1 <= exercise.stars <= 3:
            problems.append(f"{where}: first line should start '**Difficulty:** ★★☆' (1-3 of 3 stars), "
                            f"got {exercise.first_line!r}")
        if exercise.minutes is None:
            problems.append(f"{where}: first line should give '**Time:** N min', got {exercise.first_line!r}")
    assert not problems, f"{path.name}:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_every_exercise_has_a_tagged_dropdown_solution(path):
    report = REPORTS[path.name]
    solutions = {}
    for solution in report.solutions:
        solutions.setdefault(canonical_label(solution.label), []).append(solution)
    problems = []
    for exercise in report.exercises:
        found = solutions.get(canonical_label(exercise.label), [])
        if not found:
            problems.append(f"{exercise.label}: no {{solution}} {exercise.label} directive")
    for solution in report.solutions:
        where = f"cell {solution.cell} ({{solution}} {solution.label})"
        if not solution.tagged:
            problems.append(f"{where}: the cell is not tagged 'solution' (it would reach the student edition)")
        if not solution.dropdown:
            problems.append(f"{where}: add ':class: dropdown'")
        if not solution.alone_in_cell:
            problems.append(f"{where}: a solution needs its own markdown cell (nothing else in it)")
        if canonical_label(solution.label) not in {canonical_label(e.label) for e in report.exercises}:
            problems.append(f"{where}: no exercise in this chapter has the label {solution.label!r}")
    if report.gated_cells:
        problems.append(f"cells {report.gated_cells}: use {{exercise}}/{{solution}} directives, not the "
                        "gated -start/-end form (it crashes sphinx-exercise's hide_solutions)")
    assert not problems, f"{path.name}:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda p: p.name)
def test_no_solution_outside_a_solution_cell(path):
    """Every notebook, not only chapters: a {solution} in an untagged cell would be shown."""
    report = REPORTS[path.name]
    untagged = [s.cell for s in report.solutions if not s.tagged]
    assert not untagged, f"{path.name}: {{solution}} in untagged cells {untagged}"


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda p: p.name)
def test_every_checker_a_notebook_names_exists(path):
    report = REPORTS[path.name]
    known_names = {checker.name for checker in CHECKERS.values()}
    known_modules = {module.topic for module in MODULES}
    missing = sorted(report.checker_names - known_names)
    assert not missing, f"{path.name} names checkers that do not exist: {missing}"
    missing_modules = sorted(report.exercise_modules - known_modules - {"feedback", "registry"})
    assert not missing_modules, f"{path.name} imports missing modules mgie_lessons.exercises.{missing_modules}"


def test_exercise_labels_are_unique_in_the_book():
    counts = Counter(canonical_label(e.label) for e in _book_exercises() if e.label)
    assert not [label for label, n in counts.items() if n > 1], f"duplicate labels: {counts.most_common(5)}"


@pytest.mark.parametrize("label", sorted(CHECKERS), ids=str)
def test_every_checker_has_a_solution_and_an_exercise(label):
    checker = CHECKERS[label]
    assert label in {canonical_label(key) for key in SOLUTIONS}, \
        f"{checker.module}.SOLUTIONS has no entry {checker.label!r} for {checker.name}"
    labels = {canonical_label(e.label) for e in _book_exercises()}
    assert label in labels, (f"{checker.name} checks {checker.label!r}, but no chapter notebook has an "
                             f"exercise with that label (chapter not written yet?)")


def test_the_book_has_at_least_30_exercises():
    """Passes only once every chapter has landed; run by the lead at the end."""
    exercises = _book_exercises()
    per_chapter = {p.name: len(REPORTS[p.name].exercises) for p in CHAPTERS}
    assert len(exercises) >= MIN_EXERCISES_IN_BOOK, (
        f"the book has {len(exercises)} exercises, at least {MIN_EXERCISES_IN_BOOK} are required "
        f"(per chapter: {per_chapter}; this total only passes once every chapter has landed)")


def test_instructor_guide_shows_the_current_catalogue():
    """The guide's stored table lists every exercise (re-execute it if a chapter changed:
    jupyter execute --inplace book/instructor_guide.ipynb)."""
    path = BOOK / "instructor_guide.ipynb"
    assert path.exists(), "book/instructor_guide.ipynb is missing"
    notebook = nbformat.read(str(path), as_version=4)
    shown = " ".join(str(output.get("data", {}).get("text/html", "")) for cell in notebook.cells
                     if cell.cell_type == "code" for output in cell.get("outputs", []))
    missing = [e.label for e in _book_exercises() if f">{e.label}</a>" not in shown]
    assert not missing, (f"the instructor guide's stored table misses {missing[:8]}: run "
                         "`MPLBACKEND=Agg .venv/bin/jupyter execute --inplace book/instructor_guide.ipynb`")
