"""The student edition: the same book with no solutions anywhere, built by the toolchain, and a
leak check that proves it.

    python -m mgie_lessons.teaching.student_edition [--root .] [--out _build/student] [--check-only]

``make student`` writes into ``--out``:

* ``html/``: the website. jupyter-book builds a copy of the teacher sources (staged in a
  temporary folder, never in ``--out``) with the settings of :func:`student_config`:
  sphinx-exercise's ``hide_solutions`` leaves every ``{solution}`` out of the pages and the
  search index; ``html_copy_source: false`` (no ``_sources/``); notebooks are not executed (the
  stored outputs are shown, so no solution output is re-created); the download, repository and
  launch buttons are off (they lead to the teacher sources); the title ends "(student edition)".
  In the copy, every code cell tagged ``solution`` also gets the tag ``remove-cell`` (MyST-NB
  leaves it out, outputs included), the teacher-only pages (:data:`TEACHER_ONLY`) leave
  ``_toc.yml``, and every chapter page starts with a note linking its own solution-free notebook
  and a zip of them all (Sphinx ``{download}`` links, copied into ``html/_downloads/``).
* ``notebooks/`` and ``mgie-lessons-student-notebooks.zip``: the notebooks for students to
  download and run (:func:`student_notebook`).
* ``build.log``: jupyter-book's output.

Then :func:`find_leaks` searches every file under ``--out`` (zip members and notebook images too)
for the needles of :func:`collect_needles`: every sentence of every solution (text, code and text
outputs), every answer of every exercises module's ``SOLUTIONS`` (numbers to 4 decimals, the
source of solution functions), every image a solution outputs, and every search-index term only
solutions use. A leak makes the command fail; ``tests/test_student_edition.py`` plants leaks and
sees it fail.
"""

from __future__ import annotations

import base64
import copy
import functools
import hashlib
import html as html_lib
import inspect
import io
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from mgie_lessons.exercises.registry import (EXERCISE_PACKAGE, all_solutions, cell_source,
                                             is_solution_cell, parse_directives)

__all__ = ["TEACHER_ONLY", "ZIP_NAME", "StudentEditionError", "without_solution_blocks", "student_notebook",
           "student_config", "student_toc", "build_student_edition", "StudentEdition", "normalise",
           "Needles", "collect_needles", "Leak", "find_leaks", "main"]

#: Pages only the instructor sees (docnames relative to the book root, without suffix).
TEACHER_ONLY = ("book/instructor_guide",)
TITLE_SUFFIX = " (student edition)"
DOWNLOADS_DIR = "student_downloads"
ZIP_NAME = "mgie-lessons-student-notebooks.zip"
NOTE_TAG = "mgie-student-edition-note"
STUDENT_NOTE = (":::{{note}}\n**Student edition**: the solutions are not included. "
                "{{download}}`Download this chapter as a notebook <{notebook}>` or "
                "{{download}}`all the notebooks (zip) <{zip}>` to work through the exercises in Jupyter.\n:::")
_WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


class StudentEditionError(RuntimeError):
    """The student edition could not be built (the message says why)."""


# --------------------------------------------------------------------------------------------
# Solutions out: the downloadable notebooks, the config and the toc
# --------------------------------------------------------------------------------------------

def _solution_spans(text: str) -> list[tuple[int, int]]:
    return [(d.start, d.end) for d in parse_directives(text) if d.name == "solution"]


def without_solution_blocks(text: str) -> str:
    """``text`` with every ``{solution}`` directive cut out, fence to fence (examples of the
    syntax inside ordinary code blocks stay)."""
    drop = {n for start, end in _solution_spans(text) for n in range(start, end + 1)}
    return "".join(line for n, line in enumerate(text.splitlines(keepends=True)) if n not in drop)


def student_notebook(notebook):
    """A copy of ``notebook`` for students: cells tagged ``solution`` dropped, ``{solution}``
    blocks cut from the other markdown cells, the stored widget state dropped if a solution
    displayed a widget. The outputs of the other cells stay."""
    notebook = copy.deepcopy(notebook)
    solutions = [cell for cell in notebook.cells if is_solution_cell(cell)]
    notebook.cells = [cell for cell in notebook.cells if not is_solution_cell(cell)]
    for cell in notebook.cells:
        if cell.cell_type == "markdown" and _solution_spans(cell_source(cell)):
            cell.source = without_solution_blocks(cell_source(cell))
    if any(_WIDGET_VIEW in output.get("data", {}) for cell in solutions for output in cell.get("outputs", [])):
        notebook.metadata.pop("widgets", None)
    return notebook


