"""End-to-end check of toolkit-gateway with the official MCP Python SDK (`pip install mcp`).

Run by bins/toolkit-gateway/tests/e2e.rs, which starts the gateway on a temporary tools folder
holding the examples' builtin and SQLite manifests and a canary Secret:

    client.py --http URL --tools DIR --canary VALUE --mode legacy|modern
    client.py --stdio GATEWAY_BIN --state DIR --tools DIR --canary VALUE --mode legacy|modern
    client.py --http URL --tools DIR --canary VALUE --mode drain --gateway-pid PID

`--token TOKEN` sends `Authorization: Bearer TOKEN` with every HTTP request.

`drain` starts a slow call, sends the gateway SIGTERM while it runs, and expects the call to
complete all the same. `legacy` connects with the initialize handshake (protocol 2025-11-25, as most deployed clients
do) and hears of list changes on the session; `modern` negotiates 2026-07-28 through
server/discover and subscribes with subscriptions/listen. Exits non-zero with a message on the
first failed check.
"""

import argparse
import asyncio
import contextlib
import json
import os
import pathlib
import signal
import sys

import httpx2
import mcp_types as types
from mcp import Client, MCPError, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

WAIT = 15.0

ADDED = """apiVersion: toolkit.dev/v1alpha1
kind: Tool
metadata: {name: added}
spec:
  type: builtin
  description: Added while the client was connected.
  builtin: {name: noop}
"""

# Missing the builtin block: invalid, so the tool must leave the list.
BROKEN = """apiVersion: toolkit.dev/v1alpha1
kind: Tool
metadata: {name: added}
spec: {type: builtin}
"""


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def first_failure(error):
    """The innermost error of the task-group exception groups the SDK raises through."""
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    return f"{type(error).__name__}: {error}"


def text_of(result):
    return "\n".join(c.text for c in result.content if getattr(c, "type", None) == "text")


async def names(client):
    listing = await client.list_tools(cache_mode="refresh")
    return [t.name for t in listing.tools]


async def check_tools_and_calls(client, canary):
    listing = await client.list_tools()
    tools = {t.name: t for t in listing.tools}
    check(list(tools) == ["customers", "echo", "finish"], f"tools/list: {list(tools)}")
    echo = tools["echo"]
    check(echo.title == "Echo", f"echo title: {echo.title}")
    check(echo.input_schema.get("required") == ["message"], f"echo schema: {echo.input_schema}")
    check(echo.annotations and echo.annotations.read_only_hint is True, f"echo annotations: {echo.annotations}")
    check(tools["customers"].annotations.read_only_hint is True, "customers is read-only")

    result = await client.call_tool("echo", {"message": "hi"})
    check(not result.is_error, f"echo failed: {result}")
    check(result.structured_content == {"message": "hi"}, f"echo structured: {result.structured_content}")

    result = await client.call_tool("echo", {"message": 5})
    check(result.is_error, f"invalid arguments accepted: {result}")
    check("/message" in text_of(result), f"error does not name the path: {text_of(result)}")

    result = await client.call_tool("customers", {"query": "select name from customers order by name limit 2"})
    check(not result.is_error, f"customers failed: {text_of(result)}")
    rows = result.structured_content["rows"]
    check(len(rows) == 2 and "name" in rows[0], f"customers rows: {rows}")

    result = await client.call_tool("customers", {"query": "delete from orders"})
    check(result.is_error and "policy refused" in text_of(result), f"write not refused: {text_of(result)}")

    result = await client.call_tool("echo", {"message": f"leak {canary}"})
    body = result.model_dump_json()
    check(canary not in body and "[redacted]" in body, f"secret not redacted: {body}")

    try:
        await client.call_tool("no-such-tool", {})
    except MCPError as e:
        check(e.error.code == types.INVALID_PARAMS, f"unknown tool code: {e.error.code}")
    else:
        raise AssertionError("unknown tool did not fail")


