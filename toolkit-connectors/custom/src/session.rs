//! Sessions: the env a client of the described system needs, and local commands run with it.

use async_trait::async_trait;
use serde_json::{Map, Value, json};
use toolkit_core::connector::{CallLimits, EnvEntry, EnvValue, InvokeOutput, Session};
use toolkit_core::{Error, ErrorKind, Result};
use toolkit_policy::{Class, CommandKind};

use crate::run::run;

/// A session of a custom tool: nothing is connected; it carries the env.
pub(crate) struct CustomSession {
    pub(crate) env: Vec<EnvEntry>,
    pub(crate) read_only: bool,
}

#[async_trait]
impl Session for CustomSession {
    fn env(&self) -> Vec<EnvEntry> {
        self.env.clone()
    }

    /// Runs `command` as argv (no shell) on this machine with the session's env added.
    async fn exec(&self, command: &[String], limits: &CallLimits) -> Result<InvokeOutput> {
        if command.first().is_none_or(|p| p.trim().is_empty()) {
            return Err(Error::invalid_input("run a command: it is empty"));
        }
        if self.read_only {
            let line = shell_words::join(command);
            let verdict = toolkit_policy::classify(CommandKind::Shell, &line);
            if verdict.class != Class::Read {
                let reasons: Vec<String> =
                    verdict.reasons.iter().filter(|r| r.class != Class::Read).map(ToString::to_string).collect();
                return Err(Error::new(
                    ErrorKind::Denied,
                    format!(
                        "run `{}` for a read-only custom tool: the command is classified {}, not read: {}",
                        command[0],
                        verdict.class,
                        reasons.join("; ")
                    ),
                ));
            }
        }
        let done = run(command, &self.env, limits.timeout, limits.max_output_bytes).await?;
        let text = |bytes: &[u8]| {
            let mut s = String::from_utf8_lossy(bytes).into_owned();
            for e in &self.env {
                if let EnvValue::Secret(v) = &e.value
                    && !v.is_empty()
                {
                    s = s.replace(v.expose(), toolkit_core::secret::REDACTED);
                }
            }
            s
        };
        let mut content = Map::new();
        content.insert("stdout".into(), json!(text(&done.stdout)));
        content.insert("stderr".into(), json!(text(&done.stderr)));
        content.insert("exit_code".into(), done.code.map_or(Value::Null, Value::from));
        content.insert("truncated".into(), json!(done.truncated));
        Ok(InvokeOutput { content: Value::Object(content), truncated: done.truncated, metadata: Map::new() })
    }
}
