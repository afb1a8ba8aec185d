"""The student edition: the same book with no solutions anywhere, and a scanner that proves it.

``make student`` (``python -m mgie_lessons.student_edition``) writes into ``_build/student``:

* ``src/``: a staged copy of the book sources (``book/``, ``_config.yml``, ``_toc.yml``, the
  static folders and local extensions the config names) with every solution removed: every cell tagged
  ``solution`` is dropped from every notebook, cells between a gated ``{solution-start}`` and
  ``{solution-end}`` are dropped, any ``{solution}`` directive left in another markdown cell or
  a ``.md`` page is cut out, and widget state no longer displayed by a kept cell is pruned.
  Teacher-only pages (the instructor guide) are removed, from the folder and from ``_toc.yml``.
  ``_config.yml`` is rewritten: title suffixed "(student edition)", notebooks not executed
  (``execute_notebooks: off``: the stored outputs of the kept cells are shown, so no solution
  output can be re-created), ``html_copy_source: false`` (no ``_sources/`` folder), the
  theme's download button, repository button and launch buttons off (they point at the
  teacher sources: ``_sources`` or the repository with solutions).
* ``notebooks/``: the solution-free notebooks, for students to download and run. The site
  offers them too: every chapter page starts with a note linking its own solution-free
  notebook and a zip of all of them (Sphinx ``{download}`` links, copied into
  ``html/_downloads/``).
* ``html/``: the student website. ``build.log``: jupyter-book's output.

The sources are read once, from a snapshot of the teacher book taken first (so an author saving a
notebook meanwhile cannot make the build and the check disagree); pages named in ``_toc.yml``
that do not exist yet are left out (and listed).

Then the whole of ``_build/student`` is scanned for leaks (:func:`collect_needles`,
:func:`scan_for_leaks`): every distinctive sentence of every solution (text, code and outputs), every
checker's expected answer from ``SOLUTIONS`` (numbers to 4 decimals, function source lines),
every image a solution cell outputs (by SHA-256), and every search-index term that only
solutions use. A leak makes the command fail. ``tests/test_student_edition.py`` runs the same.
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

__all__ = [
    "TEACHER_ONLY", "StudentEditionError", "strip_solution_blocks", "strip_notebook",
    "solution_cell_flags", "stage_sources", "student_config", "build_student_edition",
    "StudentEdition", "Needle", "Leak", "NeedleSet", "normalise", "collect_needles",
    "scan_for_leaks", "format_leaks", "main",
]

# Pages that only the instructor sees (docnames, without suffix, relative to the book root).
TEACHER_ONLY = ("book/instructor_guide",)
TITLE_SUFFIX = " (student edition)"
DOWNLOADS_DIR = "student_downloads"
ZIP_NAME = "mgie-lessons-student-notebooks.zip"
NOTE_MARKER = "mgie-student-edition-note"
STUDENT_NOTE = (
    ":::{{note}}\n"
    "**Student edition**: the solutions are not included. "
    "{{download}}`Download this chapter as a notebook <{notebook}>` or "
    "{{download}}`all the notebooks (zip) <{zip}>` to work through the exercises in Jupyter.\n"
    ":::"
)
STUDENT_NOTE_TEXT = ("Student edition: the solutions are not included. Download this chapter as a "
                     "notebook or all the notebooks (zip) to work through the exercises in Jupyter.")
# Never staged, even when a config value names them.
_NOT_STAGED = {".venv", "_build", ".git", "tests", "mgie_lessons", ".pytest_cache", ".hypothesis",
               "node_modules", "artifacts"}


class StudentEditionError(RuntimeError):
    """The student edition could not be built (the message says why)."""


# --------------------------------------------------------------------------------------------
# Removing solutions
# --------------------------------------------------------------------------------------------

def strip_solution_blocks(text: str) -> tuple[str, int]:
    """Cut every ``{solution}`` directive (fence to closing fence) out of markdown ``text``.

    Returns the new text and how many directives were removed. Examples of the syntax inside
    ordinary code blocks are left alone.
    """
    spans = [(d.start, d.end) for d in parse_directives(text) if d.name == "solution"]
    if not spans:
        return text, 0
    lines = text.splitlines(keepends=True)
    drop = set()
    for start, end in spans:
        drop.update(range(start, end + 1))
    kept = "".join(line for number, line in enumerate(lines) if number not in drop)
    outermost = [s for s in spans if not any(o[0] < s[0] and s[1] <= o[1] for o in spans)]
    return kept, len(outermost)


def _has_directive(cell, name: str) -> bool:
    return cell.get("cell_type") == "markdown" and any(
        d.name == name for d in parse_directives(cell_source(cell)))


def solution_cell_flags(cells) -> list[bool]:
    """For each cell: does it belong to a solution? Tagged ``solution``, or inside a gated
    ``{solution-start}`` ... ``{solution-end}`` range (both ends included)."""
    flags, gated = [], False
    for cell in cells:
        starts = _has_directive(cell, "solution-start")
        ends = _has_directive(cell, "solution-end")
        flags.append(is_solution_cell(cell) or gated or starts or ends)
        if starts:
            gated = True
        if ends:
            gated = False
    return flags


_MODEL_REFERENCE = re.compile(r"IPY_MODEL_([0-9a-f]{32})")
_WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
_WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def _prune_widget_state(notebook) -> int:
    """Keep only the widget models reachable from a widget view shown by a kept cell."""
    widgets = notebook.get("metadata", {}).get("widgets", {})
    state_holder = widgets.get(_WIDGET_STATE)
    if not state_holder or "state" not in state_holder:
        return 0
    state = state_holder["state"]
    wanted = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get(_WIDGET_VIEW)
            if isinstance(view, dict) and view.get("model_id"):
                wanted.append(view["model_id"])
    reachable = set()
    while wanted:
        model_id = wanted.pop()
        if model_id in reachable or model_id not in state:
            continue
        reachable.add(model_id)
        wanted.extend(_MODEL_REFERENCE.findall(json.dumps(state[model_id])))
    removed = [model_id for model_id in state if model_id not in reachable]
    for model_id in removed:
        del state[model_id]
    return len(removed)


@dataclass(frozen=True)
class StripResult:
    notebook: object
    removed_cells: tuple[int, ...]
    removed_blocks: int
    removed_widgets: int


def strip_notebook(notebook) -> StripResult:
    """A copy of ``notebook`` (nbformat v4) without solutions: solution cells dropped (see
    :func:`solution_cell_flags`), stray ``{solution}`` blocks cut from the other markdown cells,
    and widget state pruned to the widgets still displayed."""
    notebook = copy.deepcopy(notebook)
    flags = solution_cell_flags(notebook.cells)
    kept, removed_blocks = [], 0
    for cell, is_solution in zip(notebook.cells, flags):
        if is_solution:
            continue
        if cell.get("cell_type") == "markdown":
            text, count = strip_solution_blocks(cell_source(cell))
            if count:
                cell["source"] = text
                removed_blocks += count
        kept.append(cell)
    removed_cells = tuple(index for index, flag in enumerate(flags) if flag)
    notebook.cells = kept
    removed_widgets = _prune_widget_state(notebook)
    return StripResult(notebook, removed_cells, removed_blocks, removed_widgets)


# --------------------------------------------------------------------------------------------
# Staging the sources and the config
# --------------------------------------------------------------------------------------------

def _read_yaml(path: Path) -> dict:
    import yaml

    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def _write_yaml(path: Path, data: dict, header: str) -> None:
    import yaml

    path.write_text(header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


def _config_paths(config, skip_keys=("exclude_patterns",)) -> set[str]:
    """Relative paths named as string values in the config (e.g. ``web/static`` from
    ``html_static_path``): the candidates to stage besides ``book/``."""
    names: set[str] = set()

    def walk(value, key=None):
        if key in skip_keys:
            return
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, k)
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif isinstance(value, str) and value and "\n" not in value and len(value) < 200 \
                and not re.match(r"^[a-z]+:", value) and not value.startswith(("/", ".")):
            names.add(value.strip().rstrip("/"))

    walk(config)
    return names


def _local_extension_paths(root: Path, config: dict) -> list[str]:
    """``sphinx: local_extensions: {name: folder}``: the module ``folder/name.py`` (or package
    ``folder/name/``), not the whole folder."""
    paths = []
    extensions = ((config.get("sphinx") or {}).get("local_extensions") or {})
    for name, folder in extensions.items() if isinstance(extensions, dict) else []:
        for candidate in (f"{str(folder).strip('/')}/{name}.py", f"{str(folder).strip('/')}/{name}"):
            if (root / candidate).exists():
                paths.append(candidate)
    return paths


def _extra_paths(root: Path, config: dict) -> list[str]:
    """The config-named paths that exist under ``root`` and are not part of ``book/``."""
    extras = _local_extension_paths(root, config)
    for name in sorted(_config_paths(config, skip_keys=("exclude_patterns", "local_extensions"))):
        first = name.split("/")[0]
        if first in _NOT_STAGED or first == "book" or name in ("_config.yml", "_toc.yml"):
            continue
        try:
            if (root / name).exists() and (root / name).resolve().is_relative_to(root.resolve()):
                extras.append(name)
        except (OSError, ValueError):
            continue
    return [e for e in extras if not any(e != o and e.startswith(o + "/") for o in extras)]


def _toc_without(toc, docnames: set[str]):
    """The toc with every entry whose ``file`` is one of ``docnames`` removed (empty parts too)."""
    def strip_suffix(name: str) -> str:
        return re.sub(r"\.(ipynb|md|rst)$", "", str(name))

    def clean(value):
        if isinstance(value, dict):
            result = {}
            for key, item in value.items():
                item = clean(item)
                if key in ("chapters", "sections", "parts") and isinstance(item, list) and not item:
                    continue
                result[key] = item
            return result
        if isinstance(value, list):
            kept = []
            for item in value:
                if isinstance(item, dict) and strip_suffix(item.get("file", "")) in docnames:
                    continue
                item = clean(item)
                if isinstance(item, dict) and "file" not in item and "url" not in item and "glob" not in item \
                        and not any(item.get(k) for k in ("chapters", "sections", "parts")):
                    continue
                kept.append(item)
            return kept
        return value

    return clean(toc)


def student_config(config: dict) -> dict:
    """The teacher ``_config.yml`` (as a dict) turned into the student edition's."""
    config = copy.deepcopy(config)
    config["title"] = str(config.get("title", "")) + TITLE_SUFFIX
    execute = config.setdefault("execute", {}) or {}
    config["execute"] = execute
    execute["execute_notebooks"] = "off"
    html = config.setdefault("html", {}) or {}
    config["html"] = html
    html["use_download_button"] = False
    html["use_repository_button"] = False
    html["use_issues_button"] = False
    html["use_edit_page_button"] = False
    launch = config.setdefault("launch_buttons", {}) or {}
    config["launch_buttons"] = launch
    launch.update({"binderhub_url": "", "jupyterhub_url": "", "colab_url": "", "thebe": False})
    sphinx = config.setdefault("sphinx", {}) or {}
    config["sphinx"] = sphinx
    sphinx_config = sphinx.setdefault("config", {}) or {}
    sphinx["config"] = sphinx_config
    sphinx_config["html_copy_source"] = False
    sphinx_config["html_show_sourcelink"] = False
    excludes = list(config.get("exclude_patterns", []) or [])
    if DOWNLOADS_DIR not in excludes:
        excludes.append(DOWNLOADS_DIR)
    config["exclude_patterns"] = excludes
    # jupyter-book does not pass html.use_download_button to the theme, and a
    # sphinx.config.html_theme_options replaces the options it builds: so compute those options
    # the way jupyter-book does and hand them over whole, with the download button off (with
    # html_copy_source off it would link to a missing _sources/ file).
    theme_options = dict(config["sphinx"]["config"].get("html_theme_options", {}) or {})
    try:
        from jupyter_book.config import get_final_config

        built, _ = get_final_config(user_yaml=copy.deepcopy(config), cli_config={"latex_individualpages": False},
                                    validate=False)
        theme_options = {**built.get("html_theme_options", {}), **theme_options}
    except Exception:  # an older or newer jupyter-book: the button then stays (it links nowhere)
        pass
    theme_options["use_download_button"] = False
    config["sphinx"]["config"]["html_theme_options"] = theme_options
    return config


