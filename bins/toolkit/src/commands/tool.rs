//! `toolkit tool ...`.

use std::io::{IsTerminal as _, Read as _};

use serde_json::Value;
use toolkit_bastion::{ConnectMode, LocalBastion};
use toolkit_core::{Error, Result};
use toolkit_runtime::{Caller, Runtime};

use crate::cli::{Cli, ConnectArgs, ToolCommand};
use crate::output;

/// Time given to registry upstreams to list their tools.
const IMPORT_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

pub async fn run(cli: &Cli, cmd: &ToolCommand) -> Result<u8> {
    let rt = super::load(cli).await?;
    // Tools of registry upstreams are tools too: their servers are asked for them now.
    let imports = toolkit_runtime::Imports::new();
    let rt = match cmd {
        ToolCommand::List | ToolCommand::Get { .. } | ToolCommand::Call { .. } | ToolCommand::Schema(_) => {
            if imports.sync_upstreams(&rt).await {
                imports.settled(IMPORT_WAIT).await;
            }
            rt.with_imports(&imports)
        }
        _ => rt,
    };
    #[cfg(feature = "kubernetes")]
    if let Some(source) = super::cluster(cli).await? {
        let pods = match cmd {
            ToolCommand::Connect(args) => Some(super::pods::connect(&source, &rt, args).await),
            ToolCommand::Exec { name, command } => Some(super::pods::exec(cli, &source, &rt, name, command).await),
            ToolCommand::Status { .. } => Some(super::pods::status(cli, &source).await),
            ToolCommand::Pause { target } => Some(super::pods::pause(&source, target).await),
            _ => None,
        };
        if let Some(code) = pods {
            rt.shutdown().await;
            return code;
        }
    }
    let code = match cmd {
        ToolCommand::List => list(cli, &rt).await,
        ToolCommand::Get { name } => get(cli, &rt, name).await,
        ToolCommand::Probe { name, all } => super::probe::run(cli, &rt, name.as_deref(), *all).await,
        ToolCommand::Exec { name, command } => exec(cli, &rt, name, command).await,
        ToolCommand::Call { name, args } => call(cli, &rt, name, args).await,
        ToolCommand::Schema(args) => super::schema::run(cli, &rt, args),
        ToolCommand::Connect(args) => connect(&rt, args).await,
        ToolCommand::Status { all } => status(cli, &rt, *all).await,
        ToolCommand::Pause { target } => pause(&rt, target).await,
        ToolCommand::Permissions { name, apply } => super::permissions::run(cli, &rt, name, *apply).await,
    };
    imports.shutdown().await;
    rt.shutdown().await;
    code
}

async fn list(cli: &Cli, rt: &Runtime) -> Result<u8> {
    let tools = rt.list().await?;
    if output::structured(cli.output, &tools)? {
        return Ok(0);
    }
    if tools.is_empty() {
        println!("no tools declared in {}", super::source_label(cli));
        return Ok(0);
    }
    let mut t = output::table(&["TOOL", "TYPE", "PHASE", "SERVED", "CALLS", "ERRORS", "LATENCY", "NOTES"]);
    for l in &tools {
        t.add_row(vec![
            l.tool.to_string(),
            l.type_.clone(),
            l.phase.to_string(),
            if l.served { "yes".into() } else { "no".into() },
            l.invocation_count.to_string(),
            l.error_count.to_string(),
            l.latency_ms.map(output::ms).unwrap_or_default(),
            l.reason.clone().or_else(|| l.description.clone()).unwrap_or_default(),
        ]);
    }
    println!("{t}");
    Ok(0)
}

async fn get(cli: &Cli, rt: &Runtime, name: &str) -> Result<u8> {
    let reference = super::tool_ref(name)?;
    let loaded = rt.catalog().get(&reference)?;
    let status = rt.state().status(&reference).await?.unwrap_or_default();
    let mut tool = loaded.tool.as_deref().cloned().ok_or_else(|| {
        Error::config(format!(
            "tool {reference} did not parse: {}",
            loaded.first_error().map(ToString::to_string).unwrap_or_default()
        ))
    })?;
    tool.status = Some(status);
    if cli.output == crate::cli::Format::Table {
        let text = serde_yaml::to_string(&tool).map_err(|e| Error::internal("render YAML").with_source(e))?;
        println!("# {} ({})", reference, loaded.source.display());
        for d in &loaded.problems {
            println!("# {:?}: {d}", d.severity);
        }
        print!("{text}");
        return Ok(0);
    }
    output::structured(cli.output, &tool)?;
    Ok(0)
}

