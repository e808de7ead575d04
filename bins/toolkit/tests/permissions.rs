//! `toolkit tool permissions` against the local PostgreSQL and Redis: the plan, `--apply` in
//! enforce mode, the grants read back, and the refusal in declare mode.

use std::path::PathBuf;
use std::process::{Command, Output};

use toolkit_testkit::{canary, service, unique_name};

struct Env {
    _dir: tempfile::TempDir,
    tools: PathBuf,
    state: PathBuf,
}

impl Env {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let tools = dir.path().join("tools");
        let state = dir.path().join("state");
        std::fs::create_dir_all(&tools).unwrap();
        Self { _dir: dir, tools, state }
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.tools.join(name), text).unwrap();
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_toolkit"))
            .arg("--tools")
            .arg(&self.tools)
            .arg("--state")
            .arg(&self.state)
            .args(args)
            .env_remove("TOOLKIT_TOOLS")
            .env_remove("TOOLKIT_STATE")
            .output()
            .unwrap()
    }

    fn expect(&self, args: &[&str], code: i32) -> String {
        let out = self.run(args);
        let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "toolkit {args:?}\n{text}");
        text
    }

    fn json(&self, args: &[&str]) -> serde_json::Value {
        let out = self.run(args);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "toolkit {args:?}\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_str(&stdout).unwrap()
    }
}

