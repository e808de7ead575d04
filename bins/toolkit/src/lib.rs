//! The `toolkit` CLI as a library: [`run`] parses the command line, runs the command and maps
//! its outcome to a documented exit code, so that `main` is one line and other programs can
//! embed the same commands.
//!
//! Exit codes:
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | the operation failed (upstream error, failed probe, internal error) |
//! | 2 | usage error (unknown flag, missing argument) |
//! | 3 | configuration error (invalid manifest, missing secret, bad flag value) |
//! | 4 | not found (unknown tool, session or file) |
//! | 5 | denied (credentials refused, policy, rate limit) |
//! | 6 | unreachable or timed out |
//! | 7 | invalid input (arguments that do not match the tool's schema) |
//! | 8 | unsupported by this tool type or build |

mod cli;
mod commands;
mod output;

use std::process::ExitCode;

use clap::Parser as _;
use toolkit_core::{Error, ErrorKind};

pub use cli::Cli;

/// Exit code of a failure of `kind`.
pub fn exit_code(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::Config => 3,
        ErrorKind::NotFound => 4,
        ErrorKind::Auth | ErrorKind::Denied => 5,
        ErrorKind::Unreachable | ErrorKind::Timeout => 6,
        ErrorKind::InvalidInput => 7,
        ErrorKind::Unsupported => 8,
        ErrorKind::Cancelled => 130,
        _ => 1,
    }
}

/// Runs the CLI with the process arguments and the connectors of this build.
pub fn run() -> ExitCode {
    run_with(toolkit_connectors::registry())
}

/// Runs the CLI with the process arguments and `connectors`: a program that embeds the CLI
/// registers its own connectors beside the built-in ones, and their tools then validate, list,
/// probe, call and audit like any other.
pub fn run_with(connectors: toolkit_core::ConnectorRegistry) -> ExitCode {
    let mut cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    cli.connectors = connectors;
    init_tracing(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(commands::dispatch(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            report(&e);
            ExitCode::from(exit_code(e.kind()))
        }
    }
}

fn report(e: &Error) {
    eprintln!("error: {e}");
}

fn init_tracing(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let filter = ["TOOLKIT_LOG", "RUST_LOG"]
        .into_iter()
        .find_map(|var| EnvFilter::try_from_env(var).ok())
        .unwrap_or_else(|| EnvFilter::new(default_log_filter(verbose)));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(colour(&std::io::stderr()))
        .try_init();
}

/// The log filter of `-v` given `verbose` times. Drivers log their own failures at error level
/// (a refused login, a closed channel) that the command reports anyway, in its own words; they
/// are shown from `-v` on. The target `toolkit` covers every crate of the workspace.
fn default_log_filter(verbose: u8) -> &'static str {
    match verbose {
        0 => "off,toolkit=warn",
        1 => "warn,toolkit=info",
        _ => "debug",
    }
}

/// Whether to colour what goes to `stream`: only a terminal, and not when `NO_COLOR` is set
/// (<https://no-color.org>).
pub(crate) fn colour(stream: &impl std::io::IsTerminal) -> bool {
    stream.is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::default_log_filter;
    use tracing_subscriber::EnvFilter;

    #[test]
    fn default_filter_shows_drivers_only_when_verbose() {
        for v in 0..3 {
            EnvFilter::builder().parse(default_log_filter(v)).expect("a valid filter");
        }
        assert_eq!(default_log_filter(0), "off,toolkit=warn");
        assert!(default_log_filter(1).starts_with("warn,"));
    }
}
