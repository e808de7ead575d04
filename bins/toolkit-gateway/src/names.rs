//! MCP tool names for toolkit tools.
//!
//! A tool in namespace `default` is served as `NAME`; any other as `NAMESPACE__NAME` (two
//! underscores, which Kubernetes names cannot contain, so the two forms never collide). MCP
//! allows 1 to 128 characters of `[A-Za-z0-9_.-]`: any other character becomes `_`, and a name
//! that had to change, is too long, or is already taken gets `-` and eight hex digits of a hash
//! of `NAMESPACE/NAME` appended (the base shortened to fit). Names are assigned in
//! namespace/name order, so the same catalog always gives the same names.

use std::collections::BTreeMap;

use toolkit_core::ToolRef;
use toolkit_core::model::DEFAULT_NAMESPACE;

/// The longest tool name MCP allows.
pub const MAX_LEN: usize = 128;

/// Separator between namespace and name.
pub const SEPARATOR: &str = "__";

/// Assigns a unique MCP name to each reference, in the order given.
pub fn assign<'a>(references: impl IntoIterator<Item = &'a ToolRef>) -> BTreeMap<String, ToolRef> {
    let mut taken = BTreeMap::new();
    for reference in references {
        let raw = preferred(reference);
        let clean: String = raw.chars().map(|c| if is_allowed(c) { c } else { '_' }).collect();
        let mut name = if clean == raw && !raw.is_empty() && raw.len() <= MAX_LEN {
            raw
        } else {
            tagged(&clean, &reference.to_string())
        };
        let mut attempt = 1u32;
        while taken.contains_key(&name) {
            name = tagged(&clean, &format!("{reference}#{attempt}"));
            attempt += 1;
        }
        taken.insert(name, reference.clone());
    }
    taken
}

/// The name before any cleaning.
pub fn preferred(reference: &ToolRef) -> String {
    if reference.namespace == DEFAULT_NAMESPACE {
        reference.name.clone()
    } else {
        format!("{}{SEPARATOR}{}", reference.namespace, reference.name)
    }
}

/// Whether MCP allows `c` in a tool name.
pub fn is_allowed(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
}

/// `base` (cut to fit) followed by `-` and a hash of `key`. `base` is ASCII.
fn tagged(base: &str, key: &str) -> String {
    let tag = format!("-{:08x}", fnv1a(key.as_bytes()) as u32);
    let keep = base.len().min(MAX_LEN - tag.len());
    format!("{}{tag}", &base[..keep])
}

/// FNV-1a: a small stable hash, so that names do not change between builds.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(refs: &[ToolRef]) -> Vec<String> {
        let assigned = assign(refs);
        refs.iter().map(|r| assigned.iter().find(|(_, v)| *v == r).unwrap().0.clone()).collect()
    }

    #[test]
    fn default_namespace_is_plain() {
        let refs = [ToolRef::new("default", "customers"), ToolRef::new("prod", "customers")];
        assert_eq!(names(&refs), ["customers", "prod__customers"]);
    }

    #[test]
    fn odd_characters_are_replaced_and_tagged() {
        let got = names(&[ToolRef::new("default", "a b/c")]);
        assert!(got[0].starts_with("a_b_c-"), "{got:?}");
        assert!(got[0].chars().all(is_allowed));
    }

    #[test]
    fn long_names_fit() {
        let long = "x".repeat(300);
        let got = names(&[ToolRef::new("ns", &long), ToolRef::new("ns", format!("{long}y"))]);
        for n in &got {
            assert_eq!(n.len(), MAX_LEN);
        }
        assert_ne!(got[0], got[1]);
    }

    #[test]
    fn collisions_get_distinct_names() {
        let refs = [ToolRef::new("default", "a_b"), ToolRef::new("default", "a b"), ToolRef::new("default", "a?b")];
        let got = names(&refs);
        assert_eq!(got[0], "a_b");
        assert_ne!(got[1], got[2]);
        assert!(got.iter().all(|n| n.chars().all(is_allowed) && n.len() <= MAX_LEN));
    }

    #[test]
    fn stable() {
        let refs = [ToolRef::new("default", "é")];
        assert_eq!(names(&refs), names(&refs));
    }
}
