//! Approvals in the call pipeline: a call that needs approval waits while another task, with its
//! own handle on the state directory like a second process, approves or rejects it; a call
//! nobody decides times out; reads run at once and blocked calls never wait. Every outcome is
//! in the audit log.

use std::path::Path;
use std::time::Duration;

use serde_json::json;
use toolkit_core::{ErrorKind, ToolRef};
use toolkit_runtime::{Caller, Runtime, RuntimeOptions};
use toolkit_state::{ApprovalRecord, ApprovalState, AuditFilter, StateStore};

fn tools(db: &Path) -> String {
    format!(
        "apiVersion: toolkit.dev/v1alpha1
kind: Tool
metadata: {{name: db}}
spec:
  type: sqlite
  config: {{path: '{}'}}
  approval: {{required: auto, timeout: 30s}}
---
apiVersion: toolkit.dev/v1alpha1
kind: Tool
metadata: {{name: quick}}
spec:
  type: builtin
  builtin: {{name: noop}}
  approval: {{required: always}}
---
apiVersion: toolkit.dev/v1alpha1
kind: Tool
metadata: {{name: lenient}}
spec:
  type: builtin
  builtin: {{name: noop}}
  approval: {{required: always, onTimeout: proceed}}
---
apiVersion: toolkit.dev/v1alpha1
kind: ApprovalPolicy
metadata: {{name: default}}
spec:
  approvalTimeout: 1s
  blockedPatterns: ['drop table customers']
",
        db.display()
    )
}

async fn setup(dir: &tempfile::TempDir) -> (Runtime, StateStore) {
    let db = dir.path().join("demo.db");
    std::fs::copy(Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/data/demo.db"), &db).unwrap();
    std::fs::write(dir.path().join("tools.yaml"), tools(&db)).unwrap();
    let state_dir = dir.path().join("state");
    let rt = Runtime::load(
        &RuntimeOptions { tools: vec![dir.path().join("tools.yaml")], state_dir: state_dir.clone() },
        toolkit_connectors::registry(),
    )
    .await
    .unwrap();
    let other = StateStore::open(&state_dir).await.unwrap();
    (rt, other)
}

/// Waits for the one pending request, as `toolkit approvals list` would see it.
async fn pending(state: &StateStore) -> ApprovalRecord {
    for _ in 0..100 {
        if let Some(r) = state.approvals(false).await.unwrap().into_iter().next() {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no pending approval showed up");
}

async fn decisions(rt: &Runtime, tool: &str) -> Vec<String> {
    let filter = AuditFilter { tool: Some(ToolRef::new("default", tool)), limit: None, ..AuditFilter::default() };
    let mut records = rt.state().audit(&filter).await.unwrap();
    records.reverse();
    records.into_iter().map(|r| r.decision.to_string()).collect()
}

#[tokio::test]
async fn approve_reject_and_time_out_across_state_handles() {
    let dir = tempfile::tempdir().unwrap();
    let (rt, approver) = setup(&dir).await;
    let agent = Caller::new("mcp:agent");
    let db = ToolRef::new("default", "db");

    // A read runs at once.
    rt.call(&agent, &db, json!({"query": "select count(*) from customers"})).await.unwrap();
    // A blocked pattern never waits.
    let blocked = rt.call(&agent, &db, json!({"query": "drop table customers"})).await.unwrap_err();
    assert_eq!(blocked.kind(), ErrorKind::Denied);
    assert!(blocked.to_string().contains("blocked"), "{blocked}");

    // A write waits; the caller cannot approve itself; someone else approves.
    let write = json!({"query": "update customers set name = 'Ada' where id = 1"});
    let call = tokio::spawn({
        let (rt, agent, db, write) = (rt.clone(), agent.clone(), db.clone(), write.clone());
        async move { rt.call(&agent, &db, write).await }
    });
    let request = pending(&approver).await;
    assert_eq!((request.caller.as_str(), request.class.as_str()), ("mcp:agent", "write"));
    assert_eq!(request.arguments, write);
    let own = approver.decide_approval(request.id, true, "mcp:agent", None).await.unwrap_err();
    assert_eq!(own.kind(), ErrorKind::Denied);
    approver.decide_approval(request.id, true, "local:alice", None).await.unwrap();
    call.await.unwrap().expect("approved call runs");

    // Rejected: denied with the reason.
    let call = tokio::spawn({
        let (rt, agent, db) = (rt.clone(), agent.clone(), db.clone());
        async move { rt.call(&agent, &db, json!({"query": "delete from customers where id = 2"})).await }
    });
    let request = pending(&approver).await;
    approver.decide_approval(request.id, false, "local:bob", Some("not in prod")).await.unwrap();
    let err = call.await.unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Denied);
    assert!(err.to_string().contains("not in prod"), "{err}");

    let d = decisions(&rt, "db").await;
    assert_eq!(d[0], "auto-approved (read)");
    assert!(d[1].starts_with("blocked: "), "{d:?}");
    assert_eq!(d[2..], ["approved by local:alice", "rejected by local:bob: not in prod"]);

    // Nobody decides: the policy's 1s timeout refuses the call, and the request is expired.
    let quick = ToolRef::new("default", "quick");
    let err = rt.call(&agent, &quick, json!({})).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Denied);
    assert_eq!(decisions(&rt, "quick").await, ["timed out"]);
    let all = approver.approvals(true).await.unwrap();
    assert_eq!(all[0].state, ApprovalState::Expired);
    assert_eq!(all[0].tool, quick);

    // onTimeout: proceed runs the call after the timeout.
    let lenient = ToolRef::new("default", "lenient");
    rt.call(&agent, &lenient, json!({"a": 1})).await.expect("proceeds after the timeout");
    assert_eq!(decisions(&rt, "lenient").await, ["timed out, proceeded (onTimeout: proceed)"]);
}

#[tokio::test]
async fn a_cancelled_call_withdraws_its_request() {
    let dir = tempfile::tempdir().unwrap();
    let (rt, approver) = setup(&dir).await;
    let agent = Caller::new("mcp:agent");
    let db = ToolRef::new("default", "db");
    let (cancel, cancelled) = tokio::sync::oneshot::channel::<()>();
    let call = tokio::spawn({
        let (rt, agent, db) = (rt.clone(), agent.clone(), db.clone());
        async move {
            let write = json!({"query": "update customers set name = 'Ada' where id = 1"});
            rt.call_until(&agent, &db, write, async {
                let _ = cancelled.await;
            })
            .await
        }
    });
    let request = pending(&approver).await;
    cancel.send(()).unwrap();
    let err = call.await.unwrap().unwrap_err();
    assert!(err.to_string().contains("cancel"), "{err}");
    let mut state = ApprovalState::Pending;
    for _ in 0..100 {
        state = approver.approval(request.id).await.unwrap().unwrap().state;
        if state != ApprovalState::Pending {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(state, ApprovalState::Expired, "the request of a cancelled call is still pending");
    let late = approver.decide_approval(request.id, true, "local:alice", None).await.unwrap_err();
    assert_eq!(late.kind(), ErrorKind::InvalidInput, "{late}");
}
