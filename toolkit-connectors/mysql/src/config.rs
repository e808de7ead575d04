//! The typed connection settings of a mysql tool, and their pure validation.
//!
//! [`validate`] reports every problem with its field path and never touches the network or a
//! secret; [`MysqlConfig::from_spec`] runs it and returns the typed value the rest of the crate uses.

use std::path::PathBuf;
use std::time::Duration;

use toolkit_core::ToolSpec;
use toolkit_core::model::{ConnectionConfig, SecretKeySelector, SslMode};
use toolkit_core::validate::FieldError;

use crate::permissions;

/// The pool size used when `maxConnections` is not set.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 5;
/// The largest pool a tool may ask for.
pub const MAX_CONNECTIONS_LIMIT: u32 = 100;
/// How long connecting may take when `connectTimeout` is not set.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The port used when `port` is not set.
pub const DEFAULT_PORT: u16 = 3306;
/// The `spec.config` keys a mysql tool reads; any other key is refused.
const KEYS: &[&str] = &[
    "hostname",
    "port",
    "username",
    "usernameRef",
    "databaseName",
    "sslMode",
    "caFile",
    "credentialsRef",
    "maxConnections",
    "connectTimeout",
];

/// Where the user name comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum Username {
    /// Written in the manifest.
    Literal(String),
    /// Read from a Secret when the tool first connects.
    Secret(SecretKeySelector),
}

/// Validated connection settings. Holds references to secrets, never their values.
#[derive(Clone, Debug, PartialEq)]
pub struct MysqlConfig {
    /// Host name or address.
    pub hostname: String,
    /// TCP port.
    pub port: u16,
    /// The user to connect as.
    pub username: Username,
    /// The database.
    pub database: String,
    /// TLS mode; `prefer` when not set.
    pub ssl_mode: SslMode,
    /// CA certificate file for `verify-ca` and `verify-full`.
    pub ca_file: Option<PathBuf>,
    /// The password, by reference.
    pub credentials: Option<SecretKeySelector>,
    /// Pool size.
    pub max_connections: u32,
    /// How long opening a connection may take.
    pub connect_timeout: Duration,
}

impl MysqlConfig {
    /// Validates `spec` and returns the typed settings, or every problem found.
    pub fn from_spec(spec: &ToolSpec) -> Result<Self, Vec<FieldError>> {
        let errs = validate(spec);
        if !errs.is_empty() {
            return Err(errs);
        }
        // `validate` guarantees the required fields below.
        let missing = || vec![FieldError::new("spec.config", "is required for type mysql")];
        let c = spec.config.as_ref().ok_or_else(missing)?;
        let username = match (&c.username, &c.username_ref) {
            (Some(u), None) => Username::Literal(u.clone()),
            (None, Some(r)) => Username::Secret(r.clone()),
            _ => return Err(missing()),
        };
        Ok(Self {
            hostname: c.hostname.clone().ok_or_else(missing)?,
            port: c.port.unwrap_or(DEFAULT_PORT),
            username,
            database: c.database_name.clone().ok_or_else(missing)?,
            ssl_mode: c.ssl_mode.unwrap_or(SslMode::Prefer),
            ca_file: c.ca_file.as_ref().map(PathBuf::from),
            credentials: c.credentials_ref.clone(),
            max_connections: c.max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS),
            connect_timeout: c.connect_timeout.map_or(DEFAULT_CONNECT_TIMEOUT, |d| d.get()),
        })
    }

    /// `host:port`, for messages.
    pub fn address(&self) -> String {
        if self.hostname.contains(':') {
            format!("[{}]:{}", self.hostname, self.port)
        } else {
            format!("{}:{}", self.hostname, self.port)
        }
    }

    /// Whether connecting may include a TLS handshake.
    pub fn may_use_tls(&self) -> bool {
        !matches!(self.ssl_mode, SslMode::Disable | SslMode::Allow)
    }
}

/// Checks the mysql-specific parts of a spec: `spec.config` and `spec.permissions.rules`.
pub fn validate(spec: &ToolSpec) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let engine = "mysql";
    match &spec.config {
        None => errs.push(FieldError::new(
            "spec.config",
            format!("is required for type {engine} (at least `hostname`, `username` and `databaseName`)"),
        )),
        Some(c) => validate_config(c, engine, &mut errs),
    }
    if let Some(p) = &spec.permissions {
        errs.extend(permissions::validate_rules(&p.rules));
    }
    errs
}

