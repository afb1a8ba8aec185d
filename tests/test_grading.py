"""Grading a folder of submitted notebooks: run each one, record every checker call.

Fake submissions built from the toy chapter (tests/teaching_fixtures.py) with the toy exercises
package: one all correct (answers from SOLUTIONS), one with typical wrong answers, one with cells
that raise, one that is not a notebook at all, one that changes its mind, one that never ends.
Then the real exercises: a submission passing every real SOLUTIONS entry is graded all correct.
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from mgie_lessons.teaching import grading
from mgie_lessons.exercises import registry
from mgie_lessons.teaching.student_edition import student_notebook

sys.path.insert(0, str(Path(__file__).parent))
import teaching_fixtures as fx  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TOY_LABELS = [f"toy-ex-{n}" for n in range(1, 5)]


def _submission(folder: Path, name: str, cells: list[str]) -> Path:
    """The toy chapter as a student gets it (no solutions) plus the student's code cells."""
    notebook = student_notebook(fx.toy_chapter(png=b""))
    notebook.cells += [nbformat.v4.new_code_cell(source) for source in cells]
    path = folder / f"{name}.ipynb"
    nbformat.write(notebook, str(path))
    return path


IMPORT = "from toy_exercises.toy import *\nfrom toy_exercises.toy import SOLUTIONS, WRONG_ANSWERS"


@pytest.fixture(scope="module")
def toy_env(tmp_path_factory):
    """The toy exercises package importable here and in the kernels the grader starts."""
    folder = tmp_path_factory.mktemp("pkgs")
    fx.write_exercises_package(folder)
    sys.path.insert(0, str(folder))
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = str(folder) + (os.pathsep + old if old else "")
    yield folder
    sys.path.remove(str(folder))
    if old is None:
        os.environ.pop("PYTHONPATH", None)
    else:
        os.environ["PYTHONPATH"] = old


@pytest.fixture(scope="module")
def graded(toy_env, tmp_path_factory):
    folder = tmp_path_factory.mktemp("submissions")
    _submission(folder, "alice", [IMPORT] + [f"{fx_name(label)}(SOLUTIONS[{label!r}])" for label in TOY_LABELS])
    _submission(folder, "bob", [IMPORT] + [f"{fx_name(label)}(WRONG_ANSWERS[{label!r}])" for label in TOY_LABELS[:3]])
    _submission(folder, "carol", [IMPORT, "check_toy_ex_1('B')", "ratio = 1 / 0\ncheck_toy_ex_2(ratio)",
                                  "check_toy_ex_4(weights_i_never_defined)"])
    (folder / "dave.ipynb").write_text("{ this is not a notebook")
    _submission(folder, "erin", [IMPORT, "check_toy_ex_1('C')", "check_toy_ex_1('b')",
                                 "check_toy_ex_2(0.7311)", "check_toy_ex_2(2.718281828)"])
    (folder / "notes.txt").write_text("not a notebook, ignored")
    return grading.grade_folder(folder, package=fx.PACKAGE, timeout=60)


def fx_name(label: str) -> str:
    return registry.checker_name_for(label)


def _row(report, student):
    [result] = [r for r in report.results if r.student == student]
    return {label: report.outcome(result, label) for label in report.labels}, result


def test_the_exercises_graded_are_those_the_notebooks_use(graded):
    assert graded.labels == TOY_LABELS
    assert [r.student for r in graded.results] == ["alice.ipynb", "bob.ipynb", "carol.ipynb", "dave.ipynb", "erin.ipynb"]


def test_all_correct_submission(graded):
    row, result = _row(graded, "alice.ipynb")
    assert {o.status for o in row.values()} == {"correct"}
    assert graded.score(result) == 4 and result.notes == []


def test_typical_wrong_answers_get_their_hints(graded):
    row, result = _row(graded, "bob.ipynb")
    assert [row[label].status for label in TOY_LABELS] == ["wrong", "wrong", "wrong", "missing"]
    assert "column sum to one" in row["toy-ex-1"].message
    assert "sigma(-1)" in row["toy-ex-2"].message
    assert "columns instead of rows" in row["toy-ex-3"].message
    assert graded.score(result) == 0


def test_cells_that_raise_become_notes_and_missing_answers(graded):
    row, result = _row(graded, "carol.ipynb")
    assert [row[label].status for label in TOY_LABELS] == ["correct", "missing", "missing", "missing"]
    assert any("ZeroDivisionError" in note and "ratio = 1 / 0" in note for note in result.notes)
    assert any("NameError" in note for note in result.notes)
    assert result.ran


def test_a_file_that_is_not_a_notebook_is_a_row_saying_so(graded):
    row, result = _row(graded, "dave.ipynb")
    assert not result.ran and {o.status for o in row.values()} == {"not run"}
    assert "could not read the notebook" in result.notes[0]


def test_the_last_call_of_each_checker_counts(graded):
    row, _ = _row(graded, "erin.ipynb")
    assert row["toy-ex-1"].status == "correct"          # C, then b
    assert row["toy-ex-2"].status == "wrong"            # right, then e
    assert "divide by 1 + e" in row["toy-ex-2"].message


def test_table_shows_grades_hints_notes_and_totals(graded):
    table = grading.format_table(graded)
    lines = table.splitlines()
    header = next(line for line in lines if line.startswith("student"))
    assert header.split() == ["student"] + TOY_LABELS + ["score"]
    assert next(l for l in lines if l.startswith("alice.ipynb")).split() == ["alice.ipynb"] + ["correct"] * 4 + ["4/4"]
    assert next(l for l in lines if l.startswith("bob.ipynb")).split() == \
        ["bob.ipynb", "wrong", "[1]", "wrong", "[2]", "wrong", "[3]", "missing", "0/4"]
    assert next(l for l in lines if l.startswith("dave.ipynb")).split() == ["dave.ipynb"] + ["not", "run"] * 4 + ["0/4"]
    assert next(l for l in lines if l.startswith("correct")).split() == ["correct", "3/5", "1/5", "1/5", "1/5", "6/20"]
    assert "[2] bob.ipynb / toy-ex-2: That is sigma(-1)" in table
    assert "carol.ipynb: cell" in table and "ZeroDivisionError" in table
    assert "Traceback" not in table


