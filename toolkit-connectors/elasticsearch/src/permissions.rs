//! Engine-native permissions, planned only: `spec.permissions.rules`
//! (`[{indices: ["logs-*"], privileges: ["read"]}]`) rendered as the security API requests that
//! create the role `toolkit_<user>` and give it to the user, in the dialect of the cluster's
//! distribution (Elasticsearch `_security`, OpenSearch `_plugins/_security`). Applying them is
//! left to an administrator: `apply` is unsupported.

use async_trait::async_trait;
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};
use toolkit_core::connector::{PermissionPlan, PermissionProvisioner};
use toolkit_core::model::PermissionsSpec;
use toolkit_core::validate::{FieldError, config_error};
use toolkit_core::{Error, Result};

use crate::EsTool;

/// One rule of `spec.permissions.rules`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IndexRule {
    /// Index names or patterns.
    pub indices: Vec<String>,
    /// Index privileges (`read`, `view_index_metadata`, `write`...) or, on OpenSearch, action
    /// groups and actions (`indices:data/read/search`).
    pub privileges: Vec<String>,
}

/// Which security API dialect to render.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Distribution {
    /// Elasticsearch: `PUT _security/role/<name>`.
    Elasticsearch,
    /// OpenSearch security plugin: `PUT _plugins/_security/api/roles/<name>`.
    Opensearch,
}

/// The checked permissions of a tool.
#[derive(Clone, Debug, PartialEq)]
pub struct RolePlan {
    /// The user the role is for.
    pub user: String,
    /// The rules.
    pub rules: Vec<IndexRule>,
}

fn is_token(s: &str) -> bool {
    !s.is_empty() && !s.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '\\' | '?' | '#'))
}

impl RolePlan {
    /// Reads and checks `spec.permissions`; the connection user is used when no role is named,
    /// and the tool's name when there is neither.
    pub fn from_spec(spec: &PermissionsSpec, user: Option<&str>, tool: &str) -> Result<Self, Vec<FieldError>> {
        let mut errs = Vec::new();
        let user = spec.role.as_deref().or(user).unwrap_or(tool).to_owned();
        if !is_token(&user) || user.contains('/') {
            errs.push(FieldError::new("spec.permissions.role", format!("`{user}` is not a user name")));
        }
        if spec.rules.is_empty() {
            errs.push(FieldError::new("spec.permissions.rules", "grants nothing; add `{indices, privileges}` rules"));
        }
        let mut rules = Vec::new();
        for (i, raw) in spec.rules.iter().enumerate() {
            let path = format!("spec.permissions.rules[{i}]");
            let rule: IndexRule = match serde_json::from_value(raw.clone()) {
                Ok(r) => r,
                Err(e) => {
                    errs.push(FieldError::new(path, format!("{e}; a rule takes `indices` and `privileges`")));
                    continue;
                }
            };
            for (field, list) in [("indices", &rule.indices), ("privileges", &rule.privileges)] {
                if list.is_empty() {
                    errs.push(FieldError::new(format!("{path}.{field}"), "must list at least one"));
                }
                for (j, v) in list.iter().enumerate() {
                    if !is_token(v) {
                        errs.push(FieldError::new(format!("{path}.{field}[{j}]"), format!("`{v}` is not valid here")));
                    }
                }
            }
            rules.push(rule);
        }
        if errs.is_empty() { Ok(Self { user, rules }) } else { Err(errs) }
    }

    /// The role's name: `toolkit_<user>`.
    pub fn role(&self) -> String {
        format!("toolkit_{}", self.user)
    }

