//! Against an Elasticsearch-compatible server (`TOOLKIT_TEST_ES_URL`; in CI the osmem-server
//! stand-in, an in-memory OpenSearch 3 API without authentication). Each test works in indices
//! of its own prefix and deletes them afterwards.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value, json};
use toolkit_connector_elasticsearch::EsConnector;
use toolkit_core::connector::{BuildContext, CallLimits, Connector, Invocation, ToolInstance};
use toolkit_core::manifest::ConfigMaps;
use toolkit_core::secret::{SecretStore, SecretString};
use toolkit_core::{ErrorKind, Tool, ToolSpec};

const NS: &str = toolkit_testkit::behaviour::NAMESPACE;

struct Fixture {
    url: String,
    prefix: String,
    canary: String,
}

fn fixture() -> Option<Fixture> {
    let url = toolkit_testkit::service("TOOLKIT_TEST_ES_URL")?;
    Some(Fixture {
        url: url.trim_end_matches('/').to_owned(),
        prefix: toolkit_testkit::unique_name("tk").replace('_', "-"),
        canary: toolkit_testkit::canary(),
    })
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let url = format!("{}/{}-*", self.url, self.prefix);
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                let _ = reqwest::Client::new().delete(url).send().await;
            });
        })
        .join();
    }
}

/// Points the spec's `url` at `host:port`.
fn set_url(spec: &mut Value, host: &str, port: u16) {
    spec["config"]["url"] = json!(format!("http://{host}:{port}"));
}

impl Fixture {
    fn index(&self, name: &str) -> String {
        format!("{}-{name}", self.prefix)
    }

    fn spec(&self, extra: Value) -> Value {
        let mut spec = json!({
            "type": "elasticsearch",
            "config": {"url": self.url, "connectTimeout": "2s"}
        });
        toolkit_testkit::behaviour::merge(&mut spec, extra);
        spec
    }

    fn tool(&self, extra: Value) -> Arc<dyn ToolInstance> {
        let spec: ToolSpec = serde_json::from_value(self.spec(extra)).unwrap();
        assert_eq!(EsConnector.validate(&spec), vec![]);
        let mut store = SecretStore::default();
        store.insert(
            NS,
            "es-cred",
            BTreeMap::from([
                ("password".to_owned(), SecretString::new(&self.canary)),
                ("apiKey".to_owned(), SecretString::new(format!("key-{}", self.canary))),
            ]),
        );
        let mut tool = Tool::new("search", spec);
        tool.metadata.namespace = Some(NS.into());
        let ctx = BuildContext {
            tool: Arc::new(tool),
            namespace: NS.into(),
            name: "search".into(),
            secrets: Arc::new(store),
            config_maps: Arc::new(ConfigMaps::default()),
            tools: std::sync::Arc::new(toolkit_core::connector::NoTools),
        };
        EsConnector.build(ctx).unwrap()
    }

    fn assert_clean(&self, text: &str) {
        assert!(!text.contains(&self.canary), "canary leaked: {text}");
    }

    async fn call(&self, tool: &Arc<dyn ToolInstance>, args: Value) -> toolkit_core::Result<Value> {
        self.call_limited(tool, args, CallLimits::default()).await.map(|(v, _)| v)
    }

    async fn call_limited(
        &self,
        tool: &Arc<dyn ToolInstance>,
        args: Value,
        limits: CallLimits,
    ) -> toolkit_core::Result<(Value, bool)> {
        let arguments: Map<String, Value> = args.as_object().cloned().unwrap();
        let result = tool.invoker().unwrap().invoke(Invocation { arguments, limits, subject_token: None }).await;
        match &result {
            Ok(out) => self.assert_clean(&format!("{out:?}")),
            Err(e) => {
                self.assert_clean(&format!("{e} {e:?}"));
                assert!(!e.to_string().contains('\n'), "{e}");
            }
        }
        result.map(|o| (o.content, o.truncated))
    }

    /// Indexes `n` documents `{n: i, group: "even"|"odd", title: "doc i"}` with ids `d<i>`.
    async fn seed(&self, tool: &Arc<dyn ToolInstance>, index: &str, n: i64) {
        for i in 0..n {
            let doc = json!({"n": i, "group": if i % 2 == 0 { "even" } else { "odd" }, "title": format!("doc {i}")});
            let args = json!({"operation": "index", "index": index, "id": format!("d{i}"), "document": doc, "refresh": i == n - 1});
            let out = self.call(tool, args).await.unwrap();
            assert_eq!(out["result"], "created", "{out}");
        }
    }
}

