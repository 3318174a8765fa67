#!/usr/bin/env bash
# The `make test` job: the whole suite, end-to-end tests with the real Pulumi CLI included.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
exec python -m pytest -q -p no:cacheprovider "$@"
