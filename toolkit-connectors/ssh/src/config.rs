//! The typed settings of an ssh tool, read from `spec.config` without I/O or secrets.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::time::Duration;

use russh::keys::ssh_key::Fingerprint;
use toolkit_core::duration::Duration as Span;
use toolkit_core::model::{SecretKeySelector, ToolSpec};
use toolkit_core::validate::FieldError;

/// `spec.config` of a ssh tool, as written in a manifest; every key is optional here and
/// the checks say which ones a tool needs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SshSettings {
    /// Host name or address of the server, without scheme or path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// TCP port; 22 when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// The user to connect as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The password, by reference to a Secret key; read when the tool first connects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_ref: Option<SecretKeySelector>,
    /// Private key by reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_key: Option<SecretKeySelector>,
    /// Authenticate with the password instead of the key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_password: Option<bool>,
    /// Known host key fingerprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_key_fingerprint: Option<String>,
    /// An OpenSSH known_hosts file the host key is checked against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known_hosts_file: Option<String>,
    /// How long connecting may take; 10s when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_timeout: Option<Span>,
}

/// Port used when none is given.
pub const DEFAULT_PORT: u16 = 22;

/// How long connecting (TCP, handshake and authentication) may take when `connectTimeout` is
/// not set.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How the tool authenticates; the secret itself is resolved when a connection is made.
#[derive(Clone, Debug, PartialEq)]
pub enum Auth {
    /// An OpenSSH private key (without passphrase) held in a Secret.
    Key(SecretKeySelector),
    /// The user's password held in a Secret (`usePassword: true`).
    Password(SecretKeySelector),
}

impl Auth {
    /// `publickey` or `password`, as the SSH protocol names the methods.
    pub fn method(&self) -> &'static str {
        match self {
            Auth::Key(_) => "publickey",
            Auth::Password(_) => "password",
        }
    }
}

/// Where and how to connect, validated. Holds references to secrets, never their values.
#[derive(Clone, Debug, PartialEq)]
pub struct SshConfig {
    /// Host name or address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Login user.
    pub username: String,
    /// The one authentication method.
    pub auth: Auth,
    /// The expected host key fingerprint (`SHA256:...`), when pinned.
    pub host_key_fingerprint: Option<Fingerprint>,
    /// An OpenSSH known_hosts file the host key must be listed in.
    pub known_hosts_file: Option<String>,
    /// Time allowed to connect, verify the host and authenticate.
    pub connect_timeout: Duration,
}

impl SshConfig {
    /// Reads and checks the settings; every problem names its field.
    pub fn from_spec(spec: &ToolSpec) -> Result<Self, Vec<FieldError>> {
        let mut errs = Vec::new();
        let Some(c) = spec.read_config::<SshSettings>(&mut errs) else {
            if spec.config.is_none() {
                errs.extend(vec![FieldError::new(
                    "spec.config",
                    "is required for ssh tools (hostname, username, a key or password, and the host key)",
                )]);
            }
            return Err(errs);
        };
        let c = &c;

        let host = c.hostname.clone().unwrap_or_default();
        if host.trim().is_empty() {
            errs.push(FieldError::new("spec.config.hostname", "is required"));
        } else if host.contains(|ch: char| ch.is_whitespace() || matches!(ch, '/' | '@' | ',')) {
            errs.push(FieldError::new("spec.config.hostname", format!("`{host}` is not a host name")));
        }
        let port = c.port.unwrap_or(DEFAULT_PORT);
        if port == 0 {
            errs.push(FieldError::new("spec.config.port", "must be between 1 and 65535"));
        }
        let username = c.username.clone().unwrap_or_default();
        if username.is_empty() {
            errs.push(FieldError::new("spec.config.username", "is required"));
        } else if username.contains(|ch: char| ch.is_whitespace() || ch == '@') {
            errs.push(FieldError::new("spec.config.username", "must be a login name without spaces or `@`"));
        }

        let auth = auth_of(c.use_password.unwrap_or(false), &c.credentials_ref, &c.ssh_key, &mut errs);

        let host_key_fingerprint = c.host_key_fingerprint.as_deref().and_then(|text| match parse_fingerprint(text) {
            Ok(fp) => Some(fp),
            Err(why) => {
                errs.push(FieldError::new("spec.config.hostKeyFingerprint", why));
                None
            }
        });
        if c.known_hosts_file.as_deref().is_some_and(|p| p.trim().is_empty()) {
            errs.push(FieldError::new("spec.config.knownHostsFile", "must be a file path"));
        }
        if c.host_key_fingerprint.is_none() && c.known_hosts_file.is_none() {
            errs.push(FieldError::new(
                "spec.config.hostKeyFingerprint",
                "the host key is always verified (no trust on first use): \
                 set spec.config.hostKeyFingerprint or spec.config.knownHostsFile",
            ));
        }
        let connect_timeout = c.connect_timeout.map_or(DEFAULT_CONNECT_TIMEOUT, |d| d.get());
        if connect_timeout.is_zero() {
            errs.push(FieldError::new("spec.config.connectTimeout", "must be longer than 0s"));
        }
        match (errs.is_empty(), auth) {
            (true, Some(auth)) => Ok(SshConfig {
                host,
                port,
                username,
                auth,
                host_key_fingerprint,
                known_hosts_file: c.known_hosts_file.clone(),
                connect_timeout,
            }),
            _ => Err(errs),
        }
    }

