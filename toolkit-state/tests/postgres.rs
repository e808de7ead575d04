//! The PostgreSQL state against a real server.
//!
//! Needs `TOOLKIT_TEST_PG_HOST`, `TOOLKIT_TEST_PG_PORT` and `TOOLKIT_TEST_PG_ADMIN_USER` (a
//! superuser reachable without a password); without them the tests are skipped (and fail under
//! CI). Each test works in a database of its own, dropped at the end (also when it fails).

#![cfg(feature = "postgres")]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgSslMode};
use sqlx::{Connection, Executor};
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use toolkit_core::model::{LastProbe, ToolPhase, ToolStatus};
use toolkit_core::{Class, ErrorKind, SecretString, ToolRef};
use toolkit_state::{
    ApprovalRecord, ApprovalState, AuditFilter, AuditRecord, Decision, NewApproval, Outcome, PostgresState, Refusal,
    SessionRecord, SessionState, StateBackend, StateStore,
};
use toolkit_testkit::pg::TcpProxy;

#[derive(Clone)]
struct Server {
    host: String,
    port: u16,
    admin: String,
}

fn server() -> Option<Server> {
    let host = toolkit_testkit::service("TOOLKIT_TEST_PG_HOST")?;
    let port = toolkit_testkit::service("TOOLKIT_TEST_PG_PORT")?;
    let admin = toolkit_testkit::service("TOOLKIT_TEST_PG_ADMIN_USER")?;
    let port = port.parse().expect("TOOLKIT_TEST_PG_PORT is a port number");
    Some(Server { host, port, admin })
}

/// A database of the test's own.
struct Db {
    server: Server,
    name: String,
}

impl Db {
    async fn new() -> Option<Self> {
        let server = server()?;
        let name = toolkit_testkit::unique_name("tk_state");
        let mut admin = admin(&server).await;
        admin.execute(format!("CREATE DATABASE {name}").as_str()).await.expect("create database");
        admin.close().await.ok();
        Some(Self { server, name })
    }

    /// The database's URL, with `password` (which trust auth ignores).
    fn url_with(&self, password: &str) -> SecretString {
        let s = &self.server;
        SecretString::new(format!(
            "postgres://{}:{password}@{}:{}/{}?sslmode=disable",
            s.admin, s.host, s.port, self.name
        ))
    }

    fn url(&self) -> SecretString {
        self.url_with("unused")
    }

    async fn open(&self) -> PostgresState {
        PostgresState::open(&self.url()).await.expect("open the postgres state")
    }
}

