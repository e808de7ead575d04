//! The connectivity check: a fresh connection (so a wrong password or an unreachable server is
//! reported as such, not as a pool timeout) that asks `select version()`.

use std::collections::BTreeMap;

use async_trait::async_trait;
use sqlx::{Connection, Executor, Row};
use toolkit_connector_sql::Phase;
use toolkit_core::Result;
use toolkit_core::connector::{Probe, ProbeReport};

use crate::connect::classify;
use crate::{PostgresFlavor, PostgresTool};

#[async_trait]
impl Probe for PostgresTool {
    async fn probe(&self) -> Result<ProbeReport> {
        let (mut conn, _) = self.server.connect_once().await?;
        let row = conn
            .fetch_one("select version(), coalesce((select ssl from pg_stat_ssl where pid = pg_backend_pid()), false)")
            .await
            .map_err(|e| {
                classify(e, Phase::Query, format!("ask {} for its version", self.flavor.name()))
                    .with_context("tool", self.qualified_name())
            })?;
        let version: String = row.try_get(0).unwrap_or_default();
        let tls: bool = row.try_get(1).unwrap_or_default();
        // The answer is in; a failure to say goodbye changes nothing about it.
        let _ = conn.close().await;
        let mut details = BTreeMap::new();
        // The engine as the server names itself: a postgres-wire stand-in reports what it is.
        details.insert("engine".to_owned(), PostgresFlavor::engine_of_version(&version).to_owned());
        details.insert("tls".to_owned(), tls.to_string());
        Ok(ProbeReport { server_version: Some(version), details })
    }
}
