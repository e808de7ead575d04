//! The typed settings of a sqlite tool, and their pure validation.

use std::path::{Path, PathBuf};
use std::time::Duration;

use toolkit_connector_sql::config::validate_pool;
use toolkit_core::ToolSpec;
use toolkit_core::validate::FieldError;

/// The pool size used when `maxConnections` is not set.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 4;
/// The largest pool a tool may ask for.
pub const MAX_CONNECTIONS_LIMIT: u32 = 64;
/// How long to wait for a connection or a lock when `connectTimeout` is not set.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The `spec.config` keys a sqlite tool reads; any other key is refused.
const KEYS: &[&str] = &["path", "maxConnections", "connectTimeout"];

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
        let c = spec.config.as_ref().ok_or_else(missing)?;
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
    let Some(c) = &spec.config else {
        errs.push(FieldError::new("spec.config", "is required for type sqlite (at least `path`)"));
        return errs;
    };
    errs.extend(c.unused_keys("sqlite", KEYS));
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
    validate_pool(c, MAX_CONNECTIONS_LIMIT, &mut errs);
    if spec.permissions.is_some() {
        errs.push(FieldError::new("spec.permissions", "sqlite has no grants; use readOnly to refuse writes"));
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use toolkit_core::ToolType;

    fn spec(config: serde_json::Value) -> ToolSpec {
        ToolSpec {
            type_: ToolType::Sqlite,
            config: Some(serde_json::from_value(config).expect("config parses")),
            ..ToolSpec::default()
        }
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
