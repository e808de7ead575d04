//! What MCP sessions cost the gateway in memory: starts the `toolkit-gateway` binary, opens
//! sessions (`initialize` and `notifications/initialized`, 16 at a time), reads the process's
//! resident memory (`VmRSS`) before, with the sessions open and a while (`--settle`) after they
//! have been ended with `DELETE`; then the same flood under the default caps, where the gateway keeps at most
//! `--max-sessions-per-identity` of them.
//!
//! ```sh
//! cargo build --release -p toolkit-gateway
//! cargo run --release -p toolkit-benches --bin session_memory -- --sessions 20000
//! ```

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;
use futures::StreamExt as _;
use serde_json::json;

/// Measures the gateway's memory with many MCP sessions.
#[derive(Debug, Parser)]
struct Args {
    /// Sessions to open.
    #[arg(long, default_value_t = 20_000)]
    sessions: usize,
    /// The gateway binary; by default the one beside this program.
    #[arg(long)]
    gateway: Option<PathBuf>,
    /// Sessions opened at once.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Times the sessions are opened and ended, to see whether memory is reused.
    #[arg(long, default_value_t = 2)]
    rounds: usize,
    /// How long after the last DELETE memory is read again.
    #[arg(long, default_value = "15s", value_parser = humantime::parse_duration)]
    settle: Duration,
}

const PROTOCOL: &str = "2025-11-25";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let gateway = match &args.gateway {
        Some(g) => g.clone(),
        None => std::env::current_exe()?.with_file_name("toolkit-gateway"),
    };
    if !gateway.exists() {
        return Err(
            format!("{} is missing: run `cargo build --release -p toolkit-gateway` first", gateway.display()).into()
        );
    }
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let cap = (args.sessions + 100).to_string();
    println!(
        "| limits | round | sessions opened | held | RSS before | RSS with sessions | RSS after DELETE | time to open |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (label, extra) in [
        ("caps raised", vec!["--max-sessions", cap.as_str(), "--max-sessions-per-identity", cap.as_str()]),
        ("default caps", vec![]),
    ] {
        let dir = tempfile::tempdir()?;
        let tools = dir.path().join("tools");
        std::fs::create_dir_all(&tools)?;
        std::fs::write(
            tools.join("noop.yaml"),
            "apiVersion: toolkit.dev/v1alpha1\nkind: Tool\nmetadata: {name: noop}\n\
             spec: {type: builtin, description: does nothing, builtin: {name: noop}}\n",
        )?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let listen = format!("127.0.0.1:{port}");
        let mut child = Command::new(&gateway)
            .args(["--tools", &tools.to_string_lossy(), "--state", &dir.path().join("state").to_string_lossy()])
            .args(["--listen", &listen, "--no-watch"])
            .args(&extra)
            .env("TOOLKIT_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let result = rt.block_on(measure(&args, &listen, &child));
        let _ = child.kill();
        let _ = child.wait();
        for (round, m) in result?.iter().enumerate() {
            println!(
                "| {label} | {} | {} | {} | {} MB | {} MB | {} MB | {:.1} s |",
                round + 1,
                args.sessions,
                m.held,
                m.before / 1024,
                m.with / 1024,
                m.after / 1024,
                m.open_time.as_secs_f64()
            );
        }
    }
    Ok(())
}

struct Measured {
    held: usize,
    before: u64,
    with: u64,
    after: u64,
    open_time: Duration,
}

/// Resident memory of `child` in KiB.
fn rss(child: &Child) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

async fn measure(args: &Args, listen: &str, child: &Child) -> Result<Vec<Measured>, String> {
    let http =
        reqwest::Client::builder().pool_max_idle_per_host(args.concurrency).build().map_err(|e| e.to_string())?;
    let base = format!("http://{listen}");
    let started = Instant::now();
    loop {
        if let Ok(r) = http.get(format!("{base}/readyz")).send().await
            && r.status().is_success()
        {
            break;
        }
        if started.elapsed() > Duration::from_secs(30) {
            return Err("the gateway did not become ready within 30s".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut rounds = Vec::new();
    for _ in 0..args.rounds {
        rounds.push(round(args, &http, &format!("{base}/mcp"), child).await);
    }
    Ok(rounds)
}

/// Opens the sessions, then ends them.
async fn round(args: &Args, http: &reqwest::Client, url: &str, child: &Child) -> Measured {
    let before = rss(child);
    let url = url.to_owned();
    let opened = Instant::now();
    let sessions: Vec<Option<String>> = futures::stream::iter(0..args.sessions)
        .map(|_| open(http, &url))
        .buffer_unordered(args.concurrency)
        .collect()
        .await;
    let open_time = opened.elapsed();
    let sessions: Vec<String> = sessions.into_iter().flatten().collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let with = rss(child);
    // Ending a session the gateway already closed answers 404; either way it is gone.
    let mut held = 0;
    let ended: Vec<bool> = futures::stream::iter(&sessions)
        .map(|s| {
            let http = http.clone();
            let url = url.clone();
            async move {
                let r =
                    http.delete(&url).header("mcp-session-id", s).header("mcp-protocol-version", PROTOCOL).send().await;
                r.map(|r| r.status().is_success()).unwrap_or(false)
            }
        })
        .buffer_unordered(args.concurrency)
        .collect()
        .await;
    held += ended.iter().filter(|e| **e).count();
    tokio::time::sleep(args.settle).await;
    let after = rss(child);
    Measured { held, before, with, after, open_time }
}

/// Opens one session; its id.
async fn open(http: &reqwest::Client, url: &str) -> Option<String> {
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": PROTOCOL, "capabilities": {}, "clientInfo": {"name": "session-memory", "version": "1"}}});
    let resp = http
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(init.to_string())
        .send()
        .await
        .ok()?;
    let session = resp.headers().get("mcp-session-id")?.to_str().ok()?.to_owned();
    resp.bytes().await.ok()?;
    let done = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    http.post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-session-id", &session)
        .header("mcp-protocol-version", PROTOCOL)
        .body(done.to_string())
        .send()
        .await
        .ok()?;
    Some(session)
}
