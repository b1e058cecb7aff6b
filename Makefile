# The two commands of the README: `make run` and `make test`.
VENV := .venv/bin
CITYGRID := $(VENV)/citygrid

.PHONY: run run-cluster test setup db lint bench clean

setup:
	@bash scripts/setup.sh

db: setup
	@$(CITYGRID) db start
	@$(CITYGRID) db migrate

run: db
	@$(CITYGRID) demo load --if-empty
	@$(CITYGRID) serve

# Broker mode on one machine: local redis-server (var/redis), FENCE_WORKERS fence workers, the server.
FENCE_WORKERS ?= 2
run-cluster: db
	@$(CITYGRID) demo load --if-empty
	@$(CITYGRID) cluster --fence-workers $(FENCE_WORKERS)

# The layering contracts (pyproject.toml, [tool.importlinter]) first: a violation fails CI before any test runs.
test: db
	@$(VENV)/lint-imports
	@$(VENV)/python -m pytest -q $(PYTEST_ARGS)

lint: setup
	@$(VENV)/ruff check .
	@$(VENV)/lint-imports

bench: db
	@for b in bench/*.py; do echo "== $$b"; $(VENV)/python $$b || exit 1; done

clean:
	-@$(CITYGRID) db stop
	rm -rf .pgdata var
