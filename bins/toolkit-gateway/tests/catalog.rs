//! A large catalog: 10,000 tools in one folder are listed in pages (`nextCursor`), each page
//! small enough for the official clients, which walk the pages and see every tool once; a
//! cursor the gateway did not give is refused as invalid params.

mod common;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use common::process::{Running, mcp_request};
use common::{Fixture, python_sdk};
use serde_json::json;

const TOOLS: usize = 10_000;

fn large_fixture() -> Fixture {
    let fixture = Fixture::new();
    let mut text = String::new();
    for i in 0..TOOLS {
        let _ = write!(
            text,
            "---\napiVersion: toolkit.dev/v1alpha1\nkind: Tool\nmetadata: {{name: tool-{i:05}, namespace: bulk}}\n\
             spec:\n  type: builtin\n  description: Tool number {i} of a large catalog, doing nothing at all.\n  \
             builtin: {{name: noop}}\n"
        );
    }
    fixture.write("bulk.yaml", &text);
    fixture
}

/// Names of the bulk tools in `listed`, checked to be each there once.
fn bulk_names(listed: &[String]) -> BTreeSet<String> {
    let bulk: Vec<&String> = listed.iter().filter(|n| n.starts_with("bulk__")).collect();
    let unique: BTreeSet<String> = bulk.iter().map(|n| (*n).clone()).collect();
    assert_eq!(unique.len(), bulk.len(), "a tool was listed twice");
    unique
}

#[test]
fn ten_thousand_tools_in_pages() {
    let fixture = large_fixture();
    let gateway = Running::start(&fixture, &["--stateless", "--no-watch"]);

    // Raw pages: bounded, chained by cursors, every tool once.
    let mut names = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let params = cursor.as_ref().map_or_else(|| json!({}), |c| json!({"cursor": c}));
        let response = mcp_request(gateway.addr, None, "tools/list", params);
        assert_eq!(response.status, 200);
        assert!(response.body.len() < 1024 * 1024, "a page of {} bytes", response.body.len());
        let result = &response.json()["result"];
        let tools = result["tools"].as_array().unwrap();
        assert!(!tools.is_empty() && tools.len() <= 500, "{} tools in a page", tools.len());
        names.extend(tools.iter().map(|t| t["name"].as_str().unwrap().to_owned()));
        pages += 1;
        match result["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert!(pages >= TOOLS / 500, "{pages} pages");
    assert_eq!(bulk_names(&names).len(), TOOLS);

    let bad = mcp_request(gateway.addr, None, "tools/list", json!({"cursor": "made-up"}));
    assert_eq!(bad.json()["error"]["code"], -32602, "{}", bad.body);

    // The official Python client.
    if python_sdk() {
        let script = r#"
import asyncio, json, sys
from mcp import Client

async def main(url):
    async with Client(url, mode="legacy") as client:
        names, cursor = [], None
        while True:
            page = await client.list_tools(cursor=cursor)
            names += [t.name for t in page.tools]
            cursor = page.next_cursor
            if not cursor:
                break
        print(json.dumps(names))

asyncio.run(main(sys.argv[1]))
"#;
        let out = Command::new("python3").args(["-c", script, &gateway.url()]).output().unwrap();
        assert!(out.status.success(), "python client: {}", String::from_utf8_lossy(&out.stderr));
        let listed: Vec<String> = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(bulk_names(&listed).len(), TOOLS);
    }

    // The official TypeScript client.
    let modules = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.ci/npm-sdk/node_modules");
    let modules = std::env::var_os("TOOLKIT_TEST_NODE_MODULES").map_or(modules, Into::into);
    if modules.join("@modelcontextprotocol/sdk/package.json").is_file() {
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(std::fs::canonicalize(&modules).unwrap(), dir.path().join("node_modules")).unwrap();
        let script = dir.path().join("list.mjs");
        std::fs::write(
            &script,
            r#"
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
const client = new Client({ name: "catalog", version: "1" });
await client.connect(new StreamableHTTPClientTransport(new URL(process.argv[2])));
const names = [];
let cursor;
do {
  const page = await client.listTools(cursor ? { cursor } : {});
  names.push(...page.tools.map((t) => t.name));
  cursor = page.nextCursor;
} while (cursor);
console.log(JSON.stringify(names));
await client.close();
"#,
        )
        .unwrap();
        let out = Command::new("node").arg(&script).arg(gateway.url()).output().unwrap();
        assert!(out.status.success(), "typescript client: {}", String::from_utf8_lossy(&out.stderr));
        let listed: Vec<String> = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(bulk_names(&listed).len(), TOOLS);
    } else if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        panic!("@modelcontextprotocol/sdk is not installed in {}", modules.display());
    }
}
