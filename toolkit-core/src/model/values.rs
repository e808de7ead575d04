//! Building blocks that connectors use in their own config types: references to Secrets and
//! ConfigMaps, values given literally or by reference, environment variables, references to
//! other resources, TLS modes, credentials injected into requests, and how to reach an MCP
//! server. Each comes with the pure checks every user of it needs.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::validate::{FieldError, check_header_name, check_http_url};

/// A reference to one key of a Secret.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretKeySelector {
    /// Name of the Secret.
    pub name: String,
    /// Key within the Secret.
    pub key: String,
    /// Namespace of the Secret; the tool's own when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// A reference to one key of a ConfigMap.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfigMapKeySelector {
    /// Name of the ConfigMap.
    pub name: String,
    /// Key within the ConfigMap.
    pub key: String,
}

/// A literal value or a reference to one.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ValueSource {
    /// A literal value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// A value from a Secret or ConfigMap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_from: Option<ValueFrom>,
}

/// Where a referenced value comes from.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ValueFrom {
    /// A Secret key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_key_ref: Option<SecretKeySelector>,
    /// A ConfigMap key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map_key_ref: Option<ConfigMapKeySelector>,
}

/// An environment variable with a literal or referenced value.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnvVar {
    /// Variable name.
    pub name: String,
    /// Literal value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Referenced value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_from: Option<ValueFrom>,
}

/// A reference to another resource.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ObjectRef {
    /// Name.
    pub name: String,
    /// Namespace; the referrer's own when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// TLS mode of a database connection (libpq names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SslMode {
    /// No TLS.
    Disable,
    /// TLS if the server insists.
    Allow,
    /// TLS if the server offers it.
    Prefer,
    /// TLS, certificate not verified.
    Require,
    /// TLS, certificate chain verified.
    VerifyCa,
    /// TLS, chain and host name verified.
    VerifyFull,
}

impl SslMode {
    /// The libpq spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

/// Credentials injected into outgoing requests.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Authentication {
    /// The scheme.
    #[serde(rename = "type")]
    pub type_: AuthType,
    /// The token, password, API key or client secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<SecretKeySelector>,
    /// Header carrying the credential (`Authorization` by default; the key's header for apiKey).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header_name: Option<String>,
    /// User name for basic auth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// User name for basic auth, by reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username_ref: Option<SecretKeySelector>,
    /// Token endpoint of oauth2 client credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_url: Option<String>,
    /// Client id of oauth2 client credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Scopes of oauth2 client credentials, or asked for in a token exchange.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    /// The audience a token exchange asks a token for (the upstream's identifier).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
}

/// Authentication scheme.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum AuthType {
    /// No credentials.
    #[default]
    None,
    /// `Authorization: Bearer <token>`.
    Bearer,
    /// `Authorization: Basic <user:password>`.
    Basic,
    /// The key in a header of its own.
    ApiKey,
    /// OAuth2 client credentials.
    Oauth2,
    /// The caller's own access token exchanged (RFC 8693) for one the upstream accepts; the
    /// client secret, if the token endpoint wants one, in `secretRef`.
    TokenExchange,
}

/// How to reach an MCP server: a URL or a command line, shared by the `mcp` tools and the upstreams of a `ToolRegistry`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct McpServerSpec {
    /// URL of a streamable HTTP server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Transport; inferred from `url` or `command` when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<McpTransport>,
    /// Command line of a stdio server.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    /// Environment of a stdio server.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar>,
}

/// MCP transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum McpTransport {
    /// Child process speaking over stdin/stdout.
    Stdio,
    /// Streamable HTTP.
    StreamableHttp,
    /// The older HTTP+SSE transport.
    Sse,
}

/// A reference to a Secret or a ConfigMap made by a tool, with the path of the field making it;
/// the catalog checks that each one resolves, and Kubernetes watches what they name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reference {
    /// One key of a Secret.
    Secret {
        /// The field path, such as `spec.config.credentialsRef`.
        path: String,
        /// What it names.
        selector: SecretKeySelector,
    },
    /// One key of a ConfigMap of the tool's namespace.
    ConfigMap {
        /// The field path.
        path: String,
        /// What it names.
        selector: ConfigMapKeySelector,
    },
}

