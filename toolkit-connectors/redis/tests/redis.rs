//! Against a real Redis 7 (`TOOLKIT_TEST_REDIS_HOST`, `TOOLKIT_TEST_REDIS_PORT`). Each test makes
//! its own ACL user with a canary password and a key prefix, and deletes them afterwards.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value, json};
use toolkit_connector_redis::RedisConnector;
use toolkit_core::connector::{BuildContext, CallLimits, Connector, Invocation, ToolInstance};
use toolkit_core::manifest::ConfigMaps;
use toolkit_core::model::SecretKeySelector;
use toolkit_core::secret::{SecretResolver, SecretStore, SecretString};
use toolkit_core::{ErrorKind, Tool, ToolSpec};

const NS: &str = toolkit_testkit::behaviour::NAMESPACE;

struct Fixture {
    host: String,
    port: u16,
    user: String,
    canary: String,
    prefix: String,
    admin: redis::aio::MultiplexedConnection,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        // Runs even when a test fails; a blocking connection is fine in test teardown.
        if let Ok(mut c) =
            redis::Client::open(format!("redis://{}:{}/", self.host, self.port)).and_then(|c| c.get_connection())
        {
            let _: redis::RedisResult<redis::Value> =
                redis::cmd("ACL").arg("DELUSER").arg(&self.user).arg(format!("{}_p", self.user)).query(&mut c);
            let keys: Vec<String> =
                redis::cmd("KEYS").arg(format!("{}*", self.prefix)).query(&mut c).unwrap_or_default();
            if !keys.is_empty() {
                let _: redis::RedisResult<i64> = redis::cmd("DEL").arg(keys).query(&mut c);
            }
        }
    }
}

async fn fixture() -> Option<Fixture> {
    let host = toolkit_testkit::service("TOOLKIT_TEST_REDIS_HOST")?;
    let port = toolkit_testkit::service("TOOLKIT_TEST_REDIS_PORT").and_then(|p| p.parse().ok()).unwrap_or(6379);
    let client = redis::Client::open(format!("redis://{host}:{port}/")).unwrap();
    let mut admin = client.get_multiplexed_async_connection().await.unwrap();
    let user = toolkit_testkit::unique_name("tk");
    let canary = toolkit_testkit::canary();
    let prefix = format!("{user}:");
    let _: redis::Value = redis::cmd("ACL")
        .arg(&["SETUSER", &user, "on", &format!(">{canary}"), &format!("~{prefix}*"), "+@all"])
        .query_async(&mut admin)
        .await
        .unwrap();
    Some(Fixture { host, port, user, canary, prefix, admin })
}

impl Fixture {
    fn spec(&self, extra: Value) -> Value {
        let mut spec = json!({
            "type": "redis",
            "config": {
                "hostname": self.host, "port": self.port, "username": self.user,
                "credentialsRef": {"name": "redis-cred", "key": "password"},
                "connectTimeout": "2s"
            }
        });
        toolkit_testkit::behaviour::merge(&mut spec, extra);
        spec
    }

    fn tool(&self, extra: Value) -> Arc<dyn ToolInstance> {
        self.tool_with_password(extra, &self.canary)
    }

    fn tool_with_password(&self, extra: Value, password: &str) -> Arc<dyn ToolInstance> {
        let mut store = SecretStore::default();
        store.insert(NS, "redis-cred", BTreeMap::from([("password".to_owned(), SecretString::new(password))]));
        self.tool_with_secrets(extra, Arc::new(store))
    }

    fn tool_with_secrets(&self, extra: Value, secrets: Arc<dyn SecretResolver>) -> Arc<dyn ToolInstance> {
        let spec: ToolSpec = serde_json::from_value(self.spec(extra)).unwrap();
        assert_eq!(RedisConnector.validate(&spec), vec![]);
        let mut tool = Tool::new("cache", spec);
        tool.metadata.namespace = Some(NS.into());
        let ctx = BuildContext {
            tool: Arc::new(tool),
            namespace: NS.into(),
            name: "cache".into(),
            secrets,
            config_maps: Arc::new(ConfigMaps::default()),
            tools: std::sync::Arc::new(toolkit_core::connector::NoTools),
        };
        RedisConnector.build(ctx).unwrap()
    }

