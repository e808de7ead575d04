//! The typed settings of `mcp` and `agent` tools, read from the spec without I/O or secrets.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use toolkit_core::model::{
    AuthType, Authentication, EnvVar, McpServerSpec, McpTransport, ObjectRef, Reference, RegistryUpstream,
    SecretKeySelector, ToolSpec,
};
use toolkit_core::validate::{FieldError, check_http_url};
use url::Url;

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

impl McpSpec {
    /// The spec of a tool of `server`, without its tool name yet.
    pub fn from_server(server: &McpServerSpec) -> Self {
        Self {
            server_ref: None,
            url: server.url.clone(),
            transport: server.transport,
            command: server.command.clone(),
            env: server.env.clone(),
            tool_name: None,
        }
    }

    /// The server part, as a registry upstream names one.
    pub fn server(&self) -> McpServerSpec {
        McpServerSpec {
            url: self.url.clone(),
            transport: self.transport,
            command: self.command.clone(),
            env: self.env.clone(),
        }
    }
}

/// The Secrets and ConfigMaps a server's environment and credentials reference; `at` is the
/// server's path (`spec.mcp`), and the credentials sit beside it (`spec.authentication`).
pub(crate) fn server_references(at: &str, server: &McpServerSpec, auth: Option<&Authentication>) -> Vec<Reference> {
    let mut out = Reference::env(&format!("{at}.env"), &server.env);
    let auth_at = sibling(at, "authentication");
    out.extend(auth.map(|a| a.references(&auth_at)).unwrap_or_default());
    out
}

/// The path of the field `name` beside the field at `at`.
fn sibling(at: &str, name: &str) -> String {
    at.rsplit_once('.').map_or_else(|| name.to_owned(), |(p, _)| format!("{p}.{name}"))
}

/// Where an MCP server is and how to start or reach it.
#[derive(Clone, PartialEq)]
pub enum Endpoint {
    /// A child process speaking MCP over its stdin and stdout.
    Stdio {
        /// Program and arguments.
        command: Vec<String>,
        /// Environment given to the process (values resolved when it is started).
        env: Vec<EnvVar>,
    },
    /// A streamable HTTP server.
    Http {
        /// The MCP endpoint.
        url: Url,
    },
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // Env values may be literals a manifest author considers private; names are enough.
            Endpoint::Stdio { command, env } => f
                .debug_struct("Stdio")
                .field("command", command)
                .field("env", &env.iter().map(|e| e.name.as_str()).collect::<Vec<_>>())
                .finish(),
            Endpoint::Http { url } => f.debug_struct("Http").field("url", &url.as_str()).finish(),
        }
    }
}

/// Credentials sent to an HTTP server, by reference.
#[derive(Clone, Debug, PartialEq)]
pub enum AuthConfig {
    /// `Authorization: Bearer <token>`.
    Bearer {
        /// The token.
        token: SecretKeySelector,
    },
    /// `Authorization: Basic <user:password>`.
    Basic {
        /// The user name, literal.
        username: Option<String>,
        /// The user name, by reference.
        username_ref: Option<SecretKeySelector>,
        /// The password.
        password: SecretKeySelector,
    },
    /// The key in a header of its own.
    ApiKey {
        /// Header name.
        header: String,
        /// The key.
        key: SecretKeySelector,
    },
    /// The caller's access token exchanged (RFC 8693) for one the server accepts, sent as a
    /// bearer token on a connection of that caller's own.
    TokenExchange(toolkit_core::token::TokenExchange),
}

/// How to reach one MCP server, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct ServerConfig {
    /// Where it is.
    pub endpoint: Endpoint,
    /// Credentials of an HTTP server.
    pub auth: Option<AuthConfig>,
}

impl ServerConfig {
    /// The server as shown in messages: the URL, or `stdio: <command line>`.
    pub fn label(&self) -> String {
        match &self.endpoint {
            Endpoint::Http { url } => url.to_string(),
            Endpoint::Stdio { command, .. } => format!("stdio: {}", shell_words::join(command)),
        }
    }

