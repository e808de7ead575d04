//! Retries and the circuit breaker against a real HTTP server that fails on purpose and counts
//! what it receives.

mod common;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::{Fixture, Server};
use serde_json::json;
use toolkit_core::ErrorKind;

/// A fresh path, so that the server's attempt count starts at zero.
fn key() -> String {
    toolkit_testkit::canary().chars().filter(char::is_ascii_alphanumeric).take(12).collect()
}

#[tokio::test]
async fn idempotent_requests_are_retried_until_they_succeed() {
    let server = Server::start().await;
    let fx = Fixture::new();
    for code in [408, 429, 500, 502, 503, 504] {
        let path = format!("/flaky/{}/2/{code}", key());
        let tool = fx.tool(json!({"type": "http", "http": {"url": format!("{}{path}", server.base),
                                  "retry": {"initialBackoff": "10ms"}}}));
        let (result, _) = fx.call(&tool, json!({})).await.unwrap();
        assert_eq!(result["body"]["attempt"], 3, "{code}");
        assert_eq!(server.count(&path), 3, "{code}");
    }
}

#[tokio::test]
async fn attempts_are_bounded_and_reported() {
    let server = Server::start().await;
    let fx = Fixture::new();
    let path = format!("/flaky/{}/5/503", key());
    let tool = fx.tool(json!({"type": "http", "http": {"url": format!("{}{path}", server.base),
                              "retry": {"maxAttempts": 2, "initialBackoff": "10ms"}}}));
    let err = fx.call(&tool, json!({})).await.unwrap_err();
    assert_eq!((err.kind(), err.is_retryable()), (ErrorKind::Upstream, true));
    assert_eq!(err.context_value("attempts"), Some("2"));
    assert_eq!(server.count(&path), 2);

    // Not retried: statuses a retry cannot fix, and POST unless asked.
    let path = format!("/flaky/{}/1/404", key());
    let tool = fx.tool(json!({"type": "http", "http": {"url": format!("{}{path}", server.base)}}));
    assert_eq!(fx.call(&tool, json!({})).await.unwrap_err().kind(), ErrorKind::Upstream);
    assert_eq!(server.count(&path), 1);
    let path = format!("/flaky/{}/1/503", key());
    let post = json!({"type": "http", "http": {"url": format!("{}{path}", server.base), "method": "POST"}});
    assert!(fx.call(&fx.tool(post), json!({})).await.is_err());
    assert_eq!(server.count(&path), 1);
    let path = format!("/flaky/{}/1/503", key());
    let post = json!({"type": "http", "http": {"url": format!("{}{path}", server.base), "method": "POST",
                      "retry": {"maxAttempts": 2, "initialBackoff": "10ms"}},
                      "inputSchema": {"type": "object", "properties": {"x": {"type": "integer"}}}});
    fx.call(&fx.tool(post), json!({"x": 1})).await.unwrap();
    let bodies: Vec<_> = server.requests().into_iter().filter(|r| r.target == path).map(|r| r.body).collect();
    assert_eq!(bodies, [br#"{"x":1}"#.to_vec(), br#"{"x":1}"#.to_vec()], "the same body both times");
}

#[tokio::test]
async fn retry_after_is_honoured_in_seconds_and_as_a_date() {
    let server = Server::start().await;
    let fx = Fixture::new();
    for query in ["secs=1", "date=2"] {
        let path = format!("/flaky/{}/1/429", key());
        let tool = fx.tool(json!({"type": "http", "http": {"url": format!("{}{path}?{query}", server.base),
                                  "retry": {"initialBackoff": "10ms"}}}));
        let started = Instant::now();
        fx.call(&tool, json!({})).await.unwrap();
        // An HTTP date has whole seconds, so "2s ahead" may be a little over 1s away.
        assert!(started.elapsed() >= Duration::from_millis(900), "{query}: {:?}", started.elapsed());
        assert_eq!(server.count(&format!("{path}?{query}")), 2);
    }
}

#[tokio::test]
async fn no_retry_past_the_deadline_or_the_longest_backoff() {
    let server = Server::start().await;
    let fx = Fixture::new();
    // Retry-After longer than maxBackoff: returned at once, for the caller to decide.
    let path = format!("/flaky/{}/1/503?secs=30", key());
    let tool = fx.tool(json!({"type": "http", "http": {"url": format!("{}{path}", server.base)}}));
    let started = Instant::now();
    let err = fx.call(&tool, json!({})).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!((err.context_value("retry-after"), err.is_retryable()), (Some("30"), true));
    assert_eq!(server.count(&path), 1);

    // A wait that would end after the call's timeout is not begun.
    let path = format!("/flaky/{}/1/503?secs=2", key());
    let tool = fx.tool(json!({"type": "http", "timeout": "1s", "http": {"url": format!("{}{path}", server.base)}}));
    let started = Instant::now();
    fx.call(&tool, json!({})).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_millis(900));
    assert_eq!(server.count(&path), 1);
}

#[tokio::test]
async fn failures_to_connect_are_retried() {
    let fx = Fixture::new();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let tool = fx.tool(json!({"type": "http", "http": {"url": format!("http://{addr}/"),
                              "retry": {"maxAttempts": 4, "initialBackoff": "300ms", "maxBackoff": "300ms"}}}));
    let call = tokio::spawn({
        let fx = Fixture { canary: fx.canary.clone() };
        async move { fx.call(&tool, json!({})).await }
    });
    // The server comes up while the call is retrying.
    tokio::time::sleep(Duration::from_millis(150)).await;
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let app = axum::Router::new().fallback(|| async { "up" });
    tokio::spawn(async move { axum::serve(listener, app).await });
    let (result, _) = call.await.unwrap().unwrap();
    assert_eq!(result["body"], "up");
}

#[tokio::test]
async fn the_breaker_opens_fails_fast_and_recovers() {
    let server = Server::start().await;
    let fx = Fixture::new();
    let tool = fx.tool(json!({"type": "http", "http": {"url": format!("{}/switch", server.base),
                              "retry": {"maxAttempts": 1}, "circuitBreaker": {"failureThreshold": 3, "openFor": "400ms"}}}));
    server.log.down.store(true, Ordering::SeqCst);
    for _ in 0..3 {
        assert_eq!(fx.call(&tool, json!({})).await.unwrap_err().kind(), ErrorKind::Upstream);
    }
    assert_eq!(server.count("/switch"), 3);
    let err = fx.call(&tool, json!({})).await.unwrap_err();
    assert_eq!((err.kind(), err.is_retryable()), (ErrorKind::Unreachable, true));
    assert!(err.to_string().contains("circuit open, retry after 1s"), "{err}");
    assert_eq!(server.count("/switch"), 3, "an open circuit sends nothing");

    // After openFor one trial goes through; it fails, so the circuit opens again.
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(fx.call(&tool, json!({})).await.unwrap_err().kind(), ErrorKind::Upstream);
    assert!(fx.call(&tool, json!({})).await.unwrap_err().to_string().contains("circuit open"));
    assert_eq!(server.count("/switch"), 4);

    // The upstream is back: the next trial closes the circuit.
    server.log.down.store(false, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(450)).await;
    for _ in 0..3 {
        fx.call(&tool, json!({})).await.unwrap();
    }
    assert_eq!(server.count("/switch"), 7);
}

#[tokio::test]
async fn retries_and_the_breaker_work_together() {
    let server = Server::start().await;
    let fx = Fixture::new();
    let tool = fx.tool(json!({"type": "http", "http": {"url": format!("{}/switch", server.base),
                              "retry": {"maxAttempts": 5, "initialBackoff": "5ms"},
                              "circuitBreaker": {"failureThreshold": 2, "openFor": "10s"}}}));
    server.log.down.store(true, Ordering::SeqCst);
    let err = fx.call(&tool, json!({})).await.unwrap_err();
    assert!(err.to_string().contains("circuit open"), "{err}");
    assert_eq!(err.context_value("attempts"), Some("2"));
    assert_eq!(server.count("/switch"), 2);
}
