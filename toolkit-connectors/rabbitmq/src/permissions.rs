//! Engine-native permissions: `spec.permissions.rules` as RabbitMQ's per-vhost `configure`,
//! `write` and `read` regular expressions.
//!
//! A rule is `{vhost: "/", configure: "^$", write: "^$", read: ".*"}`; an omitted pattern
//! grants nothing (`^$`) and an omitted vhost is the tool's. The plan renders one
//! `rabbitmqctl set_permissions` line per rule, followed by the same grant as a request to the
//! management API. AMQP itself has no way to grant permissions, so applying is not supported:
//! run the plan with `rabbitmqctl` or the management API. This plan is also the engine-level
//! half of `readOnly`: AMQP has no read-only session, so a read-only tool's user should hold
//! `configure: "^$"` and `write: "^$"`.

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::Value;
use toolkit_core::Result;
use toolkit_core::connector::{PermissionPlan, PermissionProvisioner};
use toolkit_core::model::PermissionsSpec;
use toolkit_core::validate::FieldError;

use crate::RabbitTool;
use crate::config::encode;

/// A pattern that matches no resource name.
pub const NOTHING: &str = "^$";

/// One rule of `spec.permissions.rules`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PermissionRule {
    /// The virtual host; the tool's when omitted.
    #[serde(default)]
    pub vhost: Option<String>,
    /// Resources the user may declare and delete.
    #[serde(default)]
    pub configure: Option<String>,
    /// Resources the user may publish to or bind.
    #[serde(default)]
    pub write: Option<String>,
    /// Resources the user may consume from.
    #[serde(default)]
    pub read: Option<String>,
}

/// The checked permissions of a tool: `(vhost, configure, write, read)` per rule.
#[derive(Clone, Debug, PartialEq)]
pub struct PermissionsPlan {
    /// The RabbitMQ user.
    pub user: String,
    /// One grant per virtual host.
    pub grants: Vec<Grant>,
}

/// One vhost's permissions.
#[derive(Clone, Debug, PartialEq)]
pub struct Grant {
    /// The virtual host.
    pub vhost: String,
    /// The `configure` pattern.
    pub configure: String,
    /// The `write` pattern.
    pub write: String,
    /// The `read` pattern.
    pub read: String,
}

impl PermissionsPlan {
    /// Reads and checks `spec.permissions`. `user` and `vhost` are the connection's;
    /// a read-only tool may not be granted `configure` or `write`.
    pub fn from_spec(
        spec: &PermissionsSpec,
        user: &str,
        vhost: &str,
        read_only: bool,
    ) -> Result<Self, Vec<FieldError>> {
        let mut errs = Vec::new();
        let user = spec.role.clone().unwrap_or_else(|| user.to_owned());
        if user.is_empty() || user.contains(char::is_control) {
            errs.push(FieldError::new("spec.permissions.role", "must be a non-empty user name"));
        }
        let mut grants: Vec<Grant> = Vec::new();
        for (i, raw) in spec.rules.iter().enumerate() {
            let path = format!("spec.permissions.rules[{i}]");
            let rule: PermissionRule = match serde_json::from_value(raw.clone()) {
                Ok(r) => r,
                Err(e) => {
                    errs.push(FieldError::new(
                        path,
                        format!("{e}; a rule takes `vhost`, `configure`, `write` and `read`"),
                    ));
                    continue;
                }
            };
            let grant = Grant {
                vhost: rule.vhost.unwrap_or_else(|| vhost.to_owned()),
                configure: rule.configure.unwrap_or_else(|| NOTHING.to_owned()),
                write: rule.write.unwrap_or_else(|| NOTHING.to_owned()),
                read: rule.read.unwrap_or_else(|| NOTHING.to_owned()),
            };
            if grant.vhost.is_empty() {
                errs.push(FieldError::new(format!("{path}.vhost"), "must be a virtual host name, such as `/`"));
            }
            if grants.iter().any(|g| g.vhost == grant.vhost) {
                errs.push(FieldError::new(
                    format!("{path}.vhost"),
                    format!("`{}` has a rule already; RabbitMQ keeps one set of patterns per vhost", grant.vhost),
                ));
            }
            for (field, pattern) in [("configure", &grant.configure), ("write", &grant.write), ("read", &grant.read)] {
                if pattern.contains(char::is_control) {
                    errs.push(FieldError::new(format!("{path}.{field}"), "must be a regular expression on one line"));
                }
                if read_only && field != "read" && pattern != NOTHING {
                    errs.push(FieldError::new(
                        format!("{path}.{field}"),
                        format!("the tool is read-only, so its user is granted no {field}; use \"{NOTHING}\""),
                    ));
                }
            }
            grants.push(grant);
        }
        if grants.is_empty() && errs.is_empty() {
            errs.push(FieldError::new("spec.permissions.rules", "name at least one rule, such as {read: \".*\"}"));
        }
        if errs.is_empty() { Ok(Self { user, grants }) } else { Err(errs) }
    }

    /// `rabbitmqctl set_permissions` lines, then the management API requests.
    pub fn statements(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .grants
            .iter()
            .map(|g| {
                format!(
                    "rabbitmqctl set_permissions -p {} {} {} {} {}",
                    quote(&g.vhost),
                    quote(&self.user),
                    quote(&g.configure),
                    quote(&g.write),
                    quote(&g.read)
                )
            })
            .collect();
        out.extend(self.grants.iter().map(|g| {
            let text = |s: &str| Value::String(s.to_owned()).to_string();
            let body = format!(
                r#"{{"configure":{},"write":{},"read":{}}}"#,
                text(&g.configure),
                text(&g.write),
                text(&g.read)
            );
            format!("PUT /api/permissions/{}/{} {body}", encode(&g.vhost), encode(&self.user))
        }));
        out
    }
}

/// Quotes a word for a POSIX shell when it needs it.
fn quote(word: &str) -> String {
    let plain = !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:@".contains(c));
    if plain { word.to_owned() } else { format!("'{}'", word.replace('\'', r"'\''")) }
}

#[async_trait]
impl PermissionProvisioner for RabbitTool {
    async fn plan(&self) -> Result<PermissionPlan> {
        let plan = self.permissions_plan()?;
        Ok(PermissionPlan { principal: plan.user.clone(), statements: plan.statements(), current: Vec::new() })
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
    fn renders_rabbitmqctl_and_api_lines() {
        let plan = PermissionsPlan::from_spec(
            &spec(json!([{"read": ".*"}, {"vhost": "orders", "configure": "^tmp-", "write": "^tmp-", "read": "^(tmp-|orders)"}])),
            "app",
            "/",
            false,
        )
        .unwrap();
        assert_eq!(
            plan.statements(),
            [
                "rabbitmqctl set_permissions -p / app '^$' '^$' '.*'",
                "rabbitmqctl set_permissions -p orders app '^tmp-' '^tmp-' '^(tmp-|orders)'",
                r#"PUT /api/permissions/%2F/app {"configure":"^$","write":"^$","read":".*"}"#,
                r#"PUT /api/permissions/orders/app {"configure":"^tmp-","write":"^tmp-","read":"^(tmp-|orders)"}"#,
            ]
        );
    }

    #[test]
    fn read_only_tools_get_no_write() {
        let errs =
            PermissionsPlan::from_spec(&spec(json!([{"write": ".*", "read": ".*"}, {"queues": []}])), "app", "/", true)
                .unwrap_err();
        let paths: Vec<_> = errs.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["spec.permissions.rules[0].write", "spec.permissions.rules[1]"]);
        assert_eq!(quote("it's"), r"'it'\''s'");
    }
}