    /// The requests, as `METHOD path body` lines, in the order they apply.
    pub fn statements(&self, distribution: Distribution) -> Vec<String> {
        let role = self.role();
        match distribution {
            Distribution::Elasticsearch => {
                let indices: Vec<Value> =
                    self.rules.iter().map(|r| json!({"names": r.indices, "privileges": r.privileges})).collect();
                vec![
                    format!("PUT _security/role/{role} {}", json!({"indices": indices})),
                    // For a native user; an existing user keeps its password, and this replaces its roles.
                    format!("POST _security/user/{} {}", self.user, json!({"roles": [role]})),
                ]
            }
            Distribution::Opensearch => {
                let perms: Vec<Value> = self
                    .rules
                    .iter()
                    .map(|r| json!({"allowed_actions": r.privileges, "index_patterns": r.indices}))
                    .collect();
                vec![
                    format!(
                        "PUT _plugins/_security/api/roles/{role} {}",
                        json!({"cluster_permissions": [], "index_permissions": perms})
                    ),
                    format!("PUT _plugins/_security/api/rolesmapping/{role} {}", json!({"users": [self.user]})),
                ]
            }
        }
    }
}

impl EsTool {
    fn role_plan(&self) -> Result<RolePlan> {
        let spec = self
            .permissions
            .as_ref()
            .ok_or_else(|| Error::unsupported("plan permissions: the tool declares no `spec.permissions`"))?;
        RolePlan::from_spec(spec, self.client.config.username(), &self.name)
            .map_err(|errs| config_error("plan permissions", &errs))
    }
}

#[async_trait]
impl PermissionProvisioner for EsTool {
    /// The plan in the dialect of the cluster's distribution; in both when the cluster does not
    /// say which it is.
    async fn plan(&self) -> Result<PermissionPlan> {
        let plan = self.role_plan()?;
        let limit = self.client.config.connect_timeout * 2;
        let root = self.client.send(Method::GET, "/", None, limit, "read the cluster's distribution").await;
        let distribution = match root {
            Ok(r) if r.status.is_success() => Some(match r.body["version"]["distribution"].as_str() {
                Some("opensearch") => Distribution::Opensearch,
                _ => Distribution::Elasticsearch,
            }),
            _ => None,
        };
        let statements = match distribution {
            Some(d) => plan.statements(d),
            None => {
                let mut both = plan.statements(Distribution::Elasticsearch);
                both.extend(plan.statements(Distribution::Opensearch));
                both
            }
        };
        let current =
            vec!["not read: toolkit plans these requests for an administrator and does not apply them".to_owned()];
        Ok(PermissionPlan { principal: plan.user, statements, current })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use toolkit_core::model::PermissionMode;

    fn spec(rules: Value) -> PermissionsSpec {
        PermissionsSpec { mode: PermissionMode::Declare, role: None, rules: rules.as_array().cloned().unwrap() }
    }

    #[test]
    fn renders_both_dialects() {
        let plan =
            RolePlan::from_spec(&spec(json!([{"indices": ["logs-*"], "privileges": ["read"]}])), Some("app"), "t")
                .unwrap();
        assert_eq!(
            plan.statements(Distribution::Elasticsearch),
            [
                r#"PUT _security/role/toolkit_app {"indices":[{"names":["logs-*"],"privileges":["read"]}]}"#,
                r#"POST _security/user/app {"roles":["toolkit_app"]}"#
            ]
        );
        assert_eq!(
            plan.statements(Distribution::Opensearch),
            [
                r#"PUT _plugins/_security/api/roles/toolkit_app {"cluster_permissions":[],"index_permissions":[{"allowed_actions":["read"],"index_patterns":["logs-*"]}]}"#,
                r#"PUT _plugins/_security/api/rolesmapping/toolkit_app {"users":["app"]}"#
            ]
        );
    }

    #[test]
    fn refuses_bad_rules_by_path() {
        let errs = RolePlan::from_spec(
            &spec(json!([{"indices": [], "privileges": ["read all"]}, {"names": ["x"]}])),
            None,
            "tool",
        )
        .unwrap_err();
        let paths: Vec<_> = errs.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "spec.permissions.rules[0].indices",
                "spec.permissions.rules[0].privileges[0]",
                "spec.permissions.rules[1]"
            ]
        );
    }
}
