//! Against a real ClickHouse 18.16 (`TOOLKIT_TEST_CLICKHOUSE_HOST`, `_PORT` (HTTP), `_USER`,
//! `_PASSWORD`), started by `.ci/services/clickhouse.sh`. The user's password is random for each
//! server and is the canary: it must appear in no output. Each test makes its own database as the
//! loopback-only `default` user and drops it afterwards.

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::sync::Arc;

use serde_json::{Map, Value, json};
use toolkit_connector_clickhouse::ClickhouseConnector;
use toolkit_core::connector::{BuildContext, CallLimits, Connector, Invocation, InvokeOutput, ToolInstance};
use toolkit_core::manifest::ConfigMaps;
use toolkit_core::secret::{SecretStore, SecretString};
use toolkit_core::{ErrorKind, Tool, ToolSpec};

const NS: &str = toolkit_testkit::behaviour::NAMESPACE;

struct Fixture {
    host: String,
    port: u16,
    user: String,
    password: String,
    db: String,
}

/// Runs `sql` as the `default` user over plain HTTP, blocking; the body, or a panic on failure.
fn admin(host: &str, port: u16, sql: &str) -> String {
    let mut s = std::net::TcpStream::connect((host, port)).expect("connect as admin");
    let req = format!(
        "POST / HTTP/1.0\r\nHost: {host}\r\nContent-Length: {}\r\nContent-Type: text/plain\r\n\r\n{sql}",
        sql.len()
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let (head, body) = resp.split_once("\r\n\r\n").unwrap_or((&resp, ""));
    assert!(head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"), "{sql}: {resp}");
    body.to_owned()
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ =
            std::panic::catch_unwind(|| admin(&self.host, self.port, &format!("DROP DATABASE IF EXISTS {}", self.db)));
    }
}

fn fixture() -> Option<Fixture> {
    let host = toolkit_testkit::service("TOOLKIT_TEST_CLICKHOUSE_HOST")?;
    let port = toolkit_testkit::service("TOOLKIT_TEST_CLICKHOUSE_PORT")?.parse().unwrap();
    let user = toolkit_testkit::service("TOOLKIT_TEST_CLICKHOUSE_USER")?;
    let password = toolkit_testkit::service("TOOLKIT_TEST_CLICKHOUSE_PASSWORD")?;
    let db = toolkit_testkit::unique_name("tk");
    admin(&host, port, &format!("CREATE DATABASE {db}"));
    admin(
        &host,
        port,
        &format!("CREATE TABLE {db}.events (id UInt32, name String, tags Array(String)) ENGINE = Memory"),
    );
    admin(
        &host,
        port,
        &format!(
            "INSERT INTO {db}.events VALUES (1, 'alpha', ['a']), (2, 'beta', []), (3, 'gamma', ['g', 'x']), \
             (4, 'delta', []), (5, 'it''s \"quoted\"', [])"
        ),
    );
    Some(Fixture { host, port, user, password, db })
}

impl Fixture {
    fn spec(&self, extra: Value) -> Value {
        let mut spec = json!({
            "type": "clickhouse",
            "config": {
                "hostname": self.host, "port": self.port, "username": self.user,
                "credentialsRef": {"name": "ch-cred", "key": "password"},
                "databaseName": self.db,
                "connectTimeout": "2s"
            }
        });
        toolkit_testkit::behaviour::merge(&mut spec, extra);
        spec
    }

    fn tool(&self, extra: Value) -> Arc<dyn ToolInstance> {
        self.tool_with_password(extra, &self.password)
    }

    fn tool_with_password(&self, extra: Value, password: &str) -> Arc<dyn ToolInstance> {
        let spec: ToolSpec = serde_json::from_value(self.spec(extra)).unwrap();
        assert_eq!(ClickhouseConnector.validate(&spec), vec![]);
        let mut store = SecretStore::default();
        store.insert(NS, "ch-cred", BTreeMap::from([("password".to_owned(), SecretString::new(password))]));
        let mut tool = Tool::new("analytics", spec);
        tool.metadata.namespace = Some(NS.into());
        ClickhouseConnector
            .build(BuildContext {
                tool: Arc::new(tool),
                namespace: NS.into(),
                name: "analytics".into(),
                secrets: Arc::new(store),
                config_maps: Arc::new(ConfigMaps::default()),
                tools: std::sync::Arc::new(toolkit_core::connector::NoTools),
            })
            .unwrap()
    }

    fn assert_clean(&self, text: &str) {
        assert!(!text.contains(&self.password), "the password leaked: {text}");
    }

    async fn sql(&self, tool: &Arc<dyn ToolInstance>, sql: &str) -> toolkit_core::Result<InvokeOutput> {
        self.call(tool, json!({"sql": sql}), CallLimits::default()).await
    }

    async fn call(
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
}

#[tokio::test]
async fn probe_reports_the_server_version() {
    let Some(fx) = fixture() else { return };
    let report = fx.tool(json!({})).probe().unwrap().probe().await.unwrap();
    let version = report.server_version.clone().unwrap();
    assert!(version.starts_with(|c: char| c.is_ascii_digit()), "{version}");
    assert_eq!(report.details["user"], fx.user);
    fx.assert_clean(&format!("{report:?}"));
}

#[tokio::test]
async fn rows_become_json() {
    let Some(fx) = fixture() else { return };
    let tool = fx.tool(json!({}));
    let out = fx.sql(&tool, "SELECT id, name, tags FROM events ORDER BY id").await.unwrap();
    assert_eq!(out.content["columns"], json!(["id", "name", "tags"]));
    assert_eq!(out.content["rowCount"], 5);
    assert_eq!(out.content["rows"][2], json!({"id": 3, "name": "gamma", "tags": ["g", "x"]}));
    assert_eq!(out.content["rows"][4]["name"], "it's \"quoted\"");
    assert!(!out.truncated);

    // Values bound to `?` are escaped by the client; a `?` without values is plain text.
    let args = json!({"sql": "SELECT name FROM events WHERE id = ? OR name = ?", "params": [3, "it's \"quoted\""]});
    let out = fx.call(&tool, args, CallLimits::default()).await.unwrap();
    assert_eq!(out.content["rowCount"], 2);
    let out = fx.sql(&tool, "SELECT 'why?' AS q, toUInt64(18446744073709551615) AS big").await.unwrap();
    assert_eq!(out.content["rows"][0], json!({"q": "why?", "big": "18446744073709551615"}));
    let out = fx.sql(&tool, &format!("SELECT count() AS n FROM {}.events;", fx.db)).await.unwrap();
    assert_eq!(out.content["rows"][0]["n"], "5");

    let err = fx.sql(&tool, "SELEKT 1").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    let err = fx.sql(&tool, "SELECT * FROM no_such_table").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    let err = fx.sql(&tool, "SELECT 1 FORMAT TSV").await.unwrap_err();
    assert!(err.to_string().contains("FORMAT"), "{err}");
}

#[tokio::test]
async fn results_are_capped() {
    let Some(fx) = fixture() else { return };
    let tool = fx.tool(json!({}));
    let limits = CallLimits { max_rows: 2, ..CallLimits::default() };
    let out = fx.call(&tool, json!({"sql": "SELECT number FROM system.numbers LIMIT 100000"}), limits).await.unwrap();
    assert_eq!((out.content["rowCount"].as_u64(), out.truncated), (Some(2), true));
    // An endless result stops streaming at the cap.
    let limits = CallLimits { max_output_bytes: 200, ..CallLimits::default() };
    let out = fx
        .call(&tool, json!({"sql": "SELECT number, 'padding padding' AS p FROM system.numbers"}), limits)
        .await
        .unwrap();
    assert!(out.truncated);
    assert!(serde_json::to_string(&out.content["rows"]).unwrap().len() <= 200);
}

#[tokio::test]
async fn read_only_tools_refuse_writes() {
    let Some(fx) = fixture() else { return };
    let writer = fx.tool(json!({}));
    let reader = fx.tool(json!({"readOnly": true}));
    fx.sql(&writer, "INSERT INTO events VALUES (6, 'eps', [])").await.unwrap();
    fx.sql(&writer, "CREATE TABLE scratch (x UInt8) ENGINE = Memory").await.unwrap();
    assert_eq!(fx.sql(&reader, "SELECT count() AS n FROM events").await.unwrap().content["rows"][0]["n"], "6");
    for sql in [
        "INSERT INTO events VALUES (7, 'zeta', [])",
        "CREATE TABLE other (x UInt8) ENGINE = Memory",
        "DROP TABLE scratch",
        "SELECT 1; DROP TABLE scratch",
    ] {
        let err = fx.sql(&reader, sql).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Denied, "{sql}: {err}");
    }
    // The classifier passes this read; the server's readonly=1 refuses table functions.
    let err = fx.sql(&reader, "SELECT * FROM numbers(3)").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Denied, "{err}");
    assert_eq!(err.context_value("code"), Some("164"), "{err}");
    assert_eq!(fx.sql(&writer, "SELECT * FROM numbers(3)").await.unwrap().content["rowCount"], 3);
}

