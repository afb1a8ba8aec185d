"""The catalogue of exercises: what the notebooks ask, and what the checkers check.

Two sources are read and matched by exercise label (``<topic>-ex-<n>``):

* the chapter notebooks (those of :data:`mgie_lessons.pipeline.CHAPTERS`): every ``{exercise}`` directive (its label,
  title, and the first line ``**Difficulty:** ★★☆ · **Time:** 10 min``) and every
  ``{solution}`` directive (which cell it sits in, whether that cell is tagged ``solution``,
  whether it is a dropdown);
* the checker modules ``mgie_lessons/exercises/<topic>.py``: every function named
  ``check_<topic>_ex_<n>`` and the module-level dict ``SOLUTIONS`` (label -> a correct answer
  or a correct function).

Used by the instructor guide (the exercise table), the grading tool
(:mod:`mgie_lessons.teaching.grading`), the student edition
(:mod:`mgie_lessons.teaching.student_edition`) and
``tests/test_exercise_catalogue.py``. Run ``python -m mgie_lessons.exercises.registry`` to print
the catalogue (``--markdown`` or ``--csv`` for other formats).

:func:`parse_directives` finds the fenced MyST directives of a piece of markdown with
markdown-it-py and its ``colon_fence`` plugin (what MyST parses with), skipping ordinary code
blocks, so an example of the directive syntax inside a code block is not mistaken for a real
exercise.
"""

from __future__ import annotations

import csv
import functools
import html
import importlib
import io
import numbers
import pkgutil
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

__all__ = [
    "EXERCISE_PACKAGE", "Directive", "parse_directives", "canonical_label", "checker_name_for",
    "label_for_checker", "ExerciseModule", "exercise_modules", "all_checkers", "all_solutions",
    "Exercise", "Solution", "NotebookExercises", "parse_notebook", "chapter_notebooks",
    "find_book_dir", "CHECKER_MENTION", "cell_tags", "is_solution_cell", "kind_of", "CatalogueRow", "catalogue",
    "CatalogueTable", "catalogue_table",
]

EXERCISE_PACKAGE = "mgie_lessons.exercises"
NOT_EXERCISE_MODULES = {"feedback", "registry"}

# --------------------------------------------------------------------------------------------
# MyST fenced directives, read with markdown-it-py (the parser MyST itself is built on)
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Directive:
    """One fenced MyST directive found in a piece of markdown.

    ``start`` and ``end`` are 0-based line numbers of the opening and closing fence (``end`` is
    the last line of the text when the fence is never closed, and then ``closed`` is False).
    ``body`` is the text after the options.
    """

    name: str
    argument: str
    options: dict
    body: str
    start: int
    end: int
    closed: bool
    depth: int

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(str(self.options.get("class", "")).split())


@functools.lru_cache(maxsize=1)
def _markdown_parser():
    from markdown_it import MarkdownIt
    from mdit_py_plugins.colon_fence import colon_fence_plugin

    return MarkdownIt("commonmark").use(colon_fence_plugin).disable(["inline", "text_join"])  # blocks only


def _read_options(lines: list[str]) -> tuple[dict, list[str]]:
    """The directive's options (``:key: value`` lines, or a ``---`` YAML block) and the body lines."""
    if lines and lines[0].strip() == "---" and "---" in (line.strip() for line in lines[1:]):
        import yaml

        close = 1 + [line.strip() for line in lines[1:]].index("---")
        options = yaml.safe_load("\n".join(lines[1:close])) or {}
        return {str(k): str(v) for k, v in options.items()}, lines[close + 1:]
    options: dict = {}
    index = 0
    while index < len(lines) and lines[index].startswith(":") and ":" in lines[index][1:]:
        key, _, value = lines[index][1:].partition(":")
        options[key.strip()] = value.strip()
        index += 1
    return options, lines[index:]