def student_config(config: dict) -> dict:
    """The teacher ``_config.yml`` (a dict) with the student edition's settings."""
    config = copy.deepcopy(config)
    config["title"] = f"{config.get('title', '')}{TITLE_SUFFIX}"
    config.setdefault("execute", {})["execute_notebooks"] = "off"
    config.setdefault("html", {}).update(use_repository_button=False, use_issues_button=False,
                                         use_edit_page_button=False)
    config["launch_buttons"] = {"notebook_interface": "jupyterlab", "binderhub_url": "", "thebe": False}
    config["exclude_patterns"] = [*config.get("exclude_patterns", []), DOWNLOADS_DIR]
    sphinx = config.setdefault("sphinx", {}).setdefault("config", {})
    sphinx.update(hide_solutions=True, html_copy_source=False, html_show_sourcelink=False)
    # jupyter-book does not pass html.use_download_button to the theme; these options replace
    # the ones it builds, which only concern the buttons switched off here.
    sphinx["html_theme_options"] = {"use_download_button": False, "use_repository_button": False,
                                    "home_page_in_toc": True, "search_bar_text": "Search this book...",
                                    "launch_buttons": {}}
    return config


def student_toc(toc, teacher_only=TEACHER_ONLY):
    """``_toc.yml`` (a dict) without the entries whose ``file`` is teacher-only, nor the parts
    left empty."""
    def keep(entry) -> bool:
        return re.sub(r"\.(ipynb|md)$", "", str(entry.get("file", ""))) not in teacher_only

    toc = copy.deepcopy(toc)
    for part in toc.get("parts", []):
        part["chapters"] = [entry for entry in part.get("chapters", []) if keep(entry)]
    toc["parts"] = [part for part in toc.get("parts", []) if part["chapters"]]
    return toc


# --------------------------------------------------------------------------------------------
# Building
# --------------------------------------------------------------------------------------------

