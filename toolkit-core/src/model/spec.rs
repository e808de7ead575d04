//! `Tool.spec`: one spec for every kind of tool.

use std::collections::BTreeMap;
use std::fmt;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::status::ToolStatus;
use crate::duration::Duration;

/// A declared external system or invocable tool.
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "toolkit.dev",
    version = "v1alpha1",
    kind = "Tool",
    namespaced,
    status = "ToolStatus",
    shortname = "tl",
    category = "toolkit",
    printcolumn = r#"{"name":"Type","type":"string","jsonPath":".spec.type"}"#,
    printcolumn = r#"{"name":"Phase","type":"string","jsonPath":".status.phase"}"#,
    printcolumn = r#"{"name":"Calls","type":"integer","jsonPath":".status.invocationCount"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ToolSpec {
    /// What the tool is: a connection type or an invocable type.
    #[serde(rename = "type")]
    pub type_: ToolType,
    /// Human-readable name, 1-64 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// What the tool does, shown to agents; 1-1024 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A version string of the tool definition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Free-form tags for grouping and discovery.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// A disabled tool is kept but not served or probed.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub enabled: bool,
    /// Connectivity check: `true`, `false`, or `{enabled, interval, timeout}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::bool_or_object")]
    pub probe: Option<ProbeSetting>,
    /// Idle timeout of bastion sessions opened for this tool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_timeout: Option<Duration>,
    /// Timeout of one call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// Connection settings of a connection type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<ConnectionConfig>,
    /// Refuse writes (SQL runs in a read-only transaction, and so on).
    #[serde(default, skip_serializing_if = "is_false")]
    pub read_only: bool,
    /// JSON Schema of the call arguments (draft-07 or 2020-12).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::preserve_unknown")]
    pub input_schema: Option<serde_json::Value>,
    /// JSON Schema of the structured result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::preserve_unknown")]
    pub output_schema: Option<serde_json::Value>,
    /// Token-bucket rate limit for calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimit>,
    /// Output caps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<Limits>,
    /// Engine-native permissions of the tool's identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<PermissionsSpec>,
    /// Human approval of calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<ApprovalSpec>,
    /// The request an `http` tool sends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpSpec>,
    /// Credentials injected into outgoing requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authentication: Option<Authentication>,
    /// Hints for agents (MCP tool annotations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<ToolAnnotations>,
    /// One tool of an upstream MCP server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcp: Option<McpSpec>,
    /// Another agent reached as a tool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<AgentSpec>,
    /// A tool built into toolkit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub builtin: Option<BuiltinSpec>,
    /// A command tool (`kubectl`, `bash`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<CommandSpec>,
}

