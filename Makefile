# Two commands set everything up from a fresh clone: `make demo` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: install demo test lab study bench lint clean

install: $(STAMP)

$(STAMP): requirements.txt requirements-test.txt requirements-keras2.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is needed: install it, or run 'make PYTHON=/path/to/python3.11'."; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt -r requirements-test.txt
	$(BIN)/python -m pip install --quiet --no-deps -r requirements-keras2.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation --config-settings editable_mode=compat -e .
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/autograde demo demo-course

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n 2

lab: $(STAMP)
	$(BIN)/autograde lab notebooks

# A learner's copy of the course with the answers removed, then JupyterLab on it. Running it
# again never overwrites the learner's notebooks.
study: $(STAMP)
	$(BIN)/autograde study study
	$(BIN)/autograde lab study

bench: $(STAMP)
	$(BIN)/python benchmarks/recording.py
	$(BIN)/python benchmarks/lessons.py
	$(BIN)/python benchmarks/lessons.py --preloaded

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) demo-course .pytest_cache test-artifacts
