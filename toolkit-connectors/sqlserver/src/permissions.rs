//! Grants from `spec.permissions`, planned only (`declare`).
//!
//! A rule grants privileges on a securable, or adds the user to a database role:
//!
//! ```yaml
//! permissions:
//!   rules:
//!     - {privileges: [SELECT], on: "SCHEMA::dbo"}
//!     - {role: db_datareader}
//! ```
//!
//! They become `GRANT SELECT ON SCHEMA::dbo TO [user]` and
//! `ALTER ROLE [db_datareader] ADD MEMBER [user]`; the user is `spec.permissions.role` or
//! `spec.config.username`.

use async_trait::async_trait;
use serde::Deserialize;
use toolkit_core::Result;
use toolkit_core::connector::{PermissionPlan, PermissionProvisioner};
use toolkit_core::model::{PermissionMode, PermissionsSpec};
use toolkit_core::validate::{FieldError, config_error};

use crate::SqlServerTool;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Rule {
    #[serde(default)]
    privileges: Vec<String>,
    #[serde(default)]
    on: Option<String>,
    #[serde(default)]
    role: Option<String>,
}

fn bracket(name: &str) -> String {
    format!("[{}]", name.replace(']', "]]"))
}

fn plain(s: &str, extra: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || extra.contains(c))
}

/// The statements, or every problem by path.
pub(crate) fn plan(spec: &PermissionsSpec, user: Option<&str>) -> Result<PermissionPlan, Vec<FieldError>> {
    let mut errs = Vec::new();
    if spec.mode == PermissionMode::Enforce {
        errs.push(FieldError::new("spec.permissions.mode", "sqlserver grants are planned only; use `declare`"));
    }
    let grantee = spec.role.as_deref().or(user).unwrap_or_default();
    if grantee.is_empty() {
        errs.push(FieldError::new("spec.permissions.role", "is required (or set spec.config.username)"));
    }
    let mut statements = Vec::new();
    for (i, raw) in spec.rules.iter().enumerate() {
        let path = format!("spec.permissions.rules[{i}]");
        let rule = match serde_json::from_value::<Rule>(raw.clone()) {
            Ok(r) => r,
            Err(e) => {
                errs.push(FieldError::new(&path, format!("{e}; a sqlserver rule is {{privileges, on}} or {{role}}")));
                continue;
            }
        };
        match (rule.role, rule.on, rule.privileges.is_empty()) {
            (Some(role), None, true) if plain(&role, "") => {
                statements.push(format!("ALTER ROLE {} ADD MEMBER {}", bracket(&role), bracket(grantee)));
            }
            (Some(role), None, true) => {
                errs.push(FieldError::new(format!("{path}.role"), format!("`{role}` is not a role name")))
            }
            (None, Some(on), false) => {
                let privileges: Vec<String> = rule.privileges.iter().map(|p| p.trim().to_ascii_uppercase()).collect();
                if privileges.iter().any(|p| !plain(p, " ")) {
                    errs.push(FieldError::new(format!("{path}.privileges"), "must list privileges such as SELECT"));
                }
                if !plain(&on, ":.[]") {
                    errs.push(FieldError::new(
                        format!("{path}.on"),
                        format!("`{on}` is not a securable such as SCHEMA::dbo or dbo.orders"),
                    ));
                }
                statements.push(format!("GRANT {} ON {on} TO {}", privileges.join(", "), bracket(grantee)));
            }
            _ => errs.push(FieldError::new(&path, "set either `privileges` and `on`, or `role`")),
        }
    }
    if errs.is_empty() {
        Ok(PermissionPlan { principal: grantee.to_owned(), statements, current: Vec::new() })
    } else {
        Err(errs)
    }
}

/// Every problem of `spec.permissions`, by path.
pub(crate) fn validate(spec: &PermissionsSpec, user: Option<&str>) -> Vec<FieldError> {
    plan(spec, user).err().unwrap_or_default()
}

#[async_trait]
impl PermissionProvisioner for SqlServerTool {
    async fn plan(&self) -> Result<PermissionPlan> {
        let spec = self.permissions.clone().unwrap_or_default();
        plan(&spec, Some(&self.connector.config.username)).map_err(|errs| config_error("plan sqlserver grants", &errs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_grants_and_role_membership() {
        let spec: PermissionsSpec = serde_json::from_value(json!({"rules": [
            {"privileges": ["select"], "on": "SCHEMA::dbo"},
            {"role": "db_datareader"}
        ]}))
        .unwrap();
        let p = plan(&spec, Some("report]er")).unwrap();
        assert_eq!(
            p.statements,
            ["GRANT SELECT ON SCHEMA::dbo TO [report]]er]", "ALTER ROLE [db_datareader] ADD MEMBER [report]]er]"]
        );
        let bad: PermissionsSpec = serde_json::from_value(json!({"mode": "enforce", "rules": [
            {"privileges": ["SELECT"], "on": "dbo.t; DROP TABLE x"}, {"role": "r", "on": "x"}
        ]}))
        .unwrap();
        let paths: Vec<_> = validate(&bad, Some("u")).into_iter().map(|e| e.path).collect();
        assert_eq!(paths, ["spec.permissions.mode", "spec.permissions.rules[0].on", "spec.permissions.rules[1]"]);
    }
}