impl Default for ToolSpec {
    fn default() -> Self {
        Self {
            type_: ToolType::Unset,
            display_name: None,
            description: None,
            version: None,
            tags: Vec::new(),
            enabled: true,
            probe: None,
            idle_timeout: None,
            timeout: None,
            config: None,
            read_only: false,
            input_schema: None,
            output_schema: None,
            rate_limit: None,
            limits: None,
            permissions: None,
            approval: None,
            http: None,
            authentication: None,
            annotations: None,
            mcp: None,
            agent: None,
            builtin: None,
            command: None,
        }
    }
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

fn is_false(b: &bool) -> bool {
    !*b
}

macro_rules! tool_types {
    ($( $(#[$doc:meta])* $variant:ident => $name:literal, $kind:ident; )*) => {
        /// The kind of a tool.
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
        #[serde(rename_all = "lowercase")]
        pub enum ToolType {
            $( $(#[$doc])* $variant, )*
            /// Placeholder for `Default`; never valid in a manifest.
            #[default]
            #[serde(skip)]
            Unset,
        }

        impl ToolType {
            /// Every type a manifest may name.
            pub const ALL: &'static [ToolType] = &[$(ToolType::$variant),*];

            /// The name used in manifests and in the connector registry.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( ToolType::$variant => $name, )*
                    ToolType::Unset => "unset",
                }
            }

            /// Whether the type is a connection (as opposed to a purely invocable tool).
            pub fn is_connection(self) -> bool {
                match self {
                    $( ToolType::$variant => matches!(TypeKind::$kind, TypeKind::Connection | TypeKind::Both), )*
                    ToolType::Unset => false,
                }
            }

            /// Whether the type is invocable without a connection.
            pub fn is_invocable_only(self) -> bool {
                match self {
                    $( ToolType::$variant => matches!(TypeKind::$kind, TypeKind::Invocable), )*
                    ToolType::Unset => false,
                }
            }
        }
    };
}

enum TypeKind {
    Connection,
    Invocable,
    Both,
}

tool_types! {
    /// PostgreSQL.
    Postgres => "postgres", Connection;
    /// MySQL and MariaDB.
    Mysql => "mysql", Connection;
    /// Microsoft SQL Server.
    Sqlserver => "sqlserver", Connection;
    /// MongoDB.
    Mongodb => "mongodb", Connection;
    /// Redis.
    Redis => "redis", Connection;
    /// ClickHouse.
    Clickhouse => "clickhouse", Connection;
    /// A Kubernetes API server.
    Kubernetes => "kubernetes", Connection;
    /// An HTTP API: a connection and an invocable request.
    Http => "http", Both;
    /// Snowflake.
    Snowflake => "snowflake", Connection;
    /// Google BigQuery.
    Bigquery => "bigquery", Connection;
    /// Elasticsearch or OpenSearch.
    Elasticsearch => "elasticsearch", Connection;
    /// Apache Kafka.
    Kafka => "kafka", Connection;
    /// Oracle Database.
    Oracle => "oracle", Connection;
    /// CockroachDB.
    Cockroachdb => "cockroachdb", Connection;
    /// Amazon Redshift.
    Redshift => "redshift", Connection;
    /// RabbitMQ.
    Rabbitmq => "rabbitmq", Connection;
    /// A host reached over SSH.
    Ssh => "ssh", Connection;
    /// An SQLite database file.
    Sqlite => "sqlite", Connection;
    /// Anything else, described by its manifest.
    Custom => "custom", Connection;
    /// One tool of an upstream MCP server.
    Mcp => "mcp", Invocable;
    /// Another agent.
    Agent => "agent", Invocable;
    /// A tool built into toolkit.
    Builtin => "builtin", Invocable;
    /// kubectl commands.
    Kubectl => "kubectl", Invocable;
    /// Shell commands.
    Bash => "bash", Invocable;
}

impl fmt::Display for ToolType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `probe: true`, `probe: false` or `probe: {enabled, interval, timeout}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ProbeSetting {
    /// On or off with defaults.
    Enabled(bool),
    /// Detailed settings.
    Detailed(ProbeSpec),
}

impl ProbeSetting {
    /// The effective settings.
    pub fn spec(&self) -> ProbeSpec {
        match self {
            ProbeSetting::Enabled(enabled) => ProbeSpec { enabled: *enabled, ..ProbeSpec::default() },
            ProbeSetting::Detailed(spec) => spec.clone(),
        }
    }
}

/// Probe settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProbeSpec {
    /// Whether the tool is probed.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// How often a long-running gateway or operator probes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<Duration>,
    /// How long one probe may take.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// For http tools: the path requested instead of the URL's origin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

impl Default for ProbeSpec {
    fn default() -> Self {
        Self { enabled: true, interval: None, timeout: None, path: None }
    }
}

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

/// Connection settings shared by the connection types; each type uses the keys it needs and
/// validation refuses the ones it does not.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConnectionConfig {
    /// Host name or address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// TCP port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// User name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// User name from a Secret, instead of `username`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username_ref: Option<SecretKeySelector>,
    /// Database name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_name: Option<String>,
    /// TLS mode: disable, allow, prefer, require, verify-ca, verify-full.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssl_mode: Option<SslMode>,
    /// The password or token, by reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_ref: Option<SecretKeySelector>,
    /// A full connection URI (mongodb, redis).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// A file path (sqlite).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// A base URL (http, elasticsearch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Database number (redis).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db: Option<i64>,
    /// Use TLS (redis and other types without an sslMode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<bool>,
    /// CA certificate file for TLS verification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
    /// Private key by reference (ssh).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_key: Option<SecretKeySelector>,
    /// Authenticate with the password instead of the key (ssh).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_password: Option<bool>,
    /// Known host key fingerprint (ssh).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_key_fingerprint: Option<String>,
    /// API server URL (kubernetes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apiserver: Option<String>,
    /// Bearer token by reference (kubernetes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<SecretKeySelector>,
    /// CA certificate (kubernetes), PEM or base64 PEM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cacrt: Option<String>,
    /// Default namespace (kubernetes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Account (snowflake).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Warehouse (snowflake).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warehouse: Option<String>,
    /// Role (snowflake).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Schema (snowflake).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// Project (bigquery).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// Index or index pattern (elasticsearch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<String>,
    /// Container image of a bastion (custom).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Service account of a bastion pod (custom, kubernetes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// Extra environment for native clients (custom).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Connection pool size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<u32>,
    /// How long to wait for a connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_timeout: Option<Duration>,
    /// Bootstrap brokers as `host:port` (kafka).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub brokers: Vec<String>,
    /// SASL mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (kafka).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sasl_mechanism: Option<String>,
    /// Virtual host (rabbitmq).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vhost: Option<String>,
    /// An OpenSSH known_hosts file the host key is checked against (ssh).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known_hosts_file: Option<String>,
    /// Accept any TLS certificate; for test servers only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure_skip_tls_verify: Option<bool>,
    /// The connectivity check of a custom tool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<CustomCheck>,
}

impl ConnectionConfig {
    /// The keys set here that a type does not read, in name order, each as an error naming its
    /// field and the keys the type takes. Serializing skips unset keys, so the keys found are exactly the ones
    /// the manifest set, spelled as in the manifest.
    pub fn unused_keys(&self, type_name: &str, allowed: &[&str]) -> Vec<crate::validate::FieldError> {
        let Ok(serde_json::Value::Object(set)) = serde_json::to_value(self) else { return Vec::new() };
        // Sorted: the map's order depends on whether serde_json's `preserve_order` is on.
        let mut unused: Vec<&String> = set.keys().filter(|k| !allowed.contains(&k.as_str())).collect();
        unused.sort();
        unused
            .into_iter()
            .map(|k| {
                crate::validate::FieldError::new(
                    format!("spec.config.{k}"),
                    format!("is not used by {type_name} tools; they take: {}", allowed.join(", ")),
                )
            })
            .collect()
    }
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

/// Token-bucket rate limit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RateLimit {
    /// Sustained rate, 1-10000 per minute.
    pub requests_per_minute: u32,
    /// Calls allowed at once above the rate, 1-1000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst: Option<u32>,
}

/// Output caps of one call.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Limits {
    /// Rows returned by a query at most.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_rows: Option<u32>,
    /// Bytes of output at most; longer output is truncated and marked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_output_bytes: Option<u64>,
}

/// Permission plan of the tool's identity.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PermissionsSpec {
    /// `declare` plans only; `enforce` applies the plan.
    #[serde(default)]
    pub mode: PermissionMode,
    /// The engine identity the grants are for; the connection user when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Engine-specific rules.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "super::preserve_unknown_list")]
    pub rules: Vec<serde_json::Value>,
}

/// Whether permissions are only planned or also applied.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PermissionMode {
    /// Plan and report only.
    #[default]
    Declare,
    /// Apply the plan.
    Enforce,
}

/// Approval of calls by a human.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApprovalSpec {
    /// `always`, `never`, or `auto` (decided by the command's class).
    #[serde(default)]
    pub required: ApprovalRequired,
    /// How long a call waits for a decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// What happens when nobody decides in time.
    #[serde(default)]
    pub on_timeout: OnTimeout,
}

/// When approval is required.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ApprovalRequired {
    /// Every call.
    Always,
    /// No call.
    Never,
    /// By classification of the call.
    #[default]
    Auto,
}

/// What a timed-out approval does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OnTimeout {
    /// Fail closed.
    #[default]
    Reject,
    /// Run the call anyway.
    Proceed,
}

/// The request of an `http` tool.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpSpec {
    /// URL with optional `{param}` placeholders filled from the arguments.
    pub url: String,
    /// HTTP method; GET when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Request headers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<HttpHeader>,
    /// Body template with `{{.input.x}}` and `{{.param}}` fields; values are JSON-escaped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Named values for the body template.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub body_parameters: Vec<Parameter>,
    /// Response bytes read at most.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_response_bytes: Option<u64>,
    /// Retries of requests that failed in a way a retry may fix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<HttpRetry>,
    /// When to stop sending requests to an upstream that keeps failing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub circuit_breaker: Option<HttpCircuitBreaker>,
}

/// Retries of an `http` tool's requests: on 408, 429, 500, 502, 503, 504 and failures to
/// connect, with exponential backoff and jitter, honouring `Retry-After`, never past the call's
/// timeout.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpRetry {
    /// Attempts in all, 1-10 (1: no retry). Default 3 for GET, HEAD, PUT, DELETE and OPTIONS,
    /// 1 for POST and PATCH, which may not be safe to repeat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u32>,
    /// Wait before the first retry, doubled for each next one; default 100ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_backoff: Option<Duration>,
    /// Longest wait between attempts, and longest `Retry-After` honoured; default 5s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_backoff: Option<Duration>,
}

/// The circuit breaker of an `http` tool: after `failureThreshold` requests in a row fail
/// (connection failures, timeouts, 408, 500, 502, 503, 504), calls fail at once for `openFor`;
/// then one trial request decides whether it closes again.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpCircuitBreaker {
    /// Failed requests in a row that open the circuit, 1-1000; default 5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_threshold: Option<u32>,
    /// How long the circuit stays open before a trial request; default 30s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_for: Option<Duration>,
}

/// One request header.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpHeader {
    /// Header name.
    pub name: String,
    /// Header value.
    pub value: ValueSource,
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

/// A named value for a body template.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Parameter {
    /// Name used in the template as `{{.name}}`.
    pub name: String,
    /// A literal value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// A value from a Secret or ConfigMap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_from: Option<ValueFrom>,
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
    /// Scopes of oauth2 client credentials.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
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
}

/// MCP tool annotations.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ToolAnnotations {
    /// A title for display.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The tool does not modify its environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only_hint: Option<bool>,
    /// The tool may perform destructive updates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destructive_hint: Option<bool>,
    /// Repeating a call with the same arguments has no further effect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotent_hint: Option<bool>,
    /// The tool interacts with an open world of external entities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_world_hint: Option<bool>,
}

/// One tool of an upstream MCP server.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct McpSpec {
    /// A server declared elsewhere (an MCP server resource).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_ref: Option<ObjectRef>,
    /// URL of a streamable HTTP or SSE server.
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
    /// Name of the tool on the upstream server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_name: Option<String>,
}

/// How to reach an MCP server: a URL or a command line, as in [`McpSpec`] but without a tool.
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

impl McpServerSpec {
    /// The [`McpSpec`] of one tool of this server.
    pub fn tool(&self, tool_name: impl Into<String>) -> McpSpec {
        McpSpec {
            server_ref: None,
            url: self.url.clone(),
            transport: self.transport,
            command: self.command.clone(),
            env: self.env.clone(),
            tool_name: Some(tool_name.into()),
        }
    }
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

/// Another agent reached as a tool; it takes one `input` string.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AgentSpec {
    /// Name of the agent.
    pub name: String,
    /// Where the agent is served (MCP or HTTP).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Transport of `url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<McpTransport>,
}

/// A tool built into toolkit.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BuiltinSpec {
    /// `noop` (echoes its arguments) or `terminate` (ends the conversation).
    pub name: String,
}

/// The builtins toolkit ships.
pub const BUILTINS: &[&str] = &["noop", "terminate"];

/// A command tool (`kubectl`, `bash`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CommandSpec {
    /// Allow pipes and lists (runs through `bash -c`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub allow_shell: bool,
    /// The kubernetes tool whose credentials a kubectl tool uses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_ref: Option<ObjectRef>,
    /// Working directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    /// Fixed environment.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar>,
    /// An inline script (imported inline tools).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script: Option<String>,
}
