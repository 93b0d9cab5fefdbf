"""A real MCP client (the official Python SDK) over Streamable HTTP, for signet's
end-to-end tests.

Usage: mcp_http_client.py URL [--era handshake|modern] [--header 'Name: value' ...] CALLS_JSON
CALLS_JSON: [{"tool": name, "arguments": {...}}, ...]
Initializes a session at URL (the MCP endpoint, e.g. http://127.0.0.1:PORT/mcp), lists
the tools, calls each tool in order and prints one JSON object:
{"protocol", "tools": [names], "calls": [{"tool", "isError", "content", "structuredContent", "meta"}]}
where `content` is the result's content blocks as the SDK parsed them (by alias),
`structuredContent` its structured result (or null) and `meta` its `_meta` (or null).
Any exception (transport, JSON-RPC error, bad arguments): its message on stderr, exit 1.
"""
import argparse
import asyncio
import json
import sys

import httpx2
import mcp_types as types
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client


def header(text):
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"not a 'Name: value' header: {text!r}")
    return name.strip(), value.strip()


async def list_tool_names(session):
    names, cursor = [], None
    while True:
        params = types.PaginatedRequestParams(cursor=cursor) if cursor else None
        page = await session.list_tools(params=params)
        names += [t.name for t in page.tools]
        cursor = page.next_cursor
        if not cursor:
            return names


def call_record(tool, result):
    full = result.model_dump(by_alias=True, mode="json")
    return {
        "tool": tool,
        "isError": bool(result.is_error),
        "content": [c.model_dump(by_alias=True, mode="json", exclude_none=True) for c in result.content],
        "structuredContent": full.get("structuredContent"),
        "meta": full.get("_meta"),
    }


async def main(url, headers, calls, era):
    out = {"tools": [], "calls": []}
    # The SDK's own defaults: 30 s to connect/write, 300 s to read (SSE streams).
    client = httpx2.AsyncClient(headers=dict(headers), timeout=httpx2.Timeout(30, read=300))
    async with client:
        async with streamable_http_client(url, http_client=client) as (read, write):
            async with ClientSession(read, write) as session:
                if era == "modern":
                    await session.discover()
                else:
                    await session.initialize()
                out["protocol"] = session.protocol_version
                out["tools"] = await list_tool_names(session)
                for call in calls:
                    r = await session.call_tool(call["tool"], call.get("arguments"))
                    out["calls"].append(call_record(call["tool"], r))
    print(json.dumps(out))


def error_text(e):
    # anyio task groups wrap what failed inside them: report the underlying errors.
    if isinstance(e, BaseExceptionGroup):
        return "; ".join(error_text(x) for x in e.exceptions)
    return f"{type(e).__name__}: {e}"


if __name__ == "__main__":
    p = argparse.ArgumentParser(description="MCP Streamable HTTP client (Python SDK)")
    p.add_argument("url")
    p.add_argument("--era", choices=["handshake", "modern"], default="handshake",
                   help="initialize (2025 handshake) or discover (stateless 2026-07-28)")
    p.add_argument("--header", action="append", type=header, default=[], metavar="'Name: value'")
    p.add_argument("calls", help='JSON list of {"tool": name, "arguments": {...}}')
    args = p.parse_args()
    try:
        calls = json.loads(args.calls)
        if not isinstance(calls, list) or not all(isinstance(c, dict) and "tool" in c for c in calls):
            raise ValueError('CALLS_JSON must be a list of {"tool": name, "arguments": {...}}')
        asyncio.run(main(args.url, args.header, calls, args.era))
    except Exception as e:  # noqa: BLE001 - any failure is the test's failure
        print(f"mcp_http_client: {error_text(e)}", file=sys.stderr)
        sys.exit(1)
