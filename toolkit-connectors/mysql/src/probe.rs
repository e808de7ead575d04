//! The connectivity check: a fresh connection (so a wrong password or an unreachable server is
//! reported as such, not as a pool timeout) that asks `SELECT VERSION()`.

use std::collections::BTreeMap;

use async_trait::async_trait;
use sqlx::{Connection, Executor, Row};
use toolkit_connector_sql::Phase;
use toolkit_core::Result;
use toolkit_core::connector::{Probe, ProbeReport};

use crate::MysqlTool;
use crate::connect::classify;

/// `mariadb` when the version string says so (`10.11.6-MariaDB-0+deb12u1`), else `mysql`.
pub(crate) fn engine_of_version(version: &str) -> &'static str {
    if version.to_ascii_lowercase().contains("mariadb") { "mariadb" } else { "mysql" }
}

#[async_trait]
impl Probe for MysqlTool {
    async fn probe(&self) -> Result<ProbeReport> {
        let (mut conn, _) = self.server.connect_once().await?;
        let row = conn
            .fetch_one("SELECT VERSION(), COALESCE((SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'Ssl_cipher'), '')")
            .await
            .ok();
        let (version, tls) = match row {
            Some(row) => {
                (row.try_get::<String, _>(0).unwrap_or_default(), row.try_get::<String, _>(1).unwrap_or_default())
            }
            // MySQL 5.7+ keeps session status in performance_schema; the version alone is enough.
            None => {
                let row = conn.fetch_one("SELECT VERSION()").await.map_err(|e| {
                    classify(e, Phase::Query, "ask mysql for its version").with_context("tool", self.qualified_name())
                })?;
                (row.try_get::<String, _>(0).unwrap_or_default(), String::new())
            }
        };
        // The answer is in; a failure to say goodbye changes nothing about it.
        let _ = conn.close().await;
        let mut details = BTreeMap::new();
        details.insert("engine".to_owned(), engine_of_version(&version).to_owned());
        details.insert("tls".to_owned(), (!tls.is_empty()).to_string());
        Ok(ProbeReport { server_version: Some(version), details })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn engines() {
        assert_eq!(super::engine_of_version("10.11.19-MariaDB-0+deb12u1"), "mariadb");
        assert_eq!(super::engine_of_version("8.0.36"), "mysql");
    }
}
