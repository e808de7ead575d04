//! The Kubernetes operator of toolkit.
//!
//! `toolkit-operator run` reconciles `Tool` resources: each is validated with the checks of
//! `toolkit validate`, the Secrets and ConfigMaps it names are read from its namespace, and it
//! is probed as `toolkit tool probe` probes it. What was found becomes its status (conditions
//! `Validated`, `CredentialsResolved` and `Ready`, the phase they lead to, `observedGeneration`
//! and `lastProbe`), written only when it changed, with an Event for each transition. A tool is
//! probed again at its `spec.probe.interval` (5 minutes by default), at once when a Secret or
//! ConfigMap it names changes, and retried with backoff when the API server fails.
//!
//! It reconciles `ToolRegistry` resources too: their inline tools and upstream MCP servers are
//! checked as `toolkit validate` checks them, the Services of their namespaces labelled
//! `toolkit.dev/tool: "true"` (or Omnia's `omnia.altairalabs.ai/tool`) and the Tools carrying
//! their `discovery.matchLabels` are found, and `status.discoveredTools`, `availableTools`,
//! the conditions `Validated`, `ToolsDiscovered` and `AllToolsReady` and the phase (`Ready`,
//! `Degraded`, `Failed`) follow; a registry is looked at again when such a Service appears or
//! goes or such a Tool changes phase. `ApprovalPolicy` resources get a `Validated` condition.
//!
//! Of several replicas, the one holding the `coordination.k8s.io` Lease reconciles; one that
//! loses it (or cannot renew it while the API server is away) stands by again, without a
//! restart. `/metrics`, `/healthz` and `/readyz` are served on `--metrics-addr`.
//!
//! `toolkit-operator crdgen` prints the CustomResourceDefinitions generated from the Rust types
//! and the connectors compiled in (the checked-in copy is `deploy/crds.yaml`, and CI fails when
//! it drifts). `toolkit-operator manifests [--namespace NS]` prints them followed by the rest of
//! an install: ServiceAccounts, least-privilege RBAC, the operator's and the gateway's
//! Deployments and the gateway's Service.
//!
//! Exit codes:
//!
//! | code | meaning |
//! |---|---|
//! | 0 | stopped normally (SIGINT or SIGTERM) |
//! | 1 | failed while running |
//! | 2 | usage error (unknown command or flag, bad value) |
//! | 3 | configuration error (no cluster reachable, metrics address refused or in use) |

mod cli;
mod crd;
mod discovery;
mod leader;
mod manifests;
mod metrics;
mod policy;
mod reconcile;
mod registry;
mod run;
mod status;
#[cfg(test)]
mod tests;

use std::process::ExitCode;

use clap::Parser as _;
use toolkit_core::{ConnectorRegistry, ErrorKind};

pub use cli::{Cli, Command, LogFormat, ManifestsArgs, RunArgs};
pub use crd::{crds_yaml, make_structural, tool_spec_schema};
pub use leader::LeaderElector;
pub use manifests::{
    DEFAULT_NAMESPACE, GATEWAY, GATEWAY_PORT, GATEWAY_TOKENS, Install, METRICS_PORT, OPERATOR, default_image,
    lease_rules, manifests_yaml, operator_rules,
};
pub use metrics::Metrics;
pub use policy::{policy_resource, reconcile_policy};
pub use reconcile::{
    Context, DEFAULT_PROBE_INTERVAL, MANAGER, ReconcileError, backoff, error_policy, parse_tool, reconcile,
    tool_resource,
};
pub use registry::{parse_registry, reconcile_registry, registry_resource};
pub use run::{run as run_operator, tools_naming, tools_naming_config_map};
pub use status::{CREDENTIALS_RESOLVED, READY, VALIDATED};
pub use toolkit_kube::KubeSecrets;

/// Exit code of a failure of `kind`.
pub fn exit_code(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::Config | ErrorKind::NotFound => 3,
        _ => 1,
    }
}

/// Runs the operator command line with the connectors of this build.
pub fn run() -> ExitCode {
    run_with(toolkit_connectors::registry())
}

/// Runs the operator command line with `connectors`: a program with connectors of its own
/// reconciles Tools of its types too.
pub fn run_with(connectors: ConnectorRegistry) -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match cli.command {
        Command::Crdgen => match crds_yaml(&connectors) {
            Ok(text) => {
                print!("{text}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: render CRDs: {e}");
                ExitCode::from(1)
            }
        },
        Command::Manifests(args) => {
            let install = Install {
                namespace: args.namespace,
                image_operator: args.image_operator.unwrap_or_else(|| default_image(OPERATOR)),
                image_gateway: args.image_gateway.unwrap_or_else(|| default_image(GATEWAY)),
                grant_rbac: args.grant_rbac,
            };
            match manifests_yaml(&connectors, &install) {
                Ok(text) => {
                    print!("{text}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: render the manifests: {e}");
                    ExitCode::from(1)
                }
            }
        }
        Command::Run(args) => {
            init_tracing(cli.verbose, cli.log_format);
            let runtime = match tokio::runtime::Runtime::new() {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("error: start the async runtime: {e}");
                    return ExitCode::from(1);
                }
            };
            match runtime.block_on(run::run(args, connectors, on_signal())) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!("{}", toolkit_core::error::one_line(&e.to_string()));
                    ExitCode::from(exit_code(e.kind()))
                }
            }
        }
    }
}

/// Resolves on SIGINT or SIGTERM.
async fn on_signal() {
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
}

fn init_tracing(verbose: u8, format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let default = match verbose {
        0 => "info,kube=warn",
        1 => "debug,kube=info,hyper=info,tower=info",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_env("TOOLKIT_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(ansi);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}