def _parse(text: str, offset: int, depth: int, found: list[Directive]) -> None:
    lines = text.splitlines()
    for token in _markdown_parser().parse(text):
        if token.type not in ("fence", "colon_fence") or not token.info.startswith("{") or "}" not in token.info:
            continue  # ordinary code blocks (```python, ````md) are skipped with their contents
        name, _, argument = token.info[1:].partition("}")
        first, after = token.map
        last = lines[after - 1].strip() if after - 1 > first else ""
        closed = len(last) >= len(token.markup) and set(last) == {token.markup[0]}
        inner = token.content.splitlines()
        options, body = _read_options(inner)
        found.append(Directive(name.strip(), argument.strip(), options, "\n".join(body),
                               offset + first, offset + after - 1, closed, depth))
        _parse("\n".join(body), offset + first + 1 + len(inner) - len(body), depth + 1, found)


def parse_directives(text: str) -> list[Directive]:
    """Every fenced directive in ``text`` (```` ```{name} ````, ```` ````{name} ```` or
    ``:::{name}``; nested ones too), in document order.

    Ordinary code blocks (```` ```python ````, ```` ````md ````...) are skipped with their
    contents, so examples of directive syntax shown inside them are not reported.
    """
    found: list[Directive] = []
    _parse(text, 0, 0, found)
    return sorted(found, key=lambda d: d.start)


# --------------------------------------------------------------------------------------------
# Labels and checker names
# --------------------------------------------------------------------------------------------

_CHECKER_NAME = re.compile(r"^check_(?P<topic>[a-z0-9_]+?)_ex_(?P<number>\d+)$")
#: A checker named anywhere in a text (a notebook cell, a submission): shared with the grader.
CHECKER_MENTION = re.compile(r"\bcheck_[a-z0-9_]+?_ex_\d+\b")
_MODULE_MENTION = re.compile(r"\bmgie_lessons\.exercises\.([A-Za-z_][A-Za-z0-9_]*)")
_LABEL = re.compile(r"^(?P<topic>[a-z0-9][a-z0-9_-]*?)-ex-(?P<number>\d+)$")


def canonical_label(label: str) -> str:
    """The form used to match labels, checker names and SOLUTIONS keys: lower case, '-' for '_'."""
    return str(label).strip().lower().replace("_", "-")


def checker_name_for(label: str) -> str:
    """``attention-ex-2`` -> ``check_attention_ex_2`` (``visual-tokens-ex-1`` ->
    ``check_visual_tokens_ex_1``)."""
    return "check_" + canonical_label(label).replace("-", "_")


def label_for_checker(name: str) -> str:
    """``check_visual_tokens_ex_1`` -> ``visual_tokens-ex-1`` (``<topic>-ex-<n>``)."""
    match = _CHECKER_NAME.match(name)
    if not match:
        raise ValueError(f"name must look like check_<topic>_ex_<n>, got {name!r}")
    return f"{match['topic']}-ex-{int(match['number'])}"


# --------------------------------------------------------------------------------------------
# Checker modules
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ExerciseModule:
    """One ``mgie_lessons/exercises/<topic>.py``: its checkers (name -> function), its
    ``SOLUTIONS`` and, if importing it failed, the error (then the other fields are empty)."""

    name: str
    topic: str
    checkers: dict = field(default_factory=dict)
    solutions: dict = field(default_factory=dict)
    error: str | None = None


def exercise_modules(package: str = EXERCISE_PACKAGE) -> list[ExerciseModule]:
    """Import every module of the exercises package (except ``feedback`` and ``registry``).

    A module that fails to import is returned with its ``error`` set instead of raising, so one
    chapter's broken module does not hide the others.
    """
    root = importlib.import_module(package)
    modules = []
    for info in sorted(pkgutil.iter_modules(root.__path__), key=lambda i: i.name):
        if info.name in NOT_EXERCISE_MODULES or info.name.startswith("_"):
            continue
        full_name = f"{package}.{info.name}"
        try:
            module = importlib.import_module(full_name)
        except Exception as error:  # report, never raise: the catalogue test shows it
            modules.append(ExerciseModule(full_name, info.name, error=f"{type(error).__name__}: {error}"))
            continue
        checkers = {name: value for name, value in vars(module).items()
                    if _CHECKER_NAME.match(name) and callable(value)}
        solutions = getattr(module, "SOLUTIONS", {})
        if not isinstance(solutions, dict):
            modules.append(ExerciseModule(full_name, info.name, checkers,
                                          error=f"SOLUTIONS is a {type(solutions).__name__}, not a dict"))
            continue
        modules.append(ExerciseModule(full_name, info.name, checkers, dict(solutions)))
    return modules


