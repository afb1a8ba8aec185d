"""A small fake book and a fake exercises package, for the teaching-infrastructure tests.

Used by tests/test_student_edition.py, tests/test_grading.py and tests/test_exercise_catalogue.py
so they test the tools on known content whatever state the real chapters are in. Everything is
written into a temporary folder given by the test, never into book/.
"""

from __future__ import annotations

import base64
import io
import shutil
import textwrap
from dataclasses import dataclass
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
PACKAGE = "toy_exercises"

# Distinctive solution text: none of it appears outside solution cells.
SOLUTION_SENTENCE_1 = "Each row of the weight matrix sums to one because softmax normalises every row on its own."
SOLUTION_SENTENCE_2 = "The logistic function at one is e over one plus e, roughly three quarters."
SOLUTION_SENTENCE_MD = "Halving the temperature sharpens the distribution toward the largest score."
SOLUTION_OUTPUT = "sigmoid of one is 0.731059"
TEACHER_ONLY_SENTENCE = "Teacher only: most students pick answer C in the first week."

EXERCISES_MODULE = '''
"""Checkers for the toy chapter (test fixture)."""
import numpy as np

from mgie_lessons.exercises.feedback import Feedback, check_function, check_matrix, check_number

SCORES = np.array([[1.0, 2.0, 0.5], [0.25, -1.0, 3.0]])


def row_softmax(scores):
    scores = np.asarray(scores, dtype=float)
    shifted = scores - scores.max(axis=-1, keepdims=True)
    weights = np.exp(shifted)
    return weights / weights.sum(axis=-1, keepdims=True)


def column_softmax(scores):
    return row_softmax(np.asarray(scores, dtype=float).T).T


def check_toy_ex_1(answer):
    hints = {"A": "A would make every column sum to one; look at which axis softmax runs over.",
             "C": "C confuses the scores with the weights: scores can be negative."}
    letter = str(answer).strip().upper()
    if letter == "B":
        return Feedback(True, "B: softmax makes every row a probability distribution.")
    return Feedback(False, hints.get(letter, "Answer with one letter: A, B or C."))


def check_toy_ex_2(answer):
    sigma = 1.0 / (1.0 + np.exp(-1.0))
    return check_number(answer, sigma, what="sigma(1)", mistakes=[
        (1.0 / (1.0 + np.exp(1.0)), "That is sigma(-1): check the sign in the exponent."),
        (np.exp(1.0), "That is e itself: divide by 1 + e."),
    ])


def _inputs(rng):
    return (rng.normal(size=(3, 4)),)


def check_toy_ex_3(student_function):
    return check_function(student_function, row_softmax, _inputs, mistakes=[
        (column_softmax, "You normalised columns instead of rows: use axis=-1."),
        (lambda s: np.exp(s), "You forgot to divide by the row sums."),
    ])


def check_toy_ex_4(answer):
    return check_matrix(answer, row_softmax(SCORES), what="the weights", mistakes=[
        (column_softmax(SCORES), "You normalised columns instead of rows."),
        (np.exp(SCORES), "You forgot to divide by the row sums."),
    ])


def solution_softmax(scores):
    shifted_scores_for_stability = scores - scores.max(axis=-1, keepdims=True)
    unnormalised_weights = np.exp(shifted_scores_for_stability)
    return unnormalised_weights / unnormalised_weights.sum(axis=-1, keepdims=True)


SOLUTIONS = {
    "toy-ex-1": "B",
    "toy-ex-2": float(1.0 / (1.0 + np.exp(-1.0))),
    "toy-ex-3": solution_softmax,
    "toy-ex-4": row_softmax(SCORES),
}

# Typical wrong answers, for the grading tests.
WRONG_ANSWERS = {
    "toy-ex-1": "A",
    "toy-ex-2": float(1.0 / (1.0 + np.exp(1.0))),
    "toy-ex-3": column_softmax,
    "toy-ex-4": column_softmax(SCORES),
}
'''


def _png_bytes() -> bytes:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(1.5, 1.0), dpi=40)
    axes = figure.add_subplot()
    axes.plot([0, 1, 2], [0.2, 0.7, 0.1])
    axes.set_title("solution figure")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _md(text: str, tags=()):
    cell = nbformat.v4.new_markdown_cell(textwrap.dedent(text).strip("\n"))
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def _code(source: str, outputs=(), tags=(), count=None):
    cell = nbformat.v4.new_code_cell(textwrap.dedent(source).strip("\n"))
    cell.outputs = list(outputs)
    cell.execution_count = count
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def _stream(text: str):
    return nbformat.v4.new_output("stream", name="stdout", text=text)


def _exercise(label: str, title: str, stars: int, minutes: int, body: str) -> str:
    return (f"```{{exercise}} {title}\n:label: {label}\n\n"
            f"**Difficulty:** {'★' * stars}{'☆' * (3 - stars)} · **Time:** {minutes} min\n\n"
            f"{textwrap.dedent(body).strip()}\n```")


def _solution(label: str, body: str) -> str:
    return f"```{{solution}} {label}\n:class: dropdown\n\n{textwrap.dedent(body).strip()}\n```"


