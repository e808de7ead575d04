//! The behaviour every connector shares, checked the same way for each: probe, error
//! classification, redaction and caps, each selected by the connector's declared
//! [`Capabilities`](toolkit_core::connector::Capabilities).
//!
//! A connector's integration test describes how to reach its real server (or stand-in) once, as a
//! [`Suite`], and calls [`Suite::run`]:
//!
//! ```no_run
//! # async fn demo(connector: &dyn toolkit_core::connector::Connector) {
//! use serde_json::json;
//! use toolkit_testkit::behaviour::{Suite, set_connect_timeout, set_host_port};
//!
//! let canary = toolkit_testkit::canary();
//! Suite {
//!     connector,
//!     spec: json!({"type": "redis", "config": {
//!         "hostname": "127.0.0.1", "port": 6379, "username": "app",
//!         "credentialsRef": {"name": "cred", "key": "password"}}}),
//!     secrets: vec![("cred".into(), "password".into(), canary.clone())],
//!     canary,
//!     password: Some(("cred".into(), "password".into())),
//!     endpoint: Some(set_host_port),
//!     timeout: Some(set_connect_timeout),
//!     require_tls: None,
//!     call: Some(json!({"command": ["KEYS", "*"]})),
//! }
//! .run()
//! .await;
//! # }
//! ```
//!
//! The checks:
//! * the connector's declared capabilities match what the instance does
//!   ([`check_capabilities`]);
//! * the spec validates, and no output, error or session env `Debug` holds the canary;
//! * the probe succeeds against the real server;
//! * a wrong password is `Auth`, a closed port `Unreachable`, a server that accepts and never
//!   answers `Timeout` (within the timeout the spec sets, not the test's), and TLS demanded from a
//!   server without it `Unreachable` (or `Timeout`, for servers that wait for the rest of what
//!   they take for a command);
//! * every error is one line and names no secret;
//! * a call capped at one row says it was truncated.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value, json};
use toolkit_core::connector::{BuildContext, CallLimits, Connector, Invocation, NoTools, ToolInstance};
use toolkit_core::manifest::ConfigMaps;
use toolkit_core::secret::{SecretStore, SecretString};
use toolkit_core::{ErrorKind, Tool, ToolSpec};

/// Namespace of the tools the suite builds.
pub const NAMESPACE: &str = "tk-test";

/// How long a probe may take before the suite calls it hung; well above the 1 s the spec sets.
const HANG: Duration = Duration::from_secs(20);

/// Builds `spec` (JSON of a `ToolSpec`) with `connector`, with `secrets` as `(name, key, value)`
/// Secret entries in [`NAMESPACE`].
///
/// # Panics
/// When the spec does not parse or validate: the suite's own specs must be valid.
pub fn build(
    connector: &dyn Connector,
    spec: &Value,
    secrets: &[(String, String, String)],
) -> toolkit_core::Result<Arc<dyn ToolInstance>> {
    let spec: ToolSpec = serde_json::from_value(spec.clone()).expect("the spec parses");
    let problems = connector.validate(&spec);
    assert!(problems.is_empty(), "the spec does not validate: {problems:?}");
    let mut store = SecretStore::default();
    let mut by_name: BTreeMap<&str, BTreeMap<String, SecretString>> = BTreeMap::new();
    for (name, key, value) in secrets {
        by_name.entry(name).or_default().insert(key.clone(), SecretString::new(value.as_str()));
    }
    for (name, data) in by_name {
        store.insert(NAMESPACE, name, data);
    }
    let mut tool = Tool::new("behaviour", spec);
    tool.metadata.namespace = Some(NAMESPACE.into());
    connector.build(BuildContext {
        tool: Arc::new(tool),
        namespace: NAMESPACE.into(),
        name: "behaviour".into(),
        secrets: Arc::new(store),
        config_maps: Arc::new(ConfigMaps::default()),
        tools: Arc::new(NoTools),
    })
}

