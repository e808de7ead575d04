//! MCP tool names: what MCP allows (SEP-986: 1 to 128 characters of `A-Za-z0-9_-.`), and the
//! name a tool is served under when its manifest sets no `spec.mcpName`: `NAME` in the default
//! namespace, `NAMESPACE__NAME` in any other (two underscores, which Kubernetes names cannot
//! contain, so the two forms never collide).

use super::DEFAULT_NAMESPACE;
use crate::ToolRef;

/// The longest tool name MCP allows.
pub const MAX_LEN: usize = 128;

/// Separator between namespace and name.
pub const SEPARATOR: &str = "__";

/// Whether MCP allows `c` in a tool name.
pub fn is_allowed(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
}

/// Why `name` is not a tool name MCP allows, if it is not.
pub fn problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("must not be empty".into());
    }
    let n = name.chars().count();
    if n > MAX_LEN {
        return Some(format!("is {n} characters long; MCP allows {MAX_LEN}"));
    }
    let mut bad: Vec<char> = Vec::new();
    for c in name.chars().filter(|c| !is_allowed(*c)) {
        if !bad.contains(&c) {
            bad.push(c);
        }
    }
    if bad.is_empty() {
        return None;
    }
    let shown: Vec<String> = bad.iter().take(5).map(|c| format!("{c:?}")).collect();
    Some(format!("contains {}; MCP tool names take A-Z, a-z, 0-9, `_`, `-` and `.`", shown.join(", ")))
}

/// The name of `reference` before any cleaning, when its manifest sets no `spec.mcpName`.
pub fn preferred(reference: &ToolRef) -> String {
    if reference.namespace == DEFAULT_NAMESPACE {
        reference.name.clone()
    } else {
        format!("{}{SEPARATOR}{}", reference.namespace, reference.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_mcp_allows() {
        for ok in ["test_simple_text", "a", "db.query-v2", &"x".repeat(MAX_LEN)] {
            assert_eq!(problem(ok), None, "{ok}");
        }
        assert_eq!(problem("").as_deref(), Some("must not be empty"));
        assert!(problem(&"x".repeat(MAX_LEN + 1)).unwrap().contains("129 characters"));
        let p = problem("has space/and slash").unwrap();
        assert!(p.contains("' '") && p.contains("'/'"), "{p}");
    }
}
