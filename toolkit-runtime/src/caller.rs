//! Who is calling, and which tools they may see: a [`Caller`] with an optional [`Scope`].
//!
//! The gateway gives each API token a scope; the CLI's local user has none. The pipeline
//! refuses a tool outside the caller's scope with the same error as a tool that is not declared,
//! so a scoped caller cannot learn which other tools exist.

use std::fmt;
use std::sync::Arc;

use globset::{Glob, GlobBuilder, GlobMatcher};
use toolkit_core::model::DEFAULT_NAMESPACE;
use toolkit_core::{Error, Result, ToolRef};

/// Who is calling.
#[derive(Clone, Debug, PartialEq)]
pub struct Caller {
    /// Identity recorded in the audit log and used for per-caller limits.
    pub id: String,
    /// The tools this caller may see and call; `None` for all of them.
    pub scope: Option<Arc<Scope>>,
    /// The access token the caller authenticated with, for tools that exchange it (RFC 8693).
    pub subject_token: Option<toolkit_core::SecretString>,
}

impl Caller {
    /// A caller that may call every tool.
    pub fn new(id: impl Into<String>) -> Self {
        Self { id: id.into(), scope: None, subject_token: None }
    }

    /// A caller limited to `scope`.
    pub fn scoped(id: impl Into<String>, scope: Arc<Scope>) -> Self {
        Self { id: id.into(), scope: Some(scope), subject_token: None }
    }

    /// This caller, holding the access token it authenticated with.
    #[must_use]
    pub fn with_subject_token(mut self, token: toolkit_core::SecretString) -> Self {
        self.subject_token = Some(token);
        self
    }

    /// The local user of the CLI (unscoped).
    pub fn local() -> Self {
        let user = std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .ok()
            .filter(|u| !u.is_empty())
            .or_else(|| nix::unistd::User::from_uid(nix::unistd::getuid()).ok().flatten().map(|u| u.name))
            .unwrap_or_else(|| format!("uid-{}", nix::unistd::getuid()));
        Self::new(format!("local:{user}"))
    }

    /// Whether this caller may see and call `tool`.
    pub fn may_call(&self, tool: &ToolRef) -> bool {
        self.scope.as_ref().is_none_or(|s| s.allows(tool))
    }
}

/// The tools a caller may see: namespaces and `NAMESPACE/NAME` patterns (globs: `*`, `?`,
/// `[abc]`, `{a,b}`). A tool must match both lists; a list left out matches everything, an
/// empty list nothing. A tool pattern without `/` names a tool of the `default` namespace.
#[derive(Clone)]
pub struct Scope {
    namespaces: Option<Vec<Pattern>>,
    tools: Option<Vec<(Pattern, Pattern)>>,
}

#[derive(Clone)]
struct Pattern {
    text: String,
    matcher: GlobMatcher,
}

impl Scope {
    /// Every tool.
    pub fn all() -> Self {
        Self { namespaces: None, tools: None }
    }

    /// No tool at all.
    pub fn none() -> Self {
        Self { namespaces: Some(Vec::new()), tools: None }
    }

    /// A scope from namespace patterns and tool patterns (`NAMESPACE/NAME`); errors name the
    /// pattern that does not parse.
    pub fn new(namespaces: Option<&[String]>, tools: Option<&[String]>) -> Result<Self> {
        let namespaces =
            namespaces.map(|list| list.iter().map(|p| Pattern::new(p, "namespaces")).collect()).transpose()?;
        let tools = tools
            .map(|list| {
                list.iter()
                    .map(|p| {
                        let (ns, name) = p.split_once('/').unwrap_or((DEFAULT_NAMESPACE, p));
                        if ns.is_empty() || name.is_empty() || name.contains('/') {
                            return Err(Error::config(format!(
                                "tools: `{p}` is not a tool pattern; write NAME or NAMESPACE/NAME (globs allowed)"
                            )));
                        }
                        Ok((Pattern::new(ns, "tools")?, Pattern::new(name, "tools")?))
                    })
                    .collect::<Result<Vec<_>>>()
            })
            .transpose()?;
        Ok(Self { namespaces, tools })
    }

