//! The typed settings of a redis tool, read from `spec.config` without I/O or secrets.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::time::Duration;

use toolkit_core::duration::Duration as Span;
use toolkit_core::model::{SecretKeySelector, ToolSpec};
use toolkit_core::validate::FieldError;

/// `spec.config` of a redis tool, as written in a manifest; every key is optional here and
/// the checks say which ones a tool needs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RedisSettings {
    /// Host name or address of the server, without scheme or path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// TCP port; 6379 when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// The user to connect as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The password, by reference to a Secret key; read when the tool first connects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_ref: Option<SecretKeySelector>,
    /// Database number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db: Option<i64>,
    /// Connect with TLS; false when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<bool>,
    /// PEM file of the CA that signed the server's certificate; relative to the manifest's folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
    /// How long connecting may take; 10s when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_timeout: Option<Span>,
    /// A full connection URI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
}

/// Port used when none is given.
pub const DEFAULT_PORT: u16 = 6379;

/// How long connecting may take when `connectTimeout` is not set.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where and how to connect, validated. Holds a reference to the password, never the password.
#[derive(Clone, Debug, PartialEq)]
pub struct RedisConfig {
    /// Host name or address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// ACL user; the server's `default` user when `None`.
    pub username: Option<String>,
    /// The password, resolved when the first connection is made.
    pub password_ref: Option<SecretKeySelector>,
    /// Database number.
    pub db: i64,
    /// Connect with TLS.
    pub tls: bool,
    /// PEM file of the CA that signed the server certificate.
    pub ca_file: Option<String>,
    /// Time allowed to connect.
    pub connect_timeout: Duration,
}

impl RedisConfig {
    /// Reads and checks the settings; every problem names its field.
    pub fn from_spec(spec: &ToolSpec) -> Result<Self, Vec<FieldError>> {
        let mut errs = Vec::new();
        let Some(c) = spec.read_config::<RedisSettings>(&mut errs) else {
            if spec.config.is_none() {
                errs.push(FieldError::new("spec.config", "is required for redis tools (at least `hostname` or `uri`)"));
            }
            return Err(errs);
        };
        let c = &c;

        let mut cfg = RedisConfig {
            host: String::new(),
            port: c.port.unwrap_or(DEFAULT_PORT),
            username: c.username.clone(),
            password_ref: c.credentials_ref.clone(),
            db: c.db.unwrap_or(0),
            tls: c.tls.unwrap_or(false),
            ca_file: c.ca_file.clone(),
            connect_timeout: c.connect_timeout.map_or(DEFAULT_CONNECT_TIMEOUT, |d| d.get()),
        };

        match (&c.hostname, &c.uri) {
            (Some(_), Some(_)) => {
                errs.push(FieldError::new("spec.config.uri", "set either `hostname` or `uri`, not both"))
            }
            (None, None) => errs.push(FieldError::new("spec.config.hostname", "is required (or set `uri`)")),
            (Some(h), None) => {
                if h.trim().is_empty() || h.contains(|ch: char| ch.is_whitespace() || ch == '/') {
                    errs.push(FieldError::new("spec.config.hostname", format!("`{h}` is not a host name")));
                }
                cfg.host = h.clone();
            }
            (None, Some(u)) => parse_uri(u, c, &mut cfg, &mut errs),
        }
        if cfg.port == 0 {
            errs.push(FieldError::new("spec.config.port", "must be between 1 and 65535"));
        }
        if cfg.db < 0 {
            errs.push(FieldError::new("spec.config.db", format!("{} is not a database number", cfg.db)));
        }
        if cfg.username.as_deref().is_some_and(|u| u.is_empty() || u.contains(char::is_whitespace)) {
            errs.push(FieldError::new("spec.config.username", "must be a non-empty name without spaces"));
        }
        if cfg.connect_timeout.is_zero() {
            errs.push(FieldError::new("spec.config.connectTimeout", "must be longer than 0s"));
        }
        if cfg.ca_file.is_some() && !cfg.tls {
            errs.push(FieldError::new("spec.config.caFile", "only applies with `tls: true` (or a `rediss://` uri)"));
        }
        if errs.is_empty() { Ok(cfg) } else { Err(errs) }
    }

