//! Running one command over an exec channel: stdout and stderr collected under the byte cap,
//! the exit status, and the call's deadline (the channel is signalled and closed when it
//! passes). Also the read-only check of commands, by toolkit-policy's shell classifier.

use std::time::Duration;

use russh::{ChannelMsg, Sig};
use serde_json::{Map, Value, json};
use tokio::time::Instant;
use toolkit_core::connector::{CallLimits, InvokeOutput};
use toolkit_core::{Error, ErrorKind, Result};
use toolkit_policy::{Class, CommandKind};

use crate::connection::{Connected, Connection};

/// How long a command whose output was already cut may still take to report its exit status.
const AFTER_CUT: Duration = Duration::from_secs(1);

/// Refuses a command of a `readOnly: true` tool unless the shell classifier says it only reads.
pub(crate) fn check_read_only(command: &str) -> Result<()> {
    let verdict = toolkit_policy::classify(CommandKind::Shell, command);
    if verdict.class == Class::Read {
        return Ok(());
    }
    let reasons: Vec<String> =
        verdict.reasons.iter().filter(|r| r.class != Class::Read).map(ToString::to_string).collect();
    Err(Error::new(
        ErrorKind::Denied,
        format!(
            "run `{}` on a read-only ssh tool: the command is classified {}, not read: {}",
            short(command),
            verdict.class,
            reasons.join("; ")
        ),
    ))
}

fn short(command: &str) -> String {
    let line = toolkit_core::error::one_line(command);
    match line.char_indices().nth(80) {
        Some((i, _)) => format!("{}...", &line[..i]),
        None => line,
    }
}

/// Collects output up to a shared byte budget.
struct Capped {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    left: usize,
    stdout_cut: bool,
    stderr_cut: bool,
}

impl Capped {
    fn push(&mut self, stderr: bool, data: &[u8]) {
        let take = data.len().min(self.left);
        self.left -= take;
        let (buf, cut) =
            if stderr { (&mut self.stderr, &mut self.stderr_cut) } else { (&mut self.stdout, &mut self.stdout_cut) };
        buf.extend_from_slice(&data[..take]);
        if take < data.len() {
            *cut = true;
        }
    }

    fn truncated(&self) -> bool {
        self.stdout_cut || self.stderr_cut
    }

    fn text(bytes: &[u8], cut: bool, max: usize) -> String {
        let mut text = String::from_utf8_lossy(bytes).into_owned();
        if cut {
            text.push_str(&format!("\n[output truncated: stdout and stderr together are capped at {max} bytes]"));
        }
        text
    }
}

/// Runs `command` through `conn`: opens a session channel, execs, and collects the result.
/// A channel that cannot be opened on the shared connection makes one reconnect and retry:
/// nothing was run yet.
pub(crate) async fn run_shared(connection: &Connection, command: &str, limits: &CallLimits) -> Result<InvokeOutput> {
    let deadline = Instant::now() + limits.timeout;
    let conn = within(connection, deadline, connection.shared()).await?;
    let channel = match conn.handle.channel_open_session().await {
        Ok(ch) => ch,
        Err(_) => {
            connection.forget(&conn).await;
            let conn = within(connection, deadline, connection.shared()).await?;
            conn.handle.channel_open_session().await.map_err(|e| connection.classify(e, "open an ssh channel"))?
        }
    };
    run_on(connection, channel, command, limits, deadline).await
}

/// Runs `command` on a connection of its own (a session's).
pub(crate) async fn run_dedicated(
    connection: &Connection,
    conn: &Connected,
    command: &str,
    limits: &CallLimits,
) -> Result<InvokeOutput> {
    let deadline = Instant::now() + limits.timeout;
    let channel =
        conn.handle.channel_open_session().await.map_err(|e| connection.classify(e, "open an ssh channel"))?;
    run_on(connection, channel, command, limits, deadline).await
}

async fn within<T>(connection: &Connection, deadline: Instant, fut: impl Future<Output = Result<T>>) -> Result<T> {
    match tokio::time::timeout_at(deadline, fut).await {
        Ok(r) => r,
        Err(_) => Err(connection.error(ErrorKind::Timeout, "connect to ssh server within the call's timeout")),
    }
}

