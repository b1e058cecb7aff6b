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

test: db
	@$(VENV)/python -m pytest -q $(PYTEST_ARGS)

lint: setup
	@$(VENV)/ruff check .

bench: db
	@for b in bench/*.py; do echo "== $$b"; $(VENV)/python $$b || exit 1; done

clean:
	-@$(CITYGRID) db stop
	rm -rf .pgdata var
