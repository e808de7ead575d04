//! Running one command: what to run (argv, or `bash -c` when the tool allows a shell), in which
//! directory and environment, within the timeout, with the output capped.

use std::process::Stdio;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncReadExt as _};
use tokio::process::Command;
use toolkit_core::connector::{EnvValue, Invocation, InvokeOutput, Invoker};
use toolkit_core::model::EnvVar;
use toolkit_core::secret::Redactor;
use toolkit_core::{Error, ErrorKind, Result};

use crate::{CommandConnector, CommandTool};

/// The fixed `PATH` commands run with.
const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The arguments schema of both types.
pub(crate) fn input_schema(t: CommandConnector) -> Value {
    let command = if t == CommandConnector::Kubectl {
        "kubectl's arguments, such as `get pods -l app=web` (a leading `kubectl` is allowed)"
    } else {
        "the command line to run"
    };
    json!({
        "type": "object",
        "properties": {
            "command": {"type": "string", "description": command},
            "namespace": {"type": "string", "description": "Kubernetes namespace (kubectl)"},
        },
        "required": ["command"],
        "additionalProperties": false,
    })
}

/// What runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Program {
    /// A program and its arguments, no shell.
    Argv(Vec<String>),
    /// `bash -c TEXT` (only with `allowShell`).
    Shell(String),
}

impl Program {
    /// The argv handed to the operating system.
    pub fn argv(&self) -> Vec<String> {
        match self {
            Program::Argv(v) => v.clone(),
            Program::Shell(text) => vec!["bash".into(), "-c".into(), text.clone()],
        }
    }
}