#[tokio::test]
async fn probe_reports_version_distribution_and_health() {
    let Some(fx) = fixture() else { return };
    let report = fx.tool(json!({})).probe().unwrap().probe().await.unwrap();
    let version = report.server_version.unwrap();
    assert!(version.starts_with(|c: char| c.is_ascii_digit()), "{version}");
    assert!(["elasticsearch", "opensearch"].contains(&report.details["distribution"].as_str()), "{:?}", report.details);
    assert!(["green", "yellow"].contains(&report.details["health"].as_str()), "{:?}", report.details);
}

#[tokio::test]
async fn search_get_and_count() {
    let Some(fx) = fixture() else { return };
    let tool = fx.tool(json!({}));
    let index = fx.index("docs");
    fx.seed(&tool, &index, 6).await;

    let found = fx
        .call(
            &tool,
            json!({"operation": "search", "index": index, "query": {"term": {"group": "even"}}, "sort": [{"n": "desc"}]}),
        )
        .await
        .unwrap();
    assert_eq!(found["total"], 3, "{found}");
    assert_eq!(found["truncated"], false);
    let ns: Vec<&Value> = found["rows"].as_array().unwrap().iter().map(|r| &r["_source"]["n"]).collect();
    assert_eq!(ns, [&json!(4), &json!(2), &json!(0)]);
    assert_eq!(found["rows"][0]["_id"], "d4");

    // A whole body, with `size` and `from` from the arguments.
    let page = fx
        .call(
            &tool,
            json!({"operation": "search", "index": index, "body": {"query": {"match_all": {}}, "sort": [{"n": "asc"}]}, "size": 2, "from": 1}),
        )
        .await
        .unwrap();
    let ids: Vec<&Value> = page["rows"].as_array().unwrap().iter().map(|r| &r["_id"]).collect();
    assert_eq!(ids, [&json!("d1"), &json!("d2")]);
    // Asking for two of six is a whole answer, not a cut one.
    assert_eq!(page["truncated"], false);

    let doc = fx.call(&tool, json!({"operation": "get", "index": index, "id": "d3"})).await.unwrap();
    assert_eq!(doc["found"], true);
    assert_eq!(doc["_source"], json!({"n": 3, "group": "odd", "title": "doc 3"}));
    let missing = fx.call(&tool, json!({"operation": "get", "index": index, "id": "nope"})).await.unwrap();
    assert_eq!(missing["found"], false);

    let count =
        fx.call(&tool, json!({"operation": "count", "index": index, "query": {"term": {"group": "odd"}}})).await;
    assert_eq!(count.unwrap(), json!({"count": 3}));
    assert_eq!(fx.call(&tool, json!({"operation": "count", "index": index})).await.unwrap(), json!({"count": 6}));

    let del =
        fx.call(&tool, json!({"operation": "delete", "index": index, "id": "d0", "refresh": true})).await.unwrap();
    assert_eq!(del["result"], "deleted");
    assert_eq!(fx.call(&tool, json!({"operation": "count", "index": index})).await.unwrap(), json!({"count": 5}));
    // A new id is made when none is given.
    let made = fx.call(&tool, json!({"operation": "index", "index": index, "document": {"n": 9}})).await.unwrap();
    assert_eq!(made["result"], "created");
    assert!(made["_id"].as_str().is_some_and(|s| !s.is_empty()));
}

