//! Against Tansu, a Kafka-compatible broker (`.ci/services/kafka.sh`): a plain one
//! (`TOOLKIT_TEST_KAFKA_BROKERS`) and one that demands SASL and knows no user
//! (`TOOLKIT_TEST_KAFKA_SASL_BROKERS`). Each test works in topics of its own.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value, json};
use toolkit_connector_kafka::KafkaConnector;
use toolkit_core::connector::{BuildContext, CallLimits, Connector, Invocation, InvokeOutput, ToolInstance};
use toolkit_core::manifest::ConfigMaps;
use toolkit_core::secret::{SecretStore, SecretString};
use toolkit_core::{ErrorKind, Tool, ToolSpec};

const NS: &str = toolkit_testkit::behaviour::NAMESPACE;

struct Fixture {
    brokers: String,
    canary: String,
}

fn fixture() -> Option<Fixture> {
    let brokers = toolkit_testkit::service("TOOLKIT_TEST_KAFKA_BROKERS")?;
    Some(Fixture { brokers, canary: toolkit_testkit::canary() })
}

/// Builds `spec` with a Secret `kafka-cred/password` holding the canary.
fn build(spec: Value, canary: &str) -> Arc<dyn ToolInstance> {
    let spec: ToolSpec = serde_json::from_value(spec).unwrap();
    assert_eq!(KafkaConnector.validate(&spec), vec![]);
    let mut store = SecretStore::default();
    store.insert(NS, "kafka-cred", BTreeMap::from([("password".to_owned(), SecretString::new(canary))]));
    let mut tool = Tool::new("events", spec);
    tool.metadata.namespace = Some(NS.into());
    KafkaConnector
        .build(BuildContext {
            tool: Arc::new(tool),
            namespace: NS.into(),
            name: "events".into(),
            secrets: Arc::new(store),
            config_maps: Arc::new(ConfigMaps::default()),
            tools: std::sync::Arc::new(toolkit_core::connector::NoTools),
        })
        .unwrap()
}

impl Fixture {
    fn spec(&self, extra: Value) -> Value {
        let brokers: Vec<&str> = self.brokers.split(',').collect();
        let mut spec = json!({"type": "kafka", "config": {"brokers": brokers, "connectTimeout": "3s"}});
        toolkit_testkit::behaviour::merge(&mut spec, extra);
        spec
    }

