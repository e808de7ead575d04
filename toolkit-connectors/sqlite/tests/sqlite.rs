//! The sqlite connector against real database files in a temporary directory.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{Connection, Executor, Row};
use toolkit_core::connector::{BuildContext, CallLimits, Invocation, InvokeOutput, ToolInstance};
use toolkit_core::manifest::ConfigMaps;
use toolkit_core::secret::SecretStore;
use toolkit_core::{ConnectorRegistry, Error, ErrorKind, Tool, ToolSpec};

/// A database file with a small table, in a directory removed at the end of the test.
struct Fixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Fixture {
    async fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("test.db");
        let opts = SqliteConnectOptions::new().filename(&path).create_if_missing(true);
        let mut conn = SqliteConnection::connect_with(&opts).await.expect("create database");
        conn.execute(
            "create table items (id integer primary key, name text, price real, data blob, note text);
             insert into items values (1, 'widget', 2.5, x'00ff10', null), (2, 'gadget', 10, null, 'x');
             create table numbers (n integer);
             with recursive s(n) as (select 1 union all select n + 1 from s where n < 100) insert into numbers select n from s;",
        )
        .await
        .expect("set up tables");
        conn.close().await.ok();
        Self { _dir: dir, path }
    }

    fn tool(&self, extra: Value) -> Arc<dyn ToolInstance> {
        build_at(&self.path, extra)
    }

    async fn count(&self, sql: &str) -> i64 {
        let opts = SqliteConnectOptions::new().filename(&self.path).read_only(true);
        let mut conn = SqliteConnection::connect_with(&opts).await.expect("open database");
        let n: i64 = conn.fetch_one(sql).await.expect("count").get(0);
        conn.close().await.ok();
        n
    }
}

fn spec_for(path: &Path, extra: Value) -> ToolSpec {
    let mut spec = json!({"type": "sqlite", "config": {"path": path.display().to_string()}});
    if let (Value::Object(s), Value::Object(extra)) = (&mut spec, extra) {
        s.extend(extra);
    }
    serde_json::from_value(spec).expect("spec parses")
}

fn context(spec: ToolSpec) -> BuildContext {
    let mut tool = Tool::new("db", spec);
    tool.metadata.namespace = Some("sqlitetest".to_owned());
    BuildContext {
        tool: Arc::new(tool),
        namespace: "sqlitetest".to_owned(),
        name: "db".to_owned(),
        secrets: Arc::new(SecretStore::default()),
        config_maps: Arc::new(ConfigMaps::default()),
        tools: std::sync::Arc::new(toolkit_core::connector::NoTools),
    }
}

fn build_at(path: &Path, extra: Value) -> Arc<dyn ToolInstance> {
    let mut registry = ConnectorRegistry::new();
    toolkit_connector_sqlite::register(&mut registry);
    let connector = registry.get("sqlite").expect("sqlite is registered").clone();
    let spec = spec_for(path, extra);
    let problems = connector.validate(&spec);
    assert!(problems.is_empty(), "spec is valid: {problems:?}");
    connector.build(context(spec)).expect("tool builds")
}

fn call_with(query: &str, limits: CallLimits) -> Invocation {
    Invocation {
        arguments: json!({"query": query}).as_object().cloned().unwrap_or_default(),
        limits,
        subject_token: None,
    }
}

async fn invoke(tool: &Arc<dyn ToolInstance>, query: &str) -> Result<InvokeOutput, Error> {
    tool.invoker().expect("sqlite invokes").invoke(call_with(query, CallLimits::default())).await
}

#[tokio::test]
async fn probe_reports_the_sqlite_version() {
    let fx = Fixture::new().await;
    let tool = fx.tool(json!({}));
    let report = tool.probe().expect("sqlite probes").probe().await.expect("probe succeeds");
    let version = report.server_version.expect("a version");
    assert!(version.starts_with("3."), "{version}");
    tool.shutdown().await;
}