def test_csv_has_one_row_per_student(graded):
    rows = list(csv.DictReader(io.StringIO(grading.to_csv(graded))))
    assert [r["student"] for r in rows] == [r.student for r in graded.results]
    bob = rows[1]
    assert bob["toy-ex-1"].startswith("wrong: A would make every column") and bob["toy-ex-4"] == "missing"
    assert (bob["score"], bob["out_of"]) == ("0", "4")
    assert rows[3]["toy-ex-1"] == "not run" and "could not read" in rows[3]["notes"]


def test_stored_outputs_are_not_trusted(toy_env, tmp_path):
    """A notebook whose stored output claims 'Correct.' but whose code is wrong is graded wrong."""
    path = _submission(tmp_path, "mallory", [IMPORT, "check_toy_ex_2(0.5)"])
    notebook = nbformat.read(str(path), as_version=4)
    notebook.cells[-1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="Correct. sigma(1) = 0.731 matches.")]
    nbformat.write(notebook, str(path))
    report = grading.grade_folder(tmp_path, package=fx.PACKAGE, labels=["toy-ex-2"])
    assert report.outcome(report.results[0], "toy-ex-2").status == "wrong"


def test_a_cell_that_never_ends_is_stopped(toy_env, tmp_path):
    _submission(tmp_path, "slow", [IMPORT, "check_toy_ex_1('B')", "import time\ntime.sleep(60)", "check_toy_ex_2(0.7311)"])
    report = grading.grade_folder(tmp_path, package=fx.PACKAGE, timeout=10)
    row, result = _row(report, "slow.ipynb")
    assert row["toy-ex-1"].status == "correct" and row["toy-ex-2"].status == "missing"
    assert any("longer than 10 s" in note for note in result.notes)


def test_recorder_wraps_checkers_in_process(toy_env, tmp_path, monkeypatch):
    import toy_exercises.toy as toy

    for name in [n for n in vars(toy) if n.startswith("check_toy_ex_")]:
        monkeypatch.setattr(toy, name, getattr(toy, name))  # restored after the test
    record = tmp_path / "calls.jsonl"
    assert grading.install_recorder(record, fx.PACKAGE) == 4
    assert grading.install_recorder(record, fx.PACKAGE) == 0  # already wrapped: not twice
    feedback = toy.check_toy_ex_1("B")
    assert feedback.correct  # the student still sees the checker's Feedback
    toy.check_toy_ex_2("not a number")
    assert [(r["label"], r["correct"]) for r in grading.read_records(record)] == [("toy-ex-1", True), ("toy-ex-2", False)]


def test_command_line_prints_table_and_writes_csv(toy_env, tmp_path):
    folder = tmp_path / "subs"
    folder.mkdir()
    _submission(folder, "alice", [IMPORT, "check_toy_ex_1(SOLUTIONS['toy-ex-1'])"])
    (folder / "broken.ipynb").write_text("")
    out_csv = tmp_path / "grades.csv"
    env = {**os.environ, "MPLBACKEND": "Agg"}
    completed = subprocess.run([sys.executable, "-m", "mgie_lessons.teaching.grading", str(folder), "--csv", str(out_csv),
                                "--package", fx.PACKAGE, "--quiet"], capture_output=True, text=True, env=env,
                               timeout=300, cwd=REPO)
    assert completed.returncode == 0, completed.stderr
    assert "alice.ipynb" in completed.stdout and "broken.ipynb" in completed.stdout
    assert "Traceback" not in completed.stdout + completed.stderr
    header = out_csv.read_text().splitlines()[0]  # every exercise the chapter names, called or not
    assert header == "student," + ",".join(TOY_LABELS) + ",score,out_of,notes"


def test_command_line_errors_are_messages_not_tracebacks(toy_env, tmp_path, capsys):
    assert grading.main([str(tmp_path / "missing")]) == 2
    assert "is not a folder" in capsys.readouterr().err
    assert grading.main([str(tmp_path), "--exercises", "toy-ex-99", "--package", fx.PACKAGE]) == 2
    assert "no checker for toy-ex-99" in capsys.readouterr().err
    assert grading.main([str(tmp_path), "--package", fx.PACKAGE, "--quiet"]) == 0
    assert "No notebooks" in capsys.readouterr().out


def test_every_real_solution_is_graded_correct(tmp_path):
    """One submission calling every real checker with its SOLUTIONS entry, run through the grader."""
    solutions = registry.all_solutions()
    checkers = registry.all_checkers()
    labels = sorted(label for label in solutions if registry.canonical_label(label) in checkers)
    assert labels, "no exercise has both a checker and a stored solution"
    cells = []
    for label in labels:
        checker = checkers[registry.canonical_label(label)]
        module = checker.module
        cells.append(f"from {module} import {checker.name}, SOLUTIONS as _S\n{checker.name}(_S[{label!r}])")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nbformat.write(notebook, str(tmp_path / "key.ipynb"))
    report = grading.grade_folder(tmp_path, timeout=120)
    [result] = report.results
    wrong = {label: str(report.outcome(result, label)) for label in report.labels
             if report.outcome(result, label).status != "correct"}
    assert not wrong and len(report.labels) == len(labels), (wrong, result.notes)