/// Checks that `connector`'s declared [`Capabilities`](toolkit_core::Capabilities) match
/// `instance`, built from `spec`: a probe exactly when `probe`; an invoker exactly when
/// `invoke`; a session that opens (or fails for a reason other than `Unsupported`) exactly when
/// `session`; a permissions provisioner when `permissions_plan` and the spec declares
/// permissions, and none without `permissions_plan`; `permissions_apply` only with
/// `permissions_plan`; and a spec with `readOnly: true` that validates only where the type
/// enforces it, at the engine (`read_only`) or by classifying its requests.
///
/// # Panics
/// On the first capability that is declared but missing, or present but not declared.
pub async fn check_capabilities(connector: &dyn Connector, instance: &dyn ToolInstance, spec: &ToolSpec) {
    let caps = connector.capabilities();
    let name = connector.info().name;
    assert_eq!(caps.probe, instance.probe().is_some(), "{name}: capabilities say probe={}", caps.probe);
    assert_eq!(caps.invoke, instance.invoker().is_some(), "{name}: capabilities say invoke={}", caps.invoke);
    match instance.open_session().await {
        Ok(session) => {
            assert!(caps.session, "{name}: a session opened, but capabilities say session=false");
            session.close().await;
        }
        Err(e) if e.kind() == ErrorKind::Unsupported => {
            assert!(!caps.session, "{name}: capabilities say session=true, but opening one is unsupported: {e}");
        }
        Err(e) => assert!(caps.session, "{name}: opening a session failed ({e}) though capabilities say session=false"),
    }
    if !caps.permissions_plan {
        assert!(instance.permissions().is_none(), "{name}: a permissions provisioner, but permissions_plan=false");
    } else if spec.permissions.is_some() {
        assert!(
            instance.permissions().is_some(),
            "{name}: capabilities say permissions_plan, the spec declares permissions, and there is no provisioner"
        );
    }
    assert!(!caps.permissions_apply || caps.permissions_plan, "{name}: permissions_apply without permissions_plan");
    if spec.read_only && !caps.read_only {
        let probe_call = serde_json::Map::new();
        assert!(
            instance.classify(toolkit_core::Request::Call(&probe_call)).is_some(),
            "{name}: readOnly tools validate, but the type neither enforces readOnly at the engine nor classifies requests"
        );
    }
}

/// Merges `extra` into `spec`: top-level keys of `extra` replace those of `spec`, except that
/// two objects (such as `config`) are merged key by key. For tests that vary one base spec.
pub fn merge(spec: &mut Value, extra: Value) {
    if let (Some(base), Value::Object(more)) = (spec.as_object_mut(), extra) {
        for (k, v) in more {
            match (base.get_mut(&k), v) {
                (Some(Value::Object(b)), Value::Object(m)) => b.extend(m),
                (_, v) => {
                    base.insert(k, v);
                }
            }
        }
    }
}

/// Sets `spec.config.hostname` and `spec.config.port`.
pub fn set_host_port(spec: &mut Value, host: &str, port: u16) {
    let config = config_of(spec);
    config.insert("hostname".into(), json!(host));
    config.insert("port".into(), json!(port));
}

/// Sets `spec.config.connectTimeout`.
pub fn set_connect_timeout(spec: &mut Value, timeout: &str) {
    config_of(spec).insert("connectTimeout".into(), json!(timeout));
}

/// Sets `spec.timeout`, for types whose connection timeout is the call's.
pub fn set_tool_timeout(spec: &mut Value, timeout: &str) {
    spec.as_object_mut().expect("the spec is an object").insert("timeout".into(), json!(timeout));
}

fn config_of(spec: &mut Value) -> &mut Map<String, Value> {
    let obj = spec.as_object_mut().expect("the spec is an object");
    obj.entry("config").or_insert_with(|| json!({})).as_object_mut().expect("spec.config is an object")
}

/// One connector against one real server.
pub struct Suite<'a> {
    /// The connector under test.
    pub connector: &'a dyn Connector,
    /// A spec that reaches the server.
    pub spec: Value,
    /// Secret entries `(name, key, value)` the spec refers to.
    pub secrets: Vec<(String, String, String)>,
    /// A value that must appear in no output: the password, or planted in a Secret.
    pub canary: String,
    /// The Secret entry `(name, key)` holding the password; replaced by a wrong one for the
    /// `Auth` check. `None` for types without a password.
    pub password: Option<(String, String)>,
    /// Points the spec at another `host:port`. `None` for types that reach nothing over the
    /// network (a database file): the unreachable and hung-server checks are skipped.
    pub endpoint: Option<fn(&mut Value, &str, u16)>,
    /// Sets the connect timeout (`"1s"`) the `Timeout` check relies on.
    pub timeout: Option<fn(&mut Value, &str)>,
    /// Makes the spec demand TLS, which the test server does not offer. `None` when the type
    /// has no TLS setting.
    pub require_tls: Option<fn(&mut Value)>,
    /// Arguments of a call that returns at least two rows or items, for the caps check.
    pub call: Option<Value>,
}

