//! `toolkit --kubernetes tool connect|exec|status|pause`: sessions as bastion pods. The CLI
//! creates the session's Lease and pod through the API (with the caller's own permissions),
//! never reads the tool's Secret (the kubelet puts it into the pod), renews the Lease while the
//! session is open, and deletes both when it ends.

use std::io::IsTerminal as _;
use std::time::Duration;

use async_trait::async_trait;
use toolkit_bastion::DEFAULT_IDLE_TIMEOUT;
use toolkit_bastion::cluster::{OpenPod, PodBastion};
use toolkit_bastion::pod::PodSession;
use toolkit_core::connector::{CallLimits, EnvEntry, InvokeOutput, Session};
use toolkit_core::{Error, ErrorKind, ExecForm, Result, SessionTemplate, ToolRef};
use toolkit_kube::ClusterSource;
use toolkit_runtime::{Caller, PreparedTool, Runtime, SessionOpener};

use crate::cli::{Cli, ConnectArgs};
use crate::output;

/// How long a session's pod may take to start.
const START_WAIT: Duration = Duration::from_secs(120);

/// Who holds a session: the local user at this host.
fn holder() -> String {
    let host = std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_owned()).unwrap_or_default();
    let user = Caller::local().id;
    let user = user.strip_prefix("local:").unwrap_or(&user).to_owned();
    if host.is_empty() { user } else { format!("{user}@{host}") }
}

/// The tool's session template, or why it has none.
fn template(rt: &Runtime, reference: &ToolRef) -> Result<SessionTemplate> {
    let loaded = rt.catalog().get(reference)?;
    let tool = loaded.tool.as_ref().ok_or_else(|| {
        Error::config(format!("tool {reference} is invalid"))
            .with_context("hint", "run `toolkit --kubernetes validate`")
    })?;
    let connector = rt.connectors().get(&tool.spec.type_)?;
    connector.session_template(&tool.spec).ok_or_else(|| {
        Error::unsupported(format!(
            "open a bastion pod for {reference}: `{}` tools have no pod session (postgres, cockroachdb, redshift, \
             mysql, redis, mongodb, clickhouse, elasticsearch, kafka, custom tools with spec.config.image, \
             kubernetes tools with spec.permissions.role, and ssh tools with spec.config.hostKeyFingerprint and \
             no knownHostsFile do)",
            tool.spec.type_
        ))
    })
}

fn idle_timeout(rt: &Runtime, reference: &ToolRef) -> Duration {
    let spec = rt.catalog().get(reference).ok().and_then(|l| l.tool.clone());
    spec.and_then(|t| t.spec.idle_timeout.map(|d| d.get())).unwrap_or(DEFAULT_IDLE_TIMEOUT)
}

/// Opens a session pod, telling progress on stderr when it is a terminal.
async fn open(
    bastion: &PodBastion,
    reference: &ToolRef,
    template: &SessionTemplate,
    idle: Duration,
) -> Result<OpenPod> {
    let id = uuid::Uuid::new_v4().to_string();
    let holder = holder();
    let session = PodSession {
        tool: reference,
        id: &id,
        template,
        image: None,
        service_account: None, // the template's, for a Kubernetes tool
        holder: &holder,
        idle_timeout_secs: i32::try_from(idle.as_secs()).unwrap_or(i32::MAX).max(1),
    };
    let show = std::io::stderr().is_terminal();
    let mut progress = |line: &str| {
        if show {
            eprintln!("{line}");
        }
    };
    bastion.open(&session, START_WAIT, &mut progress).await
}

/// Renews the session's Lease at a third of its idle timeout until aborted.
fn heartbeat(bastion: &PodBastion, pod: &OpenPod, idle: Duration) -> tokio::task::JoinHandle<()> {
    let (bastion, pod) = (bastion.clone(), pod.clone());
    let every = (idle / 3).clamp(Duration::from_secs(1), Duration::from_secs(30));
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            match bastion.heartbeat(&pod).await {
                Ok(true) => {}
                Ok(false) => return,
                Err(e) => tracing::warn!("renew the session: {e}"),
            }
        }
    })
}

/// `toolkit --kubernetes tool connect`: the client (or a shell, or a command) on a terminal in
/// the session's pod.
pub async fn connect(source: &ClusterSource, rt: &Runtime, args: &ConnectArgs) -> Result<u8> {
    let reference = super::tool_ref(&args.name)?;
    let template = template(rt, &reference)?;
    let argv = if !args.command.is_empty() {
        args.command.clone()
    } else if args.client {
        template.client.clone()
    } else {
        vec!["/bin/sh".to_owned()]
    };
    let idle = idle_timeout(rt, &reference);
    let bastion = PodBastion::new(source.client().clone());
    let pod = open(&bastion, &reference, &template, idle).await?;
    if std::io::stderr().is_terminal() {
        eprintln!("connected to {reference} in pod {}/{}; exit to end the session.", pod.namespace, pod.name);
    }
    let beat = heartbeat(&bastion, &pod, idle);
    let code = bastion.attach(&pod, &argv).await;
    beat.abort();
    bastion.end(&pod.namespace, &pod.name).await?;
    Ok(u8::try_from(code?).unwrap_or(1))
}