def _copy_tree(source: Path, target: Path) -> None:
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(
        ".ipynb_checkpoints", "__pycache__", "_build", ".DS_Store", "node_modules"))


def _is_teacher_only(relative: str, teacher_only) -> bool:
    return re.sub(r"\.(ipynb|md|rst)$", "", relative) in teacher_only


@dataclass
class StageReport:
    notebooks: dict = field(default_factory=dict)   # relative path -> removed cell count
    blocks: int = 0                                 # stray {solution} blocks cut
    widgets: int = 0                                # widget models pruned
    teacher_only: list = field(default_factory=list)
    missing_pages: list = field(default_factory=list)   # in _toc.yml but not written yet


def snapshot_teacher_sources(root, target) -> Path:
    """Copy ``book/``, ``_config.yml`` and ``_toc.yml`` of ``root`` into ``target``: the one
    version of the teacher book that both the student edition and the leak scan read, so an
    author saving a notebook meanwhile cannot make them disagree."""
    root, target = Path(root), Path(target)
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    _copy_tree(root / "book", target / "book")
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(root / name, target / name)
    return target


def stage_sources(root, src, *, teacher_only=TEACHER_ONLY, assets_root=None) -> StageReport:
    """Copy the book sources from ``root`` into ``src`` (replaced) and remove every solution.

    Folders the config names besides ``book/`` (e.g. ``web/static``) are copied from
    ``assets_root`` (default ``root``).
    """
    import nbformat

    root, src = Path(root), Path(src)
    assets_root = Path(assets_root) if assets_root is not None else root
    if src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True)
    config = _read_yaml(root / "_config.yml")
    for name in ["book"] + _extra_paths(assets_root, config):
        path, target = (root if name == "book" else assets_root) / name, src / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if path.is_dir():
            _copy_tree(path, target)
        elif path.is_file():
            shutil.copy2(path, target)
    report = StageReport()
    teacher_only = set(teacher_only)
    for path in sorted(src.rglob("*")):
        if not path.is_file():
            continue
        relative = path.relative_to(src).as_posix()
        if _is_teacher_only(relative, teacher_only):
            path.unlink()
            report.teacher_only.append(relative)
        elif path.suffix == ".ipynb":
            try:
                notebook = nbformat.read(str(path), as_version=4)
            except Exception as error:
                raise StudentEditionError(f"cannot read {relative}: {type(error).__name__}: {error}") from error
            result = strip_notebook(notebook)
            nbformat.write(result.notebook, str(path))
            report.notebooks[relative] = len(result.removed_cells)
            report.blocks += result.removed_blocks
            report.widgets += result.removed_widgets
        elif path.suffix == ".md":
            text, count = strip_solution_blocks(path.read_text(encoding="utf-8"))
            if count:
                path.write_text(text, encoding="utf-8")
                report.blocks += count
    toc = _toc_without(_read_yaml(root / "_toc.yml"), teacher_only)
    toc, report.missing_pages = _toc_existing_only(toc, src)
    _write_yaml(src / "_toc.yml", toc, "# Student edition toc, generated by mgie_lessons.student_edition\n")
    _write_yaml(src / "_config.yml", student_config(config),
                "# Student edition config, generated by mgie_lessons.student_edition\n")
    return report


