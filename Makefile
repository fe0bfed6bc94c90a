# Two commands for a new user: `make report` and `make test`. Everything runs in .venv.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install report test test-all lab demo notebooks bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,lab,data,distributed,warehouse]"
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install the project

report: $(STAMP)  ## simulate the demo world if needed, run the suite, publish reports/latest
	$(BIN)/cxresearch run --data demo --out reports

test: $(STAMP)  ## the test suite CI runs (slow scale tests excluded)
	$(BIN)/python -m pytest -m "not scale" -q

test-all: $(STAMP)  ## every test, including slow scale tests
	$(BIN)/python -m pytest -q

demo: $(STAMP)  ## (re)generate the demo world in data/demo
	$(BIN)/cxresearch simulate --out data/demo

lab: $(STAMP)  ## JupyterLab on the project environment
	$(BIN)/python -m ipykernel install --sys-prefix --name cxresearch --display-name "cxresearch (.venv)"
	$(BIN)/jupyter lab notebooks/

bench: $(STAMP)  ## benchmark scripts (figures, not tests): suite wall time, scale, features vs pandas and engines, 1M suite
	$(BIN)/python bench/suite_wall_time.py
	$(BIN)/python bench/scale.py
	$(BIN)/python bench/features_vs_pandas.py
	$(BIN)/python bench/features_engines.py
	$(BIN)/python bench/suite_scale.py

clean:  ## remove generated data and reports (keeps .venv)
	rm -rf data/demo reports/2* reports/latest reports/.tmp-*

notebooks: $(STAMP)  ## regenerate the .ipynb files from their paired .py sources (outputs stay out of git)
	for f in notebooks/*.py; do $(BIN)/jupytext --to ipynb --update --update-metadata '{"jupytext": null}' "$$f" -o "$${f%.py}.ipynb" -q; done
