//! The postgres connector against a real server.
//!
//! Needs `TOOLKIT_TEST_PG_HOST`, `TOOLKIT_TEST_PG_PORT` and `TOOLKIT_TEST_PG_ADMIN_USER` (a
//! superuser reachable without a password), and `.ci/postgres-auth.sh` run once so that members
//! of the role `toolkit_pw` must give their password. Each test works in a database and role of
//! its own, whose password is a canary that must never show up in any output.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgSslMode};
use sqlx::{Connection, Executor, Row};
use toolkit_core::connector::{BuildContext, CallLimits, Invocation, ToolInstance};
use toolkit_core::manifest::ConfigMaps;
use toolkit_core::secret::SecretStore;
use toolkit_core::{ConnectorRegistry, Error, ErrorKind, SecretString, Tool, ToolSpec};

const NAMESPACE: &str = "pgtest";
const SECRET: &str = "pg-credentials";

struct Server {
    host: String,
    port: u16,
    admin: String,
}

fn server() -> Option<Server> {
    let host = toolkit_testkit::service("TOOLKIT_TEST_PG_HOST")?;
    let port = toolkit_testkit::service("TOOLKIT_TEST_PG_PORT")?;
    let admin = toolkit_testkit::service("TOOLKIT_TEST_PG_ADMIN_USER")?;
    let port = port.parse().expect("TOOLKIT_TEST_PG_PORT is a port number");
    Some(Server { host, port, admin })
}

impl Server {
    async fn admin(&self, database: &str) -> PgConnection {
        let opts = PgConnectOptions::new_without_pgpass()
            .host(&self.host)
            .port(self.port)
            .username(&self.admin)
            .database(database)
            .ssl_mode(PgSslMode::Disable);
        PgConnection::connect_with(&opts).await.expect("admin connection (trust auth)")
    }
}

/// A database and a password-checked role that owns it.
struct Fixture {
    server: Server,
    database: String,
    role: String,
    password: String,
}

impl Fixture {
    async fn new() -> Option<Self> {
        let server = server()?;
        let database = toolkit_testkit::unique_name("tk_pg");
        let role = toolkit_testkit::unique_name("tk_pw");
        let password = toolkit_testkit::canary();
        let mut admin = server.admin("postgres").await;
        let group: Option<String> = admin
            .fetch_optional("select rolname::text from pg_roles where rolname = 'toolkit_pw'")
            .await
            .expect("query roles")
            .map(|r| r.get(0));
        assert!(group.is_some(), "role toolkit_pw is missing: run .ci/postgres-auth.sh first");
        admin
            .execute(format!("create role {role} login password '{password}' in role toolkit_pw").as_str())
            .await
            .expect("create role");
        admin.execute(format!("create database {database} owner {role}").as_str()).await.expect("create database");
        admin.close().await.ok();
        Some(Self { server, database, role, password })
    }

    /// A connection as the fixture's role, for setting up tables.
    async fn owner(&self) -> PgConnection {
        let opts = PgConnectOptions::new_without_pgpass()
            .host(&self.server.host)
            .port(self.server.port)
            .username(&self.role)
            .password(&self.password)
            .database(&self.database)
            .ssl_mode(PgSslMode::Disable);
        PgConnection::connect_with(&opts).await.expect("connect as the test role with its password")
    }

    async fn setup(&self, sql: &str) {
        let mut conn = self.owner().await;
        conn.execute(sql).await.expect("set up tables");
        conn.close().await.ok();
    }

    async fn scalar_i64(&self, sql: &str) -> i64 {
        let mut conn = self.owner().await;
        let n: i64 = conn.fetch_one(sql).await.expect("query").get(0);
        conn.close().await.ok();
        n
    }

    /// The spec of a tool connecting as the fixture's role; `config` is merged in.
    fn spec(&self, extra: Value) -> ToolSpec {
        let mut config = json!({
            "hostname": self.server.host,
            "port": self.server.port,
            "username": self.role,
            "databaseName": self.database,
            "sslMode": "disable",
            "credentialsRef": {"name": SECRET, "key": "password"},
            "connectTimeout": "3s",
        });
        let mut spec = json!({"type": "postgres"});
        if let Value::Object(extra) = extra {
            for (k, v) in extra {
                if k == "config" {
                    if let (Value::Object(c), Value::Object(over)) = (&mut config, v) {
                        c.extend(over);
                    }
                } else {
                    spec[k] = v;
                }
            }
        }
        spec["config"] = config;
        serde_json::from_value(spec).expect("spec parses")
    }