fn validate_config(c: &ConnectionConfig, engine: &str, errs: &mut Vec<FieldError>) {
    for key in unused_keys(c) {
        errs.push(FieldError::new(
            format!("spec.config.{key}"),
            format!("is not a {engine} setting; {engine} reads {}", KEYS.join(", ")),
        ));
    }
    match c.hostname.as_deref() {
        None => errs.push(FieldError::new("spec.config.hostname", "is required")),
        Some(h) if h.trim().is_empty() => errs.push(FieldError::new("spec.config.hostname", "must not be empty")),
        Some(h) if h.chars().any(|ch| ch.is_whitespace() || ch == '/') => errs.push(FieldError::new(
            "spec.config.hostname",
            format!("`{h}` is not a host name or address (write the host only, without scheme or path)"),
        )),
        Some(_) => {}
    }
    if c.port == Some(0) {
        errs.push(FieldError::new("spec.config.port", "must be between 1 and 65535"));
    }
    match (&c.username, &c.username_ref) {
        (None, None) => errs.push(FieldError::new("spec.config.username", "is required (or `usernameRef`)")),
        (Some(_), Some(_)) => {
            errs.push(FieldError::new("spec.config.usernameRef", "set either `username` or `usernameRef`, not both"))
        }
        (Some(u), None) if u.trim().is_empty() => {
            errs.push(FieldError::new("spec.config.username", "must not be empty"));
        }
        _ => {}
    }
    if let Some(r) = &c.username_ref {
        check_selector(errs, "spec.config.usernameRef", r);
    }
    if let Some(r) = &c.credentials_ref {
        check_selector(errs, "spec.config.credentialsRef", r);
    }
    match c.database_name.as_deref() {
        None => errs.push(FieldError::new("spec.config.databaseName", "is required")),
        Some(d) if d.trim().is_empty() => {
            errs.push(FieldError::new("spec.config.databaseName", "must not be empty"));
        }
        Some(_) => {}
    }
    if let Some(ca) = &c.ca_file {
        if ca.trim().is_empty() {
            errs.push(FieldError::new("spec.config.caFile", "must not be empty"));
        } else if matches!(c.ssl_mode, Some(SslMode::Disable | SslMode::Allow)) {
            errs.push(FieldError::new(
                "spec.config.caFile",
                "has no effect without TLS; set sslMode to verify-ca or verify-full",
            ));
        }
    }
    if let Some(n) = c.max_connections
        && !(1..=MAX_CONNECTIONS_LIMIT).contains(&n)
    {
        errs.push(FieldError::new(
            "spec.config.maxConnections",
            format!("{n} is out of range; use 1 to {MAX_CONNECTIONS_LIMIT}"),
        ));
    }
    if c.connect_timeout.is_some_and(|d| d.get().is_zero()) {
        errs.push(FieldError::new("spec.config.connectTimeout", "must be longer than 0s"));
    }
}

fn check_selector(errs: &mut Vec<FieldError>, path: &str, s: &SecretKeySelector) {
    if s.name.trim().is_empty() {
        errs.push(FieldError::new(format!("{path}.name"), "must name a Secret"));
    }
    if s.key.trim().is_empty() {
        errs.push(FieldError::new(format!("{path}.key"), "must name a key of the Secret"));
    }
}

/// The keys set in `c` that mysql does not read. Serializing skips unset keys, so the
/// object's keys are exactly the ones the manifest set, spelled as in the manifest.
fn unused_keys(c: &ConnectionConfig) -> Vec<String> {
    match serde_json::to_value(c) {
        Ok(serde_json::Value::Object(map)) => map.keys().filter(|k| !KEYS.contains(&k.as_str())).cloned().collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use toolkit_core::ToolType;

    fn spec(config: serde_json::Value) -> ToolSpec {
        ToolSpec {
            type_: ToolType::Mysql,
            config: Some(serde_json::from_value(config).expect("config parses")),
            ..ToolSpec::default()
        }
    }

    fn paths(errs: &[FieldError]) -> Vec<&str> {
        errs.iter().map(|e| e.path.as_str()).collect()
    }

    #[test]
    fn minimal_config_gets_defaults() {
        let s = spec(serde_json::json!({"hostname": "db", "username": "app", "databaseName": "shop"}));
        let c = MysqlConfig::from_spec(&s).expect("valid");
        assert_eq!(c.port, 3306);
        assert_eq!(c.ssl_mode, SslMode::Prefer);
        assert_eq!(c.max_connections, 5);
        assert_eq!(c.address(), "db:3306");
    }

    #[test]
    fn refuses_keys_of_other_types_and_names_missing_fields() {
        let errs = validate(&spec(serde_json::json!({
            "hostname": "db", "username": "app", "databaseName": "shop", "uri": "mysql://x",
        })));
        assert_eq!(paths(&errs), ["spec.config.uri"]);
        assert!(errs[0].message.contains("not a mysql setting"), "{}", errs[0].message);
        let errs = validate(&spec(serde_json::json!({"port": 0, "maxConnections": 0})));
        assert_eq!(
            paths(&errs),
            [
                "spec.config.hostname",
                "spec.config.port",
                "spec.config.username",
                "spec.config.databaseName",
                "spec.config.maxConnections"
            ]
        );
    }
}
