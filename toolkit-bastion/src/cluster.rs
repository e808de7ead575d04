//! Bastion pods on a cluster, through the API server: a session's Lease and pod are created
//! (see [`pod`](crate::pod)), the pod is awaited with a progress line, commands and the
//! interactive client run in it through the `exec` subresource (a websocket), the Lease is
//! renewed by the holder's heartbeat, and a pod whose Lease was not renewed for its duration is
//! reaped. Nothing here reads a Secret: the kubelet puts the credentials into the pod.

use std::time::Duration;

use chrono::Utc;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::api::{AttachParams, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::{Api, Client};
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use toolkit_core::{Error, ErrorKind, Result, ToolRef};

use crate::pod::{PodSession, SESSION_LABEL, TOOL_LABEL, TOOL_NAMESPACE_LABEL};

/// Container states that will not become running by waiting.
const STUCK: &[&str] =
    &["CreateContainerConfigError", "CreateContainerError", "ErrImagePull", "ImagePullBackOff", "InvalidImageName"];

/// Sessions as pods, through `client`.
#[derive(Clone)]
pub struct PodBastion {
    client: Client,
}

impl std::fmt::Debug for PodBastion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PodBastion").finish_non_exhaustive()
    }
}

/// A session whose pod runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenPod {
    /// The session id.
    pub id: String,
    /// The namespace of the pod and its Lease.
    pub namespace: String,
    /// The name of the pod and its Lease.
    pub name: String,
}

/// One session as `toolkit --kubernetes tool status` shows it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSessionInfo {
    /// The session id.
    pub id: String,
    /// The tool.
    pub tool: ToolRef,
    /// The namespace of the pod (and Lease): the tool's, or its ServiceAccount's.
    pub namespace: String,
    /// The pod (and Lease).
    pub pod: String,
    /// Who holds it.
    pub holder: String,
    /// The pod's phase, or `Gone`.
    pub phase: String,
    /// Seconds since it was opened.
    pub age_secs: i64,
    /// Seconds since the last heartbeat.
    pub idle_secs: i64,
    /// Seconds without a heartbeat after which it is reaped.
    pub idle_timeout_secs: i64,
}

/// What a command run in a pod printed, and how it ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodOutput {
    /// The exit code (0 for success).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

fn api_error(what: &str, e: &kube::Error) -> Error {
    let kind = match e {
        kube::Error::Api(s) if s.code == 403 => ErrorKind::Denied,
        kube::Error::Api(s) if s.code == 404 => ErrorKind::NotFound,
        kube::Error::Api(s) if s.code == 409 || s.code == 422 || s.code == 400 => ErrorKind::InvalidInput,
        _ => ErrorKind::Unreachable,
    };
    Error::new(kind, format!("{what}: {}", toolkit_core::error::one_line(&e.to_string())))
}

impl PodBastion {
    /// A bastion that talks to the API server through `client`.
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    fn leases(&self, namespace: &str) -> Api<Lease> {
        Api::namespaced(self.client.clone(), namespace)
    }

    fn pods(&self, namespace: &str) -> Api<Pod> {
        Api::namespaced(self.client.clone(), namespace)
    }

    /// Creates the session's Lease and pod and waits up to `wait` for the pod to run, telling
    /// `progress` each state it passes through. A pod that cannot start (a Secret or key that
    /// does not exist, an image that cannot be pulled) or does not start in time is removed
    /// with its Lease, and the error says why.
    pub async fn open(
        &self,
        session: &PodSession<'_>,
        wait: Duration,
        progress: &mut (dyn FnMut(&str) + Send),
    ) -> Result<OpenPod> {
        let namespace = session.namespace();
        let name = session.name();
        let lease = self
            .leases(&namespace)
            .create(&PostParams::default(), &session.lease(MicroTime(Utc::now())))
            .await
            .map_err(|e| api_error(&format!("create the session's lease {namespace}/{name}"), &e))?;
        let uid = lease.metadata.uid.unwrap_or_default();
        let open = OpenPod { id: session.id.to_owned(), namespace: namespace.clone(), name: name.clone() };
        let started = async {
            self.pods(&namespace)
                .create(&PostParams::default(), &session.pod(&uid))
                .await
                .map_err(|e| api_error(&format!("create the session's pod {namespace}/{name}"), &e))?;
            self.wait_running(&open, wait, progress).await
        };
        if let Err(e) = started.await {
            let _ = self.end(&namespace, &name).await;
            return Err(e);
        }
        Ok(open)
    }

