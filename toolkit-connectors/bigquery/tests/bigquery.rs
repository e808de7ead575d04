//! Against a fake token endpoint and a fake BigQuery REST API started by each test: they replay
//! the documented responses in `tests/fixtures/` and record every request, so the tests check
//! what the connector sends (the JWT-bearer grant, paths, query parameters, bodies, the bearer
//! token) and how it reads the answers. No real Google Cloud project is involved.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use jsonwebtoken::{DecodingKey, Validation};
use serde_json::{Value, json};
use toolkit_connector_bigquery::{AssertionClaims, BigQueryConnector, SCOPE};
use toolkit_core::ErrorKind;
use toolkit_core::connector::{CallLimits, Invocation, InvokeOutput, ToolInstance};

const EMAIL: &str = "reader@p-1.iam.gserviceaccount.com";
const ACCESS_TOKEN: &str = "ya29.c.fake-access-token-for-tests";

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[derive(Clone, Debug)]
struct Seen {
    method: Method,
    path: String,
    query: BTreeMap<String, String>,
    headers: HeaderMap,
    body: Value,
    form: BTreeMap<String, String>,
}

#[derive(Clone, Default)]
struct Fake {
    seen: Arc<Mutex<Vec<Seen>>>,
    base: Arc<Mutex<String>>,
    slow_polls: Arc<Mutex<u32>>,
}

impl Fake {
    fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn api_requests(&self) -> Vec<Seen> {
        self.requests().into_iter().filter(|r| !r.path.starts_with("/token")).collect()
    }

    fn token_uri(&self) -> String {
        format!("{}/token", self.base.lock().unwrap())
    }
}

fn answer(status: StatusCode, body: String) -> Response {
    (status, [("content-type", "application/json")], body).into_response()
}

async fn handle(State(fake): State<Fake>, method: Method, uri: Uri, headers: HeaderMap, raw: Bytes) -> Response {
    let path = uri.path().to_owned();
    let query: BTreeMap<String, String> =
        url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()).into_owned().collect();
    let form: BTreeMap<String, String> = url::form_urlencoded::parse(&raw).into_owned().collect();
    let body: Value = serde_json::from_slice(&raw).unwrap_or(Value::Null);
    fake.seen.lock().unwrap().push(Seen {
        method: method.clone(),
        path: path.clone(),
        query: query.clone(),
        headers: headers.clone(),
        body: body.clone(),
        form: form.clone(),
    });

    if path == "/token-401" {
        return answer(
            StatusCode::UNAUTHORIZED,
            json!({"error": "unauthorized_client", "error_description": "Client is unauthorized to retrieve access tokens."})
                .to_string(),
        );
    }
    if path == "/token-revoked" {
        return answer(StatusCode::OK, fixture("token.json").replace(ACCESS_TOKEN, "ya29.revoked"));
    }
    if path == "/token" {
        let key = DecodingKey::from_rsa_pem(fixture("test-key.pub").as_bytes()).unwrap();
        let mut validation = Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.set_audience(&[fake.token_uri()]);
        validation.set_issuer(&[EMAIL]);
        let assertion = form.get("assertion").cloned().unwrap_or_default();
        let valid = form.get("grant_type").map(String::as_str) == Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
            && jsonwebtoken::decode::<AssertionClaims>(&assertion, &key, &validation)
                .is_ok_and(|d| d.claims.scope == SCOPE);
        return if valid {
            answer(StatusCode::OK, fixture("token.json"))
        } else {
            answer(StatusCode::BAD_REQUEST, fixture("token-invalid-grant.json"))
        };
    }
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(&format!("Bearer {ACCESS_TOKEN}")) {
        return answer(StatusCode::UNAUTHORIZED, fixture("error-unauthenticated.json"));
    }

    let p = "/bigquery/v2/projects/p-1";
    match (method, path.strip_prefix(p).unwrap_or_default()) {
        (Method::POST, "/jobs") => {
            let sql = body["configuration"]["query"]["query"].as_str().unwrap_or_default();
            if sql.contains("INSERT") || sql.contains("sneaky") {
                answer(StatusCode::OK, fixture("dryrun-insert.json"))
            } else {
                answer(StatusCode::OK, fixture("dryrun-select.json"))
            }
        }
        (Method::POST, "/queries") => {
            let sql = body["query"].as_str().unwrap_or_default();
            if sql.contains("FROM sales.orders") {
                answer(StatusCode::OK, fixture("query-page1.json"))
            } else if sql.contains("SLOW") {
                answer(StatusCode::OK, fixture("query-incomplete.json"))
            } else if sql.contains("HANG") {
                answer(StatusCode::OK, fixture("query-incomplete.json").replace("job_slow_1", "job_hang_1"))
            } else if sql.contains("hr.salaries") {
                answer(StatusCode::FORBIDDEN, fixture("error-access-denied.json"))
            } else {
                answer(StatusCode::BAD_REQUEST, fixture("error-invalid-query.json"))
            }
        }
        (Method::GET, "/queries/job_orders_1") if query.contains_key("pageToken") => {
            answer(StatusCode::OK, fixture("query-page2.json"))
        }
        (Method::GET, "/queries/job_slow_1") => {
            let mut polls = fake.slow_polls.lock().unwrap();
            *polls += 1;
            if *polls < 2 {
                answer(StatusCode::OK, fixture("query-incomplete.json"))
            } else {
                answer(StatusCode::OK, fixture("query-page1.json"))
            }
        }
        (Method::GET, "/queries/job_hang_1") => {
            // A long poll: the server waits up to timeoutMs.
            let wait: u64 = query.get("timeoutMs").and_then(|t| t.parse().ok()).unwrap_or(0);
            tokio::time::sleep(Duration::from_millis(wait.min(300))).await;
            answer(StatusCode::OK, fixture("query-incomplete.json").replace("job_slow_1", "job_hang_1"))
        }
        (Method::POST, "/jobs/job_hang_1/cancel") => {
            answer(StatusCode::OK, json!({"kind": "bigquery#jobCancelResponse", "job": {}}).to_string())
        }
        _ => answer(StatusCode::NOT_FOUND, json!({"error": {"code": 404, "message": "no such route"}}).to_string()),
    }
}

