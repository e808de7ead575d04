//! Read-only SQL, defence in depth, against a real PostgreSQL.
//!
//! Every statement of `toolkit-policy/tests/corpus/sql_writes.txt` is sent through
//! `Runtime::call` to a postgres tool with `readOnly: true`: each must be refused, by the
//! parser (the policy) or by the engine (the read-only transaction), and the table, its
//! sequence, the schema, roles and other catalog objects must be unchanged afterwards. Then the
//! data and schema changing statements go straight to the tool's invoker, past the parser, to
//! show that the engine alone refuses them too.
//!
//! Needs `TOOLKIT_TEST_PG_HOST`, `TOOLKIT_TEST_PG_PORT` and `TOOLKIT_TEST_PG_ADMIN_USER` (a
//! superuser reachable without a password).

use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgSslMode};
use sqlx::{Connection, Executor, Row};
use toolkit_core::connector::{CallLimits, Invocation};
use toolkit_core::{ErrorKind, ToolRef};
use toolkit_runtime::{Caller, Runtime, RuntimeOptions};

const CORPUS: &str = include_str!("../../toolkit-policy/tests/corpus/sql_writes.txt");

const SETUP: &str = "
    create table items (id int primary key, name text not null, qty int not null default 0);
    insert into items select g, 'item ' || g, g * 10 from generate_series(1, 20) g;
    create sequence items_seq;
    create view items_view as select * from items;
    create function bump() returns void language sql as 'update items set qty = qty + 1';
";

struct Fixture {
    host: String,
    port: u16,
    admin: String,
    database: String,
    role: String,
    dir: tempfile::TempDir,
}

impl Fixture {
    async fn new() -> Option<Self> {
        let host = toolkit_testkit::service("TOOLKIT_TEST_PG_HOST")?;
        let port = toolkit_testkit::service("TOOLKIT_TEST_PG_PORT")?.parse().expect("a port number");
        let admin = toolkit_testkit::service("TOOLKIT_TEST_PG_ADMIN_USER")?;
        let database = toolkit_testkit::unique_name("tk_ro");
        let role = toolkit_testkit::unique_name("tk_ro");
        let fx = Fixture { host, port, admin, database, role, dir: tempfile::tempdir().expect("temp dir") };
        let mut conn = fx.connect(&fx.admin.clone(), "postgres").await;
        conn.execute(format!("create role {} login password 'not-a-secret'", fx.role).as_str()).await.expect("role");
        conn.execute(format!("create database {} owner {}", fx.database, fx.role).as_str()).await.expect("db");
        conn.close().await.ok();
        // The tool's role owns everything: only read-only enforcement stands between it and a
        // write.
        let mut owner = fx.connect(&fx.role.clone(), &fx.database.clone()).await;
        owner.execute(SETUP).await.expect("set up the table");
        owner.close().await.ok();
        let manifest = format!(
            "apiVersion: toolkit.dev/v1alpha1\nkind: Tool\nmetadata: {{name: ro}}\nspec:\n  type: postgres\n  \
             description: read-only test tool\n  readOnly: true\n  rateLimit: {{requestsPerMinute: 10000, burst: 1000}}\n  \
             config: {{hostname: {}, port: {}, username: {}, databaseName: {}, sslMode: disable, \
             credentialsRef: {{name: pg, key: password}}}}\n---\napiVersion: v1\nkind: Secret\nmetadata: {{name: pg}}\n\
             stringData: {{password: not-a-secret}}\n",
            fx.host, fx.port, fx.role, fx.database
        );
        std::fs::create_dir_all(fx.dir.path().join("tools")).expect("tools dir");
        std::fs::write(fx.dir.path().join("tools/ro.yaml"), manifest).expect("manifest");
        Some(fx)
    }

    async fn connect(&self, user: &str, database: &str) -> PgConnection {
        let opts = PgConnectOptions::new_without_pgpass()
            .host(&self.host)
            .port(self.port)
            .username(user)
            .password("not-a-secret")
            .database(database)
            .ssl_mode(PgSslMode::Disable);
        PgConnection::connect_with(&opts).await.expect("connect")
    }

