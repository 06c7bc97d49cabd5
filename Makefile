# Two entry points: `make run` (the workflow on config.yaml) and `make test`.
# Both create the virtual environment on first use.
VENV ?= .venv
PYTHON ?= python3
CORES ?= all
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run run-offline test lint report clean-venv

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt -r requirements-dev.txt
	touch $@

run: $(STAMP)
	$(BIN)/snakemake --cores $(CORES) $(ARGS)

# The same workflow on ../shared (mirror + local COCO subset), no network needed.
run-offline: $(STAMP)
	$(BIN)/snakemake --cores $(CORES) --configfile tests/config/offline.yaml $(ARGS)

test: $(STAMP)
	$(BIN)/pytest $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/snakefmt --check Snakefile rules
	$(BIN)/snakemake --lint

# Snakemake's own report (plots and captions), beside results/.
report: $(STAMP)
	$(BIN)/snakemake --cores 1 --report report.zip $(ARGS)

clean-venv:
	rm -rf $(VENV)