#[tokio::test]
async fn failures_are_classified() {
    let Some(fx) = fixture() else { return };
    let wrong = fx.tool_with_password(json!({}), "not-the-password");
    let err = fx.sql(&wrong, "SELECT 1").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth, "{err}");
    assert!(!format!("{err} {err:?}").contains("not-the-password"));
    let nobody = fx.tool(json!({"config": {"username": "nobody_here"}}));
    assert_eq!(nobody.probe().unwrap().probe().await.unwrap_err().kind(), ErrorKind::Auth);
    let err = fx.sql(&fx.tool(json!({"config": {"databaseName": "no_such_db"}})), "SELECT 1").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let gone = fx.tool(json!({"config": {"port": port}}));
    let err = fx.sql(&gone, "SELECT 1").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unreachable, "{err}");
    assert!(err.is_retryable());
    let limits = CallLimits { timeout: std::time::Duration::from_millis(300), ..CallLimits::default() };
    let err = fx.call(&fx.tool(json!({})), json!({"sql": "SELECT sleep(2)"}), limits).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
}

#[tokio::test]
async fn grants_are_planned_and_apply_is_unsupported_on_18() {
    let Some(fx) = fixture() else { return };
    let rules = json!([{"privileges": ["SELECT"], "on": format!("{}.events", fx.db)}, {"privileges": ["select", "show"], "on": "logs.*"}]);
    let tool = fx.tool(json!({"permissions": {"mode": "enforce", "role": "agent_reader", "rules": rules}}));
    let prov = tool.permissions().unwrap();
    let plan = prov.plan().await.unwrap();
    assert_eq!(plan.principal, "agent_reader");
    assert_eq!(
        plan.statements,
        [
            format!("GRANT SELECT ON {}.events TO agent_reader", fx.db),
            "GRANT SELECT, SHOW ON logs.* TO agent_reader".into()
        ]
    );
    let version = tool.probe().unwrap().probe().await.unwrap().server_version.unwrap();
    if version.starts_with("18.") || version.starts_with("19.") {
        assert!(plan.current.is_empty());
        let err = prov.apply(&plan).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported);
        assert!(err.to_string().contains(&version), "{err}");
    }
}

