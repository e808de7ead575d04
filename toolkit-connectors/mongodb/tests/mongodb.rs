//! Against a MongoDB-wire server (`TOOLKIT_TEST_MONGODB_HOST`, `TOOLKIT_TEST_MONGODB_PORT`;
//! in CI the nx-27017 stand-in, which has no authentication, users or roles). Each test works in
//! a database of its own and drops it afterwards.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value, json};
use toolkit_connector_mongodb::MongoConnector;
use toolkit_core::connector::{BuildContext, CallLimits, Connector, Invocation, ToolInstance};
use toolkit_core::manifest::ConfigMaps;
use toolkit_core::secret::{SecretStore, SecretString};
use toolkit_core::{ErrorKind, Tool, ToolSpec};

const NS: &str = toolkit_testkit::behaviour::NAMESPACE;

struct Fixture {
    host: String,
    port: u16,
    db: String,
    canary: String,
}

fn fixture() -> Option<Fixture> {
    let host = toolkit_testkit::service("TOOLKIT_TEST_MONGODB_HOST")?;
    let port = toolkit_testkit::service("TOOLKIT_TEST_MONGODB_PORT").and_then(|p| p.parse().ok()).unwrap_or(27017);
    Some(Fixture { host, port, db: toolkit_testkit::unique_name("tk"), canary: toolkit_testkit::canary() })
}

impl Drop for Fixture {
    fn drop(&mut self) {
        // Best effort, and on a runtime of its own: Drop may run outside one or inside one.
        let (host, port, db) = (self.host.clone(), self.port, self.db.clone());
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                if let Ok(c) = mongodb::Client::with_uri_str(format!("mongodb://{host}:{port}/")).await {
                    let _ = c.database(&db).drop().await;
                }
            });
        })
        .join();
    }
}

impl Fixture {
    fn spec(&self, extra: Value) -> Value {
        let mut spec = json!({
            "type": "mongodb",
            "config": {
                "hostname": self.host, "port": self.port, "databaseName": self.db, "connectTimeout": "2s"
            }
        });
        toolkit_testkit::behaviour::merge(&mut spec, extra);
        spec
    }

