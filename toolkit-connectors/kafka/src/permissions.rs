//! Engine-native permissions as Kafka ACLs, planned only.
//!
//! A rule is `{resource: topic, name: "orders", pattern: literal, operations: [Read, Describe]}`
//! (`resource`: `topic`, `group`, `cluster` or `transactional_id`; `pattern`: `literal` or
//! `prefixed`; `host`: `*` by default). The plan renders one `kafka-acls --add` line per
//! operation for the principal `User:<role or SASL user>`. Applying is not supported: rskafka has
//! no CreateAcls request and the test stand-in (Tansu) has no ACLs, so an operator runs the plan
//! with `kafka-acls`. Kafka has no read-only session either, so these ACLs (Read and Describe
//! only) are the engine-level half of `readOnly`.

use async_trait::async_trait;
use serde::Deserialize;
use toolkit_core::Result;
use toolkit_core::connector::{PermissionPlan, PermissionProvisioner};
use toolkit_core::model::PermissionsSpec;
use toolkit_core::validate::FieldError;

use crate::KafkaTool;

/// ACL operations Kafka knows.
const OPERATIONS: &[&str] = &[
    "All",
    "Read",
    "Write",
    "Create",
    "Delete",
    "Alter",
    "Describe",
    "ClusterAction",
    "DescribeConfigs",
    "AlterConfigs",
    "IdempotentWrite",
    "CreateTokens",
    "DescribeTokens",
];

/// The operations a read-only tool's principal may be granted.
const READ_OPERATIONS: &[&str] = &["Read", "Describe", "DescribeConfigs"];

/// One rule of `spec.permissions.rules`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AclRule {
    /// `topic`, `group`, `cluster` or `transactional_id`.
    pub resource: String,
    /// The resource name (`kafka-cluster` for `cluster`, which may omit it).
    #[serde(default)]
    pub name: Option<String>,
    /// `literal` (default) or `prefixed`.
    #[serde(default)]
    pub pattern: Option<String>,
    /// Operations such as `Read`, `Describe`, `Write`.
    pub operations: Vec<String>,
    /// The client host the grant applies to; `*` by default.
    #[serde(default)]
    pub host: Option<String>,
}

/// The checked ACLs of a tool.
#[derive(Clone, Debug, PartialEq)]
pub struct AclPlan {
    /// The principal, `User:<name>`.
    pub principal: String,
    /// The rules.
    pub rules: Vec<AclRule>,
}

impl AclPlan {
    /// Reads and checks `spec.permissions`; `user` is the SASL user, used when no role is named.
    pub fn from_spec(spec: &PermissionsSpec, user: Option<&str>, read_only: bool) -> Result<Self, Vec<FieldError>> {
        let mut errs = Vec::new();
        let name = match (spec.role.as_deref(), user) {
            (Some(r), _) | (None, Some(r)) => r.to_owned(),
            (None, None) => {
                errs.push(FieldError::new(
                    "spec.permissions.role",
                    "is required without a SASL user: name the principal the ACLs are for",
                ));
                String::new()
            }
        };
        if name.contains(|c: char| c.is_whitespace() || c.is_control()) {
            errs.push(FieldError::new("spec.permissions.role", format!("`{name}` is not a principal name")));
        }
        let mut rules = Vec::new();
        for (i, raw) in spec.rules.iter().enumerate() {
            let path = format!("spec.permissions.rules[{i}]");
            let rule: AclRule = match serde_json::from_value(raw.clone()) {
                Ok(r) => r,
                Err(e) => {
                    errs.push(FieldError::new(
                        path,
                        format!("{e}; a rule takes `resource`, `name`, `pattern`, `operations` and `host`"),
                    ));
                    continue;
                }
            };
            match rule.resource.as_str() {
                "cluster" => {}
                "topic" | "group" | "transactional_id" => match &rule.name {
                    Some(n) if !n.is_empty() && !n.contains(char::is_whitespace) => {}
                    _ => errs.push(FieldError::new(format!("{path}.name"), "is required: the resource name")),
                },
                other => errs.push(FieldError::new(
                    format!("{path}.resource"),
                    format!("`{other}` is not one of topic, group, cluster, transactional_id"),
                )),
            }
            if let Some(p) = &rule.pattern
                && !matches!(p.as_str(), "literal" | "prefixed")
            {
                errs.push(FieldError::new(format!("{path}.pattern"), format!("`{p}` is not literal or prefixed")));
            }
            if rule.operations.is_empty() {
                errs.push(FieldError::new(format!("{path}.operations"), "name at least one operation"));
            }
            for (j, op) in rule.operations.iter().enumerate() {
                let at = format!("{path}.operations[{j}]");
                if !OPERATIONS.contains(&op.as_str()) {
                    errs.push(FieldError::new(at, format!("`{op}` is not one of {}", OPERATIONS.join(", "))));
                } else if read_only && !READ_OPERATIONS.contains(&op.as_str()) {
                    errs.push(FieldError::new(
                        at,
                        format!("the tool is read-only; grant only {}", READ_OPERATIONS.join(", ")),
                    ));
                }
            }
            if rule.host.as_deref().is_some_and(|h| h.is_empty() || h.contains(char::is_whitespace)) {
                errs.push(FieldError::new(format!("{path}.host"), "must be an address or `*`"));
            }
            rules.push(rule);
        }
        if rules.is_empty() && errs.is_empty() {
            errs.push(FieldError::new("spec.permissions.rules", "name at least one rule"));
        }
        if errs.is_empty() { Ok(Self { principal: format!("User:{name}"), rules }) } else { Err(errs) }
    }