def _page_exists(src: Path, docname: str) -> bool:
    return any((src / f"{docname}{suffix}").is_file() for suffix in ("", ".ipynb", ".md", ".rst"))


def _toc_existing_only(toc, src: Path):
    """The toc without the pages that do not exist (yet); a missing root is replaced by the
    first page that exists. Returns (toc, missing docnames)."""
    missing = sorted({name for name in _toc_docnames(toc) if not _page_exists(src, name)})
    if not missing:
        return toc, missing
    toc = _toc_without(toc, set(missing))
    if isinstance(toc, dict) and toc.get("root") in missing:
        remaining = [name for name in _toc_docnames(toc) if name != toc["root"]]
        if not remaining:
            raise StudentEditionError("no page named in _toc.yml exists yet")
        toc = _toc_without(toc, {remaining[0]})
        toc["root"] = remaining[0]
    return toc, missing


def _toc_docnames(toc) -> list[str]:
    names = []

    def walk(value):
        if isinstance(value, dict):
            for key in ("root", "file"):
                if isinstance(value.get(key), str):
                    names.append(re.sub(r"\.(ipynb|md|rst)$", "", value[key]))
            for item in value.values():
                if isinstance(item, (list, dict)):
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(toc)
    return names


def _add_downloads(src: Path, notebooks_out: Path) -> list[Path]:
    """Copy the stripped notebooks to ``notebooks_out`` and ``src/student_downloads`` (with a
    zip of them all), and put a note linking them at the top of every notebook page."""
    import nbformat

    downloads = src / DOWNLOADS_DIR
    for folder in (notebooks_out, downloads):
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
    notebooks = sorted(p for p in (src / "book").rglob("*.ipynb") if DOWNLOADS_DIR not in p.parts)
    zip_buffer = io.BytesIO()
    with zipfile.ZipFile(zip_buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in notebooks:
            relative = path.relative_to(src / "book")
            for folder in (notebooks_out, downloads):
                (folder / relative).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, folder / relative)
            archive.write(path, f"mgie-lessons-student/{relative.as_posix()}")
    (downloads / ZIP_NAME).write_bytes(zip_buffer.getvalue())
    shutil.copy2(downloads / ZIP_NAME, notebooks_out.parent / ZIP_NAME)
    pages = set(_toc_docnames(_read_yaml(src / "_toc.yml")))
    for path in notebooks:
        docname = path.relative_to(src).with_suffix("").as_posix()
        if docname not in pages:
            continue
        notebook = nbformat.read(str(path), as_version=4)
        relative = path.relative_to(src / "book").as_posix()
        note = nbformat.v4.new_markdown_cell(STUDENT_NOTE.format(
            notebook=f"/{DOWNLOADS_DIR}/{relative}", zip=f"/{DOWNLOADS_DIR}/{ZIP_NAME}"))
        note.metadata["tags"] = [NOTE_MARKER]
        first = notebook.cells[0] if notebook.cells else None
        if first is not None and first.cell_type == "markdown" and cell_source(first).lstrip().startswith("# "):
            # Right under the title: split the title line from the rest of its cell.
            title, _, rest = cell_source(first).lstrip().partition("\n")
            first["source"] = title
            cells = [note] + ([nbformat.v4.new_markdown_cell(rest.strip("\n"))] if rest.strip() else [])
            notebook.cells[1:1] = cells
        else:
            notebook.cells.insert(0, note)
        nbformat.write(notebook, str(path))
    return notebooks