@dataclass(frozen=True)
class Checker:
    """A checker function with the label it checks and the module it lives in."""

    label: str
    name: str
    module: str
    function: Callable


def all_checkers(package: str = EXERCISE_PACKAGE,
                 modules: Iterable[ExerciseModule] | None = None) -> dict[str, Checker]:
    """canonical label -> :class:`Checker`, over every exercises module.

    A checker imported into a second module is listed once, under the module whose topic
    matches its name.
    """
    result: dict[str, Checker] = {}
    for module in (exercise_modules(package) if modules is None else modules):
        for name, function in module.checkers.items():
            key = canonical_label(label_for_checker(name))
            home = name.startswith(f"check_{module.topic}_ex_")
            if key not in result or home:
                result[key] = Checker(label_for_checker(name), name, module.name, function)
    return result


def all_solutions(package: str = EXERCISE_PACKAGE,
                  modules: Iterable[ExerciseModule] | None = None) -> dict[str, object]:
    """label -> correct answer (or correct function), merged over every module's ``SOLUTIONS``."""
    result: dict[str, object] = {}
    for module in (exercise_modules(package) if modules is None else modules):
        result.update(module.solutions)
    return result


# --------------------------------------------------------------------------------------------
# Notebooks
# --------------------------------------------------------------------------------------------

_DIFFICULTY = re.compile(r"\*\*\s*Difficulty\s*:?\s*\*\*\s*:?\s*(?P<stars>[★☆]+)")
_TIME = re.compile(r"\*\*\s*Time\s*:?\s*\*\*\s*:?\s*(?P<low>\d+)(?:\s*(?:-|–|to)\s*(?P<high>\d+))?\s*min")


def cell_tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []) or [])


def is_solution_cell(cell) -> bool:
    """A cell tagged ``solution`` (markdown holding a ``{solution}``, or code belonging to one)."""
    return "solution" in cell_tags(cell)


def cell_source(cell) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


@dataclass(frozen=True)
class Exercise:
    """One ``{exercise}`` directive of a chapter notebook."""

    label: str
    notebook: str
    cell: int
    title: str
    first_line: str
    stars: int | None
    star_slots: int
    minutes: tuple[int, int] | None
    body: str
    checker_names: tuple[str, ...]

    @property
    def chapter(self) -> str:
        return Path(self.notebook).stem

    @property
    def summary(self) -> str:
        """The title if the directive has one, else the start of the task's first sentence."""
        if self.title:
            return self.title
        lines = [line.strip() for line in self.body.splitlines() if line.strip()]
        text = " ".join(lines[1:3]) if len(lines) > 1 else ""
        text = re.sub(r"```.*", "", text)
        text = re.sub(r"\{[\w:-]+\}`([^`<]*)(?:<[^>]*>)?`", r"\1", text)   # roles -> their text
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)                # links -> their text
        text = re.sub(r"\*\*|(?<!\w)\*|\*(?!\w)|`", "", text).strip()
        text = re.split(r"(?<=[.?!])\s", text, maxsplit=1)[0]
        if len(text) <= 72:
            return text
        cut = text[:69]
        if cut.count("$") % 2:  # never cut inside $...$ math
            cut = cut[:cut.rfind("$")]
        return cut.rstrip(" ,;(") + "..."

    @property
    def difficulty(self) -> str:
        return "★" * (self.stars or 0) + "☆" * max(self.star_slots - (self.stars or 0), 0)

    @property
    def time(self) -> str:
        if self.minutes is None:
            return ""
        low, high = self.minutes
        return f"{low} min" if low == high else f"{low}–{high} min"


@dataclass(frozen=True)
class Solution:
    """One ``{solution}`` directive: the exercise label it answers (its argument), its cell,
    whether that cell is tagged ``solution``, its classes, and whether the cell holds nothing
    but this directive."""

    label: str
    notebook: str
    cell: int
    tagged: bool
    classes: tuple[str, ...]
    alone_in_cell: bool

    @property
    def dropdown(self) -> bool:
        return "dropdown" in self.classes


