//! Sessions: a dedicated connection (the shared `SqlSession`) plus the environment the `mysql`
//! client reads.

use toolkit_connector_sql::{Credentials, ServerConfig, SqlSession};
use toolkit_core::Result;
use toolkit_core::connector::EnvEntry;

use crate::MysqlTool;
use crate::invoke::Mysql;

/// Opens a session now, so a session that opens is known to work.
pub(crate) async fn open(tool: &MysqlTool) -> Result<SqlSession<Mysql>> {
    let client = vec!["mysql".to_owned(), tool.server.config.database.clone()];
    tool.server.open_session(client, env).await
}

/// The client reads MYSQL_HOST, MYSQL_TCP_PORT, MYSQL_PWD and USER; MYSQL_DATABASE is for
/// scripts (the client takes the database as an argument).
fn env(config: &ServerConfig, creds: &Credentials) -> Vec<EnvEntry> {
    let mut env = vec![
        EnvEntry::plain("MYSQL_HOST", &config.hostname),
        EnvEntry::plain("MYSQL_TCP_PORT", config.port.to_string()),
        EnvEntry::plain("USER", &creds.username),
        EnvEntry::plain("MYSQL_DATABASE", &config.database),
    ];
    if let Some(password) = &creds.password {
        env.push(EnvEntry::secret("MYSQL_PWD", password.clone()));
    }
    env
}
