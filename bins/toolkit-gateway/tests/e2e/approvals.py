"""Approvals through toolkit-gateway with the official MCP Python SDK (`pip install mcp`).

Run by bins/toolkit-gateway/tests/approvals.rs, which serves two tools that need approval,
`guarded` (30 s to decide) and `hasty` (2 s), and decides the pending requests in the state
store while this client waits on its calls:

    approvals.py --http URL

The client makes three calls one after another, as an agent would: `guarded` twice (the test
approves the first and rejects the second) and `hasty` once (left to time out). It prints one
JSON object with what each call returned and the progress messages it heard while it waited;
the test checks it.
"""

import argparse
import asyncio
import json
import sys

import mcp_types as types
from mcp import Client


def text_of(result):
    return "\n".join(c.text for c in result.content if getattr(c, "type", None) == "text")


async def run(url):
    results = []
    info = types.Implementation(name="e2e-approvals", version="1")
    async with Client(url, mode="legacy", client_info=info) as client:
        for name, arguments in [("guarded", {"n": 1}), ("guarded", {"n": 2}), ("hasty", {"n": 3})]:
            progress = []

            async def on_progress(value, total, message):
                progress.append(message)

            call = client.call_tool(name, arguments, progress_callback=on_progress)
            result = await asyncio.wait_for(call, 120)
            results.append(
                {"tool": name, "isError": bool(result.is_error), "text": text_of(result), "progress": progress}
            )
    return results


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--http", required=True)
    args = parser.parse_args()
    try:
        results = asyncio.run(run(args.http))
    except Exception as e:  # noqa: BLE001 - the test prints whatever went wrong
        print(f"FAILED: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
    print(json.dumps({"results": results}))


if __name__ == "__main__":
    main()
