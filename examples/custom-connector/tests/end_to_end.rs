//! The `my-queue` connector, registered from outside toolkit, end to end: through the runtime,
//! through the CLI built with it, and over MCP through the gateway built with it.

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use serde_json::{Value, json};
use toolkit_core::connector::{BuildContext, NoTools};
use toolkit_core::{ErrorKind, Tool, ToolRef, ToolSpec};
use toolkit_example_custom_connector::{QueueConnector, TYPE, registry};
use toolkit_runtime::{Caller, Decision, LocalFolders, Refusal, Runtime};
use toolkit_state::AuditFilter;

/// A copy of the example's manifests with an empty queue folder.
fn manifests() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests/queue.yaml");
    std::fs::copy(source, dir.path().join("queue.yaml")).unwrap();
    std::fs::create_dir(dir.path().join("spool")).unwrap();
    dir
}

#[tokio::test]
async fn the_runtime_loads_validates_probes_calls_and_audits_it() {
    let dir = manifests();
    let runtime = Runtime::builder()
        .connectors(registry())
        .source(LocalFolders::new(vec![dir.path().to_owned()]))
        .state_dir(&dir.path().join("state"))
        .build()
        .await
        .unwrap();
    assert!(!runtime.catalog().has_errors(), "{:?}", runtime.catalog().all_diagnostics());
    let listing = runtime.list().await.unwrap();
    let jobs = listing.iter().find(|l| l.tool.name == "jobs").unwrap();
    assert!(jobs.served && jobs.type_ == TYPE, "{jobs:?}");

    let tool = ToolRef::new("default", "jobs");
    let probe = runtime.probe(&tool).await.unwrap();
    assert!(probe.probe.ok, "{probe:?}");

    let caller = Caller::new("test:queue");
    let pushed = runtime.call(&caller, &tool, json!({"operation": "push", "message": {"n": 1}})).await.unwrap();
    assert_eq!(pushed.output.content["depth"], 1);
    let peeked = runtime.call(&caller, &tool, json!({"operation": "peek"})).await.unwrap();
    assert_eq!(peeked.output.content["message"], json!({"n": 1}));
    // The default schema is checked before the connector sees the call.
    let err = runtime.call(&caller, &tool, json!({"operation": "drop"})).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");

    // The connector classifies `pop` as a write: the read-only tool refuses it in the pipeline.
    let read_only = ToolRef::new("default", "jobs-readonly");
    let err = runtime.call(&caller, &read_only, json!({"operation": "pop"})).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Denied, "{err}");
    runtime.call(&caller, &read_only, json!({"operation": "depth"})).await.unwrap();

    // A person's command goes through the same steps and is audited the same way.
    let out = runtime.exec(&caller, &tool, &["depth".to_owned()]).await.unwrap();
    assert_eq!(out.content["depth"], 1);

    let records = runtime.state().audit(&AuditFilter::default()).await.unwrap();
    let decisions: Vec<(&str, &str, &Decision)> =
        records.iter().rev().map(|r| (r.tool.name.as_str(), r.operation.as_str(), &r.decision)).collect();
    assert_eq!(
        decisions,
        [
            ("jobs", "probe", &Decision::Allowed),
            ("jobs", "call", &Decision::Allowed),
            ("jobs", "call", &Decision::Allowed),
            ("jobs", "call", &Decision::denied(Refusal::Arguments)),
            (
                "jobs-readonly",
                "call",
                &Decision::Denied { refusal: Refusal::Policy, reasons: vec!["`pop` changes the queue".into()] }
            ),
            ("jobs-readonly", "call", &Decision::Allowed),
            ("jobs", "exec", &Decision::Allowed),
        ]
    );
    runtime.shutdown().await;
}

