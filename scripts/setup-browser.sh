#!/usr/bin/env bash
# Installs what the real-browser test (tests/e2e/test_browser_tokens.py, docs/browser-test.md)
# needs, from a cold machine or warm in well under a second:
#   - Debian's chromium at /usr/bin/chromium (apt-get, only when missing; needs root or sudo -n).
#     Playwright drives it through executable_path; `playwright install` is never run (its browser
#     download is not reachable from here, and Debian's build is what CI has).
#   - the pinned skyflow-js bundle (tests/browser/package.json + package-lock.json, `npm ci`) into
#     tests/browser/node_modules (git-ignored).
# Playwright for Python itself comes from the `dev` extra in pyproject.toml (scripts/setup.sh).
# A stamp in tests/browser/node_modules records the lock file's hash; chromium is checked each run.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "setup-browser: $*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo -n "$@"
  else return 1
  fi
}

apt_install() {
  log "installing $* with apt-get"
  if ! { as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null &&
         as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null; }; then
    log "warning: could not install $* (not root?); the browser test will skip (or fail under CI=true)"
    return 1
  fi
}

# Both missing pieces in one apt-get update.
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v npm >/dev/null || need+=(nodejs npm)
if [ ${#need[@]} -gt 0 ]; then apt_install "${need[@]}" || true; fi

DIR=tests/browser
STAMP="$DIR/node_modules/.skyflow-pulumi-installed"
want="$(sha256sum "$DIR/package-lock.json" | cut -c1-16)"
if [ "$(cat "$STAMP" 2>/dev/null || true)" != "$want" ]; then
  if ! command -v npm >/dev/null; then
    log "warning: npm is missing; skyflow-js not installed"
    exit 0
  fi
  log "installing skyflow-js (pinned in $DIR/package-lock.json) into $DIR/node_modules"
  (cd "$DIR" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null)
  echo "$want" > "$STAMP"
fi