impl Drop for Db {
    /// Drops the database, also when the test failed: on a thread of its own, as the test's
    /// runtime may be the one being dropped.
    fn drop(&mut self) {
        let (server, name) = (self.server.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
            runtime.block_on(async {
                let mut admin = admin(&server).await;
                admin.execute(format!("DROP DATABASE {name} WITH (FORCE)").as_str()).await.map(drop)
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop the test database {}", self.name);
        }
    }
}

async fn admin(server: &Server) -> PgConnection {
    let opts = PgConnectOptions::new_without_pgpass()
        .host(&server.host)
        .port(server.port)
        .username(&server.admin)
        .database("postgres")
        .ssl_mode(PgSslMode::Disable);
    PgConnection::connect_with(&opts).await.expect("admin connection (trust auth)")
}

fn record(i: usize, tool: &ToolRef, failed: bool) -> AuditRecord {
    AuditRecord {
        id: 0,
        time: Utc::now(),
        caller: format!("c{i}"),
        tool: tool.clone(),
        operation: "call".into(),
        arguments: Some(serde_json::json!({"i": i})),
        decision: Decision::Allowed,
        duration_ms: 0.1,
        outcome: if failed { Outcome::Error } else { Outcome::Ok },
        error_kind: failed.then(|| "upstream".into()),
        error: failed.then(|| format!("boom {i}")),
    }
}

/// What a run of every operation gave back, with the times the store chose set to the epoch.
#[derive(Debug, PartialEq)]
struct Snapshot {
    ids: Vec<i64>,
    audit_all: Vec<AuditRecord>,
    audit_tool: Vec<AuditRecord>,
    /// The ids each of a few filters selects.
    audit_filtered: Vec<Vec<i64>>,
    statuses: BTreeMap<ToolRef, ToolStatus>,
    status: Option<ToolStatus>,
    unknown_status: Option<ToolStatus>,
    probes: Vec<LastProbe>,
    pending: Vec<ApprovalRecord>,
    approvals: Vec<ApprovalRecord>,
    decided: ApprovalRecord,
    expired: ApprovalRecord,
    refusals: Vec<(ErrorKind, String)>,
    heartbeats: Vec<SessionState>,
    ended: (bool, bool, u64),
    active_sessions: Vec<SessionRecord>,
    sessions: Vec<SessionRecord>,
}

fn at(secs: i64) -> chrono::DateTime<Utc> {
    Utc.timestamp_opt(1_750_000_000 + secs, 123_456_789).single().expect("a time")
}

fn approval_times(mut a: ApprovalRecord) -> ApprovalRecord {
    a.time = chrono::DateTime::default();
    a.decided_at = a.decided_at.map(|_| chrono::DateTime::default());
    a
}

fn session_times(mut s: SessionRecord) -> SessionRecord {
    s.started_at = chrono::DateTime::default();
    s.last_seen_at = chrono::DateTime::default();
    s.ended_at = s.ended_at.map(|_| chrono::DateTime::default());
    s
}

/// Runs every operation of the backend once, in one order, and keeps what each gave back.
async fn exercise(state: &dyn StateBackend, started: chrono::DateTime<Utc>) -> Snapshot {
    let pg = ToolRef::new("default", "pg");
    let kube = ToolRef::new("ops", "kube");
    let ok = LastProbe {
        time: at(1),
        ok: true,
        latency_ms: 1.25,
        server_version: Some("PostgreSQL 15.2".into()),
        error_kind: None,
        error: None,
    };
    let failed = LastProbe {
        time: at(2),
        ok: false,
        latency_ms: 5000.0,
        server_version: None,
        error_kind: Some("timeout".into()),
        error: Some("connect: no answer within 5s".into()),
    };
    state.set_phase(&kube, ToolPhase::Disabled).await.unwrap();
    state.record_probe(&pg, &ok, ToolPhase::Ready).await.unwrap();
    state.record_probe(&pg, &failed, ToolPhase::Failed).await.unwrap();
    state.record_call(&pg, None).await.unwrap();
    state.record_call(&pg, Some("syntax error at or near \"selec\"")).await.unwrap();

    let mut ids = Vec::new();
    let denied = AuditRecord {
        id: 0,
        time: at(3),
        caller: "mcp:agent".into(),
        tool: pg.clone(),
        operation: "call".into(),
        arguments: Some(serde_json::json!({"sql": "DELETE FROM t", "note": "é ✓ \"quoted\""})),
        decision: Decision::Denied { refusal: Refusal::Policy, reasons: vec!["a write".into()] },
        duration_ms: 0.5,
        outcome: Outcome::Error,
        error_kind: Some("denied".into()),
        error: Some("the policy refused it".into()),
    };
    ids.push(state.append_audit(&denied).await.unwrap());
    let call = AuditRecord {
        time: at(4),
        arguments: None,
        decision: Decision::AutoApproved { class: Class::Read },
        outcome: Outcome::Ok,
        error_kind: None,
        error: None,
        ..denied.clone()
    };
    ids.push(state.record_call_audit(&call).await.unwrap());
    let exec = AuditRecord {
        time: at(5),
        tool: kube.clone(),
        operation: "exec".into(),
        decision: Decision::Rejected { by: "local:bo".into(), reason: Some("no".into()) },
        error: Some("rejected".into()),
        ..denied.clone()
    };
    ids.push(state.record_call_audit(&exec).await.unwrap());
    let audit_all = state.audit(&AuditFilter::default()).await.unwrap();
    let audit_tool =
        state.audit(&AuditFilter { tool: Some(pg.clone()), limit: Some(1), ..AuditFilter::default() }).await.unwrap();
    let filters = [
        AuditFilter { caller: Some("mcp:agent".into()), outcome: Some(Outcome::Error), ..AuditFilter::default() },
        AuditFilter { decision: Some("rejected".into()), ..AuditFilter::default() },
        AuditFilter { since: Some(at(4)), until: Some(at(5)), ..AuditFilter::default() },
        AuditFilter { before: Some(3), limit: Some(1), ..AuditFilter::default() },
    ];
    let mut audit_filtered = Vec::new();
    for filter in &filters {
        audit_filtered.push(state.audit(filter).await.unwrap().iter().map(|r| r.id).collect());
    }

    let args = serde_json::json!({"command": "delete pod x"});
    let reasons = vec!["write: `delete pod x`".to_owned()];
    let new = |expires_at| NewApproval {
        tool: &kube,
        caller: "mcp:agent",
        arguments: &args,
        class: "write",
        reasons: &reasons,
        expires_at,
        call_hash: "c0ffee",
    };
    let id = state.request_approval(&new(started + chrono::Duration::minutes(5))).await.unwrap();
    let lapsed = state.request_approval(&new(started - chrono::Duration::seconds(1))).await.unwrap();
    let pending: Vec<_> = state.approvals(false).await.unwrap().into_iter().map(approval_times).collect();
    let mut refusals = Vec::new();
    let mut refused = |e: toolkit_core::Error| refusals.push((e.kind(), e.to_string()));
    refused(state.decide_approval(id, true, "mcp:agent", None).await.unwrap_err());
    let decided = approval_times(state.decide_approval(id, false, "local:alice", Some("not now")).await.unwrap());
    refused(state.decide_approval(id, true, "local:bob", None).await.unwrap_err());
    refused(state.decide_approval(lapsed, true, "local:alice", None).await.unwrap_err());
    refused(state.decide_approval(999, true, "local:alice", None).await.unwrap_err());
    refused(state.expire_approval(999).await.unwrap_err());
    assert_eq!(state.expire_approval(id).await.unwrap().state, ApprovalState::Rejected);
    let expired = approval_times(state.expire_approval(lapsed).await.unwrap());
    assert!(state.approval(999).await.unwrap().is_none());
    let approvals: Vec<_> = state.approvals(true).await.unwrap().into_iter().map(approval_times).collect();

    state.create_session("s1", &pg, "shell", 42, 900).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2)).await;
    state.create_session("s2", &kube, "exec", u32::MAX, u64::MAX).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2)).await;
    state.create_session("s3", &kube, "client", 7, 60).await.unwrap();
    let heartbeats = vec![
        // A fixed time of last use, so that both backends keep the same value.
        state.heartbeat("s1", true, chrono::DateTime::from_timestamp(1_700_000_000, 0)).await.unwrap(),
        state.heartbeat("s2", false, None).await.unwrap(),
        state.heartbeat("nope", true, None).await.unwrap(),
    ];
    let ended = (
        state.end_session("s1", "closed").await.unwrap(),
        state.end_session("s1", "closed").await.unwrap(),
        state.end_tool_sessions(&kube, "paused").await.unwrap(),
    );
    state.create_session("s4", &pg, "shell", 1, 10).await.unwrap();
    let active_sessions = state.sessions(false).await.unwrap().into_iter().map(session_times).collect();
    let sessions = state.sessions(true).await.unwrap().into_iter().map(session_times).collect();

    let statuses = state.statuses().await.unwrap();
    // The approval and session operations above touch no status.
    assert_eq!(statuses.len(), 2);
    Snapshot {
        ids,
        audit_all,
        audit_tool,
        audit_filtered,
        status: state.status(&pg).await.unwrap(),
        unknown_status: state.status(&ToolRef::new("default", "none")).await.unwrap(),
        statuses,
        probes: state.probe_history(&pg, 10).await.unwrap(),
        pending,
        approvals,
        decided,
        expired,
        refusals,
        heartbeats,
        ended,
        active_sessions,
        sessions,
    }
}