    /// `stdio` or `streamableHttp`.
    pub fn transport(&self) -> &'static str {
        match self.endpoint {
            Endpoint::Stdio { .. } => "stdio",
            Endpoint::Http { .. } => "streamableHttp",
        }
    }

    /// Reads a server from the fields of `spec.mcp` (or of a registry upstream's `mcp`) and
    /// `spec.authentication`. Not exactly one of `url` and `command` is left to the caller, who
    /// knows what else may stand in for them.
    pub(crate) fn read(
        at: &str,
        server: &McpServerSpec,
        authentication: Option<&Authentication>,
        errs: &mut Vec<FieldError>,
    ) -> Option<Self> {
        let endpoint = match (&server.url, server.command.is_empty()) {
            (Some(u), true) => read_url(&format!("{at}.url"), u, errs).map(|url| Endpoint::Http { url }),
            (None, false) => {
                check_command(&format!("{at}.command"), &server.command, errs);
                Some(Endpoint::Stdio { command: server.command.clone(), env: server.env.clone() })
            }
            _ => None,
        };
        match (server.transport, &endpoint) {
            (Some(McpTransport::Sse), _) => errs.push(FieldError::new(
                format!("{at}.transport"),
                "the HTTP+SSE transport is not supported (the MCP client toolkit uses has none); \
                 use `streamableHttp`, which most servers also serve",
            )),
            (Some(McpTransport::Stdio), Some(Endpoint::Http { .. })) => {
                errs.push(FieldError::new(format!("{at}.transport"), "`stdio` needs `command`, not `url`"))
            }
            (Some(McpTransport::StreamableHttp), Some(Endpoint::Stdio { .. })) => {
                errs.push(FieldError::new(format!("{at}.transport"), "`streamableHttp` needs `url`, not `command`"))
            }
            _ => {}
        }
        if !server.env.is_empty() && server.url.is_some() {
            errs.push(FieldError::new(
                format!("{at}.env"),
                "only stdio servers take `env`; send credentials to a URL with `authentication`",
            ));
        }
        check_env(&format!("{at}.env"), &server.env, errs);
        let auth_at = sibling(at, "authentication");
        let auth = match authentication {
            Some(a) if server.url.is_none() && a.type_ != AuthType::None => {
                errs.push(FieldError::new(
                    auth_at,
                    "stdio servers take credentials in `env` (with `valueFrom.secretKeyRef`)",
                ));
                None
            }
            Some(a) => read_auth(&auth_at, a, errs),
            None => None,
        };
        endpoint.map(|endpoint| Self { endpoint, auth })
    }
}

/// An `mcp` tool: one tool of one server.
#[derive(Clone, Debug, PartialEq)]
pub struct McpConfig {
    /// The server.
    pub server: ServerConfig,
    /// The tool's name on the server.
    pub tool_name: String,
}

impl McpConfig {
    /// Reads and checks `spec.mcp` and `spec.authentication`; every problem names its field.
    pub fn from_spec(spec: &ToolSpec) -> Result<Self, Vec<FieldError>> {
        match Self::parse(spec) {
            (Some(cfg), errs) if errs.is_empty() => Ok(cfg),
            (None, errs) if errs.is_empty() => {
                Err(vec![FieldError::new("spec.mcp", "needs `toolName` and one of `url` or `command`")])
            }
            (_, errs) => Err(errs),
        }
    }

    /// The settings, when complete, and every problem of `spec.mcp` and `spec.authentication`.
    pub(crate) fn parse(spec: &ToolSpec) -> (Option<Self>, Vec<FieldError>) {
        let mut errs = Vec::new();
        let authentication = spec.read_block::<Authentication>("authentication", &mut errs);
        let Some(mcp) = spec.read_block::<McpSpec>("mcp", &mut errs) else {
            if !spec.blocks.contains_key("mcp") {
                errs.push(FieldError::new("spec.mcp", "is required for type mcp"));
            }
            return (None, errs);
        };
        if mcp.tool_name.as_deref().is_none_or(|n| n.trim().is_empty()) {
            errs.push(FieldError::new("spec.mcp.toolName", "is required: name the upstream tool"));
        }
        let sources = [mcp.server_ref.is_some(), mcp.url.is_some(), !mcp.command.is_empty()];
        if sources.iter().filter(|s| **s).count() != 1 {
            errs.push(FieldError::new("spec.mcp", "set exactly one of `serverRef`, `url` or `command`"));
        }
        if let Some(a) = &authentication {
            errs.extend(a.check("spec.authentication"));
        }
        if mcp.server_ref.is_some() {
            errs.push(FieldError::new(
                "spec.mcp.serverRef",
                "names an MCPServer of a cluster, which only toolkit-operator and `--kubernetes` resolve; give the server's `url` or `command` instead",
            ));
        }
        let server = ServerConfig::read("spec.mcp", &mcp.server(), authentication.as_ref(), &mut errs);
        let tool_name = mcp.tool_name.clone().filter(|n| !n.trim().is_empty());
        let cfg = server.zip(tool_name).map(|(server, tool_name)| Self { server, tool_name });
        (cfg, errs)
    }
}