    /// A tool built through the connector, whose Secret holds `password`.
    fn tool_with_password(&self, spec: ToolSpec, password: &str) -> Arc<dyn ToolInstance> {
        build(spec, password)
    }

    fn tool(&self, extra: Value) -> Arc<dyn ToolInstance> {
        self.tool_with_password(self.spec(extra), &self.password)
    }

    async fn cleanup(self) {
        let mut admin = self.server.admin("postgres").await;
        admin.execute(format!("drop database if exists {} with (force)", self.database).as_str()).await.ok();
        admin.execute(format!("drop role if exists {}", self.role).as_str()).await.ok();
        admin.close().await.ok();
    }
}

fn build(spec: ToolSpec, password: &str) -> Arc<dyn ToolInstance> {
    let mut registry = ConnectorRegistry::new();
    toolkit_connector_postgres::register(&mut registry);
    let connector = registry.get("postgres").expect("postgres is registered").clone();
    let problems = connector.validate(&spec);
    assert!(problems.is_empty(), "spec is valid: {problems:?}");
    let mut tool = Tool::new("db", spec);
    tool.metadata.namespace = Some(NAMESPACE.to_owned());
    let mut secrets = SecretStore::default();
    secrets.insert(NAMESPACE, SECRET, BTreeMap::from([("password".to_owned(), SecretString::new(password))]));
    let ctx = BuildContext {
        tool: Arc::new(tool),
        namespace: NAMESPACE.to_owned(),
        name: "db".to_owned(),
        secrets: Arc::new(secrets),
        config_maps: Arc::new(ConfigMaps::default()),
        tools: std::sync::Arc::new(toolkit_core::connector::NoTools),
    };
    connector.build(ctx).expect("tool builds")
}

fn call(query: &str) -> Invocation {
    call_with(query, CallLimits::default())
}

fn call_with(query: &str, limits: CallLimits) -> Invocation {
    let arguments = json!({"query": query}).as_object().cloned().unwrap_or_default();
    Invocation { arguments, limits, subject_token: None }
}

async fn invoke(tool: &Arc<dyn ToolInstance>, query: &str) -> Result<toolkit_core::InvokeOutput, Error> {
    tool.invoker().expect("postgres invokes").invoke(call(query)).await
}

/// Neither the message nor the debug form carries the secret, and the message is one line.
fn assert_clean(err: &Error, secrets: &[&str]) {
    let shown = err.to_string();
    let debug = format!("{err:?}");
    assert!(!shown.contains('\n'), "one line: {shown}");
    for s in secrets {
        assert!(!shown.contains(s) && !debug.contains(s), "secret leaked: {shown} / {debug}");
    }
}

#[tokio::test]
async fn probe_reports_the_server_version() {
    let Some(fx) = Fixture::new().await else { return };
    let tool = fx.tool(json!({}));
    let report = tool.probe().expect("postgres probes").probe().await.expect("probe succeeds");
    let version = report.server_version.expect("a version");
    assert!(version.starts_with("PostgreSQL "), "{version}");
    assert_eq!(report.details.get("tls").map(String::as_str), Some("false"));
    tool.shutdown().await;
    fx.cleanup().await;
}