    /// `user@host:port`, for messages.
    pub fn target(&self) -> String {
        format!("{}@{}", self.username, self.host_port())
    }

    /// `host:port`, with brackets around an IPv6 address.
    pub fn host_port(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The host as a known_hosts line names it: `host` on port 22, else `[host]:port`.
    pub fn known_hosts_name(&self) -> String {
        if self.port == DEFAULT_PORT { self.host.clone() } else { format!("[{}]:{}", self.host, self.port) }
    }
}

/// Exactly one method: the key, or the password with `usePassword: true`.
fn auth_of(
    use_password: bool,
    password: &Option<SecretKeySelector>,
    key: &Option<SecretKeySelector>,
    errs: &mut Vec<FieldError>,
) -> Option<Auth> {
    match (use_password, password, key) {
        (true, Some(p), None) => Some(Auth::Password(p.clone())),
        (true, None, _) => {
            errs.push(FieldError::new("spec.config.credentialsRef", "is required with `usePassword: true`"));
            None
        }
        (true, Some(_), Some(_)) => {
            errs.push(FieldError::new(
                "spec.config.sshKey",
                "is not used with `usePassword: true`; set one authentication method",
            ));
            None
        }
        (false, None, Some(k)) => Some(Auth::Key(k.clone())),
        (false, Some(_), Some(_)) => {
            errs.push(FieldError::new(
                "spec.config.credentialsRef",
                "is only used with `usePassword: true` (keys with a passphrase are not supported); \
                 set one authentication method",
            ));
            None
        }
        (false, Some(_), None) => {
            errs.push(FieldError::new(
                "spec.config.usePassword",
                "must be `true` to authenticate with the password in `credentialsRef`",
            ));
            None
        }
        (false, None, None) => {
            errs.push(FieldError::new(
                "spec.config.sshKey",
                "is required (or `usePassword: true` with `credentialsRef`)",
            ));
            None
        }
    }
}

/// A fingerprint as `ssh-keygen -lf` prints it: `SHA256:` and unpadded base64.
fn parse_fingerprint(text: &str) -> Result<Fingerprint, String> {
    let trimmed = text.trim().trim_end_matches('=');
    if !(trimmed.starts_with("SHA256:") || trimmed.starts_with("SHA512:")) {
        return Err(format!("`{text}` is not a SHA256 fingerprint; use the `SHA256:...` form `ssh-keygen -lf` prints"));
    }
    trimmed.parse().map_err(|_| format!("`{text}` is not a valid fingerprint (`SHA256:` and 43 base64 characters)"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const FP: &str = "SHA256:nD3cQUusYU2vNGN53hRMgXOICbkP3Bo2WPWGToMTRZo";

    fn spec(config: serde_json::Value) -> ToolSpec {
        ToolSpec { type_: "ssh".into(), config: Some(config), ..ToolSpec::default() }
    }

    fn paths(config: serde_json::Value) -> Vec<String> {
        SshConfig::from_spec(&spec(config)).unwrap_err().into_iter().map(|e| e.path).collect()
    }

    #[test]
    fn reads_a_key_tool() {
        let cfg = SshConfig::from_spec(&spec(json!({
            "hostname": "bastion", "username": "ops", "sshKey": {"name": "k", "key": "id"},
            "hostKeyFingerprint": FP
        })))
        .unwrap();
        assert_eq!((cfg.port, cfg.auth.method(), cfg.target()), (22, "publickey", "ops@bastion:22".to_owned()));
        assert_eq!(cfg.host_key_fingerprint.unwrap().to_string(), FP);
        assert_eq!(cfg.known_hosts_name(), "bastion");
    }

    #[test]
    fn reads_a_password_tool() {
        let cfg = SshConfig::from_spec(&spec(json!({
            "hostname": "10.0.0.1", "port": 2222, "username": "ops", "usePassword": true,
            "credentialsRef": {"name": "p", "key": "password"}, "knownHostsFile": "/etc/ssh/ssh_known_hosts"
        })))
        .unwrap();
        assert_eq!(cfg.auth.method(), "password");
        assert_eq!(cfg.known_hosts_name(), "[10.0.0.1]:2222");
    }

    #[test]
    fn requires_a_way_to_verify_the_host() {
        let errs = SshConfig::from_spec(&spec(
            json!({"hostname": "h", "username": "u", "sshKey": {"name": "k", "key": "id"}}),
        ))
        .unwrap_err();
        assert_eq!(errs.len(), 1);
        assert!(errs[0].message.contains("set spec.config.hostKeyFingerprint or spec.config.knownHostsFile"));
    }

    #[test]
    fn checks_the_fingerprint_format() {
        let base = |fp: &str| json!({"hostname": "h", "username": "u", "sshKey": {"name": "k", "key": "id"}, "hostKeyFingerprint": fp});
        assert_eq!(paths(base("MD5:aa:bb")), ["spec.config.hostKeyFingerprint"]);
        assert_eq!(paths(base("SHA256:short")), ["spec.config.hostKeyFingerprint"]);
        assert!(SshConfig::from_spec(&spec(base(&format!("{FP}=")))).is_ok());
    }

    #[test]
    fn wants_exactly_one_auth_method() {
        let key = json!({"name": "k", "key": "id"});
        let pw = json!({"name": "p", "key": "password"});
        let with = |more: serde_json::Value| {
            let mut c = json!({"hostname": "h", "username": "u", "hostKeyFingerprint": FP});
            c.as_object_mut().unwrap().extend(more.as_object().unwrap().clone());
            paths(c)
        };
        assert_eq!(with(json!({})), ["spec.config.sshKey"]);
        assert_eq!(with(json!({"credentialsRef": pw})), ["spec.config.usePassword"]);
        assert_eq!(with(json!({"usePassword": true})), ["spec.config.credentialsRef"]);
        assert_eq!(with(json!({"usePassword": true, "credentialsRef": pw, "sshKey": key})), ["spec.config.sshKey"]);
        assert_eq!(with(json!({"credentialsRef": pw, "sshKey": key})), ["spec.config.credentialsRef"]);
    }

    #[test]
    fn refuses_other_keys_and_bad_hosts() {
        let errs = paths(json!({
            "hostname": "a b", "port": 0, "username": "u", "sshKey": {"name": "k", "key": "id"},
            "knownHostsFile": "/kh", "databaseName": "x", "connectTimeout": "0s"
        }));
        assert_eq!(
            errs,
            ["spec.config.databaseName", "spec.config.hostname", "spec.config.port", "spec.config.connectTimeout"]
        );
    }
}