def _jupyter_book() -> str:
    candidate = Path(sys.executable).with_name("jupyter-book")
    if candidate.exists():
        return str(candidate)
    found = shutil.which("jupyter-book")
    if not found:
        raise StudentEditionError("jupyter-book is not installed (pip install -e '.[book]')")
    return found


@dataclass
class StudentEdition:
    """Where the built student edition is, and what building it did."""

    out: Path
    html: Path
    notebooks: Path
    src: Path
    stage: StageReport
    seconds: float
    warnings: int
    teacher: Path | None = None   # the teacher snapshot it was built from (a temp folder)

    @property
    def zip_path(self) -> Path:
        return self.out / ZIP_NAME

    def needles(self, **options) -> "NeedleSet":
        """:func:`collect_needles` from the very teacher sources this edition was built from."""
        return collect_needles(self.teacher, **options)

    def cleanup(self) -> None:
        """Delete the teacher snapshot (it holds the solutions; it lives outside ``out``)."""
        if self.teacher is not None:
            shutil.rmtree(self.teacher, ignore_errors=True)
            self.teacher = None


def build_student_edition(root=".", out="_build/student", *, teacher_only=TEACHER_ONLY,
                          keep_work: bool = False, timeout: float = 1800) -> StudentEdition:
    """Stage, strip and build the student edition of the book at ``root`` into ``out``.

    Raises :class:`StudentEditionError` (with the end of jupyter-book's log) if the build fails.
    """
    started = time.perf_counter()
    root, out = Path(root).resolve(), Path(out).resolve()
    if not (root / "_config.yml").is_file() or not (root / "_toc.yml").is_file():
        raise StudentEditionError(f"{root} has no _config.yml and _toc.yml: is it the book's root?")
    out.mkdir(parents=True, exist_ok=True)
    src, work, html_dir, notebooks = out / "src", out / "work", out / "html", out / "notebooks"
    teacher = snapshot_teacher_sources(root, Path(tempfile.mkdtemp(prefix="mgie-teacher-snapshot-")))
    try:
        stage = stage_sources(teacher, src, teacher_only=teacher_only, assets_root=root)
    except BaseException:
        shutil.rmtree(teacher, ignore_errors=True)
        raise
    _add_downloads(src, notebooks)
    for folder in (work, html_dir):
        if folder.exists():
            shutil.rmtree(folder)
    command = [_jupyter_book(), "build", "--all", str(src), "--path-output", str(work)]
    try:
        completed = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as error:
        shutil.rmtree(teacher, ignore_errors=True)
        raise StudentEditionError(f"jupyter-book did not finish within {timeout:.0f} s") from error
    log = completed.stdout + "\n" + completed.stderr
    (out / "build.log").write_text(log, encoding="utf-8")
    built = work / "_build" / "html"
    if completed.returncode != 0 or not (built / "index.html").exists():
        shutil.rmtree(teacher, ignore_errors=True)
        lines = [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in log.strip().splitlines()]
        causes = [line for line in lines if re.search(r"Sphinx error|Error:|ERROR|Exception:", line)][:6]
        raise StudentEditionError(f"jupyter-book failed (exit {completed.returncode}); full log in "
                                  f"{out / 'build.log'}:\n" + "\n".join(causes + lines[-8:]))
    shutil.move(str(built), str(html_dir))
    if not keep_work:
        shutil.rmtree(work, ignore_errors=True)
    warnings = len(re.findall(r"WARNING", log))
    return StudentEdition(out, html_dir, notebooks, src, stage, time.perf_counter() - started, warnings, teacher)


