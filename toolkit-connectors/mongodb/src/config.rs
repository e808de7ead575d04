//! The typed settings of a mongodb tool, read from `spec.config` without I/O or secrets.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::time::Duration;

use mongodb::options::{ConnectionString, Tls};
use toolkit_core::duration::Duration as Span;
use toolkit_core::model::{SecretKeySelector, ToolSpec};
use toolkit_core::validate::FieldError;

/// `spec.config` of a mongodb tool, as written in a manifest; every key is optional here and
/// the checks say which ones a tool needs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MongoSettings {
    /// A full connection URI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// Host name or address of the server, without scheme or path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// TCP port; 27017 when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// The user to connect as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The database to use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_name: Option<String>,
    /// The password, by reference to a Secret key; read when the tool first connects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_ref: Option<SecretKeySelector>,
    /// Connect with TLS; false when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<bool>,
    /// PEM file of the CA that signed the server's certificate; relative to the manifest's folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
    /// Accept any server certificate (test servers only); false when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure_skip_tls_verify: Option<bool>,
    /// How long connecting may take; 10s when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_timeout: Option<Span>,
    /// Connections in the tool's pool at most.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<u32>,
}

/// Port used when none is given.
pub const DEFAULT_PORT: u16 = 27017;

/// How long connecting (and selecting a server) may take when `connectTimeout` is not set.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the servers are: one host, or a connection string without a password.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    /// `hostname` and `port`.
    Host {
        /// Host name or address.
        host: String,
        /// TCP port.
        port: u16,
    },
    /// `mongodb://` or `mongodb+srv://`, checked to hold no password.
    Uri(String),
}

/// Where and how to connect, validated. Holds a reference to the password, never the password.
#[derive(Clone, Debug, PartialEq)]
pub struct MongoConfig {
    /// The servers.
    pub target: Target,
    /// User name; no authentication when `None`.
    pub username: Option<String>,
    /// Database holding the user (`authSource`); `admin` unless the URI names another.
    pub auth_source: String,
    /// Database the calls use when they name none.
    pub database: Option<String>,
    /// The password, resolved when the client is made.
    pub password_ref: Option<SecretKeySelector>,
    /// Connect with TLS.
    pub tls: bool,
    /// PEM file of the CA that signed the server certificate.
    pub ca_file: Option<String>,
    /// Accept any certificate (test servers only).
    pub insecure_skip_tls_verify: bool,
    /// Time allowed to connect and to select a server.
    pub connect_timeout: Duration,
    /// Pool size.
    pub max_connections: Option<u32>,
}

