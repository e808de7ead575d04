//! The command line.

use std::net::SocketAddr;

use clap::{Args, Parser, Subcommand, ValueEnum};
use toolkit_core::duration::Duration;

/// The toolkit operator: validates, resolves and probes Tools in Kubernetes and reports their
/// status; prints the CRDs.
#[derive(Debug, Parser)]
#[command(name = "toolkit-operator", version, after_help = AFTER_HELP)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,

    /// Log format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,

    /// More log output (-v debug, -vv trace); TOOLKIT_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
}

const AFTER_HELP: &str = "The cluster is the one of KUBECONFIG (or ~/.kube/config), else the pod's service account.\n\
Exit codes: 0 ok, 1 failed, 2 usage, 3 configuration (no cluster reachable, address in use).";

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the CustomResourceDefinitions (deploy/crds.yaml) for the connectors compiled in.
    Crdgen,
    /// Print everything an install needs (CRDs, ServiceAccounts, RBAC, Deployments, a
    /// Service) for `kubectl apply --server-side -f -`.
    Manifests(ManifestsArgs),
    /// Reconcile Tools, ToolRegistries and ApprovalPolicies until SIGINT or SIGTERM.
    Run(RunArgs),
}

/// `toolkit-operator run`.
#[derive(Clone, Debug, Args)]
pub struct RunArgs {
    /// Watch the resources of this namespace only (and read Secrets there only); all when
    /// omitted.
    #[arg(long, short = 'n', env = "TOOLKIT_NAMESPACE")]
    pub namespace: Option<String>,

    /// Where `/metrics`, `/healthz` and `/readyz` are served.
    #[arg(long, default_value = "0.0.0.0:8080")]
    pub metrics_addr: SocketAddr,

    /// The Lease replicas contend for; one of them reconciles.
    #[arg(long, default_value = "toolkit-operator")]
    pub lease_name: String,

    /// The Lease's namespace: the pod's (POD_NAMESPACE), else `default`.
    #[arg(long, env = "POD_NAMESPACE", default_value = "default")]
    pub lease_namespace: String,

    /// Who this replica is in the Lease and in Events: the pod's name (POD_NAME), else the
    /// host name and process id.
    #[arg(long, env = "POD_NAME")]
    pub identity: Option<String>,

    /// How long the Lease holds without renewal; a follower takes over after it.
    #[arg(long, default_value = "15s")]
    pub lease_duration: Duration,

    /// How often the leader deletes the bastion pods whose session Lease was not renewed for
    /// the tool's idle timeout.
    #[arg(long, default_value = "30s")]
    pub reap_interval: Duration,

    /// Where to record each probe (its history and an audit record) and each permissions apply:
    /// a directory (SQLite) or a `postgres://` URL, the state gateways and CLIs share. Nothing
    /// is recorded without it; the Tools' status is written either way.
    #[arg(long, env = "TOOLKIT_STATE", value_name = "DIR|URL")]
    pub state: Option<std::path::PathBuf>,
}

/// `toolkit-operator manifests`.
#[derive(Clone, Debug, Args)]
pub struct ManifestsArgs {
    /// Namespaced mode: install into this existing namespace and reconcile Tools there only,
    /// with Roles only (nothing cluster-scoped but the CRDs). Without it: cluster mode, in
    /// `toolkit-system`, reconciling every namespace.
    #[arg(long, short = 'n')]
    pub namespace: Option<String>,

    /// The operator's image; `ghcr.io/toolkit-dev/toolkit-operator:<version>` by default.
    #[arg(long, value_name = "IMAGE")]
    pub image_operator: Option<String>,

    /// The gateway's image; `ghcr.io/toolkit-dev/toolkit-gateway:<version>` by default.
    #[arg(long, value_name = "IMAGE")]
    pub image_gateway: Option<String>,

    /// Let the operator apply the RBAC plans of kubernetes tools in `enforce` mode that
    /// connect as the operator itself (no token of their own): create, patch and delete
    /// ServiceAccounts, Roles, RoleBindings (and, in cluster mode, ClusterRoles and
    /// ClusterRoleBindings), with `bind` and `escalate` to grant what it does not hold. Without
    /// it those tools report PermissionsApplied False (PermissionDenied).
    #[arg(long)]
    pub grant_rbac: bool,
}

/// Log formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One readable line per event.
    Text,
    /// One JSON object per line.
    Json,
}
