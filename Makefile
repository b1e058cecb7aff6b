# The two commands of the README: `make run` and `make test`.
VENV := .venv/bin
CITYGRID := $(VENV)/citygrid

.PHONY: run test setup db lint bench clean

setup:
	@bash scripts/setup.sh

db: setup
	@$(CITYGRID) db start
	@$(CITYGRID) db migrate

run: db
	@$(CITYGRID) demo load --if-empty
	@$(CITYGRID) serve

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
