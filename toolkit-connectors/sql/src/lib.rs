#![doc = include_str!("../README.md")]

pub mod config;
pub mod connect;
pub mod invoke;
pub mod permissions;
pub mod session;
pub mod tool;

pub use config::{
    ServerConfig, ServerDefaults, SessionEnv, SessionVar, Username, session_entries, session_template_env,
};
pub use connect::{Credentials, Phase, with_tool};
pub use invoke::Outcome;
pub use permissions::{GrantRule, HeldPrivilege, Revocation, RuleScope, RuleSyntax, undeclared};
pub use session::{SessionSettings, SqlSession};
pub use tool::{ConnectionOf, ServerTool, SqlEngine};

use std::path::Path;

use toolkit_core::{Reference, Request, SpecPart, ToolSpec, TypeInfo, Verdict};
use toolkit_policy::SqlDialect;

pub use config::ServerSettings;

/// The type of a server engine named `name`: it owns `spec.config` ([`ServerSettings`]) and
/// its calls are approved only when the tool declares `spec.approval` (`readOnly` governs
/// them otherwise).
pub fn server_type(name: &'static str, summary: &'static str) -> TypeInfo {
    TypeInfo::new(name, summary).with(SpecPart::config::<ServerSettings>(true))
}

/// The Secrets a server engine's spec references (`credentialsRef`, `usernameRef`).
pub fn server_references(spec: &ToolSpec) -> Vec<Reference> {
    spec.config_as::<ServerSettings>().ok().flatten().map(|s| s.references()).unwrap_or_default()
}

/// Makes `caFile` relative to the manifest's folder.
pub fn resolve_server_paths(spec: &mut ToolSpec, dir: &Path) {
    if let Some(c) = spec.config.as_mut() {
        toolkit_core::config::resolve_relative_path(c, "caFile", dir);
    }
}

/// Classifies the statement of a request in `dialect`: a call's `query` argument, or a
/// session command's words joined by spaces.
pub fn classify(dialect: SqlDialect, request: Request<'_>) -> Option<Verdict> {
    Some(toolkit_policy::sql::classify(dialect, &request.text("query")))
}
