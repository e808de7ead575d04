//! Command implementations.

mod approvals;
mod audit;
mod import;
mod permissions;
#[cfg(feature = "kubernetes")]
mod pods;
mod policy;
mod probe;
mod schema;
mod tool;
mod validate;

use toolkit_core::{Result, ToolRef};
use toolkit_runtime::{Runtime, RuntimeOptions};

use crate::cli::{Cli, Command};

/// Runs a parsed command line; returns the exit code of a run that completed.
pub async fn dispatch(cli: Cli) -> Result<u8> {
    match &cli.command {
        Command::Validate { paths } => validate::run(&cli, paths).await,
        Command::Import { files } => import::run(files, &cli.connectors),
        Command::Tool(cmd) => tool::run(&cli, cmd).await,
        Command::Audit(args) => audit::run(&cli, args).await,
        Command::Policy(cmd) => policy::run(&cli, cmd),
        Command::Approvals(cmd) => approvals::run(&cli, cmd).await,
    }
}

/// Loads the runtime from the global flags: the manifests under `--tools`, or with
/// `--kubernetes` the cluster's objects (Secrets read when a command needs them).
pub async fn load(cli: &Cli) -> Result<Runtime> {
    #[cfg(feature = "kubernetes")]
    if let Some(source) = cluster(cli).await? {
        let catalog = source.load(&cli.connectors).await?;
        return Runtime::builder()
            .catalog(catalog)
            .connectors(cli.connectors.clone())
            .secrets(std::sync::Arc::new(source.secrets().clone()))
            .state_dir(&cli.state)
            .build()
            .await;
    }
    Runtime::load(&RuntimeOptions { tools: cli.tools.clone(), state_dir: cli.state.clone() }, cli.connectors.clone())
        .await
}

/// The cluster to read, with `--kubernetes`.
#[cfg(feature = "kubernetes")]
pub async fn cluster(cli: &Cli) -> Result<Option<toolkit_kube::ClusterSource>> {
    if !cli.kubernetes {
        return Ok(None);
    }
    let client = toolkit_kube::connect().await?;
    Ok(Some(toolkit_kube::ClusterSource::new(client, cli.namespace.clone())))
}

/// Where the catalog was read, for messages: the `--tools` paths or the cluster.
pub fn source_label(cli: &Cli) -> String {
    #[cfg(feature = "kubernetes")]
    if cli.kubernetes {
        return match &cli.namespace {
            Some(ns) => format!("namespace {ns} of the cluster"),
            None => "the cluster".to_owned(),
        };
    }
    cli.tools.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
}

/// Parses `NAME` or `NAMESPACE/NAME`.
pub fn tool_ref(name: &str) -> Result<ToolRef> {
    name.parse()
}
