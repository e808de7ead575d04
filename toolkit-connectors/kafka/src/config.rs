//! The typed settings of a kafka tool, read from `spec.config` without I/O or secrets.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::time::Duration;

use toolkit_core::duration::Duration as Span;
use toolkit_core::model::{SecretKeySelector, ToolSpec};
use toolkit_core::validate::FieldError;

/// `spec.config` of a kafka tool, as written in a manifest; every key is optional here and
/// the checks say which ones a tool needs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KafkaSettings {
    /// Bootstrap brokers as `host:port`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub brokers: Vec<String>,
    /// Host name or address of the server, without scheme or path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// TCP port; 9092 when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// The user to connect as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The password, by reference to a Secret key; read when the tool first connects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_ref: Option<SecretKeySelector>,
    /// SASL mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sasl_mechanism: Option<String>,
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

/// Port used with `hostname` when none is given.
pub const DEFAULT_PORT: u16 = 9092;

/// How long connecting may take when `connectTimeout` is not set.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A SASL mechanism.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SaslMechanism {
    /// `PLAIN`: the password in the clear (use it with TLS).
    Plain,
    /// `SCRAM-SHA-256`.
    ScramSha256,
    /// `SCRAM-SHA-512`.
    ScramSha512,
}

impl SaslMechanism {
    /// The name Kafka uses.
    pub fn as_str(self) -> &'static str {
        match self {
            SaslMechanism::Plain => "PLAIN",
            SaslMechanism::ScramSha256 => "SCRAM-SHA-256",
            SaslMechanism::ScramSha512 => "SCRAM-SHA-512",
        }
    }
}

/// SASL settings: the user and a reference to the password.
#[derive(Clone, Debug, PartialEq)]
pub struct Sasl {
    /// The mechanism.
    pub mechanism: SaslMechanism,
    /// The user.
    pub username: String,
    /// The password, resolved when the client is made.
    pub password_ref: SecretKeySelector,
}

/// Where and how to connect, validated. Holds a reference to the password, never the password.
#[derive(Clone, Debug, PartialEq)]
pub struct KafkaConfig {
    /// Bootstrap brokers as `host:port`.
    pub brokers: Vec<String>,
    /// SASL, when a user is set.
    pub sasl: Option<Sasl>,
    /// Connect with TLS.
    pub tls: bool,
    /// PEM file of the CA that signed the broker certificates.
    pub ca_file: Option<String>,
    /// Accept any broker certificate (test servers only).
    pub insecure_skip_tls_verify: bool,
    /// Time allowed to connect and read the cluster metadata.
    pub connect_timeout: Duration,
}

impl KafkaConfig {
    /// Reads and checks the settings; every problem names its field.
    pub fn from_spec(spec: &ToolSpec) -> Result<Self, Vec<FieldError>> {
        let mut errs = Vec::new();
        let Some(c) = spec.read_config::<KafkaSettings>(&mut errs) else {
            if spec.config.is_none() {
                errs.extend(vec![FieldError::new("spec.config", "is required for kafka tools (at least `brokers`)")]);
            }
            return Err(errs);
        };
        let c = &c;
        let brokers = match (&c.hostname, c.brokers.is_empty()) {
            (Some(_), false) => {
                errs.push(FieldError::new("spec.config.hostname", "set either `brokers` or `hostname`, not both"));
                Vec::new()
            }
            (None, true) => {
                errs.push(FieldError::new(
                    "spec.config.brokers",
                    "is required (a list of host:port, or set `hostname`)",
                ));
                Vec::new()
            }
            (Some(h), true) => {
                if !is_host(h) {
                    errs.push(FieldError::new("spec.config.hostname", format!("`{h}` is not a host name")));
                }
                let port = c.port.unwrap_or(DEFAULT_PORT);
                if port == 0 {
                    errs.push(FieldError::new("spec.config.port", "must be between 1 and 65535"));
                }
                let host = if h.contains(':') { format!("[{h}]") } else { h.clone() };
                vec![format!("{host}:{port}")]
            }
            (None, false) => {
                if c.port.is_some() {
                    errs.push(FieldError::new("spec.config.port", "goes with `hostname`; put ports in `brokers`"));
                }
                for (i, b) in c.brokers.iter().enumerate() {
                    if let Err(why) = check_broker(b) {
                        errs.push(FieldError::new(format!("spec.config.brokers[{i}]"), why));
                    }
                }
                c.brokers.clone()
            }
        };
        let mechanism = match c.sasl_mechanism.as_deref().map(str::to_ascii_uppercase).as_deref() {
            None | Some("PLAIN") => SaslMechanism::Plain,
            Some("SCRAM-SHA-256") => SaslMechanism::ScramSha256,
            Some("SCRAM-SHA-512") => SaslMechanism::ScramSha512,
            Some(other) => {
                errs.push(FieldError::new(
                    "spec.config.saslMechanism",
                    format!("`{other}` is not supported; use PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"),
                ));
                SaslMechanism::Plain
            }
        };
        let sasl = match (&c.username, &c.credentials_ref) {
            (Some(u), Some(p)) => {
                if u.is_empty() || u.contains(char::is_control) {
                    errs.push(FieldError::new("spec.config.username", "must be a non-empty name"));
                }
                Some(Sasl { mechanism, username: u.clone(), password_ref: p.clone() })
            }
            (Some(_), None) => {
                errs.push(FieldError::new("spec.config.credentialsRef", "is required with `username` (SASL)"));
                None
            }
            (None, Some(_)) => {
                errs.push(FieldError::new("spec.config.username", "is required with `credentialsRef` (SASL)"));
                None
            }
            (None, None) => {
                if c.sasl_mechanism.is_some() {
                    errs.push(FieldError::new("spec.config.saslMechanism", "needs `username` and `credentialsRef`"));
                }
                None
            }
        };
        let cfg = KafkaConfig {
            brokers,
            sasl,
            tls: c.tls.unwrap_or(false),
            ca_file: c.ca_file.clone(),
            insecure_skip_tls_verify: c.insecure_skip_tls_verify.unwrap_or(false),
            connect_timeout: c.connect_timeout.map_or(DEFAULT_CONNECT_TIMEOUT, |d| d.get()),
        };
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

    /// `PLAINTEXT`, `SSL`, `SASL_PLAINTEXT` or `SASL_SSL`, as Kafka clients name it.
    pub fn security_protocol(&self) -> &'static str {
        match (self.sasl.is_some(), self.tls) {
            (false, false) => "PLAINTEXT",
            (false, true) => "SSL",
            (true, false) => "SASL_PLAINTEXT",
            (true, true) => "SASL_SSL",
        }
    }

