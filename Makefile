# The two commands of the README. Each sets everything up first (fast when warm).
.PHONY: up test setup lint bench emulator clean

up: setup
	@bash scripts/up.sh

test: setup
	@bash scripts/test.sh

setup:
	@bash scripts/setup.sh

lint: setup
	venv/bin/ruff check .
	venv/bin/mypy

bench: setup
	@bash scripts/bench.sh

# Run the emulator in the foreground for manual exploration (data kept in .state/emulator).
emulator: setup
	venv/bin/python -m skyflow_emulator --host 127.0.0.1 --port $${SKYFLOW_EMULATOR_PORT:-18443} --data-dir .state/emulator

clean:
	rm -rf .state
