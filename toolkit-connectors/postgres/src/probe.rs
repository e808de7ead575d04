//! The connectivity check: a fresh connection (so a wrong password or an unreachable server is
//! reported as such, not as a pool timeout) that asks `select version()`.

use std::collections::BTreeMap;

use async_trait::async_trait;
use sqlx::postgres::PgConnection;
use sqlx::{Connection, Executor, Row};
use toolkit_connector_sql::connect::{check_ca_file, connect_within};
use toolkit_connector_sql::{Credentials, Phase, with_tool};
use toolkit_core::Result;
use toolkit_core::connector::{Probe, ProbeReport};

use crate::connect::{self, classify};
use crate::{PostgresFlavor, PostgresTool};

impl PostgresTool {
    /// Opens one connection outside the pool, with credentials resolved now.
    pub(crate) async fn connect_once(&self) -> Result<(PgConnection, Credentials)> {
        let creds = self.credentials().await?;
        check_ca_file(self.config.ca_file.as_deref()).map_err(|e| with_tool(e, self.qualified_name()))?;
        let options = connect::connect_options(&self.config, &creds);
        let what = self.connect_message(&creds.username);
        let fail = |e| classify(e, self.connect_phase(), what.clone());
        let conn = connect_within(&options, self.config.connect_timeout, &what, fail)
            .await
            .map_err(|e| e.with_context("tool", self.qualified_name()))?;
        Ok((conn, creds))
    }
}

#[async_trait]
impl Probe for PostgresTool {
    async fn probe(&self) -> Result<ProbeReport> {
        let (mut conn, _) = self.connect_once().await?;
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
