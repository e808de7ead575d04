//! The connection settings of a SQL server engine (mysql, postgres and the engines speaking its
//! protocol), their pure validation, and the credentials resolved when a tool connects.
//!
//! [`validate`] reports every problem with its field path and never touches the network or a
//! secret; [`ServerConfig::from_spec`] runs it and returns the typed value a connector uses.

use std::path::PathBuf;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::Database;
use sqlx::pool::{Pool, PoolOptions};
use toolkit_core::duration::Duration as Span;
use toolkit_core::model::{SecretKeySelector, SslMode};
use toolkit_core::validate::FieldError;
use toolkit_core::{Error, Result, SecretResolver, ToolSpec};

use crate::connect::{Credentials, with_tool};

/// The pool size used when `maxConnections` is not set.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 5;
/// The largest pool a tool may ask for.
pub const MAX_CONNECTIONS_LIMIT: u32 = 100;
/// How long connecting may take when `connectTimeout` is not set.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// `spec.config` of a server engine, as written in a manifest. Every key is optional here;
/// [`validate`] says which ones a tool needs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServerSettings {
    /// Host name or address of the server, without scheme or path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// TCP port; the engine's default port when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// The user to connect as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The user to connect as, read from a Secret, instead of `username`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username_ref: Option<SecretKeySelector>,
    /// The database to connect to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_name: Option<String>,
    /// TLS mode (libpq names); the engine's default when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssl_mode: Option<SslMode>,
    /// PEM file of the CA that signed the server certificate, for `verify-ca` and `verify-full`;
    /// relative to the manifest's folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
    /// The password, by reference to a Secret key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_ref: Option<SecretKeySelector>,
    /// Connections in the tool's pool at most, 1-100; 5 when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<u32>,
    /// How long opening a connection may take; 10s when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_timeout: Option<Span>,
}

impl ServerSettings {
    /// The Secrets the settings reference.
    pub fn references(&self) -> Vec<toolkit_core::Reference> {
        let mut out = Vec::new();
        if let Some(s) = &self.credentials_ref {
            out.push(toolkit_core::Reference::secret("spec.config.credentialsRef", s));
        }
        if let Some(s) = &self.username_ref {
            out.push(toolkit_core::Reference::secret("spec.config.usernameRef", s));
        }
        out
    }
}

