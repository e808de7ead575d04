//! Sessions: a dedicated connection (the shared `SqlSession`) plus the `PG*` environment `psql`
//! needs.

use toolkit_connector_sql::{ServerConfig, SessionVar, SqlSession};
use toolkit_core::{Result, SessionTemplate};

use crate::PostgresTool;
use crate::invoke::Postgres;

/// The image of a bastion pod: it has `psql`.
pub(crate) const IMAGE: &str = "docker.io/library/postgres:17-alpine";

/// Opens a session now, so a session that opens is known to work.
pub(crate) async fn open(tool: &PostgresTool) -> Result<SqlSession<Postgres>> {
    tool.server.open_session(vec!["psql".to_owned()], env).await
}

/// A bastion pod's session: `psql` with the same environment, the password from its Secret.
pub(crate) fn template(config: &ServerConfig) -> SessionTemplate {
    SessionTemplate {
        image: IMAGE.to_owned(),
        client: vec!["psql".to_owned()],
        env: toolkit_connector_sql::session_template_env(env(config), config),
        exec: toolkit_core::ExecForm {
            prefix: ["psql", "-X", "-v", "ON_ERROR_STOP=1", "-c"].map(String::from).to_vec(),
            joined: true,
        },
        service_account: None,
        namespace: None,
    }
}

/// What `psql` reads. A CA file is a path on this machine, so a pod does not get it.
fn env(config: &ServerConfig) -> Vec<(&'static str, SessionVar)> {
    let mut vars = vec![
        ("PGHOST", SessionVar::Setting(config.hostname.clone())),
        ("PGPORT", SessionVar::Setting(config.port.to_string())),
        ("PGUSER", SessionVar::User),
        ("PGDATABASE", SessionVar::Setting(config.database.clone())),
        ("PGSSLMODE", SessionVar::Setting(config.ssl_mode.as_str().to_owned())),
        ("PGPASSWORD", SessionVar::Password),
    ];
    if let Some(ca) = &config.ca_file {
        vars.push(("PGSSLROOTCERT", SessionVar::LocalPath(ca.display().to_string())));
    }
    vars
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use toolkit_core::connector::Connector as _;
    use toolkit_core::{EnvSource, ToolSpec};

    use crate::{PostgresConnector, PostgresFlavor};

    #[test]
    fn a_pod_session_names_the_password_by_its_secret() {
        let spec = ToolSpec {
            config: Some(json!({"hostname": "db", "username": "app", "databaseName": "shop", "caFile": "/etc/ca.pem",
                                "credentialsRef": {"name": "shop-db", "key": "password"}})),
            ..ToolSpec::of_type("postgres")
        };
        let t = PostgresConnector::new(PostgresFlavor::Postgres).session_template(&spec).expect("a template");
        assert_eq!(t.client, ["psql"]);
        let source = |name: &str| t.env.iter().find(|e| e.name == name).map(|e| e.source.clone());
        assert_eq!(source("PGUSER"), Some(EnvSource::Value("app".into())));
        assert_eq!(source("PGPORT"), Some(EnvSource::Value("5432".into())));
        match source("PGPASSWORD") {
            Some(EnvSource::Secret(s)) => assert_eq!((s.name.as_str(), s.key.as_str()), ("shop-db", "password")),
            other => panic!("PGPASSWORD: {other:?}"),
        }
        assert_eq!(source("PGSSLROOTCERT"), None, "a local file is not a pod's");
        let invalid = ToolSpec { config: Some(json!({"hostname": "db"})), ..ToolSpec::of_type("postgres") };
        assert!(PostgresConnector::new(PostgresFlavor::Postgres).session_template(&invalid).is_none());
    }
}