    async fn runtime(&self) -> Runtime {
        let options =
            RuntimeOptions { tools: vec![self.dir.path().join("tools")], state_dir: self.dir.path().join("state") };
        Runtime::load(&options, toolkit_connectors::registry()).await.expect("runtime loads")
    }

    /// What a write would change: the table's rows, the sequence, the objects, functions,
    /// privileges, settings, large objects and the roles involved.
    async fn snapshot(&self) -> Vec<(&'static str, String)> {
        let mut conn = self.connect(&self.admin.clone(), &self.database.clone()).await;
        let role = &self.role;
        let queries: Vec<(&'static str, String)> = vec![
            ("rows", "select coalesce(md5(string_agg(i::text, ',' order by id)), '') from items i".into()),
            ("sequence", "select last_value::text || ' ' || is_called::text from items_seq".into()),
            (
                "relations",
                "select string_agg(n.nspname || '.' || c.relname || ' ' || c.relkind::text || ' ' || c.relowner::regrole::text \
                 || ' ' || coalesce(array_to_string(c.relacl, ';'), '') || ' ' || c.relhastriggers::text || ' ' \
                 || c.relrowsecurity::text || ' ' || c.relnatts::text, ',' order by n.nspname, c.relname) \
                 from pg_class c join pg_namespace n on n.oid = c.relnamespace \
                 where n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast')"
                    .into(),
            ),
            (
                "schemas",
                "select string_agg(nspname || ' ' || nspowner::regrole::text, ',' order by nspname) from pg_namespace \
                 where nspname not like 'pg_temp_%' and nspname not like 'pg_toast_temp_%'"
                    .into(),
            ),
            (
                "functions",
                "select coalesce(string_agg(p.oid::regprocedure::text || ' ' || md5(p.prosrc), ',' order by 1), '') \
                 from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname = 'public'"
                    .into(),
            ),
            ("extensions", "select string_agg(extname, ',' order by extname) from pg_extension".into()),
            ("comments", "select count(*)::text from pg_description where objoid >= 16384".into()),
            (
                "policies, triggers, rules",
                "select (select count(*) from pg_policy)::text || ' ' || \
                 (select count(*) from pg_trigger where not tgisinternal)::text || ' ' || \
                 (select count(*) from pg_rewrite r join pg_class c on c.oid = r.ev_class \
                  join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'public')::text"
                    .into(),
            ),
            ("large objects", "select count(*)::text from pg_largeobject_metadata".into()),
            (
                "settings",
                format!(
                    "select coalesce(string_agg(array_to_string(setconfig, ';'), ',' order by setdatabase, setrole), '') \
                     from pg_db_role_setting where setdatabase = (select oid from pg_database where datname = current_database()) \
                     or setrole = (select oid from pg_roles where rolname = '{role}')"
                ),
            ),
            (
                "role",
                format!(
                    "select rolsuper::text || rolcreaterole::text || rolcreatedb::text || rolreplication::text || \
                     rolbypassrls::text || coalesce((select string_agg(m.roleid::regrole::text, ',' order by 1) \
                     from pg_auth_members m where m.member = r.oid), '') from pg_roles r where rolname = '{role}'"
                ),
            ),
            (
                "new roles and databases",
                "select (select count(*) from pg_roles where rolname in ('evil', 'evil2'))::text || ' ' || \
                 (select count(*) from pg_database where datname = 'evil')::text"
                    .into(),
            ),
        ];
        let mut out = Vec::new();
        for (name, sql) in queries {
            let row = conn.fetch_one(sql.as_str()).await.unwrap_or_else(|e| panic!("snapshot {name}: {e}"));
            let value: Option<String> = row.get(0);
            out.push((name, value.unwrap_or_default()));
        }
        conn.close().await.ok();
        out
    }

    async fn cleanup(self) {
        let mut conn = self.connect(&self.admin.clone(), "postgres").await;
        conn.execute(format!("drop database if exists {} with (force)", self.database).as_str()).await.ok();
        conn.execute(format!("drop role if exists {}", self.role).as_str()).await.ok();
        conn.close().await.ok();
    }
}