    fn key(&self, k: &str) -> String {
        format!("{}{k}", self.prefix)
    }

    fn assert_clean(&self, text: &str) {
        assert!(!text.contains(&self.canary), "canary leaked: {text}");
    }

    /// Runs `argv` through the tool; errors are checked for the canary.
    async fn call(&self, tool: &Arc<dyn ToolInstance>, argv: &[&str]) -> toolkit_core::Result<Value> {
        self.call_limited(tool, json!(argv), CallLimits::default()).await.map(|(v, _)| v)
    }

    async fn call_limited(
        &self,
        tool: &Arc<dyn ToolInstance>,
        command: Value,
        limits: CallLimits,
    ) -> toolkit_core::Result<(Value, bool)> {
        let mut arguments = Map::new();
        arguments.insert("command".into(), command);
        let result = tool.invoker().unwrap().invoke(Invocation { arguments, limits, subject_token: None }).await;
        match &result {
            Ok(out) => self.assert_clean(&format!("{out:?}")),
            Err(e) => self.assert_clean(&format!("{e} {e:?}")),
        }
        result.map(|o| (o.content, o.truncated))
    }
}

#[tokio::test]
async fn probe_reports_the_server_version() {
    let Some(fx) = fixture().await else { return };
    let tool = fx.tool(json!({}));
    let report = tool.probe().unwrap().probe().await.unwrap();
    let version = report.server_version.unwrap();
    assert!(version.starts_with(|c: char| c.is_ascii_digit()), "{version}");
    assert_eq!(report.details.get("mode").map(String::as_str), Some("standalone"));
}

#[tokio::test]
async fn replies_become_json() {
    let Some(fx) = fixture().await else { return };
    let tool = fx.tool(json!({}));
    let (s, h, l, set) = (fx.key("s"), fx.key("h"), fx.key("l"), fx.key("set"));
    assert_eq!(fx.call(&tool, &["SET", &s, "héllo \"x\""]).await.unwrap(), json!("OK"));
    assert_eq!(fx.call(&tool, &["GET", &s]).await.unwrap(), json!("héllo \"x\""));
    assert_eq!(fx.call(&tool, &["GET", &fx.key("missing")]).await.unwrap(), Value::Null);
    assert_eq!(fx.call(&tool, &["HSET", &h, "f1", "v1", "f2", "2"]).await.unwrap(), json!(2));
    assert_eq!(fx.call(&tool, &["HGETALL", &h]).await.unwrap(), json!({"f1": "v1", "f2": "2"}));
    fx.call(&tool, &["RPUSH", &l, "a", "b", "c"]).await.unwrap();
    assert_eq!(fx.call(&tool, &["LRANGE", &l, "0", "-1"]).await.unwrap(), json!(["a", "b", "c"]));
    fx.call(&tool, &["SADD", &set, "m"]).await.unwrap();
    assert_eq!(fx.call(&tool, &["SMEMBERS", &set]).await.unwrap(), json!(["m"]));
    assert_eq!(fx.call(&tool, &["SISMEMBER", &set, "m"]).await.unwrap(), json!(1));
    // One line, split like a shell would.
    let line = format!("GET '{s}'");
    let (v, _) = fx.call_limited(&tool, json!(line), CallLimits::default()).await.unwrap();
    assert_eq!(v, json!("héllo \"x\""));
    // Errors of the caller's making.
    assert_eq!(fx.call(&tool, &["NOSUCHCOMMAND"]).await.unwrap_err().kind(), ErrorKind::InvalidInput);
    assert_eq!(fx.call(&tool, &["GET"]).await.unwrap_err().kind(), ErrorKind::InvalidInput);
    assert_eq!(fx.call(&tool, &["LPUSH", &s, "x"]).await.unwrap_err().kind(), ErrorKind::InvalidInput);
    assert_eq!(fx.call(&tool, &["SELECT", "1"]).await.unwrap_err().kind(), ErrorKind::Unsupported);
}

