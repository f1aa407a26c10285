# Two commands do everything on a fresh machine (see README, Quick start):
#   make study   # creates .venv, installs coordbias with its extras, runs the quick study
#   make test    # creates .venv, installs coordbias with its extras, runs lint and the tests
# (the extras: study, dev and cluster, so that the tests run the submitit launcher for real)
# and, for the documentation and the package:
#   make docs        # + the docs extra; builds the site into site/ (strict: a warning fails it)
#   make wheel-test  # builds sdist and wheel, checks them, tests the wheel in a fresh venv
# and, on a machine with a GPU (at most 8 minutes; DEVICE=cpu runs it on the CPU, CI adds
# GPU_CHECK_ARGS=--quick for its small sizes):
#   make gpu-check   # layer tests, layer and network speed on every path, a tiny study and
#                    # benchmark, on DEVICE (default cuda): runs/gpu-check/summary.md
# (with a CUDA build of torch: `make gpu-check TORCH="torch==2.13.0 --index-url ..."`, see below)
# TORCH selects the torch build: the default is the CPU wheel 2.13.0. On another platform pass the
# requirement that fits it, e.g. `make test TORCH="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu128"`.
PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DOCS_STAMP := $(VENV)/.installed-docs
STUDY_ARGS ?=
DEVICE ?= cuda
GPU_CHECK_ARGS ?=

.PHONY: setup study test lint speed bench gpu-check docs wheel-test clean

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet -e ".[study,dev,cluster]"
	touch $(STAMP)

setup: $(STAMP)

study: $(STAMP)
	$(BIN)/coordbias study --out runs/study $(STUDY_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n 2

speed: $(STAMP)
	$(BIN)/coordbias speed layers --out runs/bench

# The former name of `make speed`, kept for one release.
bench: speed

gpu-check: $(STAMP)
	$(BIN)/coordbias speed gpu-check --device $(DEVICE) --out runs/gpu-check $(GPU_CHECK_ARGS)

$(DOCS_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[docs]"
	touch $(DOCS_STAMP)

# NO_MKDOCS_2_WARNING: Material's start-up banner about MkDocs 2 (not a build warning).
docs: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

wheel-test:
	PYTHON=$(PYTHON) TORCH="$(TORCH)" bash .ci/wheel

clean:
	rm -rf $(VENV) runs site dist
