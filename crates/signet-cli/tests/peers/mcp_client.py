"""A real MCP client (the official Python SDK) for signet's end-to-end tests.

Usage: mcp_client.py SPEC_JSON
SPEC: {"command": [...], "env": {...}, "era": "handshake" | "modern" | "auto",
       "calls": [{"name": ..., "arguments": {...}}], "list": true}
Prints one JSON object: {"era", "protocol", "tools": [...], "results": [...]} where each
result is the CallToolResult as the SDK parsed it (by alias), or {"error": {...}} for a
JSON-RPC error.
"""
import asyncio
import json
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.shared.exceptions import MCPError


async def main(spec):
    cmd = spec["command"]
    params = StdioServerParameters(command=cmd[0], args=cmd[1:], env=spec.get("env"))
    out = {"results": []}
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
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
                    r = await session.call_tool(call["name"], call.get("arguments"))
                    out["results"].append(r.model_dump(by_alias=True, mode="json", exclude_none=True))
                except MCPError as e:
                    out["results"].append({"error": {"code": e.code, "message": str(e)}})
    print(json.dumps(out))


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