async def wait_until(client, predicate, what):
    deadline = asyncio.get_running_loop().time() + WAIT
    while True:
        current = await names(client)
        if predicate(current):
            return current
        check(asyncio.get_running_loop().time() < deadline, f"{what}: tools are {current}")
        await asyncio.sleep(0.1)


async def run_legacy(server, tools_dir, canary):
    changes = asyncio.Queue()

    async def on_message(message):
        if isinstance(message, types.ToolListChangedNotification):
            changes.put_nowait(message)

    async with Client(server, mode="legacy", message_handler=on_message, client_info=types.Implementation(name="e2e-python", version="1")) as client:
        await check_tools_and_calls(client, canary)
        (tools_dir / "added.yaml").write_text(ADDED)
        await asyncio.wait_for(changes.get(), WAIT)
        await wait_until(client, lambda n: "added" in n, "added tool not listed")
        (tools_dir / "added.yaml").write_text(BROKEN)
        await asyncio.wait_for(changes.get(), WAIT)
        await wait_until(client, lambda n: "added" not in n, "broken tool still listed")


async def run_modern(server, tools_dir, canary):
    async with Client(server, client_info=types.Implementation(name="e2e-python", version="1")) as client:
        check(client.protocol_version >= "2026-07-28", f"negotiated {client.protocol_version}")
        await check_tools_and_calls(client, canary)
        async with client.listen(tools_list_changed=True) as subscription:
            events = aiter(subscription)
            (tools_dir / "added.yaml").write_text(ADDED)
            await asyncio.wait_for(anext(events), WAIT)
            await wait_until(client, lambda n: "added" in n, "added tool not listed")
            (tools_dir / "added.yaml").write_text(BROKEN)
            await asyncio.wait_for(anext(events), WAIT)
            await wait_until(client, lambda n: "added" not in n, "broken tool still listed")


SLOW = "with recursive c(x) as (select 1 union all select x + 1 from c where x < 5000000) select count(*) as n from c"


async def run_drain(server, pid):
    async with Client(server, mode="legacy") as client:
        call = asyncio.create_task(client.call_tool("customers", {"query": SLOW}))
        await asyncio.sleep(0.3)
        check(not call.done(), "the slow call finished before the signal; nothing to drain")
        os.kill(pid, signal.SIGTERM)
        result = await asyncio.wait_for(call, 60)
        check(not result.is_error, f"call in flight failed on shutdown: {text_of(result)}")
        check(result.structured_content["rows"][0]["n"] == 5000000, f"result: {result.structured_content}")


@contextlib.asynccontextmanager
async def with_token(url, token):
    """The streamable HTTP transport, sending the bearer token with every request."""
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30.0, read=300.0)) as http:
        async with streamable_http_client(url, http_client=http) as streams:
            yield streams


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--http")
    parser.add_argument("--stdio")
    parser.add_argument("--state")
    parser.add_argument("--tools", required=True)
    parser.add_argument("--canary", required=True)
    parser.add_argument("--mode", choices=["legacy", "modern", "drain"], required=True)
    parser.add_argument("--gateway-pid", type=int)
    parser.add_argument("--token")
    args = parser.parse_args()
    tools_dir = pathlib.Path(args.tools)
    if args.http and args.token:
        server = with_token(args.http, args.token)
    elif args.http:
        server = args.http
    else:
        server = StdioServerParameters(
            command=args.stdio,
            args=["--stdio", "--tools", str(tools_dir), "--state", args.state],
        )
    if args.mode == "drain":
        work = run_drain(server, args.gateway_pid)
    elif args.mode == "legacy":
        work = run_legacy(server, tools_dir, args.canary)
    else:
        work = run_modern(server, tools_dir, args.canary)
    try:
        asyncio.run(work)
    except Exception as e:  # noqa: BLE001 - report the first failed check however it is wrapped
        print(f"FAILED: {first_failure(e)}", file=sys.stderr)
        sys.exit(1)
    print(json.dumps({"ok": True, "mode": args.mode}))


if __name__ == "__main__":
    main()
