# One entry point for people and CI. Every target installs what it needs into .venv first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
LOCAL_PACKAGES := contracts libs/kit deploy/local services/identity services/requests \
                  services/inventory services/audit services/portal
INSTALLED := $(VENV)/.installed

.PHONY: install run test lint bench lock schemas clean help k8s-check images image-test faults
.DEFAULT_GOAL := help

help:
	@echo "make run    - start the whole system on this machine with demo data"
	@echo "make test   - run the whole test suite against real PostgreSQL, broker and Keycloak stand-in"
	@echo "make faults - the fault tests with 30-second outages of the broker, Keycloak and PostgreSQL (printed recovery times)"
	@echo "make lint   - ruff + mypy"
	@echo "make k8s-check - render deploy/k8s, validate against the Kubernetes and CRD schemas and deploy/images.yaml"
	@echo "make bench  - benchmarks (JSON on stdout)"
	@echo "make lock   - recompile requirements.lock from requirements.in"
	@echo "make schemas - regenerate contracts/schemas and contracts/asyncapi.yaml"
	@echo "make images - build phoi/<service> images (Docker, else buildah; BASE=... picks the base image)"
	@echo "make image-test - build the images on a debootstrapped base with buildah, migrate and serve (slow)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(BIN)/uv: | $(BIN)/python
	$(BIN)/python -m pip install --quiet "uv==$(UV_VERSION)"

# The lock is installed exactly (uv pip sync checks the hashes), then the local packages as editables,
# then the portal's pinned front-end assets (npm pack, integrity-checked; see services/portal/assets.lock.json).
$(INSTALLED): requirements.lock $(foreach p,$(LOCAL_PACKAGES),$(p)/pyproject.toml) services/portal/assets.lock.json \
              | $(BIN)/uv
	$(BIN)/uv pip sync --quiet --python $(BIN)/python --require-hashes requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps --no-build-isolation \
		$(foreach p,$(LOCAL_PACKAGES),-e $(p))
	$(BIN)/python -m phoi_portal.assets
	touch $@

install: $(INSTALLED)

run: $(INSTALLED)
	$(BIN)/python -m phoi_local run

test: $(INSTALLED)
	$(BIN)/pytest

# make test runs tests/faults with 5-second outages; this runs them with the 30 seconds the recovery note quotes,
# and shows what they print (what was done, how long recovery took).
faults: $(INSTALLED)
	PHOI_FAULT_OUTAGE_SECONDS=30 $(BIN)/pytest -p no:cacheprovider tests/faults -s

# The cluster check: renders every overlay (kubectl kustomize, which the machine has) and validates it;
# without a renderer it fails instead of skipping (tests/deploy/conftest.py).
k8s-check: $(INSTALLED)
	PHOI_K8S_CHECK=1 $(BIN)/pytest -p no:cacheprovider tests/deploy

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(INSTALLED)
	@$(BIN)/python -m bench

schemas: $(INSTALLED)
	$(BIN)/python -m phoi_contracts.export

lock: | $(BIN)/uv
	$(BIN)/uv pip compile --quiet --generate-hashes --python-version 3.11 --no-header \
		requirements.in -o requirements.lock

# The portal's assets come from the build context: make install fetched and verified them.
images: $(INSTALLED)
	deploy/images/build.sh

# Slow (minutes, buildah and debootstrap): not in `make test`; .ci/run calls it after.
image-test: $(INSTALLED)
	time $(BIN)/pytest deploy/images/tests -p no:cacheprovider -s --timeout=1500

clean:
	rm -rf $(VENV) .local