def _read_yaml(path: Path) -> dict:
    import yaml

    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def _write_yaml(path: Path, data: dict) -> None:
    import yaml

    path.write_text("# generated by mgie_lessons.teaching.student_edition\n"
                    + yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


def _is_teacher_only(relative: str) -> bool:
    return re.sub(r"\.(ipynb|md)$", "", relative) in TEACHER_ONLY


def _stage(root: Path, src: Path, out: Path) -> list[Path]:
    """Give the copy of the teacher sources in ``src`` the student settings; write the
    downloadable notebooks into ``out``. Returns the downloadable notebooks."""
    import nbformat

    config = _read_yaml(root / "_config.yml")
    sphinx = config.get("sphinx", {})
    # The folders of the local Sphinx extensions and static files, linked, not copied.
    for folder in [*sphinx.get("local_extensions", {}).values(), *sphinx.get("config", {}).get("html_static_path", [])]:
        top = Path(folder).parts[0]
        if not (src / top).exists() and (root / top).exists():
            (src / top).symlink_to((root / top).resolve(), target_is_directory=True)
    _write_yaml(src / "_config.yml", student_config(config))
    toc = student_toc(_read_yaml(root / "_toc.yml"))
    _write_yaml(src / "_toc.yml", toc)
    pages = {re.sub(r"\.(ipynb|md)$", "", str(e.get("file", ""))) for part in toc["parts"] for e in part["chapters"]}
    pages.add(str(toc.get("root")))
    downloads, archive_buffer, written = src / DOWNLOADS_DIR, io.BytesIO(), []
    for folder in (downloads, out / "notebooks"):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    with zipfile.ZipFile(archive_buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted((src / "book").rglob("*.ipynb")):
            relative = path.relative_to(src).as_posix()
            if _is_teacher_only(relative):
                path.unlink()
                continue
            notebook = nbformat.read(str(path), as_version=4)
            name = path.relative_to(src / "book").as_posix()
            for target in (downloads / name, out / "notebooks" / name):
                target.parent.mkdir(parents=True, exist_ok=True)
                nbformat.write(student_notebook(notebook), str(target))
            archive.write(downloads / name, f"mgie-lessons-student/{name}")
            written.append(out / "notebooks" / name)
            for cell in notebook.cells:   # the website: MyST-NB drops solution code cells
                if cell.cell_type == "code" and is_solution_cell(cell):
                    cell.metadata["tags"] = [*cell.metadata.get("tags", []), "remove-cell"]
            if path.with_suffix("").relative_to(src).as_posix() in pages:
                note = nbformat.v4.new_markdown_cell(STUDENT_NOTE.format(
                    notebook=f"/{DOWNLOADS_DIR}/{name}", zip=f"/{DOWNLOADS_DIR}/{ZIP_NAME}"))
                note.metadata["tags"] = [NOTE_TAG]
                title = notebook.cells[0] if notebook.cells else None
                if title is not None and title.cell_type == "markdown" and cell_source(title).startswith("# "):
                    heading, _, rest = cell_source(title).partition("\n")   # the note goes under the title
                    title.source = heading
                    notebook.cells[1:1] = [note] + ([nbformat.v4.new_markdown_cell(rest.strip())] if rest.strip() else [])
                else:
                    notebook.cells.insert(0, note)
            nbformat.write(notebook, str(path))
    for page in (src / "book").rglob("*.md"):
        if _is_teacher_only(page.relative_to(src).as_posix()):
            page.unlink()
    (downloads / ZIP_NAME).write_bytes(archive_buffer.getvalue())
    (out / ZIP_NAME).write_bytes(archive_buffer.getvalue())
    return written


@dataclass
class StudentEdition:
    """Where the built student edition is, what it holds, and the needles of the very teacher
    sources it was built from."""

    out: Path
    notebooks: list
    seconds: float
    warnings: int
    needles: "Needles"

    @property
    def html(self) -> Path:
        return self.out / "html"

    @property
    def zip_path(self) -> Path:
        return self.out / ZIP_NAME


def _jupyter_book() -> str:
    found = Path(sys.executable).with_name("jupyter-book")
    if found.exists() or shutil.which("jupyter-book"):
        return str(found) if found.exists() else shutil.which("jupyter-book")
    raise StudentEditionError("jupyter-book is not installed (pip install -e '.[book]')")


def build_student_edition(root=".", out="_build/student", *, package: str = EXERCISE_PACKAGE,
                          timeout: float = 1800) -> StudentEdition:
    """Build the student edition of the book at ``root`` into ``out`` (see the module docstring).

    Raises :class:`StudentEditionError` (with the end of jupyter-book's log) if the build fails.
    """
    started = time.perf_counter()
    root, out = Path(root).resolve(), Path(out).resolve()
    if not (root / "_config.yml").is_file() or not (root / "_toc.yml").is_file():
        raise StudentEditionError(f"{root} has no _config.yml and _toc.yml: is it the book's root?")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mgie-student-") as work:
        src = Path(work) / "src"
        shutil.copytree(root / "book", src / "book", ignore=shutil.ignore_patterns(".ipynb_checkpoints", "_build"))
        needles = collect_needles(src, package=package)   # from the very sources that are built
        notebooks = _stage(root, src, out)
        command = [_jupyter_book(), "build", "--all", str(src), "--path-output", work]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as error:
            raise StudentEditionError(f"jupyter-book did not finish within {timeout:.0f} s") from error
        log = f"{done.stdout}\n{done.stderr}"
        (out / "build.log").write_text(log, encoding="utf-8")
        built = Path(work) / "_build" / "html"
        if done.returncode != 0 or not (built / "index.html").exists():
            tail = [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in log.strip().splitlines()[-12:]]
            raise StudentEditionError(f"jupyter-book failed (exit {done.returncode}); log in {out / 'build.log'}:\n"
                                      + "\n".join(tail))
        shutil.rmtree(out / "html", ignore_errors=True)
        shutil.move(str(built), str(out / "html"))
    return StudentEdition(out, notebooks, time.perf_counter() - started, log.count("WARNING"), needles)


# --------------------------------------------------------------------------------------------
# The leak check
# --------------------------------------------------------------------------------------------

_TAGS = re.compile(r"</?[A-Za-z][A-Za-z0-9:-]*(?:\s[^<>]*)?/?>|<!--.*?-->", re.DOTALL)
_BASE64_BLOB = re.compile(r"[A-Za-z0-9+/=]{120,}")
_JSON_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})|\\[nrtbf\"/\\]")
_NUMBER = re.compile(r"(?<![\d.])\d*\.\d{4,}")
# Where markdown renders differently from its source (links, roles, tags): sentences are cut there.
_MARKUP_BREAKS = re.compile(r"\]\([^)]*\)|\{[\w:.-]+\}`[^`]*`|</?[A-Za-z][A-Za-z0-9:-]*(?:\s[^<>]*)?/?>")
_SENTENCE_END = re.compile(r"(?<=[.!?;])[*_)\]\"'’”]*\s+")
_TEXT_MIMES = ("text/plain", "text/markdown", "text/latex", "text/html")
_NO_NUMBERS = ("_static", "_sphinx_design_static")   # theme assets: numbers there are not answers
_BINARY = (".png", ".jpg", ".jpeg", ".gif", ".ico", ".woff", ".woff2", ".ttf", ".eot")   # searched for images only


