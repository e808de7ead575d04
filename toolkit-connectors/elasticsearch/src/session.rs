//! Sessions: the env a native client (curl, a script) needs, and calls run through the tool.

use async_trait::async_trait;
use serde_json::{Map, Value};
use toolkit_core::connector::{CallLimits, EnvEntry, InvokeOutput, Session};
use toolkit_core::secret::SecretString;
use toolkit_core::{Error, Result};

use crate::EsTool;
use crate::config::{Auth, EsConfig};

/// The image of a bastion pod: it has `curl` and `sh`.
pub(crate) const IMAGE: &str = "docker.io/curlimages/curl:8.11.1";

/// A bastion pod's session: the local session's env with each credential from its Secret.
/// The client is a shell with that env (there is no native Elasticsearch shell); `tool exec`
/// takes `METHOD PATH [curl options…]` and runs `curl` on `$ES_URL/PATH` through a fixed
/// script that reads the credential from the environment (`-u "$ES_USERNAME:$ES_PASSWORD"` or
/// an `Authorization: ApiKey` header), so it is never in the pod spec. A CA file is a path on
/// this machine, so a pod does not get it (the image's CAs apply).
pub(crate) fn template(config: &EsConfig) -> toolkit_core::SessionTemplate {
    use toolkit_core::EnvTemplate;
    let mut env = vec![EnvTemplate::value("ES_URL", config.display_url())];
    if let Some(p) = &config.index {
        env.push(EnvTemplate::value("ES_INDEX", p.as_str()));
    }
    let auth = match &config.auth {
        Auth::Basic { username, password } => {
            env.push(EnvTemplate::value("ES_USERNAME", username.clone()));
            env.push(EnvTemplate::secret("ES_PASSWORD", password));
            " -u \"$ES_USERNAME:$ES_PASSWORD\""
        }
        Auth::ApiKey(key) => {
            env.push(EnvTemplate::secret("ES_API_KEY", key));
            " -H \"Authorization: ApiKey $ES_API_KEY\""
        }
        Auth::None => "",
    };
    let insecure = if config.insecure_skip_tls_verify { " --insecure" } else { "" };
    let script = format!(
        "[ \"$#\" -ge 2 ] || {{ echo 'usage: METHOD PATH [curl options...]' >&2; exit 2; }}; \
         method=\"$1\"; path=\"$2\"; shift 2; \
         exec curl -sS{insecure}{auth} -X \"$method\" -H 'Content-Type: application/json' \
         \"$ES_URL/${{path#/}}\" \"$@\""
    );
    toolkit_core::SessionTemplate {
        image: IMAGE.to_owned(),
        client: vec!["/bin/sh".into()],
        env,
        exec: toolkit_core::ExecForm { prefix: vec!["sh".into(), "-c".into(), script, "curl".into()], joined: false },
        service_account: None,
        namespace: None,
    }
}

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

#[cfg(test)]
mod tests {
    use toolkit_core::model::SecretKeySelector;
    use toolkit_core::{EnvSource, EnvTemplate, ToolSpec};

    use super::*;

    fn config(c: serde_json::Value) -> EsConfig {
        let spec = ToolSpec { type_: "elasticsearch".into(), config: Some(c), ..ToolSpec::default() };
        EsConfig::from_spec(&spec).unwrap()
    }

    #[test]
    fn a_pod_session_names_credentials_by_their_secret_keys() {
        let c = config(serde_json::json!({
            "url": "https://es:9200/", "index": "logs-*", "username": "reader",
            "credentialsRef": {"name": "es-reader", "key": "password"}
        }));
        let t = template(&c);
        assert_eq!(t.image, "docker.io/curlimages/curl:8.11.1");
        assert_eq!(t.client, ["/bin/sh"]);
        let password = SecretKeySelector { name: "es-reader".into(), key: "password".into(), namespace: None };
        assert_eq!(
            t.env,
            vec![
                EnvTemplate::value("ES_URL", "https://es:9200"),
                EnvTemplate::value("ES_INDEX", "logs-*"),
                EnvTemplate::value("ES_USERNAME", "reader"),
                EnvTemplate::secret("ES_PASSWORD", &password),
            ]
        );
        let argv = t.exec.argv(&["GET".into(), "/_cat/indices".into()]);
        assert_eq!(argv[..2], ["sh", "-c"]);
        assert!(argv[2].contains("exec curl -sS -u \"$ES_USERNAME:$ES_PASSWORD\" -X \"$method\""), "{}", argv[2]);
        assert!(argv[2].contains("\"$ES_URL/${path#/}\" \"$@\""), "{}", argv[2]);
        assert_eq!(argv[3..], ["curl", "GET", "/_cat/indices"]);

        let c = config(serde_json::json!({
            "url": "https://es:9200", "insecureSkipTlsVerify": true,
            "credentialsRef": {"name": "es-key", "key": "apiKey"}
        }));
        let t = template(&c);
        assert!(matches!(&t.env[1].source, EnvSource::Secret(s) if s.name == "es-key" && s.key == "apiKey"));
        assert_eq!(t.env[1].name, "ES_API_KEY");
        let script = &t.exec.prefix[2];
        assert!(script.contains("curl -sS --insecure -H \"Authorization: ApiKey $ES_API_KEY\""), "{script}");

        let t = template(&config(serde_json::json!({"url": "http://es:9200"})));
        assert_eq!(t.env, vec![EnvTemplate::value("ES_URL", "http://es:9200")]);
        assert!(!t.exec.prefix[2].contains("-u ") && !t.exec.prefix[2].contains("Authorization"));
    }

    #[test]
    fn the_exec_script_runs_curl_with_the_credential_from_the_environment() {
        // The script itself, run by the local shell with a stand-in `curl` that prints its argv.
        let dir = std::env::temp_dir().join(format!("es-pod-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let fake = dir.join("curl");
        std::fs::write(&fake, "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let c = config(serde_json::json!({
            "url": "http://es:9200", "username": "reader", "credentialsRef": {"name": "s", "key": "k"}
        }));
        let t = template(&c);
        let argv = t.exec.argv(&["POST".into(), "/logs/_search".into(), "-d".into(), "{\"size\": 1}".into()]);
        let out = std::process::Command::new(&argv[0])
            .args(&argv[1..])
            .env("PATH", format!("{}:/usr/bin:/bin", dir.display()))
            .env("ES_URL", "http://es:9200")
            .env("ES_USERNAME", "reader")
            .env("ES_PASSWORD", "p w'\"$x")
            .output()
            .unwrap();
        std::fs::remove_dir_all(&dir).ok();
        let lines: Vec<&str> = std::str::from_utf8(&out.stdout).unwrap().lines().collect();
        assert_eq!(
            lines,
            [
                "-sS",
                "-u",
                "reader:p w'\"$x",
                "-X",
                "POST",
                "-H",
                "Content-Type: application/json",
                "http://es:9200/logs/_search",
                "-d",
                "{\"size\": 1}"
            ]
        );
    }
}