impl MongoConfig {
    /// Reads and checks the settings; every problem names its field.
    pub fn from_spec(spec: &ToolSpec) -> Result<Self, Vec<FieldError>> {
        let mut errs = Vec::new();
        let Some(c) = spec.read_config::<MongoSettings>(&mut errs) else {
            if spec.config.is_none() {
                errs.extend(vec![FieldError::new(
                    "spec.config",
                    "is required for mongodb tools (at least `hostname` or `uri`)",
                )]);
            }
            return Err(errs);
        };
        let c = &c;
        let mut cfg = MongoConfig {
            target: Target::Host { host: String::new(), port: c.port.unwrap_or(DEFAULT_PORT) },
            username: c.username.clone(),
            auth_source: "admin".into(),
            database: c.database_name.clone(),
            password_ref: c.credentials_ref.clone(),
            tls: c.tls.unwrap_or(false),
            ca_file: c.ca_file.clone(),
            insecure_skip_tls_verify: c.insecure_skip_tls_verify.unwrap_or(false),
            connect_timeout: c.connect_timeout.map_or(DEFAULT_CONNECT_TIMEOUT, |d| d.get()),
            max_connections: c.max_connections,
        };
        match (&c.hostname, &c.uri) {
            (Some(_), Some(_)) => {
                errs.push(FieldError::new("spec.config.uri", "set either `hostname` or `uri`, not both"))
            }
            (None, None) => errs.push(FieldError::new("spec.config.hostname", "is required (or set `uri`)")),
            (Some(h), None) => {
                if h.trim().is_empty() || h.contains(|ch: char| ch.is_whitespace() || matches!(ch, '/' | '@' | ',')) {
                    errs.push(FieldError::new("spec.config.hostname", format!("`{h}` is not a host name")));
                }
                cfg.target = Target::Host { host: h.clone(), port: c.port.unwrap_or(DEFAULT_PORT) };
            }
            (None, Some(u)) => parse_uri(u, c, &mut cfg, &mut errs),
        }
        if c.port == Some(0) {
            errs.push(FieldError::new("spec.config.port", "must be between 1 and 65535"));
        }
        if cfg.username.as_deref().is_some_and(|u| u.is_empty() || u.contains(char::is_whitespace)) {
            errs.push(FieldError::new("spec.config.username", "must be a non-empty name without spaces"));
        }
        if let Some(db) = &cfg.database
            && !is_database_name(db)
        {
            errs.push(FieldError::new("spec.config.databaseName", format!("`{db}` is not a database name")));
        }
        if cfg.password_ref.is_some() && cfg.username.is_none() {
            errs.push(FieldError::new(
                "spec.config.credentialsRef",
                "needs a user: set `username` (or put the user in `uri`)",
            ));
        }
        if cfg.connect_timeout.is_zero() {
            errs.push(FieldError::new("spec.config.connectTimeout", "must be longer than 0s"));
        }
        if c.max_connections == Some(0) {
            errs.push(FieldError::new("spec.config.maxConnections", "must be at least 1"));
        }
        if !cfg.tls {
            for (set, key) in
                [(cfg.ca_file.is_some(), "caFile"), (cfg.insecure_skip_tls_verify, "insecureSkipTlsVerify")]
            {
                if set {
                    errs.push(FieldError::new(
                        format!("spec.config.{key}"),
                        "only applies with TLS: set `tls: true` (or `tls=true` in the uri)",
                    ));
                }
            }
        }
        if errs.is_empty() { Ok(cfg) } else { Err(errs) }
    }

    /// The servers as `host:port` (or the URI, which holds no password), for messages.
    pub fn display_target(&self) -> String {
        match &self.target {
            Target::Host { host, port } if host.contains(':') => format!("[{host}]:{port}"),
            Target::Host { host, port } => format!("{host}:{port}"),
            Target::Uri(u) => u.clone(),
        }
    }
}

/// Whether a password follows the user in a connection string's user info.
fn uri_has_password(text: &str) -> bool {
    let Some((_, rest)) = text.split_once("://") else { return false };
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    authority.rsplit_once('@').is_some_and(|(userinfo, _)| userinfo.contains(':'))
}

fn parse_uri(text: &str, c: &MongoSettings, cfg: &mut MongoConfig, errs: &mut Vec<FieldError>) {
    const PATH: &str = "spec.config.uri";
    if !(text.starts_with("mongodb://") || text.starts_with("mongodb+srv://")) {
        errs.push(FieldError::new(PATH, "must start with mongodb:// or mongodb+srv://"));
        return;
    }
    if uri_has_password(text) {
        // Stop here: the driver's own messages about the string could repeat the password.
        errs.push(FieldError::new(PATH, "must not contain a password; reference it with `credentialsRef`"));
        return;
    }
    let parsed = match ConnectionString::parse(text) {
        Ok(p) => p,
        Err(e) => {
            let why = match e.kind.as_ref() {
                mongodb::error::ErrorKind::InvalidArgument { message, .. } => message.clone(),
                _ => "it does not parse".to_owned(),
            };
            errs.push(FieldError::new(PATH, format!("is not a valid connection string: {why}")));
            return;
        }
    };
    cfg.target = Target::Uri(text.to_owned());
    if let Some(cred) = &parsed.credential {
        if let Some(user) = &cred.username {
            if c.username.is_some() {
                errs.push(FieldError::new("spec.config.username", "is given by `uri` already; set it in one place"));
            }
            cfg.username = Some(user.clone());
        }
        if let Some(source) = &cred.source {
            cfg.auth_source = source.clone();
        } else if let Some(db) = &parsed.default_database {
            cfg.auth_source = db.clone();
        }
    }
    if let Some(db) = &parsed.default_database {
        if c.database_name.is_some() {
            errs.push(FieldError::new("spec.config.databaseName", "is given by `uri` already; set it in one place"));
        }
        cfg.database = Some(db.clone());
    }
    match (&parsed.tls, c.tls) {
        (Some(Tls::Enabled(_)), Some(false)) | (Some(Tls::Disabled), Some(true)) => {
            errs.push(FieldError::new("spec.config.tls", "contradicts the `tls` option of `uri`"))
        }
        (Some(Tls::Enabled(_)), _) => cfg.tls = true,
        // SRV connection strings use TLS unless they say otherwise.
        (None, None) if text.starts_with("mongodb+srv://") => cfg.tls = true,
        _ => {}
    }
    if c.port.is_some() {
        errs.push(FieldError::new("spec.config.port", "is given by `uri` already; set it in one place"));
    }
}

