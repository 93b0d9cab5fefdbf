#!/usr/bin/env bash
# Run every test signet has, on a fresh machine: installs the third-party peers the tests
# use (pinned, into target/peers/), builds once, runs the workspace tests, then a short
# smoke run of each fuzz target.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== peers" >&2
./scripts/install-peers.sh >/dev/null

echo "== build" >&2
cargo build --workspace --all-targets --locked

echo "== tests" >&2
cargo test --workspace --locked

echo "== fuzz smoke ($(df -h . | tail -1 | awk '{print $4}') free on the disk)" >&2
./scripts/fuzz-smoke.sh
