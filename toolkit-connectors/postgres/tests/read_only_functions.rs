//! Read-only SQL and functions that act outside the transaction, against a real PostgreSQL.
//!
//! A read-only tool runs a statement only when its connector classifies it as a read; the
//! statement then runs in a read-only transaction that is rolled back. That transaction holds
//! for data, but not for what some functions do: `pg_terminate_backend` ends other sessions,
//! `brin_summarize_new_values` changes an index, advisory locks outlive it. Every attempt below
//! must be classified as no read, so that another session of the same role survives them all;
//! the last test shows that the engine alone would not have stopped them.
//!
//! Needs `TOOLKIT_TEST_PG_HOST`, `TOOLKIT_TEST_PG_PORT` and `TOOLKIT_TEST_PG_ADMIN_USER` (a
//! superuser reachable without a password); skipped with a message without them, failed under
//! `CI=true`.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value, json};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgSslMode};
use sqlx::{Connection, Executor, Row};
use toolkit_core::connector::{BuildContext, CallLimits, Invocation, Request, ToolInstance};
use toolkit_core::manifest::ConfigMaps;
use toolkit_core::secret::SecretStore;
use toolkit_core::verdict::Class;
use toolkit_core::{ConnectorRegistry, SecretString, Tool, ToolSpec};

const NAMESPACE: &str = "pgfn";
const SECRET: &str = "pg-credentials";
const PASSWORD: &str = "not-a-secret";

/// Attempts to act outside the read-only transaction: other sessions, indexes, locks, files,
/// settings, large objects, and SQL given as text to functions that run it.
const ATTEMPTS: &[&str] = &[
    "SELECT * FROM ts_stat('SELECT to_tsvector(pg_terminate_backend(pid)::text) FROM pg_stat_activity WHERE usename = current_user AND pid <> pg_backend_pid()')",
    "SELECT * FROM ts_stat('SELECT to_tsvector(pg_cancel_backend(pid)::text) FROM pg_stat_activity WHERE usename = current_user')",
    "SELECT ts_rewrite('a & b'::tsquery, 'SELECT pg_terminate_backend(pid)::text::tsquery, ''x''::tsquery FROM pg_stat_activity WHERE usename = current_user AND pid <> pg_backend_pid()')",
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = current_user AND pid <> pg_backend_pid()",
    "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE usename = current_user AND pid <> pg_backend_pid()",
    "SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = current_user AND pid <> pg_backend_pid()",
    "SELECT \"pg_terminate_backend\"(pid) FROM pg_stat_activity WHERE usename = current_user AND pid <> pg_backend_pid()",
    "SELECT PG_TERMINATE_BACKEND(pid) FROM pg_stat_activity WHERE usename = current_user AND pid <> pg_backend_pid()",
    "SELECT count(*) FROM pg_stat_activity WHERE pg_terminate_backend(pid) AND usename = current_user AND pid <> pg_backend_pid()",
    "SELECT (SELECT pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = current_user AND pid <> pg_backend_pid()",
    "WITH k AS (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = current_user AND pid <> pg_backend_pid()) SELECT * FROM k",
    "SELECT pg_wait_for_backend_termination(pid) FROM pg_stat_activity WHERE usename = current_user AND pid <> pg_backend_pid()",
    "SELECT * FROM query_to_xml('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = current_user AND pid <> pg_backend_pid()', true, true, '')",
    "SELECT query_to_xml_and_xmlschema('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = current_user AND pid <> pg_backend_pid()', true, true, '')",
    "SELECT xpath('/a', query_to_xml('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = current_user AND pid <> pg_backend_pid()', true, true, ''))",
    "SELECT brin_summarize_new_values('items_brin')",
    "SELECT brin_summarize_range('items_brin', 0)",
    "SELECT brin_desummarize_range('items_brin', 0)",
    "SELECT gin_clean_pending_list('items_gin')",
    "SELECT pg_advisory_lock(42)",
    "SELECT pg_advisory_lock_shared(42)",
    "SELECT pg_try_advisory_lock(42)",
    "SELECT pg_advisory_xact_lock(42)",
    "SELECT pg_advisory_unlock_all()",
    "SELECT pg_reload_conf()",
    "SELECT pg_rotate_logfile()",
    "SELECT pg_stat_reset()",
    "SELECT pg_stat_reset_shared('bgwriter')",
    "SELECT pg_stat_reset_single_table_counters('items'::regclass)",
    "SELECT pg_read_file('/etc/passwd')",
    "SELECT pg_read_binary_file('/etc/passwd')",
    "SELECT * FROM pg_ls_dir('/')",
    "SELECT pg_stat_file('/etc/passwd')",
    "SELECT set_config('statement_timeout', '1', false)",
    "SELECT lo_import('/etc/passwd')",
    "SELECT lo_create(0)",
    "SELECT lo_unlink(1)",
    "SELECT nextval('items_seq')",
    "SELECT setval('items_seq', 100)",
    "SELECT pg_notify('c', 'x')",
    "SELECT pg_sleep(0)",
    "SELECT txid_current()",
    "SELECT bump()",
    "SELECT public.bump()",
    "SELECT * FROM items WHERE bump() IS NULL",
    "SELECT pg_log_backend_memory_contexts(pg_backend_pid())",
    "SELECT pg_create_restore_point('x')",
    "SELECT * FROM pg_authid",
    "SELECT * FROM dblink('dbname=postgres', 'SELECT pg_terminate_backend(pid) FROM pg_stat_activity') AS t(x bool)",
];

