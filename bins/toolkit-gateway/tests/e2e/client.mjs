// End-to-end check of toolkit-gateway with the official MCP TypeScript SDK
// (npm @modelcontextprotocol/sdk).
//
// Run by bins/toolkit-gateway/tests/e2e_ts.rs, which starts the gateway on a temporary tools
// folder holding the examples' builtin and SQLite manifests and a canary Secret:
//
//   node client.mjs --http URL --canary VALUE [--protocol 2025-06-18]
//   node client.mjs --stdio GATEWAY_BIN --tools DIR --state DIR --canary VALUE
//
// The SDK speaks the initialize handshake; --protocol pins the version the client asks for
// (the SDK's newest, 2025-11-25, by default). Exits non-zero with a message on the first failed
// check, and prints {"ok": true, ...} on success.

import { parseArgs } from "node:util";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";

const { values: args } = parseArgs({
  options: {
    http: { type: "string" },
    stdio: { type: "string" },
    tools: { type: "string" },
    state: { type: "string" },
    canary: { type: "string" },
    protocol: { type: "string" },
  },
});

function check(condition, message) {
  if (!condition) {
    throw new Error(message);
  }
}

const textOf = (result) =>
  result.content
    .filter((c) => c.type === "text")
    .map((c) => c.text)
    .join("\n");

/** Makes the client ask for `version` in `initialize`, whatever its SDK's newest is. */
function pinProtocol(transport, version) {
  const send = transport.send.bind(transport);
  transport.send = (message, options) => {
    if (message.method === "initialize") {
      message = { ...message, params: { ...message.params, protocolVersion: version } };
    }
    return send(message, options);
  };
  return transport;
}

async function main() {
  let transport;
  if (args.http) {
    transport = new StreamableHTTPClientTransport(new URL(args.http));
  } else {
    transport = new StdioClientTransport({
      command: args.stdio,
      args: ["--stdio", "--tools", args.tools, "--state", args.state],
      stderr: "pipe",
    });
  }
  if (args.protocol) {
    pinProtocol(transport, args.protocol);
  }
  const client = new Client({ name: "e2e-typescript", version: "1" });
  await client.connect(transport);
  try {
    const negotiated = transport.protocolVersion ?? transport._protocolVersion;
    if (args.protocol && args.http) {
      check(negotiated === args.protocol, `negotiated ${negotiated}, asked for ${args.protocol}`);
    }
    check(client.getServerVersion()?.name === "toolkit-gateway", `server: ${JSON.stringify(client.getServerVersion())}`);
    check(client.getServerCapabilities()?.tools, "no tools capability");

    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name);
    check(JSON.stringify(names) === JSON.stringify(["customers", "echo", "finish"]), `tools/list: ${names}`);
    const echo = tools.find((t) => t.name === "echo");
    check(echo.title === "Echo", `echo title: ${echo.title}`);
    check(JSON.stringify(echo.inputSchema.required) === '["message"]', `echo schema: ${JSON.stringify(echo.inputSchema)}`);
    check(echo.annotations?.readOnlyHint === true, `echo annotations: ${JSON.stringify(echo.annotations)}`);

    let result = await client.callTool({ name: "echo", arguments: { message: "hi" } });
    check(!result.isError, `echo failed: ${JSON.stringify(result)}`);
    check(result.structuredContent?.message === "hi", `echo structured: ${JSON.stringify(result.structuredContent)}`);

    result = await client.callTool({
      name: "customers",
      arguments: { query: "select name from customers order by name limit 2" },
    });
    check(!result.isError, `customers failed: ${textOf(result)}`);
    const rows = result.structuredContent?.rows;
    check(rows?.length === 2 && "name" in rows[0], `customers rows: ${JSON.stringify(rows)}`);

    result = await client.callTool({ name: "customers", arguments: { query: "delete from orders" } });
    check(result.isError && textOf(result).includes("policy refused"), `write not refused: ${textOf(result)}`);

    // Invalid arguments: a tool error naming the path, not a protocol error.
    result = await client.callTool({ name: "echo", arguments: { message: 5 } });
    check(result.isError === true, `wrong type accepted: ${JSON.stringify(result)}`);
    check(textOf(result).includes("/message"), `error does not name the path: ${textOf(result)}`);
    result = await client.callTool({ name: "echo", arguments: {} });
    check(result.isError === true && textOf(result).includes("message"), `missing argument: ${textOf(result)}`);

    result = await client.callTool({ name: "echo", arguments: { message: `leak ${args.canary}` } });
    const body = JSON.stringify(result);
    check(!body.includes(args.canary) && body.includes("[redacted]"), `secret not redacted: ${body}`);

    try {
      await client.callTool({ name: "no-such-tool", arguments: {} });
      throw new Error("unknown tool did not fail");
    } catch (e) {
      check(e instanceof McpError && e.code === ErrorCode.InvalidParams, `unknown tool: ${e}`);
    }
    console.log(JSON.stringify({ ok: true, protocol: negotiated ?? null, transport: args.http ? "http" : "stdio" }));
  } finally {
    await client.close();
  }
}

main().catch((e) => {
  console.error(`FAILED: ${e?.stack ?? e}`);
  process.exit(1);
});