async fn start() -> (Fake, String) {
    let fake = Fake::default();
    let app = axum::Router::new().fallback(handle).with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    *fake.base.lock().unwrap() = base.clone();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (fake, base)
}

fn key_json(token_uri: &str, pem: &str, client_id: &str) -> String {
    json!({
        "type": "service_account", "project_id": "p-1", "private_key_id": "k1", "private_key": pem,
        "client_email": EMAIL, "client_id": client_id, "token_uri": token_uri
    })
    .to_string()
}

fn spec(url: &str, extra: Value) -> Value {
    let mut spec = json!({
        "type": "bigquery",
        "config": {"project": "p-1", "url": url, "credentialsRef": {"name": "bq", "key": "key.json"}, "connectTimeout": "2s"}
    });
    if let Value::Object(more) = extra {
        for (k, v) in more {
            spec[&k] = v;
        }
    }
    spec
}

fn tool(spec: &Value, key: &str) -> Arc<dyn ToolInstance> {
    toolkit_testkit::behaviour::build(&BigQueryConnector, spec, &[("bq".into(), "key.json".into(), key.into())])
        .unwrap()
}

async fn call(tool: &Arc<dyn ToolInstance>, args: Value, limits: CallLimits) -> toolkit_core::Result<InvokeOutput> {
    let arguments = args.as_object().unwrap().clone();
    tool.invoker().unwrap().invoke(Invocation { arguments, limits, subject_token: None }).await
}

fn assert_no_key(text: &str) {
    for pem in [fixture("test-key.p8"), fixture("other-key.p8")] {
        for line in pem.lines().filter(|l| !l.starts_with("-----")) {
            assert!(!text.contains(line), "the private key leaked: {text}");
        }
    }
}