#[tokio::test]
async fn large_replies_are_cut() {
    let Some(fx) = fixture().await else { return };
    let tool = fx.tool(json!({}));
    let (l, s) = (fx.key("big-list"), fx.key("big-string"));
    let mut push = vec!["RPUSH".to_owned(), l.clone()];
    push.extend((0..100).map(|i| i.to_string()));
    fx.call_limited(&tool, json!(push), CallLimits::default()).await.unwrap();
    let limits = CallLimits { max_rows: 10, ..CallLimits::default() };
    let (v, truncated) = fx.call_limited(&tool, json!(["LRANGE", l, "0", "-1"]), limits).await.unwrap();
    assert_eq!((v.as_array().unwrap().len(), truncated), (10, true));

    fx.call(&tool, &["SET", &s, &"x".repeat(10_000)]).await.unwrap();
    let limits = CallLimits { max_output_bytes: 100, ..CallLimits::default() };
    let (v, truncated) = fx.call_limited(&tool, json!(["GET", s]), limits).await.unwrap();
    assert!(truncated && v.as_str().unwrap().len() <= 100);
}

#[tokio::test]
async fn read_only_tools_refuse_writes() {
    let Some(fx) = fixture().await else { return };
    let writer = fx.tool(json!({}));
    let reader = fx.tool(json!({"readOnly": true}));
    let k = fx.key("ro");
    fx.call(&writer, &["SET", &k, "v"]).await.unwrap();
    assert_eq!(fx.call(&reader, &["GET", &k]).await.unwrap(), json!("v"));
    assert_eq!(fx.call(&reader, &["PING"]).await.unwrap(), json!("PONG"));
    // INFO only reads, though Redis files it under @dangerous.
    let info = fx.call(&reader, &["INFO", "server"]).await.unwrap();
    assert!(info.as_str().is_some_and(|t| t.contains("redis_version")), "{info}");
    for argv in [
        vec!["SET", &k, "w"],
        vec!["DEL", &k],
        vec!["FLUSHALL"],
        vec!["CONFIG", "SET", "maxmemory", "1"],
        vec!["EVAL", "return 1", "0"],
    ] {
        let err = fx.call(&reader, &argv).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Denied, "{argv:?}: {err}");
    }
    assert_eq!(fx.call(&reader, &["CONFIG"]).await.unwrap_err().kind(), ErrorKind::InvalidInput);
    assert_eq!(fx.call(&writer, &["GET", &k]).await.unwrap(), json!("v"));
}

