//! Sessions: a dedicated connection (the shared `SqlSession`) plus the `PG*` environment `psql`
//! needs.

use toolkit_connector_sql::{SessionSettings, SqlSession};
use toolkit_core::Result;
use toolkit_core::connector::EnvEntry;

use crate::PostgresTool;
use crate::connect;
use crate::invoke::Postgres;

/// Opens a session now, so a session that opens is known to work.
pub(crate) async fn open(tool: &PostgresTool) -> Result<SqlSession<Postgres>> {
    let (conn, creds) = tool.connect_once().await?;
    let config = &tool.config;
    let mut env = vec![
        EnvEntry::plain("PGHOST", &config.hostname),
        EnvEntry::plain("PGPORT", config.port.to_string()),
        EnvEntry::plain("PGUSER", &creds.username),
        EnvEntry::plain("PGDATABASE", &config.database),
        EnvEntry::plain("PGSSLMODE", config.ssl_mode.as_str()),
    ];
    if let Some(password) = &creds.password {
        env.push(EnvEntry::secret("PGPASSWORD", password.clone()));
    }
    if let Some(ca) = &config.ca_file {
        env.push(EnvEntry::plain("PGSSLROOTCERT", ca.display().to_string()));
    }
    let settings = SessionSettings {
        tool: tool.qualified_name().to_owned(),
        env,
        client: vec!["psql".to_owned()],
        read_only: tool.read_only,
        options: connect::connect_options(config, &creds),
        phase: tool.connect_phase(),
        connect_message: tool.connect_message(&creds.username),
        connect_timeout: config.connect_timeout,
    };
    Ok(SqlSession::new(settings, conn))
}
