"""A real MCP client (the official Python SDK) for signet's end-to-end tests.

Usage: mcp_client.py SPEC_JSON
SPEC: {"command": [...], "env": {...}, "era": "handshake" | "modern" | "auto",
       "calls": [{"name": ..., "arguments": {...}}], "list": true,
       "elicit": {...}}
Prints one JSON object: {"era", "protocol", "tools": [...], "results": [...],
"rounds": [[...], ...]} where each result is the CallToolResult as the SDK parsed it (by
alias), or {"error": {...}} for a JSON-RPC error, and `rounds[i]` lists the
`input_required` results call i went through (2026-07-28 multi-round-trip requests).

`elicit`, when given, is the content the client accepts every elicitation with: answered
as a server-initiated request (handshake era) or as `inputResponses` on the retry of an
`input_required` round (2026-07-28), which this client drives itself with the SDK's
`allow_input_required` / `input_responses` / `request_state`.
"""
import asyncio
import json
import sys

import mcp_types as types
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.shared.exceptions import MCPError

MAX_ROUNDS = 5


def dump(result):
    return result.model_dump(by_alias=True, mode="json", exclude_none=True)


async def call_with_rounds(session, call, elicit):
    """Call a tool, answering `input_required` rounds; the final result and the rounds."""
    rounds = []
    retry = {}
    while True:
        r = await session.call_tool(
            call["name"], call.get("arguments"), allow_input_required=True, **retry
        )
        if not isinstance(r, types.InputRequiredResult):
            return r, rounds
        rounds.append(dump(r))
        if len(rounds) > MAX_ROUNDS or elicit is None:
            raise RuntimeError(f"unexpected input_required round: {dump(r)}")
        responses = {}
        for key, request in (r.input_requests or {}).items():
            if request.method != "elicitation/create":
                raise RuntimeError(f"unexpected input request {request.method}")
            responses[key] = types.ElicitResult(action="accept", content=elicit)
        retry = {"input_responses": responses, "request_state": r.request_state}


async def main(spec):
    cmd = spec["command"]
    params = StdioServerParameters(command=cmd[0], args=cmd[1:], env=spec.get("env"))
    out = {"results": [], "rounds": []}
    elicit = spec.get("elicit")

    async def on_elicit(context, request):
        return types.ElicitResult(action="accept", content=elicit)

    callback = on_elicit if elicit is not None else None
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write, elicitation_callback=callback) as session:
            era = spec.get("era", "handshake")
            if era == "modern":
                res = await session.discover()
                out["era"] = "modern"
            else:
                res = await session.initialize()
                out["era"] = "handshake"
            out["protocol"] = session.protocol_version
            if spec.get("list", True):
                tools = await session.list_tools()
                out["tools"] = [t.model_dump(by_alias=True, mode="json", exclude_none=True) for t in tools.tools]
            for call in spec.get("calls", []):
                try:
                    r, rounds = await call_with_rounds(session, call, elicit)
                    out["results"].append(dump(r))
                    out["rounds"].append(rounds)
                except MCPError as e:
                    out["results"].append({"error": {"code": e.code, "message": str(e)}})
                    out["rounds"].append([])
    print(json.dumps(out))


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
