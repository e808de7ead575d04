//! Command implementations.

mod approvals;
mod audit;
mod import;
mod permissions;
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
        Command::Validate { paths } => validate::run(&cli, paths),
        Command::Import { files } => import::run(files, &cli.connectors),
        Command::Tool(cmd) => tool::run(&cli, cmd).await,
        Command::Audit(args) => audit::run(&cli, args).await,
        Command::Policy(cmd) => policy::run(&cli, cmd),
        Command::Approvals(cmd) => approvals::run(&cli, cmd).await,
    }
}

/// Loads the runtime from the global flags.
pub async fn load(cli: &Cli) -> Result<Runtime> {
    Runtime::load(&RuntimeOptions { tools: cli.tools.clone(), state_dir: cli.state.clone() }, cli.connectors.clone())
        .await
}

/// Parses `NAME` or `NAMESPACE/NAME`.
pub fn tool_ref(name: &str) -> Result<ToolRef> {
    name.parse()
}
