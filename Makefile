VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: deps demo test lint typecheck unit bench clean

deps:
	@bash deploy/install-deps.sh

demo: deps
	$(BIN)/clausewatch demo

lint: deps
	$(BIN)/ruff check .

typecheck: deps
	$(BIN)/mypy

unit: deps
	$(BIN)/pytest $(PYTEST_ARGS)

test: deps lint typecheck unit

# the schemathesis run that `make test` does, with many more examples per operation (a few minutes)
.PHONY: test-fuzz
test-fuzz: deps
	CLAUSEWATCH_FUZZ_EXAMPLES=$${CLAUSEWATCH_FUZZ_EXAMPLES:-150} $(BIN)/pytest tests/integration/test_api_fuzz.py $(PYTEST_ARGS)

bench: deps
	@for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