# --------------------------------------------------------------------------------------------
# The leak scanner
# --------------------------------------------------------------------------------------------

_TAGS = re.compile(r"</?[A-Za-z][A-Za-z0-9:-]*(?:\s[^<>]*)?/?>|<!--.*?-->", re.DOTALL)
_BASE64_BLOB = re.compile(r"[A-Za-z0-9+/=]{120,}")
_JSON_UNICODE = re.compile(r"\\u([0-9a-fA-F]{4})")
_JSON_ESCAPE = re.compile(r"\\[nrtbf\"/\\]")
_NON_WORD = re.compile(r"[^0-9a-z]+")
_NUMBER = re.compile(r"(?<![\d.])(?:\d+\.\d{4,}|\.\d{4,})")
_MARKUP_BREAKS = re.compile(r"\]\([^)]*\)|\{[\w:.-]+\}`[^`]*`|</?[A-Za-z][A-Za-z0-9:-]*(?:\s[^<>]*)?/?>|\[\^[\w-]+\]")
_STATIC_PARTS = ("_static", "_sphinx_design_static", "_panels_static")
# Numbers are looked for in files that carry the book's content, not in scripts, styles, fonts.
_NUMBER_SUFFIXES = (".html", ".htm", ".ipynb", ".json", ".txt", ".md", ".rst", ".csv", ".tex", ".xml", "")
_TEXT_OUTPUT_TYPES = ("text/plain", "text/markdown", "text/latex", "text/html", "application/javascript")


def normalise(text: str, *, markup: bool = False) -> str:
    """Text reduced to lower-case words and numbers separated by single spaces.

    HTML entities and JSON escapes are undone first, and with ``markup=True`` HTML tags are
    replaced by spaces, so a sentence reads the same in a notebook, a web page or a search
    index: ``**Scaling** by $\\sqrt{d_k}$`` and ``<strong>Scaling</strong> by \\(\\sqrt{d_k}\\)``
    both become ``scaling by sqrt d k``.
    """
    if markup:
        text = _TAGS.sub(" ", text)
    text = html_lib.unescape(text)
    text = _JSON_UNICODE.sub(lambda m: chr(int(m.group(1), 16)), text)
    text = _JSON_ESCAPE.sub(" ", text)
    text = _BASE64_BLOB.sub(" ", text)
    return _NON_WORD.sub(" ", text.lower()).strip()


@dataclass(frozen=True)
class Needle:
    """Something that must not appear in the student edition, and where it comes from."""

    kind: str     # "solution text", "answer value", "function source", "solution image", "search term"
    origin: str   # e.g. "book/02_attention.ipynb cell 41" or "SOLUTIONS['attention-ex-2']"
    text: str     # what to show in a report
    key: object   # normalised text, a float, a sha256 hex digest or a stem


@dataclass(frozen=True)
class Leak:
    """A needle found in a file of the student edition."""

    path: str
    needle: Needle
    context: str

    def __str__(self) -> str:
        return (f"{self.path}: {self.needle.kind} from {self.needle.origin}: {self.needle.text!r}"
                f" (found: ...{self.context}...)")


@dataclass
class NeedleSet:
    """What :func:`scan_for_leaks` searches for, built by :func:`collect_needles`."""

    texts: list = field(default_factory=list)
    numbers: list = field(default_factory=list)
    images: dict = field(default_factory=dict)
    stems: dict = field(default_factory=dict)
    public_answers: list = field(default_factory=list)   # answers shown outside solutions too

    def __len__(self) -> int:
        return len(self.texts) + len(self.numbers) + len(self.images) + len(self.stems)


def _output_texts(cell) -> list[str]:
    texts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            texts.append(str("".join(output.get("text", ""))))
        elif output.get("output_type") == "error":
            texts.append(f"{output.get('ename', '')}: {output.get('evalue', '')}")
        for mime, value in output.get("data", {}).items():
            if mime in _TEXT_OUTPUT_TYPES:
                value = "".join(value) if isinstance(value, list) else str(value)
                texts.append(_TAGS.sub(" ", value) if mime == "text/html" else value)
    return texts


