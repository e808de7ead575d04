//! Runs calls of a `my-queue` tool through the full toolkit runtime (arguments checked against
//! the schema, classified, rate-limited, capped, redacted, counted and audited) and prints the
//! results and the audit records.
//!
//! ```sh
//! cargo run -p toolkit-example-custom-connector --bin queue-demo -- examples/custom-connector/manifests
//! ```

use std::path::PathBuf;

use serde_json::json;
use toolkit_core::ToolRef;
use toolkit_runtime::{Caller, LocalFolders, Runtime};
use toolkit_state::AuditFilter;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let manifests =
        PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "examples/custom-connector/manifests".into()));
    let state = std::env::temp_dir().join(format!("toolkit-queue-demo-{}", std::process::id()));
    let runtime = Runtime::builder()
        .connectors(toolkit_example_custom_connector::registry())
        .source(LocalFolders::new(vec![manifests]))
        .state_dir(&state)
        .build()
        .await?;
    for problem in runtime.catalog().all_diagnostics() {
        eprintln!("{problem}");
    }

    let tool = ToolRef::new("default", "jobs");
    let caller = Caller::new("example:queue-demo");
    let probe = runtime.probe(&tool).await?;
    println!("probe: {} ({})", probe.phase, probe.probe.server_version.unwrap_or_default());
    for arguments in [json!({"operation": "push", "message": {"job": "resize", "id": 7}}), json!({"operation": "peek"})]
    {
        let outcome = runtime.call(&caller, &tool, arguments).await?;
        println!("{}", serde_json::to_string(&outcome.output.content)?);
    }
    let refused = runtime.call(&caller, &ToolRef::new("default", "jobs-readonly"), json!({"operation": "pop"})).await;
    println!("read-only pop: {}", refused.err().map(|e| e.to_string()).unwrap_or_default());
    let popped = runtime.call(&caller, &tool, json!({"operation": "pop"})).await?;
    println!("{}", serde_json::to_string(&popped.output.content)?);

    for record in runtime
        .state()
        .audit(&AuditFilter { tool: None, limit: Some(10), ..AuditFilter::default() })
        .await?
        .iter()
        .rev()
    {
        println!(
            "audit: {} {} by {}: {} ({:?})",
            record.operation, record.tool, record.caller, record.decision, record.outcome
        );
    }
    runtime.shutdown().await;
    std::fs::remove_dir_all(&state)?;
    Ok(())
}