#[tokio::test]
async fn a_missing_file_is_not_found_and_never_created() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("absent.db");
    let tool = build_at(&path, json!({}));
    let err = tool.probe().expect("probe").probe().await.expect_err("no file");
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(err.to_string().contains(&path.display().to_string()), "{err}");
    let err = invoke(&tool, "select 1").await.expect_err("no file");
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    let err = tool.open_session().await.err().expect("no file");
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(!path.exists());

    let err = build_at(dir.path(), json!({})).probe().expect("probe").probe().await.expect_err("a directory");
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
}

#[tokio::test]
async fn invoke_converts_storage_classes() {
    let fx = Fixture::new().await;
    let tool = fx.tool(json!({}));
    let out = invoke(&tool, "select id, name, price, data, note from items order by id").await.expect("runs");
    let c = &out.content;
    assert_eq!(c["columns"], json!(["id", "name", "price", "data", "note"]));
    assert_eq!(c["rowCount"], 2);
    assert_eq!(c["truncated"], false);
    assert_eq!(c["rows"][0], json!({"id": 1, "name": "widget", "price": 2.5, "data": "AP8Q", "note": null}));
    assert_eq!(c["rows"][1]["price"], 10.0);

    let out = invoke(&tool, "select 1, 2, 1e999 as inf").await.expect("runs");
    assert_eq!(out.content["columns"], json!(["1", "2", "inf"]));
    assert_eq!(out.content["rows"][0]["inf"], "Infinity");

    let out = invoke(&tool, "select id from items where 0").await.expect("runs");
    assert_eq!(out.content["columns"], json!(["id"]));
    assert_eq!(out.content["rows"], json!([]));

    let out = invoke(&tool, "update items set note = 'y'").await.expect("runs");
    assert_eq!(out.content["rowsAffected"], 2);

    for sql in ["selec 1", "select * from no_such_table", "select ?"] {
        let err = invoke(&tool, sql).await.expect_err(sql);
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{sql}: {err}");
        assert!(!err.to_string().contains('\n'));
    }
    tool.shutdown().await;
}

#[tokio::test]
async fn row_cap_truncates() {
    let fx = Fixture::new().await;
    let tool = fx.tool(json!({}));
    let invoker = tool.invoker().expect("invoker");
    let limits = CallLimits { max_rows: 10, ..CallLimits::default() };
    let out = invoker.invoke(call_with("select n from numbers order by n", limits)).await.expect("runs");
    assert!(out.truncated);
    assert_eq!(out.content["rowCount"], 10);
    assert_eq!(out.content["rows"][9]["n"], 10);
    let out = invoker.invoke(call_with("select n from numbers where n <= 10", limits)).await.expect("runs");
    assert!(!out.truncated);
    // A write whose output is capped still happens in full.
    let out = invoker
        .invoke(call_with("insert into numbers select n + 100 from numbers returning n", limits))
        .await
        .expect("runs");
    assert!(out.truncated);
    assert_eq!(fx.count("select count(*) from numbers").await, 200);
    tool.shutdown().await;
}

#[tokio::test]
async fn read_only_opens_the_file_read_only() {
    let fx = Fixture::new().await;
    let tool = fx.tool(json!({"readOnly": true}));
    let out = invoke(&tool, "select count(*) as n from items").await.expect("reads work");
    assert_eq!(out.content["rows"][0]["n"], 2);
    for sql in [
        "insert into items (id, name) values (3, 'x')",
        "update items set name = 'z'",
        "delete from items",
        "create table other (id integer)",
        "drop table items",
        "pragma query_only = off; insert into items (id, name) values (4, 'y')",
    ] {
        let err = invoke(&tool, sql).await.expect_err(sql);
        assert_eq!(err.kind(), ErrorKind::Denied, "{sql}: {err}");
    }
    assert_eq!(fx.count("select count(*) from items").await, 2);
    assert_eq!(fx.count("select count(*) from items where name in ('widget', 'gadget')").await, 2);
    assert_eq!(fx.count("select count(*) from sqlite_master where name = 'other'").await, 0);
    tool.shutdown().await;
}