#[tokio::test]
async fn every_operation_round_trips_like_sqlite() {
    let Some(db) = Db::new().await else { return };
    let dir = tempfile::tempdir().unwrap();
    let sqlite = StateStore::open(dir.path()).await.unwrap();
    let postgres = StateStore::open_location(db.url().expose()).await.unwrap();
    assert!(postgres.describe().starts_with("postgres://"), "{}", postgres.describe());

    let started = Utc::now();
    let expected = exercise(&*sqlite, started).await;
    let got = exercise(&*postgres, started).await;
    assert_eq!(got, expected);

    // Spot checks that the snapshot holds what it should.
    assert_eq!(got.ids, vec![1, 2, 3]);
    assert_eq!(got.audit_all.len(), 3);
    assert_eq!(got.audit_filtered, vec![vec![3, 1], vec![3], vec![2], vec![2]]);
    let pg_status = got.status.as_ref().unwrap();
    assert_eq!((pg_status.phase, pg_status.invocation_count, pg_status.error_count), (ToolPhase::Failed, 3, 1));
    assert_eq!(got.probes.len(), 2);
    assert_eq!(got.refusals[0].0, ErrorKind::Denied);
    assert_eq!(got.refusals[1].1, "decide approval request 1: it is rejected already");
    assert_eq!((got.decided.state, got.expired.state), (ApprovalState::Rejected, ApprovalState::Expired));
    let s2 = got.sessions.iter().find(|s| s.id == "s2").unwrap();
    assert_eq!((s2.pid, s2.idle_timeout_secs), (Some(u32::MAX), i64::MAX.unsigned_abs()));
    assert_eq!(got.active_sessions.len(), 1);

    sqlite.close().await;
    postgres.close().await;
    drop(db);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approvals_are_decided_once_across_stores() {
    let Some(db) = Db::new().await else { return };
    let (a, b) = (db.open().await, db.open().await);
    let tool = ToolRef::new("default", "k");
    let args = serde_json::json!({"command": "delete pod x"});
    let reasons = vec!["write".to_owned()];
    let new = NewApproval {
        tool: &tool,
        caller: "mcp:agent",
        arguments: &args,
        class: "write",
        reasons: &reasons,
        expires_at: Utc::now() + chrono::Duration::minutes(5),
        call_hash: "c0ffee",
    };

    let id = a.request_approval(&new).await.unwrap();
    let pending = b.approvals(false).await.unwrap();
    assert_eq!((pending.len(), pending[0].id, pending[0].state), (1, id, ApprovalState::Pending));
    let own = b.decide_approval(id, true, "mcp:agent", None).await.unwrap_err();
    assert_eq!(own.kind(), ErrorKind::Denied);
    assert_eq!(own.to_string(), format!("decide approval request {id}: a caller cannot decide its own call"));
    let done = b.decide_approval(id, true, "local:alice", None).await.unwrap();
    assert_eq!((done.state, done.decided_by.as_deref()), (ApprovalState::Approved, Some("local:alice")));
    let seen = a.approval(id).await.unwrap().unwrap();
    assert_eq!(seen, done);

    // Deciders racing on both stores: one wins each request, the others learn it is decided.
    for _ in 0..20 {
        let id = a.request_approval(&new).await.unwrap();
        let mut deciders = JoinSet::new();
        for i in 0..6 {
            let store = if i % 2 == 0 { a.clone() } else { b.clone() };
            deciders.spawn(async move { store.decide_approval(id, i % 3 != 0, &format!("local:p{i}"), None).await });
        }
        let results = deciders.join_all().await;
        let winners: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(winners.len(), 1, "{results:?}");
        for e in results.iter().filter_map(|r| r.as_ref().err()) {
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
            assert!(e.to_string().ends_with("already"), "{e}");
        }
        let stored = b.approval(id).await.unwrap().unwrap();
        assert_eq!(&stored, winners[0]);
    }

    a.close().await;
    b.close().await;
    drop(db);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_call_audits_from_two_stores_are_all_counted() {
    let Some(db) = Db::new().await else { return };
    let stores = [db.open().await, db.open().await];
    let tools = [ToolRef::new("default", "echo"), ToolRef::new("default", "pg")];
    let mut tasks = JoinSet::new();
    for (s, store) in stores.iter().enumerate() {
        for i in 0..200 {
            let store = store.clone();
            // Both stores write to both tools, so their batches touch the same rows.
            let tool = tools[i % 2].clone();
            tasks.spawn(async move { store.record_call_audit(&record(s * 1000 + i, &tool, i % 10 < 2)).await });
        }
    }
    let mut ids: Vec<i64> = tasks.join_all().await.into_iter().map(Result::unwrap).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 400);
    for tool in &tools {
        let status = stores[1].status(tool).await.unwrap().unwrap();
        assert_eq!((status.invocation_count, status.error_count), (200, 40), "{tool}");
        assert!(status.last_error.as_deref().is_some_and(|e| e.starts_with("boom")));
        let records = stores[0]
            .audit(&AuditFilter { tool: Some(tool.clone()), limit: Some(1000), ..AuditFilter::default() })
            .await
            .unwrap();
        assert_eq!(records.len(), 200);
    }
    let all = stores[0].audit(&AuditFilter { tool: None, limit: Some(1000), ..AuditFilter::default() }).await.unwrap();
    assert_eq!(all.len(), 400);

    for store in &stores {
        store.close().await;
    }
    drop(db);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stores_migrating_one_fresh_database_at_once_all_succeed() {
    let Some(db) = Db::new().await else { return };
    let mut opening = JoinSet::new();
    for _ in 0..4 {
        let url = db.url();
        opening.spawn(async move { PostgresState::open(&url).await });
    }
    let stores: Vec<_> = opening.join_all().await.into_iter().map(|r| r.expect("open while others migrate")).collect();
    let tool = ToolRef::new("default", "echo");
    stores[0].record_call(&tool, None).await.unwrap();
    assert_eq!(stores[3].status(&tool).await.unwrap().unwrap().invocation_count, 1);

    let mut admin = PgConnection::connect_with(
        &PgConnectOptions::new_without_pgpass()
            .host(&db.server.host)
            .port(db.server.port)
            .username(&db.server.admin)
            .database(&db.name)
            .ssl_mode(PgSslMode::Disable),
    )
    .await
    .unwrap();
    let versions: Vec<i64> = sqlx::query_scalar("SELECT version FROM toolkit_state_migrations ORDER BY version")
        .fetch_all(&mut admin)
        .await
        .unwrap();
    assert_eq!(versions, vec![1, 2, 3]);
    admin.close().await.ok();
    // Opening a database already up to date changes nothing.
    let again = db.open().await;
    again.close().await;
    for store in &stores {
        store.close().await;
    }
    drop(db);
}

/// A closed port on this machine.
async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    port
}

#[tokio::test]
async fn an_unreachable_store_fails_quickly_and_names_no_password() {
    let canary = toolkit_testkit::canary();
    let port = closed_port().await;
    let url = SecretString::new(format!("postgres://toolkit:{canary}@127.0.0.1:{port}/state"));
    let started = Instant::now();
    let e = PostgresState::open(&url).await.unwrap_err();
    assert!(started.elapsed() < PostgresState::ACQUIRE_TIMEOUT + Duration::from_secs(3), "{:?}", started.elapsed());
    assert_eq!(e.kind(), ErrorKind::Unreachable, "{e}");
    let text = e.to_string();
    assert!(text.contains(&format!("postgres://toolkit@127.0.0.1:{port}/state")), "{text}");
    assert!(!text.contains('\n'), "{text}");
    assert!(!text.contains(&canary) && !format!("{e:?}").contains(&canary), "{text}");

    let e = StateStore::open_location(url.expose()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unreachable);
    assert!(!format!("{e} {e:?}").contains(&canary));

    // A URL that does not parse names no password either.
    let e = PostgresState::open(&SecretString::new(format!("postgres://toolkit:{canary}@host:99999/db")))
        .await
        .unwrap_err();
    assert!(!format!("{e} {e:?}").contains(&canary), "{e}");

    // A store that is reachable names no password, in its description or its debug form.
    let Some(db) = Db::new().await else { return };
    let state = PostgresState::open(&db.url_with(&canary)).await.unwrap();
    assert_eq!(
        state.describe(),
        format!("postgres://{}@{}:{}/{}", db.server.admin, db.server.host, db.server.port, db.name)
    );
    assert!(!format!("{state:?}").contains(&canary));
    state.close().await;
    drop(db);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_goes_away_fails_quickly_and_works_again_when_it_returns() {
    let Some(db) = Db::new().await else { return };
    let mut proxy = TcpProxy::start((db.server.host.clone(), db.server.port)).await;
    let canary = toolkit_testkit::canary();
    let url = SecretString::new(format!(
        "postgres://{}:{canary}@127.0.0.1:{}/{}?sslmode=disable",
        db.server.admin, proxy.port, db.name
    ));
    let state = StateStore::open_location(url.expose()).await.unwrap();
    let tool = ToolRef::new("default", "pg");
    state.record_call(&tool, None).await.unwrap();

    proxy.down();
    let started = Instant::now();
    let failures = [
        state.record_call(&tool, None).await.unwrap_err(),
        state.record_call_audit(&record(1, &tool, false)).await.unwrap_err(),
        state.status(&tool).await.unwrap_err(),
    ];
    assert!(
        started.elapsed() < 3 * (PostgresState::ACQUIRE_TIMEOUT + Duration::from_secs(2)),
        "{:?}",
        started.elapsed()
    );
    for e in &failures {
        assert_eq!(e.kind(), ErrorKind::Unreachable, "{e}");
        let text = format!("{e} {e:?}");
        assert!(text.contains(&state.describe()), "{text}");
        assert!(!text.contains(&canary), "{text}");
    }

    proxy.up().await;
    state.record_call(&tool, None).await.unwrap();
    state.record_call_audit(&record(2, &tool, false)).await.unwrap();
    let status = state.status(&tool).await.unwrap().unwrap();
    assert_eq!(status.invocation_count, 3);
    assert_eq!(state.audit(&AuditFilter::default()).await.unwrap().len(), 1);

    state.close().await;
    proxy.down();
    drop(db);
}
