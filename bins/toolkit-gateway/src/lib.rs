//! The toolkit MCP gateway: serves the tools declared in manifests to AI agents over MCP
//! (streamable HTTP at `/mcp`, or stdio), every call through toolkit's one call pipeline.
//!
//! - `tools/list` lists every enabled, valid tool, sorted by namespace and name. A tool is
//!   named by its `spec.mcpName`, else `NAME` in namespace `default` and `NAMESPACE__NAME` in
//!   any other (see [`names`]).
//! - `tools/call` runs [`toolkit_runtime::Runtime::call_until`] as the caller: `token:<name>`
//!   with `--tokens` (see [`Tokens`]), else `mcp:<client name>` over HTTP or
//!   `stdio:<client name>` on stdio. A failed call is a result with `isError: true` and the
//!   reason; an unknown tool, or one outside the token's scope, is an invalid-params error. A
//!   call stops when the client cancels it.
//! - `logging/setLevel` turns on `notifications/message` about the session's own calls, at
//!   that level and above.
//! - Rate limits live in memory, or with `--rate-limit-redis` in Redis, shared by replicas.
//! - `/metrics` exposes calls, errors, durations and rate-limit refusals per tool.
//! - `/ui` is a web console for people: approvals to decide, the audit log, the tools and the
//!   bastion sessions (see [`ConsoleConfig`]; `--no-ui` turns it off).
//! - Sessions belong to the identity that opened them; connections, sessions, calls in flight
//!   and request bodies are capped, and silent or slow clients are cut off ([`HttpLimits`],
//!   [`CallCaps`]).
//! - Manifests are watched: after a change the catalog is reloaded and swapped in, and clients
//!   get `notifications/tools/list_changed`.
//! - With `--kubernetes` the catalog comes from a cluster's Tools, ToolRegistries and
//!   ApprovalPolicies instead (watched the same way), Secrets are read from the API when a call
//!   needs them, and the calls served are added to each Tool's status in batches.
//!
//! [`run`] is the command line (`main` is one line); [`serve`] embeds the gateway in another
//! program, and [`Gateway`] with [`router`] gives finer control.
//!
//! Exit codes:
//!
//! | code | meaning |
//! |---|---|
//! | 0 | stopped normally (signal, or the stdio client closed stdin) |
//! | 1 | failed while serving |
//! | 2 | usage error (unknown flag, bad value) |
//! | 3 | configuration error (manifests or tokens file unreadable or invalid, address refused or in use) |

mod auth;
mod cli;
mod config;
mod console;
mod gateway;
mod guard;
mod handler;
mod http;
mod listener;
mod mapping;
mod metrics;
pub mod names;
mod oauth;
mod running;
mod serve;
mod session_log;
mod telemetry;
mod watch;
mod webhook;

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser as _;
use tokio_util::sync::CancellationToken;
use toolkit_core::ErrorKind;

pub use auth::{Identity, Tokens};
pub use cli::{Cli, LogFormat};
pub use config::{
    CallCaps, DEFAULT_DRAIN_TIMEOUT, DEFAULT_LISTEN, GatewayConfig, HttpConfig, HttpLimits, RateLimitConfig, Transport,
};
pub use console::{Approver, ConsoleConfig, UI_PATH};
pub use gateway::{Drained, Gateway, GatewayOptions};
pub use handler::{McpHandler, caller_of};
pub use http::{MCP_PATH, METRICS_PATH, metrics_router, router};
pub use oauth::{OAuthConfig, Rejection, Verifier};
pub use serve::serve;

/// Exit code of a failure of `kind`.
pub fn exit_code(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::Config | ErrorKind::NotFound => 3,
        _ => 1,
    }
}

/// Runs the gateway with the process arguments and the connectors of this build until SIGINT
/// or SIGTERM.
pub fn run() -> ExitCode {
    run_with(toolkit_connectors::registry())
}

/// Runs the gateway with the process arguments and `connectors` until SIGINT or SIGTERM: a
/// program that embeds the gateway serves the tools of its own connectors beside the
/// built-in ones.
pub fn run_with(connectors: toolkit_core::ConnectorRegistry) -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let telemetry = telemetry::init(cli.verbose, cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let shutdown = CancellationToken::new();
    let outcome = runtime.block_on(async {
        tokio::spawn(on_signal(shutdown.clone()));
        let mut config = cli.config();
        config.connectors = connectors;
        serve(config, shutdown).await
    });
    // A blocking stdin read cannot be interrupted; do not wait for it.
    runtime.shutdown_timeout(Duration::from_secs(1));
    telemetry.shutdown();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::from(exit_code(e.kind()))
        }
    }
}

/// Cancels `shutdown` on the first SIGINT or SIGTERM.
async fn on_signal(shutdown: CancellationToken) {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
    shutdown.cancel();
}
