//! End-to-end tests of the `toolkit` binary against real services: SQLite files, the local
//! PostgreSQL and Redis, and an HTTP server started by the test. A canary secret is planted in
//! every run, and every output and the state directory are searched for it.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use toolkit_testkit::{assert_not_in_dir, canary, service, unique_name};

struct Env {
    _dir: tempfile::TempDir,
    tools: PathBuf,
    state: PathBuf,
    canary: String,
    outputs: Vec<String>,
}

impl Env {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let tools = dir.path().join("tools");
        let state = dir.path().join("state");
        std::fs::create_dir_all(&tools).unwrap();
        let canary = canary();
        let env = Self { _dir: dir, tools, state, canary, outputs: Vec::new() };
        env.write(
            "secrets.yaml",
            &format!(
                "apiVersion: v1\nkind: Secret\nmetadata: {{name: canary}}\nstringData: {{value: {}}}\n",
                env.canary
            ),
        );
        env
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.tools.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_toolkit"));
        // Debug logs on, so that the canary search covers what the logs would say too.
        cmd.arg("--tools").arg(&self.tools).arg("--state").arg(&self.state).arg("-vv").args(args);
        cmd.env_remove("TOOLKIT_TOOLS").env_remove("TOOLKIT_STATE");
        cmd
    }

    fn run(&mut self, args: &[&str]) -> Output {
        let out = self.command(args).output().unwrap();
        self.outputs.push(String::from_utf8_lossy(&out.stdout).into_owned());
        self.outputs.push(String::from_utf8_lossy(&out.stderr).into_owned());
        out
    }

    /// Runs and expects `code`; returns stdout.
    fn expect(&mut self, args: &[&str], code: i32) -> String {
        let out = self.run(args);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(code), "toolkit {args:?}\nstdout:\n{stdout}\nstderr:\n{stderr}");
        stdout + &stderr
    }

    /// Runs and expects `code`; parses stdout as JSON.
    fn json(&mut self, args: &[&str], code: i32) -> serde_json::Value {
        let out = self.run(args);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert_eq!(
            out.status.code(),
            Some(code),
            "toolkit {args:?}\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("toolkit {args:?}: not JSON ({e}):\n{stdout}"))
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        for o in &self.outputs {
            assert!(!o.contains(&self.canary), "canary secret in CLI output:\n{o}");
        }
        assert_not_in_dir(&self.state, &self.canary);
    }
}

fn sqlite_db(dir: &Path) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/data/demo.db");
    let dst = dir.join("demo.db");
    std::fs::copy(src, &dst).unwrap();
    dst
}

const NOOP: &str = "apiVersion: toolkit.dev/v1alpha1
kind: Tool
metadata: {name: echo}
spec:
  type: builtin
  description: echoes
  builtin: {name: noop}
  inputSchema: {type: object, properties: {message: {type: string}}, required: [message]}
  rateLimit: {requestsPerMinute: 60, burst: 3}
";

#[test]
fn validate_reports_every_problem_on_one_line() {
    let mut env = Env::new();
    env.write("ok.yaml", NOOP);
    env.write(
        "bad.yaml",
        "apiVersion: toolkit.dev/v1alpha1
kind: Tool
metadata: {name: broken, namespace: prod}
spec:
  type: http
  description: ''
  http: {url: 'http://h/{city}'}
  rateLimit: {requestsPerMinute: 0}
---
apiVersion: toolkit.dev/v1alpha1
kind: Tool
metadata: {name: typo}
spec: {type: postgres, config: {hostnme: x}}
",
    );
    let out = env.expect(&["validate"], 3);
    assert!(out.contains("bad.yaml: tool prod/broken: spec.description: must not be empty"), "{out}");
    assert!(out.contains("spec.http.url: placeholder `{city}` is not declared"), "{out}");
    assert!(out.contains("spec.rateLimit.requestsPerMinute: 0 is out of range"), "{out}");
    assert!(out.contains("tool default/typo: spec.config.hostnme: unknown field; did you mean `hostname`?"), "{out}");
    assert!(out.contains("3 tools in 3 files: 1 valid, 2 invalid"), "{out}");
    for line in out.lines().filter(|l| l.starts_with("error:")) {
        assert!(line.contains(".yaml"), "error line names no file: {line}");
    }
    let v = env.json(&["validate", "-o", "json"], 3);
    assert_eq!(v["valid"], false);

    // A listed tool says why it is not served.
    let list = env.expect(&["tool", "list"], 0);
    assert!(list.contains("prod/broken") && list.contains("spec.description"), "{list}");
    // Calling it says so too.
    let out = env.expect(&["tool", "call", "prod/broken"], 3);
    assert!(out.contains("not usable"), "{out}");
}

