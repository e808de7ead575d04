//! `toolkit tool schema`: the definitions agents see, as MCP tools and as OpenAI functions, from a
//! temporary tools folder.

use std::path::PathBuf;
use std::process::Command;

use serde_json::{Value, json};

struct Env {
    _dir: tempfile::TempDir,
    tools: PathBuf,
    state: PathBuf,
}

const TOOLS: &str = r#"
apiVersion: toolkit.dev/v1alpha1
kind: Tool
metadata: {name: echo}
spec:
  type: builtin
  displayName: Echo
  description: Returns its arguments.
  builtin: {name: noop}
  readOnly: true
  inputSchema:
    type: object
    properties: {message: {type: string}}
    required: [message]
    additionalProperties: false
  outputSchema: {type: object, properties: {message: {type: string}}}
---
apiVersion: toolkit.dev/v1alpha1
kind: Tool
metadata: {name: lookup.v2, namespace: prod}
spec:
  type: builtin
  description: A name OpenAI does not allow as it is.
  builtin: {name: noop}
  inputSchema: {type: object, properties: {q: {type: string}}}
  annotations: {destructiveHint: false, title: Lookup}
---
apiVersion: toolkit.dev/v1alpha1
kind: Tool
metadata: {name: off}
spec:
  type: builtin
  enabled: false
  builtin: {name: noop}
---
apiVersion: toolkit.dev/v1alpha1
kind: Tool
metadata: {name: broken}
spec: {type: builtin}
"#;

impl Env {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let tools = dir.path().join("tools");
        std::fs::create_dir_all(&tools).unwrap();
        std::fs::write(tools.join("tools.yaml"), TOOLS).unwrap();
        let state = dir.path().join("state");
        Self { _dir: dir, tools, state }
    }

    fn run(&self, args: &[&str]) -> (Option<i32>, String, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_toolkit"))
            .arg("--tools")
            .arg(&self.tools)
            .arg("--state")
            .arg(&self.state)
            .args(["tool", "schema"])
            .args(args)
            .env_remove("TOOLKIT_TOOLS")
            .env_remove("TOOLKIT_STATE")
            .output()
            .unwrap();
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        (out.status.code(), text(&out.stdout), text(&out.stderr))
    }

    fn json(&self, args: &[&str]) -> Value {
        let (code, stdout, stderr) = self.run(args);
        assert_eq!(code, Some(0), "schema {args:?}\n{stdout}\n{stderr}");
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("schema {args:?}: not JSON ({e}):\n{stdout}"))
    }
}

#[test]
fn mcp_definitions_of_every_served_tool() {
    let env = Env::new();
    let all = env.json(&[]);
    let names: Vec<&str> = all.as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    // Disabled and invalid tools are not served; the default namespace has no prefix.
    assert_eq!(names, ["echo", "prod__lookup.v2"]);
    assert_eq!(
        all[0],
        json!({
            "name": "echo",
            "title": "Echo",
            "description": "Returns its arguments.",
            "inputSchema": {"type": "object", "properties": {"message": {"type": "string"}},
                            "required": ["message"], "additionalProperties": false},
            "outputSchema": {"type": "object", "properties": {"message": {"type": "string"}}},
            "annotations": {"readOnlyHint": true}
        })
    );
    assert_eq!(all[1]["title"], "Lookup");
    assert_eq!(all[1]["annotations"], json!({"title": "Lookup", "destructiveHint": false}));

    // One tool by MCP name, by NAMESPACE/NAME, or by NAME in the default namespace.
    assert_eq!(env.json(&["prod__lookup.v2"]), all[1]);
    assert_eq!(env.json(&["prod/lookup.v2"]), all[1]);
    assert_eq!(env.json(&["echo", "--format", "mcp"]), all[0]);
}

#[test]
fn openai_function_definitions() {
    let env = Env::new();
    let all = env.json(&["--format", "openai"]);
    assert_eq!(
        all[0],
        json!({"type": "function", "function": {
            "name": "echo",
            "description": "Returns its arguments.",
            "parameters": {"type": "object", "properties": {"message": {"type": "string"}},
                           "required": ["message"], "additionalProperties": false}
        }})
    );
    let name = all[1]["function"]["name"].as_str().unwrap();
    assert!(name.starts_with("prod__lookup_v2-"), "{name}");
    assert!(name.len() <= 64 && name.chars().all(|c| c.is_ascii_alphanumeric() || "_-".contains(c)), "{name}");

    let (code, stdout, stderr) = env.run(&["--format", "openai", "--strict"]);
    assert_eq!(code, Some(0), "{stderr}");
    let strict: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(strict[0]["function"]["strict"], true);
    assert_eq!(strict[1]["function"]["strict"], false);
    assert!(stderr.contains("prod__lookup.v2: not strict"), "{stderr}");
}

#[test]
fn yaml_on_request() {
    let env = Env::new();
    let (code, stdout, _) = env.run(&["echo", "-o", "yaml"]);
    assert_eq!(code, Some(0));
    let v: Value = serde_yaml::from_str(&stdout).unwrap();
    assert_eq!(v["name"], "echo");
}

#[test]
fn tools_not_served_say_why() {
    let env = Env::new();
    for (name, code, says) in
        [("nope", 4, "not declared"), ("off", 4, "disabled"), ("broken", 3, "not usable"), ("a/b/c", 7, "")]
    {
        let (got, stdout, stderr) = env.run(&[name]);
        assert_eq!(got, Some(code), "{name}: {stdout}{stderr}");
        assert!(stdout.is_empty() && stderr.contains(says), "{name}: {stderr}");
    }
    let (code, _, _) = env.run(&["--format", "xml"]);
    assert_eq!(code, Some(2));
}
