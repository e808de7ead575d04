//! Read-only SQL and functions that act outside the transaction, against a real MySQL or
//! MariaDB.
//!
//! A read-only tool runs a statement only when its connector classifies it as a read, inside a
//! read-only transaction. `KILL`, named locks (`GET_LOCK`), `SLEEP`, `LOAD_FILE` and session
//! variables are not stopped by that transaction. Every attempt below must be classified as no
//! read, so that another session of the same user survives them all and no named lock is left
//! taken; the last test shows that the engine alone would not have stopped `KILL`.
//!
//! Needs `TOOLKIT_TEST_MYSQL_HOST`, `TOOLKIT_TEST_MYSQL_PORT` and `TOOLKIT_TEST_MYSQL_ADMIN_USER`;
//! skipped with a message without them, failed under `CI=true`.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value, json};
use sqlx::mysql::{MySqlConnectOptions, MySqlConnection, MySqlSslMode};
use sqlx::{Connection, Executor, Row};
use toolkit_core::connector::{BuildContext, CallLimits, Invocation, Request, ToolInstance};
use toolkit_core::manifest::ConfigMaps;
use toolkit_core::secret::SecretStore;
use toolkit_core::verdict::Class;
use toolkit_core::{ConnectorRegistry, SecretString, Tool, ToolSpec};

const NAMESPACE: &str = "myfn";
const SECRET: &str = "my-credentials";

/// Attempts; `{victim}` is the other session's connection id.
const ATTEMPTS: &[&str] = &[
    "KILL {victim}",
    "KILL CONNECTION {victim}",
    "KILL QUERY {victim}",
    "SELECT GET_LOCK('tk_lock', 0)",
    "SELECT get_lock('tk_lock', 0) AS l",
    "SELECT `GET_LOCK`('tk_lock', 0)",
    "SELECT * FROM items WHERE GET_LOCK('tk_lock', 0) = 1",
    "SELECT (SELECT GET_LOCK('tk_lock', 0))",
    "SELECT RELEASE_LOCK('tk_lock')",
    "SELECT RELEASE_ALL_LOCKS()",
    "SELECT IS_USED_LOCK('tk_lock')",
    "SELECT SLEEP(0)",
    "SELECT BENCHMARK(10, MD5('x'))",
    "SELECT LOAD_FILE('/etc/passwd')",
    "SELECT MASTER_POS_WAIT('f', 1, 0)",
    "SELECT @x := 1",
    "SET @x = 1",
    "SET SESSION sql_mode = ''",
    "SELECT * FROM items INTO OUTFILE '/tmp/tk_items.txt'",
    "SELECT * FROM mysql.user",
    "SELECT bump()",
    "SELECT * FROM items WHERE bump() = 0",
    "SELECT LAST_INSERT_ID(42)",
    "LOCK TABLES items READ",
    "FLUSH TABLES",
    "DO SLEEP(0)",
    "CALL touch_items()",
    "HANDLER items OPEN",
];

const READS: &[&str] = &[
    "SELECT COUNT(*) AS n FROM items",
    "SELECT CONNECTION_ID(), DATABASE(), VERSION(), NOW()",
    "SELECT CONCAT(name, '!'), IFNULL(qty, 0) FROM items WHERE id < 3",
];

struct Fixture {
    host: String,
    port: u16,
    admin: String,
    database: String,
    user: String,
    password: String,
}

impl Fixture {
    async fn new() -> Option<Self> {
        let host = toolkit_testkit::service("TOOLKIT_TEST_MYSQL_HOST")?;
        let port = toolkit_testkit::service("TOOLKIT_TEST_MYSQL_PORT")?.parse().expect("a port number");
        let admin = toolkit_testkit::service("TOOLKIT_TEST_MYSQL_ADMIN_USER")?;
        let fx = Fixture {
            host,
            port,
            admin,
            database: toolkit_testkit::unique_name("tk_fn"),
            user: toolkit_testkit::unique_name("tk_fn"),
            password: toolkit_testkit::canary(),
        };
        let mut conn = fx.admin_connection().await;
        for sql in [
            format!("CREATE DATABASE `{}`", fx.database),
            format!("CREATE USER '{}'@'%' IDENTIFIED BY '{}'", fx.user, fx.password),
            format!("GRANT ALL ON `{}`.* TO '{}'@'%'", fx.database, fx.user),
        ] {
            conn.execute(sql.as_str()).await.expect("set up database and user");
        }
        conn.close().await.ok();
        let mut owner = fx.owner().await;
        for sql in [
            "CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(20), qty INT)",
            "INSERT INTO items VALUES (1, 'a', 1), (2, 'b', 2), (3, 'c', 3)",
            "CREATE FUNCTION bump() RETURNS INT MODIFIES SQL DATA BEGIN UPDATE items SET qty = qty + 1; RETURN 0; END",
            "CREATE PROCEDURE touch_items() MODIFIES SQL DATA UPDATE items SET qty = qty + 1",
        ] {
            owner.execute(sql).await.expect("set up tables");
        }
        owner.close().await.ok();
        Some(fx)
    }

