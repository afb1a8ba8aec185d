"""A clean build gives the same HTML as the site `make book` + `make test` leave, apart from known
volatile bits (issue 9: the README's order must pass on a fresh clone).

``$MGIE_DETERMINISM_REFERENCE`` is the site to check (``make test`` points it at the
``_build/html`` that ``make book`` built and its strict build rebuilt in place); without it the
test builds one first. The second build goes into a fresh ``--path-output`` folder with a copy of
the reference's execution cache (``_build/.jupyter_cache``), so it executes nothing: it is the
same executed notebooks written by Sphinx from scratch, and the two sites must agree whatever
the first folder held before (the ``?v=`` checksums Sphinx adds only when an asset is already
in place were the failure; web/mgie_site.py now writes them the same way every time). About 20 s
instead of a full build with execution (minutes).

That two *executions* give the same outputs is checked where it is cheap: nbval executes every
notebook in ``make test`` and compares every cell the website shows (the explorers' HTML
included: it is deterministic, with images blanked by the sanitizer) with the stored outputs,
and tests/test_explorers.py builds explorers twice. ``MGIE_DETERMINISM_FRESH=1`` restores the
full check (the second build executes every notebook again).

Every HTML file of both sites is compared after :func:`normalise`, which removes only what is
known to vary between two executions of the same notebooks (each item says why). The test
prints what it normalised, so the report can say what was volatile. (Found and fixed in the
build instead: the same printed text split into a different number of stream blocks, see
web/mgie_site.py.) ``$MGIE_TOC`` builds with another _toc.yml (development).
"""

from __future__ import annotations

import difflib
import os
import re
import shutil
import subprocess
import time
import sys
from collections import Counter
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# (name, pattern, why it varies). Replacements keep the structure: ids are renumbered in order of
# first appearance, so two pages that differ in anything but the random ids still differ.
VOLATILE = [
    ("widget model ids",
     re.compile(r"(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])"),
     "ipywidgets gives every widget model a random uuid4 hex id when the notebook runs"),
    ("object addresses",
     re.compile(r" at 0x[0-9a-fA-F]+"),
     "a repr such as <Figure at 0x7f...> shows a memory address"),
    ("build timestamps",
     re.compile(r"(Last updated on|Updated on|Built on)[^<]*"),
     "the footer may print the build date"),
]


def normalise(html: str, counts: Counter) -> str:
    for name, pattern, _why in VOLATILE:
        if name == "widget model ids":
            numbering: dict[str, str] = {}

            def renumber(match, numbering=numbering):
                return numbering.setdefault(match.group(0), f"WIDGETID{len(numbering):04d}")

            html, n = pattern.subn(renumber, html)
        else:
            html, n = pattern.subn(f"<{name}>", html)
        counts[name] += n
    return html


def _build(output: Path) -> Path:
    command = [str(Path(sys.executable).parent / "jupyter-book"), "build", "--all", "--path-output", str(output)]
    if os.environ.get("MGIE_TOC"):
        command += ["--toc", os.environ["MGIE_TOC"]]
    result = subprocess.run(command + ["."], cwd=REPO, capture_output=True, text=True,
                            env={**os.environ, "MPLBACKEND": "Agg"})
    assert result.returncode == 0, f"build into {output} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return output / "_build" / "html"


def _html_files(site: Path) -> dict[str, Path]:
    return {p.relative_to(site).as_posix(): p for p in sorted(site.rglob("*.html"))
            if p.relative_to(site).parts[0] != "_sources"}


@pytest.mark.slow
def test_two_builds_give_the_same_html(tmp_path, capsys):
    reference = os.environ.get("MGIE_DETERMINISM_REFERENCE")
    first = Path(reference) if reference else _build(tmp_path / "first")
    assert (first / "index.html").exists(), f"no built site at {first}"
    cache = first.parent / ".jupyter_cache"
    output = tmp_path / "second"
    fresh = os.environ.get("MGIE_DETERMINISM_FRESH") == "1" or not cache.is_dir()
    if not fresh:
        shutil.copytree(cache, output / "_build" / ".jupyter_cache")
    started = time.perf_counter()
    second = _build(output)
    seconds = time.perf_counter() - started
    first_files, second_files = _html_files(first), _html_files(second)
    assert sorted(first_files) == sorted(second_files), (
        f"the builds wrote different pages: only first {sorted(set(first_files) - set(second_files))}, "
        f"only second {sorted(set(second_files) - set(first_files))}")
    counts: Counter = Counter()
    differences = []
    for name in first_files:
        a = normalise(first_files[name].read_text(encoding="utf-8"), counts)
        b = normalise(second_files[name].read_text(encoding="utf-8"), counts)
        if a != b:
            diff = difflib.unified_diff(a.splitlines(), b.splitlines(), "first/" + name, "second/" + name, n=0, lineterm="")
            differences.append("\n".join(line[:300] for line in list(diff)[:12]))
    # Same for every other file the pages use (figures are written under content hashes).
    other = lambda site: {p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()
                          and p.suffix != ".html" and p.relative_to(site).parts[0] not in {"_sources", ".doctrees"}}
    missing = sorted(other(first) ^ other(second))
    with capsys.disabled():
        print(f"\ndeterminism: second build {'with execution' if fresh else 'from the execution cache'} in "
              f"{seconds:.0f} s; compared {len(first_files)} HTML files of {first} and {second}; normalised "
              + ", ".join(f"{name} x{counts[name]}" for name, _p, _w in VOLATILE))
    assert not differences, (
        f"{len(differences)} page(s) differ beyond the known volatile bits (if a module of mgie_lessons "
        "changed since _build was last built, its cached notebook outputs are stale: `make clean`):\n"
        + "\n\n".join(differences[:8]))
    assert not missing, f"the builds wrote different asset files: {missing[:20]}"