@dataclass
class NotebookExercises:
    """Everything exercise-related found in one notebook."""

    path: Path
    exercises: list[Exercise] = field(default_factory=list)
    solutions: list[Solution] = field(default_factory=list)
    checker_names: set = field(default_factory=set)
    exercise_modules: set = field(default_factory=set)
    solution_cells: list[int] = field(default_factory=list)
    gated_cells: list[int] = field(default_factory=list)
    error: str | None = None

    @property
    def name(self) -> str:
        return self.path.name


def _first_line(body: str) -> str:
    for line in body.splitlines():
        if line.strip():
            return line.strip()
    return ""


def _parse_first_line(line: str) -> tuple[int | None, int, tuple[int, int] | None]:
    stars, slots, minutes = None, 0, None
    match = _DIFFICULTY.search(line)
    if match:
        stars, slots = match["stars"].count("★"), len(match["stars"])
    match = _TIME.search(line)
    if match:
        low = int(match["low"])
        minutes = (low, int(match["high"]) if match["high"] else low)
    return stars, slots, minutes


def parse_notebook(path) -> NotebookExercises:
    """Read one notebook's exercises, solutions and checker mentions (never raises: an
    unreadable notebook comes back with ``error`` set)."""
    import nbformat

    path = Path(path)
    report = NotebookExercises(path)
    try:
        notebook = nbformat.read(str(path), as_version=4)
    except Exception as error:
        report.error = f"{type(error).__name__}: {error}"
        return report
    for index, cell in enumerate(notebook.cells):
        source = cell_source(cell)
        tagged = is_solution_cell(cell)
        if tagged:
            report.solution_cells.append(index)
        report.checker_names.update(CHECKER_MENTION.findall(source))
        report.exercise_modules.update(_MODULE_MENTION.findall(source))
        if cell.get("cell_type") != "markdown":
            continue
        directives = parse_directives(source)
        top_level = [d for d in directives if d.depth == 0]
        for directive in directives:
            if directive.name in ("solution-start", "solution-end", "exercise-start", "exercise-end"):
                report.gated_cells.append(index)
            if directive.name == "exercise":
                first = _first_line(directive.body)
                stars, slots, minutes = _parse_first_line(first)
                report.exercises.append(Exercise(
                    label=str(directive.options.get("label", "")).strip(), notebook=path.name,
                    cell=index, title=directive.argument, first_line=first, stars=stars,
                    star_slots=slots, minutes=minutes, body=directive.body,
                    checker_names=tuple(sorted(set(CHECKER_MENTION.findall(directive.body))))))
            elif directive.name == "solution":
                lines = source.splitlines()
                outside = [line for number, line in enumerate(lines)
                           if not (directive.start <= number <= directive.end) and line.strip()]
                report.solutions.append(Solution(
                    label=directive.argument.strip(), notebook=path.name, cell=index,
                    tagged=tagged, classes=directive.classes,
                    alone_in_cell=(not outside and len(top_level) == 1)))
    return report


def find_book_dir(start=None) -> Path:
    """The book folder: from ``start`` (default: the current directory) upward, the first folder
    holding ``_toc.yml`` names the book's root page, whose folder is the book (``book/``).

    Raises ``FileNotFoundError`` when no ``_toc.yml`` is found: pass the book folder instead.
    """
    import yaml

    here = Path(start if start is not None else Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "_toc.yml").is_file():
            toc = yaml.safe_load((folder / "_toc.yml").read_text(encoding="utf-8")) or {}
            return (folder / str(toc.get("root", "book/index"))).parent
    raise FileNotFoundError(f"no _toc.yml in {here} or above: pass the book folder (e.g. --book book)")


def chapter_notebooks(book_dir=None, chapters: Iterable[str] | None = None) -> list[Path]:
    """The chapter notebooks of ``book_dir`` (default :func:`find_book_dir`) in book order: the
    ``chapters`` file names (default: the notebooks of :data:`mgie_lessons.pipeline.CHAPTERS`)
    that exist there."""
    if chapters is None:
        from mgie_lessons.pipeline import CHAPTERS

        chapters = [chapter.notebook for chapter in CHAPTERS]
    book_dir = Path(book_dir) if book_dir is not None else find_book_dir()
    return [book_dir / name for name in chapters if (book_dir / name).is_file()]


