//! Sessions: a dedicated connection (the shared `SqlSession`) plus the `PG*` environment `psql`
//! needs.

use toolkit_connector_sql::{Credentials, ServerConfig, SqlSession};
use toolkit_core::Result;
use toolkit_core::connector::EnvEntry;

use crate::PostgresTool;
use crate::invoke::Postgres;

/// Opens a session now, so a session that opens is known to work.
pub(crate) async fn open(tool: &PostgresTool) -> Result<SqlSession<Postgres>> {
    tool.server.open_session(vec!["psql".to_owned()], env).await
}

fn env(config: &ServerConfig, creds: &Credentials) -> Vec<EnvEntry> {
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
    env
}
