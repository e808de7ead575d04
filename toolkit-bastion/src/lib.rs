//! The bastion: on-demand sessions to a tool's system with credentials injected, heartbeats in
//! the state store and an idle timeout.
//!
//! The local-process backend runs `$SHELL` (or the engine's native client) as a child process
//! with the connection environment (`PGHOST`, `PGPASSWORD`, `REDISCLI_AUTH`...) set only in the
//! child. The holder process heartbeats once a second; a session ends when its child exits, when
//! it has been idle longer than the tool's `idleTimeout`, or when another process ends it
//! (`toolkit tool pause`), which the next heartbeat notices. Activity is read from the
//! terminal's access and modification times, as `w(1)` does; without a terminal, the idle
//! timeout bounds the session's whole life.

#[cfg(feature = "kubernetes")]
pub mod cluster;
#[cfg(feature = "kubernetes")]
pub mod pod;
#[cfg(feature = "kubernetes")]
mod terminal;

use std::io::IsTerminal as _;
use std::os::unix::fs::MetadataExt as _;
use std::process::ExitStatus;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use toolkit_core::{Error, ErrorKind, Result, ToolInstance, ToolRef};
use toolkit_state::{SessionRecord, SessionState, StateStore};

/// Idle timeout of tools that declare none.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(15 * 60);
const HEARTBEAT: Duration = Duration::from_secs(1);

/// What a session runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConnectMode {
    /// `$SHELL` (or `/bin/sh`).
    Shell,
    /// The engine's native client (`psql`, `redis-cli`...).
    Client,
    /// A given command line.
    Command(Vec<String>),
}

/// How a session ended.
#[derive(Debug)]
pub struct SessionEnd {
    /// The session id.
    pub id: String,
    /// The child's exit status, when it exited by itself.
    pub status: Option<ExitStatus>,
    /// `exited`, `idle`, or the reason another process gave.
    pub reason: String,
}

/// Sessions as local child processes.
#[derive(Clone, Debug)]
pub struct LocalBastion {
    state: StateStore,
}

impl LocalBastion {
    /// A bastion recording sessions in `state`.
    pub fn new(state: StateStore) -> Self {
        Self { state }
    }

    /// Opens a session to the tool and runs `mode` in it until it ends.
    pub async fn connect(
        &self,
        reference: &ToolRef,
        instance: &dyn ToolInstance,
        idle_timeout: Option<Duration>,
        mode: ConnectMode,
    ) -> Result<SessionEnd> {
        let session = instance.open_session().await?;
        let argv = match mode {
            ConnectMode::Shell => {
                vec![std::env::var("SHELL").ok().filter(|s| !s.is_empty()).unwrap_or_else(|| "/bin/sh".into())]
            }
            ConnectMode::Client => session.client().ok_or_else(|| {
                Error::unsupported(
                    "open the native client: this tool type has none; connect without --client for a shell",
                )
            })?,
            ConnectMode::Command(c) if !c.is_empty() => c,
            ConnectMode::Command(_) => return Err(Error::invalid_input("empty command")),
        };
        let kind = match argv.first() {
            Some(_) if session.client().as_ref() == Some(&argv) => "client",
            _ => "shell",
        };
        let id = uuid::Uuid::new_v4().to_string();
        let idle = idle_timeout.unwrap_or(DEFAULT_IDLE_TIMEOUT);
        let mut cmd = tokio::process::Command::new(&argv[0]);
        cmd.args(&argv[1..]).env("TOOLKIT_SESSION", &id).env("TOOLKIT_TOOL", reference.to_string()).kill_on_drop(true);
        for e in session.env() {
            cmd.env(&e.name, e.value.expose());
        }
        let mut child = cmd.spawn().map_err(|e| {
            Error::new(ErrorKind::NotFound, format!("start `{}`", argv[0]))
                .with_source(e)
                .with_context("hint", "install the client, or connect without --client")
        })?;
        let pid = child.id().unwrap_or_default();
        self.state.create_session(&id, reference, kind, pid, idle.as_secs()).await?;
        tracing::info!(session = %id, tool = %reference, pid, "session started");

        let started = SystemTime::now();
        let mut ticker = tokio::time::interval(HEARTBEAT);
        let end = loop {
            tokio::select! {
                status = child.wait() => {
                    let status = status.map_err(|e| Error::internal("wait for the session process").with_source(e))?;
                    self.state.end_session(&id, "exited").await?;
                    break SessionEnd { id: id.clone(), status: Some(status), reason: "exited".into() };
                }
                _ = ticker.tick() => {
                    let last = last_activity().unwrap_or(started).max(started);
                    let idle_for = SystemTime::now().duration_since(last).unwrap_or_default();
                    if idle_for >= idle {
                        self.state.end_session(&id, "idle").await?;
                        stop(&mut child, pid).await;
                        break SessionEnd { id: id.clone(), status: None, reason: "idle".into() };
                    }
                    let used = chrono::DateTime::<chrono::Utc>::from(last);
                    if self.state.heartbeat(&id, true, Some(used)).await? == SessionState::Ended {
                        let reason = self
                            .state
                            .sessions(true)
                            .await?
                            .into_iter()
                            .find(|s| s.id == id)
                            .and_then(|s| s.end_reason)
                            .unwrap_or_else(|| "ended".into());
                        stop(&mut child, pid).await;
                        break SessionEnd { id: id.clone(), status: None, reason };
                    }
                }
            }
        };
        session.close().await;
        tracing::info!(session = %end.id, reason = %end.reason, "session ended");
        Ok(end)
    }

    /// Active sessions; sessions whose holder process is gone are ended first.
    pub async fn sessions(&self, all: bool) -> Result<Vec<SessionRecord>> {
        for s in self.state.sessions(false).await? {
            let holder_alive =
                s.pid.is_some_and(|p| i32::try_from(p).is_ok_and(|p| kill(Pid::from_raw(p), None).is_ok()));
            let stale = chrono::Utc::now() - s.last_seen_at > chrono::Duration::seconds(30);
            if !holder_alive || stale {
                self.state.end_session(&s.id, "holder gone").await?;
            }
        }
        self.state.sessions(all).await
    }

    /// Ends every session of a tool, or the session with id `target`; returns how many.
    pub async fn pause(&self, target: &str, tool: Option<&ToolRef>) -> Result<u64> {
        if let Some(t) = tool {
            return self.state.end_tool_sessions(t, "paused").await;
        }
        Ok(u64::from(self.state.end_session(target, "paused").await?))
    }
}

/// Newest access or modification time of the terminal on stdin, if it is one.
fn last_activity() -> Option<SystemTime> {
    if !std::io::stdin().is_terminal() {
        return None;
    }
    let meta = std::fs::metadata("/proc/self/fd/0").ok()?;
    let secs = meta.atime().max(meta.mtime());
    Some(UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).ok()?))
}

/// Hangs the child up, then kills it if it lingers.
async fn stop(child: &mut tokio::process::Child, pid: u32) {
    if let Ok(p) = i32::try_from(pid) {
        let _ = kill(Pid::from_raw(p), Signal::SIGHUP);
    }
    if tokio::time::timeout(Duration::from_secs(2), child.wait()).await.is_err() {
        let _ = child.kill().await;
    }
}
