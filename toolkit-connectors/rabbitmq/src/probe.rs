//! The connectivity check: the server's own description from `Connection.Start`, then a login
//! and a channel with the tool's credentials.

use async_trait::async_trait;
use lapin::types::AMQPValue;
use toolkit_core::Result;
use toolkit_core::connector::{Probe, ProbeReport};

use crate::RabbitTool;

#[async_trait]
impl Probe for RabbitTool {
    async fn probe(&self) -> Result<ProbeReport> {
        let conn = &self.conn;
        let props = conn.server_properties().await?;
        let mut report = ProbeReport::default();
        for (key, name) in [("version", None), ("product", Some("product")), ("cluster_name", Some("cluster"))] {
            let value = match props.inner().get(key) {
                Some(AMQPValue::LongString(s)) => String::from_utf8_lossy(s.as_bytes()).into_owned(),
                Some(AMQPValue::ShortString(s)) => s.as_str().to_owned(),
                _ => continue,
            };
            match name {
                None => report.server_version = Some(value),
                Some(name) => {
                    report.details.insert(name.to_owned(), value);
                }
            }
        }
        let login = async {
            let channel = conn.channel().await?;
            let _ = channel.close(200, "probe".into()).await;
            Ok(())
        };
        let limit = conn.config.connect_timeout * 2;
        let result = match tokio::time::timeout(limit, login).await {
            Ok(r) => r,
            Err(_) => Err(conn.timeout("log in to rabbitmq", limit)),
        };
        if let Err(e) = result {
            if e.kind() == toolkit_core::ErrorKind::Auth {
                conn.reset().await;
            }
            return Err(e);
        }
        report.details.insert("user".into(), conn.config.username.clone());
        report.details.insert("vhost".into(), conn.config.vhost.clone());
        Ok(report)
    }
}
