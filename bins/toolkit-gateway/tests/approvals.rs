//! Approvals end to end: the official MCP Python SDK (`tests/e2e/approvals.py`) calls tools that
//! need approval through the gateway over HTTP and waits, while this test, as the operators,
//! decides the pending requests in the state store the gateway shares (as `toolkit approvals`
//! does from another process): one approved, one rejected with a reason, one left to time out.
//! The caller cannot decide its own call, the client hears the wait as progress, and every
//! decision is in the audit log.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::process::Running;
use common::{Fixture, GUARDED, next_pending, python_sdk};
use toolkit_state::{ApprovalState, AuditFilter, StateStore};

/// The MCP caller of the Python client (`mcp:<client name>` without tokens).
const CALLER: &str = "mcp:e2e-approvals";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_client_waits_for_approve_reject_and_timeout() {
    if !python_sdk() {
        return;
    }
    let fixture = Fixture::new();
    fixture.write("guarded.yaml", GUARDED);
    let gateway = Running::start(&fixture, &[]);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/approvals.py");
    let client = Command::new("python3")
        .arg(script)
        .args(["--http", &gateway.url()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let state = StateStore::open(&fixture.state).await.unwrap();

    // The first call waits; its own caller cannot wave it through, an operator can.
    let first = next_pending(&state, 0).await;
    assert_eq!((first.tool.name.as_str(), first.caller.as_str()), ("guarded", CALLER), "{first:?}");
    assert_eq!(first.arguments, serde_json::json!({"n": 1}));
    let own = state.decide_approval(first.id, true, CALLER, None).await.unwrap_err();
    assert!(own.to_string().contains("own call"), "{own}");
    state.decide_approval(first.id, true, "local:alice", None).await.unwrap();

    // The second is rejected with a reason the agent gets to read.
    let second = next_pending(&state, first.id).await;
    assert_eq!(second.arguments, serde_json::json!({"n": 2}));
    state.decide_approval(second.id, false, "local:bob", Some("not during the freeze")).await.unwrap();

    // The third is left alone: it lapses after 2 s and fails closed.
    let third = next_pending(&state, second.id).await;
    assert_eq!(third.tool.name, "hasty");

    let out = tokio::task::spawn_blocking(move || client.wait_with_output()).await.unwrap().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "python client failed:\n{stdout}\n{}\ngateway log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        gateway.log()
    );
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    let results = report["results"].as_array().unwrap();
    assert_eq!(results[0]["isError"], false, "{results:?}");
    // The waits were told as progress, naming the request and how to decide it.
    let heard = results[0]["progress"].as_array().unwrap();
    let expected = format!("waiting for approval {}: `toolkit approvals approve {}`", first.id, first.id);
    assert!(heard.iter().any(|m| m.as_str().is_some_and(|m| m.starts_with(&expected))), "{heard:?}");
    assert_eq!(results[1]["isError"], true, "{results:?}");
    let rejected = results[1]["text"].as_str().unwrap();
    assert!(rejected.contains("rejected by local:bob") && rejected.contains("not during the freeze"), "{rejected}");
    assert_eq!(results[2]["isError"], true, "{results:?}");
    assert!(results[2]["text"].as_str().unwrap().contains("not decided within 2s"), "{results:?}");

    let decided = state.approvals(true).await.unwrap();
    let state_of = |id: i64| decided.iter().find(|r| r.id == id).map(|r| r.state);
    assert_eq!(state_of(first.id), Some(ApprovalState::Approved));
    assert_eq!(state_of(second.id), Some(ApprovalState::Rejected));
    assert_eq!(state_of(third.id), Some(ApprovalState::Expired));

    // The audit log holds each decision with the caller who asked.
    let deadline = Instant::now() + Duration::from_secs(10);
    let audit = loop {
        let audit = state.audit(&AuditFilter::default()).await.unwrap();
        if audit.iter().filter(|r| r.operation == "call").count() >= 3 || Instant::now() > deadline {
            break audit;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let decisions: Vec<String> =
        audit.iter().filter(|r| r.operation == "call" && r.caller == CALLER).map(|r| r.decision.to_string()).collect();
    for expected in ["approved by local:alice", "rejected by local:bob: not during the freeze", "timed out"] {
        assert!(decisions.iter().any(|d| d.contains(expected)), "no audit record says {expected:?}: {decisions:?}");
    }
}

/// A decision is bound to the exact call: the request keeps the hash of the tool and its
/// arguments, and a call whose request was changed while it waited (here, its arguments
/// rewritten in the database so that an approver saw another call) is refused even when
/// approved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decision_applies_to_the_call_that_was_asked_only() {
    let fixture = Fixture::new();
    fixture.write("guarded.yaml", GUARDED);
    let gateway = Running::start(&fixture, &["--stateless"]);
    let state = StateStore::open(&fixture.state).await.unwrap();
    let addr = gateway.addr;
    let call = |n: i64| {
        std::thread::spawn(move || {
            let params = serde_json::json!({"name": "guarded", "arguments": {"n": n}});
            common::process::mcp_request(addr, None, "tools/call", params).json()
        })
    };

    let honest = call(1);
    let asked = next_pending(&state, 0).await;
    let expected = toolkit_state::call_hash(&asked.tool, &serde_json::json!({"n": 1}));
    assert_eq!(asked.call_hash.as_deref(), Some(expected.as_str()));
    state.decide_approval(asked.id, true, "local:alice", None).await.unwrap();
    let answer = tokio::task::spawn_blocking(move || honest.join().unwrap()).await.unwrap();
    assert_eq!(answer["result"]["isError"], false, "{answer}");

    let swapped = call(2);
    let asked = next_pending(&state, asked.id).await;
    let shown = serde_json::json!({"n": 0});
    let forged = toolkit_state::call_hash(&asked.tool, &shown);
    let db = fixture.state.join("state.db");
    let sql = format!("UPDATE approvals SET arguments = '{shown}', call_hash = '{forged}' WHERE id = {}", asked.id);
    let script = "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute(sys.argv[2]); c.commit()";
    let out = Command::new("python3").args(["-c", script]).arg(&db).arg(&sql).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    state.decide_approval(asked.id, true, "local:alice", None).await.unwrap();
    let answer = tokio::task::spawn_blocking(move || swapped.join().unwrap()).await.unwrap();
    assert_eq!(answer["result"]["isError"], true, "{answer}");
    let text = answer["result"]["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("changed after it was asked"), "{text}");
}
