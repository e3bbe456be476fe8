# Two commands on a fresh machine: `make run` and `make test`. Both create .venv and
# install the project into it first; nothing needs installing by hand.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8080

.PHONY: install run test test-container test-reliability test-browser lint openapi bench profile validate clean
.PHONY: lock sbom

install: $(VENV)/.installed

# durable-rules is built from its pinned sdist with per-session tables sized for one record
# (third_party/durable_rules/build.py says why); pip then keeps it, since 2.0.28+cds.2
# satisfies the project's durable-rules==2.0.28. The wheels of earlier builds are removed
# first: a venv from before a new build would otherwise offer pip two of them.
$(VENV)/.installed: pyproject.toml third_party/durable_rules/build.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip 'setuptools>=70.1'
	rm -rf $(VENV)/wheels
	$(BIN)/python third_party/durable_rules/build.py --out $(VENV)/wheels
	$(BIN)/python -m pip install --quiet --no-deps --force-reinstall $(VENV)/wheels/durable_rules-*.whl
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

run: install
	HOST=$(HOST) PORT=$(PORT) $(BIN)/gunicorn --config deploy/gunicorn.conf.py service.wsgi:app

test: install lint
	$(BIN)/python -m pytest

test-container: install
	$(BIN)/python -m pytest -m container tests/container

test-browser: install
	command -v chromium >/dev/null && command -v chromedriver >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver)
	$(BIN)/python -m pytest -m browser tests/browser

test-reliability: install
	command -v wrk >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk)
	$(BIN)/python -m pytest -m reliability -s tests/reliability

lint: install
	$(BIN)/ruff check service tests benchmarks deploy validation third_party
	$(BIN)/ruff format --check service tests benchmarks deploy validation third_party
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/ruff check scripts
	$(BIN)/ruff format --check scripts
	@if command -v npm >/dev/null; then $(MAKE) --no-print-directory node_modules/.installed \
	  && node_modules/.bin/redocly lint --format=summary openapi/openapi.yaml; \
	else echo "lint: npm not found, skipping redocly lint of openapi/openapi.yaml"; fi

# Node tools for the OpenAPI document (redocly, openapi-typescript), pinned in package-lock.json.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

bench: install
	command -v wrk >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk)
	$(BIN)/python -m benchmarks.run --seconds 10

validate: install
	$(BIN)/python -m validation.report

profile: install
	$(BIN)/python -m benchmarks.profile

openapi: install
	UPDATE_EXAMPLES=1 $(BIN)/python -m pytest -q -p no:cacheprovider tests/test_examples.py -k answers
	$(BIN)/flask --app service.app openapi > openapi/openapi.yaml

# requirements.lock: every runtime dependency pinned with its hashes; the image installs
# exactly these (pip --require-hashes). Run after changing dependencies in pyproject.toml.
lock: install
	$(BIN)/python -m pip install --quiet 'pip-tools>=7.4'
	$(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --all-build-deps --strip-extras --no-emit-find-links \
	  --no-emit-index-url --output-file requirements.lock pyproject.toml

# build/sbom.json: CycloneDX SBOM of what the image installs (requirements.lock).
sbom: install
	mkdir -p build
	$(BIN)/cyclonedx-py requirements --pyproject pyproject.toml --of JSON --output-reproducible \
	  -o build/sbom.json requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis *.egg-info build node_modules .schemathesis
