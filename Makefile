# Two commands on a fresh machine: `make run` and `make test`. Both create .venv and
# install the project into it first; nothing needs installing by hand.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8080

.PHONY: install run test test-container test-reliability lint openapi bench profile validate clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

run: install
	HOST=$(HOST) PORT=$(PORT) $(BIN)/gunicorn --config deploy/gunicorn.conf.py service.wsgi:app

test: install lint
	$(BIN)/python -m pytest

test-container: install
	$(BIN)/python -m pytest -m container tests/container

test-reliability: install
	command -v wrk >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk)
	$(BIN)/python -m pytest -m reliability -s tests/reliability

lint: install
	$(BIN)/ruff check service tests benchmarks deploy validation
	$(BIN)/ruff format --check service tests benchmarks deploy validation
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/ruff check scripts
	$(BIN)/ruff format --check scripts

bench: install
	command -v wrk >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk)
	$(BIN)/python -m benchmarks.run --seconds 10

validate: install
	$(BIN)/python -m validation.report

profile: install
	$(BIN)/python -m benchmarks.profile

openapi: install
	$(BIN)/flask --app service.app openapi > openapi/openapi.yaml

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis *.egg-info