#[tokio::test]
async fn invoke_converts_types_and_nulls() {
    let Some(fx) = Fixture::new().await else { return };
    fx.setup(
        "create type mood as enum ('sad', 'happy');
         create table items (
            id int primary key, big bigint, small smallint, price numeric(10,2), ratio float8, f4 real,
            ok bool, name text, doc jsonb, seen timestamptz, day date, at timestamp, span interval,
            uid uuid, raw bytea, tags text[], nums int[], feeling mood, note varchar(10)
         );
         insert into items values
           (1, 9007199254740993, 7, 12.50, 0.25, 0.1, true, 'widget', '{\"a\": [1, 2]}',
            '2024-05-06 07:08:09.5+02', '2024-02-29', '2024-01-02 03:04:05', '1 day 02:00:03',
            'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '\\x00ff10', array['x', null], array[1, 2], 'happy', 'n'),
           (2, null, null, null, 'NaN', null, null, null, null, null, 'infinity', null, null, null, null, null, null, null, null);",
    )
    .await;
    let tool = fx.tool(json!({}));
    let out = invoke(&tool, "select * from items order by id").await.expect("query runs");
    let c = &out.content;
    assert_eq!(c["columns"][0], "id");
    assert_eq!(c["columns"].as_array().map(Vec::len), Some(19));
    assert_eq!(c["rowCount"], 2);
    assert_eq!(c["truncated"], false);
    assert!(!out.truncated);
    let r = &c["rows"][0];
    assert_eq!(r["id"], 1);
    assert_eq!(r["big"], json!(9_007_199_254_740_993_i64));
    assert_eq!(r["small"], 7);
    assert_eq!(r["price"], "12.50");
    assert_eq!(r["ratio"], 0.25);
    assert_eq!(r["f4"], 0.1);
    assert_eq!(r["ok"], true);
    assert_eq!(r["name"], "widget");
    assert_eq!(r["doc"], json!({"a": [1, 2]}));
    assert_eq!(r["seen"], "2024-05-06T05:08:09.500Z");
    assert_eq!(r["day"], "2024-02-29");
    assert_eq!(r["at"], "2024-01-02T03:04:05");
    assert_eq!(r["span"], "P1DT2H3S");
    assert_eq!(r["uid"], "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
    assert_eq!(r["raw"], "AP8Q");
    assert_eq!(r["tags"], json!(["x", null]));
    assert_eq!(r["nums"], json!([1, 2]));
    assert_eq!(r["feeling"], "happy");
    assert_eq!(r["note"], "n");
    let r = &c["rows"][1];
    assert_eq!(r["big"], Value::Null);
    assert_eq!(r["ratio"], "NaN");
    assert_eq!(r["day"], "infinity");
    assert_eq!(r["doc"], Value::Null);

    let out = invoke(&tool, "select 'NaN'::numeric as nan, array[1.50, null, -0.001]::numeric(6,3)[] as a, 1e30::numeric as big, 0::numeric as zero, 12.5::money as cash")
        .await
        .expect("query runs");
    assert_eq!(
        out.content["rows"][0],
        json!({"nan": "NaN", "a": ["1.500", null, "-0.001"], "big": "1000000000000000000000000000000", "zero": "0", "cash": "12.50"})
    );

    // Unnamed and repeated columns stay apart; unsupported types say so.
    let out = invoke(&tool, "select 1, 2, point(1, 2) as p").await.expect("query runs");
    assert_eq!(out.content["columns"], json!(["?column?", "?column?_2", "p"]));
    assert_eq!(out.content["rows"][0]["?column?_2"], 2);
    assert_eq!(out.content["rows"][0]["p"], "<unsupported type POINT>");

    // An empty result still names its columns; a write reports the rows it touched.
    let out = invoke(&tool, "select id, name from items where false").await.expect("query runs");
    assert_eq!(out.content["columns"], json!(["id", "name"]));
    assert_eq!(out.content["rows"], json!([]));
    let out = invoke(&tool, "update items set name = 'gadget' where id <= 2").await.expect("update runs");
    assert_eq!(out.content["rowsAffected"], 2);
    assert_eq!(fx.scalar_i64("select count(*) from items where name = 'gadget'").await, 2);
    tool.shutdown().await;
    fx.cleanup().await;
}

#[tokio::test]
async fn invalid_queries_are_invalid_input() {
    let Some(fx) = Fixture::new().await else { return };
    let tool = fx.tool(json!({}));
    for sql in ["selec 1", "select * from no_such_table", "select 1; select 2", "select $1::int", "select 1/0"] {
        let err = invoke(&tool, sql).await.expect_err(sql);
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{sql}: {err}");
        assert_clean(&err, &[&fx.password]);
    }
    let err = tool.invoker().expect("invoker").invoke(Invocation::default()).await.expect_err("no query");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    // The connection is still good after errors.
    invoke(&tool, "select 1").await.expect("query after errors");
    tool.shutdown().await;
    fx.cleanup().await;
}

#[tokio::test]
async fn row_cap_truncates_and_the_pool_recovers() {
    let Some(fx) = Fixture::new().await else { return };
    fx.setup("create table t (id int)").await;
    let tool = fx.tool(json!({"readOnly": true, "config": {"maxConnections": 1}}));
    let limits = CallLimits { max_rows: 10, ..CallLimits::default() };
    let invoker = tool.invoker().expect("invoker");
    let out = invoker.invoke(call_with("select g from generate_series(1, 100) g", limits)).await.expect("runs");
    assert!(out.truncated);
    assert_eq!(out.content["truncated"], true);
    assert_eq!(out.content["rowCount"], 10);
    assert_eq!(out.content["rows"][9]["g"], 10);

    // A huge result is cut short without reading it to the end. (A set-returning function in the
    // select list streams its rows; in FROM it would compute all of them first.)
    let started = Instant::now();
    let out = invoker
        .invoke(call_with("select generate_series(1, 1000000000) as g", CallLimits { max_rows: 3, ..limits }))
        .await
        .expect("runs");
    assert!(out.truncated);
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());

    // Exactly max_rows rows are not truncated; the pool's one connection was replaced.
    let out = invoker.invoke(call_with("select g from generate_series(1, 10) g", limits)).await.expect("runs");
    assert!(!out.truncated);

    // The byte cap truncates too.
    let small = CallLimits { max_output_bytes: 200, ..CallLimits::default() };
    let out = invoker
        .invoke(call_with("select repeat('x', 50) as s from generate_series(1, 100)", small))
        .await
        .expect("runs");
    assert!(out.truncated);
    assert!(out.content["rowCount"].as_u64().is_some_and(|n| (1..10).contains(&n)));

    // A write whose output is capped still commits in full.
    let writable = fx.tool(json!({}));
    let out = writable
        .invoker()
        .expect("invoker")
        .invoke(call_with("insert into t select generate_series(1, 50) returning id", limits))
        .await
        .expect("insert runs");
    assert!(out.truncated);
    assert_eq!(out.content["rowCount"], 10);
    assert_eq!(fx.scalar_i64("select count(*) from t").await, 50);
    tool.shutdown().await;
    writable.shutdown().await;
    fx.cleanup().await;
}

#[tokio::test]
async fn read_only_is_enforced_by_the_engine() {
    let Some(fx) = Fixture::new().await else { return };
    fx.setup(
        "create table t (id int primary key, v text); insert into t values (1, 'a'), (2, 'b'); create sequence s;",
    )
    .await;
    let tool = fx.tool(json!({"readOnly": true}));
    let out = invoke(&tool, "select count(*) as n from t").await.expect("reads work");
    assert_eq!(out.content["rows"][0]["n"], 2);
    for sql in [
        "insert into t values (3, 'c')",
        "update t set v = 'z'",
        "delete from t",
        "create table u (id int)",
        "drop table t",
        "select nextval('s')",
        "with d as (delete from t returning *) select * from d",
    ] {
        let err = invoke(&tool, sql).await.expect_err(sql);
        assert_eq!(err.kind(), ErrorKind::Denied, "{sql}: {err}");
        assert_eq!(err.context_value("sqlstate"), Some("25006"), "{sql}: {err}");
        assert_clean(&err, &[&fx.password]);
    }
    // Stepping out of the transaction is not possible in one statement.
    let err = invoke(&tool, "commit; insert into t values (4, 'd')").await.expect_err("two statements");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    invoke(&tool, "commit").await.expect("a lone commit ends only its own transaction");
    let err = invoke(&tool, "insert into t values (5, 'e')").await.expect_err("still read-only");
    assert_eq!(err.kind(), ErrorKind::Denied);
    assert_eq!(fx.scalar_i64("select count(*) from t where v in ('a', 'b')").await, 2);
    assert_eq!(fx.scalar_i64("select count(*) from t").await, 2);
    assert_eq!(fx.scalar_i64("select count(*) from pg_tables where tablename = 'u'").await, 0);
    tool.shutdown().await;
    fx.cleanup().await;
}

#[tokio::test]
async fn wrong_password_is_an_auth_error_without_the_secret() {
    let Some(fx) = Fixture::new().await else { return };
    let wrong = toolkit_testkit::canary();
    let tool = fx.tool_with_password(fx.spec(json!({})), &wrong);
    let err = tool.probe().expect("probe").probe().await.expect_err("wrong password");
    assert_eq!(err.kind(), ErrorKind::Auth, "{err}");
    assert!(!err.is_retryable());
    let shown = err.to_string();
    assert!(
        shown.starts_with(&format!(
            "connect to postgres at {}:{} as user `{}`",
            fx.server.host, fx.server.port, fx.role
        )),
        "{shown}"
    );
    assert!(shown.contains("password authentication failed"), "{shown}");
    assert_clean(&err, &[&wrong, &fx.password]);

    let err = invoke(&tool, "select 1").await.expect_err("wrong password");
    assert_eq!(err.kind(), ErrorKind::Auth, "{err}");
    assert_clean(&err, &[&wrong, &fx.password]);
    let err = tool.open_session().await.err().expect("wrong password");
    assert_eq!(err.kind(), ErrorKind::Auth, "{err}");
    assert_clean(&err, &[&wrong, &fx.password]);

    // No password at all is refused the same way.
    let mut spec = fx.spec(json!({}));
    if let Some(c) = spec.config.as_mut().and_then(|c| c.as_object_mut()) {
        c.remove("credentialsRef");
    }
    let tool = build(spec, &wrong);
    let err = tool.probe().expect("probe").probe().await.expect_err("no password");
    assert_eq!(err.kind(), ErrorKind::Auth, "{err}");
    fx.cleanup().await;
}

#[tokio::test]
async fn unreachable_servers_are_unreachable() {
    let Some(fx) = Fixture::new().await else { return };
    let tool = fx.tool(json!({"config": {"hostname": "127.0.0.1", "port": 1, "connectTimeout": "1s"}}));
    let err = tool.probe().expect("probe").probe().await.expect_err("nothing listens on port 1");
    assert_eq!(err.kind(), ErrorKind::Unreachable, "{err}");
    assert!(err.is_retryable());
    assert!(err.to_string().contains("127.0.0.1:1"), "{err}");
    assert_clean(&err, &[&fx.password]);
    let err = invoke(&tool, "select 1").await.expect_err("nothing listens on port 1");
    assert_eq!(err.kind(), ErrorKind::Unreachable, "{err}");
    assert_clean(&err, &[&fx.password]);

    let tool = fx.tool(json!({"config": {"hostname": "no-such-host.invalid", "connectTimeout": "2s"}}));
    let err = tool.probe().expect("probe").probe().await.expect_err("no such host");
    assert_eq!(err.kind(), ErrorKind::Unreachable, "{err}");
    fx.cleanup().await;
}

#[tokio::test]
async fn ssl_modes_are_honoured() {
    let Some(fx) = Fixture::new().await else { return };
    let mut admin = fx.server.admin("postgres").await;
    let ssl: String = admin.fetch_one("show ssl").await.expect("show ssl").get(0);
    admin.close().await.ok();

    let tool = fx.tool(json!({"config": {"sslMode": "require"}}));
    let probed = tool.probe().expect("probe").probe().await;
    if ssl == "on" {
        let report = probed.expect("require works against a TLS server");
        assert_eq!(report.details.get("tls").map(String::as_str), Some("true"));
        invoke(&tool, "select 1").await.expect("queries over TLS");
    } else {
        let err = probed.expect_err("the server has no TLS");
        assert_eq!(err.kind(), ErrorKind::Config, "{err}");
        assert_clean(&err, &[&fx.password]);
    }

    // verify-full cannot succeed: the server's certificate is not signed by a public CA.
    let tool = fx.tool(json!({"config": {"sslMode": "verify-full"}}));
    let err = tool.probe().expect("probe").probe().await.expect_err("certificate is not trusted");
    assert!(matches!(err.kind(), ErrorKind::Unreachable | ErrorKind::Config), "{err}");
    assert!(err.to_string().to_lowercase().contains("tls"), "{err}");
    assert!(!err.is_retryable());
    assert_clean(&err, &[&fx.password]);

    // A CA file that does not exist is a configuration error before any connection.
    let tool = fx.tool(json!({"config": {"sslMode": "verify-ca", "caFile": "/nonexistent/ca.pem"}}));
    let err = tool.probe().expect("probe").probe().await.expect_err("no CA file");
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
    fx.cleanup().await;
}

#[tokio::test]
async fn statement_timeout_is_a_timeout() {
    let Some(fx) = Fixture::new().await else { return };
    let tool = fx.tool(json!({"config": {"maxConnections": 1}}));
    let invoker = tool.invoker().expect("invoker");
    let limits = CallLimits { timeout: Duration::from_millis(500), ..CallLimits::default() };
    let started = Instant::now();
    let err = invoker.invoke(call_with("select pg_sleep(10)", limits)).await.expect_err("too slow");
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(err.is_retryable());
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
    assert_clean(&err, &[&fx.password]);
    // The only connection of the pool is usable again.
    let out = invoker.invoke(call("select 42 as answer")).await.expect("pool recovers");
    assert_eq!(out.content["rows"][0]["answer"], 42);
    tool.shutdown().await;
    fx.cleanup().await;
}

#[tokio::test]
async fn sessions_expose_env_for_psql_and_run_commands() {
    let Some(fx) = Fixture::new().await else { return };
    fx.setup("create table t (id int); insert into t values (1);").await;
    let tool = fx.tool(json!({"readOnly": true}));
    let session = tool.open_session().await.expect("session opens");
    assert_eq!(session.client(), Some(vec!["psql".to_owned()]));
    let env = session.env();
    let get = |name: &str| env.iter().find(|e| e.name == name).map(|e| e.value.expose().to_owned());
    assert_eq!(get("PGHOST").as_deref(), Some(fx.server.host.as_str()));
    assert_eq!(get("PGPORT"), Some(fx.server.port.to_string()));
    assert_eq!(get("PGUSER").as_deref(), Some(fx.role.as_str()));
    assert_eq!(get("PGDATABASE").as_deref(), Some(fx.database.as_str()));
    assert_eq!(get("PGSSLMODE").as_deref(), Some("disable"));
    assert_eq!(get("PGPASSWORD").as_deref(), Some(fx.password.as_str()));
    let password = env.iter().find(|e| e.name == "PGPASSWORD").expect("PGPASSWORD");
    assert_eq!(password.value.to_string(), "[redacted]");
    assert!(!format!("{env:?}").contains(&fx.password));

    let limits = CallLimits::default();
    let words: Vec<String> = ["select", "count(*)", "as", "n", "from", "t"].map(String::from).to_vec();
    let out = session.exec(&words, &limits).await.expect("exec runs");
    assert_eq!(out.content["rows"][0]["n"], 1);
    let err = session.exec(&["delete from t".to_owned()], &limits).await.expect_err("read-only");
    assert_eq!(err.kind(), ErrorKind::Denied);
    assert_clean(&err, &[&fx.password]);
    let err = session.exec(&[], &limits).await.expect_err("empty");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    // Truncation drops the connection; the next command opens another.
    let out = session
        .exec(&["select generate_series(1, 5000)".to_owned()], &CallLimits { max_rows: 2, ..limits })
        .await
        .expect("runs");
    assert!(out.truncated);
    session.exec(&["select 1".to_owned()], &limits).await.expect("reconnects");
    session.close().await;
    assert_eq!(fx.scalar_i64("select count(*) from t").await, 1);
    tool.shutdown().await;
    fx.cleanup().await;
}

#[tokio::test]
async fn permissions_plan_and_enforce_grants() {
    let Some(fx) = Fixture::new().await else { return };
    let reader = toolkit_testkit::unique_name("tk_reader");
    let mut admin = fx.server.admin("postgres").await;
    admin.execute(format!("create role {reader} nologin").as_str()).await.expect("create reader role");
    admin.close().await.ok();
    fx.setup("create table orders (id int); create table notes (id int);").await;
    let permissions = json!({
        "mode": "enforce",
        "role": reader,
        "rules": [
            {"schema": "public", "tables": ["*"], "privileges": ["SELECT"]},
            {"schema": "public", "tables": ["notes"], "privileges": ["insert"]},
        ],
    });
    let tool = fx.tool(json!({"permissions": permissions}));
    let provisioner = tool.permissions().expect("postgres plans grants");
    let plan = provisioner.plan().await.expect("plan");
    assert_eq!(plan.principal, reader);
    assert_eq!(
        plan.statements,
        [
            format!("GRANT USAGE ON SCHEMA \"public\" TO \"{reader}\""),
            format!("GRANT SELECT ON ALL TABLES IN SCHEMA \"public\" TO \"{reader}\""),
            format!("GRANT INSERT ON TABLE \"public\".\"notes\" TO \"{reader}\""),
        ]
    );
    assert!(plan.current.is_empty(), "{:?}", plan.current);
    provisioner.apply(&plan).await.expect("apply");
    let mut conn = fx.owner().await;
    let granted: (bool, bool, bool) = {
        let row = conn
            .fetch_one(
                format!(
                    "select has_table_privilege('{reader}', 'orders', 'SELECT'), \
                     has_table_privilege('{reader}', 'orders', 'INSERT'), \
                     has_table_privilege('{reader}', 'notes', 'INSERT')"
                )
                .as_str(),
            )
            .await
            .expect("check grants");
        (row.get(0), row.get(1), row.get(2))
    };
    conn.close().await.ok();
    assert_eq!(granted, (true, false, true));
    let plan = provisioner.plan().await.expect("plan again");
    assert!(plan.current.contains(&"SELECT ON public.orders".to_owned()), "{:?}", plan.current);

    // A tampered plan is refused.
    let mut tampered = plan.clone();
    tampered.statements.push("DROP TABLE orders".to_owned());
    let err = provisioner.apply(&tampered).await.expect_err("tampered");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);

    // Declare mode plans but does not apply.
    let declared = fx.tool(json!({"permissions": {"role": reader, "rules": [{"schema": "public", "tables": ["*"], "privileges": ["DELETE"]}]}}));
    let provisioner = declared.permissions().expect("plans");
    let plan = provisioner.plan().await.expect("plan");
    let err = provisioner.apply(&plan).await.expect_err("declare mode");
    assert_eq!(err.kind(), ErrorKind::Denied);
    tool.shutdown().await;
    declared.shutdown().await;
    fx.cleanup().await;
    let mut admin = server().expect("server").admin("postgres").await;
    admin.execute(format!("drop role if exists {reader}").as_str()).await.ok();
    admin.close().await.ok();
}

