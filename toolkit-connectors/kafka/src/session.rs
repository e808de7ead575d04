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

use crate::config::KafkaConfig;
use crate::connection::Connection;

/// The image of a bastion pod: it has `kcat` and `sh`.
pub(crate) const IMAGE: &str = "docker.io/edenhill/kcat:1.7.1";

/// A bastion pod's session: the local session's env, the SASL password from its Secret. The
/// client is a shell with that env (kcat has no interactive mode); `tool exec` passes the
/// command's words to `kcat -b "$KAFKA_BROKERS"` through a fixed script that sets the security
/// protocol and SASL settings with `-X`, reading the password from the environment, so it is
/// never in the pod spec. A CA file is a path on this machine, so a pod does not get it (the
/// image's CAs apply).
pub(crate) fn template(config: &KafkaConfig) -> toolkit_core::SessionTemplate {
    use toolkit_core::EnvTemplate;
    let mut env = vec![
        EnvTemplate::value("KAFKA_BROKERS", config.bootstrap()),
        EnvTemplate::value("KAFKA_SECURITY_PROTOCOL", config.security_protocol()),
    ];
    let mut script = String::from("exec kcat -b \"$KAFKA_BROKERS\" -X security.protocol=\"$KAFKA_SECURITY_PROTOCOL\"");
    if let Some(sasl) = &config.sasl {
        env.push(EnvTemplate::value("KAFKA_SASL_MECHANISM", sasl.mechanism.as_str()));
        env.push(EnvTemplate::value("KAFKA_SASL_USERNAME", sasl.username.clone()));
        env.push(EnvTemplate::secret("KAFKA_SASL_PASSWORD", &sasl.password_ref));
        script.push_str(
            " -X sasl.mechanisms=\"$KAFKA_SASL_MECHANISM\" -X sasl.username=\"$KAFKA_SASL_USERNAME\" \
             -X sasl.password=\"$KAFKA_SASL_PASSWORD\"",
        );
    }
    if config.tls && config.insecure_skip_tls_verify {
        script.push_str(" -X enable.ssl.certificate.verification=false -X ssl.endpoint.identification.algorithm=none");
    }
    script.push_str(" \"$@\"");
    toolkit_core::SessionTemplate {
        image: IMAGE.to_owned(),
        client: vec!["/bin/sh".into()],
        env,
        exec: toolkit_core::ExecForm { prefix: vec!["sh".into(), "-c".into(), script, "kcat".into()], joined: false },
        service_account: None,
        namespace: None,
    }
}
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

    fn config(c: Value) -> KafkaConfig {
        let spec = toolkit_core::ToolSpec { type_: "kafka".into(), config: Some(c), ..Default::default() };
        KafkaConfig::from_spec(&spec).unwrap()
    }

    #[test]
    fn a_pod_session_names_the_password_by_its_secret_key() {
        use toolkit_core::model::SecretKeySelector;
        use toolkit_core::{EnvSource, EnvTemplate};
        let c = config(json!({
            "brokers": ["k1:9093", "k2:9093"], "tls": true, "username": "app", "saslMechanism": "scram-sha-512",
            "credentialsRef": {"name": "kafka-app", "key": "password"}
        }));
        let t = template(&c);
        assert_eq!(t.image, "docker.io/edenhill/kcat:1.7.1");
        assert_eq!(t.client, ["/bin/sh"]);
        let password = SecretKeySelector { name: "kafka-app".into(), key: "password".into(), namespace: None };
        assert_eq!(
            t.env,
            vec![
                EnvTemplate::value("KAFKA_BROKERS", "k1:9093,k2:9093"),
                EnvTemplate::value("KAFKA_SECURITY_PROTOCOL", "SASL_SSL"),
                EnvTemplate::value("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512"),
                EnvTemplate::value("KAFKA_SASL_USERNAME", "app"),
                EnvTemplate::secret("KAFKA_SASL_PASSWORD", &password),
            ]
        );
        let argv = t.exec.argv(&["-L".into(), "-t".into(), "orders".into()]);
        assert_eq!(
            argv,
            [
                "sh",
                "-c",
                "exec kcat -b \"$KAFKA_BROKERS\" -X security.protocol=\"$KAFKA_SECURITY_PROTOCOL\" \
                 -X sasl.mechanisms=\"$KAFKA_SASL_MECHANISM\" -X sasl.username=\"$KAFKA_SASL_USERNAME\" \
                 -X sasl.password=\"$KAFKA_SASL_PASSWORD\" \"$@\"",
                "kcat",
                "-L",
                "-t",
                "orders"
            ]
        );

        let t = template(&config(json!({"hostname": "k"})));
        assert!(t.env.iter().all(|e| matches!(e.source, EnvSource::Value(_))));
        assert_eq!(
            t.exec.prefix[2],
            "exec kcat -b \"$KAFKA_BROKERS\" -X security.protocol=\"$KAFKA_SECURITY_PROTOCOL\" \"$@\""
        );
    }
}
