"""A small MCP server built with the official Python SDK (MCPServer), for signet's tests.

It speaks both protocol eras the SDK supports (the 2025 handshake and the stateless
2026-07-28 revision). `PY_SERVER_DESCRIPTION` changes the `add` tool's description, to
simulate a server that changes a tool after it was pinned (tool poisoning).
"""
import os

from mcp.server.mcpserver import MCPServer

server = MCPServer("signet-test-server")


@server.tool(description=os.environ.get("PY_SERVER_DESCRIPTION", "Add two integers."))
def add(a: int, b: int) -> int:
    return a + b


@server.tool(description="Fail on purpose.")
def fail(reason: str) -> str:
    raise ValueError(reason)


if __name__ == "__main__":
    server.run("stdio")
