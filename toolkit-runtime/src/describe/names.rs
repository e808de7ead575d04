//! MCP tool names for toolkit tools, as the gateway serves them and `toolkit tool schema`
//! prints them.
//!
//! A tool whose manifest sets `spec.mcpName` is served under that name (validation has checked
//! that MCP allows it and that no other tool has it). Any other tool in namespace `default` is
//! served as `NAME`; in any other namespace as `NAMESPACE__NAME` (two underscores, which
//! Kubernetes names cannot contain, so the two forms never collide). MCP allows 1 to 128
//! characters of `[A-Za-z0-9_.-]`: any other character becomes `_`, and a name that had to
//! change, is too long, or is already taken gets `-` and eight hex digits of a hash of
//! `NAMESPACE/NAME` appended (the base shortened to fit). Names are assigned in namespace/name
//! order, the names set in manifests first, so the same catalog always gives the same names.
//!
//! OpenAI-style function names allow only `[A-Za-z0-9_-]`, 1 to 64 characters:
//! [`for_functions`] keeps every MCP name that fits and rewrites the others the same way.

use std::collections::BTreeMap;

use toolkit_core::ToolRef;
use toolkit_core::model::DEFAULT_NAMESPACE;
pub use toolkit_core::model::mcp_name::{MAX_LEN, SEPARATOR, is_allowed, preferred};

/// The longest function name OpenAI-style function calling allows.
pub const FUNCTION_MAX_LEN: usize = 64;

/// Assigns a unique MCP name to each reference, in the order given.
pub fn assign<'a>(references: impl IntoIterator<Item = &'a ToolRef>) -> BTreeMap<String, ToolRef> {
    assign_with(references.into_iter().map(|r| (r, None)))
}

/// Assigns a unique MCP name to each reference, in the order given, keeping the name a manifest
/// sets (`spec.mcpName`): those are taken first, so a generated name never displaces one. A set
/// name that MCP does not allow, or that an earlier tool set too (validation refuses both), is
/// replaced like a generated one.
pub fn assign_with<'a>(tools: impl IntoIterator<Item = (&'a ToolRef, Option<&'a str>)>) -> BTreeMap<String, ToolRef> {
    let tools: Vec<(&ToolRef, Option<&str>)> = tools.into_iter().collect();
    let mut taken = BTreeMap::new();
    let mut rest = Vec::new();
    for (reference, set) in tools {
        match set {
            Some(name) if toolkit_core::model::mcp_name::problem(name).is_none() && !taken.contains_key(name) => {
                taken.insert(name.to_owned(), reference.clone());
            }
            _ => rest.push(reference),
        }
    }
    for reference in rest {
        let raw = preferred(reference);
        let clean: String = raw.chars().map(|c| if is_allowed(c) { c } else { '_' }).collect();
        let mut name = if clean == raw && !raw.is_empty() && raw.len() <= MAX_LEN {
            raw
        } else {
            tagged(&clean, &reference.to_string(), MAX_LEN)
        };
        let mut attempt = 1u32;
        while taken.contains_key(&name) {
            name = tagged(&clean, &format!("{reference}#{attempt}"), MAX_LEN);
            attempt += 1;
        }
        taken.insert(name, reference.clone());
    }
    taken
}

/// The tool an MCP name that is not served would name (`NAMESPACE__NAME`, or `NAME` in the
/// default namespace), for the audit record of a call to it; cut to [`MAX_LEN`] characters,
/// control characters dropped.
pub fn reference_of(name: &str) -> ToolRef {
    let clean: String = name.chars().filter(|c| !c.is_control()).take(MAX_LEN).collect();
    match clean.split_once(SEPARATOR) {
        Some((ns, rest)) if !ns.is_empty() && !rest.is_empty() => ToolRef::new(ns, rest),
        _ => ToolRef::new(DEFAULT_NAMESPACE, clean),
    }
}

/// Function names for MCP names (unique ones, as [`assign`] gives), in the same order: a name
/// that fits is kept, any other has `.` turned into `_` and is tagged like an MCP name that had
/// to change.
pub fn for_functions<'a>(mcp_names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mcp_names: Vec<&str> = mcp_names.into_iter().collect();
    let fits = |n: &str| {
        !n.is_empty() && n.len() <= FUNCTION_MAX_LEN && n.chars().all(|c| c.is_ascii_alphanumeric() || "_-".contains(c))
    };
    // Names that fit are taken first, so a rewritten name never displaces one.
    let mut taken: std::collections::BTreeSet<String> =
        mcp_names.iter().filter(|n| fits(n)).map(|n| (*n).to_owned()).collect();
    mcp_names
        .iter()
        .map(|&n| {
            if fits(n) {
                return n.to_owned();
            }
            let clean: String = n.chars().map(|c| if c == '.' { '_' } else { c }).collect();
            let mut name = tagged(&clean, n, FUNCTION_MAX_LEN);
            let mut attempt = 1u32;
            while taken.contains(&name) {
                name = tagged(&clean, &format!("{n}#{attempt}"), FUNCTION_MAX_LEN);
                attempt += 1;
            }
            taken.insert(name.clone());
            name
        })
        .collect()
}

/// `base` (cut to `max` with the tag) followed by `-` and a hash of `key`. `base` is ASCII.
fn tagged(base: &str, key: &str, max: usize) -> String {
    let tag = format!("-{:08x}", fnv1a(key.as_bytes()) as u32);
    let keep = base.len().min(max - tag.len());
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
    fn unserved_names_map_back() {
        assert_eq!(reference_of("prod__x"), ToolRef::new("prod", "x"));
        assert_eq!(reference_of("x"), ToolRef::new("default", "x"));
        assert_eq!(reference_of("__x"), ToolRef::new("default", "__x"));
        assert_eq!(reference_of(&"y".repeat(1000)).name.len(), MAX_LEN);
    }

    #[test]
    fn function_names_fit_openai() {
        let long = format!("ns__{}", "x".repeat(100));
        let got = for_functions(["plain", "a.b", "a_b", &long]);
        assert_eq!(got[0], "plain");
        assert!(got[1].starts_with("a_b-"), "{got:?}");
        assert_eq!(got[2], "a_b");
        assert_eq!(got[3].len(), FUNCTION_MAX_LEN);
        for n in &got {
            assert!(n.chars().all(|c| c.is_ascii_alphanumeric() || "_-".contains(c)), "{n}");
        }
    }

    #[test]
    fn names_set_in_manifests_come_first() {
        let a = ToolRef::new("default", "a");
        let b = ToolRef::new("default", "b");
        let c = ToolRef::new("prod", "c");
        // `b` sets the name `a` would have had: `a` gets a tagged name, `b` keeps its own.
        let got = assign_with([(&a, None), (&b, Some("a")), (&c, Some("run_query"))]);
        assert_eq!(got["a"], b);
        assert_eq!(got["run_query"], c);
        let of_a = got.iter().find(|(_, r)| **r == a).unwrap().0;
        assert!(of_a.starts_with("a-"), "{of_a}");
        // A name MCP does not allow is not used.
        let got = assign_with([(&a, Some("no good"))]);
        assert_eq!(got.keys().collect::<Vec<_>>(), ["a"]);
    }

    #[test]
    fn stable() {
        let refs = [ToolRef::new("default", "é")];
        assert_eq!(names(&refs), names(&refs));
    }
}