    async fn wait_running(
        &self,
        open: &OpenPod,
        wait: Duration,
        progress: &mut (dyn FnMut(&str) + Send),
    ) -> Result<()> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut last = String::new();
        loop {
            let pod = self
                .pods(&open.namespace)
                .get(&open.name)
                .await
                .map_err(|e| api_error(&format!("read the session's pod {}/{}", open.namespace, open.name), &e))?;
            let (phase, waiting) = pod_state(&pod);
            if phase == "Running" && waiting.is_none() {
                return Ok(());
            }
            let now = match &waiting {
                Some((reason, _)) => format!("pod {}: {phase} ({reason})", open.name),
                None => format!("pod {}: {phase}", open.name),
            };
            if now != last {
                progress(&now);
                last = now;
            }
            if let Some((reason, message)) = waiting.filter(|(r, _)| STUCK.contains(&r.as_str())) {
                return Err(Error::new(
                    ErrorKind::Unreachable,
                    format!("the session's pod {}/{} cannot start: {reason}: {message}", open.namespace, open.name),
                ));
            }
            if matches!(phase.as_str(), "Failed" | "Succeeded") {
                return Err(Error::new(
                    ErrorKind::Unreachable,
                    format!("the session's pod {}/{} stopped ({phase})", open.namespace, open.name),
                ));
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(Error::new(
                    ErrorKind::Timeout,
                    format!("the session's pod {}/{} did not start within {wait:?}", open.namespace, open.name),
                )
                .with_context("hint", "kubectl describe pod shows why"));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Renews the session's Lease; `false` when it is gone (paused or reaped elsewhere).
    pub async fn heartbeat(&self, open: &OpenPod) -> Result<bool> {
        let patch = json!({"spec": {"renewTime": MicroTime(Utc::now())}});
        match self.leases(&open.namespace).patch(&open.name, &PatchParams::default(), &Patch::Merge(&patch)).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(false),
            Err(e) => Err(api_error(&format!("renew the session's lease {}/{}", open.namespace, open.name), &e)),
        }
    }

    /// Deletes a session's pod and Lease; `false` when neither existed.
    pub async fn end(&self, namespace: &str, name: &str) -> Result<bool> {
        let mut found = false;
        let params = DeleteParams { grace_period_seconds: Some(0), ..DeleteParams::default() };
        match self.pods(namespace).delete(name, &params).await {
            Ok(_) => found = true,
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => return Err(api_error(&format!("delete the session's pod {namespace}/{name}"), &e)),
        }
        match self.leases(namespace).delete(name, &DeleteParams::default()).await {
            Ok(_) => found = true,
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => return Err(api_error(&format!("delete the session's lease {namespace}/{name}"), &e)),
        }
        Ok(found)
    }

    /// Every session (one namespace, or all), oldest first.
    pub async fn sessions(&self, namespace: Option<&str>) -> Result<Vec<PodSessionInfo>> {
        let params = ListParams::default().labels(SESSION_LABEL);
        let (leases, pods): (Api<Lease>, Api<Pod>) = match namespace {
            Some(ns) => (self.leases(ns), self.pods(ns)),
            None => (Api::all(self.client.clone()), Api::all(self.client.clone())),
        };
        let leases = leases.list(&params).await.map_err(|e| api_error("list session leases", &e))?;
        let pods = pods.list(&params).await.map_err(|e| api_error("list session pods", &e))?;
        let now = Utc::now();
        let mut out: Vec<PodSessionInfo> = leases
            .items
            .iter()
            .map(|lease| {
                let meta = &lease.metadata;
                let ns = meta.namespace.clone().unwrap_or_default();
                let name = meta.name.clone().unwrap_or_default();
                let label = |k: &str| meta.labels.as_ref().and_then(|l| l.get(k)).cloned().unwrap_or_default();
                let spec = lease.spec.clone().unwrap_or_default();
                let acquired = spec.acquire_time.map_or(now, |t| t.0);
                let renewed = spec.renew_time.map_or(acquired, |t| t.0);
                let pod = pods.items.iter().find(|p| {
                    p.metadata.namespace.as_deref() == Some(&ns) && p.metadata.name.as_deref() == Some(&name)
                });
                let tool_ns = Some(label(TOOL_NAMESPACE_LABEL)).filter(|n| !n.is_empty()).unwrap_or_else(|| ns.clone());
                PodSessionInfo {
                    id: label(SESSION_LABEL),
                    tool: ToolRef::new(tool_ns, label(TOOL_LABEL)),
                    namespace: ns.clone(),
                    pod: name.clone(),
                    holder: spec.holder_identity.unwrap_or_default(),
                    phase: pod.map_or_else(|| "Gone".to_owned(), |p| pod_state(p).0),
                    age_secs: (now - acquired).num_seconds().max(0),
                    idle_secs: (now - renewed).num_seconds().max(0),
                    idle_timeout_secs: i64::from(spec.lease_duration_seconds.unwrap_or(0)),
                }
            })
            .collect();
        out.sort_by_key(|s| std::cmp::Reverse(s.age_secs));
        Ok(out)
    }

    /// Ends every session whose Lease was not renewed for its duration; returns their pods.
    pub async fn reap(&self, namespace: Option<&str>) -> Result<Vec<OpenPod>> {
        let mut reaped = Vec::new();
        for s in self.sessions(namespace).await? {
            if s.idle_timeout_secs > 0 && s.idle_secs > s.idle_timeout_secs {
                self.end(&s.namespace, &s.pod).await?;
                reaped.push(OpenPod { id: s.id, namespace: s.namespace, name: s.pod });
            }
        }
        Ok(reaped)
    }

    /// Runs `argv` in the session's pod without a terminal and returns what it printed, within
    /// `timeout`.
    pub async fn run(&self, open: &OpenPod, argv: &[String], timeout: Duration) -> Result<PodOutput> {
        let what = format!("run a command in the session's pod {}/{}", open.namespace, open.name);
        let params = AttachParams::default().stdin(false).stdout(true).stderr(true);
        let work = async {
            let mut process = self
                .pods(&open.namespace)
                .exec(&open.name, argv.to_vec(), &params)
                .await
                .map_err(|e| api_error(&what, &e))?;
            let status = process.take_status();
            let (mut stdout, mut stderr) = (String::new(), String::new());
            if let Some(mut out) = process.stdout() {
                out.read_to_string(&mut stdout)
                    .await
                    .map_err(|e| Error::new(ErrorKind::Unreachable, what.clone()).with_source(e))?;
            }
            if let Some(mut err) = process.stderr() {
                err.read_to_string(&mut stderr)
                    .await
                    .map_err(|e| Error::new(ErrorKind::Unreachable, what.clone()).with_source(e))?;
            }
            let code = match status {
                Some(s) => exit_code(s.await),
                None => 0,
            };
            let _ = process.join().await;
            Ok(PodOutput { code, stdout, stderr })
        };
        tokio::time::timeout(timeout, work)
            .await
            .map_err(|_| Error::new(ErrorKind::Timeout, format!("{what}: not finished within {timeout:?}")))?
    }

    /// Runs `argv` in the session's pod on a terminal, wired to this process's standard input
    /// and output (raw mode while it runs, when stdin is a terminal); returns its exit code.
    pub async fn attach(&self, open: &OpenPod, argv: &[String]) -> Result<i32> {
        let what = format!("attach to the session's pod {}/{}", open.namespace, open.name);
        let params = AttachParams::interactive_tty();
        let mut process = self
            .pods(&open.namespace)
            .exec(&open.name, argv.to_vec(), &params)
            .await
            .map_err(|e| api_error(&what, &e))?;
        let status = process.take_status();
        let mut stdin = process.stdin();
        let mut stdout = process.stdout();
        let _raw = crate::terminal::RawMode::enter();
        if let (Some(size), Some(mut sender)) = (crate::terminal::size(), process.terminal_size()) {
            tokio::spawn(async move {
                use futures::SinkExt as _;
                if sender.send(kube::api::TerminalSize { width: size.0, height: size.1 }).await.is_ok() {
                    crate::terminal::forward_resizes(&mut sender).await;
                }
            });
        }
        // Stdin is read on a thread of its own: a read cannot be cancelled, and a blocking task
        // of the runtime would keep the process from exiting when the session ends first.
        let (keys, mut typed) = tokio::sync::mpsc::channel::<Vec<u8>>(16);
        std::thread::spawn(move || {
            let mut local = std::io::stdin();
            let mut buf = [0u8; 4096];
            while let Ok(n) = std::io::Read::read(&mut local, &mut buf) {
                if n == 0 || keys.blocking_send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        let input = tokio::spawn(async move {
            let Some(remote) = stdin.as_mut() else { return };
            while let Some(chunk) = typed.recv().await {
                if remote.write_all(&chunk).await.is_err() {
                    break;
                }
                let _ = remote.flush().await;
            }
        });
        if let Some(remote) = stdout.as_mut() {
            let mut local = tokio::io::stdout();
            let _ = tokio::io::copy(remote, &mut local).await;
            let _ = local.flush().await;
        }
        input.abort();
        let code = match status {
            Some(s) => exit_code(s.await),
            None => 0,
        };
        let _ = process.join().await;
        Ok(code)
    }
}

/// The pod's phase and, when a container waits, why.
fn pod_state(pod: &Pod) -> (String, Option<(String, String)>) {
    let status = pod.status.clone().unwrap_or_default();
    let phase = status.phase.unwrap_or_else(|| "Pending".to_owned());
    let waiting = status.container_statuses.unwrap_or_default().into_iter().find_map(|c| {
        let w = c.state?.waiting?;
        Some((w.reason.unwrap_or_else(|| "Waiting".to_owned()), w.message.unwrap_or_default()))
    });
    (phase, waiting)
}

/// The exit code a kubelet reports in an exec's final status.
fn exit_code(status: Option<k8s_openapi::apimachinery::pkg::apis::meta::v1::Status>) -> i32 {
    let Some(status) = status else { return 0 };
    if status.status.as_deref() == Some("Success") {
        return 0;
    }
    status
        .details
        .and_then(|d| d.causes)
        .unwrap_or_default()
        .into_iter()
        .find(|c| c.reason.as_deref() == Some("ExitCode"))
        .and_then(|c| c.message?.parse().ok())
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Status, StatusCause, StatusDetails};

    use super::*;

    #[test]
    fn exit_codes_come_from_the_status() {
        assert_eq!(exit_code(None), 0);
        assert_eq!(exit_code(Some(Status { status: Some("Success".into()), ..Status::default() })), 0);
        let failed = Status {
            status: Some("Failure".into()),
            reason: Some("NonZeroExitCode".into()),
            details: Some(StatusDetails {
                causes: Some(vec![StatusCause {
                    reason: Some("ExitCode".into()),
                    message: Some("3".into()),
                    ..StatusCause::default()
                }]),
                ..StatusDetails::default()
            }),
            ..Status::default()
        };
        assert_eq!(exit_code(Some(failed)), 3);
        assert_eq!(exit_code(Some(Status { status: Some("Failure".into()), ..Status::default() })), 1);
    }
}