#[tokio::test]
async fn failures_are_classified() {
    let Some(fx) = fixture().await else { return };
    let wrong = fx.tool_with_password(json!({}), "not-the-password");
    let err = fx.call(&wrong, &["PING"]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth, "{err}");
    assert!(!format!("{err} {err:?}").contains("not-the-password"));
    assert_eq!(wrong.probe().unwrap().probe().await.unwrap_err().kind(), ErrorKind::Auth);

    let tool = fx.tool(json!({}));
    let err = fx.call(&tool, &["GET", "outside-the-prefix"]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Denied, "{err}");

    // Blocking commands would stall the shared connection; a session has its own.
    let err = fx.call(&tool, &["BLPOP", &fx.key("never"), "2"]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    let session = tool.open_session().await.unwrap();
    let limits = CallLimits { timeout: Duration::from_millis(200), ..CallLimits::default() };
    let err = session.exec(&["BLPOP".into(), fx.key("never"), "1".into()], &limits).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert!(err.is_retryable());

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let gone = fx.tool(json!({"config": {"hostname": "127.0.0.1", "port": port}}));
    let err = fx.call(&gone, &["PING"]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unreachable, "{err}");
    assert!(err.is_retryable());
}

/// A secret that can change between calls, as a rotated Kubernetes Secret does.
struct Rotating(std::sync::Mutex<String>);

#[async_trait::async_trait]
impl SecretResolver for Rotating {
    async fn resolve(&self, _: &str, _: &SecretKeySelector) -> toolkit_core::Result<SecretString> {
        Ok(SecretString::new(self.0.lock().unwrap().clone()))
    }

    fn known_values(&self, _: &str) -> Vec<SecretString> {
        Vec::new()
    }
}

#[tokio::test]
async fn a_rotated_password_is_picked_up_after_an_auth_failure() {
    let Some(fx) = fixture().await else { return };
    let secret = Arc::new(Rotating(std::sync::Mutex::new("stale-password".into())));
    let tool = fx.tool_with_secrets(json!({}), secret.clone());
    assert_eq!(fx.call(&tool, &["PING"]).await.unwrap_err().kind(), ErrorKind::Auth);
    *secret.0.lock().unwrap() = fx.canary.clone();
    assert_eq!(fx.call(&tool, &["PING"]).await.unwrap(), json!("PONG"));
}

#[tokio::test]
async fn permissions_are_planned_applied_and_read_back() {
    let Some(mut fx) = fixture().await else { return };
    let role = format!("{}_p", fx.user);
    let rules = json!([
        {"keys": ["app:*"], "commands": ["+@read", "-@dangerous"]},
        {"keys": ["jobs:*"], "commands": ["+lpush"]}
    ]);
    let tool = fx.tool(json!({"permissions": {"mode": "enforce", "role": role, "rules": rules}}));
    let prov = tool.permissions().unwrap();
    let plan = prov.plan().await.unwrap();
    assert_eq!(plan.principal, role);
    assert_eq!(
        plan.statements,
        [format!(
            "ACL SETUSER {role} on resetkeys resetchannels -@all clearselectors ~app:* +@read -@dangerous (~jobs:* +lpush)"
        )]
    );
    prov.apply(&plan).await.unwrap();
    let after = prov.plan().await.unwrap();
    let current = after.current.join("\n");
    assert!(current.contains("keys: ~app:*"), "{current}");
    // Redis spells `-@dangerous` out as the dangerous commands it removes from `+@read`.
    assert!(current.contains("+@read") && current.contains("-keys"), "{current}");
    assert!(current.contains("~jobs:*") && current.contains("+lpush"), "{current}");
    assert!(!current.contains("passwords"));

    let acl: redis::Value = redis::cmd("ACL").arg("GETUSER").arg(&role).query_async(&mut fx.admin).await.unwrap();
    assert!(format!("{acl:?}").contains("~app:*"), "{acl:?}");

    let declared =
        fx.tool(json!({"permissions": {"mode": "declare", "role": role, "rules": [{"commands": ["+ping"]}]}}));
    let prov = declared.permissions().unwrap();
    let plan = prov.plan().await.unwrap();
    assert_eq!(prov.apply(&plan).await.unwrap_err().kind(), ErrorKind::Denied);
}

#[tokio::test]
async fn sessions_carry_env_and_run_commands() {
    let Some(fx) = fixture().await else { return };
    let tool = fx.tool(json!({"config": {"db": 1}}));
    let session = tool.open_session().await.unwrap();
    let env = session.env();
    let url = env.iter().find(|e| e.name == "REDIS_URL").unwrap();
    assert_eq!(url.value.to_string(), format!("redis://{}@{}:{}/1", fx.user, fx.host, fx.port));
    let auth = env.iter().find(|e| e.name == "REDISCLI_AUTH").unwrap();
    assert_eq!(auth.value.to_string(), "[redacted]");
    assert_eq!(auth.value.expose(), fx.canary);
    fx.assert_clean(&format!("{env:?}"));
    assert_eq!(session.client().unwrap()[0], "redis-cli");

    let k = fx.key("session");
    let limits = CallLimits::default();
    let out = session.exec(&["SET".into(), k.clone(), "1".into()], &limits).await.unwrap();
    assert_eq!(out.content, json!("OK"));
    // A session has its own connection, so connection state is allowed.
    assert_eq!(session.exec(&["SELECT".into(), "0".into()], &limits).await.unwrap().content, json!("OK"));
    assert_eq!(session.exec(&[format!("EXISTS {k}")], &limits).await.unwrap().content, json!(0));
    session.close().await;
    assert!(session.exec(&["PING".into()], &limits).await.is_err());
}

#[tokio::test]
async fn shared_behaviour_suite() {
    let Some(fx) = fixture().await else { return };
    toolkit_testkit::behaviour::Suite {
        connector: &RedisConnector,
        spec: fx.spec(json!({})),
        secrets: vec![("redis-cred".into(), "password".into(), fx.canary.clone())],
        canary: fx.canary.clone(),
        password: Some(("redis-cred".into(), "password".into())),
        endpoint: Some(toolkit_testkit::behaviour::set_host_port),
        timeout: Some(toolkit_testkit::behaviour::set_connect_timeout),
        require_tls: Some(|spec| {
            spec["config"]["tls"] = json!(true);
        }),
        call: None,
    }
    .run()
    .await;
}