# --------------------------------------------------------------------------------------------
# The catalogue
# --------------------------------------------------------------------------------------------

_WIDGET_WORDS = re.compile(r"\b(widget|panel|slider|explore)\b", re.IGNORECASE)


def kind_of(solution=None, *, has_checker: bool = False, body: str = "") -> str:
    """What kind of answer an exercise expects, read from its ``SOLUTIONS`` entry.

    ``function`` (a coding exercise checked on random inputs), ``choice`` (a letter),
    ``number``, ``vector``, ``matrix``; without a checker ``exploration`` (the body mentions the
    widget) or ``open`` (graded by reading).
    """
    if solution is not None:
        if callable(solution):
            return "function"
        if isinstance(solution, str):
            return "choice" if len(solution.strip()) <= 3 else "text"
        if isinstance(solution, (bool, numbers.Number)):
            return "number"
        try:
            import numpy as np

            array = np.asarray(solution, dtype=float)
        except (TypeError, ValueError):
            return "checked"
        return {0: "number", 1: "vector"}.get(array.ndim, "matrix")
    if has_checker:
        return "checked"
    return "exploration" if _WIDGET_WORDS.search(body) else "open"


@dataclass(frozen=True)
class CatalogueRow:
    """One exercise as the instructor sees it."""

    label: str
    chapter: str
    title: str         # the directive's title, or the start of the task (see Exercise.summary)
    kind: str
    stars: int | None
    difficulty: str
    time: str
    minutes: int | None
    checker: str | None

    def as_dict(self) -> dict:
        return {"label": self.label, "chapter": self.chapter, "title": self.title, "kind": self.kind,
                "difficulty": self.difficulty, "stars": self.stars, "time": self.time,
                "checker": self.checker or ""}


def catalogue(book_dir=None, package: str = EXERCISE_PACKAGE,
              chapters: Iterable[str] | None = None) -> list[CatalogueRow]:
    """Every exercise of every chapter notebook (see :func:`chapter_notebooks`), in book order,
    with its kind and checker."""
    modules = exercise_modules(package)
    checkers = all_checkers(modules=modules)
    solutions = {canonical_label(k): v for k, v in all_solutions(modules=modules).items()}
    rows = []
    for path in chapter_notebooks(book_dir, chapters):
        for exercise in parse_notebook(path).exercises:
            key = canonical_label(exercise.label)
            checker = checkers.get(key)
            kind = kind_of(solutions.get(key), has_checker=checker is not None, body=exercise.body)
            rows.append(CatalogueRow(
                label=exercise.label, chapter=path.stem, title=exercise.summary, kind=kind,
                stars=exercise.stars, difficulty=exercise.difficulty, time=exercise.time,
                minutes=exercise.minutes[1] if exercise.minutes else None,
                checker=checker.name if checker else None))
    return rows


def _text_table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip()
    rule = "  ".join("-" * w for w in widths)
    body = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    return "\n".join([line, rule] + body)


