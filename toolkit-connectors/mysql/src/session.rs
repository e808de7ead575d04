//! Sessions: a dedicated connection (the shared `SqlSession`) plus the environment the `mysql`
//! client reads.

use toolkit_connector_sql::{ServerConfig, SessionVar, SqlSession};
use toolkit_core::{Result, SessionTemplate};

use crate::MysqlTool;
use crate::invoke::Mysql;

/// The image of a bastion pod: it has the `mysql` client (MariaDB's, which speaks to both).
pub(crate) const IMAGE: &str = "docker.io/library/mariadb:11";

/// Opens a session now, so a session that opens is known to work.
pub(crate) async fn open(tool: &MysqlTool) -> Result<SqlSession<Mysql>> {
    tool.server.open_session(client(&tool.server.config), env).await
}

/// A bastion pod's session: `mysql` with the same environment, the password from its Secret.
pub(crate) fn template(config: &ServerConfig) -> SessionTemplate {
    SessionTemplate {
        image: IMAGE.to_owned(),
        client: client(config),
        env: toolkit_connector_sql::session_template_env(env(config), config),
        exec: toolkit_core::ExecForm {
            prefix: vec!["mysql".to_owned(), config.database.clone(), "-e".to_owned()],
            joined: true,
        },
        service_account: None,
        namespace: None,
    }
}

fn client(config: &ServerConfig) -> Vec<String> {
    vec!["mysql".to_owned(), config.database.clone()]
}

/// The client reads MYSQL_HOST, MYSQL_TCP_PORT, MYSQL_PWD and USER; MYSQL_DATABASE is for
/// scripts (the client takes the database as an argument).
fn env(config: &ServerConfig) -> Vec<(&'static str, SessionVar)> {
    vec![
        ("MYSQL_HOST", SessionVar::Setting(config.hostname.clone())),
        ("MYSQL_TCP_PORT", SessionVar::Setting(config.port.to_string())),
        ("USER", SessionVar::User),
        ("MYSQL_DATABASE", SessionVar::Setting(config.database.clone())),
        ("MYSQL_PWD", SessionVar::Password),
    ]
}
