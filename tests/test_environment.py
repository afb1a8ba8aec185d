"""environment.yml (Binder, conda) and pyproject.toml (pip, make) must list the same packages."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _normalise(requirement: str) -> tuple[str, str]:
    requirement = requirement.strip()
    match = re.match(r"^([A-Za-z0-9_.\-]+)\s*(.*)$", requirement)
    assert match, f"cannot read requirement {requirement!r}"
    name = re.sub(r"[-_.]+", "-", match.group(1)).lower()
    spec = match.group(2).replace(" ", "")
    return name, ",".join(sorted(spec.split(","))) if spec else ""


def pyproject_requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        requirements += extra
    return dict(_normalise(r) for r in requirements)


def environment_requirements() -> dict[str, str]:
    packages = {}
    in_dependencies = False
    for line in (ROOT / "environment.yml").read_text().splitlines():
        stripped = line.split("#", 1)[0].rstrip()
        if not stripped:
            continue
        if re.match(r"^\S", stripped):
            in_dependencies = stripped.startswith("dependencies:")
            continue
        item = re.match(r"^  - (\S.*)$", stripped)
        if in_dependencies and item and not item.group(1).startswith("pip:"):
            name, spec = _normalise(item.group(1))
            if name not in {"python", "pip"}:
                packages[name] = spec
    return packages


def test_environment_yml_lists_exactly_the_pyproject_packages():
    assert environment_requirements() == pyproject_requirements()


def test_environment_installs_the_package_itself():
    text = (ROOT / "environment.yml").read_text()
    assert re.search(r"^\s+- -e \.\s*$", text, re.M), "environment.yml must pip-install the book's package"


def test_normalise_reads_names_and_specs():
    assert _normalise("jupyter_book >=1.0.4,<2") == ("jupyter-book", "<2,>=1.0.4")
    assert _normalise("NumPy") == ("numpy", "")
