#!/usr/bin/env bash
# The signing core by hand: create identities, sign tool calls with `signet sign`, verify
# them, and catch a tampered call. Uses a throw-away SIGNET_HOME; nothing is left behind.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -q -p signet-cli
SIGNET="$PWD/target/release/signet"
export SIGNET_HOME="$(mktemp -d)"
trap 'rm -rf "$SIGNET_HOME"' EXIT
# A demo-only passphrase; real use prompts for one or reads it from a secret store.
export SIGNET_PASSPHRASE="demo passphrase, not a secret"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "create an encrypted Ed25519 agent identity"
"$SIGNET" keygen --name agent
step "and a post-quantum composite identity (ML-DSA-65 + Ed25519)"
"$SIGNET" keygen --name agent-pq --algorithm ml-dsa-65-ed25519 | sed -n '1p;3,4p' | cut -c1-100

CALL='{"name":"write_file","arguments":{"path":"/srv/reports/q3.md","content":"# Q3"}}'

step "sign a tools/call (Ed25519)"
echo "$CALL" | "$SIGNET" sign --audience filesystem-server > "$SIGNET_HOME/call.json"
cat "$SIGNET_HOME/call.json"

step "verify it"
"$SIGNET" verify --audience filesystem-server "$SIGNET_HOME/call.json"

step "sign and verify the same call with the hybrid key"
echo "$CALL" | "$SIGNET" sign --key-name agent-pq --audience filesystem-server > "$SIGNET_HOME/call-pq.json"
"$SIGNET" verify --audience filesystem-server "$SIGNET_HOME/call-pq.json"

step "tamper with the arguments: verification must fail"
sed 's#/srv/reports/q3.md#/etc/passwd#' "$SIGNET_HOME/call.json" > "$SIGNET_HOME/tampered.json"
if "$SIGNET" verify "$SIGNET_HOME/tampered.json"; then
  echo "demo: tampered call verified — this is a bug" >&2; exit 1
else
  echo "(exit $? = INVALID, as expected)"
fi

step "a call for another server is refused"
"$SIGNET" verify --audience payments-server "$SIGNET_HOME/call.json" || echo "(exit $? = INVALID, as expected)"
