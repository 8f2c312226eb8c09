# Opastin: `make run` to start everything, `make test` to check everything.
# Every target installs what it needs first; see README.md.

SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
RASA := $(BIN)/rasa
PYTHON := $(BIN)/python

export PYTHONPATH := $(CURDIR)
export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export PYTHONWARNINGS := ignore::DeprecationWarning

.PHONY: help install install-test train run run-cluster faults stop test check validate lint check-deploy static-checks pytest model-checks test-cluster test-conversations test-stories test-nlu report-nlu crossval clean

help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

install:  ## Install Debian and Python packages into .venv/ and the test identity provider's (quick when done)
	@scripts/install.sh
	@wanted=$$(sha256sum idp/package-lock.json | cut -d' ' -f1); \
	if [ "$$(cat idp/node_modules/.opastin-lock.sha256 2>/dev/null)" != "$$wanted" ]; then \
	  echo "==> Installing the test identity provider's JavaScript packages (idp/, a few seconds)"; \
	  npm ci --prefix idp --no-audit --no-fund --loglevel=error >/dev/null \
	    || { echo "install: npm could not install idp/package-lock.json" >&2; exit 1; }; \
	  echo "$$wanted" > idp/node_modules/.opastin-lock.sha256; \
	fi

install-test: install  ## Also install what the tests need (PostgreSQL)
	@scripts/system_packages.sh test

train: install  ## Train the model if config, domain or data changed
	@$(PYTHON) scripts/train.py

run: train  ## Start Rasa (5005), actions (5055) and the handoff service (8000)
	@$(PYTHON) scripts/run.py

run-cluster: train  ## Two of each behind HAProxy, on PostgreSQL and Redis (docs/operations.md)
	@$(PYTHON) scripts/cluster.py

faults: train  ## The fault suite (issue 19): kills and restarts in a cluster on free ports under load (about 6 minutes)
	@$(PYTHON) scripts/faults.py --report results/faults.json

stop:  ## Stop processes left running by `make run` or `make run-cluster`
	@$(PYTHON) scripts/run.py stop
	@$(PYTHON) scripts/cluster.py stop

test: install  ## Run every check
	@echo "==> training beside the static checks (test packages, content, lint, deploy); each one's output when it ends"
	@$(MAKE) --no-print-directory -j2 --output-sync=target train static-checks
	@echo "==> pytest beside the model checks (test-stories, test-nlu, the conversations, then the cluster's tests); each one's output when it ends"
	@$(MAKE) --no-print-directory -j2 --output-sync=target pytest model-checks
	@echo "==> All checks passed"

# Training keeps both cores busy; what runs beside it mostly waits on the network and the disk
# (apt, pip into .venv-deploy/) or is short (ruff, mypy, import-linter, rasa data validate).
static-checks:
	@$(MAKE) --no-print-directory -j1 install-test validate lint check-deploy

# The model checks are CPU-bound and pytest mostly waits on servers and browsers:
# run side by side, they take about the time of the longer one (README.md). The
# conversation replay runs in this lane so that the two take about as long, and beside
# the cluster's tests, which mostly wait (the fault suite's short run takes its time by
# the clock).
model-checks:
	@$(MAKE) --no-print-directory -j1 test-stories test-nlu
	@$(MAKE) --no-print-directory -j2 --output-sync=target test-conversations test-cluster

validate:  ## Check the content: teams, routes, domain, lexicon and messages together, then Rasa's data
	@echo "==> content files (python -m opastin.validate)"
	@$(PYTHON) -m opastin.validate
	@echo "==> rasa data validate"
	@$(RASA) data validate --fail-on-warnings --quiet

lint:  ## Lint the Python code, check types and the layers (ruff, mypy, import-linter)
	@echo "==> ruff"
	@$(BIN)/ruff check .
	@echo "==> mypy (strict)"
	@$(BIN)/mypy
	@echo "==> import-linter (layers: docs/architecture.md)"
	@$(BIN)/lint-imports --no-cache | grep -E "KEPT|BROKEN|^Contracts|^- " ; exit $${PIPESTATUS[0]}

check-deploy:  ## Static checks of deploy/: hadolint, kubernetes-validate, checkov (tools in .venv-deploy/)
	@scripts/check_deploy.sh

check: install lint  ## The fast tier: lint, layers and the tests that need no trained model (SQLite; about 2 minutes)
	@echo "==> pytest (fast tier)"
	@$(BIN)/pytest

pytest:  ## Every Python test but the cluster's and the conversation replay: fast and end-to-end (SQLite and a throw-away PostgreSQL)
	@echo "==> pytest"
	@scripts/with_postgres.sh $(BIN)/pytest -m "not cluster and not conversations"

test-conversations:  ## Every conversation set replayed against the real stack at five clock times (docs/conversations.md)
	@echo "==> pytest: the conversations"
	@$(BIN)/pytest -m conversations

test-cluster:  ## The cluster's tests: make run-cluster's topology, and the fault suite's short run
	@echo "==> pytest: the cluster"
	@$(BIN)/pytest -m cluster

test-stories:  ## Dialogue test stories in tests/stories/ (custom actions not run)
	@echo "==> rasa test core"
	@$(RASA) test core --model models/opastin.tar.gz --stories tests/stories \
		--fail-on-prediction-errors --out results/core --quiet

# The held-out sets as written and typed in a hurry (all four kinds of noise together); the safety
# lists' emergencies under every kind of noise, their everyday messages as written, typed in a hurry,
# with a letter dropped and in spoken forms: the kinds that change their figures most (lowercase,
# folded letters and dropped punctuation left them as written, within one number answer, over 6,002
# messages; swapped and doubled letters raised them less than a dropped one).
# `scripts/evaluate_nlu.py --perturb` alone measures everything.
test-nlu:  ## Held-out sets and safety lists, clean and typed in a hurry; safety and regression gates (results/nlu/)
	@echo "==> NLU and routes on the held-out sets (tests/heldout/*.yml)"
	@$(PYTHON) scripts/evaluate_nlu.py --model models/opastin.tar.gz --name current --perturb \
		--heldout-perturb hurried --everyday-perturb drop spoken hurried --check-safety --check-regression

report-nlu: train  ## Rasa's own per-intent report and confusion matrix on the held-out sets (results/nlu/rasa; no gate)
	@$(PYTHON) scripts/evaluate_nlu.py --model models/opastin.tar.gz --name current > /dev/null
	@$(RASA) test nlu --model models/opastin.tar.gz --nlu results/nlu/current/heldout_nlu.yml \
		--out results/nlu/rasa --quiet

crossval: install  ## 5-fold cross-validation of the NLU pipeline (slow; report in results/crossval)
	@$(RASA) test nlu --nlu data/nlu --config config.yml --cross-validation --folds 5 --out results/crossval

clean:  ## Remove trained models, test output and runtime state (keeps .venv/)
	rm -rf models/*.tar.gz models/*.fingerprint results test-results var
