//! Sessions: the env `clickhouse-client` reads, and SQL run like a tool call.

use async_trait::async_trait;
use toolkit_core::connector::{CallLimits, EnvEntry, InvokeOutput, Session};
use toolkit_core::secret::SecretString;
use toolkit_core::{Error, Result};

use crate::ClickhouseTool;
use crate::config::ClickhouseConfig;

/// The image of a bastion pod: it has `clickhouse-client`.
pub(crate) const IMAGE: &str = "docker.io/clickhouse/clickhouse-server:25.3";

/// A bastion pod's session: `clickhouse-client` on the tool's host and user, the password from
/// its Secret as `CLICKHOUSE_PASSWORD`, which the client reads from its environment (23.4 and
/// later), so no shell and no password argument are needed; `tool exec` runs the command with
/// `--query`. The client speaks the native protocol on its own default port (9000, 9440 with
/// TLS), so the HTTP port is not passed. A CA file is a path on this machine, so a pod does not
/// get it (the image's CAs apply).
pub(crate) fn template(config: &ClickhouseConfig, read_only: bool) -> toolkit_core::SessionTemplate {
    use toolkit_core::EnvTemplate;
    let mut env = vec![
        EnvTemplate::value("CLICKHOUSE_HOST", config.host.clone()),
        EnvTemplate::value("CLICKHOUSE_USER", config.user()),
    ];
    if let Some(p) = &config.password_ref {
        env.push(EnvTemplate::secret("CLICKHOUSE_PASSWORD", p));
    }
    if let Some(db) = &config.database {
        env.push(EnvTemplate::value("CLICKHOUSE_DATABASE", db.clone()));
    }
    let mut prefix = client(config, read_only);
    prefix.push("--query".into());
    toolkit_core::SessionTemplate {
        image: IMAGE.to_owned(),
        client: client(config, read_only),
        env,
        exec: toolkit_core::ExecForm { prefix, joined: true },
        service_account: None,
        namespace: None,
    }
}

/// `clickhouse-client` with the tool's host, user, database, TLS and read-only setting; the
/// password comes from the environment.
fn client(c: &ClickhouseConfig, read_only: bool) -> Vec<String> {
    let mut argv = vec!["clickhouse-client".into(), "--host".into(), c.host.clone(), "--user".into(), c.user().into()];
    if let Some(db) = &c.database {
        argv.extend(["--database".into(), db.clone()]);
    }
    if c.tls {
        argv.push("--secure".into());
    }
    if read_only {
        argv.extend(["--readonly".into(), "1".into()]);
    }
    argv
}

/// A live session: the tool's client and the password it resolved.
pub(crate) struct ClickhouseSession {
    pub(crate) tool: ClickhouseTool,
    pub(crate) password: Option<SecretString>,
    pub(crate) closed: std::sync::atomic::AtomicBool,
}

#[async_trait]
impl Session for ClickhouseSession {
    fn env(&self) -> Vec<EnvEntry> {
        let c = &self.tool.conn.config;
        let mut env = vec![
            EnvEntry::plain("CLICKHOUSE_HOST", c.host.clone()),
            // The HTTP interface's port, which the tool uses; clickhouse-client speaks the
            // native protocol on its own port.
            EnvEntry::plain("CLICKHOUSE_PORT", c.port.to_string()),
            EnvEntry::plain("CLICKHOUSE_USER", c.user()),
        ];
        if let Some(p) = &self.password {
            env.push(EnvEntry::secret("CLICKHOUSE_PASSWORD", p.clone()));
        }
        if let Some(db) = &c.database {
            env.push(EnvEntry::plain("CLICKHOUSE_DATABASE", db.clone()));
        }
        env
    }

    fn client(&self) -> Option<Vec<String>> {
        Some(client(&self.tool.conn.config, self.tool.read_only))
    }

    async fn exec(&self, command: &[String], limits: &CallLimits) -> Result<InvokeOutput> {
        if self.closed.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(Error::invalid_input("run a query: the session is closed"));
        }
        self.tool.run(&command.join(" "), &[], limits).await
    }

    async fn close(&self) {
        self.closed.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use toolkit_core::model::SecretKeySelector;
    use toolkit_core::{EnvSource, EnvTemplate, ToolSpec};

    use super::*;

    fn config(c: serde_json::Value) -> ClickhouseConfig {
        let spec = ToolSpec { type_: "clickhouse".into(), config: Some(c), ..ToolSpec::default() };
        ClickhouseConfig::from_spec(&spec).unwrap()
    }

    #[test]
    fn a_pod_session_names_the_password_by_its_secret_key() {
        let c = config(serde_json::json!({
            "hostname": "ch", "username": "app", "databaseName": "events", "tls": true,
            "credentialsRef": {"name": "ch-app", "key": "password"}
        }));
        let t = template(&c, true);
        assert_eq!(t.image, "docker.io/clickhouse/clickhouse-server:25.3");
        let password = SecretKeySelector { name: "ch-app".into(), key: "password".into(), namespace: None };
        assert_eq!(
            t.env,
            vec![
                EnvTemplate::value("CLICKHOUSE_HOST", "ch"),
                EnvTemplate::value("CLICKHOUSE_USER", "app"),
                EnvTemplate::secret("CLICKHOUSE_PASSWORD", &password),
                EnvTemplate::value("CLICKHOUSE_DATABASE", "events"),
            ]
        );
        assert!(matches!(&t.env[2].source, EnvSource::Secret(s) if s.name == "ch-app" && s.key == "password"));
        let client = [
            "clickhouse-client",
            "--host",
            "ch",
            "--user",
            "app",
            "--database",
            "events",
            "--secure",
            "--readonly",
            "1",
        ];
        assert_eq!(t.client, client);
        let argv = t.exec.argv(&["select".into(), "count()".into(), "from".into(), "t".into()]);
        assert_eq!(argv[..client.len()], client);
        assert_eq!(argv[client.len()..], ["--query", "select count() from t"]);

        let t = template(&config(serde_json::json!({"hostname": "ch"})), false);
        assert_eq!(t.client, ["clickhouse-client", "--host", "ch", "--user", "default"]);
        assert!(t.env.iter().all(|e| matches!(e.source, EnvSource::Value(_))));
    }
}
