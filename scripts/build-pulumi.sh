#!/usr/bin/env bash
# Makes the Pulumi CLI and a Python language host available, offline, and prints their bin
# directory as the last line of stdout (everything else goes to stderr).
#
# 1. If a `pulumi` >= 3.200 is already on PATH together with `pulumi-language-python`, `pulumi-language-yaml` and
#    `pulumi-resource-pulumi-python` (e.g. the official CLI from get.pulumi.com or Homebrew), its
#    directory is printed and nothing is built. Set SKYFLOW_PULUMI_BUILD=1 to ignore it.
# 2. Otherwise it builds, from Go modules served by the Go module proxy:
#      pulumi                  github.com/pulumi/pulumi/pkg/v3/cmd/pulumi  (tools/pulumi-cli)
#      pulumi-language-python  our own host on sdk/v3                     (tools/pulumi-language-python)
#      pulumi-language-yaml    our main around github.com/pulumi/pulumi-yaml v1.25.0's host
#                              (tools/pulumi-language-yaml: keeps property values out of -v=9 logs)
#    and copies the SDK's pulumi-language-python-exec and pulumi-resource-pulumi-python next to
#    them, into ${XDG_CACHE_HOME:-$HOME/.cache}/skyflow-pulumi/pulumi-v<version>-<hash>/bin, where
#    <hash> covers tools/ and this script. A warm run only hashes a few files.
# See docs/toolchain.md.
set -euo pipefail

PULUMI_VERSION="3.274.1"
MIN_PULUMI_VERSION="3.200.0"
GO_MIN_VERSION="1.26.6"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE_ROOT="${XDG_CACHE_HOME:-$HOME/.cache}/skyflow-pulumi"

log() { echo "build-pulumi: $*" >&2; }
die() { echo "build-pulumi: error: $*" >&2; exit 1; }