    /// The brokers joined with commas, as `bootstrap.servers` takes them.
    pub fn bootstrap(&self) -> String {
        self.brokers.join(",")
    }
}

fn is_host(h: &str) -> bool {
    !h.trim().is_empty() && !h.contains(|ch: char| ch.is_whitespace() || ch == '/' || ch == '@' || ch == ',')
}

/// Checks `host:port` (`[v6]:port` for IPv6 addresses).
fn check_broker(b: &str) -> Result<(), String> {
    let Some((host, port)) = b.rsplit_once(':') else {
        return Err(format!("`{b}` is not host:port"));
    };
    let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    if !is_host(host) || host.contains(':') && !b.starts_with('[') {
        return Err(format!("`{b}` is not host:port"));
    }
    match port.parse::<u16>() {
        Ok(p) if p > 0 => Ok(()),
        _ => Err(format!("`{b}` has no valid port")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(config: serde_json::Value) -> ToolSpec {
        ToolSpec { type_: "kafka".into(), config: Some(config), ..ToolSpec::default() }
    }

    #[test]
    fn reads_brokers_or_hostname() {
        let cfg = KafkaConfig::from_spec(&spec(serde_json::json!({"brokers": ["a:9092", "[::1]:9093"]}))).unwrap();
        assert_eq!(cfg.bootstrap(), "a:9092,[::1]:9093");
        assert_eq!(cfg.security_protocol(), "PLAINTEXT");
        let cfg = KafkaConfig::from_spec(&spec(serde_json::json!({
            "hostname": "k", "tls": true, "username": "app", "saslMechanism": "scram-sha-512",
            "credentialsRef": {"name": "k", "key": "password"}
        })))
        .unwrap();
        assert_eq!(cfg.brokers, ["k:9092"]);
        assert_eq!(cfg.sasl.as_ref().unwrap().mechanism, SaslMechanism::ScramSha512);
        assert_eq!(cfg.security_protocol(), "SASL_SSL");
    }

    #[test]
    fn names_each_bad_field() {
        let errs = KafkaConfig::from_spec(&spec(serde_json::json!({
            "brokers": ["a", "b:0", "c:9092"], "port": 1, "username": "u", "saslMechanism": "GSSAPI",
            "caFile": "/ca", "db": 1
        })))
        .unwrap_err();
        let paths: Vec<_> = errs.into_iter().map(|e| e.path).collect();
        assert_eq!(
            paths,
            [
                "spec.config.db",
                "spec.config.port",
                "spec.config.brokers[0]",
                "spec.config.brokers[1]",
                "spec.config.saslMechanism",
                "spec.config.credentialsRef",
                "spec.config.caFile"
            ]
        );
    }
}
