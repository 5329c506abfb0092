# The two commands of the README: `make lab` and `make test`. Everything they need is
# installed from here (Python packages into .venv, PostgreSQL from Debian's packages).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=

export HF_HUB_DISABLE_TELEMETRY := 1
export HF_UPDATE_DOWNLOAD_COUNTS := 0
export DO_NOT_TRACK := 1

.PHONY: help install system-deps test lab bench lint constraints clean

help:
	@echo "make lab    - install, start a local hub with demo content, open JupyterLab"
	@echo "make test   - install and run the whole test suite"
	@echo "make bench  - run the benchmarks in bench/ (prints ratios against baselines)"
	@echo "make lint   - ruff and mypy"

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch first and exactly this version: a CPU wheel is on local disk, others download CUDA builds
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[postgres,ml,notebook,lab,test]"
	touch $(STAMP)

install: $(STAMP)

system-deps:
	bash scripts/ensure-postgres.sh >/dev/null

test: install system-deps
	$(BIN)/python -m pytest -q -ra $(PYTEST_ARGS)

lab: install
	bash scripts/lab.sh

bench: install
	$(BIN)/python -m bench.run

lint: install
	$(BIN)/python -m ruff check workbench tests bench
	$(BIN)/python -m mypy workbench/store workbench/hub workbench/client

# Refresh the tested versions after changing dependencies.
constraints: install
	$(BIN)/python -m pip freeze --exclude-editable | sed 's/^torch==2.13.0+cpu$$/torch==2.13.0/' > constraints.txt

clean:
	rm -rf $(VENV) .lab-data bench/out
