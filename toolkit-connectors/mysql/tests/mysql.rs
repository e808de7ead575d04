//! The mysql connector against a real server (MariaDB in CI).
//!
//! Needs `TOOLKIT_TEST_MYSQL_HOST`, `TOOLKIT_TEST_MYSQL_PORT` and `TOOLKIT_TEST_MYSQL_ADMIN_USER`
//! (an account that connects over TCP without a password and may create users and databases).
//! Each test works in a database and user of its own, whose password is a canary that must never
//! show up in any output.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sqlx::mysql::{MySqlConnectOptions, MySqlConnection, MySqlSslMode};
use sqlx::{Connection, Executor, Row};
use toolkit_core::connector::{BuildContext, CallLimits, Invocation, ToolInstance};
use toolkit_core::manifest::ConfigMaps;
use toolkit_core::secret::SecretStore;
use toolkit_core::{ConnectorRegistry, Error, ErrorKind, SecretString, Tool, ToolSpec};

const NAMESPACE: &str = "mytest";
const SECRET: &str = "my-credentials";

struct Server {
    host: String,
    port: u16,
    admin: String,
}

fn server() -> Option<Server> {
    let host = toolkit_testkit::service("TOOLKIT_TEST_MYSQL_HOST")?;
    let port = toolkit_testkit::service("TOOLKIT_TEST_MYSQL_PORT")?;
    let admin = toolkit_testkit::service("TOOLKIT_TEST_MYSQL_ADMIN_USER")?;
    let port = port.parse().expect("TOOLKIT_TEST_MYSQL_PORT is a port number");
    Some(Server { host, port, admin })
}

impl Server {
    async fn admin(&self) -> MySqlConnection {
        let opts = MySqlConnectOptions::new()
            .host(&self.host)
            .port(self.port)
            .username(&self.admin)
            .ssl_mode(MySqlSslMode::Disabled);
        MySqlConnection::connect_with(&opts).await.expect("admin connection without a password")
    }
}

/// A database and a password-checked user with every privilege on it.
struct Fixture {
    server: Server,
    database: String,
    user: String,
    password: String,
}

impl Fixture {
    async fn new() -> Option<Self> {
        let server = server()?;
        let database = toolkit_testkit::unique_name("tk_my");
        let user = toolkit_testkit::unique_name("tk_pw");
        let password = toolkit_testkit::canary();
        let mut admin = server.admin().await;
        for sql in [
            format!("CREATE DATABASE `{database}`"),
            format!("CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'"),
            format!("GRANT ALL ON `{database}`.* TO '{user}'@'%' WITH GRANT OPTION"),
        ] {
            admin.execute(sql.as_str()).await.expect("set up database and user");
        }
        admin.close().await.ok();
        Some(Self { server, database, user, password })
    }

    async fn owner(&self) -> MySqlConnection {
        let opts = MySqlConnectOptions::new()
            .host(&self.server.host)
            .port(self.server.port)
            .username(&self.user)
            .password(&self.password)
            .database(&self.database)
            .ssl_mode(MySqlSslMode::Disabled);
        MySqlConnection::connect_with(&opts).await.expect("connect as the test user with its password")
    }

    async fn setup(&self, statements: &[&str]) {
        let mut conn = self.owner().await;
        for sql in statements {
            conn.execute(*sql).await.expect("set up tables");
        }
        conn.close().await.ok();
    }

    async fn scalar_i64(&self, sql: &str) -> i64 {
        let mut conn = self.owner().await;
        let n: i64 = conn.fetch_one(sql).await.expect("query").get(0);
        conn.close().await.ok();
        n
    }