#[tokio::test]
async fn its_config_is_checked_and_its_capabilities_hold() {
    let connectors = registry();
    let mut catalog = toolkit_core::Catalog::with_formats(connectors.formats().to_vec());
    catalog.add_text(
        Path::new("q.yaml"),
        "apiVersion: toolkit.dev/v1alpha1\nkind: Tool\nmetadata: {name: q}\nspec: {type: my-queue, config: {foldr: x}}\n\
         ---\napiVersion: toolkit.dev/v1alpha1\nkind: Tool\nmetadata: {name: r}\nspec: {type: your-queue}\n",
    );
    catalog.validate(&connectors);
    let problems: Vec<String> = catalog.all_diagnostics().iter().map(ToString::to_string).collect();
    assert!(
        problems.iter().any(|p| p.ends_with("spec.config.foldr: unknown field; did you mean `folder`?")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("tool type `your-queue` is not in this build; compiled in: ") && p.contains(TYPE)),
        "{problems:?}"
    );

    let folder = tempfile::tempdir().unwrap();
    let spec: ToolSpec = serde_json::from_value(json!({
        "type": TYPE, "readOnly": true, "config": {"folder": folder.path()}
    }))
    .unwrap();
    let tool = Tool::new("q", spec.clone());
    let instance = toolkit_core::Connector::build(
        &QueueConnector,
        BuildContext {
            tool: Arc::new(tool),
            namespace: "default".into(),
            name: "q".into(),
            secrets: Arc::new(toolkit_core::secret::SecretStore::default()),
            config_maps: Arc::new(toolkit_core::manifest::ConfigMaps::default()),
            tools: Arc::new(NoTools),
        },
    )
    .unwrap();
    toolkit_testkit::behaviour::check_capabilities(&QueueConnector, instance.as_ref(), &spec).await;
}

fn run(bin: &str, dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(bin)
        .args(["--tools", &dir.display().to_string(), "--state", &dir.join("state").display().to_string()])
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_cli_built_with_it_validates_lists_probes_calls_and_audits() {
    let dir = manifests();
    let cli = env!("CARGO_BIN_EXE_queue-toolkit");
    let (code, out, err) = run(cli, dir.path(), &["validate"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, _) = run(cli, dir.path(), &["tool", "list", "-o", "json"]);
    assert_eq!(code, 0);
    let list: Value = serde_json::from_str(&out).unwrap();
    assert!(list.as_array().unwrap().iter().any(|t| t["type"] == TYPE && t["served"] == true), "{list}");
    let (code, out, err) = run(cli, dir.path(), &["tool", "probe", "jobs", "-o", "json"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = run(
        cli,
        dir.path(),
        &["tool", "call", "jobs", "--args", r#"{"operation": "push", "message": "x"}"#, "-o", "json"],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("\"pushed\""), "{out}");
    let (code, out, err) =
        run(cli, dir.path(), &["tool", "call", "jobs-readonly", "--args", r#"{"operation": "pop"}"#]);
    assert_eq!(code, 5, "a read-only pop is denied: {out}{err}");
    let (code, out, _) = run(cli, dir.path(), &["audit", "-o", "json"]);
    assert_eq!(code, 0);
    let audit: Value = serde_json::from_str(&out).unwrap();
    let first = &audit.as_array().unwrap()[0];
    assert_eq!((&first["tool"]["name"], &first["decisionDetail"]["kind"]), (&json!("jobs-readonly"), &json!("denied")));
}

#[test]
fn the_gateway_built_with_it_serves_its_tools_over_mcp() {
    let dir = manifests();
    let mut child = Command::new(env!("CARGO_BIN_EXE_queue-gateway"))
        .args([
            "--tools",
            &dir.path().display().to_string(),
            "--state",
            &dir.path().join("state").display().to_string(),
        ])
        .arg("--stdio")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut send = |message: Value| writeln!(&mut stdin, "{message}").unwrap();
    let mut reply = |id: i64| -> Value {
        loop {
            let mut line = String::new();
            assert!(stdout.read_line(&mut line).unwrap() > 0, "the gateway closed stdout");
            let v: Value = serde_json::from_str(&line).unwrap();
            if v["id"] == id {
                return v;
            }
        }
    };
    send(json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "e2e", "version": "1"}}}));
    assert!(reply(1)["result"]["serverInfo"].is_object());
    send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    send(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}));
    let tools = reply(2)["result"]["tools"].clone();
    let jobs = tools.as_array().unwrap().iter().find(|t| t["name"] == "jobs").cloned().expect("jobs is listed");
    assert_eq!(jobs["inputSchema"]["required"], json!(["operation"]));
    send(json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {
        "name": "jobs", "arguments": {"operation": "push", "message": {"via": "mcp"}}}}));
    let result = reply(3)["result"].clone();
    assert_eq!(result["isError"], json!(false), "{result}");
    assert_eq!(result["structuredContent"]["depth"], 1, "{result}");
    // Closing stdin ends the session and the gateway.
    drop(child.stdin.take());
    let _ = child.kill();
    let _ = child.wait();
    let messages: Vec<PathBuf> =
        std::fs::read_dir(dir.path().join("spool")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(messages.len(), 1, "{messages:?}");
}
