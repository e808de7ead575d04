//! The connectivity check: `hello` (which also authenticates the connection), then
//! `buildInfo` for the version.

use async_trait::async_trait;
use mongodb::bson::{Bson, Document, doc};
use toolkit_core::connector::{Probe, ProbeReport};
use toolkit_core::{ErrorKind, Result};

use crate::MongoTool;

#[async_trait]
impl Probe for MongoTool {
    async fn probe(&self) -> Result<ProbeReport> {
        let result = self.ask_server().await;
        self.conn.checked(result).await
    }
}

impl MongoTool {
    async fn ask_server(&self) -> Result<ProbeReport> {
        let admin = self.conn.database("admin").await?;
        // Server selection is bounded by the connect timeout; the command itself gets as long
        // again, so a server that accepts and never answers is reported in time.
        let limit = self.conn.config.connect_timeout * 2;
        let hello = self.conn.within(limit, "run hello", admin.run_command(doc! {"hello": 1})).await?;
        let mut report = ProbeReport::default();
        let topology = if hello.contains_key("setName") {
            "replicaSet"
        } else if hello.get_str("msg").is_ok_and(|m| m == "isdbgrid") {
            "sharded"
        } else {
            "standalone"
        };
        report.details.insert("topology".into(), topology.into());
        if let Some(w) = number(&hello, "maxWireVersion") {
            report.details.insert("maxWireVersion".into(), w.to_string());
        }
        match self.conn.within(limit, "run buildInfo", admin.run_command(doc! {"buildInfo": 1})).await {
            Ok(info) => report.server_version = info.get_str("version").ok().map(str::to_owned),
            // A user without `buildInfo` is still connected and authenticated.
            Err(e) if e.kind() == ErrorKind::Denied => {
                report.details.insert("version".into(), "unknown: the user may not run buildInfo".into());
            }
            Err(e) => return Err(e),
        }
        Ok(report)
    }
}

fn number(doc: &Document, key: &str) -> Option<i64> {
    match doc.get(key)? {
        Bson::Int32(n) => Some(i64::from(*n)),
        Bson::Int64(n) => Some(*n),
        Bson::Double(n) => Some(*n as i64),
        _ => None,
    }
}
