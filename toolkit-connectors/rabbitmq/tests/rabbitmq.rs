//! Against a real RabbitMQ (`TOOLKIT_TEST_RABBITMQ_HOST`, `TOOLKIT_TEST_RABBITMQ_PORT`, an admin
//! `TOOLKIT_TEST_RABBITMQ_ADMIN_USER`/`_PASSWORD` that may log in from here). Each test makes its
//! own vhost and a user with a canary password with `rabbitmqctl`, and deletes them afterwards.

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::Arc;

use lapin::options::{BasicPublishOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use lapin::{BasicProperties, ConnectionProperties};
use serde_json::{Map, Value, json};
use toolkit_connector_rabbitmq::{PermissionsPlan, RabbitConnector};
use toolkit_core::connector::{BuildContext, CallLimits, Connector, Invocation, InvokeOutput, ToolInstance};
use toolkit_core::manifest::ConfigMaps;
use toolkit_core::secret::{SecretStore, SecretString};
use toolkit_core::{ErrorKind, Tool, ToolSpec};

const NS: &str = toolkit_testkit::behaviour::NAMESPACE;

fn rabbitmqctl(args: &[&str]) {
    let out = Command::new("rabbitmqctl").arg("-q").args(args).output().expect("run rabbitmqctl");
    assert!(out.status.success(), "rabbitmqctl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

struct Fixture {
    host: String,
    port: u16,
    user: String,
    vhost: String,
    canary: String,
    admin: (String, String),
}

impl Drop for Fixture {
    fn drop(&mut self) {
        // Runs even when a test fails.
        let _ = Command::new("rabbitmqctl").args(["-q", "delete_user", &self.user]).output();
        let _ = Command::new("rabbitmqctl").args(["-q", "delete_vhost", &self.vhost]).output();
    }
}

/// A vhost and a user (password: the canary) with the given permissions on it; the admin user
/// gets all permissions there to set up queues.
fn fixture_with(configure: &str, write: &str, read: &str) -> Option<Fixture> {
    let host = toolkit_testkit::service("TOOLKIT_TEST_RABBITMQ_HOST")?;
    let port = toolkit_testkit::service("TOOLKIT_TEST_RABBITMQ_PORT").and_then(|p| p.parse().ok()).unwrap_or(5672);
    let admin_user = std::env::var("TOOLKIT_TEST_RABBITMQ_ADMIN_USER").unwrap_or_else(|_| "guest".into());
    let admin_password = std::env::var("TOOLKIT_TEST_RABBITMQ_ADMIN_PASSWORD").unwrap_or_else(|_| "guest".into());
    let user = toolkit_testkit::unique_name("tk");
    let vhost = format!("{user}_vh");
    let canary = toolkit_testkit::canary();
    let fx = Fixture { host, port, user, vhost, canary, admin: (admin_user, admin_password) };
    rabbitmqctl(&["add_vhost", &fx.vhost]);
    rabbitmqctl(&["add_user", &fx.user, &fx.canary]);
    rabbitmqctl(&["set_permissions", "-p", &fx.vhost, &fx.user, configure, write, read]);
    rabbitmqctl(&["set_permissions", "-p", &fx.vhost, &fx.admin.0, ".*", ".*", ".*"]);
    Some(fx)
}

fn fixture() -> Option<Fixture> {
    fixture_with(".*", ".*", ".*")
}

impl Fixture {
    fn spec(&self, extra: Value) -> Value {
        let mut spec = json!({
            "type": "rabbitmq",
            "config": {
                "hostname": self.host, "port": self.port, "username": self.user, "vhost": self.vhost,
                "credentialsRef": {"name": "mq-cred", "key": "password"},
                "connectTimeout": "3s"
            }
        });
        toolkit_testkit::behaviour::merge(&mut spec, extra);
        spec
    }

    fn tool(&self, extra: Value) -> Arc<dyn ToolInstance> {
        let spec: ToolSpec = serde_json::from_value(self.spec(extra)).unwrap();
        assert_eq!(RabbitConnector.validate(&spec), vec![]);
        let mut store = SecretStore::default();
        store.insert(NS, "mq-cred", BTreeMap::from([("password".to_owned(), SecretString::new(self.canary.as_str()))]));
        let mut tool = Tool::new("mq", spec);
        tool.metadata.namespace = Some(NS.into());
        RabbitConnector
            .build(BuildContext {
                tool: Arc::new(tool),
                namespace: NS.into(),
                name: "mq".into(),
                secrets: Arc::new(store),
                config_maps: Arc::new(ConfigMaps::default()),
                tools: std::sync::Arc::new(toolkit_core::connector::NoTools),
            })
            .unwrap()
    }

    fn assert_clean(&self, text: &str) {
        assert!(!text.contains(&self.canary), "canary leaked: {text}");
    }

    async fn call_limited(
        &self,
        tool: &Arc<dyn ToolInstance>,
        args: Value,
        limits: CallLimits,
    ) -> toolkit_core::Result<InvokeOutput> {
        let arguments: Map<String, Value> = args.as_object().cloned().unwrap();
        let result = tool.invoker().unwrap().invoke(Invocation { arguments, limits, subject_token: None }).await;
        match &result {
            Ok(out) => self.assert_clean(&format!("{out:?}")),
            Err(e) => self.assert_clean(&format!("{e} {e:?}")),
        }
        result
    }

    async fn call(&self, tool: &Arc<dyn ToolInstance>, args: Value) -> toolkit_core::Result<Value> {
        self.call_limited(tool, args, CallLimits::default()).await.map(|o| o.content)
    }

    /// An admin connection to the fixture's vhost, to declare queues and publish.
    async fn admin(&self) -> lapin::Connection {
        let vhost = self.vhost.replace('/', "%2F");
        let uri = format!("amqp://{}:{}@{}:{}/{vhost}", self.admin.0, self.admin.1, self.host, self.port);
        lapin::Connection::connect(&uri, ConnectionProperties::default()).await.unwrap()
    }

    /// Declares `queue` and puts `bodies` in it.
    async fn queue_with(&self, queue: &str, bodies: &[&str]) {
        let conn = self.admin().await;
        let ch = conn.create_channel().await.unwrap();
        ch.queue_declare(queue.into(), QueueDeclareOptions::default(), FieldTable::default()).await.unwrap();
        for body in bodies {
            ch.basic_publish(
                "".into(),
                queue.into(),
                BasicPublishOptions::default(),
                body.as_bytes(),
                BasicProperties::default(),
            )
            .await
            .unwrap()
            .await
            .unwrap();
        }
        let _ = conn.close(200, "done".into()).await;
    }
}

#[tokio::test]
async fn probe_reports_the_server_version() {
    let Some(fx) = fixture() else { return };
    let report = fx.tool(json!({})).probe().unwrap().probe().await.unwrap();
    let version = report.server_version.clone().unwrap();
    assert!(version.starts_with(|c: char| c.is_ascii_digit()), "{version}");
    assert_eq!(report.details.get("product").map(String::as_str), Some("RabbitMQ"));
    assert_eq!(report.details.get("vhost"), Some(&fx.vhost));
    fx.assert_clean(&format!("{report:?}"));
}

#[tokio::test]
async fn publish_get_requeue_and_queue_info() {
    let Some(fx) = fixture() else { return };
    let queue = "orders";
    fx.queue_with(queue, &[]).await;
    let tool = fx.tool(json!({}));

    for (i, body) in [json!("first"), json!({"n": 2}), json!({"$base64": "/wA="})].into_iter().enumerate() {
        let out = fx
            .call(
                &tool,
                json!({"operation": "publish", "routing_key": queue, "body": body,
                       "headers": {"seq": i, "source": "test"}, "content_type": "text/plain", "message_id": format!("m{i}")}),
            )
            .await
            .unwrap();
        assert_eq!(out["routed"], true, "{out}");
    }
    // Nothing takes a message for this key: the call says it was not routed.
    let out = fx.call(&tool, json!({"operation": "publish", "routing_key": "nowhere", "body": "x"})).await.unwrap();
    assert_eq!(out["routed"], false, "{out}");

    let out = fx.call(&tool, json!({"operation": "get", "queue": queue, "count": 5})).await.unwrap();
    assert_eq!(out["count"], 3, "{out}");
    assert_eq!(out["acked"], false);
    let m = &out["messages"];
    assert_eq!(m[0]["body"], "first");
    assert_eq!(m[0]["routing_key"], queue);
    assert_eq!(m[0]["properties"]["headers"], json!({"seq": 0, "source": "test"}));
    assert_eq!(m[0]["properties"]["content_type"], "text/plain");
    assert_eq!(m[0]["properties"]["message_id"], "m0");
    assert_eq!(m[1]["body"], r#"{"n":2}"#);
    assert_eq!(m[2]["body"], json!({"$base64": "/wA="}));

    // The read did not consume them.
    let info = fx.call(&tool, json!({"operation": "queue_info", "queue": queue})).await.unwrap();
    assert_eq!(info, json!({"queue": queue, "messages": 3, "consumers": 0}));
    let again = fx.call(&tool, json!({"operation": "get", "queue": queue})).await.unwrap();
    assert_eq!(again["messages"][0]["body"], "first");
    assert_eq!(again["messages"][0]["redelivered"], true);

    // ack: true consumes.
    let acked = fx.call(&tool, json!({"operation": "get", "queue": queue, "count": 2, "ack": true})).await.unwrap();
    assert_eq!((acked["count"].clone(), acked["acked"].clone()), (json!(2), json!(true)));
    let info = fx.call(&tool, json!({"operation": "queue_info", "queue": queue})).await.unwrap();
    assert_eq!(info["messages"], 1);

    // A queue that does not exist is the caller's mistake, named in the error.
    let e = fx.call(&tool, json!({"operation": "queue_info", "queue": "missing"})).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert!(e.to_string().contains("missing"), "{e}");
    // The tool keeps working after a channel error.
    assert_eq!(fx.call(&tool, json!({"operation": "queue_info", "queue": queue})).await.unwrap()["messages"], 1);
    let e = fx.call(&tool, json!({"operation": "publish", "exchange": "nope", "body": "x"})).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
}

#[tokio::test]
async fn caps_cut_rows_and_bytes() {
    let Some(fx) = fixture() else { return };
    fx.queue_with("big", &["a", "b", "c"]).await;
    let tool = fx.tool(json!({}));
    let limits = CallLimits { max_rows: 2, ..CallLimits::default() };
    let out = fx.call_limited(&tool, json!({"operation": "get", "queue": "big", "count": 3}), limits).await.unwrap();
    assert!(out.truncated);
    assert_eq!(out.content["count"], 2);
    assert_eq!(out.content["truncated"], true);
    // Asking for exactly what is returned is not truncated.
    let out = fx.call_limited(&tool, json!({"operation": "get", "queue": "big", "count": 2}), limits).await.unwrap();
    assert!(!out.truncated, "{}", out.content);

    fx.queue_with("long", &[&"x".repeat(5000)]).await;
    let limits = CallLimits { max_output_bytes: 1000, ..CallLimits::default() };
    let out = fx.call_limited(&tool, json!({"operation": "get", "queue": "long"}), limits).await.unwrap();
    assert!(out.truncated);
    let m = &out.content["messages"][0];
    assert_eq!(m["body_truncated"], true);
    assert_eq!(m["body_bytes"], 5000);
    assert!(m.to_string().len() <= 1000, "{m}");
    // All of it is still there.
    let info = fx.call(&tool, json!({"operation": "queue_info", "queue": "long"})).await.unwrap();
    assert_eq!(info["messages"], 1);
}

#[tokio::test]
async fn read_only_refuses_publish_and_the_permission_plan_makes_the_server_refuse_too() {
    let Some(fx) = fixture_with(".*", ".*", ".*") else { return };
    fx.queue_with("q", &["one"]).await;
    let rules =
        json!({"permissions": {"mode": "declare", "rules": [{"configure": "^$", "write": "^$", "read": ".*"}]}});
    let mut extra = rules.clone();
    extra["readOnly"] = json!(true);
    let tool = fx.tool(extra);
    let e = fx.call(&tool, json!({"operation": "publish", "routing_key": "q", "body": "x"})).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Denied, "{e}");
    let e = fx.call(&tool, json!({"operation": "get", "queue": "q", "ack": true})).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Denied, "{e}");
    let out = fx.call(&tool, json!({"operation": "get", "queue": "q"})).await.unwrap();
    assert_eq!(out["messages"][0]["body"], "one");

    // The plan, run with rabbitmqctl, takes write away at the server.
    let plan = tool.permissions().unwrap().plan().await.unwrap();
    assert_eq!(plan.principal, fx.user);
    assert_eq!(plan.statements[0], format!("rabbitmqctl set_permissions -p {} {} '^$' '^$' '.*'", fx.vhost, fx.user));
    assert!(plan.statements[1].starts_with(&format!("PUT /api/permissions/{}/{} ", fx.vhost, fx.user)));
    assert_eq!(
        tool.permissions().unwrap().apply(&plan).await.unwrap_err().kind(),
        ErrorKind::Unsupported,
        "AMQP cannot grant"
    );
    let spec: ToolSpec = serde_json::from_value(fx.spec(rules)).unwrap();
    let grants = PermissionsPlan::from_spec(spec.permissions.as_ref().unwrap(), &fx.user, &fx.vhost, false).unwrap();
    let g = &grants.grants[0];
    rabbitmqctl(&["set_permissions", "-p", &g.vhost, &grants.user, &g.configure, &g.write, &g.read]);

    // A tool that is not read-only now meets the server's refusal.
    let writer = fx.tool(json!({}));
    let e = fx.call(&writer, json!({"operation": "publish", "routing_key": "q", "body": "x"})).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Denied, "{e}");
    assert!(e.to_string().contains("ACCESS_REFUSED"), "{e}");
    let out = fx.call(&writer, json!({"operation": "queue_info", "queue": "q"})).await.unwrap();
    assert_eq!(out["messages"], 1);
}

#[tokio::test]
async fn sessions_carry_env_and_run_operations() {
    let Some(fx) = fixture() else { return };
    fx.queue_with("s", &["hello"]).await;
    let tool = fx.tool(json!({}));
    let session = tool.open_session().await.unwrap();
    let env = session.env();
    fx.assert_clean(&format!("{env:?}"));
    let url = env.iter().find(|e| e.name == "AMQP_URL").unwrap();
    assert_eq!(url.value.to_string(), "[redacted]");
    assert_eq!(url.value.expose(), format!("amqp://{}:{}@{}:{}/{}", fx.user, fx.canary, fx.host, fx.port, fx.vhost));
    let vhost = env.iter().find(|e| e.name == "RABBITMQ_VHOST").unwrap();
    assert_eq!(vhost.value.to_string(), fx.vhost);

    let limits = CallLimits::default();
    let words = |w: &[&str]| w.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let out = session.exec(&words(&["get", "queue=s", "count=2"]), &limits).await.unwrap();
    assert_eq!(out.content["messages"][0]["body"], "hello");
    let out = session.exec(&words(&[r#"{"operation": "queue_info", "queue": "s"}"#]), &limits).await.unwrap();
    assert_eq!(out.content["messages"], 1);
    session.close().await;
    assert!(session.exec(&words(&["queue_info", "queue=s"]), &limits).await.is_err());
}

#[tokio::test]
async fn a_vhost_the_user_may_not_use_is_denied() {
    let Some(fx) = fixture() else { return };
    let tool = fx.tool(json!({"config": {"vhost": "/"}}));
    let e = tool.probe().unwrap().probe().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Denied, "{e}");
    fx.assert_clean(&format!("{e} {e:?}"));
}

#[tokio::test]
async fn shared_behaviour_suite() {
    let Some(fx) = fixture() else { return };
    fx.queue_with("suite", &["a", "b", "c"]).await;
    toolkit_testkit::behaviour::Suite {
        connector: &RabbitConnector,
        spec: fx.spec(json!({})),
        secrets: vec![("mq-cred".into(), "password".into(), fx.canary.clone())],
        canary: fx.canary.clone(),
        password: Some(("mq-cred".into(), "password".into())),
        endpoint: Some(toolkit_testkit::behaviour::set_host_port),
        timeout: Some(toolkit_testkit::behaviour::set_connect_timeout),
        require_tls: Some(|spec| {
            spec["config"]["tls"] = json!(true);
            spec["config"]["insecureSkipTlsVerify"] = json!(true);
        }),
        call: Some(json!({"operation": "get", "queue": "suite", "count": 3})),
    }
    .run()
    .await;
}