    fn tool(&self, extra: Value) -> Arc<dyn ToolInstance> {
        build(self.spec(extra), &self.canary)
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

    /// A new topic with one partition.
    async fn topic(&self) -> String {
        let name = toolkit_testkit::unique_name("tk");
        let brokers = self.brokers.split(',').map(str::to_owned).collect();
        let client = rskafka::client::ClientBuilder::new(brokers).build().await.unwrap();
        client.controller_client().unwrap().create_topic(&name, 1, 1, 5_000).await.unwrap();
        name
    }

    /// A topic holding three records with keys and headers.
    async fn topic_with_records(&self, tool: &Arc<dyn ToolInstance>) -> String {
        let topic = self.topic().await;
        for i in 0..3 {
            let out = self
                .call(
                    tool,
                    json!({"operation": "produce", "topic": topic, "key": format!("k{i}"),
                           "value": format!("v{i}"), "headers": {"seq": i.to_string()}}),
                )
                .await
                .unwrap();
            assert_eq!(out["offset"], i, "{out}");
        }
        topic
    }
}

#[tokio::test]
async fn probe_reads_the_cluster_metadata() {
    let Some(fx) = fixture() else { return };
    let tool = fx.tool(json!({}));
    fx.topic().await;
    let report = tool.probe().unwrap().probe().await.unwrap();
    let topics: usize = report.details["topics"].parse().unwrap();
    assert!(topics >= 1, "{report:?}");
    assert_eq!(report.details["securityProtocol"], "PLAINTEXT");
}

#[tokio::test]
async fn produce_then_consume_with_keys_and_headers() {
    let Some(fx) = fixture() else { return };
    let tool = fx.tool(json!({}));
    let topic = fx.topic_with_records(&tool).await;

    let out = fx.call(&tool, json!({"operation": "consume", "topic": topic, "offset": 0, "count": 10})).await.unwrap();
    assert_eq!(out["count"], 3, "{out}");
    assert_eq!(out["truncated"], false);
    assert_eq!(out["high_watermark"], 3);
    assert_eq!(out["next_offset"], 3);
    let r = &out["records"];
    for i in 0..3 {
        assert_eq!(r[i]["offset"], i);
        assert_eq!(r[i]["key"], format!("k{i}"));
        assert_eq!(r[i]["value"], format!("v{i}"));
        assert_eq!(r[i]["headers"], json!({"seq": i.to_string()}));
    }

    // The last two, and from an offset.
    let out =
        fx.call(&tool, json!({"operation": "consume", "topic": topic, "offset": "latest", "count": 2})).await.unwrap();
    assert_eq!(out["records"][0]["value"], "v1", "{out}");
    let out = fx.call(&tool, json!({"operation": "consume", "topic": topic, "offset": "latest-1"})).await.unwrap();
    assert_eq!((out["count"].clone(), out["records"][0]["value"].clone()), (json!(1), json!("v2")));
    let out = fx.call(&tool, json!({"operation": "consume", "topic": topic, "offset": 3})).await.unwrap();
    assert_eq!(out["count"], 0, "{out}");

    // Binary values come back as base64.
    fx.call(&tool, json!({"operation": "produce", "topic": topic, "value": {"$base64": "/wA="}})).await.unwrap();
    let out = fx.call(&tool, json!({"operation": "consume", "topic": topic, "offset": 3})).await.unwrap();
    assert_eq!(out["records"][0]["value"], json!({"$base64": "/wA="}));
    assert_eq!(out["records"][0]["key"], Value::Null);

    let listed = fx.call(&tool, json!({"operation": "list_topics"})).await.unwrap();
    let names: Vec<&str> = listed["topics"].as_array().unwrap().iter().filter_map(|t| t["name"].as_str()).collect();
    assert!(names.contains(&topic.as_str()), "{listed}");

    // Tansu creates topics on first use, where Kafka (without auto-creation) says they are unknown.
    match fx.call(&tool, json!({"operation": "consume", "topic": toolkit_testkit::unique_name("tk")})).await {
        Ok(out) => assert_eq!(out["count"], 0, "{out}"),
        Err(e) => assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}"),
    }
    let e = fx.call(&tool, json!({"operation": "consume", "topic": topic, "partition": 7})).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
}

#[tokio::test]
async fn caps_cut_records() {
    let Some(fx) = fixture() else { return };
    let tool = fx.tool(json!({}));
    let topic = fx.topic_with_records(&tool).await;
    let consume = json!({"operation": "consume", "topic": topic, "offset": "earliest", "count": 3});
    let out =
        fx.call_limited(&tool, consume.clone(), CallLimits { max_rows: 1, ..CallLimits::default() }).await.unwrap();
    assert!(out.truncated);
    assert_eq!(out.content["count"], 1);
    assert_eq!(out.content["next_offset"], 1);
    let out = fx.call(&tool, json!({"operation": "consume", "topic": topic, "count": 2})).await.unwrap();
    assert_eq!(out["truncated"], false, "as many as were asked for: {out}");
    let limits = CallLimits { max_output_bytes: 200, ..CallLimits::default() };
    let out = fx.call_limited(&tool, consume, limits).await.unwrap();
    assert!(out.truncated);
    assert!(out.content["count"].as_u64().unwrap() < 3, "{}", out.content);
    let out = fx
        .call_limited(&tool, json!({"operation": "list_topics"}), CallLimits { max_rows: 1, ..CallLimits::default() })
        .await
        .unwrap();
    assert_eq!(out.content["count"], 1);
}

#[tokio::test]
async fn read_only_refuses_produce_and_plans_acls() {
    let Some(fx) = fixture() else { return };
    let writer = fx.tool(json!({}));
    let topic = fx.topic_with_records(&writer).await;
    let tool = fx.tool(json!({
        "readOnly": true,
        "permissions": {"mode": "declare", "role": "reader", "rules": [
            {"resource": "topic", "name": topic, "operations": ["Read", "Describe"]}
        ]}
    }));
    let e = fx.call(&tool, json!({"operation": "produce", "topic": topic, "value": "x"})).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Denied, "{e}");
    let out = fx.call(&tool, json!({"operation": "consume", "topic": topic})).await.unwrap();
    assert_eq!(out["count"], 3, "nothing was written: {out}");

    let prov = tool.permissions().unwrap();
    let plan = prov.plan().await.unwrap();
    assert_eq!(plan.principal, "User:reader");
    assert_eq!(
        plan.statements[0],
        format!(
            "kafka-acls --bootstrap-server {} --add --allow-principal User:reader --operation Read --topic {topic}",
            fx.brokers
        )
    );
    assert_eq!(prov.apply(&plan).await.unwrap_err().kind(), ErrorKind::Unsupported);
}

