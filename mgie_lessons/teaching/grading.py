"""Grade a folder of submitted student notebooks with the exercise checkers.

    python -m mgie_lessons.teaching.grading SUBMISSIONS_DIR [--csv FILE|-] [--exercises LABELS]
                                                            [--timeout SECONDS]

**The convention for students.** Answer each checkable exercise in a code cell that calls its
checker on the answer, exactly as the exercise shows, e.g.::

    from mgie_lessons.exercises.attention import check_attention_ex_2
    check_attention_ex_2(my_weights)

and hand in the notebook (``.ipynb``). Any number of attempts is fine: **the last call of each
checker, running the notebook from top to bottom, is the answer graded.**

**What the grader does.** It never trusts the outputs stored in a submission. For each
notebook it runs a copy, from top to bottom, in a fresh kernel of the current Python environment
(nbclient; each cell has a time limit; a cell that raises does not stop the run) with one cell
added first: :func:`install_recorder` replaces every ``check_<topic>_ex_<n>`` function in the
exercises modules with a wrapper that calls the real checker and appends its verdict
(:class:`~mgie_lessons.exercises.feedback.Feedback`) to a record file. The checkers themselves
and ``feedback.py`` are unchanged; a student who imports a checker gets the wrapper because the
module attribute is replaced before any student cell runs.

The exercises graded are the checkable exercises whose checker any submission mentions
(so handing out chapter 2 grades chapter 2's exercises), or those given with ``--exercises``.
Each (student, exercise) is ``correct``, ``wrong`` (with the checker's hint), ``missing``
(the checker was never called, or a cell raised before it was) or ``not run`` (the notebook could
not be read or executed at all). The instructor never sees a traceback: a broken notebook is a
row saying what went wrong.

This runs the students' code with your permissions: for submissions you do not trust, run the
command inside a container or a throwaway account.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from mgie_lessons.exercises.registry import (CHECKER_MENTION, EXERCISE_PACKAGE, all_checkers,
                                             canonical_label, cell_source, checker_name_for,
                                             exercise_modules, label_for_checker)

__all__ = ["install_recorder", "read_records", "Outcome", "SubmissionResult", "GradeReport",
           "grade_notebook", "grade_folder", "format_table", "to_csv", "main"]

CORRECT, WRONG, MISSING, NOT_RUN = "correct", "wrong", "missing", "not run"
RECORDER_MARK = "# mgie-lessons grader: records every checker call"
_CURRENT_ENV = "mgie-lessons-current-env"


# --------------------------------------------------------------------------------------------
# Inside the kernel: the recording hook
# --------------------------------------------------------------------------------------------

def _record(path: str, entry: dict) -> None:
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry) + "\n")
        handle.flush()


def _execution_count() -> int | None:
    try:
        from IPython import get_ipython

        shell = get_ipython()
        return int(shell.execution_count) if shell is not None else None
    except Exception:
        return None


def _recording(function, label: str, path: str):
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            result = function(*args, **kwargs)
        except Exception as error:
            _record(path, {"label": label, "correct": False, "execution_count": _execution_count(),
                           "message": f"the checker raised {type(error).__name__}: {error}"})
            raise
        correct = bool(getattr(result, "correct", result))
        message = str(getattr(result, "message", result))
        _record(path, {"label": label, "correct": correct, "message": message,
                       "execution_count": _execution_count()})
        return result

    wrapper.__mgie_recorded__ = True
    return wrapper


def install_recorder(path, package: str = EXERCISE_PACKAGE) -> int:
    """Wrap every checker of every exercises module so each call appends its verdict to the
    JSON-lines file ``path``. Returns how many checker attributes were wrapped.

    Called by the cell the grader adds at the top of each submission; calling it yourself in a
    notebook is harmless (the checkers still return their Feedback).
    """
    import importlib

    path = str(path)
    wrapped: dict[int, object] = {}
    count = 0
    for info in exercise_modules(package):
        if info.error:
            continue
        module = importlib.import_module(info.name)
        for name, function in info.checkers.items():
            if getattr(function, "__mgie_recorded__", False):
                continue
            if id(function) not in wrapped:
                wrapped[id(function)] = _recording(function, label_for_checker(name), path)
            setattr(module, name, wrapped[id(function)])
            count += 1
    return count


def read_records(path) -> list[dict]:
    """The checker calls recorded in ``path`` (malformed lines are skipped)."""
    records = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError:
        return records
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and "label" in entry:
            records.append(entry)
    return records


# --------------------------------------------------------------------------------------------
# Running one submission
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Outcome:
    """The verdict for one student on one exercise."""

    status: str           # correct, wrong, missing, not run
    message: str = ""

    def __str__(self) -> str:
        return f"{self.status}: {self.message}" if self.message and self.status != CORRECT else self.status


@dataclass
class SubmissionResult:
    """Everything the grader learnt from one notebook."""

    student: str
    outcomes: dict = field(default_factory=dict)   # canonical label -> Outcome (graded calls)
    mentioned: set = field(default_factory=set)    # canonical labels whose checker the notebook names
    notes: list = field(default_factory=list)
    ran: bool = True
    seconds: float = 0.0


def _kernel_manager_class():
    import ipykernel.kernelspec
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager

    class CurrentEnvSpecs(KernelSpecManager):
        def get_kernel_spec(self, kernel_name):
            if kernel_name == _CURRENT_ENV:
                return KernelSpec(resource_dir=ipykernel.kernelspec.RESOURCES,
                                  **ipykernel.kernelspec.get_kernel_dict())
            return super().get_kernel_spec(kernel_name)

    class CurrentEnvKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs):
            kwargs.setdefault("kernel_spec_manager", CurrentEnvSpecs())
            super().__init__(**kwargs)

    return CurrentEnvKernelManager


def _first_line(cell) -> str:
    for line in cell_source(cell).splitlines():
        if line.strip():
            text = line.strip()
            return text if len(text) <= 50 else text[:47] + "..."
    return ""


def _cell_errors(notebook) -> list[str]:
    notes = []
    for index, cell in enumerate(notebook.cells[1:], start=1):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                value = str(output.get("evalue", "")).strip().splitlines()
                value = value[0] if value else ""
                notes.append(f"cell {index} of {len(notebook.cells) - 1} (`{_first_line(cell)}`) raised {output.get('ename', 'an error')}"
                             + (f": {value[:120]}" if value else ""))
    return notes


def grade_notebook(path, *, package: str = EXERCISE_PACKAGE, timeout: float = 120,
                   startup_timeout: float = 60) -> SubmissionResult:
    """Run one submitted notebook with the recording hook and collect its checker verdicts.

    Never raises for a bad submission: unreadable notebooks, cells that raise, cells that run
    longer than ``timeout`` seconds and dying kernels all become notes on the result.
    """
    import nbformat

    path = Path(path)
    result = SubmissionResult(student=path.name)
    started = time.perf_counter()
    try:
        notebook = nbformat.read(str(path), as_version=4)
    except Exception as error:
        result.ran = False
        result.notes.append(f"could not read the notebook ({type(error).__name__}: {str(error)[:160]})")
        return result
    for cell in notebook.cells:
        for name in CHECKER_MENTION.findall(cell_source(cell)):
            result.mentioned.add(canonical_label(label_for_checker(name)))
    if not any(cell.get("cell_type") == "code" for cell in notebook.cells):
        result.notes.append("the notebook has no code cells")
    workdir = Path(tempfile.mkdtemp(prefix="mgie-grade-"))
    record_path = workdir / "checker-calls.jsonl"
    try:
        from nbclient import NotebookClient
        from nbclient.exceptions import CellTimeoutError, DeadKernelError

        recorder = nbformat.v4.new_code_cell(
            f"{RECORDER_MARK} (added by the grader)\n"
            "import mgie_lessons.teaching.grading as _mgie_grading\n"
            f"_mgie_grading.install_recorder({str(record_path)!r}, {package!r})\n"
            "del _mgie_grading")
        notebook.cells.insert(0, recorder)
        for cell in notebook.cells:  # a notebook's own execution settings must not stop grading
            cell.get("metadata", {}).pop("execution", None)
        client = NotebookClient(
            notebook, timeout=timeout, startup_timeout=startup_timeout, allow_errors=True,
            kernel_name=_CURRENT_ENV, kernel_manager_class=_kernel_manager_class(),
            resources={"metadata": {"path": str(workdir)}}, record_timing=False)
        env_backend = os.environ.get("MPLBACKEND")
        os.environ["MPLBACKEND"] = "Agg"
        try:
            # The kernel's own log (e.g. its transport warning) is not for the instructor.
            client.execute(stderr=subprocess.DEVNULL)
        except CellTimeoutError:
            result.notes.append(f"stopped: a cell ran longer than {timeout:g} s")
        except DeadKernelError:
            result.notes.append("stopped: the kernel died (out of memory, or the code exited Python)")
        except Exception as error:  # anything else nbclient raises: a note, not a traceback
            message = str(error).strip().splitlines()
            result.notes.append(f"stopped: {type(error).__name__}"
                                + (f": {message[-1][:160]}" if message else ""))
        finally:
            if env_backend is None:
                os.environ.pop("MPLBACKEND", None)
            else:
                os.environ["MPLBACKEND"] = env_backend
        recorder_outputs = notebook.cells[0].get("outputs", [])
        if any(o.get("output_type") == "error" for o in recorder_outputs):
            result.ran = False
            result.notes.append("the grader's recording cell failed: is mgie_lessons installed in this environment?")
        result.notes.extend(_cell_errors(notebook))
        for entry in read_records(record_path):
            message = str(entry.get("message", ""))
            result.outcomes[canonical_label(entry["label"])] = Outcome(
                CORRECT if entry.get("correct") else WRONG, "" if entry.get("correct") else message)
    except Exception as error:  # e.g. the kernel could not start
        result.ran = False
        result.notes.append(f"could not run the notebook ({type(error).__name__}: {str(error)[:160]})")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        result.seconds = time.perf_counter() - started
    return result


# --------------------------------------------------------------------------------------------
# A folder of submissions
# --------------------------------------------------------------------------------------------

def _chapter_numbers() -> dict[str, int]:
    """topic (canonical) -> chapter number, from the chapter table (:data:`mgie_lessons.pipeline.CHAPTERS`)."""
    from mgie_lessons.pipeline import CHAPTERS

    return {canonical_label(chapter.module): chapter.number for chapter in CHAPTERS}


def _label_key(label: str, chapters: dict | None = None):
    match = re.match(r"^(.*)-ex-(\d+)$", canonical_label(label))
    if not match:
        return (99, label, 0)
    return ((chapters or {}).get(match.group(1), 99), match.group(1), int(match.group(2)))


@dataclass
class GradeReport:
    """The grades of a folder: one :class:`SubmissionResult` per notebook, the exercises graded
    (labels as the book writes them, in book order)."""

    folder: Path
    labels: list
    results: list
    seconds: float = 0.0

    def outcome(self, result: SubmissionResult, label: str) -> Outcome:
        label = canonical_label(label)
        if label in result.outcomes:
            return result.outcomes[label]
        if not result.ran:
            return Outcome(NOT_RUN)
        return Outcome(MISSING)

    def score(self, result: SubmissionResult) -> int:
        return sum(self.outcome(result, label).status == CORRECT for label in self.labels)

    def correct_count(self, label: str) -> int:
        return sum(self.outcome(r, label).status == CORRECT for r in self.results)


def _order_labels(labels, known: dict) -> list[str]:
    """Canonical labels -> labels as the book writes them, in book order (chapter, number)."""
    chapters = _chapter_numbers()
    ordered = sorted(set(labels), key=lambda label: _label_key(label, chapters))
    return [known[label].label if label in known else label for label in ordered]


def grade_folder(folder, *, labels=None, package: str = EXERCISE_PACKAGE, timeout: float = 120,
                 progress=None) -> GradeReport:
    """Grade every ``*.ipynb`` in ``folder`` (not recursive; checkpoints are skipped).

    ``labels``: the exercises to grade (labels as in the book); default: every checkable
    exercise whose checker a submission names or calls.
    """
    started = time.perf_counter()
    folder = Path(folder)
    checkers = all_checkers(package)
    paths = sorted(p for p in folder.glob("*.ipynb") if p.is_file())
    results = []
    for number, path in enumerate(paths, start=1):
        if progress:
            progress(f"[{number}/{len(paths)}] running {path.name}")
        results.append(grade_notebook(path, package=package, timeout=timeout))
    if labels is None:
        wanted = set()
        for result in results:
            wanted |= result.mentioned | set(result.outcomes)
        wanted &= set(checkers)
    else:
        wanted = {canonical_label(label) for label in labels}
    report = GradeReport(folder, _order_labels(wanted, checkers), results)
    report.seconds = time.perf_counter() - started
    return report


def _cell_text(outcome: Outcome, footnote: int | None) -> str:
    if outcome.status == WRONG and footnote is not None:
        return f"wrong [{footnote}]"
    return outcome.status


def format_table(report: GradeReport) -> str:
    """The grades as a fixed-width table (student x exercise), then the hints for wrong answers,
    the notes on each notebook, and totals."""
    if not report.results:
        return f"No notebooks (*.ipynb) found in {report.folder}."
    headers = ["student"] + report.labels + ["score"]
    rows, hints = [], []
    for result in report.results:
        row = [result.student]
        for label in report.labels:
            outcome = report.outcome(result, label)
            footnote = None
            if outcome.status == WRONG:
                hints.append(f"{result.student} / {label}: {outcome.message or '(no hint)'}")
                footnote = len(hints)
            row.append(_cell_text(outcome, footnote) if result.ran or outcome.status != NOT_RUN else NOT_RUN)
        row.append(f"{report.score(result)}/{len(report.labels)}")
        rows.append(row)
    count = len(report.results)
    rows.append(["correct"] + [f"{report.correct_count(label)}/{count}" for label in report.labels]
                + [f"{sum(report.score(r) for r in report.results)}/{count * len(report.labels)}"])
    widths = [max(len(str(r[i])) for r in rows + [headers]) for i in range(len(headers))]

    def line(cells):
        return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()

    out = [f"Graded {count} notebook{'s' * (count != 1)} in {report.folder} "
           f"({len(report.labels)} exercise{'s' * (len(report.labels) != 1)}, {report.seconds:.0f} s).", ""]
    if not report.labels:
        out.append("No checkable exercise was found: no submission calls or names a checker "
                   "(check_<topic>_ex_<n>). Use --exercises to name them.")
        out.append("")
    out += [line(headers), line(["-" * w for w in widths])]
    out += [line(r) for r in rows[:-1]]
    out += [line(["-" * w for w in widths]), line(rows[-1])]
    if hints:
        out += ["", "Hints given for wrong answers:"]
        out += [f"  [{number}] {hint}" for number, hint in enumerate(hints, start=1)]
    notes = [(r.student, note) for r in report.results for note in r.notes]
    if notes:
        out += ["", "Notes:"]
        out += [f"  {student}: {note}" for student, note in notes]
    out += ["", "correct = the last call of the checker said correct; wrong = it did not (hint above); "
            "missing = the checker was never called; not run = the notebook could not be run."]
    return "\n".join(out)


def to_csv(report: GradeReport) -> str:
    """One row per student: the outcome of every exercise (with the hint when wrong), the score
    and the notes."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student"] + report.labels + ["score", "out_of", "notes"])
    for result in report.results:
        writer.writerow([result.student] + [str(report.outcome(result, label)) for label in report.labels]
                        + [report.score(result), len(report.labels), " | ".join(result.notes)])
    return buffer.getvalue()


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m mgie_lessons.teaching.grading",
        description="Run every submitted notebook in a folder and grade its checker calls.")
    parser.add_argument("submissions", help="folder of submitted notebooks (*.ipynb)")
    parser.add_argument("--csv", metavar="FILE", help="also write the grades as CSV to FILE ('-' for stdout only)")
    parser.add_argument("--exercises", metavar="LABELS",
                        help="comma-separated exercise labels to grade (default: those the notebooks use)")
    parser.add_argument("--timeout", type=float, default=120, help="seconds allowed per cell (default 120)")
    parser.add_argument("--package", default=EXERCISE_PACKAGE, help=argparse.SUPPRESS)
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)
    folder = Path(args.submissions)
    if not folder.is_dir():
        print(f"grading: {folder} is not a folder", file=sys.stderr)
        return 2
    labels = [label.strip() for label in args.exercises.split(",") if label.strip()] if args.exercises else None
    if labels:
        known = all_checkers(args.package)
        unknown = [label for label in labels if canonical_label(label) not in known]
        if unknown:
            print(f"grading: no checker for {', '.join(unknown)} (expected e.g. {checker_name_for(unknown[0])})",
                  file=sys.stderr)
            return 2
    progress = None if args.quiet else (lambda text: print(text, file=sys.stderr, flush=True))
    try:
        report = grade_folder(folder, labels=labels, package=args.package, timeout=args.timeout,
                              progress=progress)
    except Exception as error:  # never a traceback at the instructor
        print(f"grading failed: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    if args.csv == "-":
        sys.stdout.write(to_csv(report))
        return 0
    print(format_table(report))
    if args.csv:
        Path(args.csv).write_text(to_csv(report), encoding="utf-8")
        print(f"\nCSV written to {args.csv}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
