"""Copy the website's offline assets from web/node_modules into web/static/.

Run by ``make web-assets`` right after ``npm ci`` in this folder (package.json and
package-lock.json pin the versions). ``web/static/`` is generated (gitignored) and listed in
``html_static_path`` in ``_config.yml``, so Sphinx copies its contents into
``_build/html/_static/``:

* ``mathjax/``  MathJax 3 (``tex-mml-chtml.js`` plus the fonts, TeX extensions and menu/a11y
  components it loads on demand), used through ``sphinx.config.mathjax_path``;
* ``mgie/``     the site's own files from ``web/src/``: ``site.js`` and ``site.css``
  (accessibility fixes).

No widget manager: the website's Explore sections are kernel-free explorers, so no page has a
widget snapshot to render (issue 9).

The folder is deliberately not called ``_static``: Jupyter Book adds a ``<script>`` tag to
every page for each ``.js`` file it finds under a source folder of that name, which would
inject every MathJax component into every page.

axe-core (a devDependency) is NOT copied into the site: the browser tests read
``web/node_modules/axe-core/axe.min.js`` directly.

Standard library only, so it runs before the virtual environment exists.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
from pathlib import Path

WEB = Path(__file__).resolve().parent
NODE_MODULES = WEB / "node_modules"
STATIC = WEB / "static"
STAMP = STATIC / ".stamp"

# MathJax 3: the combined component the pages load, and the folders it loads from on demand
# (fonts, autoloaded TeX extensions such as \boldsymbol or \cancel, menu, accessibility
# explorer and its speech rule engine). The other combined components are not needed.
MATHJAX_FILES = ["tex-mml-chtml.js"]
MATHJAX_DIRS = ["input", "output", "ui", "a11y", "sre", "adaptors"]


def _copy(source: Path, target: Path) -> None:
    if not source.exists():
        sys.exit(f"build_assets: {source} is missing: run `npm ci` in {WEB} first (make web-assets)")
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, target)
    else:
        shutil.copy2(source, target)


def build() -> list[Path]:
    """Recreate web/static/ from node_modules and web/src; return the files written."""
    if STATIC.exists():
        shutil.rmtree(STATIC)
    STATIC.mkdir(parents=True)

    mathjax = NODE_MODULES / "mathjax"
    for name in MATHJAX_FILES:
        _copy(mathjax / "es5" / name, STATIC / "mathjax" / name)
    for name in MATHJAX_DIRS:
        _copy(mathjax / "es5" / name, STATIC / "mathjax" / name)
    _copy(mathjax / "LICENSE", STATIC / "mathjax" / "LICENSE")

    for source in sorted((WEB / "src").iterdir()):
        if source.suffix in {".js", ".css"}:
            _copy(source, STATIC / "mgie" / source.name)

    written = sorted(p for p in STATIC.rglob("*") if p.is_file())
    digest = hashlib.sha256()
    for path in written:
        digest.update(str(path.relative_to(STATIC)).encode())
        digest.update(path.read_bytes())
    STAMP.write_text(digest.hexdigest() + "\n")
    return written


if __name__ == "__main__":
    files = build()
    size = sum(p.stat().st_size for p in files)
    print(f"web/static: {len(files)} files, {size / 1e6:.1f} MB (MathJax 3, site scripts)")
