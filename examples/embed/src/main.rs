//! Embeds toolkit in another program, without the CLI or the runtime: load a folder of
//! manifests, pick a tool, build its connector instance (credentials are resolved from the
//! catalog's Secrets when first needed), probe it and invoke it.
//!
//! ```sh
//! cargo run -p toolkit-example-embed -- examples/tools customers "select name from customers"
//! ```

use std::path::PathBuf;
use std::sync::Arc;

use toolkit_core::connector::{BuildContext, Invocation};
use toolkit_core::{Catalog, ToolRef};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let folder = PathBuf::from(args.next().unwrap_or_else(|| "examples/tools".into()));
    let name: ToolRef = args.next().unwrap_or_else(|| "customers".into()).parse()?;
    let query = args.next().unwrap_or_else(|| "select count(*) as customers from customers".into());

    // Only the connectors compiled in (here: sqlite and the builtins) are known; tools of other
    // types load but report that their type is not in this build.
    let connectors = toolkit_connectors::registry();
    let catalog = Catalog::load(&[folder], &connectors)?;
    let loaded = catalog.get(&name)?;
    if let Some(problem) = loaded.first_error() {
        return Err(problem.to_string().into());
    }
    let tool = loaded.tool.clone().ok_or("tool did not parse")?;

    let connector = connectors.get(tool.spec.type_)?;
    let instance = connector.build(BuildContext {
        tool: tool.clone(),
        namespace: name.namespace.clone(),
        name: name.name.clone(),
        secrets: Arc::new(catalog.secrets.clone()),
        config_maps: Arc::new(catalog.config_maps.clone()),
    })?;

    if let Some(probe) = instance.probe() {
        let report = probe.probe().await?;
        println!("probe ok: {}", report.server_version.unwrap_or_default());
    }
    let invoker = instance.invoker().ok_or("this tool type has no invoke")?;
    let mut call = Invocation::default();
    call.arguments.insert("query".into(), query.into());
    let out = invoker.invoke(call).await?;
    println!("{}", serde_json::to_string_pretty(&out.content)?);
    instance.shutdown().await;
    Ok(())
}
