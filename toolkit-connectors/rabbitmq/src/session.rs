//! Sessions: an AMQP connection of their own, with `AMQP_URL` (secret: it holds the password)
//! and the plain `RABBITMQ_*` settings for native clients. `exec` runs the same operations as
//! tool calls: `["get", "queue=orders", "count=5"]`, or one JSON object of arguments.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map, Value};
use tokio::sync::Mutex;
use toolkit_core::connector::{CallLimits, EnvEntry, InvokeOutput, Session};
use toolkit_core::secret::SecretString;
use toolkit_core::{Error, Result};

use crate::config::encode;
use crate::connection::{Connection, Phase};
use crate::invoke::{Operation, run, within};

/// A live session.
pub(crate) struct RabbitSession {
    pub(crate) conn: Arc<Connection>,
    pub(crate) amqp: Mutex<Option<lapin::Connection>>,
    pub(crate) password: SecretString,
    pub(crate) read_only: bool,
}

#[async_trait]
impl Session for RabbitSession {
    fn env(&self) -> Vec<EnvEntry> {
        let c = &self.conn.config;
        let userinfo = format!("{}:{}", encode(&c.username), encode(self.password.expose()));
        vec![
            EnvEntry::secret("AMQP_URL", SecretString::new(c.url_with_userinfo(&userinfo))),
            EnvEntry::plain("RABBITMQ_HOST", c.host.clone()),
            EnvEntry::plain("RABBITMQ_PORT", c.port.to_string()),
            EnvEntry::plain("RABBITMQ_USER", c.username.clone()),
            EnvEntry::plain("RABBITMQ_VHOST", c.vhost.clone()),
        ]
    }

    async fn exec(&self, command: &[String], limits: &CallLimits) -> Result<InvokeOutput> {
        let op = Operation::from_arguments(&arguments(command)?)?;
        if self.read_only {
            op.check_read_only()?;
        }
        let guard = self.amqp.lock().await;
        let amqp = guard.as_ref().ok_or_else(|| Error::invalid_input("run a call: the session is closed"))?;
        let conn = &self.conn;
        let running = async {
            let channel = amqp.create_channel().await.map_err(|e| conn.error(e, "open a channel", Phase::Operate))?;
            let result = run(conn, &channel, &op, limits).await;
            let _ = channel.close(200, "done".into()).await;
            result
        };
        within(conn, command.first().map_or("call", String::as_str), limits.timeout, running).await
    }

    async fn close(&self) {
        if let Some(amqp) = self.amqp.lock().await.take() {
            let _ = amqp.close(200, "bye".into()).await;
        }
    }
}

/// The call arguments of a session command: one JSON object, or an operation followed by
/// `key=value` words (`count`, `ack`, `persistent` and `headers` are read as JSON).
pub(crate) fn arguments(command: &[String]) -> Result<Map<String, Value>> {
    if let [only] = command
        && only.trim_start().starts_with('{')
    {
        return match serde_json::from_str(only) {
            Ok(Value::Object(map)) => Ok(map),
            _ => Err(Error::invalid_input("read the command: it starts like a JSON object but is not one")),
        };
    }
    let Some((op, rest)) = command.split_first() else {
        return Err(Error::invalid_input("run a call: the command is empty"));
    };
    let mut args = Map::new();
    args.insert("operation".into(), Value::String(op.clone()));
    for word in rest {
        let Some((key, value)) = word.split_once('=') else {
            return Err(Error::invalid_input(format!("read `{word}`: use key=value")));
        };
        let value = match key {
            "count" | "ack" | "persistent" | "headers" => serde_json::from_str(value)
                .map_err(|e| Error::invalid_input(format!("read `{key}`: not JSON")).with_source(e))?,
            _ => Value::String(value.to_owned()),
        };
        args.insert(key.to_owned(), value);
    }
    Ok(args)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_words_and_json() {
        let words: Vec<String> = ["get", "queue=q", "count=2"].map(String::from).to_vec();
        assert_eq!(Value::Object(arguments(&words).unwrap()), json!({"operation": "get", "queue": "q", "count": 2}));
        let one = vec![r#"{"operation": "queue_info", "queue": "q"}"#.to_owned()];
        assert_eq!(arguments(&one).unwrap()["queue"], "q");
        assert!(arguments(&["get".into(), "queue".into()]).is_err());
        assert!(arguments(&[]).is_err());
    }
}