# version_ge A B: true when semver A >= B (major.minor.patch only).
version_ge() {
  local a b i
  IFS=. read -r -a a <<<"${1%%[-+]*}"
  IFS=. read -r -a b <<<"${2%%[-+]*}"
  for i in 0 1 2; do
    if (( 10#${a[i]:-0} > 10#${b[i]:-0} )); then return 0; fi
    if (( 10#${a[i]:-0} < 10#${b[i]:-0} )); then return 1; fi
  done
  return 0
}

# ---- 1. a suitable pulumi already on PATH ------------------------------------------------------
find_existing() {
  local entry p dir ver tool ok
  local -a path_entries
  IFS=: read -r -a path_entries <<<"$PATH"
  for entry in "${path_entries[@]}"; do
    [[ -n "$entry" && -x "$entry/pulumi" && ! -d "$entry/pulumi" ]] || continue
    p="$(realpath "$entry/pulumi")"
    dir="$(dirname "$p")"
    # Our own cache dirs are keyed by source hash: an old one on PATH (via env.sh) must not win.
    case "$dir" in "$CACHE_ROOT"/*) continue ;; esac
    ver="$(PULUMI_SKIP_UPDATE_CHECK=true "$p" version 2>/dev/null)" || continue
    ver="${ver#v}"
    if [[ ! "$ver" =~ ^[0-9]+\.[0-9]+\.[0-9]+ ]] || ! version_ge "$ver" "$MIN_PULUMI_VERSION"; then
      log "ignoring $p: version '$ver' (need >= $MIN_PULUMI_VERSION)"
      continue
    fi
    ok=1
    for tool in pulumi-language-python pulumi-resource-pulumi-python pulumi-language-yaml; do
      if [[ ! -x "$dir/$tool" ]] && ! type -P "$tool" >/dev/null 2>&1; then
        log "ignoring $p: no $tool next to it or on PATH"
        ok=0
      fi
    done
    if ((ok)); then
      echo "$dir"
      return 0
    fi
  done
  return 1
}

if [[ "${SKYFLOW_PULUMI_BUILD:-}" != "1" ]] && existing="$(find_existing)"; then
  log "using the pulumi already on PATH ($existing)"
  echo "$existing"
  exit 0
fi

# ---- 2. our cached build -----------------------------------------------------------------------
LH_SRC="$ROOT/tools/pulumi-language-python"
CLI_SRC="$ROOT/tools/pulumi-cli"
[[ -f "$LH_SRC/go.mod" && -f "$CLI_SRC/go.mod" ]] || die "missing $LH_SRC or $CLI_SRC (incomplete checkout?)"

src_hash() {
  # Content of every source file under tools/ plus this script, independent of the checkout path.
  (
    cd "$ROOT"
    find tools -type f \( -name '*.go' -o -name 'go.mod' -o -name 'go.sum' \) -print0 | LC_ALL=C sort -z |
      xargs -0 sha256sum
    sha256sum scripts/build-pulumi.sh
  ) | sha256sum | cut -c1-12
}

HASH="$(src_hash)"
DEST="$CACHE_ROOT/pulumi-v$PULUMI_VERSION-$HASH"
BIN="$DEST/bin"
STAMP="$BIN/.complete"
TOOLS=(pulumi pulumi-language-python pulumi-language-python-exec pulumi-resource-pulumi-python
  pulumi-language-yaml)

is_complete() {
  [[ -f "$STAMP" ]] || return 1
  local t
  for t in "${TOOLS[@]}"; do [[ -x "$BIN/$t" ]] || return 1; done
}

if is_complete; then
  echo "$BIN"
  exit 0
fi

# ---- cold path: build ------------------------------------------------------------------------
command -v go >/dev/null 2>&1 || die "Go >= $GO_MIN_VERSION is needed to build the Pulumi CLI (or install the official CLI, see docs/toolchain.md)"
go_ver="$(go env GOVERSION)"; go_ver="${go_ver#go}"
version_ge "$go_ver" "$GO_MIN_VERSION" || die "Go $go_ver is too old: need >= $GO_MIN_VERSION"

mkdir -p "$CACHE_ROOT"
exec 9>"$CACHE_ROOT/.build.lock"
if ! flock -n 9; then
  log "another build is running; waiting for it ($CACHE_ROOT/.build.lock)"
  flock 9
fi
if is_complete; then # built by whoever held the lock
  echo "$BIN"
  exit 0
fi

export CGO_ENABLED=0 GOFLAGS=-buildvcs=false GOTOOLCHAIN=local
BUILD_TAGS="osusergo grpcnotrace"
LDFLAGS="-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION"
BUILD_DIR="$CACHE_ROOT/build"

# The CLI does not depend on our sources: build it once per version (and wrapper go.sum).
cli_key="$(cat "$CLI_SRC/go.mod" "$CLI_SRC/go.sum" "$CLI_SRC/tools.go" | sha256sum | cut -c1-12)"
CLI_BUILD="$BUILD_DIR/cli-v$PULUMI_VERSION-$cli_key"
if [[ ! -x "$CLI_BUILD/out/pulumi" ]]; then
  log "building pulumi v$PULUMI_VERSION from github.com/pulumi/pulumi/pkg/v3 (cold: ~5 min on 2 cores)"
  rm -rf "$CLI_BUILD"
  mkdir -p "$CLI_BUILD/src"
  cp "$CLI_SRC/go.mod" "$CLI_SRC/go.sum" "$CLI_SRC/tools.go" "$CLI_BUILD/src/"
  start=$SECONDS
  (cd "$CLI_BUILD/src" && go build -trimpath -tags "$BUILD_TAGS" -ldflags "$LDFLAGS" \
    -o "$CLI_BUILD/out/pulumi.tmp" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi) ||
    die "building the Pulumi CLI failed (see the go output above)"
  mv "$CLI_BUILD/out/pulumi.tmp" "$CLI_BUILD/out/pulumi"
  log "pulumi built in $((SECONDS - start))s"
fi

# copy_host SRC DEST: a language host's module into DEST/host and the shared engine watch into
# DEST/enginewatch, where the host's go.mod `replace ... => ../enginewatch` finds it.
copy_host() {
  rm -rf "$2"
  mkdir -p "$2/host" "$2/enginewatch"
  cp "$1"/go.mod "$1"/go.sum "$1"/*.go "$2/host/"
  cp "$ROOT/tools/enginewatch/go.mod" "$ROOT/tools/enginewatch/"*.go "$2/enginewatch/"
  rm -f "$2/enginewatch/"*_test.go
}

# The YAML language host (Pulumi YAML programs, examples/yaml): our main (tools/pulumi-language-yaml,
# a log filter) around pulumi-yaml's host, built once per its module's sources, like the CLI.
# Cold: ~1 min on 2 cores with the CLI's modules cached.
YAML_SRC="$ROOT/tools/pulumi-language-yaml"
WATCH_SRC="$ROOT/tools/enginewatch"  # the engine watch both hosts share (a local module)
yaml_key="$(cat "$YAML_SRC/go.mod" "$YAML_SRC/go.sum" "$YAML_SRC"/*.go "$WATCH_SRC"/go.mod "$WATCH_SRC"/*.go | sha256sum | cut -c1-12)"
YAML_BUILD="$BUILD_DIR/language-yaml-$yaml_key"
if [[ ! -x "$YAML_BUILD/out/pulumi-language-yaml" ]]; then
  log "building pulumi-language-yaml (tools/pulumi-language-yaml on github.com/pulumi/pulumi-yaml)"
  rm -rf "$YAML_BUILD"
  copy_host "$YAML_SRC" "$YAML_BUILD/src"
  start=$SECONDS
  (cd "$YAML_BUILD/src/host" && go build -trimpath -tags "$BUILD_TAGS" -ldflags "-s -w" \
    -o "$YAML_BUILD/out/pulumi-language-yaml.tmp" .) ||
    die "building the YAML language host failed (see the go output above)"
  mv "$YAML_BUILD/out/pulumi-language-yaml.tmp" "$YAML_BUILD/out/pulumi-language-yaml"
  log "pulumi-language-yaml built in $((SECONDS - start))s"
fi

LH_BUILD="$BUILD_DIR/language-python-$HASH"
log "building pulumi-language-python (tools/pulumi-language-python, sdk/v3 v$PULUMI_VERSION)"
rm -rf "$LH_BUILD"
copy_host "$LH_SRC" "$LH_BUILD/src"
start=$SECONDS
(cd "$LH_BUILD/src/host" && go build -trimpath -tags "$BUILD_TAGS" -ldflags "$LDFLAGS" \
  -o "$LH_BUILD/out/pulumi-language-python" .) ||
  die "building the Python language host failed (see the go output above)"
log "pulumi-language-python built in $((SECONDS - start))s"

SDK_DIR="$(cd "$LH_BUILD/src/host" && go list -m -f '{{.Dir}}' github.com/pulumi/pulumi/sdk/v3)"
[[ -n "$SDK_DIR" && -d "$SDK_DIR/python" ]] || die "sdk/v3 module not found in the module cache"
for f in "$SDK_DIR/python/cmd/pulumi-language-python-exec" "$SDK_DIR/python/dist/pulumi-resource-pulumi-python"; do
  [[ -f "$f" ]] || die "missing $f in the sdk/v3 v$PULUMI_VERSION module"
done

# Assemble in a temporary dir, then move into place, so a half-built dir is never used.
TMP="$DEST.tmp.$$"
rm -rf "$TMP"
mkdir -p "$TMP/bin"
ln "$CLI_BUILD/out/pulumi" "$TMP/bin/pulumi" 2>/dev/null || cp "$CLI_BUILD/out/pulumi" "$TMP/bin/pulumi"
cp "$LH_BUILD/out/pulumi-language-python" "$YAML_BUILD/out/pulumi-language-yaml" "$TMP/bin/"
cp "$SDK_DIR/python/cmd/pulumi-language-python-exec" "$SDK_DIR/python/dist/pulumi-resource-pulumi-python" "$TMP/bin/"
chmod 755 "$TMP/bin/"*

got="$(PULUMI_SKIP_UPDATE_CHECK=true "$TMP/bin/pulumi" version)"
[[ "$got" == "v$PULUMI_VERSION" ]] || die "built pulumi reports version '$got', expected v$PULUMI_VERSION"
got="$("$TMP/bin/pulumi-language-python" -version)"
[[ "$got" == "v$PULUMI_VERSION" ]] || die "built language host reports version '$got', expected v$PULUMI_VERSION"

date -u +%Y-%m-%dT%H:%M:%SZ >"$TMP/bin/.complete"
rm -rf "$DEST"
mv "$TMP" "$DEST"
rm -rf "$LH_BUILD"
log "installed into $BIN"
echo "$BIN"
