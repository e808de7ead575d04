//! Helpers shared by the integration tests.
//!
//! Tests against real services read where the service is from environment variables that
//! `.ci/run` sets after starting it. Locally, a missing variable skips the test with a printed
//! reason; under CI (`CI=true`) it fails, so a service that did not start is never a silent pass.

use std::path::{Path, PathBuf};

pub mod behaviour;
pub mod kube;
pub mod pg;

/// The value of `var`, or `None` after printing why the test is skipped.
///
/// # Panics
/// When `CI` is `true` and the variable is not set.
pub fn service(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Some(v),
        _ if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") => {
            panic!("{var} is not set; .ci/run must start the service and export it")
        }
        _ => {
            eprintln!("skipped: {var} is not set (run .ci/run, or export it to test against a real service)");
            None
        }
    }
}

/// A unique canary secret: a value that must never appear in any output.
pub fn canary() -> String {
    format!("CANARY-{}", uuid::Uuid::new_v4().simple())
}

/// A unique lowercase name for a database, role, key prefix or namespace.
pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}_{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

/// Asserts that no file under `dir` contains `needle` (a canary).
///
/// # Panics
/// When a file contains it.
pub fn assert_not_in_dir(dir: &Path, needle: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let p = entry.path();
        if p.is_dir() {
            assert_not_in_dir(&p, needle);
        } else if let Ok(bytes) = std::fs::read(&p) {
            let found = bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
            assert!(!found, "canary secret found in {}", p.display());
        }
    }
}

/// A file of `toolkit-testkit/fixtures` (such as `mcp-dynamic.mjs`).
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name)
}

/// Where the real MCP servers `.ci/run` installs from npm are (`TOOLKIT_TEST_MCP_EVERYTHING`,
/// `TOOLKIT_TEST_MCP_FILESYSTEM`; node is `TOOLKIT_TEST_NODE` or `node`), or `None` after
/// printing why the test is skipped (a failure under CI).
///
/// # Panics
/// When `CI` is `true` and a variable is not set.
pub fn mcp_servers() -> Option<McpServers> {
    let everything = PathBuf::from(service("TOOLKIT_TEST_MCP_EVERYTHING")?);
    let filesystem = PathBuf::from(service("TOOLKIT_TEST_MCP_FILESYSTEM")?);
    // .../node_modules/@modelcontextprotocol/server-everything/dist/index.js
    let scope = everything.ancestors().nth(3).map(Path::to_path_buf).unwrap_or_default();
    let node = std::env::var("TOOLKIT_TEST_NODE").unwrap_or_else(|_| "node".to_owned());
    Some(McpServers { node, everything, filesystem, sdk: scope.join("sdk") })
}

/// Where the npm MCP servers are; see [`mcp_servers`].
#[derive(Clone, Debug)]
pub struct McpServers {
    /// The node binary.
    pub node: String,
    /// `@modelcontextprotocol/server-everything`'s `dist/index.js`.
    pub everything: PathBuf,
    /// `@modelcontextprotocol/server-filesystem`'s `dist/index.js`.
    pub filesystem: PathBuf,
    /// The `@modelcontextprotocol/sdk` package folder (for the fixture servers).
    pub sdk: PathBuf,
}
