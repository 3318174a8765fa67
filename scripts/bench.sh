#!/usr/bin/env bash
# The `make bench` job: every benchmark scenario in one process tree against a fresh emulator
# (benchmarks/run.py). Writes benchmarks/results/latest.{json,md,png}; never fails on a missed
# target, only when the benchmark itself breaks. Arguments go to `python -m benchmarks.run`
# (--runs N, --sizes 1,10,100, --with-500, --quick, --parallel P; --vending-only runs just the
# token-vending scenario 7 in ~15 s, --skip-vending leaves it out; --native-only runs just the
# native plugin vs dynamic vs floor comparison at N=100 in ~3 min, --skip-native).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

# The bench extra (matplotlib, py-spy) only when missing: a warm run must not touch pip.
if ! python -c 'import matplotlib, shutil, sys; sys.exit(shutil.which("py-spy") is None)' \
    2>/dev/null; then
  echo "bench: installing the bench extra (.[bench]) into venv" >&2
  python -m pip install --quiet --disable-pip-version-check -e '.[bench]'
fi

exec python -m benchmarks.run "$@"
