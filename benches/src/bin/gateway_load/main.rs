//! Load harness of the MCP gateway (not a timed test): on loopback, in one run, `tools/call`
//! through the gateway to an http tool, the same request sent straight to the upstream, and the
//! builtin noop, each with 1 and 16 concurrent clients for a fixed time; prints calls/s, p50 and
//! p99 and the ratios as a Markdown table.
//!
//! ```sh
//! cargo run --release -p toolkit-benches --bin gateway_load -- --duration 5s
//! ```
//!
//! The gateway is the library the `toolkit-gateway` binary runs (`toolkit_gateway::serve`), on
//! its own two-thread runtime as the binary would have on this machine, with its state (audit,
//! counters) in a temporary directory on the same disk as `--state-parent`. The upstream and the
//! clients share a second runtime.

mod mcp;
mod upstream;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use toolkit_gateway::{GatewayConfig, HttpConfig, Transport};

use mcp::McpClient;

#[derive(Debug, Parser)]
#[command(about = "Load harness of the MCP gateway on loopback")]
struct Args {
    /// Measured time of each scenario.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Unmeasured time before each scenario.
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    warmup: Duration,
    /// Concurrent clients, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,16")]
    clients: Vec<usize>,
    /// Serve each request on its own (`--stateless`), without sessions.
    #[arg(long)]
    stateless: bool,
    /// Worker threads of the gateway's runtime.
    #[arg(long, default_value_t = 2)]
    gateway_threads: usize,
    /// Only these targets (direct, noop, http), comma-separated; all by default.
    #[arg(long, value_delimiter = ',', value_parser = parse_target)]
    only: Vec<Target>,
    /// Folder in which the temporary tools and state folders are made.
    #[arg(long)]
    state_parent: Option<PathBuf>,
}

/// What one scenario sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    /// `GET /items/42` straight to the upstream.
    Direct,
    /// `tools/call` of the builtin noop.
    Noop,
    /// `tools/call` of the http tool that sends `GET /items/42` to the upstream.
    Http,
}

impl Target {
    fn label(self) -> &'static str {
        match self {
            Target::Direct => "upstream directly",
            Target::Noop => "gateway, builtin noop",
            Target::Http => "gateway, http tool",
        }
    }
}

/// The outcome of one scenario.
struct Measured {
    target: Target,
    clients: usize,
    calls: u64,
    errors: u64,
    first_error: Option<String>,
    elapsed: Duration,
    latency_us: Histogram<u64>,
}

impl Measured {
    fn rate(&self) -> f64 {
        self.calls as f64 / self.elapsed.as_secs_f64()
    }

    fn p(&self, q: f64) -> u64 {
        self.latency_us.value_at_quantile(q)
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let parent = args.state_parent.clone().unwrap_or_else(std::env::temp_dir);
    let dir = tempfile::tempdir_in(&parent)?;
    let load = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let upstream = load.block_on(upstream::start())?;
    let tools = dir.path().join("tools");
    std::fs::create_dir_all(&tools)?;
    std::fs::write(tools.join("tools.yaml"), manifests(upstream))?;

    // The gateway on a runtime of its own, as in its own process.
    let gateway_rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(args.gateway_threads).enable_all().build()?;
    let listen = free_port()?;
    let mut http = HttpConfig::new(listen);
    http.stateless = args.stateless;
    let mut config = GatewayConfig::new(vec![tools], dir.path().join("state"), Transport::Http(http));
    config.watch = false;
    let shutdown = CancellationToken::new();
    let serving = gateway_rt.spawn(toolkit_gateway::serve(config, shutdown.clone()));
    let url = format!("http://{listen}/mcp");
    load.block_on(wait_ready(listen))?;

    eprintln!(
        "gateway at {url} ({} mode), upstream at http://{upstream}, state in {}",
        if args.stateless { "stateless" } else { "session" },
        dir.path().display()
    );
    let mut results = Vec::new();
    for &clients in &args.clients {
        for target in [Target::Direct, Target::Noop, Target::Http] {
            if !args.only.is_empty() && !args.only.contains(&target) {
                continue;
            }
            let m = load.block_on(scenario(&args, &url, upstream, target, clients))?;
            eprintln!(
                "{:<24} {clients:>3} clients: {:>8.0} calls/s, p50 {} µs, p99 {} µs, {} errors",
                target.label(),
                m.rate(),
                m.p(0.5),
                m.p(0.99),
                m.errors
            );
            if let Some(e) = &m.first_error {
                eprintln!("  first error: {e}");
            }
            results.push(m);
        }
    }
    shutdown.cancel();
    let _ = gateway_rt.block_on(serving);
    print_table(&args, &results);
    Ok(())
}

fn parse_target(s: &str) -> Result<Target, String> {
    match s {
        "direct" => Ok(Target::Direct),
        "noop" => Ok(Target::Noop),
        "http" => Ok(Target::Http),
        other => Err(format!("unknown target `{other}`; use direct, noop or http")),
    }
}

fn manifests(upstream: SocketAddr) -> String {
    format!(
        "apiVersion: toolkit.dev/v1alpha1\nkind: Tool\nmetadata: {{name: noop}}\nspec:\n  type: builtin\n  \
         description: does nothing\n  builtin: {{name: noop}}\n  inputSchema: {{type: object, properties: \
         {{message: {{type: string}}}}, required: [message]}}\n---\napiVersion: toolkit.dev/v1alpha1\nkind: Tool\n\
         metadata: {{name: item}}\nspec:\n  type: http\n  description: one item\n  http: {{url: \
         'http://{upstream}/items/{{id}}'}}\n  inputSchema: {{type: object, properties: {{id: {{type: string}}}}, \
         required: [id]}}\n"
    )
}

fn free_port() -> std::io::Result<SocketAddr> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    l.local_addr()
}

