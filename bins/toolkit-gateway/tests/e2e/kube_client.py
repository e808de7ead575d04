"""toolkit-gateway --kubernetes, checked with the official MCP Python SDK (`pip install mcp`).

Run by bins/toolkit-gateway/tests/kubernetes.rs, which starts an API emulator, applies the
CRDs, a Secret and the Tools `echo` (builtin), `pg` (PostgreSQL, password from the Secret) and
`broken` (invalid), then the gateway:

    kube_client.py --http URL --kubectl BIN --kubeconfig FILE --dir DIR --pg-role ROLE --canary VALUE

Lists and calls the applied tools, then changes the cluster with kubectl and expects each
change to reach the client as `notifications/tools/list_changed`: a Tool applied, an ark
MCPServer and a Tool naming it by `spec.mcp.serverRef` (the server is this gateway: the new
tool relays to `echo`), and a Tool deleted. Exits non-zero with a message on the first failed
check.
"""

import argparse
import asyncio
import pathlib
import subprocess

import mcp_types as types
from mcp import Client

WAIT = 20.0

ADDED = """apiVersion: toolkit.dev/v1alpha1
kind: Tool
metadata: {name: added}
spec:
  type: builtin
  description: Applied while the client was connected.
  builtin: {name: noop}
"""

RELAY = """apiVersion: ark.mckinsey.com/v1alpha1
kind: MCPServer
metadata: {name: self}
spec:
  address: {value: "%s"}
  transport: http
---
apiVersion: toolkit.dev/v1alpha1
kind: Tool
metadata: {name: relay}
spec:
  type: mcp
  description: echo, through the MCP server the cluster names.
  mcp: {serverRef: {name: self}, toolName: echo}
"""


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def text_of(result):
    return "\n".join(c.text for c in result.content if getattr(c, "type", None) == "text")


class Kubectl:
    def __init__(self, binary, kubeconfig, folder):
        self.binary = binary
        self.env = {"KUBECONFIG": kubeconfig, "KUBECACHEDIR": str(pathlib.Path(folder) / "kube-cache-client")}
        self.folder = pathlib.Path(folder)
        self.count = 0

    def run(self, *args):
        out = subprocess.run([self.binary, *args], env=self.env, capture_output=True, text=True)
        check(out.returncode == 0, f"kubectl {args}: {out.stderr}")
        return out.stdout

    def apply(self, text):
        self.count += 1
        path = self.folder / f"client-apply-{self.count}.yaml"
        path.write_text(text)
        self.run("apply", "--validate=false", "-f", str(path))


async def names(client):
    listing = await client.list_tools(cache_mode="refresh")
    return [t.name for t in listing.tools]


async def wait_until(client, changes, predicate, what):
    """Waits for a list change, then for the list to satisfy `predicate`."""
    await asyncio.wait_for(changes.get(), WAIT)
    deadline = asyncio.get_running_loop().time() + WAIT
    while True:
        current = await names(client)
        if predicate(current):
            return current
        check(asyncio.get_running_loop().time() < deadline, f"{what}: tools are {current}")
        await asyncio.sleep(0.1)


async def run(args):
    kubectl = Kubectl(args.kubectl, args.kubeconfig, args.dir)
    changes = asyncio.Queue()

    async def on_message(message):
        if isinstance(message, types.ToolListChangedNotification):
            changes.put_nowait(message)

    info = types.Implementation(name="e2e-kube", version="1")
    async with Client(args.http, mode="legacy", message_handler=on_message, client_info=info) as client:
        listed = await names(client)
        check(listed == ["echo", "pg"], f"tools/list: {listed}")

        result = await client.call_tool("echo", {"message": "hi"})
        check(not result.is_error and result.structured_content == {"message": "hi"}, f"echo: {result}")

        result = await client.call_tool("pg", {"query": "select current_user as who"})
        check(not result.is_error, f"pg failed: {text_of(result)}")
        rows = result.structured_content["rows"]
        check(rows == [{"who": args.pg_role}], f"pg rows: {rows}")

        result = await client.call_tool("pg", {"query": "drop table nothing"})
        check(result.is_error and "policy refused" in text_of(result), f"write not refused: {text_of(result)}")

        result = await client.call_tool("echo", {"message": f"leak {args.canary}"})
        body = result.model_dump_json()
        check(args.canary not in body and "[redacted]" in body, f"secret not redacted: {body}")

        kubectl.apply(ADDED)
        await wait_until(client, changes, lambda n: "added" in n, "applied tool not listed")

        kubectl.apply(RELAY % args.http)
        await wait_until(client, changes, lambda n: "relay" in n, "tool naming an MCPServer not listed")
        result = await client.call_tool("relay", {"message": "through the cluster"})
        check(not result.is_error, f"relay failed: {text_of(result)}")
        check("through the cluster" in result.model_dump_json(), f"relay: {result}")

        kubectl.run("delete", "tool", "added")
        await wait_until(client, changes, lambda n: "added" not in n, "deleted tool still listed")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--http", required=True)
    parser.add_argument("--kubectl", required=True)
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--pg-role", required=True)
    parser.add_argument("--canary", required=True)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