/// Opens a pod for one command of `toolkit tool exec`, through the pipeline.
#[derive(Debug)]
struct PodOpener {
    bastion: PodBastion,
    template: SessionTemplate,
    idle: Duration,
}

#[async_trait]
impl SessionOpener for PodOpener {
    async fn open(&self, tool: &PreparedTool) -> Result<Box<dyn Session>> {
        let pod = open(&self.bastion, tool.reference(), &self.template, self.idle).await?;
        Ok(Box::new(PodCommands { bastion: self.bastion.clone(), pod, exec: self.template.exec.clone() }))
    }
}

/// A session whose commands run in a pod.
struct PodCommands {
    bastion: PodBastion,
    pod: OpenPod,
    exec: ExecForm,
}

#[async_trait]
impl Session for PodCommands {
    fn env(&self) -> Vec<EnvEntry> {
        Vec::new()
    }

    async fn exec(&self, command: &[String], limits: &CallLimits) -> Result<InvokeOutput> {
        let out = self.bastion.run(&self.pod, &self.exec.argv(command), limits.timeout).await?;
        if out.code != 0 {
            let why = if out.stderr.trim().is_empty() { out.stdout.trim() } else { out.stderr.trim() };
            return Err(Error::new(
                ErrorKind::Upstream,
                format!("the command exited with code {}: {}", out.code, toolkit_core::error::one_line(why)),
            ));
        }
        let mut text = out.stdout;
        let truncated = text.len() > limits.max_output_bytes;
        if truncated {
            let mut end = limits.max_output_bytes;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text.truncate(end);
        }
        let mut output = InvokeOutput::new(serde_json::Value::String(text));
        output.truncated = truncated;
        Ok(output)
    }

    async fn close(&self) {
        if let Err(e) = self.bastion.end(&self.pod.namespace, &self.pod.name).await {
            tracing::warn!("end the session's pod: {e}");
        }
    }
}

/// `toolkit --kubernetes tool exec`: one command through the pipeline, run in a pod.
pub async fn exec(cli: &Cli, source: &ClusterSource, rt: &Runtime, name: &str, command: &[String]) -> Result<u8> {
    let reference = super::tool_ref(name)?;
    let opener = PodOpener {
        bastion: PodBastion::new(source.client().clone()),
        template: template(rt, &reference)?,
        idle: idle_timeout(rt, &reference),
    };
    let out = rt.exec_in(&Caller::local(), &reference, command, &opener, super::tool::interrupted()).await?;
    if !output::structured(cli.output, &out)? {
        output::human_value(&out.content);
    }
    Ok(0)
}

/// `toolkit --kubernetes tool status`: the session pods, with age, idle time and holder.
pub async fn status(cli: &Cli, source: &ClusterSource) -> Result<u8> {
    let sessions = PodBastion::new(source.client().clone()).sessions(source.namespace()).await?;
    if output::structured(cli.output, &sessions)? {
        return Ok(0);
    }
    if sessions.is_empty() {
        println!("no sessions");
        return Ok(0);
    }
    let mut t = output::table(&["SESSION", "TOOL", "POD", "PHASE", "HOLDER", "AGE", "IDLE", "IDLE TIMEOUT"]);
    for s in &sessions {
        t.add_row(vec![
            s.id.clone(),
            s.tool.to_string(),
            s.pod.clone(),
            s.phase.clone(),
            s.holder.clone(),
            format!("{}s", s.age_secs),
            format!("{}s", s.idle_secs),
            format!("{}s", s.idle_timeout_secs),
        ]);
    }
    println!("{t}");
    Ok(0)
}

/// `toolkit --kubernetes tool pause`: deletes the pods of a tool's sessions, or of one session.
pub async fn pause(source: &ClusterSource, target: &str) -> Result<u8> {
    let bastion = PodBastion::new(source.client().clone());
    let sessions = bastion.sessions(source.namespace()).await?;
    let tool: Option<ToolRef> = target.parse().ok();
    let chosen: Vec<_> = sessions
        .iter()
        .filter(|s| s.id == target || s.pod == target || tool.as_ref().is_some_and(|t| *t == s.tool))
        .collect();
    if chosen.is_empty() {
        return Err(Error::not_found(format!("no session or tool named `{target}` has a pod"))
            .with_context("hint", "run `toolkit --kubernetes tool status` to list sessions"));
    }
    for s in &chosen {
        bastion.end(&s.namespace, &s.pod).await?;
    }
    println!("ended {} session{}", chosen.len(), if chosen.len() == 1 { "" } else { "s" });
    Ok(0)
}