def normalise(text: str) -> str:
    """Lower-case words and numbers separated by single spaces, after HTML tags, entities and JSON
    escapes are undone, so a sentence reads the same in a notebook, a page or a search index:
    ``**Scaling** by $\\sqrt{d_k}$`` and ``<strong>Scaling</strong> by \\(\\sqrt{d_k}\\)`` both
    give ``scaling by sqrt d k``."""
    text = html_lib.unescape(_TAGS.sub(" ", text))
    text = _JSON_ESCAPE.sub(lambda m: chr(int(m[1], 16)) if m[1] else " ", text)
    return re.sub(r"[^0-9a-z]+", " ", _BASE64_BLOB.sub(" ", text).lower()).strip()


@dataclass
class Needles:
    """What must not appear in the student edition: normalised sentences, answer numbers, image
    digests and search-index stems, each with where it comes from."""

    sentences: dict = field(default_factory=dict)   # normalised sentence -> origin
    numbers: dict = field(default_factory=dict)     # answer value -> origin
    images: dict = field(default_factory=dict)      # sha256 -> origin
    stems: dict = field(default_factory=dict)       # search-index stem -> origin
    public_answers: list = field(default_factory=list)   # answers the teacher book shows outside solutions

    def __len__(self) -> int:
        return len(self.sentences) + len(self.numbers) + len(self.images) + len(self.stems)


def _outputs(cell) -> tuple[list[str], list[bytes]]:
    """The text and the images a cell outputs."""
    texts, images = [], []
    for output in cell.get("outputs", []):
        if "text" in output:
            texts.append("".join(output["text"]))
        for mime, value in output.get("data", {}).items():
            value = "".join(value) if isinstance(value, list) else str(value)
            if mime in _TEXT_MIMES:
                texts.append(value)
            elif mime == "image/svg+xml":
                images.append(value.encode())
            elif mime.startswith("image/"):
                images.append(base64.b64decode(value))
    return texts, images


def _split_sources(book_root: Path):
    """(solution texts [(origin, text)], solution images [(origin, bytes)], public texts) of the
    teacher sources under ``book_root`` (teacher-only pages left out)."""
    import nbformat

    solutions, images, public = [], [], [STUDENT_NOTE]
    for path in sorted((book_root / "book").rglob("*")):
        relative = path.relative_to(book_root).as_posix()
        if path.suffix not in (".ipynb", ".md") or _is_teacher_only(relative) or DOWNLOADS_DIR in relative:
            continue
        if path.suffix == ".md":
            cells = [nbformat.v4.new_markdown_cell(path.read_text(encoding="utf-8"))]
        else:
            notebook = nbformat.read(str(path), as_version=4)
            cells = notebook.cells
            public.append(json.dumps(notebook.metadata))
        for index, cell in enumerate(cells):
            origin, source = f"{relative} cell {index}", cell_source(cell)
            texts, cell_images = _outputs(cell)
            if is_solution_cell(cell):
                solutions += [(origin, text) for text in [source, *texts]]
                images += [(origin, image) for image in cell_images]
                continue
            lines = source.splitlines()
            solutions += [(origin, "\n".join(lines[start:end + 1])) for start, end in _solution_spans(source)]
            public += [without_solution_blocks(source), *texts]
    return solutions, images, public