#[test]
fn missing_folder_and_bad_yaml_are_clear() {
    let mut env = Env::new();
    let out = env.expect(&["--tools", "/nonexistent/tools", "validate"], 3);
    assert!(out.contains("/nonexistent/tools") && out.contains("--tools"), "{out}");
    env.write("broken.yaml", "apiVersion: toolkit.dev/v1alpha1\nkind: Tool\nmetadata: {name: x\n");
    let out = env.expect(&["validate"], 3);
    assert!(out.contains("broken.yaml: document 1: invalid YAML"), "{out}");
}

#[test]
fn builtin_call_validates_limits_and_audits() {
    let mut env = Env::new();
    env.write("echo.yaml", NOOP);
    let out = env.expect(&["tool", "call", "echo", "--args", r#"{"message": "hi"}"#, "-o", "json"], 0);
    assert!(out.contains(r#""message": "hi""#), "{out}");
    let out = env.expect(&["tool", "call", "echo", "--args", r#"{"message": 5, "extra": true}"#], 7);
    assert!(out.contains("invalid arguments") && out.contains("/message"), "{out}");
    let out = env.expect(&["tool", "call", "echo", "--args", "not json"], 7);
    assert!(out.contains("--args is not JSON"), "{out}");
    let out = env.expect(&["tool", "call", "nope"], 4);
    assert!(out.contains("tool default/nope is not declared"), "{out}");

    // The audit log has every call, with the decision.
    let records = env.json(&["audit", "--tool", "echo", "-o", "json"], 0);
    assert!(records.as_array().unwrap().len() >= 2);
    assert_eq!(records[0]["decision"], "denied: invalid arguments");
    assert_eq!(records[1]["outcome"], "ok");

    let list = env.json(&["tool", "list", "-o", "json"], 0);
    assert_eq!(list[0]["invocationCount"], 2);
    assert_eq!(list[0]["errorCount"], 1);
}

#[test]
fn rate_limit_within_one_process_says_when_to_retry() {
    // Each CLI process has its own buckets; the gateway keeps them across calls. Here a burst of
    // 3 is spent within one process through the library.
    let env = Env::new();
    env.write("echo.yaml", NOOP);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let runtime = toolkit_runtime::Runtime::load(
            &toolkit_runtime::RuntimeOptions { tools: vec![env.tools.clone()], state_dir: env.state.clone() },
            toolkit_connectors::registry(),
        )
        .await
        .unwrap();
        let caller = toolkit_runtime::Caller::local();
        let echo: toolkit_core::ToolRef = "echo".parse().unwrap();
        for _ in 0..3 {
            runtime.call(&caller, &echo, serde_json::json!({"message": "x"})).await.unwrap();
        }
        let err = runtime.call(&caller, &echo, serde_json::json!({"message": "x"})).await.unwrap_err();
        assert_eq!(err.kind(), toolkit_core::ErrorKind::Denied);
        assert!(err.to_string().contains("retry in"), "{err}");
        assert!(err.is_retryable());
    });
}

#[test]
fn sqlite_exec_call_and_read_only() {
    let mut env = Env::new();
    let db = sqlite_db(env.tools.parent().unwrap());
    env.write(
        "db.yaml",
        &format!(
            "apiVersion: toolkit.dev/v1alpha1
kind: Tool
metadata: {{name: customers}}
spec:
  type: sqlite
  description: demo
  config: {{path: {}}}
  readOnly: true
  limits: {{maxRows: 2}}
",
            db.display()
        ),
    );
    env.expect(&["validate"], 0);
    let out = env.expect(&["tool", "probe", "customers"], 0);
    assert!(out.contains("Ready"), "{out}");
    let out = env.expect(&["tool", "exec", "customers", "--", "select name from customers order by id"], 0);
    assert!(out.contains("Ada Lovelace") && out.contains("Grace Hopper"), "{out}");
    assert!(!out.contains("Katherine"), "row cap not applied: {out}");
    let out = env.expect(
        &["tool", "call", "customers", "--args", r#"{"query": "select count(*) as n from orders"}"#, "-o", "json"],
        0,
    );
    assert!(out.contains("\"n\": 6"), "{out}");
    for write in [
        "delete from customers",
        "insert into customers (name, country, since) values ('x','y','z')",
        "drop table orders",
    ] {
        let out =
            env.expect(&["tool", "call", "customers", "--args", &serde_json::json!({"query": write}).to_string()], 5);
        assert!(out.contains("denied") || out.contains("refused"), "{write}: {out}");
    }
    let out = env.expect(&["tool", "exec", "customers", "--", "select count(*) as n from customers"], 0);
    assert!(out.contains('5'), "table changed: {out}");
}

fn pg_env() -> Option<(String, String, String)> {
    Some((service("TOOLKIT_TEST_PG_HOST")?, service("TOOLKIT_TEST_PG_PORT")?, service("TOOLKIT_TEST_PG_ADMIN_USER")?))
}

fn psql(host: &str, port: &str, user: &str, sql: &str) {
    let out = Command::new("psql")
        .args(["-X", "-v", "ON_ERROR_STOP=1", "-h", host, "-p", port, "-U", user, "-d", "postgres", "-c", sql])
        .output()
        .unwrap();
    assert!(out.status.success(), "psql {sql}: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn postgres_probe_exec_wrong_password_and_connect() {
    let Some((host, port, admin)) = pg_env() else { return };
    let mut env = Env::new();
    let role = unique_name("toolkit_cli");
    psql(&host, &port, &admin, &format!("create role {role} login password '{}' in role toolkit_pw", env.canary));
    let tool = |name: &str, secret: &str| {
        format!(
            "apiVersion: toolkit.dev/v1alpha1
kind: Tool
metadata: {{name: {name}}}
spec:
  type: postgres
  description: pg
  idleTimeout: 2s
  config: {{hostname: '{host}', port: {port}, username: {role}, databaseName: postgres, sslMode: disable,
            credentialsRef: {{name: {secret}, key: value}}}}
  readOnly: true
"
        )
    };
    env.write("pg.yaml", &tool("pg", "canary"));
    env.write(
        "wrong.yaml",
        &(tool("pg-wrong", "wrong")
            + "---\napiVersion: v1\nkind: Secret\nmetadata: {name: wrong}\nstringData: {value: not-the-password}\n"),
    );
    env.write(
        "down.yaml",
        "apiVersion: toolkit.dev/v1alpha1\nkind: Tool\nmetadata: {name: pg-down}\nspec:\n  type: postgres\n  description: pg\n  config: {hostname: 127.0.0.1, port: 1, username: x, databaseName: postgres}\n",
    );
    env.expect(&["validate"], 0);

    let out = env.expect(&["tool", "probe", "pg"], 0);
    assert!(out.contains("Ready") && out.contains("PostgreSQL"), "{out}");
    let out = env.expect(&["tool", "probe", "pg-wrong"], 5);
    assert!(out.contains("auth"), "{out}");
    let out = env.expect(&["tool", "probe", "pg-down"], 6);
    assert!(out.contains("unreachable"), "{out}");
    assert_eq!(env.json(&["tool", "probe", "--all", "-o", "json"], 6).as_array().unwrap().len(), 3);

    let out = env.expect(&["tool", "exec", "pg", "--", "select", "current_user", "as", "who"], 0);
    assert!(out.contains(&role), "{out}");
    // Parser and engine both refuse writes on a read-only tool.
    let out = env.expect(&["tool", "exec", "pg", "--", "create table t (a int)"], 5);
    assert!(out.contains("refused"), "{out}");

    // connect injects the env into the child only; the value never reaches our output.
    let mut cmd = env.command(&[
        "tool",
        "connect",
        "pg",
        "--",
        "sh",
        "-c",
        "test \"$PGPASSWORD\" = \"$EXPECTED\" && echo user=$PGUSER",
    ]);
    let out = cmd.env("EXPECTED", &env.canary).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && stdout.contains(&format!("user={role}")),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The idle timeout ends a session without a terminal after idleTimeout (2s).
    let started = Instant::now();
    let out = env.expect(&["tool", "connect", "pg", "--", "sleep", "30"], 6);
    assert!(out.contains("idle"), "{out}");
    assert!(started.elapsed() < Duration::from_secs(20));

    // pause ends a running session from another process.
    let mut child =
        env.command(&["tool", "connect", "pg", "--", "sleep", "30"]).stderr(Stdio::piped()).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let s = env.expect(&["tool", "status", "-o", "json"], 0);
        if s.contains("\"active\"") {
            break;
        }
        assert!(Instant::now() < deadline, "session never showed up: {s}");
        std::thread::sleep(Duration::from_millis(200));
    }
    env.expect(&["tool", "pause", "pg"], 0);
    let status = child.wait().unwrap();
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert_eq!(status.code(), Some(5), "{err}");
    assert!(err.contains("paused"), "{err}");
    let all = env.expect(&["tool", "status", "--all"], 0);
    assert!(all.contains("paused") && all.contains("idle"), "{all}");

    psql(&host, &port, &admin, &format!("drop role {role}"));
}

#[test]
fn redis_probe_and_exec() {
    let (Some(host), Some(port)) = (service("TOOLKIT_TEST_REDIS_HOST"), service("TOOLKIT_TEST_REDIS_PORT")) else {
        return;
    };
    let mut env = Env::new();
    let key = unique_name("toolkit_cli");
    env.write(
        "redis.yaml",
        &format!(
            "apiVersion: toolkit.dev/v1alpha1\nkind: Tool\nmetadata: {{name: cache}}\nspec:\n  type: redis\n  description: r\n  config: {{hostname: '{host}', port: {port}}}\n"
        ),
    );
    let out = env.expect(&["tool", "probe", "cache"], 0);
    assert!(out.contains("Ready"), "{out}");
    env.expect(&["tool", "exec", "cache", "--", "SET", &key, "hello"], 0);
    let out =
        env.expect(&["tool", "call", "cache", "--args", &serde_json::json!({"command": ["GET", key]}).to_string()], 0);
    assert!(out.contains("hello"), "{out}");
    env.expect(&["tool", "exec", "cache", "--", "DEL", &key], 0);
}

/// A one-route HTTP server that records the requests it gets.
fn http_upstream() -> (String, std::sync::mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                head.push_str(&line);
            }
            let _ = tx.send(head);
            let body = r#"{"results":[{"name":"Paris","latitude":48.85}]}"#;
            let mut s = stream;
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (format!("http://{addr}"), rx)
}

#[test]
fn http_call_injects_auth_and_redacts() {
    let mut env = Env::new();
    let (base, requests) = http_upstream();
    env.write(
        "http.yaml",
        &format!(
            "apiVersion: toolkit.dev/v1alpha1
kind: Tool
metadata: {{name: geo}}
spec:
  type: http
  description: coordinates
  inputSchema: {{type: object, properties: {{city: {{type: string}}}}, required: [city]}}
  http: {{url: '{base}/v1/search?name={{city}}&count=1'}}
  authentication: {{type: bearer, secretRef: {{name: canary, key: value}}}}
"
        ),
    );
    let out = env.expect(&["tool", "call", "geo", "--args", r#"{"city": "Paris & co/../x"}"#, "-o", "json"], 0);
    assert!(out.contains("48.85"), "{out}");
    let head = requests.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(head.starts_with("GET /v1/search?name=Paris%20%26%20co%2F..%2Fx&count=1 "), "{head}");
    assert!(head.contains(&format!("Bearer {}", env.canary)), "auth not injected: {head}");
}

#[test]
fn tools_of_registry_upstreams_are_listed_and_called() {
    let Some(servers) = toolkit_testkit::mcp_servers() else { return };
    let mut env = Env::new();
    env.write(
        "registry.yaml",
        &format!(
            "apiVersion: toolkit.dev/v1alpha1\nkind: ToolRegistry\nmetadata: {{name: upstreams}}\nspec:\n  upstreams:\n    \
             - name: ev\n      mcp: {{command: [{}, {}, stdio]}}\n      allow: [get-sum]\n",
            serde_json::to_string(&servers.node).unwrap(),
            serde_json::to_string(&servers.everything).unwrap()
        ),
    );
    let list = env.json(&["tool", "list", "-o", "json"], 0);
    let sum = list.as_array().unwrap().iter().find(|t| t["tool"]["name"] == "ev_get-sum");
    assert!(sum.is_some_and(|t| t["served"] == true), "{list}");
    let out = env.expect(&["tool", "call", "ev_get-sum", "--args", r#"{"a": 1, "b": 2}"#], 0);
    assert!(out.contains("The sum of 1 and 2 is 3."), "{out}");
    let out = env.expect(&["tool", "call", "ev_get-sum", "--args", r#"{"a": "one"}"#], 7);
    assert!(out.contains("invalid arguments"), "{out}");
}
