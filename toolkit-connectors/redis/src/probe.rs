//! The connectivity check: `PING`, then `INFO server` for the version.

use async_trait::async_trait;
use redis::Value as Reply;
use toolkit_core::connector::{Probe, ProbeReport};
use toolkit_core::{ErrorKind, Result};

use crate::RedisTool;
use crate::connection::classify;

#[async_trait]
impl Probe for RedisTool {
    async fn probe(&self) -> Result<ProbeReport> {
        let result = self.ask_server().await;
        self.conn.checked(result).await
    }
}

impl RedisTool {
    async fn ask_server(&self) -> Result<ProbeReport> {
        let mut conn = self.conn.manager().await?;
        let _: Reply = redis::cmd("PING").query_async(&mut conn).await.map_err(|e| classify(e, "ping redis"))?;
        let mut report = ProbeReport::default();
        let info: Result<Reply> =
            redis::cmd("INFO").arg("server").query_async(&mut conn).await.map_err(|e| classify(e, "read INFO server"));
        match info {
            Ok(reply) => {
                let text = text_of(reply);
                for (field, detail) in [("redis_version", None), ("redis_mode", Some("mode")), ("os", Some("os"))] {
                    let Some(value) = info_field(&text, field) else { continue };
                    match detail {
                        None => report.server_version = Some(value.to_owned()),
                        Some(key) => {
                            report.details.insert(key.to_owned(), value.to_owned());
                        }
                    }
                }
            }
            // A user without `INFO` is still connected and authenticated.
            Err(e) if e.kind() == ErrorKind::Denied => {
                report.details.insert("version".into(), "unknown: the user may not run INFO".into());
            }
            Err(e) => return Err(e),
        }
        Ok(report)
    }
}

fn text_of(reply: Reply) -> String {
    match reply {
        Reply::BulkString(b) => String::from_utf8_lossy(&b).into_owned(),
        Reply::VerbatimString { text, .. } | Reply::SimpleString(text) => text,
        _ => String::new(),
    }
}

/// The value of `field` in `INFO` text (`field:value` lines).
fn info_field<'a>(text: &'a str, field: &str) -> Option<&'a str> {
    text.lines().find_map(|l| l.strip_prefix(field)?.strip_prefix(':')).map(str::trim)
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_info_fields() {
        let text = "# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\n";
        assert_eq!(super::info_field(text, "redis_version"), Some("7.0.15"));
        assert_eq!(super::info_field(text, "redis_mode"), Some("standalone"));
        assert_eq!(super::info_field(text, "redis"), None);
    }
}