impl Reference {
    /// A Secret reference at `path`.
    pub fn secret(path: impl Into<String>, selector: &SecretKeySelector) -> Self {
        Reference::Secret { path: path.into(), selector: selector.clone() }
    }

    /// The references of a `valueFrom` at `path` (`PATH.valueFrom.secretKeyRef`...).
    pub fn value_from(path: &str, from: Option<&ValueFrom>) -> Vec<Self> {
        let mut out = Vec::new();
        if let Some(from) = from {
            if let Some(s) = &from.secret_key_ref {
                out.push(Reference::secret(format!("{path}.valueFrom.secretKeyRef"), s));
            }
            if let Some(c) = &from.config_map_key_ref {
                out.push(Reference::ConfigMap {
                    path: format!("{path}.valueFrom.configMapKeyRef"),
                    selector: c.clone(),
                });
            }
        }
        out
    }

    /// The references of a list of environment variables at `path` (`PATH[i]...`).
    pub fn env(path: &str, env: &[EnvVar]) -> Vec<Self> {
        env.iter()
            .enumerate()
            .flat_map(|(i, e)| Self::value_from(&format!("{path}[{i}]"), e.value_from.as_ref()))
            .collect()
    }

    /// The field path.
    pub fn path(&self) -> &str {
        match self {
            Reference::Secret { path, .. } | Reference::ConfigMap { path, .. } => path,
        }
    }
}

impl ValueFrom {
    /// Checks that exactly one source is set; `path` is the field holding `valueFrom`.
    pub fn check(&self, path: &str) -> Option<FieldError> {
        let n = usize::from(self.secret_key_ref.is_some()) + usize::from(self.config_map_key_ref.is_some());
        (n != 1).then(|| {
            FieldError::new(format!("{path}.valueFrom"), "set exactly one of `secretKeyRef` or `configMapKeyRef`")
        })
    }
}

/// Checks a literal-or-referenced value at `path`: exactly one of `value` or `valueFrom`, and
/// exactly one source in `valueFrom`.
pub fn check_value_source(path: &str, value: Option<&String>, from: Option<&ValueFrom>) -> Option<FieldError> {
    match (value, from) {
        (Some(_), None) => None,
        (None, Some(vf)) => vf.check(path),
        _ => Some(FieldError::new(path, "set exactly one of `value` or `valueFrom`")),
    }
}

impl Authentication {
    /// The problems of this block at `path` (`spec.authentication`).
    pub fn check(&self, path: &str) -> Vec<FieldError> {
        let mut e = Vec::new();
        if !matches!(self.type_, AuthType::None | AuthType::TokenExchange) && self.secret_ref.is_none() {
            e.push(FieldError::new(
                format!("{path}.secretRef"),
                format!("is required for `{:?}` authentication", self.type_).to_lowercase(),
            ));
        }
        match self.type_ {
            AuthType::Basic if self.username.is_none() && self.username_ref.is_none() => {
                e.push(FieldError::new(
                    format!("{path}.username"),
                    "basic authentication needs `username` or `usernameRef`",
                ));
            }
            AuthType::Oauth2 | AuthType::TokenExchange => {
                let name = if self.type_ == AuthType::Oauth2 { "oauth2" } else { "tokenExchange" };
                match &self.token_url {
                    None => e.push(FieldError::new(format!("{path}.tokenUrl"), format!("is required for {name}"))),
                    Some(u) => e.extend(check_http_url(&format!("{path}.tokenUrl"), u)),
                }
                if self.client_id.is_none() {
                    e.push(FieldError::new(format!("{path}.clientId"), format!("is required for {name}")));
                }
            }
            _ => {}
        }
        if let Some(h) = &self.header_name {
            e.extend(check_header_name(&format!("{path}.headerName"), h));
        }
        e
    }

    /// The Secrets this block references, under `path`.
    pub fn references(&self, path: &str) -> Vec<Reference> {
        [("secretRef", &self.secret_ref), ("usernameRef", &self.username_ref)]
            .into_iter()
            .filter_map(|(field, s)| s.as_ref().map(|s| Reference::secret(format!("{path}.{field}"), s)))
            .collect()
    }
}