#[tokio::test]
async fn probe_exchanges_a_signed_assertion_and_dry_runs() {
    let (fake, base) = start().await;
    let key = key_json(&fake.token_uri(), &fixture("test-key.p8"), "1");
    let tool = tool(&spec(&base, json!({})), &key);
    let report = tool.probe().unwrap().probe().await.unwrap();
    assert_eq!(report.details["statementType"], "SELECT");
    assert_eq!(report.details["serviceAccount"], EMAIL);
    tool.probe().unwrap().probe().await.unwrap();

    let seen = fake.requests();
    let tokens: Vec<_> = seen.iter().filter(|r| r.path == "/token").collect();
    assert_eq!(tokens.len(), 1, "the access token is cached");
    assert_eq!(tokens[0].headers["content-type"], "application/x-www-form-urlencoded");
    let assertion = &tokens[0].form["assertion"];
    let header = jsonwebtoken::decode_header(assertion).unwrap();
    assert_eq!(header.kid.as_deref(), Some("k1"));
    let mut validation = Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&[fake.token_uri()]);
    let claims = jsonwebtoken::decode::<AssertionClaims>(
        assertion,
        &DecodingKey::from_rsa_pem(fixture("test-key.pub").as_bytes()).unwrap(),
        &validation,
    )
    .unwrap()
    .claims;
    assert_eq!((claims.iss.as_str(), claims.scope.as_str()), (EMAIL, SCOPE));
    assert_eq!(claims.exp - claims.iat, 3600);

    let dry = &fake.api_requests()[0];
    assert_eq!((dry.method.clone(), dry.path.as_str()), (Method::POST, "/bigquery/v2/projects/p-1/jobs"));
    assert_eq!(dry.headers["authorization"], format!("Bearer {ACCESS_TOKEN}").as_str());
    assert_eq!(
        dry.body,
        json!({"configuration": {"dryRun": true, "query": {"query": "SELECT 1", "useLegacySql": false}}})
    );
    assert_no_key(&format!("{report:?}"));
}

#[tokio::test]
async fn rows_are_typed_and_paged_until_the_caps() {
    let (fake, base) = start().await;
    let tool = tool(&spec(&base, json!({})), &key_json(&fake.token_uri(), &fixture("test-key.p8"), "1"));
    let out =
        call(&tool, json!({"query": "SELECT * FROM sales.orders WHERE id > ?", "params": [0]}), CallLimits::default())
            .await
            .unwrap();
    assert!(!out.truncated);
    assert_eq!(out.content["columns"], json!(["id", "amount", "paid", "customer", "created_at", "tags", "address"]));
    assert_eq!(
        out.content["rows"],
        json!([
            {"id": 1, "amount": 19.9, "paid": true, "customer": "acme", "created_at": "2024-01-01T00:00:00Z",
             "tags": ["new", "web"], "address": {"city": "Lyon", "zip": 69001}},
            {"id": 2, "amount": 5.0, "paid": false, "customer": null, "created_at": "2024-01-02T00:00:00.500Z",
             "tags": [], "address": null},
            {"id": 3, "amount": 7.25, "paid": null, "customer": "globex", "created_at": "2024-01-03T00:00:00Z",
             "tags": ["vip"], "address": {"city": "Paris", "zip": null}}
        ])
    );
    assert_eq!(out.metadata["jobId"], "job_orders_1");
    let api = fake.api_requests();
    assert_eq!(api[0].path, "/bigquery/v2/projects/p-1/queries");
    assert_eq!(api[0].body["useLegacySql"], false);
    assert_eq!(api[0].body["maxResults"], 1000);
    assert_eq!(api[0].body["formatOptions"], json!({"useInt64Timestamp": true}));
    assert_eq!(api[0].body["parameterMode"], "POSITIONAL");
    assert_eq!(
        api[0].body["queryParameters"],
        json!([{"parameterType": {"type": "INT64"}, "parameterValue": {"value": "0"}}])
    );
    assert!(api[0].body["timeoutMs"].as_u64().unwrap() <= 10_000);
    assert_eq!(
        (api[1].method.clone(), api[1].path.as_str()),
        (Method::GET, "/bigquery/v2/projects/p-1/queries/job_orders_1")
    );
    assert_eq!(api[1].query["pageToken"], "BFJ6QUZB3ILQAAASA4EAAEEAQCAAKGQEBBFR4EQCQKA");
    assert_eq!(api[1].query["location"], "EU");

    let before = fake.api_requests().len();
    let out = call(
        &tool,
        json!({"query": "SELECT * FROM sales.orders"}),
        CallLimits { max_rows: 2, ..CallLimits::default() },
    )
    .await
    .unwrap();
    assert!(out.truncated);
    assert_eq!(out.content["rowCount"], 2);
    let after = fake.api_requests();
    assert_eq!(after.len(), before + 1, "the next page is not fetched once the cap is reached");
    assert_eq!(after[before].body["maxResults"], 2);

    let out = call(
        &tool,
        json!({"query": "SELECT * FROM sales.orders"}),
        CallLimits { max_output_bytes: 200, ..CallLimits::default() },
    )
    .await
    .unwrap();
    assert!(out.truncated);
    assert_eq!(out.content["rowCount"], 1);
}

