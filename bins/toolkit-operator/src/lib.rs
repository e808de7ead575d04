//! The Kubernetes operator. Reconciling `Tool` and `ToolRegistry` is not built yet; what exists
//! is `crdgen`, which prints the CustomResourceDefinitions generated from the Rust types and the
//! connectors compiled in (the checked-in copy is `deploy/crds.yaml`, and CI fails when it
//! drifts).

mod crd;

use std::process::ExitCode;

pub use crd::{crds_yaml, make_structural, tool_spec_schema};

/// Runs the operator command line: `crdgen`, or a note that reconciling is not built yet.
pub fn run() -> ExitCode {
    match std::env::args().nth(1).as_deref() {
        Some("crdgen") => match crds_yaml(&toolkit_connectors::registry()) {
            Ok(text) => {
                print!("{text}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: render CRDs: {e}");
                ExitCode::from(1)
            }
        },
        Some("-h" | "--help") | None => {
            println!(
                "toolkit-operator: reconciles Tool and ToolRegistry in Kubernetes (not built yet).\n\nUsage: toolkit-operator crdgen   print the CustomResourceDefinitions"
            );
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!("error: unknown command `{other}`; the operator is not built yet, only `crdgen` is available");
            ExitCode::from(8)
        }
    }
}
