# The two commands of the README. Each sets everything up first (fast when warm).
.PHONY: up test setup lint bench bench-1000 emulator clean generate dist

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
	bash tools/sdkgen.sh  # sdk/nodejs, sdk/go and sdk/python from sdk/schema.json (Pulumi codegen)

# Every release artifact into dist/: the Python package (wheel, sdist), the Python SDK of the
# plugin, the plugin archive (PLUGIN_PLATFORMS="linux-amd64 darwin-arm64 ..." for more than the
# host's), the npm tarball and the Go SDK module (tools/dist.py, docs/install.md).
DIST ?= dist
dist: setup
	venv/bin/python tools/dist.py --out $(DIST)

bench: setup
	@bash scripts/bench.sh

# The N=1000 scale run alone: N=100/300/1000 service accounts + as many assignments created,
# refreshed and destroyed, against the engine floor and the floor + 1 API call per step
# (benchmarks/results/create_costs_n1000.*; ~10 min). PULUMI_SKIP_CHECKPOINTS for all: with the
# file backend's per-step checkpoint the floor alone needs over 20 min at N=1000. `bash scripts/bench.sh --backend-curve` measures the
# checkpoint-bound curve (file and S3 backends, N=100/300).
bench-1000: setup
	@bash scripts/bench.sh --only-1000 --skip-checkpoints

# Run the emulator in the foreground for manual exploration (data kept in .state/emulator).
emulator: setup
	venv/bin/python -m skyflow_emulator --host 127.0.0.1 --port $${SKYFLOW_EMULATOR_PORT:-18443} --data-dir .state/emulator

clean:
	rm -rf .state
