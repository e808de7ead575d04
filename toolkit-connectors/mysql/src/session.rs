//! Sessions: a dedicated connection (the shared `SqlSession`) plus the environment the `mysql`
//! client reads.

use toolkit_connector_sql::{SessionSettings, SqlSession};
use toolkit_core::Result;
use toolkit_core::connector::EnvEntry;

use crate::MysqlTool;
use crate::connect;
use crate::invoke::Mysql;

/// Opens a session now, so a session that opens is known to work.
pub(crate) async fn open(tool: &MysqlTool) -> Result<SqlSession<Mysql>> {
    let (conn, creds) = tool.connect_once().await?;
    let config = &tool.config;
    // The client reads MYSQL_HOST, MYSQL_TCP_PORT, MYSQL_PWD and USER; MYSQL_DATABASE is
    // for scripts (the client takes the database as an argument).
    let mut env = vec![
        EnvEntry::plain("MYSQL_HOST", &config.hostname),
        EnvEntry::plain("MYSQL_TCP_PORT", config.port.to_string()),
        EnvEntry::plain("USER", &creds.username),
        EnvEntry::plain("MYSQL_DATABASE", &config.database),
    ];
    if let Some(password) = &creds.password {
        env.push(EnvEntry::secret("MYSQL_PWD", password.clone()));
    }
    let settings = SessionSettings {
        tool: tool.qualified_name().to_owned(),
        env,
        client: vec!["mysql".to_owned(), config.database.clone()],
        read_only: tool.read_only,
        options: connect::connect_options(config, &creds),
        phase: tool.connect_phase(),
        connect_message: tool.connect_message(&creds.username),
        connect_timeout: config.connect_timeout,
    };
    Ok(SqlSession::new(settings, conn))
}
