//! `toolkit validate`.

use std::path::PathBuf;

use serde::Serialize;
use toolkit_core::validate::{Diagnostic, Severity};
use toolkit_core::{Catalog, Result, ToolRef};

use crate::cli::Cli;
use crate::output;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Report<'a> {
    valid: bool,
    files: usize,
    tools: Vec<ToolReport<'a>>,
    diagnostics: Vec<&'a Diagnostic>,
}

#[derive(Serialize)]
struct ToolReport<'a> {
    tool: &'a ToolRef,
    valid: bool,
}

pub async fn run(cli: &Cli, paths: &[PathBuf]) -> Result<u8> {
    let catalog = catalog(cli, paths).await?;
    let diagnostics = catalog.all_diagnostics();
    let valid = !catalog.has_errors();
    let report = Report {
        valid,
        files: catalog.files.len(),
        tools: catalog.tools.iter().map(|(r, t)| ToolReport { tool: r, valid: t.is_valid() }).collect(),
        diagnostics: diagnostics.clone(),
    };
    if !output::structured(cli.output, &report)? {
        for d in &diagnostics {
            let label = match d.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Note => "note",
            };
            if d.severity == Severity::Error {
                eprintln!("{label}: {d}");
            } else {
                println!("{label}: {d}");
            }
        }
        let bad = report.tools.iter().filter(|t| !t.valid).count();
        let place = if catalog.is_cluster() {
            super::source_label(cli)
        } else {
            format!("{} file{}", report.files, if report.files == 1 { "" } else { "s" })
        };
        println!(
            "{} tool{} in {place}: {} valid, {} invalid",
            report.tools.len(),
            if report.tools.len() == 1 { "" } else { "s" },
            report.tools.len() - bad,
            bad
        );
    }
    Ok(if valid { 0 } else { 3 })
}

/// The files under `paths` (or `--tools`), or with `--kubernetes` and no paths the cluster's
/// objects.
async fn catalog(cli: &Cli, paths: &[PathBuf]) -> Result<Catalog> {
    #[cfg(feature = "kubernetes")]
    if paths.is_empty()
        && let Some(source) = super::cluster(cli).await?
    {
        return source.load(&cli.connectors).await;
    }
    let paths = if paths.is_empty() { cli.tools.clone() } else { paths.to_vec() };
    let connectors = cli.connectors.clone();
    tokio::task::spawn_blocking(move || Catalog::load(&paths, &connectors))
        .await
        .map_err(|e| toolkit_core::Error::internal("read the manifests").with_source(e))?
}