/// What a tool of type `t` runs for `command`: one simple command becomes argv (kubectl's
/// arguments get `kubectl` in front, and `--namespace=NS` when `namespace` is given); anything
/// else (pipes, lists, redirections, variables) runs through `bash -c` when `allow_shell` is on
/// and is refused otherwise. In a shell, `--namespace` goes to the leading `kubectl` only.
pub fn program(
    t: CommandConnector,
    allow_shell: bool,
    command: &str,
    namespace: Option<&str>,
) -> std::result::Result<Program, String> {
    let command = command.trim();
    let kubectl = t == CommandConnector::Kubectl;
    if let Some(ns) = namespace
        && (ns.is_empty() || !ns.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'))
    {
        return Err(format!("`{ns}` is not a namespace name"));
    }
    let ns_flag = namespace.filter(|_| kubectl).map(|ns| format!("--namespace={ns}"));
    let rest = if kubectl {
        command
            .strip_prefix("kubectl")
            .filter(|r| r.is_empty() || r.starts_with(char::is_whitespace))
            .unwrap_or(command)
    } else {
        command
    };
    if rest.trim().is_empty() {
        return Err("the command is empty".into());
    }
    if t == CommandConnector::Bash && allow_shell {
        return Ok(Program::Shell(command.to_owned()));
    }
    match toolkit_policy::shell::argv(rest) {
        Ok(words) if kubectl => {
            Ok(Program::Argv(std::iter::once("kubectl".to_owned()).chain(ns_flag).chain(words).collect()))
        }
        Ok(words) => Ok(Program::Argv(words)),
        Err(_) if allow_shell => {
            let flag = ns_flag.map(|f| format!("{f} ")).unwrap_or_default();
            Ok(Program::Shell(format!("kubectl {flag}{}", rest.trim())))
        }
        Err(why) => Err(format!("{why}; set spec.command.allowShell to run it through a shell")),
    }
}

#[async_trait]
impl Invoker for CommandTool {
    async fn invoke(&self, call: Invocation) -> Result<InvokeOutput> {
        let ctx = |e: Error| e.with_context("tool", &self.qualified_name);
        let text = call.arguments.get("command").and_then(Value::as_str).unwrap_or_default();
        let namespace = call.arguments.get("namespace").and_then(Value::as_str);
        let program = program(self.kind, self.command.allow_shell, text, namespace)
            .map_err(|why| ctx(Error::new(ErrorKind::Denied, format!("run the command: {why}"))))?;
        let scratch = tempfile::Builder::new()
            .prefix("toolkit-cmd-")
            .tempdir()
            .map_err(|e| ctx(Error::internal("create a working directory").with_source(e)))?;
        let dir = self.working_dir.clone().unwrap_or_else(|| scratch.path().to_owned());
        let argv = program.argv();
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..])
            .current_dir(&dir)
            .env_clear()
            .env("PATH", PATH)
            .env("HOME", &dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        // Every secret the child is given, to find in what it prints.
        let mut given = self.secrets.known_values(&self.namespace);
        for var in &self.command.env {
            let value = self.env_value(var).await.map_err(ctx)?;
            cmd.env(&var.name, value.expose());
            if var.value_from.as_ref().is_some_and(|f| f.secret_key_ref.is_some()) {
                given.push(value);
            }
        }
        // The connection's session gives the env its native clients need (KUBECONFIG, PG*...),
        // set in the child only, and is closed (its files removed) when the command ends.
        let session = self.connection_session().await.map_err(ctx)?;
        if let Some(session) = &session {
            for entry in session.env() {
                cmd.env(&entry.name, entry.value.expose());
                if let EnvValue::Secret(value) = &entry.value {
                    given.push(value.clone());
                }
            }
        }
        let timeout = self.timeout.min(call.limits.timeout.saturating_sub(Duration::from_millis(50)));
        // Each stream gets under half of the limit, leaving room for the reply around them; the
        // pipeline's cap on the whole reply stays the backstop.
        let max = call.limits.max_output_bytes.saturating_sub(200) / 2;
        let mut child = cmd
            .spawn()
            .map_err(|e| ctx(Error::new(ErrorKind::Unsupported, format!("start `{}`", argv[0])).with_source(e)))?;
        let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
        let redactor = Redactor::new(&given);
        let run = async {
            let (out, err, status) =
                tokio::join!(read_capped(stdout, max, &redactor), read_capped(stderr, max, &redactor), child.wait());
            (out, err, status)
        };
        let reply = match tokio::time::timeout(timeout, run).await {
            Ok((out, err, status)) => {
                let status = status.map_err(|e| ctx(Error::internal("wait for the command").with_source(e)))?;
                let error = if err.is_empty() { None } else { Some(err) };
                json!({"success": status.success(), "output": out, "exit_code": status.code(), "error": error})
            }
            Err(_) => {
                let _ = child.kill().await;
                json!({
                    "success": false,
                    "output": "",
                    "exit_code": null,
                    "error": format!("the command did not finish within {timeout:?} and was killed"),
                })
            }
        };
        if let Some(session) = session {
            session.close().await;
        }
        drop(scratch);
        Ok(InvokeOutput::new(reply))
    }
}

impl CommandTool {
    async fn env_value(&self, var: &EnvVar) -> Result<toolkit_core::SecretString> {
        if let Some(v) = &var.value {
            return Ok(toolkit_core::SecretString::new(v.clone()));
        }
        let from = var.value_from.as_ref();
        if let Some(sel) = from.and_then(|f| f.secret_key_ref.as_ref()) {
            return self.secrets.resolve(sel.namespace.as_deref().unwrap_or(&self.namespace), sel).await;
        }
        if let Some(sel) = from.and_then(|f| f.config_map_key_ref.as_ref()) {
            return Ok(toolkit_core::SecretString::new(self.config_maps.get(&self.namespace, &sel.name, &sel.key)?));
        }
        Err(Error::config(format!("set environment variable {}: it has no value", var.name)))
    }

