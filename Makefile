VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: deps constraints demo test test-future test-extras test-fuzz lint typecheck unit bench clean

deps:
	@bash deploy/install-deps.sh

# Pins every package of the working .venv (after `make test` passed with it) for deploy/install-deps.sh.
constraints:
	@{ echo "# Exact versions the test suite passed with; deploy/install-deps.sh installs within them."; \
	   echo "# Regenerate with \`make constraints\` after changing requirements/*.txt and passing make test."; \
	   $(BIN)/pip freeze --exclude-editable | sort -f; } > requirements/constraints.txt

demo: deps
	$(BIN)/clausewatch demo

lint: deps
	$(BIN)/ruff check .

typecheck: deps
	$(BIN)/mypy

unit: deps
	$(BIN)/pytest $(PYTEST_ARGS)

test: deps lint typecheck unit

# The suite again with the wall clock 548 days ahead (libfaketime, monotonic clock left real), so that
# no test passes only near the day it was written. Prometheus and Alertmanager ignore libfaketime,
# Chromium stalls under it: their tests are marked realclock and left out. tests/future_clock keeps
# Python's sleep working under libfaketime.
FUTURE := FAKETIME_DONT_FAKE_MONOTONIC=1 PYTHONPATH=$(CURDIR)/tests/future_clock faketime -f +548d
test-future: deps
	$(FUTURE) $(BIN)/pytest -m "not realclock" -p no:cacheprovider $(PYTEST_ARGS)

# Each extra installed alone (at the pinned versions) into a fresh virtualenv, its entry modules imported.
test-extras: deps
	CLAUSEWATCH_SLOW=1 $(BIN)/pytest tests/test_extras.py -p no:cacheprovider $(PYTEST_ARGS)

# the schemathesis run that `make test` does, with many more examples per operation (a few minutes)
test-fuzz: deps
	CLAUSEWATCH_FUZZ_EXAMPLES=$${CLAUSEWATCH_FUZZ_EXAMPLES:-150} $(BIN)/pytest tests/integration/test_api_fuzz.py $(PYTEST_ARGS)

bench: deps
	@for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