#[tokio::test]
async fn bad_input_is_refused() {
    let Some(fx) = fixture() else { return };
    let tool = fx.tool(json!({}));
    let index = fx.index("bad");
    fx.seed(&tool, &index, 1).await;
    for args in [
        json!({"operation": "drop"}),
        json!({"operation": "search", "index": index, "query": {"bogus": {}}}),
        json!({"operation": "search", "index": fx.index("missing")}),
        json!({"operation": "search", "index": "a/../b"}),
        json!({"operation": "get", "index": index}),
        json!({"operation": "get", "index": index, "id": ".."}),
        json!({"operation": "get", "index": format!("{index},other"), "id": "d0"}),
        json!({"operation": "search", "index": index, "size": -1}),
        json!({"operation": "search", "index": index, "filter": {}}),
    ] {
        let err = fx.call(&tool, args.clone()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{args}: {err}");
    }
}

#[tokio::test]
async fn large_results_are_cut() {
    let Some(fx) = fixture() else { return };
    let tool = fx.tool(json!({}));
    let index = fx.index("many");
    fx.seed(&tool, &index, 12).await;
    let limits = CallLimits { max_rows: 5, ..CallLimits::default() };
    let (v, truncated) = fx.call_limited(&tool, json!({"operation": "search", "index": index}), limits).await.unwrap();
    assert_eq!((v["rowCount"].clone(), v["total"].clone(), truncated), (json!(5), json!(12), true));
    assert_eq!(v["truncated"], true);
    let (v, truncated) =
        fx.call_limited(&tool, json!({"operation": "search", "index": index, "size": 50}), limits).await.unwrap();
    assert_eq!((v["rowCount"].clone(), truncated), (json!(5), true));
    let (v, truncated) =
        fx.call_limited(&tool, json!({"operation": "search", "index": index, "size": 3}), limits).await.unwrap();
    assert_eq!((v["rowCount"].clone(), truncated), (json!(3), false));
    let limits = CallLimits { max_output_bytes: 300, ..CallLimits::default() };
    let (v, truncated) = fx.call_limited(&tool, json!({"operation": "search", "index": index}), limits).await.unwrap();
    assert!(truncated);
    assert!(serde_json::to_string(&v["rows"]).unwrap().len() <= 300, "{v}");
}

#[tokio::test]
async fn read_only_tools_refuse_writes() {
    let Some(fx) = fixture() else { return };
    let writer = fx.tool(json!({}));
    let reader = fx.tool(json!({"readOnly": true}));
    let index = fx.index("ro");
    fx.seed(&writer, &index, 2).await;
    assert_eq!(fx.call(&reader, json!({"operation": "count", "index": index})).await.unwrap(), json!({"count": 2}));
    for args in [
        json!({"operation": "index", "index": index, "id": "x", "document": {"a": 1}}),
        json!({"operation": "delete", "index": index, "id": "d0"}),
    ] {
        let err = fx.call(&reader, args.clone()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Denied, "{args}: {err}");
    }
    assert_eq!(fx.call(&writer, json!({"operation": "count", "index": index})).await.unwrap(), json!({"count": 2}));
}

#[tokio::test]
async fn the_index_pattern_limits_what_calls_reach() {
    let Some(fx) = fixture() else { return };
    let writer = fx.tool(json!({}));
    let (inside, outside) = (fx.index("logs-a"), fx.index("secret"));
    fx.seed(&writer, &inside, 2).await;
    fx.seed(&writer, &outside, 3).await;
    let pattern = format!("{}-logs-*", fx.prefix);
    let tool = fx.tool(json!({"config": {"index": pattern}}));
    // Without `index`, the pattern itself is searched.
    let all = fx.call(&tool, json!({"operation": "search"})).await.unwrap();
    assert_eq!(all["total"], 2, "{all}");
    assert_eq!(fx.call(&tool, json!({"operation": "count", "index": inside})).await.unwrap(), json!({"count": 2}));
    assert!(fx.call(&tool, json!({"operation": "get", "index": inside, "id": "d1"})).await.unwrap()["found"] == true);
    for args in [
        json!({"operation": "search", "index": outside}),
        json!({"operation": "search", "index": "*"}),
        json!({"operation": "search", "index": "_all"}),
        json!({"operation": "search", "index": format!("{inside},{outside}")}),
        json!({"operation": "search", "index": format!("{}-*", fx.prefix)}),
        json!({"operation": "count", "index": outside}),
        json!({"operation": "get", "index": outside, "id": "d1"}),
        json!({"operation": "index", "index": outside, "id": "x", "document": {}}),
    ] {
        let err = fx.call(&tool, args.clone()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Denied, "{args}: {err}");
    }
}

#[tokio::test]
async fn permissions_are_planned_not_applied() {
    let Some(fx) = fixture() else { return };
    let tool = fx
        .tool(json!({"config": {"username": "reader", "credentialsRef": {"name": "es-cred", "key": "password"}},
        "permissions": {"rules": [{"indices": ["logs-*"], "privileges": ["read"]}]}}));
    let prov = tool.permissions().unwrap();
    let plan = prov.plan().await.unwrap();
    assert_eq!(plan.principal, "reader");
    // The stand-in says it is OpenSearch; a real Elasticsearch gets the `_security` dialect.
    assert_eq!(
        plan.statements,
        [
            r#"PUT _plugins/_security/api/roles/toolkit_reader {"cluster_permissions":[],"index_permissions":[{"allowed_actions":["read"],"index_patterns":["logs-*"]}]}"#,
            r#"PUT _plugins/_security/api/rolesmapping/toolkit_reader {"users":["reader"]}"#
        ]
    );
    fx.assert_clean(&format!("{plan:?}"));
    assert_eq!(prov.apply(&plan).await.unwrap_err().kind(), ErrorKind::Unsupported);
}

#[tokio::test]
async fn sessions_carry_env_and_run_calls() {
    let Some(fx) = fixture() else { return };
    let index = fx.index("s");
    let tool =
        fx.tool(json!({"config": {"username": "app", "credentialsRef": {"name": "es-cred", "key": "password"}}}));
    fx.seed(&tool, &index, 2).await;
    let session = tool.open_session().await.unwrap();
    let env = session.env();
    let get = |n: &str| env.iter().find(|e| e.name == n).map(|e| (e.value.to_string(), e.value.expose().to_owned()));
    assert_eq!(get("ES_URL").unwrap().0, fx.url);
    assert_eq!(get("ES_USERNAME").unwrap().0, "app");
    assert_eq!(get("ES_PASSWORD").unwrap(), ("[redacted]".to_owned(), fx.canary.clone()));
    assert!(get("ES_API_KEY").is_none());
    fx.assert_clean(&format!("{env:?}"));
    let cmd = format!(r#"{{"operation": "count", "index": "{index}"}}"#);
    let out = session.exec(&[cmd], &CallLimits::default()).await.unwrap();
    assert_eq!(out.content, json!({"count": 2}));

    let keyed = fx.tool(json!({"config": {"credentialsRef": {"name": "es-cred", "key": "apiKey"}}}));
    let env = keyed.open_session().await.unwrap().env();
    let key = env.iter().find(|e| e.name == "ES_API_KEY").unwrap();
    assert_eq!(key.value.to_string(), "[redacted]");
    assert_eq!(key.value.expose(), format!("key-{}", fx.canary));
    assert!(!env.iter().any(|e| e.name == "ES_PASSWORD" || e.name == "ES_USERNAME"));
}

#[tokio::test]
async fn unreachable_clusters_are_classified() {
    let Some(fx) = fixture() else { return };
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let gone = fx.tool(json!({"config": {"url": format!("http://127.0.0.1:{port}"), "username": "app",
        "credentialsRef": {"name": "es-cred", "key": "password"}}}));
    let err = fx.call(&gone, json!({"operation": "count"})).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unreachable, "{err}");
    assert!(err.is_retryable());
    let text = err.to_string();
    assert!(text.contains(&format!("127.0.0.1:{port}")) && text.contains("user: app"), "{text}");
}

#[tokio::test]
async fn shared_behaviour_suite() {
    let Some(fx) = fixture() else { return };
    let tool = fx.tool(json!({}));
    let index = fx.index("suite");
    fx.seed(&tool, &index, 3).await;
    // The stand-in has no authentication: the canary is sent as the basic-auth password (and
    // ignored), and the wrong-password check is skipped.
    let spec = fx.spec(json!({"config": {"index": index, "username": "app", "credentialsRef": {"name": "es-cred", "key": "password"}}}));
    toolkit_testkit::behaviour::Suite {
        connector: &EsConnector,
        spec,
        secrets: vec![("es-cred".into(), "password".into(), fx.canary.clone())],
        canary: fx.canary.clone(),
        password: None,
        endpoint: Some(set_url),
        timeout: Some(toolkit_testkit::behaviour::set_connect_timeout),
        require_tls: Some(|spec| {
            let url = spec["config"]["url"].as_str().unwrap().replacen("http://", "https://", 1);
            spec["config"]["url"] = json!(url);
        }),
        call: Some(json!({"operation": "search"})),
    }
    .run()
    .await;
}