#[tokio::test]
async fn sessions_carry_env_and_run_sql() {
    let Some(fx) = fixture() else { return };
    let tool = fx.tool(json!({"readOnly": true}));
    let session = tool.open_session().await.unwrap();
    let env = session.env();
    fx.assert_clean(&format!("{env:?}"));
    let get = |name: &str| env.iter().find(|e| e.name == name).map(|e| e.value.clone());
    assert_eq!(get("CLICKHOUSE_HOST").unwrap().to_string(), fx.host);
    assert_eq!(get("CLICKHOUSE_PORT").unwrap().to_string(), fx.port.to_string());
    assert_eq!(get("CLICKHOUSE_USER").unwrap().to_string(), fx.user);
    assert_eq!(get("CLICKHOUSE_DATABASE").unwrap().to_string(), fx.db);
    let password = get("CLICKHOUSE_PASSWORD").unwrap();
    assert_eq!(password.to_string(), "[redacted]");
    assert_eq!(password.expose(), fx.password);
    let client = session.client().unwrap();
    assert_eq!(client[0], "clickhouse-client");
    assert!(client.contains(&"--readonly".to_owned()));
    fx.assert_clean(&client.join(" "));

    let limits = CallLimits::default();
    let out = session.exec(&["SELECT".into(), "count() AS n".into(), "FROM events".into()], &limits).await.unwrap();
    assert_eq!(out.content["rows"][0]["n"], "5");
    assert_eq!(session.exec(&["DROP TABLE events".into()], &limits).await.unwrap_err().kind(), ErrorKind::Denied);
    session.close().await;
    assert!(session.exec(&["SELECT 1".into()], &limits).await.is_err());
}

#[tokio::test]
async fn shared_behaviour_suite() {
    let Some(fx) = fixture() else { return };
    toolkit_testkit::behaviour::Suite {
        connector: &ClickhouseConnector,
        spec: fx.spec(json!({})),
        secrets: vec![("ch-cred".into(), "password".into(), fx.password.clone())],
        canary: fx.password.clone(),
        password: Some(("ch-cred".into(), "password".into())),
        endpoint: Some(toolkit_testkit::behaviour::set_host_port),
        timeout: Some(toolkit_testkit::behaviour::set_connect_timeout),
        require_tls: Some(|spec| {
            spec["config"]["tls"] = json!(true);
        }),
        call: Some(json!({"sql": "SELECT id FROM events ORDER BY id"})),
    }
    .run()
    .await;
}
