//! The typed settings of a rabbitmq tool, read from `spec.config` without I/O or secrets.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::time::Duration;

use toolkit_core::duration::Duration as Span;
use toolkit_core::model::{SecretKeySelector, ToolSpec};
use toolkit_core::validate::FieldError;

/// `spec.config` of a rabbitmq tool, as written in a manifest; every key is optional here and
/// the checks say which ones a tool needs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RabbitSettings {
    /// Host name or address of the server, without scheme or path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// TCP port; 5672 (5671 with `tls`) when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// The user to connect as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The password, by reference to a Secret key; read when the tool first connects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_ref: Option<SecretKeySelector>,
    /// Virtual host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vhost: Option<String>,
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
}

/// AMQP port used when none is given.
pub const DEFAULT_PORT: u16 = 5672;

/// AMQPS port used when none is given and `tls` is on.
pub const DEFAULT_TLS_PORT: u16 = 5671;

/// How long connecting may take when `connectTimeout` is not set.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// RabbitMQ's built-in user, which only connects from loopback; its password is `guest`.
pub const GUEST: &str = "guest";

/// Where and how to connect, validated. Holds a reference to the password, never the password.
#[derive(Clone, Debug, PartialEq)]
pub struct RabbitConfig {
    /// Host name or address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// User name; `guest` when not set.
    pub username: String,
    /// The password, resolved when a connection is made. `None` only for `guest`.
    pub password_ref: Option<SecretKeySelector>,
    /// Virtual host; `/` when not set.
    pub vhost: String,
    /// Connect with TLS (amqps).
    pub tls: bool,
    /// PEM file of the CA that signed the server certificate.
    pub ca_file: Option<String>,
    /// Accept any server certificate (test servers only).
    pub insecure_skip_tls_verify: bool,
    /// Time allowed to connect, TLS and the AMQP handshake included.
    pub connect_timeout: Duration,
}

impl RabbitConfig {
    /// Reads and checks the settings; every problem names its field.
    pub fn from_spec(spec: &ToolSpec) -> Result<Self, Vec<FieldError>> {
        let mut errs = Vec::new();
        let Some(c) = spec.read_config::<RabbitSettings>(&mut errs) else {
            if spec.config.is_none() {
                errs.extend(vec![FieldError::new(
                    "spec.config",
                    "is required for rabbitmq tools (at least `hostname`)",
                )]);
            }
            return Err(errs);
        };
        let c = &c;
        let tls = c.tls.unwrap_or(false);
        let cfg = RabbitConfig {
            host: c.hostname.clone().unwrap_or_default(),
            port: c.port.unwrap_or(if tls { DEFAULT_TLS_PORT } else { DEFAULT_PORT }),
            username: c.username.clone().unwrap_or_else(|| GUEST.to_owned()),
            password_ref: c.credentials_ref.clone(),
            vhost: c.vhost.clone().unwrap_or_else(|| "/".to_owned()),
            tls,
            ca_file: c.ca_file.clone(),
            insecure_skip_tls_verify: c.insecure_skip_tls_verify.unwrap_or(false),
            connect_timeout: c.connect_timeout.map_or(DEFAULT_CONNECT_TIMEOUT, |d| d.get()),
        };
        match &c.hostname {
            None => errs.push(FieldError::new("spec.config.hostname", "is required")),
            Some(h) if h.trim().is_empty() || h.contains(|ch: char| ch.is_whitespace() || ch == '/' || ch == '@') => {
                errs.push(FieldError::new("spec.config.hostname", format!("`{h}` is not a host name")));
            }
            Some(_) => {}
        }
        if cfg.port == 0 {
            errs.push(FieldError::new("spec.config.port", "must be between 1 and 65535"));
        }
        if cfg.username.is_empty() || cfg.username.contains(char::is_control) {
            errs.push(FieldError::new("spec.config.username", "must be a non-empty name"));
        }
        if cfg.password_ref.is_none() && cfg.username != GUEST {
            errs.push(FieldError::new(
                "spec.config.credentialsRef",
                format!("is required for user `{}` (only `guest` has a default password)", cfg.username),
            ));
        }
        if cfg.vhost.is_empty() || cfg.vhost.contains(char::is_control) {
            errs.push(FieldError::new("spec.config.vhost", "must be a non-empty virtual host name, such as `/`"));
        }
        if cfg.connect_timeout.is_zero() {
            errs.push(FieldError::new("spec.config.connectTimeout", "must be longer than 0s"));
        }
        if !cfg.tls {
            for (set, key) in
                [(cfg.ca_file.is_some(), "caFile"), (c.insecure_skip_tls_verify.is_some(), "insecureSkipTlsVerify")]
            {
                if set {
                    errs.push(FieldError::new(format!("spec.config.{key}"), "only applies with `tls: true`"));
                }
            }
        }
        if cfg.ca_file.is_some() && cfg.insecure_skip_tls_verify {
            errs.push(FieldError::new(
                "spec.config.insecureSkipTlsVerify",
                "skips verification, so `caFile` would not be used; set one of them",
            ));
        }
        if errs.is_empty() { Ok(cfg) } else { Err(errs) }
    }

    /// `amqp://user@host:port/vhost` without the password, for messages and display.
    pub fn public_url(&self) -> String {
        self.url_with_userinfo(&encode(&self.username))
    }

    /// The URL a native client takes, with `userinfo` (already encoded) in it.
    pub(crate) fn url_with_userinfo(&self, userinfo: &str) -> String {
        let scheme = if self.tls { "amqps" } else { "amqp" };
        let host = if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
        format!("{scheme}://{userinfo}@{host}:{}/{}", self.port, encode(&self.vhost))
    }
}

/// Everything but RFC 3986's unreserved characters.
const COMPONENT: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Percent-encodes a URL component (user, password, vhost): `/` becomes `%2F`.
pub(crate) fn encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, COMPONENT).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(config: serde_json::Value) -> ToolSpec {
        ToolSpec { type_: "rabbitmq".into(), config: Some(config), ..ToolSpec::default() }
    }

    fn paths(errs: Vec<FieldError>) -> Vec<String> {
        errs.into_iter().map(|e| e.path).collect()
    }

    #[test]
    fn reads_defaults_and_builds_the_public_url() {
        let cfg = RabbitConfig::from_spec(&spec(serde_json::json!({"hostname": "mq"}))).unwrap();
        assert_eq!((cfg.port, cfg.username.as_str(), cfg.vhost.as_str()), (5672, "guest", "/"));
        assert_eq!(cfg.public_url(), "amqp://guest@mq:5672/%2F");
        let cfg = RabbitConfig::from_spec(&spec(serde_json::json!({
            "hostname": "mq", "tls": true, "username": "app", "vhost": "orders",
            "credentialsRef": {"name": "mq", "key": "password"}
        })))
        .unwrap();
        assert_eq!(cfg.public_url(), "amqps://app@mq:5671/orders");
    }

    #[test]
    fn names_each_bad_field() {
        let errs = RabbitConfig::from_spec(&spec(serde_json::json!({
            "hostname": "a b", "port": 0, "username": "app", "vhost": "", "caFile": "/ca.pem",
            "connectTimeout": "0s", "db": 1
        })))
        .unwrap_err();
        assert_eq!(
            paths(errs),
            [
                "spec.config.db",
                "spec.config.hostname",
                "spec.config.port",
                "spec.config.credentialsRef",
                "spec.config.vhost",
                "spec.config.connectTimeout",
                "spec.config.caFile"
            ]
        );
    }
}
