//! Sessions: the env a native client (curl, a script) needs, and calls run through the tool.

use async_trait::async_trait;
use serde_json::{Map, Value};
use toolkit_core::connector::{CallLimits, EnvEntry, InvokeOutput, Session};
use toolkit_core::secret::SecretString;
use toolkit_core::{Error, Result};

use crate::EsTool;
use crate::config::Auth;

/// A live session: the tool's client and the credentials resolved when it opened.
pub(crate) struct EsSession {
    pub(crate) tool: EsTool,
    pub(crate) secret: Option<SecretString>,
}

#[async_trait]
impl Session for EsSession {
    fn env(&self) -> Vec<EnvEntry> {
        let c = &self.tool.client.config;
        let mut env = vec![EnvEntry::plain("ES_URL", c.display_url())];
        if let Some(p) = &c.index {
            env.push(EnvEntry::plain("ES_INDEX", p.as_str()));
        }
        match (&c.auth, &self.secret) {
            (Auth::Basic { username, .. }, Some(s)) => {
                env.push(EnvEntry::plain("ES_USERNAME", username.clone()));
                env.push(EnvEntry::secret("ES_PASSWORD", s.clone()));
            }
            (Auth::ApiKey(_), Some(s)) => env.push(EnvEntry::secret("ES_API_KEY", s.clone())),
            _ => {}
        }
        env
    }

    /// Runs one call given as the JSON object of a tool call's arguments, e.g.
    /// `{"operation": "search", "index": "logs-1", "query": {"match_all": {}}}`.
    async fn exec(&self, command: &[String], limits: &CallLimits) -> Result<InvokeOutput> {
        let args: Map<String, Value> = serde_json::from_str(&command.join(" ")).map_err(|e| {
            Error::invalid_input(
                "read the command: it must be a JSON object of call arguments, such as {\"operation\": \"search\"}",
            )
            .with_source(e)
        })?;
        self.tool.run(&args, limits).await
    }
}
