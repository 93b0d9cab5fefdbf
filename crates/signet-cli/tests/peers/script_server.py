"""A scripted stdio "server" for signet's byte-level proxy tests (not an MCP peer).

It records every line it receives, byte for byte, to $RECORD (append, flushed per line)
and then acts per $MODE:
  record  answer a tools/call with a fixed result; nothing else
  crash   exit with code 3 when a tools/call arrives (mid-call crash)
  emit    first write the lines of $EMIT (a file) to stdout, byte for byte, then record
  ignore  never exit on stdin EOF (to test SIGTERM after the grace period)
"""
import json
import os
import signal
import sys
import time

record = open(os.environ["RECORD"], "ab", buffering=0)
mode = os.environ.get("MODE", "record")
out = sys.stdout.buffer

if mode == "emit":
    with open(os.environ["EMIT"], "rb") as f:
        out.write(f.read())
        out.flush()
if mode == "ignore":
    signal.signal(signal.SIGTERM, lambda *_: (record.write(b"SIGTERM\n"), sys.exit(0)))

for line in sys.stdin.buffer:
    record.write(line)
    try:
        msg = json.loads(line)
    except ValueError:
        continue
    if isinstance(msg, dict) and msg.get("method") == "tools/call":
        if mode == "crash":
            sys.exit(3)
        reply = {"jsonrpc": "2.0", "id": msg["id"],
                 "result": {"content": [{"type": "text", "text": "ok"}], "isError": False}}
        out.write((json.dumps(reply) + "\n").encode())
        out.flush()

if mode == "ignore":
    while True:
        time.sleep(1)
