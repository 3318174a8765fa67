# The two commands of the README. Each sets everything up first (fast when warm).
.PHONY: up test setup lint bench bench-1000 emulator clean generate

up: setup
	@bash scripts/up.sh

test: setup
	@bash scripts/test.sh

setup:
	@bash scripts/setup.sh

lint: setup
	venv/bin/ruff check .
	venv/bin/mypy

# Rewrite every file derived from skyflow_provider/resources/declarations.py (typed Args and
# Outputs, sdk/schema.json, docs/resources.md tables, the benchmark floor's shape).
generate: setup
	venv/bin/python tools/generate.py
	bash tools/sdkgen.sh  # sdk/nodejs and sdk/go from sdk/schema.json (Pulumi codegen)

bench: setup
	@bash scripts/bench.sh

# Issue 15's scale run alone: N=1000 service accounts + 1000 assignments created, refreshed and
# destroyed, against the engine floor (benchmarks/results/create_costs_n1000.*; ~15 min).
bench-1000: setup
	@bash scripts/bench.sh --only-1000

# Run the emulator in the foreground for manual exploration (data kept in .state/emulator).
emulator: setup
	venv/bin/python -m skyflow_emulator --host 127.0.0.1 --port $${SKYFLOW_EMULATOR_PORT:-18443} --data-dir .state/emulator

clean:
	rm -rf .state
