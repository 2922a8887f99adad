# make book: set up .venv, fetch the embedded model and data, run the chapters, build the book.
# make test: the same set-up, then the test suite.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.soi-installed
CHAPTERS := multi_source multi_task multi_lingual two_stage summary
EXECUTED := $(CHAPTERS:%=_build/papermill/%.ipynb)
SOURCES := $(wildcard soi/*.py soi/starter/*)

.PHONY: book test assets clean
.DELETE_ON_ERROR:

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

assets: $(STAMP)
	$(BIN)/python -m soi -v fetch

# Each chapter runs under papermill with its default parameters (soi chapter checks them
# first). Its training runs are saved under runs/ and reused when Jupyter Book executes the
# page again to render it.
_build/papermill/%.ipynb: book/%.md $(SOURCES) $(STAMP)
	$(BIN)/soi chapter --log-output $< $@
	rm -rf _build/.jupyter_cache

book: assets $(EXECUTED)
	$(BIN)/jupyter-book build --warningiserror --keep-going .
	@$(BIN)/python -m soi summary runs
	@echo "The book is at $(CURDIR)/_build/html/index.html"

test: assets
	HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 $(BIN)/python -m pytest

clean:
	rm -rf _build runs