def _sentences(text: str) -> list[str]:
    return [sentence for line in text.splitlines() for piece in _MARKUP_BREAKS.split(line)
            for sentence in _SENTENCE_END.split(piece) if sentence.strip()]


def _answer_numbers(value) -> list[float]:
    """The non-integer numbers of a SOLUTIONS entry (a number, vector or matrix)."""
    import numpy as np

    if isinstance(value, (str, bool)) or callable(value):
        return []
    try:
        array = np.asarray(value, dtype=float).ravel()
    except (TypeError, ValueError):
        return []
    return [abs(float(x)) for x in array if np.isfinite(x) and abs(x - round(x)) > 1e-9]


def collect_needles(book_root=".", *, package: str = EXERCISE_PACKAGE, solutions: dict | None = None,
                    min_chars: int = 25) -> Needles:
    """The needles of the teacher book at ``book_root`` and of ``SOLUTIONS`` (merged over every
    module of ``package``): every solution sentence of at least ``min_chars`` characters once
    normalised, and every line of a solution function, that the public (non-solution) text does
    not also contain; every non-integer answer (to 4 decimals) the public text does not show;
    every solution image; every word (stemmed as Sphinx's search does) used by solutions only."""
    from sphinx.search.en import SearchEnglish

    texts, images, public_texts = _split_sources(Path(book_root))
    public = normalise(" \n ".join(public_texts))
    public_numbers = [float(x) for text in public_texts for x in _NUMBER.findall(_BASE64_BLOB.sub(" ", text))]
    needles = Needles(images={hashlib.sha256(data).hexdigest(): origin for origin, data in images})
    solutions = all_solutions(package) if solutions is None else solutions
    for label, value in sorted(solutions.items()):
        origin = f"SOLUTIONS[{label!r}]"
        if callable(value):
            texts.append((origin, inspect.getsource(value)))
        elif isinstance(value, str):
            texts.append((origin, value))
        for number in _answer_numbers(value):
            if any(abs(number - x) <= 5e-5 for x in public_numbers):
                needles.public_answers.append(f"{origin} = {number:.4f}")
            else:
                needles.numbers[number] = origin
    for origin, text in texts:
        for sentence in _sentences(text):
            key = normalise(sentence)
            if len(key) >= min_chars and key not in public:
                needles.sentences.setdefault(key, origin)
    stemmer = SearchEnglish({})
    public_words = {w.lower() for text in public_texts for w in re.findall(r"[A-Za-z]{2,40}", _BASE64_BLOB.sub(" ", text))}
    public_words |= {stemmer.stem(word) for word in public_words}
    for origin, text in texts:
        for word in sorted({w.lower() for w in re.findall(r"[A-Za-z]{4,40}", text)}):
            stem = stemmer.stem(word)
            if word not in public_words and stem not in public_words and stemmer.word_filter(stem):
                needles.stems.setdefault(stem, origin)
    return needles


@dataclass(frozen=True)
class Leak:
    """A needle found in a file of the student edition."""

    path: str
    kind: str
    origin: str
    found: str

    def __str__(self) -> str:
        return f"{self.path}: {self.kind} from {self.origin}: ...{self.found}..."


