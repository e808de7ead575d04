//! Embeds toolkit in another program through the runtime: load a folder of manifests with the
//! connectors this program compiles in (here: sqlite and the builtins), then probe a tool and
//! call it through the same pipeline the CLI and the gateway use, so the call gets its caps,
//! redaction, counting and audit record. Credentials are resolved from the Secrets beside the
//! manifests when first needed.
//!
//! ```sh
//! cargo run -p toolkit-example-embed -- examples/tools customers "select name from customers"
//! ```

use std::path::PathBuf;

use toolkit_core::ToolRef;
use toolkit_runtime::{Caller, LocalFolders, Runtime};
use toolkit_state::AuditFilter;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let folder = PathBuf::from(args.next().unwrap_or_else(|| "examples/tools".into()));
    let name: ToolRef = args.next().unwrap_or_else(|| "customers".into()).parse()?;
    let query = args.next().unwrap_or_else(|| "select count(*) as customers from customers".into());
    let state = tempfile_dir()?;

    // Tools of types this build lacks load too, and say that their type is not compiled in.
    let runtime = Runtime::builder()
        .connectors(toolkit_connectors::registry())
        .source(LocalFolders::new(vec![folder]))
        .state_dir(&state)
        .build()
        .await?;

    let probe = runtime.probe(&name).await?;
    println!("probe: {} ({:.1} ms)", probe.phase, probe.probe.latency_ms);

    let caller = Caller::new("example:embed");
    let outcome = runtime.call(&caller, &name, serde_json::json!({ "query": query })).await?;
    println!("{}", serde_json::to_string_pretty(&outcome.output.content)?);

    let filter = AuditFilter { tool: Some(name.clone()), limit: Some(1), ..AuditFilter::default() };
    if let Some(record) = runtime.state().audit(&filter).await?.first() {
        println!("audited: {} {} by {}: {}", record.operation, record.tool, record.caller, record.decision);
    }
    runtime.shutdown().await;
    std::fs::remove_dir_all(&state)?;
    Ok(())
}

/// A fresh state directory for this run.
fn tempfile_dir() -> std::io::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("toolkit-embed-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