def _output_images(cell) -> list[bytes]:
    images = []
    for output in cell.get("outputs", []):
        for mime, value in output.get("data", {}).items():
            if mime.startswith("image/"):
                value = "".join(value) if isinstance(value, list) else str(value)
                if mime == "image/svg+xml":
                    images.append(value.encode("utf-8"))
                else:
                    try:
                        images.append(base64.b64decode(value))
                    except ValueError:
                        pass
    return images


_SENTENCE_END = re.compile(r"(?<=[.!?;])[*_)\]\"'’”]*\s+")


def _fragments(line: str, markdown: bool = True) -> list[str]:
    """The sentences of a line, each cut where markdown renders differently from its source
    (links, roles, HTML tags), so every piece reads the same in the source and on the page."""
    pieces = _MARKUP_BREAKS.split(line) if markdown else [line]
    return [sentence for piece in pieces for sentence in _SENTENCE_END.split(piece) if sentence.strip()]


def _solution_and_public_text(book_root: Path, teacher_only) -> tuple[list, list, list]:
    """(solution pieces [(origin, text, is_markdown)], solution images [(origin, bytes)],
    public texts [str]) read from the teacher sources."""
    import nbformat

    solutions, images, public = [], [], [STUDENT_NOTE_TEXT]
    # The book's own sources. Static assets (theme, MathJax, widget manager) are not book text.
    files = [book_root / "_config.yml", book_root / "_toc.yml"]
    files += sorted(p for p in (book_root / "book").rglob("*") if p.is_file())
    for path in files:
        if not path.is_file() or "_build" in path.parts or ".ipynb_checkpoints" in path.parts:
            continue
        relative = path.relative_to(book_root).as_posix()
        if _is_teacher_only(relative, set(teacher_only)):
            continue
        if path.suffix == ".ipynb":
            try:
                notebook = nbformat.read(str(path), as_version=4)
            except Exception as error:
                raise StudentEditionError(f"cannot read {relative}: {type(error).__name__}: {error}") from error
            public.append(json.dumps(notebook.get("metadata", {})))   # widget state is shown too
            for index, (cell, is_solution) in enumerate(zip(notebook.cells, solution_cell_flags(notebook.cells))):
                origin = f"{relative} cell {index}"
                source = cell_source(cell)
                markdown = cell.get("cell_type") == "markdown"
                if is_solution:
                    solutions.append((origin, source, markdown))
                    solutions += [(origin + " output", text, False) for text in _output_texts(cell)]
                    images += [(origin + " output", data) for data in _output_images(cell)]
                    continue
                if markdown:
                    kept, _ = strip_solution_blocks(source)
                    for directive in parse_directives(source):
                        if directive.name == "solution":
                            block = "\n".join(source.splitlines()[directive.start:directive.end + 1])
                            solutions.append((origin, block, True))
                    source = kept
                public.append(source)
                public += _output_texts(cell)
        elif path.suffix in (".md", ".rst", ".txt", ".bib", ".yml", ".yaml", ".html", ".css", ".js", ".json"):
            text = path.read_text(encoding="utf-8", errors="replace")
            if path.suffix == ".md":
                for directive in parse_directives(text):
                    if directive.name == "solution":
                        block = "\n".join(text.splitlines()[directive.start:directive.end + 1])
                        solutions.append((relative, block, True))
                text, _ = strip_solution_blocks(text)
            public.append(text)
    return solutions, images, public


def _decimals_in(text: str) -> list[float]:
    """Every number written with at least 4 decimals (base64 blobs skipped)."""
    return [float(match) for match in _NUMBER.findall(_BASE64_BLOB.sub(" ", text))]


def _answer_numbers(value) -> list[float]:
    """The non-integer numbers in a SOLUTIONS value (a number, vector or matrix)."""
    if isinstance(value, bool) or isinstance(value, str) or callable(value):
        return []
    try:
        import numpy as np

        array = np.asarray(value, dtype=float).ravel()
    except (TypeError, ValueError):
        return []
    return [abs(float(x)) for x in array if np.isfinite(x) and abs(x - round(x)) > 1e-9]


def _search_words(text: str) -> set[str]:
    return {word.lower() for word in re.findall(r"\w+", text)}


def _stemmer():
    from sphinx.search.en import SearchEnglish

    return SearchEnglish({})


