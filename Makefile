# clinssl — two commands: `make run` and `make test`. Everything installs into .venv.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.clinssl-installed
TORCH_SPEC ?= torch==2.13.0
CORES ?= all
PYTEST_ARGS ?=

.PHONY: install run test lint bench report dag clean-results

# Idempotent and fast once done: reinstalls only when pyproject.toml changes.
$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet -e ".[test]"
	@touch $(STAMP)

install: $(STAMP)

run: install
	$(VENV)/bin/snakemake --cores $(CORES)

test: install
	$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/snakemake --lint
	$(VENV)/bin/ruff check lib tests workflow_scripts

# Benchmarks + results/bench/rules.csv (per-rule wall time / max RSS of the last run).
bench: install
	$(PY) -m clinssl.bench --out results/bench --benchmarks results/benchmarks \
	  --rules "$$($(VENV)/bin/snakemake --list-rules 2>/dev/null | awk '/^[A-Za-z_]/{print $$1}' | paste -sd, -)"

report: install
	$(VENV)/bin/snakemake --report results/report.html

dag: install
	@mkdir -p results
	$(VENV)/bin/snakemake --rulegraph dot > results/rulegraph.dot
	@if command -v dot >/dev/null; then dot -Tsvg results/rulegraph.dot > docs/rulegraph.svg && echo "wrote docs/rulegraph.svg"; \
	else echo "graphviz 'dot' not found (apt-get install graphviz); wrote results/rulegraph.dot"; fi

clean-results:
	rm -rf results/* .snakemake
	@touch results/.gitkeep
