//! The typed settings of a sqlite tool, and their pure validation.

use std::path::{Path, PathBuf};
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use toolkit_connector_sql::config::validate_pool;
use toolkit_core::ToolSpec;
use toolkit_core::duration::Duration as Span;
use toolkit_core::validate::FieldError;

/// The pool size used when `maxConnections` is not set.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 4;
/// The largest pool a tool may ask for.
pub const MAX_CONNECTIONS_LIMIT: u32 = 64;
/// How long to wait for a connection or a lock when `connectTimeout` is not set.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// `spec.config` of a sqlite tool, as written in a manifest.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SqliteSettings {
    /// The database file; relative to the manifest's folder. It must exist: toolkit never creates one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Connections in the pool at most, 1-64; 4 when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<u32>,
    /// How long to wait for a connection or a lock held by another writer; 5s when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_timeout: Option<Span>,
}

/// Validated settings.
#[derive(Clone, Debug, PartialEq)]
pub struct SqliteConfig {
    /// The database file as written in the manifest.
    pub path: PathBuf,
    /// Pool size.
    pub max_connections: u32,
    /// How long to wait for a free connection, and for a lock held by another writer.
    pub connect_timeout: Duration,
}

impl SqliteConfig {
    /// Validates `spec` and returns the typed settings, or every problem found.
    pub fn from_spec(spec: &ToolSpec) -> Result<Self, Vec<FieldError>> {
        let errs = validate(spec);
        if !errs.is_empty() {
            return Err(errs);
        }
        let missing = || vec![FieldError::new("spec.config.path", "is required")];
        let c: SqliteSettings = spec.config_as()?.ok_or_else(missing)?;
        Ok(Self {
            path: PathBuf::from(c.path.as_ref().ok_or_else(missing)?),
            max_connections: c.max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS),
            connect_timeout: c.connect_timeout.map_or(DEFAULT_CONNECT_TIMEOUT, |d| d.get()),
        })
    }

    /// The path made absolute against `cwd` (the process's working directory when the tool is
    /// built), so that the tool keeps pointing at the same file if the directory changes.
    pub fn absolute_path(&self, cwd: &Path) -> PathBuf {
        if self.path.is_absolute() { self.path.clone() } else { cwd.join(&self.path) }
    }
}

/// Checks `spec.config` of a sqlite tool.
pub fn validate(spec: &ToolSpec) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let Some(c) = spec.read_config::<SqliteSettings>(&mut errs) else {
        if spec.config.is_none() {
            errs.push(FieldError::new("spec.config", "is required for type sqlite (at least `path`)"));
        }
        return errs;
    };
    match c.path.as_deref() {
        None => errs.push(FieldError::new("spec.config.path", "is required: the database file")),
        Some(p) if p.trim().is_empty() => errs.push(FieldError::new("spec.config.path", "must not be empty")),
        Some(p) if p.contains('\0') => {
            errs.push(FieldError::new("spec.config.path", "must not contain NUL characters"))
        }
        Some(p) if p == ":memory:" || p.starts_with("sqlite:") || p.starts_with("file:") => errs.push(FieldError::new(
            "spec.config.path",
            format!("`{p}` is not a file path; write the path of an existing database file"),
        )),
        Some(_) => {}
    }
    validate_pool(c.max_connections, c.connect_timeout, MAX_CONNECTIONS_LIMIT, &mut errs);
    if spec.permissions.is_some() {
        errs.push(FieldError::new("spec.permissions", "sqlite has no grants; use readOnly to refuse writes"));
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(config: serde_json::Value) -> ToolSpec {
        ToolSpec { type_: "sqlite".into(), config: Some(config), ..ToolSpec::default() }
    }

    #[test]
    fn path_is_required_and_made_absolute() {
        let c = SqliteConfig::from_spec(&spec(serde_json::json!({"path": "data/app.db"}))).expect("valid");
        assert_eq!(c.absolute_path(Path::new("/srv")), PathBuf::from("/srv/data/app.db"));
        assert_eq!(c.max_connections, DEFAULT_MAX_CONNECTIONS);
        let errs = validate(&spec(serde_json::json!({})));
        assert_eq!(errs[0].path, "spec.config.path");
        let errs = validate(&spec(serde_json::json!({"path": ":memory:"})));
        assert_eq!(errs[0].path, "spec.config.path");
    }

    #[test]
    fn refuses_keys_of_other_types() {
        let errs = validate(&spec(
            serde_json::json!({"path": "/a.db", "hostname": "db", "credentialsRef": {"name": "s", "key": "k"}}),
        ));
        let paths: Vec<&str> = errs.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["spec.config.credentialsRef", "spec.config.hostname"]);
    }
}