class CatalogueTable:
    """The exercise catalogue, displayable in Jupyter (HTML) and as text, Markdown or CSV."""

    HEADERS = ["Exercise", "Chapter", "Task", "Kind", "Difficulty", "Time", "Checker"]

    def __init__(self, rows: list[CatalogueRow]):
        self.rows = list(rows)

    def __len__(self) -> int:
        return len(self.rows)

    def _cells(self, row: CatalogueRow) -> list[str]:
        return [row.label, row.chapter, row.title, row.kind, row.difficulty, row.time,
                row.checker or "(none)"]

    def chapter_totals(self) -> list[tuple[str, int, int, int]]:
        """(chapter, exercises, exercises with a checker, minutes) per chapter, in book order."""
        totals: dict[str, list[int]] = {}
        for row in self.rows:
            entry = totals.setdefault(row.chapter, [0, 0, 0])
            entry[0] += 1
            entry[1] += row.checker is not None
            entry[2] += row.minutes or 0
        return [(chapter, *values) for chapter, values in totals.items()]

    def to_text(self) -> str:
        if not self.rows:
            return "No exercises found."
        table = _text_table(self.HEADERS, [self._cells(r) for r in self.rows])
        checked = sum(r.checker is not None for r in self.rows)
        minutes = sum(r.minutes or 0 for r in self.rows)
        return f"{table}\n\n{len(self.rows)} exercises, {checked} with a checker, about {minutes} min in all."

    __str__ = to_text

    def __repr__(self) -> str:
        return self.to_text()

    def to_markdown(self) -> str:
        def escape(text: str) -> str:
            return text.replace("|", "\\|")

        lines = ["| " + " | ".join(self.HEADERS) + " |", "|" + "---|" * len(self.HEADERS)]
        lines += ["| " + " | ".join(escape(c) for c in self._cells(r)) + " |" for r in self.rows]
        return "\n".join(lines)

    def to_csv(self) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["label", "chapter", "task", "kind", "stars", "time", "checker"])
        for r in self.rows:
            writer.writerow([r.label, r.chapter, r.title, r.kind, r.stars if r.stars else "",
                             r.time, r.checker or ""])
        return buffer.getvalue()

    def _repr_html_(self) -> str:
        """One table, a header row per chapter (with its totals), then the per-chapter summary.
        Inline ``$math$`` becomes ``\\(math\\)`` inside a ``mathjax_process`` block so the
        site's MathJax typesets it."""
        esc = html.escape
        headers = ["Exercise", "Task", "Kind", "Stars", "Time"]  # the kind says if there is a checker
        head = "".join(f'<th scope="col">{h}</th>' for h in headers)
        totals = {chapter: (count, checked, minutes) for chapter, count, checked, minutes in self.chapter_totals()}
        body, current = [], None
        for r in self.rows:
            if r.chapter != current:
                current = r.chapter
                count, checked, minutes = totals[current]
                body.append(f'<tr class="mgie-chapter"><th scope="colgroup" colspan="{len(headers)}">'
                            f'<a href="{esc(current)}.html">{esc(current)}</a>: {count} exercises, '
                            f"{checked} with a checker, about {minutes} min</th></tr>")
            stars = (f'<span role="img" aria-label="{r.stars} of 3 stars" title="{r.stars} of 3 stars">'
                     f'{esc(r.difficulty)}</span>') if r.stars else ""
            link = f'<a href="{esc(r.chapter)}.html#{esc(r.label)}">{esc(r.label)}</a>'
            task = re.sub(r"\$([^$]+)\$", r"\\(\1\\)", esc(r.title))
            nowrap = ' style="white-space:nowrap"'
            body.append(f'<tr><th scope="row"{nowrap}>{link}</th><td>{task}</td><td>{esc(r.kind)}</td>'
                        f"<td{nowrap}>{stars}</td><td{nowrap}>{esc(r.time)}</td></tr>")
        all_minutes = sum(r.minutes or 0 for r in self.rows)
        all_checked = sum(r.checker is not None for r in self.rows)
        return (
            '<div class="mathjax_process mgie-catalogue" style="overflow-x:auto;max-width:100%">'
            '<table class="table" style="width:100%;table-layout:fixed">'
            '<colgroup><col style="width:9.5em"><col><col style="width:5.5em"><col style="width:4.5em">'
            '<col style="width:4.5em"></colgroup>'
            f"<caption>Every exercise of the book: {len(self.rows)} exercises in {len(totals)} chapters, "
            f"{all_checked} with a checker, about {all_minutes} min in all. Generated from the "
            "notebooks and the checker modules.</caption>"
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>")


def catalogue_table(book_dir=None, package: str = EXERCISE_PACKAGE,
                    chapters: Iterable[str] | None = None) -> CatalogueTable:
    """:func:`catalogue` as a :class:`CatalogueTable` (what the instructor guide displays)."""
    return CatalogueTable(catalogue(book_dir, package, chapters))


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m mgie_lessons.exercises.registry",
                                     description="List every exercise of the book.")
    parser.add_argument("--book", default=None, help="the book folder (default: found from _toc.yml upward)")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--markdown", action="store_true", help="print a Markdown table")
    output.add_argument("--csv", action="store_true", help="print CSV")
    args = parser.parse_args(argv)
    try:
        table = catalogue_table(args.book)
    except FileNotFoundError as error:
        parser.error(str(error))
    print(table.to_markdown() if args.markdown else table.to_csv() if args.csv else table.to_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
