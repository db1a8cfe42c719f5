# The README's two commands: `make reproduce` and `make test`.
# Each creates the virtual environment .venv on first use (offline-capable after that).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CORES ?= $(shell nproc)
PROFILE ?= default
export OMP_NUM_THREADS ?= $(CORES)
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: venv reproduce test bench sweep-difficulty clean-results

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $(STAMP)

## Set up and run the main job on the embedded default (SynthFF, offline) → reports/table3.{tex,md}
## (PROFILE=smoke|paper|file.yaml → reports/<profile>/table3.*; see docs/pipeline.md)
reproduce: $(STAMP)
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/snakemake --cores $(CORES) \
	    --workflow-profile workflow/profiles/local --config profile=$(PROFILE)

## Set up and run the test suite
test: $(STAMP)
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m pytest -q tests

## Speed benchmarks (pytest-benchmark), not part of the tests
bench: $(STAMP)
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m pytest -q benchmarks --benchmark-only

## SynthFF difficulty sweep (docs/synthff.md, "Difficulty"): one small run per difficulty value
## (config/studies/difficulty/) → reports/synthff_difficulty.{md,json}
SWEEP_DIFFICULTIES ?= 0.00 0.50 1.00
sweep-difficulty: $(STAMP)
	set -e; for d in $(SWEEP_DIFFICULTIES); do \
	    PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/snakemake stage_evaluate --cores $(CORES) \
	        --workflow-profile workflow/profiles/local --config profile=config/studies/difficulty/difficulty-$$d.yaml; \
	done
	$(BIN)/umcl report difficulty --results $(foreach d,$(SWEEP_DIFFICULTIES),results/difficulty-$(d)) \
	    --out reports/synthff_difficulty

clean-results:
	rm -rf results reports/*.tex reports/*.md logs