#[tokio::test]
async fn unfinished_jobs_are_polled_and_cancelled_at_the_deadline() {
    let (fake, base) = start().await;
    let tool = tool(&spec(&base, json!({})), &key_json(&fake.token_uri(), &fixture("test-key.p8"), "1"));
    let out = call(&tool, json!({"query": "SELECT 'SLOW'"}), CallLimits::default()).await.unwrap();
    assert_eq!(out.content["rowCount"], 3);
    let polls: Vec<_> = fake.api_requests().into_iter().filter(|r| r.path.ends_with("/queries/job_slow_1")).collect();
    assert_eq!(polls.len(), 2);
    assert_eq!(polls[0].query["location"], "EU");
    assert!(polls[0].query.contains_key("timeoutMs"));

    let started = std::time::Instant::now();
    let limits = CallLimits { timeout: Duration::from_secs(1), ..CallLimits::default() };
    let err = call(&tool, json!({"query": "SELECT 'HANG'"}), limits).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(started.elapsed() < Duration::from_secs(4), "{:?}", started.elapsed());
    assert!(fake.api_requests().iter().any(|r| r.path.ends_with("/jobs/job_hang_1/cancel")));
}

#[tokio::test]
async fn errors_are_classified_on_one_line() {
    let (fake, base) = start().await;
    let tool = tool(&spec(&base, json!({})), &key_json(&fake.token_uri(), &fixture("test-key.p8"), "1"));
    let err = call(&tool, json!({"query": "SELCT 1"}), CallLimits::default()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    let text = err.to_string();
    assert!(!text.contains('\n') && text.contains("invalidQuery") && text.contains("Syntax error"), "{text}");
    assert!(text.contains("project: p-1") && text.contains("127.0.0.1:"), "{text}");
    let err = call(&tool, json!({"query": "SELECT * FROM hr.salaries"}), CallLimits::default()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Denied, "{err}");

    // A key the token endpoint does not accept.
    let other = tool_with_key(&base, &key_json(&fake.token_uri(), &fixture("other-key.p8"), "1"));
    let err = other.probe().unwrap().probe().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth, "{err}");
    assert!(err.to_string().contains("invalid_grant"), "{err}");
    assert_no_key(&format!("{err} {err:?}"));

    // Not a key at all.
    let broken = tool_with_key(&base, "not json");
    let err = broken.probe().unwrap().probe().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
}

fn tool_with_key(base: &str, key: &str) -> Arc<dyn ToolInstance> {
    tool(&spec(base, json!({})), key)
}

#[tokio::test]
async fn read_only_tools_run_only_what_the_dry_run_calls_a_select() {
    let (fake, base) = start().await;
    let tool =
        tool(&spec(&base, json!({"readOnly": true})), &key_json(&fake.token_uri(), &fixture("test-key.p8"), "1"));
    let err =
        call(&tool, json!({"query": "INSERT INTO sales.orders VALUES (1)"}), CallLimits::default()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Denied, "{err}");
    assert!(fake.api_requests().is_empty(), "the policy check refuses before anything is sent");

    // The parser sees a read; BigQuery's dry run says otherwise, and the statement never runs.
    let err = call(&tool, json!({"query": "SELECT * FROM sneaky"}), CallLimits::default()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Denied, "{err}");
    assert!(err.to_string().contains("INSERT"), "{err}");
    let api = fake.api_requests();
    assert_eq!(api.len(), 1);
    assert_eq!(api[0].body["configuration"]["dryRun"], true);

    let out = call(&tool, json!({"query": "SELECT * FROM sales.orders"}), CallLimits::default()).await.unwrap();
    assert_eq!(out.metadata["statementType"], "SELECT");
    let paths: Vec<_> = fake.api_requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(paths[1..3], ["/bigquery/v2/projects/p-1/jobs", "/bigquery/v2/projects/p-1/queries"]);
}

