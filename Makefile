# Paydesk. `make help` lists the targets.
.DEFAULT_GOAL := help
VENV := .venv/bin
PORT ?= 8000

.PHONY: help demo test lint typecheck pytest migrate bench clean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

demo: ## Install what is needed, then run the demo (SQLite, demo data, sandbox gateway) on :8000 (PORT=N)
	@scripts/bootstrap.sh demo
	$(VENV)/paydesk demo --port $(PORT)

test: ## Install what is needed, then lint, type-check and run the whole test suite
	@scripts/bootstrap.sh test
	$(MAKE) --no-print-directory lint typecheck pytest

lint: ## ruff check + format check
	$(VENV)/ruff check .
	$(VENV)/ruff format --check .

typecheck: ## mypy --strict on the packages
	$(VENV)/mypy

pytest: ## The test suite and the browser journeys (PostgreSQL too when PAYDESK_TEST_POSTGRES_URL is set)
	$(VENV)/pytest tests e2e

migrate: ## Upgrade the database in PAYDESK_DATABASE_URL (default: SQLite under var/)
	$(VENV)/paydesk migrate

bench: ## Run the benchmarks (see bench/RESULTS.md)
	$(VENV)/python bench/payments.py
	$(VENV)/python bench/widget_size.py
	$(VENV)/python bench/integrations.py

clean: ## Remove the demo database and caches (keeps .venv)
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
