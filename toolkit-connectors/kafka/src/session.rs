//! Sessions: a client of their own, with the env Kafka's own tools and most client libraries
//! read: `KAFKA_BROKERS`, `KAFKA_SECURITY_PROTOCOL`, and with SASL `KAFKA_SASL_MECHANISM`,
//! `KAFKA_SASL_USERNAME` and `KAFKA_SASL_PASSWORD` (secret). `exec` runs the same operations as
//! tool calls: `["consume", "topic=orders", "offset=latest", "count=5"]`, or one JSON object.

use std::sync::Arc;

use async_trait::async_trait;
use rskafka::client::Client;
use serde_json::{Map, Value};
use tokio::sync::Mutex;
use toolkit_core::connector::{CallLimits, EnvEntry, InvokeOutput, Session};
use toolkit_core::secret::SecretString;
use toolkit_core::{Error, Result};

use crate::connection::Connection;
use crate::invoke::{Operation, run, within};

/// A live session.
pub(crate) struct KafkaSession {
    pub(crate) conn: Arc<Connection>,
    pub(crate) client: Mutex<Option<Client>>,
    pub(crate) password: Option<SecretString>,
    pub(crate) read_only: bool,
}

#[async_trait]
impl Session for KafkaSession {
    fn env(&self) -> Vec<EnvEntry> {
        let c = &self.conn.config;
        let mut env = vec![
            EnvEntry::plain("KAFKA_BROKERS", c.bootstrap()),
            EnvEntry::plain("KAFKA_SECURITY_PROTOCOL", c.security_protocol()),
        ];
        if let (Some(sasl), Some(password)) = (&c.sasl, &self.password) {
            env.push(EnvEntry::plain("KAFKA_SASL_MECHANISM", sasl.mechanism.as_str()));
            env.push(EnvEntry::plain("KAFKA_SASL_USERNAME", sasl.username.clone()));
            env.push(EnvEntry::secret("KAFKA_SASL_PASSWORD", password.clone()));
        }
        env
    }

    async fn exec(&self, command: &[String], limits: &CallLimits) -> Result<InvokeOutput> {
        let op = Operation::from_arguments(&arguments(command)?)?;
        if self.read_only {
            op.check_read_only()?;
        }
        let guard = self.client.lock().await;
        let client = guard.as_ref().ok_or_else(|| Error::invalid_input("run a call: the session is closed"))?;
        let conn = &self.conn;
        within(conn, command.first().map_or("call", String::as_str), limits.timeout, run(conn, client, &op, limits))
            .await
    }

    async fn close(&self) {
        self.client.lock().await.take();
    }
}

/// The call arguments of a session command: one JSON object, or an operation followed by
/// `key=value` words (`partition`, `count`, `max_bytes` and `headers` are read as JSON).
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
            "partition" | "count" | "max_bytes" | "headers" => serde_json::from_str(value)
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
        let words: Vec<String> = ["consume", "topic=t", "offset=latest", "count=2"].map(String::from).to_vec();
        assert_eq!(
            Value::Object(arguments(&words).unwrap()),
            json!({"operation": "consume", "topic": "t", "offset": "latest", "count": 2})
        );
        assert_eq!(arguments(&[r#"{"operation": "list_topics"}"#.to_owned()]).unwrap()["operation"], "list_topics");
        assert!(arguments(&["consume".into(), "topic".into()]).is_err());
    }
}