fn statements() -> Vec<&'static str> {
    CORPUS.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')).collect()
}

/// Statements that change data or schema and are one statement: the engine alone must refuse
/// these in a read-only transaction. (`REINDEX`, `CLUSTER`, `LOCK` and `lo_create()` are
/// allowed there, and the last is rolled back with the transaction; the parser refuses them.)
fn engine_refuses(sql: &str) -> bool {
    let upper = sql.to_ascii_uppercase();
    let first = upper.split_whitespace().next().unwrap_or_default();
    let single = !sql.trim_end_matches(';').contains(';');
    let changes = matches!(
        first,
        "INSERT"
            | "UPDATE"
            | "DELETE"
            | "MERGE"
            | "TRUNCATE"
            | "DROP"
            | "CREATE"
            | "ALTER"
            | "COMMENT"
            | "GRANT"
            | "REVOKE"
            | "REFRESH"
    ) || (first == "WITH" && ["INSERT ", "UPDATE ", "DELETE "].iter().any(|k| upper.contains(k)))
        || (first == "SELECT" && (upper.contains(" INTO ") || upper.contains("NEXTVAL") || upper.contains("SETVAL")))
        || (first == "SELECT" && (upper.contains("BUMP()") || upper.contains("FOR UPDATE")))
        || (first == "COPY" && upper.contains(" FROM "));
    single && changes
}

#[tokio::test]
async fn sql_writes_are_refused_and_change_nothing() {
    let Some(fx) = Fixture::new().await else { return };
    let before = fx.snapshot().await;
    let rt = fx.runtime().await;
    let tool: ToolRef = "ro".parse().expect("reference");
    let caller = Caller::new("read-only-test");

    // Through the whole pipeline: parser first, then the engine.
    let (mut by_policy, mut by_engine) = (0, 0);
    let mut passed = Vec::new();
    for sql in statements() {
        match rt.call(&caller, &tool, json!({"query": sql})).await {
            Ok(out) => passed.push(format!("{sql} => {}", out.output.content)),
            Err(e) if e.kind() == ErrorKind::Denied && e.to_string().contains("policy") => {
                assert!(!sql.contains("-- engine"), "the parser refused a statement marked `-- engine`: {sql}");
                by_policy += 1;
            }
            Err(e) => {
                assert!(sql.contains("-- engine"), "the parser let through `{sql}`; the engine said: {e}");
                by_engine += 1;
            }
        }
    }
    assert!(passed.is_empty(), "statements that ran on a read-only tool:\n{}", passed.join("\n"));
    assert!(by_policy + by_engine >= 100, "only {} statements", by_policy + by_engine);
    eprintln!("refused by the policy: {by_policy}, by the engine: {by_engine}");

    // Past the parser: the engine alone refuses what changes data or schema.
    let instance = rt.tool(&tool).expect("tool").instance().clone();
    let invoker = instance.invoker().expect("postgres invokes");
    let mut engine_only = 0;
    for sql in statements().into_iter().filter(|s| engine_refuses(s)) {
        let arguments = json!({"query": sql}).as_object().cloned().unwrap_or_default();
        let result = invoker.invoke(Invocation { arguments, limits: CallLimits::default(), subject_token: None }).await;
        assert!(result.is_err(), "the engine ran `{sql}` in a read-only transaction: {:?}", result.map(|o| o.content));
        engine_only += 1;
    }
    assert!(engine_only >= 60, "only {engine_only} statements went to the engine alone");
    eprintln!("refused by the engine alone: {engine_only}");

    // A read still works, so the refusals above were not a broken connection.
    let out = rt.call(&caller, &tool, json!({"query": "select count(*) as n from items"})).await.expect("a read runs");
    assert_eq!(out.output.content["rows"][0]["n"], 20);

    rt.shutdown().await;
    let after = fx.snapshot().await;
    for ((name, a), (_, b)) in before.iter().zip(&after) {
        assert_eq!(a, b, "{name} changed");
    }
    fx.cleanup().await;
}
