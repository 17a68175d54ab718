# Two commands do everything on a fresh machine with Python >= 3.11:
#   make run    -> creates .venv, installs the pinned requirements, runs the pipeline on the
#                  embedded reference study and writes results/report.html
#   make test   -> same bootstrap, then the test suite (2 pytest-xdist workers)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
CORES  ?= all
RESULTS ?= results
SNAKEMAKE := $(BIN)/snakemake
STAMP  := $(VENV)/.installed

.PHONY: run report test browser-deps test-all test-cluster test-bootstrap bench snapshot lint fmt reference-data clean help

help:
	@echo "make run | test | test-cluster | test-bootstrap | bench | report | snapshot LABEL=... | lint | fmt | reference-data"

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is required")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	# the library (workflow/fcrnpipe), editable; pip fetches its build backend (setuptools)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(SNAKEMAKE) --cores $(CORES) --config results_dir=$(RESULTS)
	$(SNAKEMAKE) --cores 1 --config results_dir=$(RESULTS) --report $(RESULTS)/report.html

report: $(STAMP)
	$(SNAKEMAKE) --cores 1 --config results_dir=$(RESULTS) --report $(RESULTS)/report.html

# Headless Chromium for the report test (Debian packages; needs root or an existing install).
browser-deps:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  { echo "installing chromium and chromium-driver (apt-get)"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver >/dev/null || \
	    { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver >/dev/null; }; }

# pytest-xdist: TEST_WORKERS processes (0: one process, no xdist); 2, the cores of the reference
# machine (the end-to-end Snakemake runs use --cores 2 themselves). --dist loadgroup keeps the
# tests of one session pipeline run in one worker (tests/conftest.py: SESSION_RUN_GROUPS)
TEST_WORKERS ?= 2
test: $(STAMP) browser-deps
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadgroup

test-all: $(STAMP) browser-deps
	$(BIN)/python -m pytest -q -m "not cluster"   # slow tests too; the cluster test needs `make test-cluster`

test-cluster: $(STAMP)
	bash scripts/cluster/test_cluster.sh

# The default bootstrap on the reference study under two OpenBLAS kernels (see tests/test_bootstrap_reference.py).
test-bootstrap: $(STAMP)
	$(BIN)/python -m pytest -q -m bootstrap tests/test_bootstrap_reference.py

bench: $(STAMP)
	$(BIN)/python scripts/benchmark.py --out results/benchmarks/pkpd.csv

snapshot: $(STAMP)
	$(BIN)/python scripts/snapshot.py --results $(RESULTS) --label "$(LABEL)"

lint: $(STAMP)
	$(SNAKEMAKE) --lint
	$(BIN)/snakefmt --check Snakefile workflow/rules

fmt: $(STAMP)
	$(BIN)/snakefmt Snakefile workflow/rules

reference-data: $(STAMP)
	$(BIN)/python scripts/simulate_study.py --out resources/reference_study/raw

clean:
	rm -rf $(RESULTS) logs .snakemake