/// The table privileges of `role` in the fixture's database, as `PRIVILEGE schema.table`, read
/// by the superuser.
async fn table_privileges(fx: &Fixture, role: &str) -> Vec<String> {
    let mut admin = fx.server.admin(&fx.database).await;
    let rows = admin
        .fetch_all(
            sqlx::query(
                "select distinct privilege_type || ' ' || table_schema || '.' || table_name \
                 from information_schema.table_privileges where grantee = $1 order by 1",
            )
            .bind(role),
        )
        .await
        .expect("read the catalog");
    admin.close().await.ok();
    rows.iter().map(|r| r.get(0)).collect()
}

#[tokio::test]
async fn permissions_revoke_what_is_granted_but_not_declared() {
    let Some(fx) = Fixture::new().await else { return };
    let reader = toolkit_testkit::unique_name("tk_reader");
    let mut admin = fx.server.admin("postgres").await;
    admin.execute(format!("create role {reader} nologin").as_str()).await.expect("create reader role");
    admin.close().await.ok();
    fx.setup("create table orders (id int); create table notes (id int); create schema other; create table other.t (id int);")
        .await;
    // Out of band: INSERT on a table of the declared schema, DELETE in a schema no rule names.
    let mut admin = fx.server.admin(&fx.database).await;
    admin
        .execute(
            format!("grant select, insert on orders to {reader}; grant usage on schema other to {reader}; grant delete on other.t to {reader}")
                .as_str(),
        )
        .await
        .expect("grant out of band");
    admin.close().await.ok();
    let permissions = json!({
        "mode": "enforce",
        "role": reader,
        "rules": [
            {"schema": "public", "tables": ["*"], "privileges": ["SELECT"]},
            {"schema": "public", "tables": ["notes"], "privileges": ["INSERT"]},
        ],
    });
    let tool = fx.tool(json!({"permissions": permissions}));
    let provisioner = tool.permissions().expect("postgres plans grants");
    let plan = provisioner.plan().await.expect("plan");
    assert_eq!(
        plan.statements,
        [
            format!("GRANT USAGE ON SCHEMA \"public\" TO \"{reader}\""),
            format!("GRANT SELECT ON ALL TABLES IN SCHEMA \"public\" TO \"{reader}\""),
            format!("GRANT INSERT ON TABLE \"public\".\"notes\" TO \"{reader}\""),
            format!("REVOKE INSERT ON TABLE \"public\".\"orders\" FROM \"{reader}\""),
        ]
    );
    assert_eq!(plan.current, ["DELETE ON other.t", "INSERT ON public.orders", "SELECT ON public.orders"]);
    provisioner.apply(&plan).await.expect("apply");
    assert_eq!(
        table_privileges(&fx, &reader).await,
        ["DELETE other.t", "INSERT public.notes", "SELECT public.notes", "SELECT public.orders"]
    );
    let converged = provisioner.plan().await.expect("plan again");
    assert!(converged.statements.iter().all(|s| s.starts_with("GRANT")), "{:?}", converged.statements);

    // A grant made between plan and apply changes the plan: the stale one is refused and nothing runs.
    let mut admin = fx.server.admin(&fx.database).await;
    admin.execute(format!("grant update on notes to {reader}").as_str()).await.expect("grant out of band");
    admin.close().await.ok();
    let err = provisioner.apply(&converged).await.expect_err("stale plan");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_clean(&err, &[&fx.password]);
    assert!(err.to_string().contains("plan again"), "{err}");
    assert!(table_privileges(&fx, &reader).await.contains(&"UPDATE public.notes".to_owned()));
    let plan = provisioner.plan().await.expect("plan after the change");
    assert_eq!(plan.statements.last(), Some(&format!("REVOKE UPDATE ON TABLE \"public\".\"notes\" FROM \"{reader}\"")));
    provisioner.apply(&plan).await.expect("apply the new plan");
    assert_eq!(
        table_privileges(&fx, &reader).await,
        ["DELETE other.t", "INSERT public.notes", "SELECT public.notes", "SELECT public.orders"]
    );
    tool.shutdown().await;
    fx.cleanup().await;
    let mut admin = server().expect("server").admin("postgres").await;
    admin.execute(format!("drop role if exists {reader}").as_str()).await.ok();
    admin.close().await.ok();
}

