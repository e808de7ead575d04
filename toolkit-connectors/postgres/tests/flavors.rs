//! The cockroachdb and redshift types, served by this crate, against the local PostgreSQL as a
//! stand-in: they speak the same wire protocol, so connecting, calls, read-only transactions and
//! error kinds are the same; the probe names the engine from the server's version string, which
//! here says PostgreSQL.
//!
//! Needs what `tests/postgres.rs` needs (`TOOLKIT_TEST_PG_*` and `.ci/postgres-auth.sh`).
#![cfg(all(feature = "cockroachdb", feature = "redshift"))]

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgSslMode};
use sqlx::{Connection, Executor};
use toolkit_core::connector::{BuildContext, CallLimits, Invocation, ToolInstance};
use toolkit_core::manifest::ConfigMaps;
use toolkit_core::secret::SecretStore;
use toolkit_core::{ConnectorRegistry, ErrorKind, SecretString, Tool, ToolSpec};

const NAMESPACE: &str = "pgflavors";
const SECRET: &str = "credentials";

struct Fixture {
    host: String,
    port: u16,
    admin: String,
    database: String,
    role: String,
    password: String,
}

impl Fixture {
    async fn new() -> Option<Self> {
        let host = toolkit_testkit::service("TOOLKIT_TEST_PG_HOST")?;
        let port = toolkit_testkit::service("TOOLKIT_TEST_PG_PORT")?.parse().expect("a port number");
        let admin = toolkit_testkit::service("TOOLKIT_TEST_PG_ADMIN_USER")?;
        let fx = Self {
            host,
            port,
            admin,
            database: toolkit_testkit::unique_name("tk_flavor"),
            role: toolkit_testkit::unique_name("tk_pw"),
            password: toolkit_testkit::canary(),
        };
        let mut conn = fx.admin_conn().await;
        let (role, password, database) = (&fx.role, &fx.password, &fx.database);
        conn.execute(format!("create role {role} login password '{password}' in role toolkit_pw").as_str())
            .await
            .expect("create role (run .ci/postgres-auth.sh first)");
        conn.execute(format!("create database {database} owner {role}").as_str()).await.expect("create database");
        conn.close().await.ok();
        Some(fx)
    }

    async fn admin_conn(&self) -> PgConnection {
        let opts = PgConnectOptions::new_without_pgpass()
            .host(&self.host)
            .port(self.port)
            .username(&self.admin)
            .database("postgres")
            .ssl_mode(PgSslMode::Disable);
        PgConnection::connect_with(&opts).await.expect("admin connection (trust auth)")
    }

    fn tool(&self, tool_type: &str, read_only: bool, password: &str) -> Arc<dyn ToolInstance> {
        let spec: ToolSpec = serde_json::from_value(json!({
            "type": tool_type,
            "readOnly": read_only,
            "config": {
                "hostname": self.host, "port": self.port, "username": self.role,
                "databaseName": self.database, "sslMode": "disable",
                "credentialsRef": {"name": SECRET, "key": "password"}, "connectTimeout": "3s",
            },
        }))
        .expect("spec parses");
        let mut registry = ConnectorRegistry::new();
        toolkit_connector_postgres::register_cockroachdb(&mut registry);
        toolkit_connector_postgres::register_redshift(&mut registry);
        assert!(!registry.contains("postgres"), "only the flavors were registered");
        let connector = registry.get(tool_type).expect("registered").clone();
        assert!(connector.validate(&spec).is_empty());
        let mut tool = Tool::new("db", spec);
        tool.metadata.namespace = Some(NAMESPACE.to_owned());
        let mut secrets = SecretStore::default();
        secrets.insert(NAMESPACE, SECRET, BTreeMap::from([("password".to_owned(), SecretString::new(password))]));
        connector
            .build(BuildContext {
                tool: Arc::new(tool),
                namespace: NAMESPACE.to_owned(),
                name: "db".to_owned(),
                secrets: Arc::new(secrets),
                config_maps: Arc::new(ConfigMaps::default()),
                tools: std::sync::Arc::new(toolkit_core::connector::NoTools),
            })
            .expect("tool builds")
    }

    async fn cleanup(self) {
        let mut conn = self.admin_conn().await;
        conn.execute(format!("drop database if exists {} with (force)", self.database).as_str()).await.ok();
        conn.execute(format!("drop role if exists {}", self.role).as_str()).await.ok();
        conn.close().await.ok();
    }
}

fn call(query: &str) -> Invocation {
    Invocation {
        arguments: json!({"query": query}).as_object().cloned().unwrap_or_default(),
        limits: CallLimits::default(),
        subject_token: None,
    }
}

#[tokio::test]
async fn cockroachdb_and_redshift_behave_as_postgres() {
    let Some(fx) = Fixture::new().await else { return };
    for tool_type in ["cockroachdb", "redshift"] {
        let tool = fx.tool(tool_type, true, &fx.password);
        let report = tool.probe().expect("probes").probe().await.expect("probe succeeds");
        let version = report.server_version.expect("a version");
        assert!(version.starts_with("PostgreSQL "), "{version}");
        // The engine comes from the version string: the stand-in says PostgreSQL.
        assert_eq!(report.details.get("engine").map(String::as_str), Some("postgres"));

        let invoker = tool.invoker().expect("invokes");
        let out = invoker.invoke(call("select 1 as one")).await.expect("query runs");
        assert_eq!(out.content["rows"][0]["one"], 1);
        let err = invoker.invoke(call("create table t (id int)")).await.expect_err("read-only");
        assert_eq!(err.kind(), ErrorKind::Denied, "{err}");
        // Errors name the tool's own type, not the driver's.
        let err = invoker.invoke(call("select * from no_such_table")).await.expect_err("no table");
        let shown = format!("{err} {err:?}");
        assert!(shown.contains(&format!("run query on {tool_type}")) && !shown.contains("on postgres"), "{shown}");
        tool.shutdown().await;

        let tool = fx.tool(tool_type, true, "wrong-password");
        let err = tool.probe().expect("probes").probe().await.expect_err("wrong password");
        assert_eq!(err.kind(), ErrorKind::Auth, "{err}");
        let shown = format!("{err} {err:?}");
        assert!(shown.contains(&format!("connect to {tool_type} at ")), "{shown}");
        assert!(!shown.contains(&fx.password) && !shown.contains('\n'), "{shown}");
    }
    fx.cleanup().await;
}