#[tokio::test]
async fn sessions_carry_env_and_run_operations() {
    let Some(fx) = fixture() else { return };
    let tool = fx.tool(json!({}));
    let topic = fx.topic_with_records(&tool).await;
    let session = tool.open_session().await.unwrap();
    let env = session.env();
    let get = |name: &str| env.iter().find(|e| e.name == name).map(|e| e.value.to_string());
    assert_eq!(get("KAFKA_BROKERS"), Some(fx.brokers.clone()));
    assert_eq!(get("KAFKA_SECURITY_PROTOCOL").as_deref(), Some("PLAINTEXT"));
    assert_eq!(get("KAFKA_SASL_PASSWORD"), None);
    let words: Vec<String> =
        ["consume".to_owned(), format!("topic={topic}"), "offset=latest".into(), "count=1".into()].to_vec();
    let out = session.exec(&words, &CallLimits::default()).await.unwrap();
    assert_eq!(out.content["records"][0]["value"], "v2");
    session.close().await;
    assert!(session.exec(&words, &CallLimits::default()).await.is_err());
}

#[tokio::test]
async fn a_sasl_password_stays_secret_and_a_refused_login_is_auth() {
    // A SASL password from a Secret, and a broker that is not there: no error shows it.
    let canary = toolkit_testkit::canary();
    let spec = json!({"type": "kafka", "config": {
        "brokers": ["127.0.0.1:1"], "username": "app", "saslMechanism": "SCRAM-SHA-256",
        "credentialsRef": {"name": "kafka-cred", "key": "password"}, "connectTimeout": "1s"}});
    let tool = build(spec, &canary);
    let e = tool.probe().unwrap().probe().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unreachable, "{e}");
    assert!(!format!("{e} {e:?}").contains(&canary), "{e}");

    // The SASL broker knows no user, so every login is refused (SCRAM: not answered).
    let Some(brokers) = toolkit_testkit::service("TOOLKIT_TEST_KAFKA_SASL_BROKERS") else { return };
    for mechanism in ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] {
        let spec = json!({"type": "kafka", "config": {
            "brokers": [brokers], "username": "app", "saslMechanism": mechanism,
            "credentialsRef": {"name": "kafka-cred", "key": "password"}, "connectTimeout": "3s"}});
        let tool = build(spec, &canary);
        let e = tool.probe().unwrap().probe().await.unwrap_err();
        let text = format!("{e} {e:?}");
        assert!(!text.contains(&canary), "{text}");
        assert!(!text.contains('\n'), "{e}");
        if mechanism == "PLAIN" {
            assert_eq!(e.kind(), ErrorKind::Auth, "{mechanism}: a refused login must be auth: {e}");
        } else {
            // Tansu does not answer a SCRAM exchange for a user it does not know; the
            // connect timeout ends the wait.
            assert!(matches!(e.kind(), ErrorKind::Auth | ErrorKind::Timeout), "{mechanism}: {e}");
        }
    }
}

#[tokio::test]
async fn shared_behaviour_suite() {
    let Some(fx) = fixture() else { return };
    let writer = fx.tool(json!({}));
    let topic = fx.topic_with_records(&writer).await;
    toolkit_testkit::behaviour::Suite {
        connector: &KafkaConnector,
        spec: fx.spec(json!({})),
        // The stand-in's plain broker has no SASL: no password to get wrong. The canary sits in
        // a Secret the spec does not use; the SASL test above covers a referenced one.
        secrets: vec![("kafka-cred".into(), "password".into(), fx.canary.clone())],
        canary: fx.canary.clone(),
        password: None,
        endpoint: Some(|spec, host, port| {
            spec["config"]["brokers"] = json!([format!("{host}:{port}")]);
        }),
        timeout: Some(toolkit_testkit::behaviour::set_connect_timeout),
        require_tls: Some(|spec| {
            spec["config"]["tls"] = json!(true);
            spec["config"]["insecureSkipTlsVerify"] = json!(true);
        }),
        call: Some(json!({"operation": "consume", "topic": topic, "count": 3})),
    }
    .run()
    .await;
}
