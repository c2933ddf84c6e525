# The two commands a new user needs: `make run` (the whole pipeline locally) and `make test`.
# Both create the virtual environment on first use.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The stamp names the requirements' hash, so editing a requirements file reinstalls.
REQS_HASH := $(shell cat requirements.txt requirements-dev.txt | sha256sum | cut -c1-12)
STAMP := $(VENV)/.installed-$(REQS_HASH)
export PYTHONPATH := $(CURDIR)

.PHONY: venv run demo test check-tools lint types pytest tf-check package deploy destroy bench soak clean

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	@rm -f $(VENV)/.installed-* && touch $@

venv: $(STAMP)

## run: the whole pipeline on 127.0.0.1 (emulator 8085, ingest 8080, dispatch 8081, collector 8090)
run: $(STAMP) check-tools
	$(BIN)/python -m tools.stack

## demo: post one signed sample call to the running pipeline (SOURCE=callrail, twilio, … for a
## platform's; SCENARIO=answered, missed, voicemail, multi-leg, … for one of its call scenarios)
SOURCE ?= generic
SCENARIO ?= answered
demo: $(STAMP)
	$(BIN)/python -m tools.send_call --source $(SOURCE) --scenario $(SCENARIO)

## test: every check: lint, types, Terraform, then all tests (unit, functions, e2e, terraform)
test: lint types tf-check pytest

check-tools:
	@command -v gcloud >/dev/null || { echo "gcloud CLI not found: the Pub/Sub and Firestore emulators come with it (components pubsub-emulator, cloud-firestore-emulator)"; exit 1; }
	@command -v java >/dev/null || { echo "java not found: the Pub/Sub emulator needs a Java runtime (17+)"; exit 1; }

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m tools.export_schema --check
	$(BIN)/python -m tools.config_docs --check

types: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) check-tools
	$(BIN)/python -m pytest

tf-check: $(STAMP)
	tools/terraform_check.sh

## package: the deploy archive .build/source.zip (byte-for-byte reproducible; prints its sha256)
package:
	$(PYTHON) tools/package.py

## deploy: package, then terraform plan, show, ask, apply (needs terraform/terraform.tfvars)
deploy:
	tools/deploy.sh deploy

## destroy: plan the teardown, show it, ask, apply
destroy:
	tools/deploy.sh destroy

## bench: ingest and dispatch side by side with the bare framework, a naive publisher and the
## emulator's push floor, driven by wrk (install it first); exits 1 when a figure misses its target.
## Not part of `make test`: timings are a check on a quiet machine, not a test. See docs/development.md.
bench: $(STAMP) check-tools
	@command -v wrk >/dev/null || { echo "wrk not found: install it (Debian/Ubuntu: sudo apt-get install -y wrk; macOS: brew install wrk)"; exit 2; }
	$(BIN)/python -m tools.bench

## soak: the local stack under collector faults, crashes and outages; counts lost and doubled
## calls per destination (CALLS=2000 RATE=25 FAULT_RATE=0.3 FAULT_MIX=2,1,1: 5xx,slow,timeout)
CALLS ?= 2000
RATE ?= 25
FAULT_RATE ?= 0.3
FAULT_MIX ?= 2,1,1
soak: $(STAMP) check-tools
	$(BIN)/python -m tools.soak --calls $(CALLS) --rate $(RATE) --fault-rate $(FAULT_RATE) --fault-mix $(FAULT_MIX)

clean:
	rm -rf $(VENV) .cache .build .mypy_cache .ruff_cache .pytest_cache .hypothesis
