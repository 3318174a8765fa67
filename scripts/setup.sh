#!/usr/bin/env bash
# Sets up everything `make up` and `make test` need, from a cold machine or warm in about a second:
# the Python virtualenv named in Pulumi.yaml (with this package installed editable, so dynamic
# providers pickle by reference) and the Pulumi CLI + Python language host (scripts/build-pulumi.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
VENV=venv
STAMP="$VENV/.skyflow-pulumi-installed"
want="$(cat pyproject.toml | sha256sum | cut -c1-16)-$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"

if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating virtualenv $VENV" >&2
  "$PYTHON" -m venv "$VENV"
fi
if [ "$(cat "$STAMP" 2>/dev/null || true)" != "$want" ]; then
  echo "setup: installing skyflow-pulumi and its dependencies into $VENV" >&2
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e '.[dev,sdk,emulator,serve,dist]'
  echo "$want" > "$STAMP"
fi

# The plugin as this repository's tests run it (on PATH through scripts/env.sh): a launcher of the
# editable package in venv/bin. The package itself ships no such script; users install the
# plugin archive of `make dist` (docs/install.md).
PLUGIN_LAUNCHER="$VENV/bin/pulumi-resource-skyflow"
launcher="#!$PWD/$VENV/bin/python
import sys
from skyflow_provider.native.server import main
sys.exit(main())"
if [ "$(cat "$PLUGIN_LAUNCHER" 2>/dev/null || true)" != "$launcher" ]; then
  printf '%s\n' "$launcher" > "$PLUGIN_LAUNCHER.tmp" && chmod 755 "$PLUGIN_LAUNCHER.tmp"
  mv "$PLUGIN_LAUNCHER.tmp" "$PLUGIN_LAUNCHER"
fi

bash scripts/build-pulumi.sh >/dev/null
bash scripts/setup-browser.sh  # chromium + pinned skyflow-js for tests/e2e/test_browser_tokens.py
