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

.PHONY: help install system-deps browser-deps proxy-deps chp-deps labextension test lab bench lint constraints clean

help:
	@echo "make lab    - install, start a local hub with demo content, open JupyterLab"
	@echo "make test   - install and run the whole test suite"
	@echo "make bench  - run the benchmarks in bench/ (prints ratios against baselines)"
	@echo "make lint   - ruff (lint, format), the import-direction check, mypy, eslint and prettier"

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch first and exactly this version: a CPU wheel is on local disk, others download CUDA builds
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[postgres,s3,ml,notebook,lab,test]"
	touch $(STAMP)

install: $(STAMP)

system-deps: browser-deps proxy-deps chp-deps
	bash scripts/ensure-postgres.sh >/dev/null

# Debian's nginx: the proxy in front of the multi-process tests and the load benchmark.
proxy-deps:
	bash scripts/ensure-nginx.sh >/dev/null

# configurable-http-proxy (npm), JupyterHub's proxy for the JupyterHub tests, in tests/support/chp.
chp-deps:
	bash scripts/ensure-chp.sh >/dev/null

# Debian's chromium: the browser of the Galata tests and the lab benchmark (no Playwright download).
browser-deps:
	bash scripts/ensure-chromium.sh >/dev/null

# The lab extension's JS dependencies (labextension/ and the Galata tests in ui-tests/), installed
# with jlpm (yarn, from jupyter-builder in .venv), and the built extension linked into .venv so
# that rebuilds (`cd labextension && jlpm build`) show up without reinstalling.
JLPM := PATH=$(CURDIR)/$(BIN):$$PATH $(CURDIR)/$(BIN)/jlpm
labextension/node_modules/.installed: labextension/package.json labextension/yarn.lock | $(STAMP)
	cd labextension && $(JLPM) install
	touch $@
ui-tests/node_modules/.installed: ui-tests/package.json ui-tests/yarn.lock | $(STAMP)
	cd ui-tests && $(JLPM) install
	touch $@

labextension: labextension/node_modules/.installed ui-tests/node_modules/.installed
	test -f workbench/labextension/static/style.js || (cd labextension && $(JLPM) build)
	rm -rf $(VENV)/share/jupyter/labextensions/workbench
	ln -s $(CURDIR)/workbench/labextension $(VENV)/share/jupyter/labextensions/workbench
	cp install.json workbench/labextension/install.json

test: install system-deps labextension
	$(BIN)/python -m pytest -q -ra $(PYTEST_ARGS)

lab: install browser-deps labextension
	bash scripts/lab.sh

bench: install system-deps labextension
	$(BIN)/python -m bench.run

lint: install labextension
	$(BIN)/python -m ruff check workbench tests bench
	$(BIN)/python -m ruff format --check workbench tests bench
	$(BIN)/python -m pytest -q tests/project/test_imports.py
	$(BIN)/python -m mypy workbench
	cd labextension && $(JLPM) lint:check

# huggingface_hub's own tests, from its source archive, against a real hub (docs/hf-compatibility.md).
INTEROP_VENV := build/interop-venv
INTEROP_ARGS ?=
.PHONY: interop
$(INTEROP_VENV)/.installed: constraints.txt scripts/interop/requirements.txt
	test -x $(INTEROP_VENV)/bin/python || $(PYTHON) -m venv $(INTEROP_VENV)
	$(INTEROP_VENV)/bin/python -m pip install -q -c constraints.txt -r scripts/interop/requirements.txt
	touch $@

interop: install $(INTEROP_VENV)/.installed
	$(BIN)/python scripts/interop/run.py --python $(INTEROP_VENV)/bin/python $(INTEROP_ARGS)

# Refresh the tested versions after changing dependencies.
constraints: install
	$(BIN)/python -m pip freeze --exclude-editable | sed 's/^torch==2.13.0+cpu$$/torch==2.13.0/' > constraints.txt

clean:
	rm -rf $(VENV) .lab-data bench/out
