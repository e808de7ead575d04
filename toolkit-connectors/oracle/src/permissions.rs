//! Grants from `spec.permissions`, planned only (`declare`).
//!
//! A rule names privileges and, for object privileges, the object:
//!
//! ```yaml
//! permissions:
//!   rules:
//!     - {privileges: [CREATE SESSION]}
//!     - {privileges: [SELECT], on: HR.EMPLOYEES}
//! ```
//!
//! Each rule becomes `GRANT <privileges> [ON <object>] TO <user>`, the user being
//! `spec.permissions.role` or `spec.config.username`.

use async_trait::async_trait;
use serde::Deserialize;
use toolkit_core::Result;
use toolkit_core::connector::{PermissionPlan, PermissionProvisioner};
use toolkit_core::model::{PermissionMode, PermissionsSpec};
use toolkit_core::validate::{FieldError, config_error};

use crate::OracleTool;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Rule {
    privileges: Vec<String>,
    #[serde(default)]
    on: Option<String>,
}

fn name_ok(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "_$#.\"".contains(c))
}

/// The GRANT statements, or every problem by path.
pub(crate) fn plan(spec: &PermissionsSpec, user: Option<&str>) -> Result<PermissionPlan, Vec<FieldError>> {
    let mut errs = Vec::new();
    if spec.mode == PermissionMode::Enforce {
        errs.push(FieldError::new("spec.permissions.mode", "oracle grants are planned only; use `declare`"));
    }
    let grantee = spec.role.as_deref().or(user).unwrap_or_default();
    if grantee.is_empty() {
        errs.push(FieldError::new("spec.permissions.role", "is required (or set spec.config.username)"));
    } else if !name_ok(grantee) {
        errs.push(FieldError::new("spec.permissions.role", format!("`{grantee}` is not a user or role name")));
    }
    let mut statements = Vec::new();
    for (i, raw) in spec.rules.iter().enumerate() {
        let path = format!("spec.permissions.rules[{i}]");
        let rule = match serde_json::from_value::<Rule>(raw.clone()) {
            Ok(r) => r,
            Err(e) => {
                errs.push(FieldError::new(&path, format!("{e}; an oracle rule is {{privileges, on?}}")));
                continue;
            }
        };
        let privileges: Vec<String> = rule.privileges.iter().map(|p| p.trim().to_ascii_uppercase()).collect();
        if privileges.is_empty()
            || privileges
                .iter()
                .any(|p| p.is_empty() || !p.chars().all(|c| c.is_ascii_alphabetic() || c == ' ' || c == '_'))
        {
            errs.push(FieldError::new(
                format!("{path}.privileges"),
                "must list privileges such as SELECT or CREATE SESSION",
            ));
        }
        match &rule.on {
            Some(on) if !name_ok(on) => errs
                .push(FieldError::new(format!("{path}.on"), format!("`{on}` is not an object such as HR.EMPLOYEES"))),
            Some(on) => statements.push(format!("GRANT {} ON {on} TO {grantee}", privileges.join(", "))),
            None => statements.push(format!("GRANT {} TO {grantee}", privileges.join(", "))),
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
impl PermissionProvisioner for OracleTool {
    async fn plan(&self) -> Result<PermissionPlan> {
        let spec = self.permissions.clone().unwrap_or_default();
        plan(&spec, self.config.username.as_deref()).map_err(|errs| config_error("plan oracle grants", &errs))
    }
}