fn psql(host: &str, port: &str, user: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args(["-X", "-tA", "-v", "ON_ERROR_STOP=1", "-h", host, "-p", port, "-U", user, "-d", "postgres", "-c", sql])
        .output()
        .unwrap();
    assert!(out.status.success(), "psql {sql}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn postgres_permissions_plan_apply_and_read_back() {
    let (Some(host), Some(port), Some(admin)) =
        (service("TOOLKIT_TEST_PG_HOST"), service("TOOLKIT_TEST_PG_PORT"), service("TOOLKIT_TEST_PG_ADMIN_USER"))
    else {
        return;
    };
    let env = Env::new();
    let password = canary();
    let owner = unique_name("tk_owner");
    let reader = unique_name("tk_reader");
    let schema = unique_name("tk_perm");
    psql(
        &host,
        &port,
        &admin,
        &format!(
            "create role {owner} login password '{password}' in role toolkit_pw; create role {reader} nologin; \
             create schema {schema} authorization {owner}; create table {schema}.orders (id int); \
             alter table {schema}.orders owner to {owner}"
        ),
    );
    let tool = |name: &str, mode: &str| {
        format!(
            "apiVersion: toolkit.dev/v1alpha1
kind: Tool
metadata: {{name: {name}}}
spec:
  type: postgres
  description: pg
  config: {{hostname: '{host}', port: {port}, username: {owner}, databaseName: postgres, sslMode: disable,
            credentialsRef: {{name: pw, key: value}}}}
  permissions:
    mode: {mode}
    role: {reader}
    rules: [{{schema: {schema}, tables: ['*'], privileges: [SELECT]}}]
---
"
        )
    };
    env.write(
        "pg.yaml",
        &(tool("pg", "enforce")
            + &tool("pg-declared", "declare")
            + &format!("apiVersion: v1\nkind: Secret\nmetadata: {{name: pw}}\nstringData: {{value: {password}}}\n")),
    );

    let plan = env.json(&["tool", "permissions", "pg", "-o", "json"]);
    assert_eq!(plan["plan"]["principal"], reader.as_str());
    assert_eq!(
        plan["plan"]["statements"][1],
        format!("GRANT SELECT ON ALL TABLES IN SCHEMA \"{schema}\" TO \"{reader}\"")
    );
    assert!(plan["plan"].get("current").is_none(), "{plan}");
    assert_eq!(plan["applied"], false);
    let table = env.expect(&["tool", "permissions", "pg"], 0);
    assert!(table.contains("PLANNED") && table.contains("GRANT USAGE") && table.contains("(nothing)"), "{table}");

    // declare mode plans but refuses to apply, as a configuration error (exit 3).
    let out = env.expect(&["tool", "permissions", "pg-declared", "--apply"], 3);
    assert!(out.contains("declare"), "{out}");
    assert_eq!(
        psql(&host, &port, &admin, &format!("select has_table_privilege('{reader}', '{schema}.orders', 'SELECT')")),
        "f"
    );

    let applied = env.json(&["tool", "permissions", "pg", "--apply", "-o", "json"]);
    assert_eq!(applied["applied"], true);
    assert_eq!(applied["plan"]["current"], serde_json::json!([format!("SELECT ON {schema}.orders")]), "{applied}");
    assert_eq!(
        psql(&host, &port, &admin, &format!("select has_table_privilege('{reader}', '{schema}.orders', 'SELECT')")),
        "t"
    );
    let yaml = env.expect(&["tool", "permissions", "pg", "-o", "yaml"], 0);
    assert!(yaml.contains(&format!("SELECT ON {schema}.orders")), "{yaml}");

    let audit = env.expect(&["audit", "-o", "json"], 0);
    assert!(audit.contains("\"operation\": \"permissions\"") && audit.contains("\"applied\""), "{audit}");
    assert!(audit.contains("denied: declare mode"), "{audit}");
    assert!(!audit.contains(&password), "{audit}");

    psql(&host, &port, &admin, &format!("drop schema {schema} cascade; drop role {reader}; drop role {owner}"));
}

#[test]
fn redis_permissions_plan_apply_and_read_back() {
    let (Some(host), Some(port)) = (service("TOOLKIT_TEST_REDIS_HOST"), service("TOOLKIT_TEST_REDIS_PORT")) else {
        return;
    };
    let env = Env::new();
    let user = unique_name("tk_acl");
    env.write(
        "redis.yaml",
        &format!(
            "apiVersion: toolkit.dev/v1alpha1
kind: Tool
metadata: {{name: cache}}
spec:
  type: redis
  description: r
  config: {{hostname: '{host}', port: {port}}}
  permissions:
    mode: enforce
    role: {user}
    rules: [{{keys: ['app:*'], commands: ['+@read']}}]
"
        ),
    );
    let plan = env.json(&["tool", "permissions", "cache", "-o", "json"]);
    assert_eq!(
        plan["plan"]["statements"][0],
        format!("ACL SETUSER {user} on resetkeys resetchannels -@all clearselectors ~app:* +@read")
    );
    let applied = env.json(&["tool", "permissions", "cache", "--apply", "-o", "json"]);
    let current = applied["plan"]["current"].to_string();
    assert!(current.contains("~app:*") && current.contains("+@read"), "{applied}");
    let out = env.expect(&["tool", "exec", "cache", "--", "ACL", "GETUSER", &user], 0);
    assert!(out.contains("~app:*"), "{out}");
    env.expect(&["tool", "exec", "cache", "--", "ACL", "DELUSER", &user], 0);
}

/// Kubernetes plans are manifests: stdout is one YAML stream whose documents parse back into
/// the RBAC objects (no server needed to plan in declare mode), and `kubectl apply -f -` takes
/// it unchanged.
#[test]
fn kubernetes_permissions_print_as_a_yaml_stream() {
    let env = Env::new();
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/tools/kubernetes.yaml");
    env.write("kubernetes.yaml", &std::fs::read_to_string(example).unwrap());
    let text = env.expect(&["tool", "permissions", "cluster-reader"], 0);
    let kinds: Vec<String> = serde_yaml::Deserializer::from_str(&text)
        .map(|doc| {
            let value: serde_json::Value =
                serde::Deserialize::deserialize(doc).unwrap_or_else(|e| panic!("{e}: {text}"));
            value["kind"].as_str().unwrap_or_default().to_owned()
        })
        .collect();
    assert_eq!(kinds, ["ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"], "{text}");
    assert!(!text.contains("example-only-token"), "{text}");

    let dir = tempfile::tempdir().unwrap();
    let Some(cluster) = toolkit_testkit::kube::Cluster::from_env(dir.path()) else { return };
    let plan = dir.path().join("plan.yaml");
    std::fs::write(&plan, &text).unwrap();
    let namespaces: std::collections::BTreeSet<String> = serde_yaml::Deserializer::from_str(&text)
        .filter_map(|doc| {
            let value: serde_json::Value = serde::Deserialize::deserialize(doc).ok()?;
            value["metadata"]["namespace"].as_str().map(str::to_owned)
        })
        .collect();
    for ns in namespaces {
        cluster.apply(&format!("apiVersion: v1\nkind: Namespace\nmetadata: {{name: {ns}}}\n"));
    }
    let applied = cluster.kubectl(&["apply", "--validate=false", "-f", plan.to_str().unwrap()]);
    assert_eq!(applied.lines().count(), 5, "{applied}");
}