    /// One `kafka-acls --add` line per rule and operation.
    pub fn statements(&self, bootstrap: &str) -> Vec<String> {
        let mut out = Vec::new();
        for rule in &self.rules {
            let resource = match rule.resource.as_str() {
                "cluster" => "--cluster".to_owned(),
                "transactional_id" => format!("--transactional-id {}", rule.name.as_deref().unwrap_or_default()),
                other => format!("--{other} {}", rule.name.as_deref().unwrap_or_default()),
            };
            let pattern = match rule.pattern.as_deref() {
                Some("prefixed") => " --resource-pattern-type prefixed",
                _ => "",
            };
            let host = match rule.host.as_deref() {
                Some(h) if h != "*" => format!(" --allow-host {h}"),
                _ => String::new(),
            };
            for op in &rule.operations {
                out.push(format!(
                    "kafka-acls --bootstrap-server {bootstrap} --add --allow-principal {}{host} --operation {op} {resource}{pattern}",
                    self.principal
                ));
            }
        }
        out
    }
}

#[async_trait]
impl PermissionProvisioner for KafkaTool {
    async fn plan(&self) -> Result<PermissionPlan> {
        let plan = self.acl_plan()?;
        Ok(PermissionPlan {
            principal: plan.principal.clone(),
            statements: plan.statements(&self.conn.config.bootstrap()),
            current: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use toolkit_core::model::PermissionMode;

    fn spec(rules: serde_json::Value) -> PermissionsSpec {
        PermissionsSpec { mode: PermissionMode::Declare, role: None, rules: rules.as_array().cloned().unwrap() }
    }

    #[test]
    fn renders_kafka_acls_lines() {
        let plan = AclPlan::from_spec(
            &spec(json!([
                {"resource": "topic", "name": "orders", "operations": ["Read", "Describe"]},
                {"resource": "group", "name": "app-", "pattern": "prefixed", "operations": ["Read"], "host": "10.0.0.1"},
                {"resource": "cluster", "operations": ["Describe"]}
            ])),
            Some("app"),
            true,
        )
        .unwrap();
        let b = "k:9092";
        assert_eq!(
            plan.statements(b),
            [
                "kafka-acls --bootstrap-server k:9092 --add --allow-principal User:app --operation Read --topic orders",
                "kafka-acls --bootstrap-server k:9092 --add --allow-principal User:app --operation Describe --topic orders",
                "kafka-acls --bootstrap-server k:9092 --add --allow-principal User:app --allow-host 10.0.0.1 --operation Read --group app- --resource-pattern-type prefixed",
                "kafka-acls --bootstrap-server k:9092 --add --allow-principal User:app --operation Describe --cluster",
            ]
        );
    }

    #[test]
    fn names_bad_rules() {
        let errs = AclPlan::from_spec(
            &spec(json!([
                {"resource": "topic", "operations": ["Write"]},
                {"resource": "queue", "name": "q", "pattern": "regex", "operations": ["Fly"]},
                {"resource": "topic", "name": "t"}
            ])),
            None,
            true,
        )
        .unwrap_err();
        let paths: Vec<_> = errs.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "spec.permissions.role",
                "spec.permissions.rules[0].name",
                "spec.permissions.rules[0].operations[0]",
                "spec.permissions.rules[1].resource",
                "spec.permissions.rules[1].pattern",
                "spec.permissions.rules[1].operations[0]",
                "spec.permissions.rules[2]"
            ]
        );
    }
}