    fn tool(&self, extra: Value) -> Arc<dyn ToolInstance> {
        let spec: ToolSpec = serde_json::from_value(self.spec(extra)).unwrap();
        assert_eq!(MongoConnector.validate(&spec), vec![]);
        let mut store = SecretStore::default();
        store.insert(NS, "mongo-cred", BTreeMap::from([("password".to_owned(), SecretString::new(&self.canary))]));
        let mut tool = Tool::new("docs", spec);
        tool.metadata.namespace = Some(NS.into());
        let ctx = BuildContext {
            tool: Arc::new(tool),
            namespace: NS.into(),
            name: "docs".into(),
            secrets: Arc::new(store),
            config_maps: Arc::new(ConfigMaps::default()),
            tools: std::sync::Arc::new(toolkit_core::connector::NoTools),
        };
        MongoConnector.build(ctx).unwrap()
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

    /// Inserts `n` documents `{_id: i, n: i, group: "even"|"odd", name: "doc i"}` into `coll`.
    async fn seed(&self, tool: &Arc<dyn ToolInstance>, coll: &str, n: i64) {
        let docs: Vec<Value> = (0..n)
            .map(|i| json!({"_id": i, "n": i, "group": if i % 2 == 0 { "even" } else { "odd" }, "name": format!("doc {i}")}))
            .collect();
        let out = self.call(tool, json!({"operation": "insertMany", "collection": coll, "documents": docs})).await;
        assert_eq!(out.unwrap()["insertedCount"], n);
    }
}

#[tokio::test]
async fn probe_reports_the_server_version() {
    let Some(fx) = fixture() else { return };
    let report = fx.tool(json!({})).probe().unwrap().probe().await.unwrap();
    let version = report.server_version.unwrap();
    assert!(version.starts_with(|c: char| c.is_ascii_digit()), "{version}");
    assert_eq!(report.details.get("topology").map(String::as_str), Some("standalone"));
    assert!(report.details.contains_key("maxWireVersion"), "{:?}", report.details);
}

#[tokio::test]
async fn find_aggregate_and_count() {
    let Some(fx) = fixture() else { return };
    let tool = fx.tool(json!({}));
    fx.seed(&tool, "items", 6).await;

    let found = fx
        .call(
            &tool,
            json!({"operation": "find", "collection": "items", "filter": {"group": "even"},
                   "sort": {"n": -1}, "projection": {"name": 1}}),
        )
        .await
        .unwrap();
    assert_eq!(
        found,
        json!({"rows": [{"_id": 4, "name": "doc 4"}, {"_id": 2, "name": "doc 2"}, {"_id": 0, "name": "doc 0"}],
               "rowCount": 3, "truncated": false})
    );
    let page = fx
        .call(&tool, json!({"operation": "find", "collection": "items", "sort": {"n": 1}, "skip": 1, "limit": 2}))
        .await
        .unwrap();
    let ids: Vec<&Value> = page["rows"].as_array().unwrap().iter().map(|r| &r["_id"]).collect();
    assert_eq!(ids, [&json!(1), &json!(2)]);
    assert_eq!(page["truncated"], false);

    // Extended JSON in, relaxed extended JSON out.
    let when = json!({"$date": "2024-05-01T10:00:00Z"});
    fx.call(&tool, json!({"operation": "insertOne", "collection": "events", "document": {"_id": "e1", "at": when, "big": {"$numberLong": "9007199254740993"}}}))
        .await
        .unwrap();
    let ev = fx
        .call(&tool, json!({"operation": "find", "collection": "events", "filter": {"at": {"$gte": {"$date": "2024-01-01T00:00:00Z"}}}}))
        .await
        .unwrap();
    assert_eq!(ev["rowCount"], 1, "{ev}");
    assert_eq!(ev["rows"][0]["at"], json!({"$date": "2024-05-01T10:00:00Z"}));
    // Relaxed extended JSON writes 64-bit integers as plain numbers.
    assert_eq!(ev["rows"][0]["big"], json!(9007199254740993_i64));

    let agg = fx
        .call(
            &tool,
            json!({"operation": "aggregate", "collection": "items", "pipeline": [
                {"$match": {"n": {"$gte": 1}}},
                {"$group": {"_id": "$group", "total": {"$sum": "$n"}}},
                {"$sort": {"_id": 1}}
            ]}),
        )
        .await
        .unwrap();
    assert_eq!(agg["rows"], json!([{"_id": "even", "total": 6}, {"_id": "odd", "total": 9}]));

    let count = fx.call(&tool, json!({"operation": "count", "collection": "items", "filter": {"group": "odd"}})).await;
    assert_eq!(count.unwrap(), json!({"count": 3}));
    let all = fx.call(&tool, json!({"operation": "count", "collection": "items"})).await.unwrap();
    assert_eq!(all, json!({"count": 6}));

    // Writes on a tool that may write.
    let upd = fx
        .call(&tool, json!({"operation": "updateMany", "collection": "items", "filter": {"group": "odd"}, "update": {"$set": {"flag": true}}}))
        .await
        .unwrap();
    assert_eq!(upd["matchedCount"], 3, "{upd}");
    let del = fx.call(&tool, json!({"operation": "deleteOne", "collection": "items", "filter": {"_id": 0}})).await;
    assert_eq!(del.unwrap()["deletedCount"], 1);
    let flagged = fx.call(&tool, json!({"operation": "count", "collection": "items", "filter": {"flag": true}})).await;
    assert_eq!(flagged.unwrap(), json!({"count": 3}));
}

#[tokio::test]
async fn bad_input_is_refused() {
    let Some(fx) = fixture() else { return };
    let tool = fx.tool(json!({}));
    for args in [
        json!({"operation": "drop", "collection": "c"}),
        json!({"operation": "find"}),
        json!({"operation": "find", "collection": "c", "filter": [1]}),
        json!({"operation": "find", "collection": "c", "filter": {"_id": {"$oid": "not-an-oid"}}}),
        json!({"operation": "find", "collection": "c", "filters": {}}),
        json!({"operation": "aggregate", "collection": "c", "pipeline": {"$match": {}}}),
        json!({"operation": "deleteMany", "collection": "c"}),
        json!({"operation": "find", "collection": "c", "database": "a/b"}),
    ] {
        let err = fx.call(&tool, args.clone()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{args}: {err}");
    }
}

#[tokio::test]
async fn large_results_are_cut() {
    let Some(fx) = fixture() else { return };
    let tool = fx.tool(json!({}));
    fx.seed(&tool, "many", 30).await;
    let limits = CallLimits { max_rows: 5, ..CallLimits::default() };
    let (v, truncated) =
        fx.call_limited(&tool, json!({"operation": "find", "collection": "many"}), limits).await.unwrap();
    assert_eq!((v["rowCount"].clone(), truncated, v["truncated"].clone()), (json!(5), true, json!(true)));
    // A limit under the cap is a whole answer.
    let (v, truncated) =
        fx.call_limited(&tool, json!({"operation": "find", "collection": "many", "limit": 3}), limits).await.unwrap();
    assert_eq!((v["rowCount"].clone(), truncated), (json!(3), false));
    let (v, truncated) = fx
        .call_limited(
            &tool,
            json!({"operation": "aggregate", "collection": "many", "pipeline": [{"$sort": {"n": 1}}]}),
            limits,
        )
        .await
        .unwrap();
    assert_eq!((v["rowCount"].clone(), truncated), (json!(5), true));
    let limits = CallLimits { max_output_bytes: 200, ..CallLimits::default() };
    let (v, truncated) =
        fx.call_limited(&tool, json!({"operation": "find", "collection": "many"}), limits).await.unwrap();
    assert!(truncated);
    assert!(serde_json::to_string(&v["rows"]).unwrap().len() <= 200, "{v}");
}

#[tokio::test]
async fn read_only_tools_refuse_writes() {
    let Some(fx) = fixture() else { return };
    let writer = fx.tool(json!({}));
    let reader = fx.tool(json!({"readOnly": true}));
    fx.seed(&writer, "ro", 3).await;
    assert_eq!(fx.call(&reader, json!({"operation": "count", "collection": "ro"})).await.unwrap(), json!({"count": 3}));
    for args in [
        json!({"operation": "insertOne", "collection": "ro", "document": {"_id": 9}}),
        json!({"operation": "insertMany", "collection": "ro", "documents": [{"_id": 9}]}),
        json!({"operation": "updateOne", "collection": "ro", "filter": {}, "update": {"$set": {"x": 1}}}),
        json!({"operation": "updateMany", "collection": "ro", "filter": {}, "update": {"$set": {"x": 1}}}),
        json!({"operation": "deleteOne", "collection": "ro", "filter": {}}),
        json!({"operation": "deleteMany", "collection": "ro", "filter": {}}),
        json!({"operation": "aggregate", "collection": "ro", "pipeline": [{"$match": {}}, {"$out": "copy"}]}),
        json!({"operation": "aggregate", "collection": "ro", "pipeline": [{"$merge": {"into": "copy"}}]}),
        json!({"operation": "aggregate", "collection": "ro", "pipeline": [{"$facet": {"a": [{"$out": "copy"}]}}]}),
        json!({"operation": "find", "collection": "ro", "database": "admin"}),
    ] {
        let err = fx.call(&reader, args.clone()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Denied, "{args}: {err}");
    }
    assert_eq!(fx.call(&writer, json!({"operation": "count", "collection": "ro"})).await.unwrap(), json!({"count": 3}));
    assert_eq!(
        fx.call(&writer, json!({"operation": "count", "collection": "copy"})).await.unwrap(),
        json!({"count": 0})
    );
}

#[tokio::test]
async fn permissions_are_planned_and_applied() {
    let Some(fx) = fixture() else { return };
    let rules = json!([
        {"db": fx.db, "collection": "orders", "actions": ["find"]},
        {"db": fx.db, "actions": ["find", "listCollections"]}
    ]);
    let tool = fx.tool(json!({"permissions": {"mode": "enforce", "role": "reporting", "rules": rules}}));
    let prov = tool.permissions().unwrap();
    let plan = prov.plan().await.unwrap();
    assert_eq!(plan.principal, "reporting");
    let db = &fx.db;
    assert_eq!(
        plan.statements,
        [
            format!(
                r#"db.getSiblingDB("admin").runCommand({{"createRole":"toolkit_reporting","privileges":[{{"resource":{{"db":"{db}","collection":"orders"}},"actions":["find"]}},{{"resource":{{"db":"{db}","collection":""}},"actions":["find","listCollections"]}}],"roles":[]}})"#
            ),
            r#"db.getSiblingDB("admin").runCommand({"grantRolesToUser":"reporting","roles":[{"role":"toolkit_reporting","db":"admin"}]})"#.to_owned(),
        ]
    );
    // The stand-in accepts these commands without keeping users or roles, so this checks that
    // they are sent and accepted, not their effect (see the README).
    prov.apply(&plan).await.unwrap();
    let mut stale = plan.clone();
    stale.statements.pop();
    assert_eq!(prov.apply(&stale).await.unwrap_err().kind(), ErrorKind::InvalidInput);

    let declared = fx.tool(
        json!({"permissions": {"mode": "declare", "role": "reporting", "rules": [{"db": "x", "actions": ["find"]}]}}),
    );
    let prov = declared.permissions().unwrap();
    let plan = prov.plan().await.unwrap();
    assert_eq!(prov.apply(&plan).await.unwrap_err().kind(), ErrorKind::Denied);
}

#[tokio::test]
async fn sessions_carry_env_and_run_calls() {
    let Some(fx) = fixture() else { return };
    let tool = fx.tool(json!({}));
    fx.seed(&tool, "s", 2).await;
    let session = tool.open_session().await.unwrap();
    let env = session.env();
    assert_eq!(env.len(), 1);
    assert_eq!(env[0].name, "MONGODB_URI");
    assert_eq!(env[0].value.to_string(), format!("mongodb://{}:{}/{}", fx.host, fx.port, fx.db));
    assert_eq!(session.client().unwrap()[..2], ["sh".to_owned(), "-c".to_owned()]);
    let out = session
        .exec(&[r#"{"operation": "count", "collection": "s"}"#.to_owned()], &CallLimits::default())
        .await
        .unwrap();
    assert_eq!(out.content, json!({"count": 2}));
    let err = session.exec(&["db.s.find()".to_owned()], &CallLimits::default()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);

    // With a password, the URI is a secret entry; opening the session makes the client but
    // sends nothing, so the stand-in's lack of authentication does not matter here.
    let with_password =
        fx.tool(json!({"config": {"username": "app", "credentialsRef": {"name": "mongo-cred", "key": "password"}}}));
    let session = with_password.open_session().await.unwrap();
    let env = session.env();
    assert_eq!(env[0].value.to_string(), "[redacted]");
    assert_eq!(
        env[0].value.expose(),
        format!("mongodb://app:{}@{}:{}/{}?authSource=admin", fx.canary, fx.host, fx.port, fx.db)
    );
    fx.assert_clean(&format!("{env:?}"));
}

#[tokio::test]
async fn unreachable_servers_are_classified() {
    let Some(fx) = fixture() else { return };
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let gone = fx.tool(json!({"config": {"hostname": "127.0.0.1", "port": port, "connectTimeout": "1s"}}));
    let err = fx.call(&gone, json!({"operation": "count", "collection": "x"})).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unreachable, "{err}");
    assert!(err.is_retryable());
    let text = err.to_string();
    assert!(text.starts_with("run count on ") && text.contains(&format!("127.0.0.1:{port}")), "{text}");
}

#[tokio::test]
async fn shared_behaviour_suite() {
    let Some(fx) = fixture() else { return };
    let tool = fx.tool(json!({}));
    fx.seed(&tool, "suite", 3).await;
    toolkit_testkit::behaviour::Suite {
        connector: &MongoConnector,
        spec: fx.spec(json!({})),
        // The stand-in has no authentication: the canary is planted in a Secret the tool does
        // not use, and the wrong-password check is skipped.
        secrets: vec![("mongo-cred".into(), "password".into(), fx.canary.clone())],
        canary: fx.canary.clone(),
        password: None,
        endpoint: Some(toolkit_testkit::behaviour::set_host_port),
        timeout: Some(toolkit_testkit::behaviour::set_connect_timeout),
        require_tls: Some(|spec| {
            spec["config"]["tls"] = json!(true);
        }),
        call: Some(json!({"operation": "find", "collection": "suite"})),
    }
    .run()
    .await;
}