#[tokio::test]
async fn sessions_write_the_key_to_a_private_file() {
    let (fake, base) = start().await;
    let key = key_json(&fake.token_uri(), &fixture("test-key.p8"), "1");
    let tool = tool(&spec(&base, json!({})), &key);
    let session = tool.open_session().await.unwrap();
    let env: BTreeMap<String, String> =
        session.env().iter().map(|e| (e.name.clone(), e.value.expose().to_owned())).collect();
    assert_eq!(env["BIGQUERY_PROJECT"], "p-1");
    let path = std::path::PathBuf::from(&env["GOOGLE_APPLICATION_CREDENTIALS"]);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), key);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }
    assert_no_key(&format!("{:?}", session.env()));
    assert_eq!(session.client().unwrap()[..2], ["bq", "--project_id=p-1"]);
    let out = session.exec(&["SELECT * FROM sales.orders".into()], &CallLimits::default()).await.unwrap();
    assert_eq!(out.content["rowCount"], 3);
    session.close().await;
    assert!(!path.exists());
}

#[tokio::test]
async fn permissions_plan_binds_the_key_s_service_account() {
    let (fake, base) = start().await;
    let tool = tool(
        &spec(&base, json!({"permissions": {"rules": [{"role": "roles/bigquery.dataViewer", "dataset": "sales"}]}})),
        &key_json(&fake.token_uri(), &fixture("test-key.p8"), "1"),
    );
    let plan = tool.permissions().unwrap().plan().await.unwrap();
    assert_eq!(plan.principal, format!("serviceAccount:{EMAIL}"));
    assert_eq!(
        plan.statements,
        [format!(
            "bq add-iam-policy-binding --member=serviceAccount:{EMAIL} --role=roles/bigquery.dataViewer p-1:sales"
        )]
    );
    assert!(fake.requests().is_empty(), "planning reads the key and sends nothing");
}

#[tokio::test]
async fn shared_behaviour_suite_without_a_server() {
    // The token endpoint answers; the API's address is what the suite points elsewhere.
    let (fake, _base) = start().await;
    let canary = toolkit_testkit::canary();
    toolkit_testkit::behaviour::Suite {
        connector: &BigQueryConnector,
        spec: spec("http://127.0.0.1:9", json!({})),
        secrets: vec![("bq".into(), "key.json".into(), key_json(&fake.token_uri(), &fixture("test-key.p8"), &canary))],
        canary,
        password: None,
        endpoint: Some(|spec, host, port| spec["config"]["url"] = json!(format!("http://{host}:{port}"))),
        timeout: Some(toolkit_testkit::behaviour::set_connect_timeout),
        require_tls: None,
        call: Some(json!({"query": "SELECT * FROM sales.orders"})),
    }
    .run_without_server()
    .await;
}

#[tokio::test]
async fn refused_tokens_are_auth_errors() {
    let (fake, base) = start().await;
    let pem = fixture("test-key.p8");
    let refused = tool(&spec(&base, json!({})), &key_json(&format!("{base}/token-401"), &pem, "1"));
    let err = refused.probe().unwrap().probe().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth, "{err}");
    assert!(err.to_string().contains("http 401") && err.to_string().contains("unauthorized_client"), "{err}");
    assert!(fake.api_requests().is_empty());

    // The API refuses the token it was given: auth, and the token is not kept.
    let revoked = tool(&spec(&base, json!({})), &key_json(&format!("{base}/token-revoked"), &pem, "1"));
    for _ in 0..2 {
        let err = revoked.probe().unwrap().probe().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Auth, "{err}");
        assert!(err.to_string().contains("authError"), "{err}");
    }
    let exchanges = fake.requests().iter().filter(|r| r.path == "/token-revoked").count();
    assert_eq!(exchanges, 2, "a token the API refused is exchanged again");
}
