# Developer and CI entry points. The work is done by scripts/*.sh so that each step can also be
# run on its own; see the comment at the top of each script.
#   make run       install into ./.venv and start the demo (siyu demo)
#   make test      install test dependencies, then ruff, lint-imports, pytest on SQLite and PostgreSQL
#                  (extra pytest arguments: make test PYTEST_ARGS="-k customers -x")
#   make lint      ruff and the import-linter contracts only
#   make messages  refresh and compile the zh_Hans and en translation catalogs

SHELL := /bin/bash
VENV := .venv
PYTEST_ARGS ?=

.PHONY: run test lint messages

run:
	@bash scripts/venv.sh app
	$(VENV)/bin/siyu demo

test:
	@bash scripts/test.sh $(PYTEST_ARGS)

lint:
	@bash scripts/venv.sh test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache

messages:
	@bash scripts/system-deps.sh gettext
	@bash scripts/venv.sh app
	$(VENV)/bin/siyu makemessages -l zh_Hans -l en --ignore .venv --ignore var --ignore tests --ignore bench
	$(VENV)/bin/siyu compilemessages --ignore .venv --ignore var