    async fn admin_connection(&self) -> MySqlConnection {
        let opts = MySqlConnectOptions::new()
            .host(&self.host)
            .port(self.port)
            .username(&self.admin)
            .ssl_mode(MySqlSslMode::Disabled);
        MySqlConnection::connect_with(&opts).await.expect("admin connection without a password")
    }

    async fn owner(&self) -> MySqlConnection {
        let opts = MySqlConnectOptions::new()
            .host(&self.host)
            .port(self.port)
            .username(&self.user)
            .password(&self.password)
            .database(&self.database)
            .ssl_mode(MySqlSslMode::Disabled);
        MySqlConnection::connect_with(&opts).await.expect("connect as the test user")
    }

    fn tool(&self) -> Arc<dyn ToolInstance> {
        let spec: ToolSpec = serde_json::from_value(json!({
            "type": "mysql",
            "readOnly": true,
            "config": {
                "hostname": self.host,
                "port": self.port,
                "username": self.user,
                "databaseName": self.database,
                "sslMode": "disable",
                "credentialsRef": {"name": SECRET, "key": "password"},
                "connectTimeout": "3s",
            },
        }))
        .expect("spec parses");
        let mut registry = ConnectorRegistry::new();
        toolkit_connector_mysql::register(&mut registry);
        let connector = registry.get("mysql").expect("mysql is registered").clone();
        let mut tool = Tool::new("ro", spec);
        tool.metadata.namespace = Some(NAMESPACE.to_owned());
        let mut secrets = SecretStore::default();
        secrets.insert(NAMESPACE, SECRET, BTreeMap::from([("password".to_owned(), SecretString::new(&self.password))]));
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

    async fn rows(&self) -> String {
        let mut conn = self.owner().await;
        let row = conn.fetch_one("SELECT GROUP_CONCAT(qty ORDER BY id) FROM items").await.expect("rows");
        conn.close().await.ok();
        row.get::<Option<String>, _>(0).unwrap_or_default()
    }

    async fn cleanup(self) {
        let mut conn = self.admin_connection().await;
        conn.execute(format!("DROP DATABASE IF EXISTS `{}`", self.database).as_str()).await.ok();
        conn.execute(format!("DROP USER IF EXISTS '{}'@'%'", self.user).as_str()).await.ok();
        conn.close().await.ok();
    }
}

fn arguments(query: &str) -> Map<String, Value> {
    json!({"query": query}).as_object().cloned().unwrap_or_default()
}

/// Whether a session still answers, as the same connection.
async fn alive(conn: &mut MySqlConnection, id: u64) -> bool {
    match conn.fetch_one("SELECT CONNECTION_ID()").await {
        Ok(row) => row.try_get::<u64, _>(0).or_else(|_| row.try_get::<i64, _>(0).map(|v| v as u64)).ok() == Some(id),
        Err(_) => false,
    }
}

#[tokio::test]
async fn another_session_survives_every_attempt() {
    let Some(fx) = Fixture::new().await else { return };
    let tool = fx.tool();
    let mut victim = fx.owner().await;
    let row = victim.fetch_one("SELECT CONNECTION_ID()").await.expect("id");
    let id: u64 = row.try_get::<u64, _>(0).or_else(|_| row.try_get::<i64, _>(0).map(|v| v as u64)).expect("an id");
    let before = fx.rows().await;

    let invoker = tool.invoker().expect("mysql invokes");
    let mut passed = Vec::new();
    for attempt in ATTEMPTS {
        let sql = attempt.replace("{victim}", &id.to_string());
        let args = arguments(&sql);
        let verdict = tool.classify(Request::Call(&args)).expect("mysql classifies");
        if verdict.class == Class::Read {
            let _ = invoker
                .invoke(Invocation { arguments: args, limits: CallLimits::default(), subject_token: None })
                .await;
            passed.push(sql.clone());
        }
        assert!(alive(&mut victim, id).await, "the other session died after `{sql}`");
    }
    assert!(passed.is_empty(), "classified as reads on a read-only tool:\n{}", passed.join("\n"));
    let free: i64 = victim.fetch_one("SELECT IS_FREE_LOCK('tk_lock')").await.expect("lock state").get(0);
    assert_eq!(free, 1, "a named lock was left taken");

    for sql in READS {
        let args = arguments(sql);
        let verdict = tool.classify(Request::Call(&args)).expect("mysql classifies");
        assert_eq!(verdict.class, Class::Read, "{sql}: {:?}", verdict.reasons);
        invoker
            .invoke(Invocation { arguments: args, limits: CallLimits::default(), subject_token: None })
            .await
            .expect("a read runs");
    }
    assert!(alive(&mut victim, id).await, "the other session died");
    assert_eq!(fx.rows().await, before, "an attempt changed the rows");

    // Past the parser, the read-only transaction does not stop `KILL`.
    let kill = format!("KILL {id}");
    let _ = invoker
        .invoke(Invocation { arguments: arguments(&kill), limits: CallLimits::default(), subject_token: None })
        .await;
    assert!(
        !alive(&mut victim, id).await,
        "the engine alone stopped `{kill}`; the attempt list no longer shows the risk"
    );

    tool.shutdown().await;
    fx.cleanup().await;
}