/// The server of a registry upstream, checked; problems are under `at` (`spec.upstreams[0]`).
pub(crate) fn upstream_server(
    at: &str,
    upstream: &RegistryUpstream,
    errs: &mut Vec<FieldError>,
) -> Option<ServerConfig> {
    if let Some(a) = &upstream.authentication {
        errs.extend(a.check(&format!("{at}.authentication")));
    }
    let server = ServerConfig::read(&format!("{at}.mcp"), &upstream.mcp, upstream.authentication.as_ref(), errs);
    refuse_exchange(
        &format!("{at}.authentication"),
        server.as_ref().and_then(|s| s.auth.as_ref()),
        "a registry upstream",
        errs,
    );
    server
}

/// How an agent is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AgentVia {
    /// A tool named like the agent, on an MCP server (streamable HTTP).
    Mcp,
    /// `POST {"input": ...}` as JSON.
    Http,
}

/// An `agent` tool.
#[derive(Clone, Debug, PartialEq)]
pub struct AgentConfig {
    /// The agent's name; over MCP, the name of the tool called.
    pub name: String,
    /// Where it is served.
    pub url: Url,
    /// How.
    pub via: AgentVia,
    /// Credentials.
    pub auth: Option<AuthConfig>,
}

impl AgentConfig {
    /// Reads and checks `spec.agent` and `spec.authentication`.
    ///
    /// `transport: streamableHttp` calls the agent over MCP; without `transport`, a URL whose
    /// path ends in `/mcp` does too, and any other URL is plain HTTP.
    pub fn from_spec(spec: &ToolSpec) -> Result<Self, Vec<FieldError>> {
        match Self::parse(spec) {
            (Some(cfg), errs) if errs.is_empty() => Ok(cfg),
            (None, errs) if errs.is_empty() => {
                Err(vec![FieldError::new("spec.agent", "needs `name` and an http(s) `url`")])
            }
            (_, errs) => Err(errs),
        }
    }

    /// The settings, when complete, and the problems the shared validation does not report.
    pub(crate) fn parse(spec: &ToolSpec) -> (Option<Self>, Vec<FieldError>) {
        let mut errs = Vec::new();
        let authentication = spec.read_block::<Authentication>("authentication", &mut errs);
        let Some(agent) = spec.read_block::<AgentSpec>("agent", &mut errs) else {
            if !spec.blocks.contains_key("agent") {
                errs.push(FieldError::new("spec.agent", "is required for type agent"));
            }
            return (None, errs);
        };
        if agent.name.trim().is_empty() {
            errs.push(FieldError::new("spec.agent.name", "is required"));
        }
        if let Some(a) = &authentication {
            errs.extend(a.check("spec.authentication"));
        }
        let url = match &agent.url {
            None => {
                errs.push(FieldError::new("spec.agent.url", "is required: where the agent is served (MCP or HTTP)"));
                None
            }
            Some(u) => read_url("spec.agent.url", u, &mut errs),
        };
        let via = match (agent.transport, &url) {
            (Some(McpTransport::StreamableHttp), _) => AgentVia::Mcp,
            (Some(McpTransport::Stdio), _) => {
                errs.push(FieldError::new(
                    "spec.agent.transport",
                    "agents are reached over a URL: use `streamableHttp`, or leave it out for plain HTTP",
                ));
                AgentVia::Http
            }
            (Some(McpTransport::Sse), _) => {
                errs.push(FieldError::new(
                    "spec.agent.transport",
                    "the HTTP+SSE transport is not supported; use `streamableHttp`",
                ));
                AgentVia::Http
            }
            (None, Some(u)) if u.path().trim_end_matches('/').ends_with("/mcp") => AgentVia::Mcp,
            (None, _) => AgentVia::Http,
        };
        let auth = authentication.as_ref().and_then(|a| read_auth("spec.authentication", a, &mut errs));
        refuse_exchange("spec.authentication", auth.as_ref(), "an agent", &mut errs);
        let name = Some(agent.name.clone()).filter(|n| !n.trim().is_empty());
        let cfg = url.zip(name).map(|(url, name)| Self { name, url, via, auth });
        (cfg, errs)
    }
}