def collect_needles(book_root=".", solutions: dict | None = None, *, package: str = EXERCISE_PACKAGE,
                    teacher_only=TEACHER_ONLY, min_chars: int = 25) -> NeedleSet:
    """Everything that must not appear in the student edition of the book at ``book_root``.

    * solution text: every line of every solution cell (source and text outputs), cut into
      sentences and, for markdown, at links, roles and tags (which render differently), keeping
      each piece of at least ``min_chars`` characters once normalised (:func:`normalise`) that
      does not also occur in the public (non-solution) text of the book;
    * answer values: every non-integer number of every ``SOLUTIONS`` entry (to 4 decimals),
      unless the public text shows it too (those are listed in ``public_answers``);
    * function source: the lines of every function in ``SOLUTIONS``, as for solution text;
    * solution images: the SHA-256 of every image a solution cell outputs;
    * search terms: words (stemmed as Sphinx's search does) used in solutions only.

    ``solutions`` defaults to the merged ``SOLUTIONS`` of every module of ``package``.
    """
    book_root = Path(book_root)
    if solutions is None:
        solutions = all_solutions(package)
    pieces, images, public_texts = _solution_and_public_text(book_root, teacher_only)
    public = " \n ".join(normalise(text, markup=True) for text in public_texts)
    public_numbers = sorted({round(abs(x), 6) for text in public_texts for x in _decimals_in(text)})
    needles = NeedleSet()
    seen: set[str] = set()

    def add_lines(kind: str, origin: str, text: str, markdown: bool) -> None:
        for line in text.splitlines():
            for piece in _fragments(line, markdown):
                key = normalise(piece, markup=markdown)
                if len(key) >= min_chars and key not in seen and key not in public:
                    seen.add(key)
                    needles.texts.append(Needle(kind, origin, piece.strip(), key))

    for origin, text, markdown in pieces:
        add_lines("solution text", origin, text, markdown)
    for origin, data in images:
        needles.images.setdefault(hashlib.sha256(data).hexdigest(), Needle(
            "solution image", origin, f"image of {len(data)} bytes", hashlib.sha256(data).hexdigest()))
    for label, value in sorted(solutions.items(), key=lambda item: str(item[0])):
        origin = f"SOLUTIONS[{label!r}]"
        if callable(value):
            try:
                source = inspect.getsource(value)
            except (OSError, TypeError):
                continue
            add_lines("function source", origin, source, False)
        elif isinstance(value, str):
            add_lines("answer value", origin, value, False)
        for number in _answer_numbers(value):
            shown = f"{number:.4f}"
            if any(abs(number - x) <= 5e-5 for x in public_numbers):
                needles.public_answers.append(f"{origin} = {shown}")
                continue
            needles.numbers.append((number, Needle("answer value", origin, shown, number)))
    lang = _stemmer()
    # Words as Sphinx's index splits them, from the raw text (so \\tilde in math stays "tilde").
    public_words = {word.lower() for text in public_texts
                    for word in re.findall(r"[A-Za-z]{2,40}", _BASE64_BLOB.sub(" ", text))}
    public_terms = public_words | {lang.stem(word).lower() for word in public_words}
    for origin, text, _ in pieces:
        for word in sorted(_search_words(text)):
            if len(word) < 4 or not word.isalpha():
                continue
            stem = lang.stem(word).lower()
            if stem in public_terms or word in public_terms or not lang.word_filter(stem):
                continue
            needles.stems.setdefault(stem, Needle("search term", origin, word, stem))
    return needles


def _file_texts(name: str, data: bytes) -> list[tuple[str, str, bool | None]]:
    """(label, text, is_markup) pieces of one file to search; zip archives are opened.
    ``is_markup`` is None for binary files (searched for sentences only)."""
    suffix = Path(name).suffix.lower()
    if suffix == ".zip":
        pieces = []
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                for member in archive.namelist():
                    for label, text, markup in _file_texts(member, archive.read(member)):
                        pieces.append((f"{name}!{label}", text, markup))
        except zipfile.BadZipFile:
            pass
        return pieces
    if suffix in (".png", ".jpg", ".jpeg", ".gif", ".woff", ".woff2", ".ttf", ".eot", ".ico", ".pickle", ".doctree"):
        if suffix in (".pickle", ".doctree"):
            return [(name, data.decode("utf-8", errors="replace"), None)]
        return []
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:  # binary: search its text runs for sentences, never for numbers
        return [(name, data.decode("utf-8", errors="replace"), None)]
    if suffix in (".ipynb", ".json"):
        try:
            strings: list[str] = []

            def walk(value):
                if isinstance(value, str):
                    strings.append(value)
                elif isinstance(value, dict):
                    for item in value.values():
                        walk(item)
                elif isinstance(value, list):
                    for item in value:
                        walk(item)

            walk(json.loads(text))
            return [(name, "\n".join(strings), suffix == ".ipynb")]
        except ValueError:
            pass
    return [(name, text, suffix in (".html", ".htm", ".xml", ".svg", ".ipynb", ".txt"))]


def _image_hashes(name: str, data: bytes) -> list[tuple[str, str]]:
    hashes = [(name, hashlib.sha256(data).hexdigest())]
    suffix = Path(name).suffix.lower()
    if suffix == ".ipynb":
        try:
            notebook = json.loads(data.decode("utf-8"))
        except ValueError:
            return hashes
        for cell in notebook.get("cells", []):
            for image in _output_images(cell):
                hashes.append((name + " (notebook output)", hashlib.sha256(image).hexdigest()))
    elif suffix == ".zip":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                for member in archive.namelist():
                    hashes += [(f"{name}!{n}", h) for n, h in _image_hashes(member, archive.read(member))]
        except zipfile.BadZipFile:
            pass
    return hashes


def _search_index_terms(text: str) -> set[str]:
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end < start:
        return set()
    try:
        index = json.loads(text[start:end + 1])
    except ValueError:
        return set()
    terms = set()
    for key in ("terms", "titleterms"):
        terms.update(index.get(key, {}) or {})
    return terms


