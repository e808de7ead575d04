//! Who may decide approvals in the console (`--approver NAME[=NS,…]`).
//!
//! `NAME` is a token name of the tokens file (`ops`, the caller `token:ops`), a caller id with
//! its prefix (`token:ops`, `local:alice`), or an identity provider's subject (`oidc:SUBJECT`,
//! whichever client it signed in through). After `=`, a comma-separated list of namespaces
//! limits the approver to requests for tools of those namespaces. Everyone else reads.

use toolkit_core::ToolRef;
use toolkit_runtime::Caller;

/// One `--approver` value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Approver {
    /// The caller id it names (`token:ops`, `local:alice`, `oidc:SUBJECT`).
    pub caller: String,
    /// The namespaces it may decide for; every namespace when empty.
    pub namespaces: Vec<String>,
}

impl Approver {
    /// Parses `NAME[=NS,…]`.
    pub fn parse(value: &str) -> Result<Self, String> {
        let (name, namespaces) = match value.split_once('=') {
            Some((name, list)) => (name.trim(), list.split(',').map(|n| n.trim().to_owned()).collect::<Vec<_>>()),
            None => (value.trim(), Vec::new()),
        };
        if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c == ',') {
            return Err(format!("`{name}` is not a token name or caller id (such as ops, local:alice, oidc:SUBJECT)"));
        }
        if namespaces.iter().any(String::is_empty) {
            return Err("after `=`, give namespaces separated by commas".into());
        }
        let caller = if name.contains(':') { name.to_owned() } else { format!("token:{name}") };
        Ok(Self { caller, namespaces })
    }

    /// Whether this entry names `caller`.
    fn names(&self, caller: &Caller) -> bool {
        match caller.id.strip_prefix(&self.caller) {
            Some("") => true,
            // `oidc:SUBJECT@CLIENT`: the subject decides, through any client.
            Some(rest) => self.caller.starts_with("oidc:") && rest.starts_with('@'),
            None => false,
        }
    }

    /// Whether this entry lets its caller decide requests for `tool`.
    fn covers(&self, tool: &ToolRef) -> bool {
        self.namespaces.is_empty() || self.namespaces.contains(&tool.namespace)
    }
}

/// Whether `caller` may decide a request for `tool`; `None` for `tool` asks whether it may
/// decide any.
pub(super) fn may_decide(approvers: &[Approver], caller: &Caller, tool: Option<&ToolRef>) -> bool {
    let in_scope = tool.is_none_or(|t| caller.may_call(t));
    in_scope && approvers.iter().any(|a| a.names(caller) && tool.is_none_or(|t| a.covers(t)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_tokens_locals_and_subjects_with_namespaces() {
        let approvers: Vec<Approver> =
            ["ops", "local:alice=prod,staging", "oidc:1234"].iter().map(|v| Approver::parse(v).unwrap()).collect();
        let prod = ToolRef::new("prod", "db");
        let dev = ToolRef::new("dev", "db");
        assert!(may_decide(&approvers, &Caller::new("token:ops"), Some(&dev)));
        assert!(!may_decide(&approvers, &Caller::new("token:ops2"), Some(&dev)));
        assert!(may_decide(&approvers, &Caller::new("local:alice"), Some(&prod)));
        assert!(!may_decide(&approvers, &Caller::new("local:alice"), Some(&dev)));
        assert!(may_decide(&approvers, &Caller::new("local:alice"), None));
        assert!(may_decide(&approvers, &Caller::new("oidc:1234@cli"), Some(&dev)));
        assert!(!may_decide(&approvers, &Caller::new("oidc:12345@cli"), Some(&dev)));
        assert!(!may_decide(&approvers, &Caller::new("mcp:agent"), None));
        assert!(Approver::parse("").is_err() && Approver::parse("a=").is_err() && Approver::parse("a b").is_err());
    }
}
