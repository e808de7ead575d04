//! Two gateways on one PostgreSQL state (`--state postgres://…`): the official MCP Python SDK
//! (`tests/e2e/approvals.py`) calls tools that need approval through each gateway in turn,
//! and the calls are decided through a third handle on the same state, as `toolkit approvals`
//! does from another machine. Both gateways see the decisions, write one audit trail, and add
//! up their counters.
//!
//! Needs the PostgreSQL of `.ci/services.sh` and the Python SDK; without them the test is
//! skipped with the reason (under `CI=true` it fails).

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::process::{BIN, Running};
use common::{Fixture, GUARDED, next_pending, python_sdk};
use toolkit_core::ToolRef;
use toolkit_state::{AuditFilter, Outcome, StateStore};
use toolkit_testkit::pg::Database;

/// Runs the Python client against `gateway` while approving its first call, rejecting its
/// second and leaving its third to time out, through `state`; returns the last request's id.
async fn drive(state: &StateStore, gateway: &Running, after: i64) -> i64 {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/approvals.py");
    let client = Command::new("python3")
        .arg(script)
        .args(["--http", &gateway.url()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let first = next_pending(state, after).await;
    state.decide_approval(first.id, true, "local:alice", None).await.unwrap();
    let second = next_pending(state, first.id).await;
    state.decide_approval(second.id, false, "local:bob", Some("not during the freeze")).await.unwrap();
    let third = next_pending(state, second.id).await;
    let out = tokio::task::spawn_blocking(move || client.wait_with_output()).await.unwrap().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "python client failed:\n{stdout}\n{}\ngateway log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        gateway.log()
    );
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    let errors: Vec<bool> = report["results"].as_array().unwrap().iter().map(|r| r["isError"] == true).collect();
    assert_eq!(errors, [false, true, true], "{report}");
    third.id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_gateways_share_approvals_audit_and_counters_on_postgres() {
    if toolkit_testkit::service("TOOLKIT_TEST_PG_HOST").is_none() || !python_sdk() {
        return;
    }
    let db = Database::create("gateway_shared").expect("create a database");
    let url = db.url();
    let fixture = Fixture::new();
    fixture.write("guarded.yaml", GUARDED);
    let start = || {
        let mut command = Command::new(BIN);
        command.arg("--tools").arg(&fixture.tools).args(["--state", &url]);
        Running::spawn(command, &[], "info,rmcp=warn")
    };
    let (a, b) = (start(), start());
    let state = StateStore::open_location(&url).await.unwrap();
    assert!(state.describe().starts_with("postgres://"), "{}", state.describe());

    let last_a = drive(&state, &a, 0).await;
    drive(&state, &b, last_a).await;

    // One audit trail: both gateways' calls, each with its decision.
    let deadline = Instant::now() + Duration::from_secs(10);
    let audit = loop {
        let audit = state.audit(&AuditFilter::default()).await.unwrap();
        if audit.iter().filter(|r| r.operation == "call").count() >= 6 || Instant::now() > deadline {
            break audit;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let decisions: Vec<String> =
        audit.iter().filter(|r| r.operation == "call").map(|r| r.decision.to_string()).collect();
    for expected in ["approved by local:alice", "rejected by local:bob: not during the freeze", "timed out"] {
        let n = decisions.iter().filter(|d| d.contains(expected)).count();
        assert_eq!(n, 2, "{expected:?} should be recorded once per gateway: {decisions:?}");
    }
    // The counters add up across the two.
    let guarded = state.status(&ToolRef::new("default", "guarded")).await.unwrap().expect("guarded's status");
    assert_eq!(guarded.invocation_count, 4, "{guarded:?}");
    for gateway in [a, b] {
        assert!(!gateway.log().contains("postgres://postgres@"), "the state URL is logged:\n{}", gateway.log());
    }
}

/// A stateless `tools/call` of `echo`: `Some(true)` answered, `Some(false)` refused with an
/// error result, `None` when no answer came in time (a hang).
fn call_echo(gateway: &Running, n: usize) -> Option<bool> {
    let headers = [
        ("Content-Type", "application/json"),
        ("Accept", "application/json, text/event-stream"),
        ("MCP-Protocol-Version", "2025-11-25"),
    ];
    let body = serde_json::json!({"jsonrpc": "2.0", "id": n, "method": "tools/call",
        "params": {"name": "echo", "arguments": {"message": format!("call {n}")}}});
    let addr = gateway.addr;
    let response =
        std::panic::catch_unwind(|| common::process::request(addr, "POST", "/mcp", &headers, &body.to_string()))
            .ok()?;
    let reply = response.json();
    Some(reply["result"]["isError"] != true)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_store_that_goes_away_fails_calls_closed_and_recovers() {
    if toolkit_testkit::service("TOOLKIT_TEST_PG_HOST").is_none() {
        return;
    }
    let db = Database::create("gateway_outage").expect("create a database");
    let host = std::env::var("TOOLKIT_TEST_PG_HOST").unwrap();
    let port: u16 = std::env::var("TOOLKIT_TEST_PG_PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(5432);
    let mut proxy = toolkit_testkit::pg::TcpProxy::start((host, port)).await;
    let admin = std::env::var("TOOLKIT_TEST_PG_ADMIN_USER").unwrap_or_else(|_| "postgres".into());
    let url = format!("postgres://{admin}@127.0.0.1:{}/{}?sslmode=disable", proxy.port, db.name);
    let fixture = Fixture::new();
    let mut command = Command::new(BIN);
    command.arg("--tools").arg(&fixture.tools).args(["--state", &url]);
    let gateway = std::sync::Arc::new(Running::spawn(command, &["--stateless"], "info,rmcp=warn"));

    // Four clients call in a loop while the store goes away for longer than a call waits for it
    // (PostgresState::ACQUIRE_TIMEOUT, 5s), and returns.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let clients: Vec<_> = (0..4)
        .map(|c| {
            let (gateway, stop) = (gateway.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut outcomes = Vec::new();
                let mut n = c * 100_000;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    n += 1;
                    let started = Instant::now();
                    outcomes.push((call_echo(&gateway, n), started.elapsed()));
                }
                outcomes
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(1)).await;
    proxy.down();
    tokio::time::sleep(Duration::from_secs(8)).await;
    proxy.up().await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let per_client: Vec<Vec<(Option<bool>, Duration)>> = clients.into_iter().map(|c| c.join().unwrap()).collect();
    // After the store came back, every client's calls are answered again.
    for client in &per_client {
        assert_eq!(client.last().map(|(o, _)| *o), Some(Some(true)), "calls are not answered after the store returned");
    }
    let outcomes: Vec<(Option<bool>, Duration)> = per_client.into_iter().flatten().collect();

    assert!(outcomes.iter().all(|(o, _)| o.is_some()), "a call got no answer");
    let slowest = outcomes.iter().map(|(_, d)| *d).max().unwrap();
    assert!(slowest < Duration::from_secs(40), "a call hung for {slowest:?}");
    let answered = outcomes.iter().filter(|(o, _)| *o == Some(true)).count();
    let refused = outcomes.iter().filter(|(o, _)| *o == Some(false)).count();
    assert!(refused > 0, "no call was refused while the store was away ({answered} answered, slowest {slowest:?})");

    // Every answered call has its audit record.
    let state = StateStore::open_location(&url).await.unwrap();
    let audited = state
        .audit(&AuditFilter { limit: Some(1_000_000), ..AuditFilter::default() })
        .await
        .unwrap()
        .iter()
        .filter(|r| r.operation == "call" && r.outcome == Outcome::Ok)
        .count();
    assert!(audited >= answered, "{answered} calls answered, {audited} audited ok");
}