fn read_url(at: &str, text: &str, errs: &mut Vec<FieldError>) -> Option<Url> {
    if let Some(e) = check_http_url(at, text) {
        errs.push(e);
        return None;
    }
    let url = Url::parse(text).ok()?;
    if !url.username().is_empty() || url.password().is_some() {
        // The text may hold a password, so it is not repeated.
        errs.push(FieldError::new(at, "must not contain credentials; reference them with `authentication`"));
        return None;
    }
    if url.fragment().is_some() {
        errs.push(FieldError::new(at, "must not have a fragment (`#...`)"));
    }
    Some(url)
}

fn check_command(at: &str, command: &[String], errs: &mut Vec<FieldError>) {
    if command.first().is_none_or(|p| p.trim().is_empty()) {
        errs.push(FieldError::new(format!("{at}[0]"), "must name the program to run"));
    }
    for (i, arg) in command.iter().enumerate() {
        if arg.contains('\0') {
            errs.push(FieldError::new(format!("{at}[{i}]"), "must not contain NUL characters"));
        }
    }
}

fn check_env(at: &str, env: &[EnvVar], errs: &mut Vec<FieldError>) {
    let mut seen = std::collections::BTreeSet::new();
    for (i, var) in env.iter().enumerate() {
        let p = format!("{at}[{i}]");
        if var.name.is_empty() || var.name.contains(['=', '\0']) {
            errs.push(FieldError::new(format!("{p}.name"), format!("`{}` is not a variable name", var.name)));
        } else if !seen.insert(var.name.as_str()) {
            errs.push(FieldError::new(format!("{p}.name"), format!("`{}` is set twice", var.name)));
        }
        if var.value.as_deref().is_some_and(|v| v.contains('\0')) {
            errs.push(FieldError::new(format!("{p}.value"), "must not contain NUL characters"));
        }
        match (&var.value, &var.value_from) {
            (Some(_), None) => {}
            (None, Some(from)) => {
                if usize::from(from.secret_key_ref.is_some()) + usize::from(from.config_map_key_ref.is_some()) != 1 {
                    errs.push(FieldError::new(
                        format!("{p}.valueFrom"),
                        "set exactly one of `secretKeyRef` or `configMapKeyRef`",
                    ));
                }
            }
            _ => errs.push(FieldError::new(p, "set exactly one of `value` or `valueFrom`")),
        }
    }
}

fn read_auth(at: &str, a: &Authentication, errs: &mut Vec<FieldError>) -> Option<AuthConfig> {
    // Missing secretRef, username and bad header names are reported by the shared validation.
    let secret = a.secret_ref.clone();
    match a.type_ {
        AuthType::None => None,
        AuthType::Bearer => secret.map(|token| AuthConfig::Bearer { token }),
        AuthType::Basic => secret.map(|password| AuthConfig::Basic {
            username: a.username.clone(),
            username_ref: a.username_ref.clone(),
            password,
        }),
        AuthType::ApiKey => secret.map(|key| AuthConfig::ApiKey {
            header: a.header_name.clone().unwrap_or_else(|| "X-API-Key".to_owned()),
            key,
        }),
        AuthType::TokenExchange => {
            toolkit_core::token::TokenExchange::from_authentication(a).map(AuthConfig::TokenExchange)
        }
        AuthType::Oauth2 => {
            errs.push(FieldError::new(
                format!("{at}.type"),
                "oauth2 is not supported for MCP servers and agents yet; use bearer, basic, apiKey or tokenExchange",
            ));
            None
        }
    }
}