/// A MongoDB database name: non-empty, at most 63 bytes, none of `/\. "$` or NUL.
pub(crate) fn is_database_name(name: &str) -> bool {
    !name.is_empty() && name.len() < 64 && !name.contains(['/', '\\', '.', ' ', '"', '$', '\0'])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(config: serde_json::Value) -> ToolSpec {
        ToolSpec { type_: "mongodb".into(), config: Some(config), ..ToolSpec::default() }
    }

    #[test]
    fn reads_hostname_form() {
        let cfg = MongoConfig::from_spec(&spec(serde_json::json!({
            "hostname": "db", "username": "app", "databaseName": "shop",
            "credentialsRef": {"name": "m", "key": "password"}, "maxConnections": 4
        })))
        .unwrap();
        assert_eq!(cfg.target, Target::Host { host: "db".into(), port: 27017 });
        assert_eq!((cfg.auth_source.as_str(), cfg.database.as_deref()), ("admin", Some("shop")));
        assert_eq!(cfg.display_target(), "db:27017");
    }

    #[test]
    fn reads_uri_form_and_refuses_passwords() {
        let cfg = MongoConfig::from_spec(&spec(serde_json::json!({
            "uri": "mongodb://app@a:27018,b:27019/shop?authSource=users&tls=true&replicaSet=rs0"
        })))
        .unwrap();
        assert_eq!(cfg.username.as_deref(), Some("app"));
        assert_eq!((cfg.auth_source.as_str(), cfg.database.as_deref(), cfg.tls), ("users", Some("shop"), true));
        let srv = MongoConfig::from_spec(&spec(serde_json::json!({"uri": "mongodb+srv://cluster.example.com/"})));
        assert!(srv.unwrap().tls);

        let errs =
            MongoConfig::from_spec(&spec(serde_json::json!({"uri": "mongodb://app:hunter22@db/x"}))).unwrap_err();
        assert_eq!(errs[0].path, "spec.config.uri");
        assert!(errs[0].message.contains("password"));
        assert!(!errs.iter().any(|e| e.message.contains("hunter22")));
    }

    #[test]
    fn refuses_unused_and_conflicting_keys_by_path() {
        let errs = MongoConfig::from_spec(&spec(serde_json::json!({
            "hostname": "h", "db": 1, "sslMode": "require", "caFile": "/ca.pem"
        })))
        .unwrap_err();
        let paths: Vec<_> = errs.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["spec.config.db", "spec.config.sslMode", "spec.config.caFile"]);
        let errs = MongoConfig::from_spec(&spec(serde_json::json!({
            "uri": "mongodb://u@h/d", "port": 1, "username": "v", "credentialsRef": {"name": "m", "key": "p"}
        })))
        .unwrap_err();
        let paths: Vec<_> = errs.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["spec.config.username", "spec.config.port"]);
        let errs = MongoConfig::from_spec(&spec(serde_json::json!({
            "hostname": "h", "credentialsRef": {"name": "m", "key": "p"}
        })))
        .unwrap_err();
        assert_eq!(errs[0].path, "spec.config.credentialsRef");
    }
}
