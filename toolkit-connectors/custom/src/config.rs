//! The typed settings of a custom tool, read from `spec.config` without I/O or secrets.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

use toolkit_core::duration::Duration as Span;
use toolkit_core::model::{SecretKeySelector, ToolSpec};
use toolkit_core::validate::FieldError;

/// `spec.config` of a custom tool, as written in a manifest; every key is optional here and
/// the checks say which ones a tool needs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CustomSettings {
    /// Host name or address of the server, without scheme or path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// TCP port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// The user to connect as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The password, by reference to a Secret key; read when the tool first connects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_ref: Option<SecretKeySelector>,
    /// Extra environment for native clients.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Container image of a bastion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Service account of a bastion pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// The connectivity check of a custom tool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<CustomCheck>,
    /// How long connecting may take; 10s when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_timeout: Option<Span>,
}

/// How a custom tool is checked: exactly one of an HTTP GET, a TCP connect or a command.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CustomCheck {
    /// A URL fetched with GET; any 2xx or 3xx status passes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<String>,
    /// A `host:port` that must accept a TCP connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<String>,
    /// A command run as argv (no shell) with the tool's env; exit status 0 passes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
}

/// How long a check may take when `connectTimeout` is not set.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The connectivity check of a custom tool.
#[derive(Clone, Debug, PartialEq)]
pub enum Check {
    /// GET this URL; 2xx and 3xx pass (redirects are not followed).
    Http(url::Url),
    /// Connect to this host and port.
    Tcp {
        /// Host name or address.
        host: String,
        /// TCP port.
        port: u16,
    },
    /// Run this argv (no shell) with the tool's env; exit status 0 passes.
    Command(Vec<String>),
}

/// The settings, validated. Holds a reference to the credential, never its value.
#[derive(Clone, Debug, PartialEq)]
pub struct CustomConfig {
    /// Host name, handed to clients as `TOOLKIT_HOST`.
    pub host: Option<String>,
    /// Port, handed to clients as `TOOLKIT_PORT`.
    pub port: Option<u16>,
    /// User, handed to clients as `TOOLKIT_USER`.
    pub username: Option<String>,
    /// The credential, handed to clients as the secret `TOOLKIT_PASSWORD`.
    pub credentials_ref: Option<SecretKeySelector>,
    /// Extra environment of clients and of a command check.
    pub env: BTreeMap<String, String>,
    /// Container image of a bastion pod (used by the bastion, not here).
    pub image: Option<String>,
    /// Service account of a bastion pod (used by the bastion, not here).
    pub service_account_name: Option<String>,
    /// The connectivity check, if any.
    pub check: Option<Check>,
    /// Time a check may take.
    pub connect_timeout: Duration,
}

impl CustomConfig {
    /// Reads and checks the settings; every problem names its field.
    pub fn from_spec(spec: &ToolSpec) -> Result<Self, Vec<FieldError>> {
        let mut errs = Vec::new();
        let Some(c) = spec.read_config::<CustomSettings>(&mut errs) else {
            if spec.config.is_none() {
                // Everything is optional: a custom tool may only describe a system.
                return Ok(Self::empty());
            }
            return Err(errs);
        };
        let c = &c;
        if let Some(h) = &c.hostname
            && (h.trim().is_empty() || h.contains(char::is_whitespace))
        {
            errs.push(FieldError::new("spec.config.hostname", format!("`{h}` is not a host name")));
        }
        if c.port == Some(0) {
            errs.push(FieldError::new("spec.config.port", "must be between 1 and 65535"));
        }
        if c.username.as_deref().is_some_and(str::is_empty) {
            errs.push(FieldError::new("spec.config.username", "must not be empty"));
        }
        for name in c.env.keys() {
            if !valid_env_name(name) {
                errs.push(FieldError::new(
                    format!("spec.config.env.{name}"),
                    "is not an environment variable name (letters, digits and `_`, not starting with a digit)",
                ));
            } else if RESERVED.contains(&name.as_str()) {
                errs.push(FieldError::new(
                    format!("spec.config.env.{name}"),
                    "is set by toolkit from hostname, port, username and credentialsRef",
                ));
            }
        }
        for (key, value) in [("image", &c.image), ("serviceAccountName", &c.service_account_name)] {
            if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
                errs.push(FieldError::new(format!("spec.config.{key}"), "must not be empty"));
            }
        }
        let check = c.check.as_ref().and_then(|check| parse_check(check, &mut errs));
        let connect_timeout = c.connect_timeout.map_or(DEFAULT_CONNECT_TIMEOUT, |d| d.get());
        if connect_timeout.is_zero() {
            errs.push(FieldError::new("spec.config.connectTimeout", "must be longer than 0s"));
        }
        if !errs.is_empty() {
            return Err(errs);
        }
        Ok(CustomConfig {
            host: c.hostname.clone(),
            port: c.port,
            username: c.username.clone(),
            credentials_ref: c.credentials_ref.clone(),
            env: c.env.clone(),
            image: c.image.clone(),
            service_account_name: c.service_account_name.clone(),
            check,
            connect_timeout,
        })
    }

    fn empty() -> Self {
        CustomConfig {
            host: None,
            port: None,
            username: None,
            credentials_ref: None,
            env: BTreeMap::new(),
            image: None,
            service_account_name: None,
            check: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
        }
    }
}