async fn run_on(
    connection: &Connection,
    mut channel: russh::Channel<russh::client::Msg>,
    command: &str,
    limits: &CallLimits,
    deadline: Instant,
) -> Result<InvokeOutput> {
    channel.exec(true, command).await.map_err(|e| connection.classify(e, "start the command"))?;
    let mut out = Capped {
        stdout: Vec::new(),
        stderr: Vec::new(),
        left: limits.max_output_bytes,
        stdout_cut: false,
        stderr_cut: false,
    };
    let mut exit_code: Option<u32> = None;
    let mut signal: Option<String> = None;
    let mut stop_at = deadline;
    let mut timed_out = false;
    loop {
        let msg = match tokio::time::timeout_at(stop_at, channel.wait()).await {
            Ok(Some(msg)) => msg,
            Ok(None) => break,
            Err(_) => {
                timed_out = !out.truncated();
                break;
            }
        };
        match msg {
            ChannelMsg::Data { data } => out.push(false, &data),
            ChannelMsg::ExtendedData { data, ext: 1 } => out.push(true, &data),
            ChannelMsg::ExitStatus { exit_status } => exit_code = Some(exit_status),
            ChannelMsg::ExitSignal { signal_name, .. } => signal = Some(signal_name_of(&signal_name)),
            ChannelMsg::Failure => {
                return Err(connection.error(ErrorKind::Upstream, "start the command: the server refused to run it"));
            }
            _ => {}
        }
        if out.truncated() && stop_at == deadline {
            stop_at = deadline.min(Instant::now() + AFTER_CUT);
        }
    }
    let finished = exit_code.is_some() || signal.is_some();
    if !finished {
        // Ask the server to end the command (OpenSSH honours `signal` requests), then close.
        let _ = channel.signal(Sig::TERM).await;
        let _ = channel.close().await;
    }
    if timed_out {
        return Err(connection
            .error(ErrorKind::Timeout, format!("run `{}`: it did not finish in time", short(command)))
            .with_context("timeout", format!("{:?}", limits.timeout)));
    }
    let truncated = out.truncated();
    let max = limits.max_output_bytes;
    let mut content = Map::new();
    content.insert("stdout".into(), json!(Capped::text(&out.stdout, out.stdout_cut, max)));
    content.insert("stderr".into(), json!(Capped::text(&out.stderr, out.stderr_cut, max)));
    content.insert("exit_code".into(), exit_code.map_or(Value::Null, Value::from));
    if let Some(s) = &signal {
        content.insert("signal".into(), json!(s));
    }
    content.insert("truncated".into(), json!(truncated));
    let mut metadata = Map::new();
    metadata.insert("exitCode".into(), exit_code.map_or(Value::Null, Value::from));
    Ok(InvokeOutput { content: Value::Object(content), truncated, metadata })
}

fn signal_name_of(sig: &Sig) -> String {
    match sig {
        Sig::Custom(name) => name.clone(),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_only_passes_reads_and_refuses_writes() {
        assert!(check_read_only("ls -la /tmp | grep x").is_ok());
        for cmd in ["rm -rf /tmp/x", "touch /tmp/y", "echo hi > /tmp/z", "./deploy.sh"] {
            let err = check_read_only(cmd).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Denied, "{cmd}");
            assert!(!err.to_string().contains('\n'));
        }
    }

    #[test]
    fn caps_stdout_and_stderr_together() {
        let mut c = Capped { stdout: Vec::new(), stderr: Vec::new(), left: 5, stdout_cut: false, stderr_cut: false };
        c.push(false, b"abc");
        c.push(true, b"defg");
        assert_eq!((c.stdout.as_slice(), c.stderr.as_slice(), c.truncated()), (&b"abc"[..], &b"de"[..], true));
        assert!(Capped::text(&c.stderr, c.stderr_cut, 5).ends_with("capped at 5 bytes]"));
    }
}