/// Reads that must still run.
const READS: &[&str] = &[
    "SELECT count(*) AS n FROM items",
    "SELECT pid, state FROM pg_stat_activity WHERE usename = current_user",
    "SELECT relname, pg_size_pretty(pg_total_relation_size(c.oid)) FROM pg_class c WHERE relname = 'items'",
    "SELECT now(), current_user, version(), pg_backend_pid()",
];

struct Fixture {
    host: String,
    port: u16,
    admin: String,
    database: String,
    role: String,
}

impl Fixture {
    async fn new() -> Option<Self> {
        let host = toolkit_testkit::service("TOOLKIT_TEST_PG_HOST")?;
        let port = toolkit_testkit::service("TOOLKIT_TEST_PG_PORT")?.parse().expect("a port number");
        let admin = toolkit_testkit::service("TOOLKIT_TEST_PG_ADMIN_USER")?;
        let fx = Fixture {
            host,
            port,
            admin,
            database: toolkit_testkit::unique_name("tk_fn"),
            role: toolkit_testkit::unique_name("tk_fn"),
        };
        let mut conn = fx.connect(&fx.admin, "postgres").await;
        conn.execute(format!("create role {} login password '{PASSWORD}'", fx.role).as_str()).await.expect("role");
        conn.execute(format!("create database {} owner {}", fx.database, fx.role).as_str()).await.expect("db");
        conn.close().await.ok();
        let mut owner = fx.connect(&fx.role, &fx.database).await;
        owner
            .execute(
                "create table items (id int primary key, name text, qty int, tags tsvector);
                 insert into items select g, 'item ' || g, g, to_tsvector('a b') from generate_series(1, 2000) g;
                 create index items_brin on items using brin (id) with (pages_per_range = 1);
                 create index items_gin on items using gin (tags) with (fastupdate = on);
                 create sequence items_seq;
                 create function bump() returns void language sql as 'update items set qty = qty + 1';",
            )
            .await
            .expect("set up");
        owner.close().await.ok();
        Some(fx)
    }

    async fn connect(&self, user: &str, database: &str) -> PgConnection {
        let opts = PgConnectOptions::new_without_pgpass()
            .host(&self.host)
            .port(self.port)
            .username(user)
            .password(PASSWORD)
            .database(database)
            .ssl_mode(PgSslMode::Disable);
        PgConnection::connect_with(&opts).await.expect("connect")
    }

    fn tool(&self) -> Arc<dyn ToolInstance> {
        let spec: ToolSpec = serde_json::from_value(json!({
            "type": "postgres",
            "readOnly": true,
            "config": {
                "hostname": self.host,
                "port": self.port,
                "username": self.role,
                "databaseName": self.database,
                "sslMode": "disable",
                "credentialsRef": {"name": SECRET, "key": "password"},
                "connectTimeout": "3s",
            },
        }))
        .expect("spec parses");
        let mut registry = ConnectorRegistry::new();
        toolkit_connector_postgres::register(&mut registry);
        let connector = registry.get("postgres").expect("postgres is registered").clone();
        let mut tool = Tool::new("ro", spec);
        tool.metadata.namespace = Some(NAMESPACE.to_owned());
        let mut secrets = SecretStore::default();
        secrets.insert(NAMESPACE, SECRET, BTreeMap::from([("password".to_owned(), SecretString::new(PASSWORD))]));
        connector
            .build(BuildContext {
                tool: Arc::new(tool),
                namespace: NAMESPACE.to_owned(),
                name: "ro".to_owned(),
                secrets: Arc::new(secrets),
                config_maps: Arc::new(ConfigMaps::default()),
                tools: Arc::new(toolkit_core::connector::NoTools),
            })
            .expect("tool builds")
    }

