"""A real MCP client (the official Python SDK) for `signet serve`'s end-to-end tests.

Usage: serve_client.py SPEC_JSON
SPEC: {"command": [...], "env": {...}}  (stdio)  or  {"url": "http://…/mcp"}  (Streamable HTTP),
      "era": "handshake" | "modern",
      "calls": [{"name": ..., "arguments": {...}}]
A string argument "$ref:N:key" (anywhere in the arguments) is replaced by
`structuredContent[key]` of call N's result, so one session can sign, then verify and prove
what it signed.
Prints one JSON object: {"era", "protocol", "tools": [...], "results": [...]} where each
result is the CallToolResult as the SDK parsed it (by alias; the SDK also checks
structuredContent against the tool's outputSchema), {"error": {...}} for a JSON-RPC error,
or {"client_error": "..."} when the SDK itself refused the result.
"""
import asyncio
import json
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError


def dump(result):
    return result.model_dump(by_alias=True, mode="json", exclude_none=True)


def resolve(value, results):
    if isinstance(value, str) and value.startswith("$ref:"):
        _, n, key = value.split(":", 2)
        return results[int(n)]["structuredContent"][key]
    if isinstance(value, dict):
        return {k: resolve(v, results) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, results) for v in value]
    return value


async def run(read, write, spec):
    out = {"results": []}
    async with ClientSession(read, write) as session:
        if spec.get("era", "handshake") == "modern":
            await session.discover()
            out["era"] = "modern"
        else:
            await session.initialize()
            out["era"] = "handshake"
        out["protocol"] = session.protocol_version
        tools = await session.list_tools()
        out["tools"] = [t.model_dump(by_alias=True, mode="json", exclude_none=True) for t in tools.tools]
        for call in spec.get("calls", []):
            args = resolve(call.get("arguments"), out["results"])
            try:
                r = await session.call_tool(call["name"], args)
                out["results"].append(dump(r))
            except MCPError as e:
                out["results"].append({"error": {"code": e.code, "message": str(e)}})
            except Exception as e:  # the SDK refused the result (e.g. output schema)
                out["results"].append({"client_error": f"{type(e).__name__}: {e}"})
    return out


async def main(spec):
    if "url" in spec:
        async with streamable_http_client(spec["url"]) as streams:
            out = await run(streams[0], streams[1], spec)
    else:
        cmd = spec["command"]
        params = StdioServerParameters(command=cmd[0], args=cmd[1:], env=spec.get("env"))
        async with stdio_client(params) as (read, write):
            out = await run(read, write, spec)
    print(json.dumps(out))


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