async fn exec(cli: &Cli, rt: &Runtime, name: &str, command: &[String]) -> Result<u8> {
    let reference = super::tool_ref(name)?;
    // Ctrl-C stops the command, which is still audited (as cancelled).
    let out = rt.exec_until(&Caller::local(), &reference, command, interrupted()).await?;
    if !output::structured(cli.output, &out)? {
        output::human_value(&out.content);
        if out.truncated {
            eprintln!("note: output truncated by the tool's limits");
        }
    }
    Ok(0)
}

async fn call(cli: &Cli, rt: &Runtime, name: &str, args: &str) -> Result<u8> {
    let reference = super::tool_ref(name)?;
    let text = match args {
        "-" => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .map_err(|e| Error::invalid_input("read arguments from stdin").with_source(e))?;
            s
        }
        a if a.starts_with('@') => std::fs::read_to_string(&a[1..])
            .map_err(|e| Error::not_found(format!("read arguments file {}", &a[1..])).with_source(e))?,
        a => a.to_owned(),
    };
    let value: Value = serde_json::from_str(&text).map_err(|e| {
        Error::invalid_input(format!("--args is not JSON: {e}"))
            .with_context("hint", r#"pass a JSON object, e.g. --args '{"query": "select 1"}'"#)
    })?;
    // Ctrl-C stops the call (a wait for approval withdraws its request); it is still audited.
    let out = rt.call_until(&Caller::local(), &reference, value, interrupted()).await?;
    if cli.output == crate::cli::Format::Table {
        output::human_value(&out.output.content);
        if out.output.truncated {
            eprintln!("note: output truncated by the tool's limits");
        }
    } else {
        output::structured(
            cli.output,
            &serde_json::json!({
                "content": out.output.content,
                "truncated": out.output.truncated,
                "metadata": out.output.metadata,
                "durationMs": out.duration.as_secs_f64() * 1000.0,
            }),
        )?;
    }
    Ok(0)
}

async fn connect(rt: &Runtime, args: &ConnectArgs) -> Result<u8> {
    let reference = super::tool_ref(&args.name)?;
    let tool = rt.tool(&reference)?;
    let mode = if !args.command.is_empty() {
        ConnectMode::Command(args.command.clone())
    } else if args.client {
        ConnectMode::Client
    } else {
        ConnectMode::Shell
    };
    let bastion = LocalBastion::new(rt.state().clone());
    let idle = tool.spec().idle_timeout.map(|d| d.get());
    if std::io::stderr().is_terminal() {
        eprintln!(
            "connected to {reference}; credentials are in this shell's environment only. Exit to end the session."
        );
    }
    let end = bastion.connect(&reference, tool.instance().as_ref(), idle, mode).await?;
    match end.status {
        Some(status) => Ok(u8::try_from(status.code().unwrap_or(1)).unwrap_or(1)),
        None => {
            eprintln!("session {} ended: {}", end.id, end.reason);
            Ok(if end.reason == "idle" { 6 } else { 5 })
        }
    }
}

async fn status(cli: &Cli, rt: &Runtime, all: bool) -> Result<u8> {
    let bastion = LocalBastion::new(rt.state().clone());
    let sessions = bastion.sessions(all).await?;
    if output::structured(cli.output, &sessions)? {
        return Ok(0);
    }
    if sessions.is_empty() {
        println!("no {}sessions", if all { "" } else { "active " });
        return Ok(0);
    }
    let mut t = output::table(&["SESSION", "TOOL", "KIND", "PID", "STARTED", "LAST SEEN", "IDLE TIMEOUT", "STATE"]);
    for s in &sessions {
        t.add_row(vec![
            s.id.clone(),
            s.tool.to_string(),
            s.kind.clone(),
            s.pid.map(|p| p.to_string()).unwrap_or_default(),
            s.started_at.format("%H:%M:%S").to_string(),
            s.last_seen_at.format("%H:%M:%S").to_string(),
            format!("{}s", s.idle_timeout_secs),
            match &s.end_reason {
                Some(r) => format!("ended ({r})"),
                None => "active".into(),
            },
        ]);
    }
    println!("{t}");
    Ok(0)
}

async fn pause(rt: &Runtime, target: &str) -> Result<u8> {
    let bastion = LocalBastion::new(rt.state().clone());
    let tool = target.parse().ok().filter(|r| rt.catalog().tools.contains_key(r));
    let n = bastion.pause(target, tool.as_ref()).await?;
    if n == 0 && tool.is_none() {
        return Err(Error::not_found(format!("no active session or tool named `{target}`"))
            .with_context("hint", "run `toolkit tool status` to list sessions"));
    }
    println!("ended {n} session{}", if n == 1 { "" } else { "s" });
    Ok(0)
}

/// Completes on Ctrl-C; never, when the signal cannot be watched.
pub(super) async fn interrupted() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}