/// The variables toolkit sets itself.
pub(crate) const RESERVED: &[&str] = &["TOOLKIT_HOST", "TOOLKIT_PORT", "TOOLKIT_USER", "TOOLKIT_PASSWORD"];

fn valid_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn parse_check(check: &CustomCheck, errs: &mut Vec<FieldError>) -> Option<Check> {
    const PATH: &str = "spec.config.check";
    let set = [check.http.is_some(), check.tcp.is_some(), !check.command.is_empty()];
    if set.iter().filter(|s| **s).count() != 1 {
        errs.push(FieldError::new(PATH, "set exactly one of `http`, `tcp` and `command`"));
        return None;
    }
    if let Some(text) = &check.http {
        return match url::Url::parse(text) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {
                if u.password().is_some() {
                    errs.push(FieldError::new(
                        "spec.config.check.http",
                        "must not contain a password; reference it with `credentialsRef`",
                    ));
                    return None;
                }
                Some(Check::Http(u))
            }
            Ok(_) => {
                errs.push(FieldError::new("spec.config.check.http", "must be an http:// or https:// URL with a host"));
                None
            }
            Err(e) => {
                // The text may hold a password, so it is not repeated.
                errs.push(FieldError::new("spec.config.check.http", format!("is not a valid URL: {e}")));
                None
            }
        };
    }
    if let Some(text) = &check.tcp {
        return match split_host_port(text) {
            Some((host, port)) => Some(Check::Tcp { host, port }),
            None => {
                errs.push(FieldError::new(
                    "spec.config.check.tcp",
                    format!("`{text}` is not `host:port` (an IPv6 address goes in brackets: `[::1]:5432`)"),
                ));
                None
            }
        };
    }
    if check.command[0].trim().is_empty() {
        errs.push(FieldError::new("spec.config.check.command", "the program (first element) must not be empty"));
        return None;
    }
    Some(Check::Command(check.command.clone()))
}

/// `host:port` or `[v6]:port`, with a port of 1-65535.
fn split_host_port(text: &str) -> Option<(String, u16)> {
    let (host, port) = text.rsplit_once(':')?;
    let host = match host.strip_prefix('[') {
        Some(inner) => inner.strip_suffix(']')?,
        None if host.contains(':') => return None,
        None => host,
    };
    let port: u16 = port.parse().ok().filter(|p| *p != 0)?;
    if host.is_empty() || host.contains(|c: char| c.is_whitespace() || c == '/') {
        return None;
    }
    Some((host.to_owned(), port))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(config: serde_json::Value) -> ToolSpec {
        ToolSpec { type_: "custom".into(), config: Some(config), ..ToolSpec::default() }
    }

    fn paths(config: serde_json::Value) -> Vec<String> {
        CustomConfig::from_spec(&spec(config)).unwrap_err().into_iter().map(|e| e.path).collect()
    }

    #[test]
    fn reads_each_check_kind() {
        let check = |c: serde_json::Value| CustomConfig::from_spec(&spec(json!({"check": c}))).unwrap().check.unwrap();
        assert!(matches!(check(json!({"http": "https://svc.local/healthz"})), Check::Http(_)));
        assert_eq!(check(json!({"tcp": "db:5432"})), Check::Tcp { host: "db".into(), port: 5432 });
        assert_eq!(check(json!({"tcp": "[::1]:80"})), Check::Tcp { host: "::1".into(), port: 80 });
        assert_eq!(check(json!({"command": ["true"]})), Check::Command(vec!["true".into()]));
        assert!(CustomConfig::from_spec(&ToolSpec { type_: "custom".into(), ..ToolSpec::default() }).is_ok());
    }

    #[test]
    fn refuses_bad_checks() {
        assert_eq!(paths(json!({"check": {}})), ["spec.config.check"]);
        assert_eq!(paths(json!({"check": {"tcp": "a:1", "command": ["x"]}})), ["spec.config.check"]);
        assert_eq!(paths(json!({"check": {"http": "not a url"}})), ["spec.config.check.http"]);
        assert_eq!(paths(json!({"check": {"http": "ftp://x/"}})), ["spec.config.check.http"]);
        assert_eq!(paths(json!({"check": {"http": "http://u:pw@x/"}})), ["spec.config.check.http"]);
        for tcp in ["db", "db:0", "db:x", "::1:80", ":80", "a b:1"] {
            assert_eq!(paths(json!({"check": {"tcp": tcp}})), ["spec.config.check.tcp"], "{tcp}");
        }
        assert_eq!(paths(json!({"check": {"command": [""]}})), ["spec.config.check.command"]);
    }

    #[test]
    fn refuses_other_keys_and_bad_env() {
        assert_eq!(
            paths(json!({"databaseName": "x", "port": 0, "env": {"1X": "a", "TOOLKIT_PASSWORD": "b", "OK_1": "c"}})),
            ["spec.config.databaseName", "spec.config.port", "spec.config.env.1X", "spec.config.env.TOOLKIT_PASSWORD"]
        );
    }
}
