# clinssl — two commands: `make run` and `make test`. Everything installs into .venv.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.clinssl-installed
TORCH_SPEC ?= torch==2.13.0
CORES ?= all
PYTEST_ARGS ?=

.PHONY: install run test lint bench bench-gpu report dag clean-results

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

# Benchmarks + results/bench/rules.csv (per-rule wall time / max RSS of the last run; the
# rule of each benchmark TSV comes from a dry run's `benchmark:` lines; pass the run's
# options, e.g. `make bench SNAKEMAKE_ARGS="--configfile my.yaml"`).
SNAKEMAKE_ARGS ?=
bench: install
	@mkdir -p results/bench
	$(VENV)/bin/snakemake --dry-run --forceall $(SNAKEMAKE_ARGS) 2>/dev/null \
	  | awk '/^(local)?rule [A-Za-z0-9_]+:/ {r = $$2; sub(":", "", r)} /^ +benchmark: / {print r "\t" $$2}' \
	  > results/bench/benchmark_rules.tsv || true
	$(PY) -m clinssl.bench --out results/bench --benchmarks results/benchmarks \
	  --benchmark-rules results/bench/benchmark_rules.tsv

# The one-call GPU benchmark (on a machine with CUDA): every benchmark with a device path
# (clinssl.bench.gpu.GPU_BENCHMARKS: HiMAE embedding with the 62.5 Hz resampling in torch on
# the GPU next to resample_poly on the CPU and the CPU device, augmentation, the cache writer;
# ICU pretraining per paradigm in fp32 and bf16 and the ObservationTransformer's peak memory;
# ECG SimCLR; ST-SAE; event-model training) in ONE process within an 8-minute cap, ONE JSON:
# results/bench-gpu/gpu.json (+ gpu.md)
bench-gpu: install
	@$(PY) -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 'bench-gpu: torch sees no CUDA device (torch ' + torch.__version__ + ')')"
	$(PY) -m clinssl.bench --device cuda --out results/bench-gpu

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
