#!/bin/sh
# Installs code-server 4.100.3 (VS Code 1.100.3, the newest code-server that runs on Node 20) into a folder,
# from the npm registry only. Needs Debian's ripgrep, libkrb5-dev and pkg-config (see .ci/run).
# Usage: sh test/e2e/installCodeServer.sh <target-dir>
set -eu
mkdir -p "${1:?target dir}"
TARGET="$(cd "$1" && pwd)"
VERSION=4.100.3
if [ -x "$TARGET/node_modules/.bin/code-server" ] && [ -f "$TARGET/.installed-$VERSION" ]; then exit 0; fi
mkdir -p "$TARGET/tmp"
# @vscode/ripgrep's postinstall downloads rg from GitHub unless its cache (in os.tmpdir()) already has it:
# seed the cache with Debian's rg.
export TMPDIR="$TARGET/tmp"
RG="$(command -v rg || true)"
[ -n "$RG" ] || { echo "installCodeServer: ripgrep (rg) is missing: apt-get install ripgrep" >&2; exit 1; }
work="$(mktemp -d)"
cp "$RG" "$work/rg"
for v in 1.15.11; do
  mkdir -p "$TMPDIR/vscode-ripgrep-cache-$v"
  for tag in v13.0.0-10 v13.0.0-4; do
    tar czf "$TMPDIR/vscode-ripgrep-cache-$v/ripgrep-$tag-x86_64-unknown-linux-musl.tar.gz" -C "$work" rg
  done
done
rm -rf "$work"
cd "$TARGET"
# npm 11 runs a dependency's install scripts only when approved (allowScripts); code-server's postinstall sets up
# its VS Code, and argon2 builds a native module.
cat > package.json <<JSON
{ "name": "phi-local-test-code-server", "private": true,
  "dependencies": { "code-server": "$VERSION" },
  "allowScripts": { "code-server": true, "argon2": true } }
JSON
# unsafe_perm: code-server's postinstall refuses to run as root without it (npm 11 calls it an unknown config, harmless).
# yes: node-pty's postinstall runs `npx node-gyp`, which must not ask.
# Native modules try GitHub prebuilds first (ENOTFOUND offline), then build from source: expected.
npm_config_unsafe_perm=true npm_config_yes=true npm install --no-audit --no-fund
./node_modules/.bin/code-server --config /dev/null --version
touch ".installed-$VERSION"
