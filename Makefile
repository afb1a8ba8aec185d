# mgie-lessons: two commands on a fresh machine with Python 3.11+ and make:
#   make book   create .venv, install, execute the notebooks and build the site into _build/html
#   make test   create .venv if missing, run unit tests, nbval over every notebook, strict build
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
NOTEBOOKS := $(sort $(wildcard book/*.ipynb))
NBVAL_FLAGS := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg -p no:randomly

.PHONY: help env book test unit nbval build-strict notebooks lab clean

help:
	@echo "make book       build the website into _build/html (creates .venv on first use)"
	@echo "make test       unit tests + nbval + warnings-as-errors build"
	@echo "make notebooks  re-execute every notebook in place (outputs are committed)"
	@echo "make lab        open the notebooks in JupyterLab (installs it on first use)"
	@echo "make student    build the student edition (no solutions) into _build/student and check it"
	@echo "make grade SUBMISSIONS=dir   run and grade a folder of submitted notebooks"
	@echo "make clean      remove _build"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[book,test]'
	touch $(STAMP)

env: $(STAMP)

book: env
	$(BIN)/jupyter-book build --all .
	@echo
	@echo "The book is built. Open: file://$(CURDIR)/_build/html/index.html"

unit: env
	MPLBACKEND=Agg $(BIN)/python -m pytest tests -q

nbval: env
	MPLBACKEND=Agg $(BIN)/python -m pytest $(NBVAL_FLAGS) -q $(NOTEBOOKS)

build-strict: env
	$(BIN)/jupyter-book build --all -W -n --keep-going .

test: unit nbval build-strict

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
.PHONY: student grade
SUBMISSIONS ?= submissions
GRADES ?= grades.csv

student: env
	MPLBACKEND=Agg $(BIN)/python -m mgie_lessons.student_edition --out _build/student

grade: env
	MPLBACKEND=Agg $(BIN)/python -m mgie_lessons.grading $(SUBMISSIONS) --csv $(GRADES)