    fn spec(&self, extra: Value) -> ToolSpec {
        let mut config = json!({
            "hostname": self.server.host,
            "port": self.server.port,
            "username": self.user,
            "databaseName": self.database,
            "sslMode": "disable",
            "credentialsRef": {"name": SECRET, "key": "password"},
            "connectTimeout": "3s",
        });
        let mut spec = json!({"type": "mysql"});
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

    fn tool(&self, extra: Value) -> Arc<dyn ToolInstance> {
        build(self.spec(extra), &self.password)
    }

    async fn cleanup(self) {
        let mut admin = self.server.admin().await;
        admin.execute(format!("DROP DATABASE IF EXISTS `{}`", self.database).as_str()).await.ok();
        admin.execute(format!("DROP USER IF EXISTS '{}'@'%'", self.user).as_str()).await.ok();
        admin.close().await.ok();
    }
}

fn build(spec: ToolSpec, password: &str) -> Arc<dyn ToolInstance> {
    let mut registry = ConnectorRegistry::new();
    toolkit_connector_mysql::register(&mut registry);
    let connector = registry.get("mysql").expect("mysql is registered").clone();
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

fn call_with(query: &str, limits: CallLimits) -> Invocation {
    let arguments = json!({"query": query}).as_object().cloned().unwrap_or_default();
    Invocation { arguments, limits, subject_token: None }
}

async fn invoke(tool: &Arc<dyn ToolInstance>, query: &str) -> Result<toolkit_core::InvokeOutput, Error> {
    tool.invoker().expect("mysql invokes").invoke(call_with(query, CallLimits::default())).await
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
    let report = tool.probe().expect("mysql probes").probe().await.expect("probe succeeds");
    let version = report.server_version.expect("a version");
    let engine = report.details.get("engine").cloned().unwrap_or_default();
    assert_eq!(engine == "mariadb", version.contains("MariaDB"), "{version} / {engine}");
    assert_eq!(report.details.get("tls").map(String::as_str), Some("false"));
    tool.shutdown().await;
    fx.cleanup().await;
}

#[tokio::test]
async fn invoke_converts_types_and_nulls() {
    let Some(fx) = Fixture::new().await else { return };
    fx.setup(&[
        "CREATE TABLE items (
            id INT PRIMARY KEY, big BIGINT, ubig BIGINT UNSIGNED, small SMALLINT, price DECIMAL(10,2),
            ratio DOUBLE, f4 FLOAT, ok BOOLEAN, name VARCHAR(20), body TEXT, raw VARBINARY(8), doc JSON,
            day DATE, at DATETIME(3), seen TIMESTAMP NULL, span TIME, flags BIT(4), yr YEAR,
            mood ENUM('sad', 'happy')
        )",
        "INSERT INTO items VALUES
           (1, 9007199254740993, 18446744073709551615, 7, 12.50, 0.25, 0.5, TRUE, 'widget', 'long text',
            x'00ff10', '{\"a\": [1, 2]}', '2024-02-29', '2024-01-02 03:04:05.250', '2024-05-06 07:08:09',
            '-01:02:03', b'1010', 2024, 'happy'),
           (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
            NULL, NULL, NULL)",
    ])
    .await;
    let tool = fx.tool(json!({}));
    let out = invoke(&tool, "SELECT * FROM items ORDER BY id").await.expect("query runs");
    let c = &out.content;
    assert_eq!(c["columns"].as_array().map(Vec::len), Some(19));
    assert_eq!(c["rowCount"], 2);
    let r = &c["rows"][0];
    assert_eq!(r["id"], 1);
    assert_eq!(r["big"], json!(9_007_199_254_740_993_i64));
    assert_eq!(r["ubig"], json!(u64::MAX));
    assert_eq!(r["small"], 7);
    assert_eq!(r["price"], "12.50");
    assert_eq!(r["ratio"], 0.25);
    assert_eq!(r["f4"], 0.5);
    assert_eq!(r["ok"], 1);
    assert_eq!(r["name"], "widget");
    assert_eq!(r["body"], "long text");
    assert_eq!(r["raw"], "AP8Q");
    // MySQL has a JSON type; MariaDB's JSON is text.
    let doc = match &r["doc"] {
        Value::String(text) => serde_json::from_str(text).expect("JSON text"),
        other => other.clone(),
    };
    assert_eq!(doc, json!({"a": [1, 2]}));
    assert_eq!(r["day"], "2024-02-29");
    assert_eq!(r["at"], "2024-01-02T03:04:05.250");
    assert_eq!(r["seen"], "2024-05-06T07:08:09Z");
    assert_eq!(r["span"], "-01:02:03");
    assert_eq!(r["flags"], 10);
    assert_eq!(r["yr"], 2024);
    assert_eq!(r["mood"], "happy");
    let nulls = c["rows"][1].as_object().expect("row object");
    assert!(nulls.iter().filter(|(k, _)| *k != "id").all(|(_, v)| v.is_null()), "{nulls:?}");

    let out = invoke(&tool, "INSERT INTO items (id) VALUES (3)").await.expect("insert runs");
    assert_eq!(out.content["rowsAffected"], 1);
    assert_eq!(fx.scalar_i64("SELECT COUNT(*) FROM items").await, 3);
    tool.shutdown().await;
    fx.cleanup().await;
}

#[tokio::test]
async fn read_only_is_enforced_by_the_engine() {
    let Some(fx) = Fixture::new().await else { return };
    fx.setup(&["CREATE TABLE t (id INT)", "INSERT INTO t VALUES (1)"]).await;
    let tool = fx.tool(json!({"readOnly": true}));
    for sql in [
        "INSERT INTO t VALUES (2)",
        "DELETE FROM t",
        "CREATE TABLE t2 (id INT)",
        "DROP TABLE t",
        "CREATE DATABASE tk_never",
    ] {
        let err = invoke(&tool, sql).await.expect_err(sql);
        assert_eq!(err.kind(), ErrorKind::Denied, "{sql}: {err}");
        assert_clean(&err, &[&fx.password]);
    }
    // A statement cannot switch the next one to read-write: every call sets the mode again.
    let _ = invoke(&tool, "SET SESSION TRANSACTION READ WRITE").await;
    let err = invoke(&tool, "INSERT INTO t VALUES (3)").await.expect_err("still read-only");
    assert_eq!(err.kind(), ErrorKind::Denied);
    let err = invoke(&tool, "COMMIT; INSERT INTO t VALUES (4)").await.expect_err("one statement");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert_eq!(fx.scalar_i64("SELECT COUNT(*) FROM t").await, 1);
    let out = invoke(&tool, "SELECT COUNT(*) AS n FROM t").await.expect("reads");
    assert_eq!(out.content["rows"][0]["n"], 1);
    tool.shutdown().await;
    fx.cleanup().await;
}

#[tokio::test]
async fn caps_syntax_and_timeout() {
    let Some(fx) = Fixture::new().await else { return };
    fx.setup(&["CREATE TABLE n (i INT)", "INSERT INTO n VALUES (1), (2), (3), (4), (5)"]).await;
    let tool = fx.tool(json!({"readOnly": true}));
    let invoker = tool.invoker().expect("invokes");
    let capped = CallLimits { max_rows: 2, ..CallLimits::default() };
    let out = invoker.invoke(call_with("SELECT i FROM n ORDER BY i", capped)).await.expect("runs");
    assert!(out.truncated);
    assert_eq!(out.content["rows"].as_array().map(Vec::len), Some(2));

    let err = invoke(&tool, "SELEC 1").await.expect_err("syntax");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    let err = invoke(&tool, "SELECT * FROM missing").await.expect_err("no table");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");

    let limits = CallLimits { timeout: Duration::from_millis(500), ..CallLimits::default() };
    let started = Instant::now();
    let err = invoker.invoke(call_with("SELECT SLEEP(5)", limits)).await.expect_err("times out");
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_clean(&err, &[&fx.password]);
    // The pool recovers.
    invoke(&tool, "SELECT 1").await.expect("runs after a timeout");
    tool.shutdown().await;
    fx.cleanup().await;
}

#[tokio::test]
async fn connection_errors_are_classified_and_clean() {
    let Some(fx) = Fixture::new().await else { return };
    // Wrong password.
    let wrong = build(fx.spec(json!({})), "not-the-password");
    let err = wrong.probe().expect("probes").probe().await.expect_err("wrong password");
    assert_eq!(err.kind(), ErrorKind::Auth, "{err}");
    assert!(err.to_string().contains(&format!("as user `{}`", fx.user)), "{err}");
    assert_clean(&err, &[&fx.password, "not-the-password"]);
    let err = invoke(&wrong, "SELECT 1").await.expect_err("wrong password");
    assert_clean(&err, &[&fx.password, "not-the-password"]);

    // Nothing listens on port 1.
    let tool = fx.tool(json!({"config": {"port": 1}}));
    let err = tool.probe().expect("probes").probe().await.expect_err("unreachable");
    assert_eq!(err.kind(), ErrorKind::Unreachable, "{err}");
    assert_clean(&err, &[&fx.password]);

    // A host that does not answer: the connect timeout, a timeout like any other deadline.
    let tool = fx.tool(json!({"config": {"hostname": "10.255.255.1", "connectTimeout": "1s"}}));
    let started = Instant::now();
    let err = tool.probe().expect("probes").probe().await.expect_err("no answer");
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_clean(&err, &[&fx.password]);

    // TLS required, and the server has none (or one with a certificate nobody vouches for).
    let tool = fx.tool(json!({"config": {"sslMode": "verify-full"}}));
    let err = tool.probe().expect("probes").probe().await.expect_err("TLS mismatch");
    assert!(matches!(err.kind(), ErrorKind::Config | ErrorKind::Unreachable), "{err}");
    assert!(!err.is_retryable(), "{err}");
    assert_clean(&err, &[&fx.password]);

    // A database that does not exist.
    let tool = fx.tool(json!({"config": {"databaseName": "tk_no_such_db"}}));
    let err = tool.probe().expect("probes").probe().await.expect_err("no database");
    assert!(matches!(err.kind(), ErrorKind::Config | ErrorKind::Denied), "{err}");
    assert_clean(&err, &[&fx.password]);
    fx.cleanup().await;
}

#[tokio::test]
async fn sessions_expose_env_for_the_client_and_run_commands() {
    let Some(fx) = Fixture::new().await else { return };
    fx.setup(&["CREATE TABLE t (id INT)", "INSERT INTO t VALUES (1)"]).await;
    let tool = fx.tool(json!({"readOnly": true}));
    let session = tool.open_session().await.expect("session opens");
    assert_eq!(session.client(), Some(vec!["mysql".to_owned(), fx.database.clone()]));
    let env = session.env();
    let get = |name: &str| env.iter().find(|e| e.name == name).map(|e| e.value.expose().to_owned());
    assert_eq!(get("MYSQL_HOST").as_deref(), Some(fx.server.host.as_str()));
    assert_eq!(get("MYSQL_TCP_PORT"), Some(fx.server.port.to_string()));
    assert_eq!(get("USER").as_deref(), Some(fx.user.as_str()));
    assert_eq!(get("MYSQL_DATABASE").as_deref(), Some(fx.database.as_str()));
    assert_eq!(get("MYSQL_PWD").as_deref(), Some(fx.password.as_str()));
    let password = env.iter().find(|e| e.name == "MYSQL_PWD").expect("MYSQL_PWD");
    assert_eq!(password.value.to_string(), "[redacted]");
    assert!(!format!("{env:?}").contains(&fx.password));

    let limits = CallLimits::default();
    let words: Vec<String> = ["SELECT", "COUNT(*)", "AS", "n", "FROM", "t"].map(String::from).to_vec();
    let out = session.exec(&words, &limits).await.expect("exec runs");
    assert_eq!(out.content["rows"][0]["n"], 1);
    let err = session.exec(&["DELETE FROM t".to_owned()], &limits).await.expect_err("read-only");
    assert_eq!(err.kind(), ErrorKind::Denied);
    assert_clean(&err, &[&fx.password]);
    session.close().await;
    assert_eq!(fx.scalar_i64("SELECT COUNT(*) FROM t").await, 1);
    tool.shutdown().await;
    fx.cleanup().await;
}

#[tokio::test]
async fn permissions_plan_and_enforce_grants() {
    let Some(fx) = Fixture::new().await else { return };
    let reader = toolkit_testkit::unique_name("tk_reader");
    let mut admin = fx.server.admin().await;
    admin.execute(format!("CREATE USER '{reader}'@'%'").as_str()).await.expect("create reader");
    // SHOW GRANTS FOR another account reads the `mysql` schema.
    admin.execute(format!("GRANT SELECT ON mysql.* TO '{}'@'%'", fx.user).as_str()).await.expect("grant");
    admin.close().await.ok();
    fx.setup(&["CREATE TABLE orders (id INT)", "CREATE TABLE notes (id INT)"]).await;
    let db = &fx.database;
    let permissions = json!({
        "mode": "enforce",
        "role": reader,
        "rules": [
            {"database": db, "tables": ["*"], "privileges": ["SELECT"]},
            {"database": db, "tables": ["notes"], "privileges": ["insert"]},
        ],
    });
    let tool = fx.tool(json!({"permissions": permissions}));
    let provisioner = tool.permissions().expect("mysql plans grants");
    let plan = provisioner.plan().await.expect("plan");
    assert_eq!(plan.principal, format!("'{reader}'@'%'"));
    assert_eq!(
        plan.statements,
        [
            format!("GRANT SELECT ON `{db}`.* TO '{reader}'@'%'"),
            format!("GRANT INSERT ON `{db}`.`notes` TO '{reader}'@'%'"),
        ]
    );
    assert!(plan.current.iter().all(|g| !g.contains(db.as_str())), "{:?}", plan.current);
    provisioner.apply(&plan).await.expect("apply");
    let plan = provisioner.plan().await.expect("plan again");
    assert!(
        plan.current.iter().any(|g| g.contains("GRANT SELECT ON") && g.contains(db.as_str())),
        "{:?}",
        plan.current
    );
    assert!(plan.current.iter().any(|g| g.contains("GRANT INSERT ON") && g.contains("notes")), "{:?}", plan.current);

    let mut tampered = plan.clone();
    tampered.statements.push("DROP TABLE orders".to_owned());
    let err = provisioner.apply(&tampered).await.expect_err("tampered");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);

