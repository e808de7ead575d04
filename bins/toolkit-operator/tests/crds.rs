//! The checked-in CRDs (`deploy/crds.yaml`) are what `toolkit-operator crdgen` prints.

use std::path::Path;
use std::process::Command;

use serde_json::json;

#[test]
fn checked_in_crds_match_the_types() {
    let out = Command::new(env!("CARGO_BIN_EXE_toolkit-operator")).arg("crdgen").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let generated = String::from_utf8(out.stdout).unwrap();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/crds.yaml");
    let checked_in = std::fs::read_to_string(&path).unwrap();
    assert!(
        generated == checked_in,
        "deploy/crds.yaml is stale; regenerate it: cargo run -p toolkit-operator -- crdgen > deploy/crds.yaml"
    );
}

#[test]
fn unknown_commands_are_usage_errors() {
    let out = Command::new(env!("CARGO_BIN_EXE_toolkit-operator")).arg("reconcile").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unrecognized subcommand 'reconcile'"));
}

#[test]
fn tools_print_like_kubectl_expects() {
    let out = Command::new(env!("CARGO_BIN_EXE_toolkit-operator")).arg("crdgen").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let crds: Vec<serde_json::Value> =
        serde_yaml::Deserializer::from_str(&text).map(|d| serde::Deserialize::deserialize(d).unwrap()).collect();
    let columns = |crd: &serde_json::Value| -> Vec<String> {
        crd["spec"]["versions"][0]["additionalPrinterColumns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(columns(&crds[0]), ["Type", "Phase", "Ready", "Last Probe", "Age"]);
    assert_eq!(columns(&crds[1]), ["Phase", "Tools", "Available", "Age"]);
    let short = |crd: &serde_json::Value| crd["spec"]["names"]["shortNames"].clone();
    assert_eq!([short(&crds[0]), short(&crds[1]), short(&crds[2])], [json!(["tl"]), json!(["tr"]), json!(["ap"])]);
    for crd in &crds[..2] {
        assert_eq!(crd["spec"]["versions"][0]["subresources"], json!({"status": {}}));
    }
    let tool = &crds[0]["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
    assert!(tool["description"].as_str().unwrap().starts_with("A system an agent may reach"));
    let phase = &tool["properties"]["status"]["properties"]["phase"];
    assert_eq!(phase["enum"], json!(["Pending", "Ready", "Failed", "Disabled"]));
}

/// The Tool spec schema of the CRD, as `crdgen` prints it.
fn tool_spec_schema() -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_toolkit-operator")).arg("crdgen").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let first = serde_yaml::Deserializer::from_str(&text).next().unwrap();
    let crd: serde_json::Value = serde::Deserialize::deserialize(first).unwrap();
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"].clone()
}

/// Whether the API server would take `spec`: every field is declared by the structural schema
/// (strict field validation refuses the others), `type` is in its enum, and every rule holds.
fn admits(schema: &serde_json::Value, spec: &serde_json::Value) -> Result<(), String> {
    for (key, value) in spec.as_object().unwrap() {
        let declared = &schema["properties"][key];
        if declared.is_null() {
            return Err(format!("unknown field spec.{key}"));
        }
        if let (Some(fields), Some(props)) = (value.as_object(), declared["properties"].as_object()) {
            for k in fields.keys() {
                if !props.contains_key(k) && declared["x-kubernetes-preserve-unknown-fields"] != true {
                    return Err(format!("unknown field spec.{key}.{k}"));
                }
            }
        }
    }
    if !schema["properties"]["type"]["enum"].as_array().unwrap().contains(&spec["type"]) {
        return Err(format!("spec.type {} is not in the enum", spec["type"]));
    }
    for rule in schema["x-kubernetes-validations"].as_array().unwrap() {
        let text = rule["rule"].as_str().unwrap();
        if !cel::eval(text, spec) {
            return Err(rule["message"].as_str().unwrap().to_owned());
        }
    }
    Ok(())
}

#[test]
fn the_crd_refuses_misspelt_and_foreign_config_fields_per_type() {
    use serde_json::json;
    let schema = tool_spec_schema();
    let pg = json!({"type": "postgres", "config": {"hostname": "db", "username": "u", "databaseName": "d"}});
    admits(&schema, &pg).unwrap();
    let misspelt = json!({"type": "postgres", "config": {"hostnme": "db"}});
    assert_eq!(admits(&schema, &misspelt).unwrap_err(), "unknown field spec.config.hostnme");
    // A field of another type's config, and a block of another type.
    let foreign = json!({"type": "postgres", "config": {"hostname": "db", "brokers": ["k:9092"]}});
    assert!(admits(&schema, &foreign).unwrap_err().starts_with("tools of type postgres take config ("));
    let block = json!({"type": "redis", "config": {"hostname": "c"}, "http": {"url": "http://h"}});
    assert!(admits(&schema, &block).unwrap_err().starts_with("tools of type redis take"));
    // Required parts, and the fields CEL reserves.
    assert!(admits(&schema, &json!({"type": "http"})).unwrap_err().contains("http (required)"));
    admits(&schema, &json!({"type": "http", "http": {"url": "http://h/x"}, "authentication": {"type": "bearer"}}))
        .unwrap();
    admits(&schema, &json!({"type": "kubernetes", "config": {"apiserver": "https://k", "namespace": "apps"}})).unwrap();
    assert!(admits(&schema, &json!({"type": "my-queue"})).unwrap_err().contains("not in the enum"));
}

/// Just enough of CEL to evaluate the rules `crdgen` writes: `||`, `&&`, `!`, parentheses,
/// `has(self.a.b)`, `self.type != 'x'` and `true`.
mod cel {
    use serde_json::Value;

    pub fn eval(rule: &str, spec: &Value) -> bool {
        let tokens = tokenize(rule);
        let mut p = Parser { tokens, at: 0, spec };
        let v = p.or();
        assert_eq!(p.at, p.tokens.len(), "unparsed rest of {rule}");
        v
    }

    fn tokenize(s: &str) -> Vec<String> {
        let mut out = Vec::new();
        let chars: Vec<char> = s.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c.is_whitespace() {
                i += 1;
            } else if "()!".contains(c) && !(c == '!' && chars.get(i + 1) == Some(&'=')) {
                out.push(c.to_string());
                i += 1;
            } else if c == '\'' {
                let end = chars[i + 1..].iter().position(|&d| d == '\'').unwrap() + i + 1;
                out.push(chars[i..=end].iter().collect());
                i = end + 1;
            } else {
                let start = i;
                while i < chars.len() && !chars[i].is_whitespace() && !"()".contains(chars[i]) {
                    i += 1;
                }
                out.push(chars[start..i].iter().collect());
            }
        }
        out
    }

    struct Parser<'a> {
        tokens: Vec<String>,
        at: usize,
        spec: &'a Value,
    }

    impl Parser<'_> {
        fn peek(&self) -> Option<&str> {
            self.tokens.get(self.at).map(String::as_str)
        }

        fn next(&mut self) -> String {
            self.at += 1;
            self.tokens[self.at - 1].clone()
        }

        fn or(&mut self) -> bool {
            let mut v = self.and();
            while self.peek() == Some("||") {
                self.next();
                v |= self.and();
            }
            v
        }

        fn and(&mut self) -> bool {
            let mut v = self.unary();
            while self.peek() == Some("&&") {
                self.next();
                v &= self.unary();
            }
            v
        }

        fn unary(&mut self) -> bool {
            match self.next().as_str() {
                "!" => !self.unary(),
                "(" => {
                    let v = self.or();
                    assert_eq!(self.next(), ")");
                    v
                }
                "true" => true,
                "has" => {
                    assert_eq!(self.next(), "(");
                    let path = self.next();
                    assert_eq!(self.next(), ")");
                    let mut v = self.spec;
                    for part in path.trim_start_matches("self.").split('.') {
                        let name = part.strip_prefix("__").and_then(|p| p.strip_suffix("__")).unwrap_or(part);
                        match v.get(name) {
                            Some(next) => v = next,
                            None => return false,
                        }
                    }
                    true
                }
                "self.type" => {
                    assert_eq!(self.next(), "!=");
                    let literal = self.next();
                    self.spec["type"] != literal.trim_matches('\'')
                }
                other => panic!("unexpected token {other}"),
            }
        }
    }
}