/// What one engine fills in when the manifest leaves it out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerDefaults {
    /// The engine's name in messages (its tool type, such as `mysql` or `cockroachdb`).
    pub engine: &'static str,
    /// The port used when `port` is not set.
    pub port: u16,
    /// The TLS mode used when `sslMode` is not set.
    pub ssl_mode: SslMode,
}

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
pub struct ServerConfig {
    /// Host name or address.
    pub hostname: String,
    /// TCP port.
    pub port: u16,
    /// The user to connect as.
    pub username: Username,
    /// The database.
    pub database: String,
    /// TLS mode; the engine's default when not set.
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

impl ServerConfig {
    /// Validates `spec` (its rules with `validate_rules`) and returns the typed settings, or every
    /// problem found.
    pub fn from_spec(
        spec: &ToolSpec,
        defaults: ServerDefaults,
        validate_rules: impl FnOnce(&[Value]) -> Vec<FieldError>,
    ) -> Result<Self, Vec<FieldError>> {
        let errs = validate(spec, defaults.engine, validate_rules);
        if !errs.is_empty() {
            return Err(errs);
        }
        // `validate` guarantees the required fields below.
        let missing = || vec![FieldError::new("spec.config", format!("is required for type {}", defaults.engine))];
        let c: ServerSettings = spec.config_as()?.ok_or_else(missing)?;
        let username = match (&c.username, &c.username_ref) {
            (Some(u), None) => Username::Literal(u.clone()),
            (None, Some(r)) => Username::Secret(r.clone()),
            _ => return Err(missing()),
        };
        Ok(Self {
            hostname: c.hostname.clone().ok_or_else(missing)?,
            port: c.port.unwrap_or(defaults.port),
            username,
            database: c.database_name.clone().ok_or_else(missing)?,
            ssl_mode: c.ssl_mode.unwrap_or(defaults.ssl_mode),
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

    /// The user name, read now from its Secret when it has one; errors name `tool`.
    pub async fn username(&self, secrets: &dyn SecretResolver, namespace: &str, tool: &str) -> Result<String> {
        match &self.username {
            Username::Literal(u) => Ok(u.clone()),
            Username::Secret(sel) => {
                let value = secrets.resolve(namespace, sel).await.map_err(|e| with_tool(e, tool))?;
                Ok(value.expose().to_owned())
            }
        }
    }

    /// User and password, resolved now from the Secrets of `namespace`; errors name `tool`.
    pub async fn credentials(&self, secrets: &dyn SecretResolver, namespace: &str, tool: &str) -> Result<Credentials> {
        let username = self.username(secrets, namespace, tool).await?;
        let password = match &self.credentials {
            Some(sel) => Some(secrets.resolve(namespace, sel).await.map_err(|e| with_tool(e, tool))?),
            None => None,
        };
        Ok(Credentials { username, password })
    }

    /// A pool of at most `maxConnections` that opens connections with `options` when first asked
    /// for one, waiting at most `connectTimeout`.
    pub fn lazy_pool<DB: Database>(&self, options: <DB::Connection as sqlx::Connection>::Options) -> Pool<DB> {
        PoolOptions::<DB>::new()
            .max_connections(self.max_connections)
            .acquire_timeout(self.connect_timeout)
            .connect_lazy_with(options)
    }
}

/// The error of building a tool whose spec does not validate.
pub fn build_error(engine: &str, tool: &str, errs: &[FieldError]) -> Error {
    let text: Vec<String> = errs.iter().map(ToString::to_string).collect();
    Error::config(format!("build {engine} tool")).with_context("tool", tool).with_source(text.join("; "))
}

/// Checks a spec of a server engine: `spec.config`, and `spec.permissions.rules` with
/// `validate_rules`.
pub fn validate(
    spec: &ToolSpec,
    engine: &str,
    validate_rules: impl FnOnce(&[Value]) -> Vec<FieldError>,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    match spec.read_config::<ServerSettings>(&mut errs) {
        None if spec.config.is_none() => errs.push(FieldError::new(
            "spec.config",
            format!("is required for type {engine} (at least `hostname`, `username` and `databaseName`)"),
        )),
        None => {}
        Some(c) => validate_config(&c, &mut errs),
    }
    if let Some(p) = &spec.permissions {
        errs.extend(validate_rules(&p.rules));
    }
    errs
}

fn validate_config(c: &ServerSettings, errs: &mut Vec<FieldError>) {
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
    validate_pool(c.max_connections, c.connect_timeout, MAX_CONNECTIONS_LIMIT, errs);
}

/// Checks `maxConnections` (1 to `limit`) and `connectTimeout` (longer than zero).
pub fn validate_pool(
    max_connections: Option<u32>,
    connect_timeout: Option<Span>,
    limit: u32,
    errs: &mut Vec<FieldError>,
) {
    if let Some(n) = max_connections
        && !(1..=limit).contains(&n)
    {
        errs.push(FieldError::new("spec.config.maxConnections", format!("{n} is out of range; use 1 to {limit}")));
    }
    if connect_timeout.is_some_and(|d| d.get().is_zero()) {
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

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULTS: ServerDefaults = ServerDefaults { engine: "postgres", port: 5432, ssl_mode: SslMode::Prefer };

    fn spec(config: serde_json::Value) -> ToolSpec {
        ToolSpec { config: Some(config), ..ToolSpec::of_type("postgres") }
    }

    fn check(spec: &ToolSpec) -> Vec<FieldError> {
        validate(spec, DEFAULTS.engine, |_| Vec::new())
    }

    fn paths(errs: &[FieldError]) -> Vec<&str> {
        errs.iter().map(|e| e.path.as_str()).collect()
    }

    #[test]
    fn minimal_config_gets_defaults() {
        let s = spec(serde_json::json!({"hostname": "db", "username": "app", "databaseName": "shop"}));
        let c = ServerConfig::from_spec(&s, DEFAULTS, |_| Vec::new()).expect("valid");
        assert_eq!(c.port, 5432);
        assert_eq!(c.ssl_mode, SslMode::Prefer);
        assert_eq!(c.max_connections, 5);
        assert_eq!(c.connect_timeout, Duration::from_secs(10));
        assert_eq!(c.address(), "db:5432");
        let c = ServerConfig { hostname: "::1".into(), ..c };
        assert_eq!(c.address(), "[::1]:5432");
    }

    #[test]
    fn missing_fields_are_named() {
        let errs = check(&spec(serde_json::json!({"port": 0, "maxConnections": 0})));
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
        let errs = check(&ToolSpec::of_type("postgres"));
        assert_eq!(paths(&errs), ["spec.config"]);
    }

    #[test]
    fn refuses_keys_of_other_types() {
        let errs = check(&spec(serde_json::json!({
            "hostname": "db", "username": "app", "databaseName": "shop",
            "uri": "postgres://x", "sshKey": {"name": "k", "key": "id"}, "apiserver": "https://k8s",
        })));
        assert_eq!(paths(&errs), ["spec.config.apiserver", "spec.config.sshKey", "spec.config.uri"]);
        assert!(errs[0].message.contains("not used by postgres tools"), "{}", errs[0].message);
    }

    #[test]
    fn username_sources_are_exclusive() {
        let errs = check(&spec(serde_json::json!({
            "hostname": "db", "username": "app", "usernameRef": {"name": "s", "key": "u"}, "databaseName": "shop",
        })));
        assert_eq!(paths(&errs), ["spec.config.usernameRef"]);
    }

    #[test]
    fn ranges_and_tls() {
        let errs = check(&spec(serde_json::json!({
            "hostname": "postgres://db/x", "username": "app", "databaseName": "shop",
            "maxConnections": 0, "connectTimeout": "0s", "sslMode": "disable", "caFile": "/ca.pem",
        })));
        assert_eq!(
            paths(&errs),
            ["spec.config.hostname", "spec.config.caFile", "spec.config.maxConnections", "spec.config.connectTimeout"]
        );
    }

    #[test]
    fn rules_are_checked_by_the_engine() {
        let mut s = spec(serde_json::json!({"hostname": "db", "username": "app", "databaseName": "shop"}));
        s.permissions = Some(serde_json::from_value(serde_json::json!({"rules": [{}]})).expect("permissions parse"));
        let errs =
            validate(&s, "postgres", |rules| vec![FieldError::new("spec.permissions.rules", rules.len().to_string())]);
        assert_eq!(paths(&errs), ["spec.permissions.rules"]);
    }
}

/// What one variable of a native client's environment holds, as an engine lists them once for
/// both kinds of session: a local one (the values resolved) and a bastion pod (the credentials
/// named by their Secret keys).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionVar {
    /// A setting safe to show (host, port, database, TLS mode).
    Setting(String),
    /// The user the tool connects as.
    User,
    /// The password, when the tool has one.
    Password,
    /// A file on this machine (a CA certificate): set for a local session, left out of a pod.
    LocalPath(String),
}

/// An engine's list of its client's environment variables.
pub type SessionEnv = fn(&ServerConfig) -> Vec<(&'static str, SessionVar)>;

/// The environment of a local session: `vars` with the login `creds` resolved.
pub fn session_entries(
    vars: Vec<(&'static str, SessionVar)>,
    creds: &crate::Credentials,
) -> Vec<toolkit_core::connector::EnvEntry> {
    use toolkit_core::connector::EnvEntry;
    vars.into_iter()
        .filter_map(|(name, var)| match var {
            SessionVar::Setting(v) => Some(EnvEntry::plain(name, v)),
            SessionVar::User => Some(EnvEntry::plain(name, &creds.username)),
            SessionVar::Password => creds.password.clone().map(|p| EnvEntry::secret(name, p)),
            SessionVar::LocalPath(p) => Some(EnvEntry::plain(name, p)),
        })
        .collect()
}

/// The environment of a session run elsewhere: `vars` with the login named by its Secret keys.
pub fn session_template_env(
    vars: Vec<(&'static str, SessionVar)>,
    config: &ServerConfig,
) -> Vec<toolkit_core::EnvTemplate> {
    use toolkit_core::EnvTemplate;
    vars.into_iter()
        .filter_map(|(name, var)| match var {
            SessionVar::Setting(v) => Some(EnvTemplate::value(name, v)),
            SessionVar::User => Some(match &config.username {
                Username::Literal(u) => EnvTemplate::value(name, u.clone()),
                Username::Secret(s) => EnvTemplate::secret(name, s),
            }),
            SessionVar::Password => config.credentials.as_ref().map(|s| EnvTemplate::secret(name, s)),
            SessionVar::LocalPath(_) => None,
        })
        .collect()
}
