//! Against a fake SQL API v2 server started by each test: it replays the documented responses
//! in `tests/fixtures/` and records every request, so the tests check both what the connector
//! sends (paths, headers, authentication, body fields) and how it reads the answers. No real
//! Snowflake account is involved.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use jsonwebtoken::{DecodingKey, Validation};
use rsa::pkcs8::{DecodePublicKey, EncodePublicKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use toolkit_connector_snowflake::{JwtClaims, SnowflakeConnector};
use toolkit_core::ErrorKind;
use toolkit_core::connector::{CallLimits, Invocation, ToolInstance};

const VERSION_HANDLE: &str = "01b0b2c3-0000-8a1b-0000-0001a2b3c4d5";
const ORDERS_HANDLE: &str = "01b0b2c3-0000-8a1b-0000-0001a2b3c4d6";
const SLOW_HANDLE: &str = "01b0b2c3-0000-8a1b-0000-0001a2b3c4d7";
const HUNG_HANDLE: &str = "01b0b2c3-0000-8a1b-0000-0001a2b3c4d9";

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// One request the fake received.
#[derive(Clone, Debug)]
struct Seen {
    method: Method,
    path: String,
    query: String,
    headers: HeaderMap,
    body: Value,
}

#[derive(Clone)]
struct Fake {
    seen: Arc<Mutex<Vec<Seen>>>,
    oauth_token: String,
    /// The expected `iss` of key-pair JWTs and the key that verifies them.
    jwt: Option<(String, DecodingKey)>,
    slow_polls: Arc<Mutex<u32>>,
}

impl Fake {
    fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn answer(status: StatusCode, body: String) -> Response {
    (status, [("content-type", "application/json")], body).into_response()
}

async fn handle(State(fake): State<Fake>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let path = uri.path().to_owned();
    let query = uri.query().unwrap_or_default().to_owned();
    fake.seen.lock().unwrap().push(Seen {
        method: method.clone(),
        path: path.clone(),
        query: query.clone(),
        headers: headers.clone(),
        body: body.clone(),
    });

    let token = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let token = token.strip_prefix("Bearer ").unwrap_or_default();
    let kind = headers.get("x-snowflake-authorization-token-type").and_then(|v| v.to_str().ok());
    match (kind, &fake.jwt) {
        (Some("OAUTH"), None) if token == fake.oauth_token => {}
        (Some("KEYPAIR_JWT"), Some((iss, key))) => {
            let mut validation = Validation::new(jsonwebtoken::Algorithm::RS256);
            validation.set_required_spec_claims(&["exp", "iss", "sub"]);
            validation.set_issuer(&[iss]);
            let valid = jsonwebtoken::decode::<JwtClaims>(token, key, &validation)
                .is_ok_and(|d| d.claims.sub == "XY12345.TOOLKIT" && d.claims.exp > d.claims.iat);
            if !valid {
                return answer(StatusCode::UNAUTHORIZED, fixture("jwt-invalid.json"));
            }
        }
        _ => return answer(StatusCode::UNAUTHORIZED, fixture("unauthorized.json")),
    }

    let statement = body["statement"].as_str().unwrap_or_default();
    match (method, path.as_str()) {
        (Method::POST, "/api/v2/statements") if statement == "SELECT CURRENT_VERSION()" => {
            answer(StatusCode::OK, fixture("version.json"))
        }
        (Method::POST, "/api/v2/statements") if statement.contains("FROM ORDERS") => {
            answer(StatusCode::OK, fixture("orders.json"))
        }
        (Method::POST, "/api/v2/statements") if statement.contains("SLOW") => {
            answer(StatusCode::ACCEPTED, fixture("accepted.json"))
        }
        (Method::POST, "/api/v2/statements") if statement.contains("HANG") => {
            answer(StatusCode::ACCEPTED, fixture("accepted.json").replace(SLOW_HANDLE, HUNG_HANDLE))
        }
        (Method::POST, "/api/v2/statements") if statement.contains("NOPE") => {
            answer(StatusCode::UNPROCESSABLE_ENTITY, fixture("compilation-error.json"))
        }
        (Method::GET, p) if p == format!("/api/v2/statements/{SLOW_HANDLE}") => {
            let mut polls = fake.slow_polls.lock().unwrap();
            *polls += 1;
            if *polls < 3 {
                answer(StatusCode::ACCEPTED, fixture("accepted.json"))
            } else {
                answer(StatusCode::OK, fixture("orders.json"))
            }
        }
        (Method::GET, p) if p == format!("/api/v2/statements/{HUNG_HANDLE}") => {
            answer(StatusCode::ACCEPTED, fixture("accepted.json").replace(SLOW_HANDLE, HUNG_HANDLE))
        }
        (Method::GET, p) if p == format!("/api/v2/statements/{ORDERS_HANDLE}") && query == "partition=1" => {
            answer(StatusCode::OK, fixture("orders-partition-1.json"))
        }
        (Method::POST, p) if p.ends_with("/cancel") => answer(
            StatusCode::OK,
            json!({"code": "000604", "message": "Statement canceled.", "sqlState": "57014"}).to_string(),
        ),
        _ => answer(StatusCode::NOT_FOUND, json!({"code": "000000", "message": "no such route"}).to_string()),
    }
}

/// Starts the fake on a free loopback port.
async fn start(fake: Fake) -> String {
    let app = axum::Router::new().fallback(handle).with_state(fake);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

fn oauth_fake(token: &str) -> Fake {
    Fake { seen: Arc::default(), oauth_token: token.into(), jwt: None, slow_polls: Arc::default() }
}

fn fingerprint() -> String {
    let public = rsa::RsaPublicKey::from_public_key_pem(&fixture("test-key.pub")).unwrap();
    let der = public.to_public_key_der().unwrap();
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(der.as_bytes()))
}

fn keypair_fake() -> Fake {
    let iss = format!("XY12345.TOOLKIT.SHA256:{}", fingerprint());
    let key = DecodingKey::from_rsa_pem(fixture("test-key.pub").as_bytes()).unwrap();
    Fake { seen: Arc::default(), oauth_token: String::new(), jwt: Some((iss, key)), slow_polls: Arc::default() }
}

fn spec(url: &str, extra: Value) -> Value {
    let mut spec = json!({
        "type": "snowflake",
        "config": {
            "account": "xy12345.eu-west-1", "url": url, "username": "toolkit",
            "credentialsRef": {"name": "sf", "key": "credential"},
            "role": "ANALYST_RO", "warehouse": "WH", "databaseName": "ANALYTICS", "schema": "PUBLIC",
            "connectTimeout": "2s"
        }
    });
    if let Value::Object(more) = extra {
        for (k, v) in more {
            match (spec.get_mut(&k), v) {
                (Some(Value::Object(base)), Value::Object(m)) => base.extend(m),
                (_, v) => {
                    spec[&k] = v;
                }
            }
        }
    }
    spec
}

fn tool(spec: &Value, credential: &str) -> Arc<dyn ToolInstance> {
    toolkit_testkit::behaviour::build(
        &SnowflakeConnector,
        spec,
        &[("sf".into(), "credential".into(), credential.into())],
    )
    .unwrap()
}

async fn call(
    tool: &Arc<dyn ToolInstance>,
    args: Value,
    limits: CallLimits,
) -> toolkit_core::Result<toolkit_core::connector::InvokeOutput> {
    let arguments = args.as_object().unwrap().clone();
    tool.invoker().unwrap().invoke(Invocation { arguments, limits, subject_token: None }).await
}

fn assert_clean(text: &str, secret: &str) {
    assert!(!text.contains(secret), "the secret leaked: {text}");
}

#[tokio::test]
async fn probe_sends_the_documented_request_with_an_oauth_token() {
    let canary = toolkit_testkit::canary();
    let fake = oauth_fake(&canary);
    let url = start(fake.clone()).await;
    let tool = tool(&spec(&url, json!({})), &canary);
    let report = tool.probe().unwrap().probe().await.unwrap();
    assert_eq!(report.server_version.as_deref(), Some("8.44.2"));
    assert_eq!(report.details["statementHandle"], VERSION_HANDLE);
    assert_clean(&format!("{report:?}"), &canary);

    let seen = fake.requests();
    assert_eq!(seen.len(), 1);
    let req = &seen[0];
    assert_eq!((req.method.clone(), req.path.as_str()), (Method::POST, "/api/v2/statements"));
    assert!(req.query.starts_with("requestId="), "{}", req.query);
    assert_eq!(req.headers["authorization"], format!("Bearer {canary}").as_str());
    assert_eq!(req.headers["x-snowflake-authorization-token-type"], "OAUTH");
    assert_eq!(req.headers["content-type"], "application/json");
    assert_eq!(req.headers["accept"], "application/json");
    assert_eq!(
        req.body,
        json!({
            "statement": "SELECT CURRENT_VERSION()", "timeout": 2, "database": "ANALYTICS",
            "schema": "PUBLIC", "warehouse": "WH", "role": "ANALYST_RO"
        })
    );
}

#[tokio::test]
async fn rows_are_typed_and_partitions_fetched_until_the_caps() {
    let fake = oauth_fake("tok");
    let url = start(fake.clone()).await;
    let tool = tool(&spec(&url, json!({})), "tok");
    let out = call(&tool, json!({"query": "SELECT * FROM ORDERS WHERE id > ?", "params": [0]}), CallLimits::default())
        .await
        .unwrap();
    assert!(!out.truncated);
    assert_eq!(out.content["columns"], json!(["ID", "AMOUNT", "PAID", "CUSTOMER", "ORDERED_ON", "CREATED_AT"]));
    assert_eq!(
        out.content["rows"],
        json!([
            {"ID": 1, "AMOUNT": 19.9, "PAID": true, "CUSTOMER": "acme", "ORDERED_ON": "2024-01-01", "CREATED_AT": "2024-01-01T00:00:00"},
            {"ID": 2, "AMOUNT": 5.0, "PAID": false, "CUSTOMER": null, "ORDERED_ON": "2024-01-02", "CREATED_AT": "2024-01-02T00:00:00.500"},
            {"ID": 3, "AMOUNT": 7.25, "PAID": null, "CUSTOMER": "globex", "ORDERED_ON": "2024-01-03", "CREATED_AT": "2024-01-03T00:00:00"}
        ])
    );
    assert_eq!(out.metadata["statementHandle"], ORDERS_HANDLE);
    let seen = fake.requests();
    assert_eq!(seen[0].body["bindings"], json!({"1": {"type": "FIXED", "value": "0"}}));
    assert_eq!(seen[1].method, Method::GET);
    assert_eq!(
        (seen[1].path.as_str(), seen[1].query.as_str()),
        (format!("/api/v2/statements/{ORDERS_HANDLE}").as_str(), "partition=1")
    );

    // Two rows fill the cap with the first partition: the second is never fetched.
    let before = fake.requests().len();
    let capped = CallLimits { max_rows: 2, ..CallLimits::default() };
    let out = call(&tool, json!({"query": "SELECT * FROM ORDERS"}), capped).await.unwrap();
    assert!(out.truncated);
    assert_eq!(out.content["rowCount"], 2);
    assert_eq!(fake.requests().len(), before + 1);

    let bytes = CallLimits { max_output_bytes: 150, ..CallLimits::default() };
    let out = call(&tool, json!({"query": "SELECT * FROM ORDERS"}), bytes).await.unwrap();
    assert!(out.truncated);
    assert_eq!(out.content["rowCount"], 1);
}

#[tokio::test]
async fn a_running_statement_is_polled_and_a_hung_one_cancelled() {
    let fake = oauth_fake("tok");
    let url = start(fake.clone()).await;
    let tool = tool(&spec(&url, json!({})), "tok");
    let out = call(&tool, json!({"query": "SELECT 'SLOW' FROM T"}), CallLimits::default()).await.unwrap();
    assert_eq!(out.content["rowCount"], 3);
    let polls = fake.requests().iter().filter(|r| r.path == format!("/api/v2/statements/{SLOW_HANDLE}")).count();
    assert_eq!(polls, 3);

    let limits = CallLimits { timeout: Duration::from_secs(1), ..CallLimits::default() };
    let started = std::time::Instant::now();
    let err = call(&tool, json!({"query": "SELECT 'HANG' FROM T"}), limits).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(started.elapsed() < Duration::from_secs(4), "{:?}", started.elapsed());
    assert!(err.to_string().contains("cancelled"), "{err}");
    let seen = fake.requests();
    let hung_post = seen.iter().rev().find(|r| r.method == Method::POST && r.path == "/api/v2/statements").unwrap();
    assert_eq!(hung_post.body["timeout"], 1);
    assert!(seen.iter().any(|r| r.path == format!("/api/v2/statements/{HUNG_HANDLE}/cancel")));
}

#[tokio::test]
async fn errors_are_classified_on_one_line() {
    let canary = toolkit_testkit::canary();
    let fake = oauth_fake(&canary);
    let url = start(fake.clone()).await;
    let good = tool(&spec(&url, json!({})), &canary);
    let err = call(&good, json!({"query": "SELECT * FROM NOPE"}), CallLimits::default()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    let text = err.to_string();
    assert!(!text.contains('\n'), "{text}");
    assert!(text.contains("002003") && text.contains("42S02") && text.contains("does not exist"), "{text}");
    assert!(text.contains("user: toolkit") && text.contains("127.0.0.1:"), "{text}");

    let wrong = format!("wrong-{canary}");
    let bad = tool(&spec(&url, json!({})), &wrong);
    let err = bad.probe().unwrap().probe().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth, "{err}");
    assert!(err.to_string().contains("390303"), "{err}");
    assert_clean(&format!("{err} {err:?}"), &canary);

    let err = call(&good, json!({"query": 7}), CallLimits::default()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn read_only_tools_refuse_writes_before_sending_them() {
    let fake = oauth_fake("tok");
    let url = start(fake.clone()).await;
    let tool = tool(&spec(&url, json!({"readOnly": true})), "tok");
    for sql in ["INSERT INTO ORDERS VALUES (1)", "SELECT 1; DROP TABLE ORDERS", "GRANT ROLE SYSADMIN TO USER toolkit"] {
        let err = call(&tool, json!({"query": sql}), CallLimits::default()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Denied, "{sql}: {err}");
    }
    assert!(fake.requests().is_empty());
    let out = call(&tool, json!({"query": "SELECT * FROM ORDERS"}), CallLimits::default()).await.unwrap();
    assert_eq!(out.content["rowCount"], 3);
    // The role is what the engine enforces: it goes with every statement.
    assert_eq!(fake.requests()[0].body["role"], "ANALYST_RO");
}

#[tokio::test]
async fn key_pair_jwts_carry_the_documented_claims() {
    let fake = keypair_fake();
    let url = start(fake.clone()).await;
    let pem = fixture("test-key.p8");
    let tool = tool(&spec(&url, json!({})), &pem);
    let report = tool.probe().unwrap().probe().await.unwrap();
    assert_eq!(report.server_version.as_deref(), Some("8.44.2"));

    let seen = fake.requests();
    assert_eq!(seen[0].headers["x-snowflake-authorization-token-type"], "KEYPAIR_JWT");
    let jwt = seen[0].headers["authorization"].to_str().unwrap().strip_prefix("Bearer ").unwrap().to_owned();
    let key = DecodingKey::from_rsa_pem(fixture("test-key.pub").as_bytes()).unwrap();
    let claims =
        jsonwebtoken::decode::<JwtClaims>(&jwt, &key, &Validation::new(jsonwebtoken::Algorithm::RS256)).unwrap().claims;
    assert_eq!(claims.iss, format!("XY12345.TOOLKIT.SHA256:{}", fingerprint()));
    assert_eq!(claims.sub, "XY12345.TOOLKIT");
    assert!(claims.exp > claims.iat && claims.exp - claims.iat <= 3600);

    // Another key signs a JWT the server does not accept: an auth error that shows no key.
    let other = fixture("other-key.p8");
    let wrong = toolkit_testkit::behaviour::build(
        &SnowflakeConnector,
        &spec(&url, json!({})),
        &[("sf".into(), "credential".into(), other.clone())],
    )
    .unwrap();
    let err = wrong.probe().unwrap().probe().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth, "{err}");
    assert!(err.to_string().contains("390144"), "{err}");
    for line in pem.lines().chain(other.lines()).filter(|l| !l.starts_with("-----")) {
        assert_clean(&format!("{err} {err:?} {report:?}"), line);
    }
}

#[tokio::test]
async fn sessions_write_the_key_to_a_private_file_and_run_statements() {
    let fake = keypair_fake();
    let url = start(fake.clone()).await;
    let pem = fixture("test-key.p8");
    let tool = tool(&spec(&url, json!({})), &pem);
    let session = tool.open_session().await.unwrap();
    let env: BTreeMap<String, String> =
        session.env().iter().map(|e| (e.name.clone(), e.value.expose().to_owned())).collect();
    assert_eq!(env["SNOWSQL_ACCOUNT"], "xy12345.eu-west-1");
    assert_eq!(env["SNOWSQL_USER"], "toolkit");
    assert_eq!(env["SNOWSQL_ROLE"], "ANALYST_RO");
    assert_eq!(env["SNOWSQL_WAREHOUSE"], "WH");
    assert_eq!(env["SNOWSQL_DATABASE"], "ANALYTICS");
    assert_eq!(env["SNOWSQL_SCHEMA"], "PUBLIC");
    let path = std::path::PathBuf::from(&env["SNOWSQL_PRIVATE_KEY_PATH"]);
    assert_eq!(std::fs::read_to_string(&path).unwrap().trim(), pem.trim());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let argv = session.client().unwrap();
    assert_eq!(argv[..5], ["snowsql", "-a", "xy12345.eu-west-1", "-u", "toolkit"]);
    assert!(argv.contains(&path.display().to_string()));
    let debug = format!("{:?}", session.env());
    for line in pem.lines().filter(|l| !l.starts_with("-----")) {
        assert_clean(&debug, line);
    }

    let out = session.exec(&["SELECT * FROM".into(), "ORDERS".into()], &CallLimits::default()).await.unwrap();
    assert_eq!(out.content["rowCount"], 3);
    session.close().await;
    assert!(!path.exists());
}

#[tokio::test]
async fn oauth_sessions_hold_the_token_as_a_secret() {
    let canary = toolkit_testkit::canary();
    let fake = oauth_fake(&canary);
    let url = start(fake).await;
    let tool = tool(&spec(&url, json!({})), &canary);
    let session = tool.open_session().await.unwrap();
    let env = session.env();
    let token = env.iter().find(|e| e.name == "SNOWSQL_TOKEN").unwrap();
    assert_eq!(token.value.expose(), canary);
    assert_clean(&format!("{env:?}"), &canary);
    assert!(session.client().unwrap().join(" ").ends_with("--authenticator oauth"));
    assert_clean(&session.client().unwrap().join(" "), &canary);
}

#[tokio::test]
async fn permissions_plan_grants_to_the_role() {
    let t = tool(
        &spec(
            "http://127.0.0.1:9",
            json!({"permissions": {"rules": [
                {"privileges": ["USAGE"], "on": "WAREHOUSE wh"},
                {"privileges": ["SELECT"], "on": "ALL TABLES IN SCHEMA db.s"}
            ]}}),
        ),
        "tok",
    );
    let plan = t.permissions().unwrap().plan().await.unwrap();
    assert_eq!(plan.principal, "ANALYST_RO");
    assert_eq!(
        plan.statements,
        [
            "GRANT USAGE ON WAREHOUSE wh TO ROLE ANALYST_RO",
            "GRANT SELECT ON ALL TABLES IN SCHEMA db.s TO ROLE ANALYST_RO"
        ]
    );
    let err = t.permissions().unwrap().apply(&plan).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
}

#[tokio::test]
async fn shared_behaviour_suite_without_a_server() {
    let canary = toolkit_testkit::canary();
    toolkit_testkit::behaviour::Suite {
        connector: &SnowflakeConnector,
        spec: spec("http://127.0.0.1:9", json!({})),
        secrets: vec![("sf".into(), "credential".into(), canary.clone())],
        canary,
        password: Some(("sf".into(), "credential".into())),
        endpoint: Some(|spec, host, port| spec["config"]["url"] = json!(format!("http://{host}:{port}"))),
        timeout: Some(toolkit_testkit::behaviour::set_connect_timeout),
        require_tls: None,
        call: Some(json!({"query": "SELECT * FROM ORDERS"})),
    }
    .run_without_server()
    .await;
}