async fn wait_ready(addr: SocketAddr) -> Result<(), String> {
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if let Ok(r) = client.get(format!("http://{addr}/readyz")).send().await
            && r.status().is_success()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err("the gateway did not become ready within 10s".into())
}

/// Runs `clients` concurrent clients for the warm-up and then the measured time.
async fn scenario(
    args: &Args,
    url: &str,
    upstream: SocketAddr,
    target: Target,
    clients: usize,
) -> Result<Measured, String> {
    let started = Instant::now();
    let warm_until = started + args.warmup;
    let until = warm_until + args.duration;
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let url = url.to_owned();
        let stateless = args.stateless;
        tasks.push(tokio::spawn(async move { client(target, &url, upstream, stateless, warm_until, until).await }));
    }
    let mut latency_us = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).map_err(|e| e.to_string())?;
    let (mut calls, mut errors, mut first_error) = (0, 0, None);
    for t in tasks {
        let r = t.await.map_err(|e| e.to_string())??;
        latency_us.add(&r.latency_us).map_err(|e| e.to_string())?;
        calls += r.calls;
        errors += r.errors;
        first_error = first_error.or(r.first_error);
    }
    Ok(Measured { target, clients, calls, errors, first_error, elapsed: args.duration, latency_us })
}

struct ClientResult {
    calls: u64,
    errors: u64,
    first_error: Option<String>,
    latency_us: Histogram<u64>,
}

/// One client: calls back to back until `until`, recording from `warm_until` on.
async fn client(
    target: Target,
    url: &str,
    upstream: SocketAddr,
    stateless: bool,
    warm_until: Instant,
    until: Instant,
) -> Result<ClientResult, String> {
    let direct = reqwest::Client::builder().pool_max_idle_per_host(1).build().map_err(|e| e.to_string())?;
    let direct_url = format!("http://{upstream}/items/42");
    let mut mcp = match target {
        Target::Direct => None,
        _ => Some(McpClient::connect(url, stateless).await?),
    };
    let (tool, arguments) = match target {
        Target::Http => ("item", Arc::new(json!({"id": "42"}))),
        _ => ("noop", Arc::new(json!({"message": "hello"}))),
    };
    let mut out = ClientResult {
        calls: 0,
        errors: 0,
        first_error: None,
        latency_us: Histogram::new_with_bounds(1, 60_000_000, 3).map_err(|e| e.to_string())?,
    };
    loop {
        let t0 = Instant::now();
        if t0 >= until {
            return Ok(out);
        }
        let result = match &mut mcp {
            None => get_json(&direct, &direct_url).await,
            Some(c) => c.call(tool, &arguments).await,
        };
        let done = Instant::now();
        if t0 < warm_until || done > until {
            continue;
        }
        match result {
            Ok(()) => {
                out.calls += 1;
                let _ = out.latency_us.record((done - t0).as_micros().max(1) as u64);
            }
            Err(e) => {
                out.errors += 1;
                out.first_error.get_or_insert(e);
            }
        }
    }
}

/// The upstream request as a client would send it: read and parse the JSON answer.
async fn get_json(client: &reqwest::Client, url: &str) -> Result<(), String> {
    let resp = client.get(url).send().await.map_err(|e| e.to_string())?;
    if !resp.status().is_success() {
        return Err(format!("HTTP {}", resp.status()));
    }
    let body = resp.bytes().await.map_err(|e| e.to_string())?;
    serde_json::from_slice::<Value>(&body).map(drop).map_err(|e| e.to_string())
}

fn print_table(args: &Args, results: &[Measured]) {
    println!(
        "\n{} s per scenario after {} s of warm-up, {} mode\n",
        args.duration.as_secs_f64(),
        args.warmup.as_secs_f64(),
        if args.stateless { "stateless" } else { "session" }
    );
    println!("| target | clients | calls/s | p50 | p99 | errors |");
    println!("|---|---:|---:|---:|---:|---:|");
    for m in results {
        println!(
            "| {} | {} | {:.0} | {} µs | {} µs | {} |",
            m.target.label(),
            m.clients,
            m.rate(),
            m.p(0.5),
            m.p(0.99),
            m.errors
        );
    }
    println!(
        "\n| clients | http tool ÷ direct calls/s | http tool − direct p50 | http tool − noop p50 | noop ÷ direct calls/s |"
    );
    println!("|---:|---:|---:|---:|---:|");
    for &clients in &args.clients {
        let find = |t: Target| results.iter().find(|m| m.target == t && m.clients == clients);
        if let (Some(d), Some(n), Some(h)) = (find(Target::Direct), find(Target::Noop), find(Target::Http)) {
            println!(
                "| {clients} | {:.2} | {:+} µs | {:+} µs | {:.2} |",
                h.rate() / d.rate(),
                h.p(0.5) as i64 - d.p(0.5) as i64,
                h.p(0.5) as i64 - n.p(0.5) as i64,
                n.rate() / d.rate()
            );
        }
    }
}