def _members(name: str, data: bytes):
    """(name, bytes) of a file, and of every member if it is a zip archive."""
    yield name, data
    if name.endswith(".zip"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for member in archive.namelist():
                yield from _members(f"{name}!{member}", archive.read(member))


def _search_terms(text: str) -> set:
    try:
        index = json.loads(text[text.index("{"):text.rindex("}") + 1])
    except ValueError:
        return set()
    return set(index.get("terms", {})) | set(index.get("titleterms", {}))


@functools.lru_cache(maxsize=None)
def _words(key: str) -> frozenset:
    return frozenset(key.split())


def _leaks_in(name: str, data: bytes, needles: Needles) -> list[Leak]:
    leaks = []
    digests = [hashlib.sha256(data).hexdigest()]
    text = data.decode("utf-8", errors="replace")
    if name.endswith(".ipynb"):
        digests += [hashlib.sha256(image).hexdigest() for cell in json.loads(text).get("cells", [])
                    for image in _outputs(cell)[1]]
    leaks += [Leak(name, "solution image", needles.images[d], d[:12]) for d in digests if d in needles.images]
    if Path(name).suffix.lower() in _BINARY:
        return leaks
    haystack = normalise(text)
    words = set(haystack.split())
    for key, origin in needles.sentences.items():
        if _words(key) <= words and key in haystack:   # the word test first: it is cheap
            at = haystack.index(key)
            leaks.append(Leak(name, "solution text", origin, haystack[max(0, at - 30):at + len(key) + 30]))
    if not any(part in _NO_NUMBERS for part in Path(name).parts):
        shown = {float(x) for x in _NUMBER.findall(html_lib.unescape(_TAGS.sub(" ", _BASE64_BLOB.sub(" ", text))))}
        for number, origin in needles.numbers.items():
            leaks += [Leak(name, "answer value", origin, str(x)) for x in shown if abs(x - number) <= 5e-5][:1]
    if Path(name).name.startswith("searchindex"):
        terms = _search_terms(text)
        leaks += [Leak(name, "search term", origin, stem) for stem, origin in needles.stems.items() if stem in terms]
    return leaks


def find_leaks(directory, needles: Needles) -> list[Leak]:
    """Every needle found in every file under ``directory`` (zip members opened; files with
    identical bytes searched once and reported under every name)."""
    directory, leaks, seen = Path(directory), [], {}
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        relative, data = path.relative_to(directory).as_posix(), path.read_bytes()
        key = (hashlib.sha256(data).hexdigest(), path.suffix, path.name.startswith("searchindex"),
               any(part in _NO_NUMBERS for part in path.parts))
        if key not in seen:
            seen[key] = (relative, [leak for name, member in _members(relative, data)
                                    for leak in _leaks_in(name, member, needles)])
        first, found = seen[key]
        leaks += [Leak(relative + leak.path[len(first):], leak.kind, leak.origin, leak.found) for leak in found]
    return leaks


def format_leaks(leaks: list[Leak], limit: int = 40) -> str:
    lines = [str(leak) for leak in leaks[:limit]]
    return "\n".join(lines + ([f"... and {len(leaks) - limit} more"] if len(leaks) > limit else []))


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------

def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m mgie_lessons.teaching.student_edition",
                                     description="Build the student edition (no solutions) and check it for leaks.")
    parser.add_argument("--root", default=".", help="the book's root folder (with _config.yml and _toc.yml)")
    parser.add_argument("--out", default="_build/student", help="output folder (default _build/student)")
    parser.add_argument("--check-only", action="store_true", help="only search an existing build in --out")
    parser.add_argument("--package", default=EXERCISE_PACKAGE, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    out = Path(args.out)
    try:
        if args.check_only:
            if not out.is_dir():
                raise StudentEditionError(f"{out} does not exist; build it first (make student)")
            needles = collect_needles(args.root, package=args.package)
        else:
            edition = build_student_edition(args.root, out, package=args.package)
            needles = edition.needles
            print(f"student edition built in {edition.seconds:.1f} s: {len(edition.notebooks)} notebooks, "
                  f"{edition.warnings} build warnings (see {out / 'build.log'}); website {out / 'html'}, "
                  f"notebooks {out / 'notebooks'} and {edition.zip_path}")
    except StudentEditionError as error:
        print(f"student edition: {error}", file=sys.stderr)
        return 1
    started = time.perf_counter()
    leaks = find_leaks(out, needles)
    if leaks:
        print(f"LEAKS: {len(leaks)} solution snippets found in {out}:\n{format_leaks(leaks)}", file=sys.stderr)
        return 1
    print(f"leak check passed in {time.perf_counter() - started:.1f} s: {len(needles.sentences)} solution "
          f"sentences, {len(needles.numbers)} answer values, {len(needles.images)} solution images and "
          f"{len(needles.stems)} solution-only search terms, none found in {out}.")
    if needles.public_answers:
        print("note: these answers also appear outside the solutions (not searched): "
              + "; ".join(needles.public_answers[:20]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
