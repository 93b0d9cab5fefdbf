#!/usr/bin/env bash
# Install the third-party peers the tests use, pinned, into target/peers/ (git-ignored).
# Safe to run repeatedly: each step is skipped when its pinned version is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
PEERS="$PWD/target/peers"
mkdir -p "$PEERS/js"

JOSE_VERSION=6.2.17

need() { command -v "$1" >/dev/null 2>&1; }

if ! need node || ! need npm; then
  echo "install-peers: node and npm are required (Debian: apt-get install nodejs npm)" >&2
  exit 1
fi

# npm `jose`: an independent JOSE implementation that must accept signet's JWS.
if [ "$(node -p "try{require('$PEERS/js/node_modules/jose/package.json').version}catch(e){''}" 2>/dev/null)" != "$JOSE_VERSION" ]; then
  echo "install-peers: npm jose@$JOSE_VERSION" >&2
  (cd "$PEERS/js" && { [ -f package.json ] || echo '{"private":true}' > package.json; } \
    && npm install --no-audit --no-fund --loglevel=error "jose@$JOSE_VERSION" >&2)
fi

echo "$PEERS"