    let declared = fx.tool(json!({"permissions": {"role": reader, "rules": [{"database": db, "tables": ["*"], "privileges": ["DELETE"]}]}}));
    let provisioner = declared.permissions().expect("plans");
    let plan = provisioner.plan().await.expect("plan");
    let err = provisioner.apply(&plan).await.expect_err("declare mode");
    assert_eq!(err.kind(), ErrorKind::Denied);
    tool.shutdown().await;
    declared.shutdown().await;
    let mut admin = fx.server.admin().await;
    admin.execute(format!("DROP USER IF EXISTS '{reader}'@'%'").as_str()).await.ok();
    admin.close().await.ok();
    fx.cleanup().await;
}

/// The database- and table-level privileges of `'user'@'%'`, as `PRIVILEGE db.*` and
/// `PRIVILEGE db.table`, read by the admin account.
async fn privileges_of(fx: &Fixture, user: &str) -> Vec<String> {
    let mut admin = fx.server.admin().await;
    let grantee = format!("'{user}'@'%'");
    let rows = admin
        .fetch_all(
            sqlx::query(
                "SELECT CONCAT(PRIVILEGE_TYPE, ' ', TABLE_SCHEMA, '.*') FROM information_schema.SCHEMA_PRIVILEGES \
                 WHERE GRANTEE = ? UNION ALL \
                 SELECT CONCAT(PRIVILEGE_TYPE, ' ', TABLE_SCHEMA, '.', TABLE_NAME) FROM information_schema.TABLE_PRIVILEGES \
                 WHERE GRANTEE = ? ORDER BY 1",
            )
            .bind(&grantee)
            .bind(&grantee),
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
    let other = toolkit_testkit::unique_name("tk_other");
    fx.setup(&["CREATE TABLE orders (id INT)", "CREATE TABLE notes (id INT)"]).await;
    let db = &fx.database;
    let mut admin = fx.server.admin().await;
    for sql in [
        format!("CREATE USER '{reader}'@'%'"),
        format!("CREATE DATABASE `{other}`"),
        format!("CREATE TABLE `{other}`.u (id INT)"),
        // Out of band: INSERT on a table of the declared database, SELECT in one no rule names.
        format!("GRANT SELECT, INSERT ON `{db}`.orders TO '{reader}'@'%'"),
        format!("GRANT SELECT ON `{other}`.u TO '{reader}'@'%'"),
    ] {
        admin.execute(sql.as_str()).await.expect("set up");
    }
    admin.close().await.ok();
    let permissions = json!({
        "mode": "enforce",
        "role": reader,
        "rules": [
            {"database": db, "tables": ["*"], "privileges": ["SELECT"]},
            {"database": db, "tables": ["notes"], "privileges": ["INSERT"]},
        ],
    });
    let grants = [
        format!("GRANT SELECT ON `{db}`.* TO '{reader}'@'%'"),
        format!("GRANT INSERT ON `{db}`.`notes` TO '{reader}'@'%'"),
    ];

    // Without SELECT on the `mysql` schema the tool's user cannot read the reader's grants: the
    // plan has no REVOKE and applying it is refused.
    let tool = fx.tool(json!({"permissions": permissions}));
    let provisioner = tool.permissions().expect("mysql plans grants");
    let plan = provisioner.plan().await.expect("plan");
    assert_eq!(plan.statements, grants);
    assert!(plan.current.is_empty(), "{:?}", plan.current);
    let err = provisioner.apply(&plan).await.expect_err("grants not readable");
    assert_eq!(err.kind(), ErrorKind::Denied);
    assert_clean(&err, &[&fx.password]);
    tool.shutdown().await;
    let mut admin = fx.server.admin().await;
    admin.execute(format!("GRANT SELECT ON mysql.* TO '{}'@'%'", fx.user).as_str()).await.expect("grant");
    admin.close().await.ok();

    let tool = fx.tool(json!({"permissions": permissions}));
    let provisioner = tool.permissions().expect("mysql plans grants");
    let plan = provisioner.plan().await.expect("plan");
    let mut expected = grants.to_vec();
    expected.push(format!("REVOKE INSERT ON `{db}`.`orders` FROM '{reader}'@'%'"));
    assert_eq!(plan.statements, expected);
    assert!(plan.current.iter().any(|g| g.contains(other.as_str())), "{:?}", plan.current);
    provisioner.apply(&plan).await.expect("apply");
    let after = [
        format!("INSERT {db}.notes"),
        format!("SELECT {db}.*"),
        format!("SELECT {db}.orders"),
        format!("SELECT {other}.u"),
    ];
    assert_eq!(privileges_of(&fx, &reader).await, after);
    let converged = provisioner.plan().await.expect("plan again");
    assert_eq!(converged.statements, grants);

    // A grant made between plan and apply changes the plan: the stale one is refused and nothing runs.
    let mut admin = fx.server.admin().await;
    admin.execute(format!("GRANT DELETE ON `{db}`.* TO '{reader}'@'%'").as_str()).await.expect("grant");
    admin.close().await.ok();
    let err = provisioner.apply(&converged).await.expect_err("stale plan");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_clean(&err, &[&fx.password]);
    assert!(err.to_string().contains("plan again"), "{err}");
    assert!(privileges_of(&fx, &reader).await.contains(&format!("DELETE {db}.*")));
    let plan = provisioner.plan().await.expect("plan after the change");
    assert_eq!(plan.statements.last(), Some(&format!("REVOKE DELETE ON `{db}`.* FROM '{reader}'@'%'")));
    provisioner.apply(&plan).await.expect("apply the new plan");
    assert_eq!(privileges_of(&fx, &reader).await, after);

    tool.shutdown().await;
    let mut admin = fx.server.admin().await;
    admin.execute(format!("DROP USER IF EXISTS '{reader}'@'%'").as_str()).await.ok();
    admin.execute(format!("DROP DATABASE IF EXISTS `{other}`").as_str()).await.ok();
    admin.close().await.ok();
    fx.cleanup().await;
}

#[tokio::test]
async fn shared_behaviour_suite() {
    let Some(fx) = Fixture::new().await else { return };
    toolkit_testkit::behaviour::Suite {
        connector: &toolkit_connector_mysql::MysqlConnector,
        spec: serde_json::to_value(fx.spec(json!({}))).expect("spec serializes"),
        secrets: vec![(SECRET.into(), "password".into(), fx.password.clone())],
        canary: fx.password.clone(),
        password: Some((SECRET.into(), "password".into())),
        endpoint: Some(toolkit_testkit::behaviour::set_host_port),
        timeout: Some(toolkit_testkit::behaviour::set_connect_timeout),
        require_tls: None,
        call: Some(json!({"query": "select 1 as n union all select 2 union all select 3"})),
    }
    .run()
    .await;
    fx.cleanup().await;
}
