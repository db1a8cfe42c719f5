# The README's two commands: `make reproduce` and `make test`.
# Each creates the virtual environment .venv on first use (offline-capable after that).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RUFF_STAMP := $(VENV)/.ruff-installed
CORES ?= $(shell nproc)
PROFILE ?= default
export OMP_NUM_THREADS ?= $(CORES)
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: venv reproduce test bench sweep-difficulty mutate fuzz clean-results slurm-smoke

# Fail at once, in one line, when the disk cannot hold what a step writes (measured: the venv
# 7.0 GB, with torch's CUDA build; a test run 0.4 GB under results/ plus pytest's temporaries).
define require_free_mib
@avail=$$(df -Pm . | awk 'NR==2 {print $$4}'); if [ "$$avail" -lt $(1) ]; then \
    echo "error: $(CURDIR): $$avail MiB free on this disk, $(2) needs about $(1) MiB; free disk space and rerun" >&2; \
    exit 1; fi
endef

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	$(if $(wildcard $(BIN)/python),,$(call require_free_mib,7500,installing $(VENV)))
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps open-rppg==0.1.1  # PhysFormer PURE/RLAP weights only (docs/contracts.md)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $(STAMP)

## Set up and run the main job on the embedded default (SynthFF, offline) → reports/table3.{tex,md}
## (PROFILE=smoke|paper|file.yaml → reports/<profile>/table3.*; see docs/pipeline.md)
reproduce: $(STAMP)
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/snakemake --cores $(CORES) \
	    --workflow-profile workflow/profiles/local --config profile=$(PROFILE)

# ruff alone from requirements-dev.txt (its pinned version), for the style check of `make test`
$(RUFF_STAMP): requirements-dev.txt | $(STAMP)
	$(BIN)/python -m pip install --quiet "$$(grep -E '^ruff==' requirements-dev.txt)"
	@touch $@

## Set up and run the style check (ruff, settings in pyproject.toml), then the test suite
test: $(STAMP) $(RUFF_STAMP)
	$(call require_free_mib,1500,the test suite)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m pytest -q tests

## The smoke profile end to end through a real one-node SLURM on this machine (slurm-wlm + munge from
## apt, root or sudo), with workflow/profiles/slurm and snakemake-executor-plugin-slurm; the cluster is
## stopped afterwards. Not part of `make test` (about 11 min on 2 cores): a recorded run is in docs/pipeline.md
slurm-smoke: $(STAMP)
	VENV=$(CURDIR)/$(VENV) tools/slurm_local.sh smoke

## Speed benchmarks (pytest-benchmark), not part of the tests
bench: $(STAMP)
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m pytest -q benchmarks --benchmark-only

## SynthFF difficulty sweep (docs/synthff.md, "Difficulty"): one run per difficulty value.
## SWEEP=difficulty4 (the default): all four detectors at the embedded default's scale, c23 and c40
## (config/studies/difficulty4/) → reports/synthff_difficulty4.{md,json}; SWEEP=difficulty: the
## earlier Xception + LRNet sweep as it was measured (config/studies/difficulty/) → reports/synthff_difficulty.*
SWEEP ?= difficulty4
SWEEP_DIFFICULTIES ?= -0.50 0.00 0.50 1.00
sweep-difficulty: $(STAMP)
	set -e; for d in $(SWEEP_DIFFICULTIES); do \
	    PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/snakemake stage_evaluate --cores $(CORES) \
	        --workflow-profile workflow/profiles/local --config profile=config/studies/$(SWEEP)/$(SWEEP)-$$d.yaml; \
	done
	$(BIN)/umcl report difficulty --results $(foreach d,$(SWEEP_DIFFICULTIES),results/$(SWEEP)-$(d)) \
	    --out reports/synthff_$(SWEEP)

## Mutation testing, not part of `make test` or CI (docs/testing.md records runtime and score):
## mutmut over the [tool.mutmut] modules of pyproject.toml, then the hand-written mutations of
## tests/curated_mutations.py (constants and defaults mutmut cannot change). Narrow a run with
## MUTATE='umcl.losses*' (mutmut's mutant-name globs); MUTATE_CHILDREN parallel workers.
MUTATE ?= umcl.losses* umcl.metrics* umcl.training.schedule* umcl.training.trainer.x_is_better* \
    umcl.views* umcl.data.compression.x_compress_video* umcl.data.compression.x_encode_frames* \
    umcl.data.compression.x_check_levels* \
    umcl.evaluation.aggregate* umcl.report.render* umcl.report.cells* umcl.report.claims* \
    umcl.protocols.tables* umcl.protocols.spec* umcl.protocols.studies* umcl.protocols.figures* \
    umcl.protocols.variants*
MUTATE_CHILDREN ?= $(CORES)
mutate: $(STAMP)
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	rm -rf mutants
	OMP_NUM_THREADS=1 $(BIN)/mutmut run --max-children $(MUTATE_CHILDREN) $(foreach m,$(MUTATE),'$(m)')
	$(BIN)/mutmut results
	OMP_NUM_THREADS=1 $(BIN)/python tests/curated_mutations.py

## Coverage-guided fuzzing of every reader of user input (atheris), not part of `make test` or CI
## (docs/testing.md, "`make fuzz`"): FUZZ_SECONDS per harness, one process each, one after the
## other; FUZZ narrows the list. New interesting inputs go to fuzz/work/<harness>/, a failing input
## to fuzz/work/crash-<harness>-*; with FUZZ_KEEP_GOING=1 every distinct finding is written to
## fuzz/findings/<harness>/ and fuzzing goes on. Exit status 1 if any harness failed.
FUZZ_SECONDS ?= 600
FUZZ ?= config manifest run npz paper_values video
fuzz: $(STAMP)
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	status=0; for h in $(FUZZ); do mkdir -p fuzz/work/$$h; \
	    PYTHONPATH=$(CURDIR) OMP_NUM_THREADS=1 OPENCV_LOG_LEVEL=ERROR $(BIN)/python fuzz/fuzz_$$h.py \
	        -max_total_time=$(FUZZ_SECONDS) -workers=1 -rss_limit_mb=4096 -timeout=60 -print_final_stats=1 \
	        -artifact_prefix=fuzz/work/crash-$$h- fuzz/work/$$h fuzz/corpus/$$h || status=1; \
	done; exit $$status

clean-results:
	rm -rf results reports/*.tex reports/*.md logs