    /// `redis://user@host:port/db` without the password, for display and `REDIS_URL`.
    pub fn public_url(&self) -> String {
        let scheme = if self.tls { "rediss" } else { "redis" };
        let user = self.username.as_deref().map(|u| format!("{u}@")).unwrap_or_default();
        let host = if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
        format!("{scheme}://{user}{host}:{}/{}", self.port, self.db)
    }
}

fn parse_uri(text: &str, c: &RedisSettings, cfg: &mut RedisConfig, errs: &mut Vec<FieldError>) {
    const PATH: &str = "spec.config.uri";
    let uri = match url::Url::parse(text) {
        Ok(u) => u,
        Err(e) => {
            // The text may hold a password, so it is not repeated.
            errs.push(FieldError::new(PATH, format!("is not a valid URI: {e}")));
            return;
        }
    };
    match uri.scheme() {
        "redis" => cfg.tls = false,
        "rediss" => cfg.tls = true,
        other => {
            errs.push(FieldError::new(PATH, format!("scheme `{other}` is not supported; use redis:// or rediss://")));
            return;
        }
    }
    if uri.password().is_some() {
        errs.push(FieldError::new(PATH, "must not contain a password; reference it with `credentialsRef`"));
    }
    match uri.host_str() {
        Some(h) if !h.is_empty() => cfg.host = h.trim_start_matches('[').trim_end_matches(']').to_owned(),
        _ => errs.push(FieldError::new(PATH, "has no host")),
    }
    if let Some(p) = uri.port() {
        cfg.port = p;
    }
    if !uri.username().is_empty() {
        cfg.username = Some(uri.username().to_owned());
    }
    let db = uri.path().trim_matches('/');
    if !db.is_empty() {
        match db.parse::<i64>() {
            Ok(n) => cfg.db = n,
            Err(_) => errs.push(FieldError::new(PATH, format!("path `/{db}` is not a database number"))),
        }
    }
    if uri.query().is_some() || uri.fragment().is_some() {
        errs.push(FieldError::new(PATH, "takes no query or fragment; use the other config keys"));
    }
    for (set, key) in [
        (c.port.is_some(), "port"),
        (c.username.is_some(), "username"),
        (c.db.is_some(), "db"),
        (c.tls.is_some(), "tls"),
    ] {
        if set {
            errs.push(FieldError::new(format!("spec.config.{key}"), "is given by `uri` already; set it in one place"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(config: serde_json::Value) -> ToolSpec {
        ToolSpec { type_: "redis".into(), config: Some(config), ..ToolSpec::default() }
    }

    #[test]
    fn reads_hostname_form() {
        let cfg = RedisConfig::from_spec(&spec(serde_json::json!({"hostname": "cache", "username": "app", "db": 2})))
            .unwrap();
        assert_eq!(cfg.port, 6379);
        assert_eq!(cfg.public_url(), "redis://app@cache:6379/2");
    }

    #[test]
    fn reads_uri_form_and_refuses_passwords() {
        let cfg = RedisConfig::from_spec(&spec(serde_json::json!({"uri": "rediss://app@cache:6380/3"}))).unwrap();
        assert_eq!((cfg.host.as_str(), cfg.port, cfg.db, cfg.tls), ("cache", 6380, 3, true));
        let errs = RedisConfig::from_spec(&spec(serde_json::json!({"uri": "redis://app:hunter22@cache"}))).unwrap_err();
        assert!(errs[0].message.contains("password"));
        assert!(!errs.iter().any(|e| e.message.contains("hunter22")));
    }

    #[test]
    fn refuses_unused_keys_by_path() {
        let errs = RedisConfig::from_spec(&spec(
            serde_json::json!({"hostname": "h", "databaseName": "x", "sslMode": "require"}),
        ))
        .unwrap_err();
        let paths: Vec<_> = errs.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["spec.config.databaseName", "spec.config.sslMode"]);
    }

    #[test]
    fn requires_a_host() {
        let errs = RedisConfig::from_spec(&spec(serde_json::json!({"port": 0}))).unwrap_err();
        let paths: Vec<_> = errs.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["spec.config.hostname", "spec.config.port"]);
    }
}