    /// Whether `tool` is in this scope.
    pub fn allows(&self, tool: &ToolRef) -> bool {
        let namespace_ok =
            self.namespaces.as_ref().is_none_or(|l| l.iter().any(|p| p.matcher.is_match(&tool.namespace)));
        namespace_ok
            && self.tools.as_ref().is_none_or(|l| {
                l.iter().any(|(ns, name)| ns.matcher.is_match(&tool.namespace) && name.matcher.is_match(&tool.name))
            })
    }
}

impl Pattern {
    fn new(text: &str, field: &str) -> Result<Self> {
        let glob: Glob = GlobBuilder::new(text)
            .literal_separator(true)
            .build()
            .map_err(|e| Error::config(format!("{field}: `{text}` is not a valid pattern: {}", e.kind())))?;
        Ok(Self { text: text.to_owned(), matcher: glob.compile_matcher() })
    }
}

impl PartialEq for Scope {
    fn eq(&self, other: &Self) -> bool {
        let texts = |l: &Option<Vec<Pattern>>| l.as_ref().map(|l| l.iter().map(|p| p.text.clone()).collect::<Vec<_>>());
        let pairs = |l: &Option<Vec<(Pattern, Pattern)>>| {
            l.as_ref().map(|l| l.iter().map(|(a, b)| (a.text.clone(), b.text.clone())).collect::<Vec<_>>())
        };
        texts(&self.namespaces) == texts(&other.namespaces) && pairs(&self.tools) == pairs(&other.tools)
    }
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let namespaces = self.namespaces.as_ref().map(|l| l.iter().map(|p| p.text.as_str()).collect::<Vec<_>>());
        let tools = self
            .tools
            .as_ref()
            .map(|l| l.iter().map(|(ns, name)| format!("{}/{}", ns.text, name.text)).collect::<Vec<_>>());
        f.debug_struct("Scope").field("namespaces", &namespaces).field("tools", &tools).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(namespaces: Option<&[&str]>, tools: Option<&[&str]>) -> Scope {
        let own = |l: &[&str]| l.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let (ns, t) = (namespaces.map(own), tools.map(own));
        Scope::new(ns.as_deref(), t.as_deref()).unwrap()
    }

    #[test]
    fn namespaces_and_tools_must_both_match() {
        let s = scope(Some(&["prod"]), Some(&["prod/analytics-*", "prod/billing"]));
        assert!(s.allows(&ToolRef::new("prod", "analytics-pg")));
        assert!(s.allows(&ToolRef::new("prod", "billing")));
        assert!(!s.allows(&ToolRef::new("prod", "billing-2")));
        assert!(!s.allows(&ToolRef::new("staging", "analytics-pg")));
    }

    #[test]
    fn left_out_lists_match_everything_and_empty_lists_nothing() {
        assert!(scope(None, None).allows(&ToolRef::new("any", "thing")));
        assert!(scope(Some(&["team-*"]), None).allows(&ToolRef::new("team-a", "x")));
        assert!(!scope(Some(&[]), None).allows(&ToolRef::new("default", "x")));
        assert!(!scope(None, Some(&[])).allows(&ToolRef::new("default", "x")));
    }

    #[test]
    fn a_bare_name_is_in_the_default_namespace() {
        let s = scope(None, Some(&["echo", "*/finish"]));
        assert!(s.allows(&ToolRef::new("default", "echo")));
        assert!(!s.allows(&ToolRef::new("prod", "echo")));
        assert!(s.allows(&ToolRef::new("prod", "finish")));
    }

    #[test]
    fn bad_patterns_are_named() {
        let err = Scope::new(None, Some(&["a/b/c".to_owned()])).unwrap_err();
        assert!(err.to_string().contains("a/b/c"), "{err}");
        let err = Scope::new(Some(&["[".to_owned()]), None).unwrap_err();
        assert!(err.to_string().contains("namespaces"), "{err}");
    }

    #[test]
    fn unscoped_callers_may_call_anything() {
        let tool = ToolRef::new("prod", "x");
        assert!(Caller::new("a").may_call(&tool));
        assert!(!Caller::scoped("b", Arc::new(scope(Some(&["dev"]), None))).may_call(&tool));
    }
}