def _scan_file(relative: str, data: bytes, needles: NeedleSet, static: bool) -> list[Leak]:
    leaks: list[Leak] = []
    for label, digest in _image_hashes(relative, data):
        if digest in needles.images:
            leaks.append(Leak(label, needles.images[digest], "identical bytes"))
    for label, text, markup in _file_texts(relative, data):
        haystack = normalise(text, markup=bool(markup))
        words = set(haystack.split())
        for needle in needles.texts:
            if not needle_words(needle) <= words:  # a cheap filter before the substring search
                continue
            at = haystack.find(needle.key)
            if at >= 0:
                context = haystack[max(0, at - 40): at + len(needle.key) + 40]
                leaks.append(Leak(label, needle, context))
        content = Path(label).suffix.lower() in _NUMBER_SUFFIXES or Path(label).name.startswith("searchindex")
        if needles.numbers and not static and content and markup is not None:
            plain = html_lib.unescape(_TAGS.sub(" ", text) if markup else text)
            found = set(_decimals_in(plain))
            for number, needle in needles.numbers:
                hits = [x for x in found if abs(x - number) <= 5e-5]
                if hits:
                    leaks.append(Leak(label, needle, f"{min(hits, key=lambda x: abs(x - number))}"))
        if needles.stems and Path(label).name.startswith("searchindex"):
            terms = _search_index_terms(text)
            for stem, needle in needles.stems.items():
                if stem in terms:
                    leaks.append(Leak(label, needle, f"search index term {stem!r}"))
    return leaks


@functools.lru_cache(maxsize=None)
def _words_of(key: str) -> frozenset:
    return frozenset(key.split())


def needle_words(needle: Needle) -> frozenset:
    return _words_of(needle.key)


def scan_for_leaks(directory, needles: NeedleSet) -> list[Leak]:
    """Search every file under ``directory`` (zip members and notebook images included) for
    every needle. Numbers are looked for outside static theme assets (``_static/``). Files
    with identical bytes are searched once and reported under every name."""
    directory = Path(directory)
    leaks: list[Leak] = []
    done: dict[tuple[str, bool], tuple[str, list[Leak]]] = {}
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        relative = path.relative_to(directory).as_posix()
        data = path.read_bytes()
        static = any(part in _STATIC_PARTS for part in path.relative_to(directory).parts)
        key = (hashlib.sha256(data).hexdigest(), static, Path(relative).suffix, Path(relative).name.startswith("searchindex"))
        if key in done:
            first, found = done[key]
            leaks += [Leak(relative + leak.path[len(first):], leak.needle, leak.context) for leak in found]
            continue
        found = _scan_file(relative, data, needles, static)
        done[key] = (relative, found)
        leaks += found
    return leaks


def format_leaks(leaks: list[Leak], limit: int = 40) -> str:
    lines = [str(leak) for leak in leaks[:limit]]
    if len(leaks) > limit:
        lines.append(f"... and {len(leaks) - limit} more")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------

def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m mgie_lessons.student_edition",
        description="Build the student edition of the book (no solutions) and check it for leaks.")
    parser.add_argument("--root", default=".", help="the book's root folder (with _config.yml)")
    parser.add_argument("--out", default="_build/student", help="output folder (default _build/student)")
    parser.add_argument("--no-check", action="store_true", help="skip the leak scan")
    parser.add_argument("--check-only", action="store_true", help="only scan an existing build in --out")
    parser.add_argument("--keep-work", action="store_true", help="keep jupyter-book's work folder")
    parser.add_argument("--package", default=EXERCISE_PACKAGE, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    out = Path(args.out)
    if not args.check_only:
        try:
            edition = build_student_edition(args.root, out, keep_work=args.keep_work)
        except StudentEditionError as error:
            print(f"student edition: {error}", file=sys.stderr)
            return 1
        removed = sum(edition.stage.notebooks.values())
        print(f"student edition built in {edition.seconds:.1f} s: {len(edition.stage.notebooks)} notebooks, "
              f"{removed} solution cells and {edition.stage.blocks} stray solution blocks removed, "
              f"{edition.warnings} build warnings (see {out / 'build.log'}).")
        if edition.stage.missing_pages:
            print(f"  left out (named in _toc.yml, not written yet): {', '.join(edition.stage.missing_pages)}")
        print(f"  website:   {edition.html / 'index.html'}")
        print(f"  notebooks: {edition.notebooks}/ and {edition.zip_path}")
    elif not out.is_dir():
        print(f"student edition: {out} does not exist; build it first (make student)", file=sys.stderr)
        return 1
    if args.no_check:
        if not args.check_only:
            edition.cleanup()
        return 0
    started = time.perf_counter()
    if args.check_only:
        try:
            needles = collect_needles(args.root, package=args.package)
        except StudentEditionError as error:
            print(f"student edition: {error}", file=sys.stderr)
            return 1
    else:
        try:
            needles = edition.needles(package=args.package)
        finally:
            edition.cleanup()
    leaks = scan_for_leaks(out, needles)
    seconds = time.perf_counter() - started
    if leaks:
        print(f"LEAKS: {len(leaks)} solution snippets found in {out}:", file=sys.stderr)
        print(format_leaks(leaks), file=sys.stderr)
        return 1
    print(f"leak check passed in {seconds:.1f} s: {len(needles.texts)} solution lines, "
          f"{len(needles.numbers)} answer values, {len(needles.images)} solution images and "
          f"{len(needles.stems)} solution-only search terms, none found in {out}.")
    if needles.public_answers:
        print("note: these answers also appear outside the solutions in the teacher book "
              "(not searched): " + "; ".join(needles.public_answers[:20]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