    /// What the attempts could change: the index summaries, advisory locks, large objects,
    /// the sequence and the rows.
    async fn state(&self) -> Vec<String> {
        let mut conn = self.connect(&self.admin, &self.database).await;
        let mut out = Vec::new();
        for sql in [
            "select relpages::text || ' ' || coalesce((select string_agg(l.mode, ',') from pg_locks l where l.locktype = 'advisory'), '') from pg_class where relname = 'items_brin'",
            "select count(*)::text from pg_largeobject_metadata",
            "select last_value::text || is_called::text from items_seq",
            "select md5(string_agg(qty::text, ',' order by id)) from items",
        ] {
            let row = conn.fetch_one(sql).await.expect("state");
            out.push(row.get::<Option<String>, _>(0).unwrap_or_default());
        }
        conn.close().await.ok();
        out
    }

    async fn cleanup(self) {
        let mut conn = self.connect(&self.admin, "postgres").await;
        conn.execute(format!("drop database if exists {} with (force)", self.database).as_str()).await.ok();
        conn.execute(format!("drop role if exists {}", self.role).as_str()).await.ok();
        conn.close().await.ok();
    }
}

fn arguments(query: &str) -> Map<String, Value> {
    json!({"query": query}).as_object().cloned().unwrap_or_default()
}

/// Whether a session still answers, as the same backend.
async fn alive(conn: &mut PgConnection, pid: i32) -> bool {
    match conn.fetch_one("select pg_backend_pid()").await {
        Ok(row) => row.get::<i32, _>(0) == pid,
        Err(_) => false,
    }
}

#[tokio::test]
async fn another_session_survives_every_attempt() {
    let Some(fx) = Fixture::new().await else { return };
    let tool = fx.tool();
    let mut victim = fx.connect(&fx.role, &fx.database).await;
    let pid: i32 = victim.fetch_one("select pg_backend_pid()").await.expect("pid").get(0);
    let before = fx.state().await;

    let invoker = tool.invoker().expect("postgres invokes");
    let mut passed = Vec::new();
    for sql in ATTEMPTS {
        let args = arguments(sql);
        let verdict = tool.classify(Request::Call(&args)).expect("postgres classifies");
        if verdict.class == Class::Read {
            // What the pipeline would do with a read on a read-only tool: run it.
            let _ = invoker
                .invoke(Invocation { arguments: args, limits: CallLimits::default(), subject_token: None })
                .await;
            passed.push(*sql);
        } else {
            let named = verdict.reasons.iter().any(|r| r.class > Class::Read && !r.message.is_empty());
            assert!(named, "{sql}: refused without a reason");
        }
        assert!(alive(&mut victim, pid).await, "the other session died after `{sql}`");
    }
    assert!(passed.is_empty(), "classified as reads on a read-only tool:\n{}", passed.join("\n"));

    for sql in READS {
        let args = arguments(sql);
        let verdict = tool.classify(Request::Call(&args)).expect("postgres classifies");
        assert_eq!(verdict.class, Class::Read, "{sql}: {:?}", verdict.reasons);
        invoker
            .invoke(Invocation { arguments: args, limits: CallLimits::default(), subject_token: None })
            .await
            .expect("a read runs");
    }
    assert!(alive(&mut victim, pid).await, "the other session died");
    assert_eq!(fx.state().await, before, "an attempt changed the database");

    // The reason the parser must refuse them: past it, the read-only transaction does not stop
    // `pg_terminate_backend` given to `ts_stat` as text.
    let kill = ATTEMPTS[0];
    let _ = invoker
        .invoke(Invocation { arguments: arguments(kill), limits: CallLimits::default(), subject_token: None })
        .await;
    assert!(
        !alive(&mut victim, pid).await,
        "the engine alone stopped `{kill}`; the attempt list no longer shows the risk"
    );

    tool.shutdown().await;
    fx.cleanup().await;
}