def toy_chapter(png: bytes | None = None) -> nbformat.NotebookNode:
    """A chapter with five exercises (four checkable), solutions in markdown and code cells,
    one solution image, and an example of the directive syntax inside a code block."""
    png = png if png is not None else _png_bytes()
    image_output = nbformat.v4.new_output("display_data", data={
        "image/png": base64.b64encode(png).decode("ascii"), "text/plain": "<Figure size 60x40>"})
    cells = [
        _md("# A toy chapter"),
        _md("""
            ## What you will learn
            How softmax turns a row of scores into weights.
            """),
        _code("""
            import numpy as np
            scores = np.array([[1.0, 2.0, 0.5], [0.25, -1.0, 3.0]])
            print(scores.round(2))
            """, [_stream("[[ 1.    2.    0.5 ]\n [ 0.25 -1.    3.  ]]\n")], count=1),
        _md("## Exercises"),
        _md(_exercise("toy-ex-1", "Which axis?", 1, 5, """
            After softmax, which statement holds? A: every column sums to one. B: every row sums
            to one. C: every weight is a score. Check your letter:

            ```python
            from toy_exercises.toy import check_toy_ex_1
            check_toy_ex_1("your letter")
            ```
            """)),
        _md(_solution("toy-ex-1", f"**B.** {SOLUTION_SENTENCE_1}"), tags=["solution"]),
        _md(_exercise("toy-ex-2", "A number by hand", 2, 10, """
            Compute $\\sigma(1)$ by hand, then check it with `check_toy_ex_2(value)`.
            """)),
        _md(_solution("toy-ex-2", SOLUTION_SENTENCE_2), tags=["solution"]),
        _code("""
            import math
            value_of_the_logistic_at_one = 1 / (1 + math.exp(-1))
            print(f"sigmoid of one is {value_of_the_logistic_at_one:.6f}")
            """, [_stream(SOLUTION_OUTPUT + "\n")], tags=["solution"], count=2),
        _md(_exercise("toy-ex-3", "Write softmax", 3, 15, """
            Write `my_softmax(scores)` that normalises each row, then run
            `check_toy_ex_3(my_softmax)`.
            """)),
        _md(_solution("toy-ex-3", "Subtract the row maximum first so the exponentials cannot overflow."),
            tags=["solution"]),
        _code("""
            def solution_softmax(scores):
                shifted_scores_for_stability = scores - scores.max(axis=-1, keepdims=True)
                unnormalised_weights = np.exp(shifted_scores_for_stability)
                return unnormalised_weights / unnormalised_weights.sum(axis=-1, keepdims=True)
            solution_softmax(scores)
            """, [image_output], tags=["solution"], count=3),
        _md(_exercise("toy-ex-4", "The weights of the seed scores", 2, 10, """
            Compute the weights of `scores` and check them with `check_toy_ex_4(weights)`.
            """)),
        _md(_solution("toy-ex-4", "Apply the row softmax to both rows."), tags=["solution"]),
        _code("print(solution_softmax(scores).round(4))",
              [_stream("[[0.2312 0.6285 0.1402]\n [0.0591 0.0169 0.9240]]\n")], tags=["solution"], count=4),
        _md(_exercise("toy-ex-5", "Explore the temperature", 1, 5, """
            Use the widget panel above: what happens to the weights when the temperature halves?
            """)),
        _md(_solution("toy-ex-5", SOLUTION_SENTENCE_MD), tags=["solution"]),
        _md("""
            Authors write a solution like this (an example, not a real solution):

            ````md
            ```{solution} toy-ex-9
            :class: dropdown
            An example that must stay in the book.
            ```
            ````
            """),
    ]
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.metadata["language_info"] = {"name": "python"}
    return notebook


@dataclass
class FakeBook:
    root: Path
    chapter: Path
    package_dir: Path
    png: bytes


def write_exercises_package(folder: Path, name: str = PACKAGE) -> Path:
    package = folder / name
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text('"""Toy exercises package (test fixture)."""\n')
    (package / "toy.py").write_text(EXERCISES_MODULE)
    return package


def write_fake_book(root: Path) -> FakeBook:
    """A book in ``root`` shaped like the real one (the real _config.yml and references.bib),
    with an introduction, the toy chapter, a markdown page holding a stray {solution} and a
    teacher-only instructor guide."""
    root.mkdir(parents=True, exist_ok=True)
    book = root / "book"
    book.mkdir(exist_ok=True)
    shutil.copy2(REPO / "_config.yml", root / "_config.yml")
    # Local Sphinx extensions the real config loads (e.g. web/mgie_site.py) come along.
    import yaml

    extensions = yaml.safe_load((REPO / "_config.yml").read_text())["sphinx"].get("local_extensions", {})
    for name, folder in extensions.items():
        (root / folder).mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / folder / f"{name}.py", root / folder / f"{name}.py")
    shutil.copy2(REPO / "book" / "references.bib", book / "references.bib")
    (root / "_toc.yml").write_text(textwrap.dedent("""
        format: jb-book
        root: book/00_intro
        parts:
          - caption: Toy
            chapters:
              - file: book/01_toy
              - file: book/notes
          - caption: Teaching
            chapters:
              - file: book/instructor_guide
        """).lstrip())
    intro = nbformat.v4.new_notebook(cells=[_md("# Toy book\n\nAn introduction with no exercises.")])
    intro.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(intro, str(book / "00_intro.ipynb"))
    png = _png_bytes()
    chapter = book / "01_toy.ipynb"
    nbformat.write(toy_chapter(png), str(chapter))
    (book / "notes.md").write_text(textwrap.dedent(f"""
        # Notes

        A page written in markdown, with an exercise whose solution is not in a tagged cell.

        ```{{exercise}} Temperature
        :label: notes-ex-1

        **Difficulty:** ★☆☆ · **Time:** 5 min

        What does a low temperature do?
        ```

        ```{{solution}} notes-ex-1
        :class: dropdown

        {SOLUTION_SENTENCE_MD}
        ```

        The end of the notes.
        """).lstrip())
    (book / "instructor_guide.md").write_text(f"# Instructor guide\n\n{TEACHER_ONLY_SENTENCE}\n")
    package_dir = write_exercises_package(root / "pkgs")
    return FakeBook(root, chapter, package_dir, png)