/// Refuses `tokenExchange` where no caller's token is at hand (`what`: a registry upstream, an agent).
fn refuse_exchange(at: &str, auth: Option<&AuthConfig>, what: &str, errs: &mut Vec<FieldError>) {
    if matches!(auth, Some(AuthConfig::TokenExchange(_))) {
        errs.push(FieldError::new(
            format!("{at}.type"),
            format!(
                "tokenExchange is not supported for {what}: it needs the caller's token, which {what} \
                 does not have when it connects; declare an `mcp` tool per server tool instead"
            ),
        ));
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn spec(t: &str, value: serde_json::Value) -> ToolSpec {
        let mut v = value;
        v["type"] = json!(t);
        serde_json::from_value(v).unwrap()
    }

    fn paths(errs: &[FieldError]) -> Vec<&str> {
        errs.iter().map(|e| e.path.as_str()).collect()
    }

    #[test]
    fn stdio_and_http_servers() {
        let cfg = McpConfig::from_spec(&spec(
            "mcp",
            json!({"mcp": {"command": ["npx", "-y", "srv pkg"], "toolName": "echo", "env": [{"name": "A", "value": "1"}]}}),
        ))
        .unwrap();
        assert_eq!(cfg.server.label(), "stdio: npx -y 'srv pkg'");
        assert_eq!(cfg.server.transport(), "stdio");
        let cfg = McpConfig::from_spec(&spec(
            "mcp",
            json!({"mcp": {"url": "https://h/mcp", "toolName": "echo"},
                   "authentication": {"type": "bearer", "secretRef": {"name": "s", "key": "k"}}}),
        ))
        .unwrap();
        assert!(matches!(cfg.server.auth, Some(AuthConfig::Bearer { .. })));
    }

    #[test]
    fn refuses_what_cannot_work_naming_the_field() {
        let errs = McpConfig::from_spec(&spec(
            "mcp",
            json!({"mcp": {"url": "https://u:pw@h/mcp", "toolName": "x", "transport": "sse",
                           "env": [{"name": "A"}]}}),
        ))
        .unwrap_err();
        assert_eq!(paths(&errs), ["spec.mcp.url", "spec.mcp.transport", "spec.mcp.env", "spec.mcp.env[0]"]);
        assert!(!errs.iter().any(|e| e.message.contains("pw")));

        let errs = McpConfig::from_spec(&spec(
            "mcp",
            json!({"mcp": {"command": [""], "toolName": "x", "transport": "streamableHttp",
                           "serverRef": {"name": "s"}},
                   "authentication": {"type": "bearer", "secretRef": {"name": "s", "key": "k"}}}),
        ))
        .unwrap_err();
        assert_eq!(
            paths(&errs),
            ["spec.mcp", "spec.mcp.serverRef", "spec.mcp.command[0]", "spec.mcp.transport", "spec.authentication"]
        );
    }

    #[test]
    fn token_exchange_for_mcp_tools_only() {
        let auth = json!({"type": "tokenExchange", "tokenUrl": "https://idp/token", "clientId": "gw", "audience": "https://s"});
        let cfg = McpConfig::from_spec(&spec(
            "mcp",
            json!({"mcp": {"url": "https://h/mcp", "toolName": "echo"}, "authentication": auth.clone()}),
        ))
        .unwrap();
        let Some(AuthConfig::TokenExchange(x)) = cfg.server.auth else { panic!("{:?}", cfg.server.auth) };
        assert_eq!(x.audience.as_deref(), Some("https://s"));
        let errs = AgentConfig::from_spec(&spec(
            "agent",
            json!({"agent": {"name": "r", "url": "https://h/mcp"}, "authentication": auth.clone()}),
        ))
        .unwrap_err();
        assert_eq!(paths(&errs), ["spec.authentication.type"]);
        let upstream: RegistryUpstream =
            serde_json::from_value(json!({"name": "u", "mcp": {"url": "https://h/mcp"}, "authentication": auth}))
                .unwrap();
        let mut errs = Vec::new();
        assert!(upstream_server("spec.upstreams[0]", &upstream, &mut errs).is_some());
        assert_eq!(paths(&errs), ["spec.upstreams[0].authentication.type"]);
        assert!(errs[0].message.contains("caller's token"), "{}", errs[0].message);
    }

    #[test]
    fn agents_over_mcp_or_http() {
        let a = |v: serde_json::Value| AgentConfig::from_spec(&spec("agent", json!({"agent": v})));
        assert_eq!(a(json!({"name": "r", "url": "http://h/mcp"})).unwrap().via, AgentVia::Mcp);
        assert_eq!(a(json!({"name": "r", "url": "http://h/run"})).unwrap().via, AgentVia::Http);
        let forced = a(json!({"name": "r", "url": "http://h/x", "transport": "streamableHttp"})).unwrap();
        assert_eq!(forced.via, AgentVia::Mcp);
        assert_eq!(paths(&a(json!({"name": "r"})).unwrap_err()), ["spec.agent.url"]);
        assert_eq!(
            paths(&a(json!({"name": "r", "url": "http://h", "transport": "stdio"})).unwrap_err()),
            ["spec.agent.transport"]
        );
    }
}
