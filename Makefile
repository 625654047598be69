# The one command surface. `make demo` and `make test` bootstrap .venv themselves.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
# Node 20 is past jsii's end-of-life date; it still works (tested), the banner is noise.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PYTHONDONTWRITEBYTECODE :=
ARCH ?= arm64
PYTEST_ARGS ?=

.PHONY: help venv demo test unit lint docs iam layer synth deploy bench bench-scoring bench-drift bench-realdata bench-coldstart clean

help:
	@echo "make demo    - run the scorewatch scenario end to end on the local cloud"
	@echo "make test    - lint + the whole test suite (unit, integration, infra, e2e)"
	@echo "make lint    - ruff, import contracts (lint-imports), deptry, mypy (+ pip-audit when its database is reachable)"
	@echo "make docs    - regenerate docs/iam.md from the synthesized template, build the site into site/"
	@echo "make iam     - regenerate docs/iam.md only (tests/infra/test_iam_doc.py fails when it is stale)"
	@echo "make layer   - build the runtime dependency tree without Docker, smoke-import it, print sizes"
	@echo "make synth   - synthesize the CDK app into cdk.out/"
	@echo "make deploy  - deploy to the AWS account in your environment (needs Docker and credentials)"
	@echo "make bench   - run the benchmarks (results in docs/benchmarks.md)"

$(STAMP): pyproject.toml layers/requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is required (found %s)" % sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	sed -e 's/\[[^]]*\]//' -e 's/^xgboost-cpu==/xgboost==/' layers/requirements.txt > $(VENV)/constraints.txt
	$(BIN)/python -m pip install --quiet -c $(VENV)/constraints.txt -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/scorewatch demo --output demo-output

lint: $(STAMP)
	$(BIN)/ruff check functions infra tests benchmarks examples docs/hooks
	$(BIN)/ruff format --check functions infra tests benchmarks examples docs/hooks
	$(BIN)/lint-imports
	$(BIN)/deptry functions infra
	$(BIN)/python -m mypy
	@$(BIN)/python tools/audit.py

test: $(STAMP)
	$(BIN)/ruff check functions infra tests benchmarks examples docs/hooks
	$(BIN)/ruff format --check functions infra tests benchmarks examples docs/hooks
	$(BIN)/lint-imports
	$(BIN)/deptry functions infra
	$(BIN)/python -m mypy
	$(BIN)/mkdocs build --strict --site-dir $(VENV)/site
	$(BIN)/python -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

docs: $(STAMP)
	$(BIN)/python -m pip install --quiet -c $(VENV)/constraints.txt -e '.[docs]'
	$(BIN)/python tools/iam_table.py
	$(BIN)/mkdocs build --strict

iam: $(STAMP)
	$(BIN)/python tools/iam_table.py

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit -q $(PYTEST_ARGS)

layer: $(STAMP)
	$(BIN)/python layers/build_layer.py --arch x86_64 --smoke
	$(BIN)/python layers/build_layer.py --arch arm64

synth: $(STAMP)
	$(BIN)/python infra/app.py

deploy: $(STAMP)
	npx --yes aws-cdk@2 deploy --app "$(BIN)/python infra/app.py" --require-approval broadening

bench: bench-scoring bench-drift bench-coldstart

bench-scoring: $(STAMP)
	$(BIN)/python benchmarks/bench_scoring.py --chunk-rows 32768 --repeat 5 --distinct-encoding both

bench-drift: $(STAMP)
	# Evidently 0.7.23 does not import under pandas 3: it gets its own venv (pandas 2.3) for the comparison.
	test -x benchmarks/.evidently-venv/bin/python || ( $(PYTHON) -m venv benchmarks/.evidently-venv && \
		benchmarks/.evidently-venv/bin/pip install --quiet 'evidently==0.7.23' 'pandas==2.3.*' )
	$(BIN)/python benchmarks/bench_drift.py

bench-realdata: $(STAMP)
	test -x benchmarks/.evidently-venv/bin/python || ( $(PYTHON) -m venv benchmarks/.evidently-venv && \
		benchmarks/.evidently-venv/bin/pip install --quiet 'evidently==0.7.23' 'pandas==2.3.*' )
	$(BIN)/python benchmarks/bench_realdata.py

bench-coldstart: $(STAMP)
	$(BIN)/python benchmarks/bench_coldstart.py

clean:
	rm -rf $(VENV) cdk.out site layers/build .pytest_cache .ruff_cache
