//! Grants from `spec.permissions`, planned only (`declare`).
//!
//! A rule names privileges and the object they are on, in Snowflake's own words:
//!
//! ```yaml
//! permissions:
//!   role: analyst_ro
//!   rules:
//!     - {privileges: [USAGE], on: "WAREHOUSE wh"}
//!     - {privileges: [USAGE], on: "DATABASE db"}
//!     - {privileges: [SELECT], on: "ALL TABLES IN SCHEMA db.s"}
//! ```
//!
//! Each rule becomes `GRANT <privileges> ON <on> TO ROLE <role>`; the role is
//! `spec.permissions.role`, else `spec.config.role`.

use async_trait::async_trait;
use serde::Deserialize;
use toolkit_core::Result;
use toolkit_core::connector::{PermissionPlan, PermissionProvisioner};
use toolkit_core::model::{PermissionMode, PermissionsSpec};
use toolkit_core::validate::FieldError;

use crate::SnowflakeTool;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Rule {
    privileges: Vec<String>,
    on: String,
}

/// The GRANT statements of `spec.permissions`, or every problem by path.
pub(crate) fn plan(spec: &PermissionsSpec, config_role: Option<&str>) -> Result<PermissionPlan, Vec<FieldError>> {
    let mut errs = Vec::new();
    if spec.mode == PermissionMode::Enforce {
        errs.push(FieldError::new("spec.permissions.mode", "snowflake grants are planned only; use `declare`"));
    }
    let role = spec.role.as_deref().or(config_role).unwrap_or_default();
    if role.is_empty() {
        errs.push(FieldError::new("spec.permissions.role", "is required (or set spec.config.role)"));
    } else if !is_identifier(role) {
        errs.push(FieldError::new("spec.permissions.role", format!("`{role}` is not a role name")));
    }
    let mut statements = Vec::new();
    for (i, raw) in spec.rules.iter().enumerate() {
        let path = format!("spec.permissions.rules[{i}]");
        let rule: Rule = match serde_json::from_value::<Rule>(raw.clone()) {
            Ok(r) => r,
            Err(e) => {
                errs.push(FieldError::new(&path, format!("{e}; a snowflake rule is {{privileges, on}}")));
                continue;
            }
        };
        let privileges: Vec<String> = rule.privileges.iter().map(|p| p.trim().to_ascii_uppercase()).collect();
        if privileges.is_empty() {
            errs.push(FieldError::new(format!("{path}.privileges"), "must name at least one privilege"));
        }
        for p in &privileges {
            if p.is_empty() || !p.chars().all(|c| c.is_ascii_alphabetic() || c == ' ' || c == '_') {
                errs.push(FieldError::new(format!("{path}.privileges"), format!("`{p}` is not a privilege")));
            }
        }
        let on = rule.on.trim();
        if on.is_empty() || !on.chars().all(|c| c.is_ascii_alphanumeric() || " _.$\"-*".contains(c)) {
            errs.push(FieldError::new(
                format!("{path}.on"),
                "must be an object such as `WAREHOUSE wh` or `ALL TABLES IN SCHEMA db.s`",
            ));
        }
        statements.push(format!("GRANT {} ON {on} TO ROLE {role}", privileges.join(", ")));
    }
    if errs.is_empty() {
        Ok(PermissionPlan { principal: role.to_owned(), statements, current: Vec::new() })
    } else {
        Err(errs)
    }
}

fn is_identifier(name: &str) -> bool {
    name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
        || (name.len() > 2 && name.starts_with('"') && name.ends_with('"') && !name[1..name.len() - 1].contains('"'))
}

/// Every problem of `spec.permissions`, by path.
pub(crate) fn validate(spec: &PermissionsSpec, config_role: Option<&str>) -> Vec<FieldError> {
    plan(spec, config_role).err().unwrap_or_default()
}

#[async_trait]
impl PermissionProvisioner for SnowflakeTool {
    async fn plan(&self) -> Result<PermissionPlan> {
        let spec = self.permissions.as_ref().cloned().unwrap_or_default();
        plan(&spec, self.api.config.role.as_deref()).map_err(|errs| {
            let text: Vec<String> = errs.iter().map(ToString::to_string).collect();
            toolkit_core::Error::config(format!("plan snowflake grants: {}", text.join("; ")))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn spec(v: Value) -> PermissionsSpec {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn renders_grants_to_the_role() {
        let p = plan(
            &spec(json!({"rules": [
                {"privileges": ["usage"], "on": "WAREHOUSE wh"},
                {"privileges": ["SELECT"], "on": "ALL TABLES IN SCHEMA db.s"}
            ]})),
            Some("ANALYST_RO"),
        )
        .unwrap();
        assert_eq!(p.principal, "ANALYST_RO");
        assert_eq!(
            p.statements,
            [
                "GRANT USAGE ON WAREHOUSE wh TO ROLE ANALYST_RO",
                "GRANT SELECT ON ALL TABLES IN SCHEMA db.s TO ROLE ANALYST_RO"
            ]
        );
    }

    #[test]
    fn refuses_injection_enforce_and_missing_role() {
        let errs = plan(
            &spec(json!({"mode": "enforce", "rules": [{"privileges": ["SELECT"], "on": "t; DROP TABLE x"}]})),
            None,
        )
        .unwrap_err();
        let paths: Vec<_> = errs.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["spec.permissions.mode", "spec.permissions.role", "spec.permissions.rules[0].on"]);
    }
}
