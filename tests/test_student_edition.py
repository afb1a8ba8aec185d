"""The student edition has no solutions anywhere, and the leak check would notice if it had.

* Unit tests of the downloadable notebooks (solution cells and stray directive blocks out, code
  examples of the syntax kept), the config and the toc.
* A fake book (tests/teaching_fixtures.py) built as a student edition: no leak in any file, no
  `_sources`, no teacher-only page, downloadable solution-free notebooks linked from the pages.
* The leak check can fail: the same fake book built as the TEACHER edition, and student builds
  with planted solution text, numbers, images, search terms and zip members, are all caught.
* The real book built as a student edition in a temporary folder and searched for every
  solution sentence, answer value, solution image and solution-only search term.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
import warnings
import zipfile
from pathlib import Path

import nbformat
import pytest

from mgie_lessons.exercises.registry import chapter_notebooks, is_solution_cell
from mgie_lessons.teaching import student_edition as se

sys.path.insert(0, str(Path(__file__).parent))
import teaching_fixtures as fx  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------------------------------
# The downloadable notebooks, the config, the toc
# ------------------------------------------------------------------------------------------

def test_student_notebook_drops_solution_cells_and_keeps_everything_else():
    notebook = fx.toy_chapter(png=b"\x89PNG fake")
    kept = se.student_notebook(notebook).cells
    assert len(kept) == len(notebook.cells) - 8 and not any(is_solution_cell(cell) for cell in kept)
    text = json.dumps(kept)
    for secret in (fx.SOLUTION_SENTENCE_1, fx.SOLUTION_SENTENCE_2, fx.SOLUTION_OUTPUT, "solution_softmax"):
        assert secret not in text
    assert sum("{exercise}" in c.source for c in kept) == 5
    assert "An example that must stay in the book." in text  # the syntax example in a code block
    assert sum(is_solution_cell(c) for c in notebook.cells) == 8  # the input is not modified


def test_solution_blocks_are_cut_but_not_code_examples():
    text = ("Before\n\n```{solution} a-ex-1\n:class: dropdown\n\nSecret answer\n```\n\nBetween\n\n"
            "````md\n```{solution} a-ex-2\nexample\n```\n````\n\n:::{solution} a-ex-3\nColon secret\n:::\nAfter\n")
    stripped = se.without_solution_blocks(text)
    assert "Secret answer" not in stripped and "Colon secret" not in stripped
    assert all(word in stripped for word in ("Before", "Between", "example", "After"))
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(text)])
    assert se.student_notebook(notebook).cells[0].source == stripped


def test_the_widget_state_goes_when_a_solution_displayed_a_widget():
    view = nbformat.v4.new_output("display_data", data={
        "application/vnd.jupyter.widget-view+json": {"model_id": "a" * 32, "version_major": 2}})
    shown, answer = nbformat.v4.new_code_cell("panel"), nbformat.v4.new_code_cell("answer_panel")
    shown.outputs, answer.outputs = [view], [view]
    notebook = nbformat.v4.new_notebook(cells=[shown, answer])
    notebook.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {"a" * 32: {}}}}
    assert "widgets" in se.student_notebook(notebook).metadata
    answer.metadata["tags"] = ["solution"]
    assert "widgets" not in se.student_notebook(notebook).metadata


def test_student_config_hides_solutions_and_everything_that_points_at_teacher_sources():
    config = se.student_config({"title": "Book", "execute": {"execute_notebooks": "cache"},
                                "html": {"use_download_button": True, "use_repository_button": True},
                                "launch_buttons": {"binderhub_url": "https://mybinder.org"},
                                "sphinx": {"config": {"numfig": True}}, "exclude_patterns": ["_build"]})
    sphinx = config["sphinx"]["config"]
    assert config["title"] == "Book (student edition)"
    assert config["execute"]["execute_notebooks"] == "off"
    assert sphinx["hide_solutions"] is True and sphinx["html_copy_source"] is False and sphinx["numfig"] is True
    assert sphinx["html_theme_options"]["use_download_button"] is False
    assert config["html"]["use_repository_button"] is False and config["launch_buttons"]["binderhub_url"] == ""
    assert se.DOWNLOADS_DIR in config["exclude_patterns"] and "_build" in config["exclude_patterns"]


def test_teacher_only_pages_leave_the_toc():
    toc = {"format": "jb-book", "root": "book/00_intro", "parts": [
        {"caption": "A", "chapters": [{"file": "book/01_a"}, {"file": "book/instructor_guide.ipynb"}]},
        {"caption": "Teaching", "chapters": [{"file": "book/instructor_guide"}]}]}
    assert se.student_toc(toc)["parts"] == [{"caption": "A", "chapters": [{"file": "book/01_a"}]}]


def test_normalise_reads_markdown_html_and_json_alike():
    markdown = "**Scaling** by $\\sqrt{d_k}$ keeps the variance at 1 -- always."
    html = "<p><strong>Scaling</strong> by <span class=\"math\">\\(\\sqrt{d_k}\\)</span> keeps the variance at 1 &#8212; always.</p>"
    assert se.normalise(markdown) == se.normalise(html) == se.normalise(json.dumps(markdown))
    assert se.normalise("x &lt; y and a<b") == "x y and a b"


# ------------------------------------------------------------------------------------------
# The fake book, end to end
# ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    """The fake book and its student edition (with the needles of its solutions)."""
    root = tmp_path_factory.mktemp("fakebook")
    book = fx.write_fake_book(root / "src")
    sys.path.insert(0, str(book.root / "pkgs"))
    try:
        edition = se.build_student_edition(book.root, root / "student", package=fx.PACKAGE)
    finally:
        sys.path.remove(str(book.root / "pkgs"))
    return book, edition, edition.needles


def test_fake_needles_cover_every_kind_of_solution(fake):
    _, _, needles = fake
    keys = " | ".join(needles.sentences)
    for sentence in (fx.SOLUTION_SENTENCE_1, fx.SOLUTION_SENTENCE_2, fx.SOLUTION_SENTENCE_MD, fx.SOLUTION_OUTPUT):
        assert se.normalise(sentence) in keys
    assert "unnormalised weights np exp shifted scores for stability" in keys  # the solution code
    assert sorted(round(v, 4) for v in needles.numbers) == [0.0169, 0.0591, 0.1402, 0.2312, 0.6285, 0.7311, 0.924]
    assert len(needles.images) == 1
    assert {"overflow", "sigmoid", "logist"} <= set(needles.stems)
    assert "softmax" not in needles.stems and "row" not in needles.stems  # used outside solutions too


def test_fake_student_edition_has_no_leak(fake):
    _, edition, needles = fake
    leaks = se.find_leaks(edition.out, needles)
    assert not leaks, se.format_leaks(leaks)


def test_fake_student_edition_layout(fake):
    _, edition, _ = fake
    html = edition.html
    assert sorted(p.name for p in edition.out.iterdir()) == ["build.log", "html", se.ZIP_NAME, "notebooks"]
    assert (html / "book" / "01_toy.html").exists() and (html / "searchindex.js").exists()
    assert not (html / "_sources").exists(), "html_copy_source must be off"
    assert not list(html.rglob("instructor_guide*")), "teacher-only page in the student edition"
    assert not any(fx.TEACHER_ONLY_SENTENCE in p.read_text(errors="replace") for p in edition.out.rglob("*") if p.is_file())
    page = (html / "book" / "01_toy.html").read_text()
    assert "(student edition)" in page
    assert "Which axis?" in page and "toy-ex-5" in page  # the exercises are still there
    assert "An example that must stay in the book." in page
    assert "mybinder.org" not in page and "_sources/" not in page and "download-source-button" not in page
    assert "_images/" not in page  # the only image was a solution output


def test_fake_student_notebooks_are_downloadable_and_solution_free(fake):
    _, edition, _ = fake
    names = sorted(p.name for p in (edition.out / "notebooks").glob("*.ipynb"))
    assert names == ["00_intro.ipynb", "01_toy.ipynb"] == sorted(p.name for p in edition.notebooks)
    notebook = nbformat.read(str(edition.out / "notebooks" / "01_toy.ipynb"), as_version=4)
    assert not any(is_solution_cell(c) for c in notebook.cells)
    assert not any(se.NOTE_TAG in c.metadata.get("tags", []) for c in notebook.cells)
    assert len(notebook.cells) == len(fx.toy_chapter(png=b"").cells) - 8
    with zipfile.ZipFile(edition.zip_path) as archive:
        assert sorted(Path(n).name for n in archive.namelist()) == names
    page = (edition.html / "book" / "01_toy.html").read_text()
    links = re.findall(r'href="\.\./(_downloads/[^"]+)"', page)
    assert {Path(link).name for link in links} == {"01_toy.ipynb", se.ZIP_NAME}
    for link in links:
        assert (edition.html / link).is_file()
    downloaded = nbformat.read(str(edition.html / [l for l in links if l.endswith(".ipynb")][0]), as_version=4)
    assert downloaded == notebook


# ------------------------------------------------------------------------------------------
# The leak check can fail
# ------------------------------------------------------------------------------------------

def test_leak_check_finds_every_solution_in_the_teacher_edition(fake, tmp_path):
    """Build the fake book as the teacher does (solutions in, execution off) and search it."""
    book, _, needles = fake
    teacher = tmp_path / "teacher"
    shutil.copytree(book.root, teacher)
    config = (teacher / "_config.yml").read_text()
    (teacher / "_config.yml").write_text(re.sub(r"execute_notebooks:.*", 'execute_notebooks: "off"', config))
    completed = subprocess.run([se._jupyter_book(), "build", "--all", str(teacher), "--path-output",
                                str(tmp_path / "out")], capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]
    leaks = se.find_leaks(tmp_path / "out" / "_build" / "html", needles)
    found = {(leak.path, leak.kind) for leak in leaks}
    assert ("book/01_toy.html", "solution text") in found
    assert ("book/01_toy.html", "answer value") in found
    assert ("book/notes.html", "solution text") in found
    assert ("_sources/book/01_toy.ipynb", "solution text") in found
    assert ("searchindex.js", "search term") in found
    assert any(kind == "solution image" and path.startswith("_images/") for path, kind in found)
    assert any(se.normalise(fx.SOLUTION_SENTENCE_1) in leak.found for leak in leaks if leak.path == "book/01_toy.html")


def _planted_copy(edition, tmp_path) -> Path:
    copy = tmp_path / "planted"
    shutil.copytree(edition.out, copy)
    return copy


def test_leak_check_finds_planted_solution_text(fake, tmp_path):
    _, edition, needles = fake
    copy = _planted_copy(edition, tmp_path)
    page = copy / "html" / "book" / "00_intro.html"
    planted = ("<p><strong>Each row</strong> of the weight\n   matrix sums to one because softmax "
               "normalises every row on its&nbsp;own.</p>")
    page.write_text(page.read_text().replace("</main>", planted + "</main>", 1))
    leaks = se.find_leaks(copy, needles)
    assert [(l.path, l.kind) for l in leaks] == [("html/book/00_intro.html", "solution text")]
    assert "each row of the weight matrix sums to one" in leaks[0].found
    assert "book/01_toy.ipynb cell 5" in str(leaks[0])


def test_leak_check_finds_planted_numbers_images_terms_and_zip_members(fake, tmp_path):
    book, edition, needles = fake
    copy = _planted_copy(edition, tmp_path)
    notebook = nbformat.read(str(copy / "notebooks" / "00_intro.ipynb"), as_version=4)
    notebook.cells.append(nbformat.v4.new_markdown_cell("The answer is 0.73105858."))
    nbformat.write(notebook, str(copy / "notebooks" / "00_intro.ipynb"))
    (copy / "html" / "_images").mkdir(exist_ok=True)
    (copy / "html" / "_images" / "leaked.png").write_bytes(book.png)
    index = (copy / "html" / "searchindex.js").read_text()
    (copy / "html" / "searchindex.js").write_text(re.sub(r'"terms":\s*\{', '"terms": {"overflow": [1], ', index, count=1))
    with zipfile.ZipFile(copy / se.ZIP_NAME, "a") as archive:
        archive.writestr("mgie-lessons-student/extra.md", "print(solution_softmax(scores).round(4))")
    found = {(l.path, l.kind) for l in se.find_leaks(copy, needles)}
    assert found == {
        ("notebooks/00_intro.ipynb", "answer value"),
        ("html/_images/leaked.png", "solution image"),
        ("html/searchindex.js", "search term"),
        (f"{se.ZIP_NAME}!mgie-lessons-student/extra.md", "solution text"),
    }, found


def test_numbers_are_matched_to_four_decimals_only(fake, tmp_path):
    _, edition, needles = fake
    copy = _planted_copy(edition, tmp_path)
    page = copy / "html" / "book" / "00_intro.html"
    page.write_text(page.read_text().replace("</main>", "<p>0.73 0.7312 10.7311 0.731</p></main>", 1))
    assert se.find_leaks(copy, needles) == []


def test_command_line_reports_a_leak_without_a_traceback(fake, tmp_path, capsys, monkeypatch):
    book, edition, _ = fake
    copy = _planted_copy(edition, tmp_path)
    page = copy / "html" / "book" / "00_intro.html"
    page.write_text(page.read_text() + fx.SOLUTION_SENTENCE_2)
    monkeypatch.syspath_prepend(str(book.root / "pkgs"))
    common = ["--root", str(book.root), "--package", fx.PACKAGE, "--check-only"]
    assert se.main(common + ["--out", str(copy)]) == 1
    err = capsys.readouterr().err
    assert "LEAKS" in err and "html/book/00_intro.html" in err and "Traceback" not in err
    assert se.main(common + ["--out", str(edition.out)]) == 0
    assert "leak check passed" in capsys.readouterr().out
    assert se.main(common + ["--out", str(tmp_path / "nowhere")]) == 1


# ------------------------------------------------------------------------------------------
# The real book
# ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def real(tmp_path_factory):
    started = time.perf_counter()
    edition = se.build_student_edition(REPO, tmp_path_factory.mktemp("student"))
    return edition, time.perf_counter() - started


def test_real_student_edition_has_no_solution_anywhere(real):
    edition, seconds = real
    started = time.perf_counter()
    leaks = se.find_leaks(edition.out, edition.needles)
    assert not leaks, f"{len(leaks)} leaks:\n" + se.format_leaks(leaks)
    assert len(edition.needles.sentences) > 100 and edition.needles.numbers
    if edition.needles.public_answers:
        warnings.warn("answers also shown outside solution cells in the teacher book (not searched): "
                      + "; ".join(edition.needles.public_answers[:30]))
    print(f"student build {seconds:.1f} s, leak check {time.perf_counter() - started:.1f} s, {len(edition.needles)} needles")


def test_real_student_edition_layout(real):
    edition, _ = real
    assert (edition.html / "index.html").exists()
    assert not (edition.html / "_sources").exists()
    assert not list(edition.html.rglob("instructor_guide*"))
    names = {p.name for p in edition.notebooks}
    assert {p.name for p in chapter_notebooks(REPO / "book")} <= names and "instructor_guide.ipynb" not in names
    for path in edition.notebooks:
        notebook = nbformat.read(str(path), as_version=4)
        assert not any(is_solution_cell(cell) for cell in notebook.cells), path.name
        assert not any("{solution}" in cell.source for cell in notebook.cells
                       if cell.cell_type == "markdown" and "````" not in cell.source), path.name
    for chapter in chapter_notebooks(REPO / "book"):
        page = edition.html / "book" / f"{chapter.stem}.html"
        assert page.exists(), f"{page} missing from the student site"
        assert "(student edition)" in page.read_text(errors="replace")