impl Suite<'_> {
    /// Runs every check the connector's capabilities select.
    ///
    /// # Panics
    /// On the first check that fails, with what was expected and what happened.
    pub async fn run(self) {
        let caps = self.connector.capabilities();
        let tool = build(self.connector, &self.spec, &self.secrets).expect("build does no I/O and succeeds");
        let spec: ToolSpec = serde_json::from_value(self.spec.clone()).expect("the spec parses");
        check_capabilities(self.connector, tool.as_ref(), &spec).await;

        if caps.probe {
            let probe = tool.probe().expect("capabilities say probe");
            let report = probe.probe().await;
            let report = report.unwrap_or_else(|e| panic!("probe of the real server failed: {e}"));
            self.clean(&format!("{report:?}"), "the probe report");
            self.wrong_password().await;
            self.unreachable().await;
            self.hung_server().await;
            self.tls_mismatch().await;
        }

        if caps.session {
            let session = tool.open_session().await;
            let session = session.unwrap_or_else(|e| panic!("opening a session failed: {e}"));
            self.clean(&format!("{:?}", session.env()), "the session env's Debug output");
            session.close().await;
        }

        if caps.invoke
            && let Some(call) = &self.call
        {
            let invoker = tool.invoker().expect("capabilities say invoke");
            let arguments = call.as_object().cloned().expect("call arguments are an object");
            let limits = CallLimits { max_rows: 1, ..CallLimits::default() };
            let out = invoker.invoke(Invocation { arguments, limits, subject_token: None }).await;
            let out = out.unwrap_or_else(|e| panic!("the capped call failed: {e}"));
            self.clean(&format!("{out:?}"), "the capped call's output");
            assert!(out.truncated, "a call capped at one row must say it was truncated: {}", out.content);
        }
    }

    /// The checks that need no real server: a closed port is `Unreachable`, a server that never
    /// answers times out, and neither error is more than one line or names a secret. For types
    /// whose server cannot run here (their request building and response parsing are tested
    /// against recorded messages instead).
    ///
    /// # Panics
    /// On the first check that fails.
    pub async fn run_without_server(self) {
        let tool = build(self.connector, &self.spec, &self.secrets).expect("build does no I/O and succeeds");
        let spec: ToolSpec = serde_json::from_value(self.spec.clone()).expect("the spec parses");
        check_capabilities(self.connector, tool.as_ref(), &spec).await;
        if self.connector.capabilities().probe {
            self.unreachable().await;
            self.hung_server().await;
        }
    }

    async fn probe_error(&self, spec: &Value, secrets: &[(String, String, String)], what: &str) -> toolkit_core::Error {
        let tool = match build(self.connector, spec, secrets) {
            Ok(tool) => tool,
            Err(e) => return self.checked(e, what),
        };
        let probe = tool.probe().expect("capabilities say probe");
        match tokio::time::timeout(HANG, probe.probe()).await {
            Err(_) => panic!("{what}: the probe hung past {HANG:?}; the spec's timeout was not honoured"),
            Ok(Ok(report)) => panic!("{what}: the probe succeeded: {report:?}"),
            Ok(Err(e)) => self.checked(e, what),
        }
    }

    fn checked(&self, e: toolkit_core::Error, what: &str) -> toolkit_core::Error {
        let text = format!("{e}");
        assert!(!text.contains('\n'), "{what}: the error is not one line: {text:?}");
        self.clean(&format!("{e} {e:?}"), what);
        e
    }

    async fn wrong_password(&self) {
        let Some((name, key)) = &self.password else { return };
        let wrong = format!("wrong-{}", self.canary);
        let secrets: Vec<_> = self
            .secrets
            .iter()
            .map(|(n, k, v)| {
                if n == name && k == key {
                    (n.clone(), k.clone(), wrong.clone())
                } else {
                    (n.clone(), k.clone(), v.clone())
                }
            })
            .collect();
        let e = self.probe_error(&self.spec, &secrets, "a wrong password").await;
        assert_eq!(e.kind(), ErrorKind::Auth, "a wrong password must be an auth error: {e}");
    }

    async fn unreachable(&self) {
        let Some(endpoint) = self.endpoint else { return };
        // A port that was just free: nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
        let mut spec = self.spec.clone();
        endpoint(&mut spec, "127.0.0.1", port);
        let e = self.probe_error(&spec, &self.secrets, "a closed port").await;
        assert_eq!(e.kind(), ErrorKind::Unreachable, "a closed port must be unreachable: {e}");
    }

    async fn hung_server(&self) {
        let (Some(endpoint), Some(timeout)) = (self.endpoint, self.timeout) else { return };
        // Accepts connections and never answers.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let holder = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        let mut spec = self.spec.clone();
        endpoint(&mut spec, "127.0.0.1", port);
        timeout(&mut spec, "1s");
        let e = self.probe_error(&spec, &self.secrets, "a server that never answers").await;
        holder.abort();
        assert_eq!(e.kind(), ErrorKind::Timeout, "a server that never answers must time out: {e}");
    }

    async fn tls_mismatch(&self) {
        let Some(require_tls) = self.require_tls else { return };
        let mut spec = self.spec.clone();
        require_tls(&mut spec);
        let e = self.probe_error(&spec, &self.secrets, "TLS demanded from a server without it").await;
        // Some servers read a TLS ClientHello as the start of a command and wait for the rest.
        assert!(
            matches!(e.kind(), ErrorKind::Unreachable | ErrorKind::Timeout),
            "a TLS mismatch must be unreachable (or time out, where the server waits): {e}"
        );
    }

    fn clean(&self, text: &str, what: &str) {
        assert!(!text.contains(&self.canary), "the canary secret leaked in {what}: {text}");
    }
}
