#!/usr/bin/env bash
# signet's main job, end to end: `signet demo` wraps a real MCP server (the reference
# "everything" server) with `signet proxy`, drives calls through it as an MCP client does,
# shows the signed records and verifies the log. Keys and log live in a throw-away
# directory (pass `--home DIR` to keep them). After the one-time install of the server from
# the npm registry, it runs offline.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-peers.sh >/dev/null
cargo build --release --locked -q -p signet-cli
exec ./target/release/signet demo "$@"
