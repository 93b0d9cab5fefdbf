"""A small MCP server built with the official Python SDK (MCPServer), for signet's tests.

It speaks both protocol eras the SDK supports (the 2025 handshake and the stateless
2026-07-28 revision). `PY_SERVER_DESCRIPTION` changes the `add` tool's description, to
simulate a server that changes a tool after it was pinned (tool poisoning).

`delete_file` asks the user to confirm first (an SDK `Elicit` resolver): in the 2026-07-28
era that is a multi-round-trip call (an `input_required` result, then the client's retry
with `inputResponses` and `requestState`); in the handshake era it is a server-initiated
`elicitation/create` request in the middle of the call.
"""
import os
from typing import Annotated

from pydantic import BaseModel

from mcp.server.mcpserver import Elicit, MCPServer, Resolve

server = MCPServer("signet-test-server")


@server.tool(description=os.environ.get("PY_SERVER_DESCRIPTION", "Add two integers."))
def add(a: int, b: int) -> int:
    return a + b


@server.tool(description="Fail on purpose.")
def fail(reason: str) -> str:
    raise ValueError(reason)


class Confirm(BaseModel):
    confirm: bool


def ask_confirm(path: str) -> Elicit[Confirm]:
    return Elicit(f"Delete {path}?", Confirm)


@server.tool(description="Delete a file once the user confirms (pretend: nothing is deleted).")
def delete_file(path: str, answer: Annotated[Confirm, Resolve(ask_confirm)]) -> str:
    return f"deleted {path}" if answer.confirm else f"kept {path}"


if __name__ == "__main__":
    # PY_SERVER_HTTP_PORT: serve Streamable HTTP on 127.0.0.1 at /mcp instead of stdio.
    port = os.environ.get("PY_SERVER_HTTP_PORT")
    if port:
        server.run("streamable-http", host="127.0.0.1", port=int(port))
    else:
        server.run("stdio")
