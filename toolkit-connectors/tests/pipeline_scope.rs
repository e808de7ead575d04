//! The caller's scope in the call pipeline: a tool outside it is refused exactly like a tool
//! that is not declared, the refusal is audited, and it is counted nowhere.

use std::sync::Arc;

use serde_json::json;
use toolkit_core::{ErrorKind, ToolRef};
use toolkit_runtime::{Caller, Runtime, RuntimeOptions, Scope};
use toolkit_state::AuditFilter;

const TOOLS: &str = "apiVersion: toolkit.dev/v1alpha1
kind: Tool
metadata: {name: echo}
spec: {type: builtin, builtin: {name: noop}}
---
apiVersion: toolkit.dev/v1alpha1
kind: Tool
metadata: {name: echo, namespace: prod}
spec: {type: builtin, builtin: {name: noop}}
";

async fn runtime(dir: &tempfile::TempDir) -> Runtime {
    std::fs::write(dir.path().join("tools.yaml"), TOOLS).unwrap();
    let options = RuntimeOptions { tools: vec![dir.path().join("tools.yaml")], state_dir: dir.path().join("state") };
    Runtime::load(&options, toolkit_connectors::registry()).await.unwrap()
}

#[tokio::test]
async fn a_tool_outside_the_scope_looks_undeclared_and_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(&dir).await;
    let scope = Scope::new(Some(&["default".to_owned()]), None).unwrap();
    let caller = Caller::scoped("token:ci", Arc::new(scope));

    let ok = rt.call(&caller, &ToolRef::new("default", "echo"), json!({"a": 1})).await.unwrap();
    assert_eq!(ok.output.content, json!({"a": 1}));

    let hidden = rt.call(&caller, &ToolRef::new("prod", "echo"), json!({})).await.unwrap_err();
    let missing = rt.call(&caller, &ToolRef::new("prod", "nothing"), json!({})).await.unwrap_err();
    assert_eq!(hidden.kind(), ErrorKind::NotFound);
    assert_eq!(missing.kind(), ErrorKind::NotFound);
    assert_eq!(hidden.to_string().replace("prod/echo", "X"), missing.to_string().replace("prod/nothing", "X"));
    assert!(!hidden.to_string().contains("did you mean"), "{hidden}");

    // An unscoped caller still hears of same-named tools.
    let local = rt.call(&Caller::new("local:me"), &ToolRef::new("staging", "echo"), json!({})).await.unwrap_err();
    assert!(local.to_string().contains("did you mean"), "{local}");

    let audit = rt
        .state()
        .audit(&AuditFilter { tool: Some(ToolRef::new("prod", "echo")), limit: None, ..AuditFilter::default() })
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].caller, "token:ci");
    assert_eq!(audit[0].decision, toolkit_state::Decision::denied(toolkit_state::Refusal::Scope));
    let statuses = rt.state().statuses().await.unwrap();
    assert!(!statuses.contains_key(&ToolRef::new("prod", "echo")), "a refusal by scope is not counted as a call");
    assert_eq!(statuses[&ToolRef::new("default", "echo")].invocation_count, 1);
}

#[tokio::test]
async fn rate_limits_survive_a_new_runtime_on_the_same_limiter() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = "apiVersion: toolkit.dev/v1alpha1\nkind: Tool\nmetadata: {name: limited}\n\
                    spec: {type: builtin, builtin: {name: noop}, rateLimit: {requestsPerMinute: 1, burst: 2}}\n";
    std::fs::write(dir.path().join("tools.yaml"), manifest).unwrap();
    let paths = vec![dir.path().join("tools.yaml")];
    let state = toolkit_state::StateStore::open(&dir.path().join("state")).await.unwrap();
    let limiter: Arc<dyn toolkit_runtime::RateLimiter> = Arc::new(toolkit_runtime::MemoryRateLimiter::new());
    let load = || async {
        let connectors = toolkit_connectors::registry();
        let catalog = toolkit_core::Catalog::load(&paths, &connectors).unwrap();
        Runtime::builder()
            .catalog(catalog)
            .connectors(connectors)
            .state(state.clone())
            .rate_limiter(limiter.clone())
            .build()
            .await
            .unwrap()
    };
    let tool = ToolRef::new("default", "limited");
    let caller = Caller::new("test");
    let first = load().await;
    first.call(&caller, &tool, json!({})).await.unwrap();
    first.call(&caller, &tool, json!({})).await.unwrap();
    let reloaded = load().await;
    let refused = reloaded.call(&caller, &tool, json!({})).await.unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Denied);
    let wait = toolkit_runtime::retry_after(&refused).expect("retry_after_ms in the error");
    assert!(wait.as_secs() <= 60 && wait.as_secs() >= 25, "{wait:?}");
    assert!(refused.to_string().contains("retry in"), "{refused}");
}

#[tokio::test]
async fn exec_outside_the_scope_is_refused_and_audited() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(&dir).await;
    let caller = Caller::scoped("token:ci", Arc::new(Scope::none()));
    let err = rt.exec(&caller, &ToolRef::new("default", "echo"), &["x".to_owned()]).await.unwrap_err();
    assert_eq!((err.kind(), err.to_string()), (ErrorKind::NotFound, "tool default/echo is not declared".to_owned()));
    let audit = rt.state().audit(&AuditFilter::default()).await.unwrap();
    assert_eq!(
        (audit[0].operation.as_str(), audit[0].decision.to_string().as_str()),
        ("exec", "denied: outside the caller's scope")
    );
}
