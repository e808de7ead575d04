//! Rate limits shared through Redis (`TOOLKIT_TEST_REDIS_HOST`, `TOOLKIT_TEST_REDIS_PORT`): two
//! gateways, as two replicas, each with its own connection, spend one budget; a flood across
//! both admits exactly the burst; refusals say when to retry. Without Redis, the limiter fails
//! closed, or open when asked. Each test uses a namespace of its own, so keys never collide.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::Fixture;
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::RunningService;
use rmcp::{RoleClient, ServiceExt as _};
use toolkit_core::SecretString;
use toolkit_gateway::{Gateway, GatewayOptions};
use toolkit_limits_redis::{RedisLimitOptions, RedisRateLimiter};

fn redis_url() -> Option<String> {
    let host = toolkit_testkit::service("TOOLKIT_TEST_REDIS_HOST")?;
    let port = toolkit_testkit::service("TOOLKIT_TEST_REDIS_PORT").unwrap_or_else(|| "6379".into());
    Some(format!("redis://{host}:{port}"))
}

/// A builtin tool `limited` in a fresh namespace: `burst` calls at once, then one per 10s.
fn limited(fixture: &Fixture, burst: u32) -> String {
    let namespace = toolkit_testkit::unique_name("rl").replace('_', "-");
    fixture.write(
        "limited.yaml",
        &format!(
            "apiVersion: toolkit.dev/v1alpha1\nkind: Tool\nmetadata: {{name: limited, namespace: {namespace}}}\n\
             spec: {{type: builtin, builtin: {{name: noop}}, rateLimit: {{requestsPerMinute: 6, burst: {burst}}}}}\n"
        ),
    );
    format!("{namespace}__limited")
}

/// A gateway replica with its own connection to `url`, and a client connected to it.
async fn replica(fixture: &Fixture, url: &str, fail_open: bool) -> (Gateway, RunningService<RoleClient, ()>) {
    let limiter = RedisRateLimiter::new(&SecretString::new(url), RedisLimitOptions { fail_open }).unwrap();
    let options = GatewayOptions { rate_limiter: Some(Arc::new(limiter)), ..GatewayOptions::default() };
    let gateway = Gateway::with_options(vec![fixture.tools.clone()], fixture.state.clone(), options);
    gateway.load().await.unwrap();
    let (server_io, client_io) = tokio::io::duplex(64 * 1024);
    let handler = gateway.handler();
    tokio::spawn(async move {
        if let Ok(running) = handler.serve(server_io).await {
            let _ = running.waiting().await;
        }
    });
    (gateway, ().serve(client_io).await.unwrap())
}

async fn call(client: &RunningService<RoleClient, ()>, name: &str) -> CallToolResult {
    client.call_tool(CallToolRequestParams::new(name.to_owned())).await.unwrap()
}

fn text(result: &CallToolResult) -> String {
    result.content.iter().filter_map(|c| c.as_text()).map(|t| t.text.clone()).collect()
}

/// The wait a refusal names, from `(retry_after_ms: N, ...)`.
fn retry_after(result: &CallToolResult) -> Duration {
    let text = text(result);
    let ms = text.split("retry_after_ms: ").nth(1).and_then(|r| r.split([',', ')']).next()).unwrap_or("");
    Duration::from_millis(ms.parse().unwrap_or_else(|_| panic!("no retry_after_ms in {text:?}")))
}

#[tokio::test]
async fn two_replicas_spend_one_budget() {
    let Some(url) = redis_url() else { return };
    let fixture = Fixture::new();
    let name = limited(&fixture, 3);
    let (_a, client_a) = replica(&fixture, &url, false).await;
    let (_b, client_b) = replica(&fixture, &url, false).await;

    for client in [&client_a, &client_b, &client_a] {
        let r = call(client, &name).await;
        assert_eq!(r.is_error, Some(false), "{}", text(&r));
    }
    for client in [&client_b, &client_a] {
        let refused = call(client, &name).await;
        assert_eq!(refused.is_error, Some(true));
        assert!(text(&refused).contains("rate limit reached; retry in"), "{}", text(&refused));
        let wait = retry_after(&refused);
        assert!(wait > Duration::from_secs(5) && wait <= Duration::from_secs(10), "{wait:?}");
    }

    // The keys carry the tool in a hash tag, and expire once the bucket is full again.
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let namespace = name.trim_end_matches("__limited");
    let key = format!("toolkit:rl:{{{namespace}/limited}}:6:3:tool");
    let ttl: i64 = redis::cmd("PTTL").arg(&key).query_async(&mut connection).await.unwrap();
    assert!(ttl > 0 && ttl <= 31_000, "{key}: ttl {ttl}");
}

#[tokio::test]
async fn a_flood_across_replicas_admits_exactly_the_burst() {
    let Some(url) = redis_url() else { return };
    let fixture = Fixture::new();
    let name = limited(&fixture, 5);
    let (_a, client_a) = replica(&fixture, &url, false).await;
    let (_b, client_b) = replica(&fixture, &url, false).await;
    let calls = (0..24).map(|i| {
        let client = if i % 2 == 0 { client_a.peer().clone() } else { client_b.peer().clone() };
        let name = name.clone();
        tokio::spawn(async move { client.call_tool(CallToolRequestParams::new(name)).await.unwrap() })
    });
    let mut admitted = 0;
    for call in calls.collect::<Vec<_>>() {
        let result = call.await.unwrap();
        if result.is_error == Some(false) {
            admitted += 1;
        } else {
            assert!(retry_after(&result) > Duration::ZERO);
        }
    }
    assert_eq!(admitted, 5);
}

#[tokio::test]
async fn an_unreachable_redis_fails_closed_unless_told_otherwise() {
    // Nothing listens on port 1.
    let url = "redis://127.0.0.1:1";
    let fixture = Fixture::new();
    let name = limited(&fixture, 3);
    let (_closed, client) = replica(&fixture, url, false).await;
    let refused = call(&client, &name).await;
    assert_eq!(refused.is_error, Some(true));
    assert!(text(&refused).contains("shared limiter is unavailable"), "{}", text(&refused));
    let unlimited = call(&client, "echo").await;
    assert!(unlimited.is_error == Some(true) && text(&unlimited).contains("message"), "tools without limits still run");

    let (_open, client) = replica(&fixture, url, true).await;
    let admitted = call(&client, &name).await;
    assert_eq!(admitted.is_error, Some(false), "{}", text(&admitted));
}