    /// A session of the tool named by `connectionRef`, if there is one; a kubectl tool needs
    /// one that gives `KUBECONFIG`.
    async fn connection_session(&self) -> Result<Option<Box<dyn toolkit_core::Session>>> {
        let kubectl = self.kind == CommandConnector::Kubectl;
        let Some(target) = &self.connection else {
            if kubectl {
                return Err(Error::config("run kubectl: spec.command.connectionRef names no kubernetes tool"));
            }
            return Ok(None);
        };
        let instance = self.tools.instance(target).map_err(|e| e.with_context("connectionRef", target))?;
        let session = instance.open_session().await.map_err(|e| e.with_context("connectionRef", target))?;
        if kubectl && !session.env().iter().any(|e| e.name == "KUBECONFIG") {
            session.close().await;
            return Err(Error::config(format!(
                "run kubectl: spec.command.connectionRef: tool {target} gives no KUBECONFIG; name a kubernetes tool"
            )));
        }
        Ok(Some(session))
    }
}

/// Reads a stream to its end, keeping the first `max` bytes, with the secrets the child was
/// given redacted (a value the cut halved included); longer output is cut with a marker.
async fn read_capped(stream: Option<impl AsyncRead + Unpin>, max: usize, redactor: &Redactor) -> String {
    let Some(mut stream) = stream else { return String::new() };
    let mut kept = Vec::new();
    let mut total = 0usize;
    let mut buf = [0u8; 8192];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                total += n;
                let room = max.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
            }
        }
    }
    let cut = total > kept.len();
    let mut text = String::from_utf8_lossy(&redactor.bytes(&kept, cut)).into_owned();
    if cut {
        text.push_str(&format!("… [truncated: {} of {total} bytes]", kept.len()));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(t: CommandConnector, shell: bool, text: &str) -> std::result::Result<Vec<String>, String> {
        program(t, shell, text, None).map(|p| p.argv())
    }

    #[test]
    fn kubectl_runs_as_argv_and_refuses_shell_syntax() {
        let k = CommandConnector::Kubectl;
        assert_eq!(argv(k, false, "get pods -l 'app=web'").unwrap(), ["kubectl", "get", "pods", "-l", "app=web"]);
        assert_eq!(
            argv(k, false, "kubectl logs deploy/api --tail=5").unwrap(),
            ["kubectl", "logs", "deploy/api", "--tail=5"]
        );
        for text in ["get pods | grep web", "get pods; delete pod x", "get pods > /tmp/x", "get pods $(id)", "get $NS"]
        {
            let err = argv(k, false, text).unwrap_err();
            assert!(err.contains("allowShell"), "{text}: {err}");
        }
        assert_eq!(argv(k, true, "get pods | grep web").unwrap(), ["bash", "-c", "kubectl get pods | grep web"]);
        assert!(argv(k, false, "  ").is_err());
        assert!(argv(k, false, "kubectl").is_err());
    }

    #[test]
    fn a_namespace_goes_to_the_leading_kubectl() {
        let k = CommandConnector::Kubectl;
        let p = program(k, false, "get pods -n other", Some("apps")).unwrap().argv();
        assert_eq!(p, ["kubectl", "--namespace=apps", "get", "pods", "-n", "other"]);
        let p = program(k, true, "get pods | wc -l", Some("apps")).unwrap().argv();
        assert_eq!(p, ["bash", "-c", "kubectl --namespace=apps get pods | wc -l"]);
        assert!(program(k, false, "get pods", Some("a b; rm")).is_err());
        assert_eq!(program(CommandConnector::Bash, false, "ls", Some("apps")).unwrap().argv(), ["ls"]);
    }

    #[test]
    fn bash_uses_a_shell_only_when_allowed() {
        let b = CommandConnector::Bash;
        assert_eq!(argv(b, false, "echo 'a b'").unwrap(), ["echo", "a b"]);
        assert!(argv(b, false, "echo a | wc -c").is_err());
        assert_eq!(argv(b, true, "echo a | wc -c").unwrap(), ["bash", "-c", "echo a | wc -c"]);
    }
}
