//! `toolkit tool permissions`: a tool's engine-native grants as planned from the manifest, next
//! to what the engine says is granted now; `--apply` runs the plan in `enforce` mode.

use toolkit_core::Result;
use toolkit_runtime::{Caller, Runtime};

use crate::cli::Cli;
use crate::output;

pub async fn run(cli: &Cli, rt: &Runtime, name: &str, apply: bool) -> Result<u8> {
    let reference = super::tool_ref(name)?;
    let report = rt.permissions(&Caller::local(), &reference, apply).await?;
    if output::structured(cli.output, &report)? {
        return Ok(0);
    }
    let mode = serde_json::to_value(report.mode).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
    let header = format!(
        "tool:      {}\nprincipal: {}\nmode:      {mode}{}",
        report.tool,
        report.plan.principal,
        if report.applied { " (applied)" } else { "" }
    );
    if report.plan.statements.iter().any(|s| s.contains('\n')) {
        // Manifests (Kubernetes RBAC): stdout is one YAML stream that `kubectl apply -f -`
        // takes unchanged; what is said about it goes to stderr.
        eprintln!("{header}");
        for (i, s) in report.plan.statements.iter().enumerate() {
            if i > 0 {
                println!("---");
            }
            println!("{}", s.trim_end());
        }
        let granted =
            if report.plan.current.is_empty() { "(nothing)".to_owned() } else { report.plan.current.join(", ") };
        eprintln!("granted now: {granted}");
        return Ok(0);
    }
    println!("{header}");
    {
        let mut t = output::table(&["PLANNED"]);
        for s in &report.plan.statements {
            t.add_row(vec![s.clone()]);
        }
        println!("{t}");
    }
    let mut t = output::table(&["GRANTED NOW"]);
    for s in &report.plan.current {
        t.add_row(vec![s.clone()]);
    }
    if report.plan.current.is_empty() {
        t.add_row(vec!["(nothing)".to_owned()]);
    }
    println!("{t}");
    Ok(0)
}