#[tokio::test]
async fn shutdown_closes_the_pool() {
    let Some(fx) = Fixture::new().await else { return };
    let tool = fx.tool(json!({}));
    invoke(&tool, "select 1").await.expect("runs");
    tool.shutdown().await;
    let err = invoke(&tool, "select 1").await.expect_err("closed");
    assert_eq!(err.kind(), ErrorKind::Unreachable);
    assert!(!err.is_retryable());
    fx.cleanup().await;
}

#[test]
fn debug_output_never_shows_the_password() {
    let password = toolkit_testkit::canary();
    let spec: ToolSpec = serde_json::from_value(json!({
        "type": "postgres",
        "config": {"hostname": "db", "username": "app", "databaseName": "shop", "credentialsRef": {"name": SECRET, "key": "password"}},
    }))
    .expect("spec");
    let mut tool = Tool::new("db", spec);
    tool.metadata.namespace = Some(NAMESPACE.to_owned());
    let mut secrets = SecretStore::default();
    secrets.insert(NAMESPACE, SECRET, BTreeMap::from([("password".to_owned(), SecretString::new(&password))]));
    let ctx = BuildContext {
        tool: Arc::new(tool),
        namespace: NAMESPACE.to_owned(),
        name: "db".to_owned(),
        secrets: Arc::new(secrets),
        config_maps: Arc::new(ConfigMaps::default()),
        tools: std::sync::Arc::new(toolkit_core::connector::NoTools),
    };
    let instance = toolkit_connector_postgres::PostgresTool::new(ctx.clone()).expect("builds");
    assert!(!format!("{instance:?} {ctx:?}").contains(&password));
}

#[tokio::test]
async fn shared_behaviour_suite() {
    let Some(fx) = Fixture::new().await else { return };
    toolkit_testkit::behaviour::Suite {
        connector: &toolkit_connector_postgres::PostgresConnector::default(),
        spec: serde_json::to_value(fx.spec(json!({}))).expect("spec serializes"),
        secrets: vec![(SECRET.into(), "password".into(), fx.password.clone())],
        canary: fx.password.clone(),
        password: Some((SECRET.into(), "password".into())),
        endpoint: Some(toolkit_testkit::behaviour::set_host_port),
        timeout: Some(toolkit_testkit::behaviour::set_connect_timeout),
        // The test server may offer TLS (Debian's default certificate), so demanding it can
        // succeed.
        require_tls: None,
        call: Some(json!({"query": "select generate_series(1, 3) as n"})),
    }
    .run()
    .await;
    fx.cleanup().await;
}