#[tokio::test]
async fn a_runaway_statement_is_interrupted() {
    let fx = Fixture::new().await;
    let tool = fx.tool(json!({"config": {"path": fx.path.display().to_string(), "maxConnections": 1}}));
    let invoker = tool.invoker().expect("invoker");
    let limits = CallLimits { timeout: Duration::from_millis(300), ..CallLimits::default() };
    let started = Instant::now();
    let endless = "with recursive s(n) as (select 1 union all select n + 1 from s) select count(*) from s";
    let err = invoker.invoke(call_with(endless, limits)).await.expect_err("never ends");
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
    // The only connection is usable again, without a handler left behind.
    let out =
        invoker.invoke(call_with("select count(*) as n from numbers", CallLimits::default())).await.expect("recovers");
    assert_eq!(out.content["rows"][0]["n"], 100);
    tool.shutdown().await;
}

#[tokio::test]
async fn sessions_name_the_file() {
    let fx = Fixture::new().await;
    let tool = fx.tool(json!({"readOnly": true}));
    let session = tool.open_session().await.expect("session opens");
    let path = fx.path.display().to_string();
    assert_eq!(session.client(), Some(vec!["sqlite3".to_owned(), "-readonly".to_owned(), path.clone()]));
    let env = session.env();
    assert_eq!(env.len(), 1);
    assert_eq!(env[0].name, "SQLITE_DB");
    assert_eq!(env[0].value.expose(), path);
    let limits = CallLimits::default();
    let words: Vec<String> = ["select", "name", "from", "items", "where", "id", "=", "1"].map(String::from).to_vec();
    let out = session.exec(&words, &limits).await.expect("exec runs");
    assert_eq!(out.content["rows"][0]["name"], "widget");
    let err = session.exec(&["delete from items".to_owned()], &limits).await.expect_err("read-only");
    assert_eq!(err.kind(), ErrorKind::Denied);
    session.close().await;

    let writable = fx.tool(json!({}));
    let session = writable.open_session().await.expect("session opens");
    assert_eq!(session.client(), Some(vec!["sqlite3".to_owned(), path]));
    session.exec(&["delete from items where id = 2".to_owned()], &limits).await.expect("writes");
    session.close().await;
    assert_eq!(fx.count("select count(*) from items").await, 1);
}

#[test]
fn relative_paths_are_resolved_against_the_working_directory() {
    let spec = spec_for(Path::new("data/app.db"), json!({}));
    let tool = toolkit_connector_sqlite::SqliteTool::new(&context(spec)).expect("builds");
    let cwd = std::env::current_dir().expect("cwd");
    assert_eq!(tool.path(), cwd.join("data/app.db"));
}

#[test]
fn validation_refuses_foreign_keys_and_permissions() {
    let mut registry = ConnectorRegistry::new();
    toolkit_connector_sqlite::register(&mut registry);
    let connector = registry.get("sqlite").expect("registered");
    let spec: ToolSpec = serde_json::from_value(json!({
        "type": "sqlite",
        "config": {"path": "/tmp/x.db", "hostname": "db", "uri": "sqlite://x"},
        "permissions": {"rules": [{"schema": "main"}]},
    }))
    .expect("spec parses");
    let paths: Vec<String> = connector.validate(&spec).into_iter().map(|e| e.path).collect();
    assert_eq!(paths, ["spec.config.hostname", "spec.config.uri", "spec.permissions"]);
    assert!(connector.build(context(spec)).is_err());
}

#[tokio::test]
async fn shared_behaviour_suite() {
    let fx = Fixture::new().await;
    let canary = toolkit_testkit::canary();
    toolkit_testkit::behaviour::Suite {
        connector: &toolkit_connector_sqlite::SqliteConnector,
        spec: serde_json::to_value(spec_for(&fx.path, json!({}))).expect("spec serializes"),
        // sqlite has no credential; the canary is planted in a Secret no output may show.
        secrets: vec![("unused".into(), "value".into(), canary.clone())],
        canary,
        password: None,
        // A database file is not reached over the network.
        endpoint: None,
        timeout: None,
        require_tls: None,
        call: Some(json!({"query": "select n from numbers"})),
    }
    .run()
    .await;
}
