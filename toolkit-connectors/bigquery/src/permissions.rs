//! IAM bindings from `spec.permissions`, planned only (`declare`).
//!
//! A rule names a role and, optionally, the dataset it is granted on (the project otherwise):
//!
//! ```yaml
//! permissions:
//!   rules:
//!     - {role: roles/bigquery.dataViewer, dataset: sales}
//!     - {role: roles/bigquery.jobUser}
//! ```
//!
//! Each rule becomes a `bq add-iam-policy-binding` (dataset) or `gcloud projects
//! add-iam-policy-binding` (project) line for the member `spec.permissions.role`, or the key's
//! service account (`serviceAccount:<client_email>`) when that is not set.

use async_trait::async_trait;
use serde::Deserialize;
use toolkit_core::Result;
use toolkit_core::connector::{PermissionPlan, PermissionProvisioner};
use toolkit_core::model::{PermissionMode, PermissionsSpec};
use toolkit_core::validate::{FieldError, config_error};

use crate::BigQueryTool;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Rule {
    role: String,
    #[serde(default)]
    dataset: Option<String>,
}

fn parse(spec: &PermissionsSpec) -> Result<Vec<Rule>, Vec<FieldError>> {
    let mut errs = Vec::new();
    if spec.mode == PermissionMode::Enforce {
        errs.push(FieldError::new("spec.permissions.mode", "bigquery IAM bindings are planned only; use `declare`"));
    }
    if let Some(member) = &spec.role
        && !is_member(member)
    {
        errs.push(FieldError::new(
            "spec.permissions.role",
            format!("`{member}` is not an IAM member such as `serviceAccount:reader@p.iam.gserviceaccount.com`"),
        ));
    }
    let mut rules = Vec::new();
    for (i, raw) in spec.rules.iter().enumerate() {
        let path = format!("spec.permissions.rules[{i}]");
        match serde_json::from_value::<Rule>(raw.clone()) {
            Ok(rule) => {
                let role_ok = (rule.role.starts_with("roles/") || rule.role.starts_with("projects/"))
                    && rule.role.chars().all(|c| c.is_ascii_alphanumeric() || "._/-".contains(c));
                if !role_ok {
                    errs.push(FieldError::new(
                        format!("{path}.role"),
                        "must be a role such as `roles/bigquery.dataViewer`",
                    ));
                }
                if let Some(ds) = &rule.dataset
                    && (ds.is_empty() || !ds.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
                {
                    errs.push(FieldError::new(format!("{path}.dataset"), format!("`{ds}` is not a dataset id")));
                }
                rules.push(rule);
            }
            Err(e) => errs.push(FieldError::new(&path, format!("{e}; a bigquery rule is {{role, dataset?}}"))),
        }
    }
    if errs.is_empty() { Ok(rules) } else { Err(errs) }
}

fn is_member(member: &str) -> bool {
    match member.split_once(':') {
        Some((kind, id)) => {
            matches!(kind, "serviceAccount" | "user" | "group" | "domain")
                && !id.is_empty()
                && id.chars().all(|c| c.is_ascii_alphanumeric() || "@._-".contains(c))
        }
        None => false,
    }
}

/// Every problem of `spec.permissions`, by path.
pub(crate) fn validate(spec: &PermissionsSpec) -> Vec<FieldError> {
    parse(spec).err().unwrap_or_default()
}

/// The plan's lines for `member` in `project`.
pub(crate) fn plan(spec: &PermissionsSpec, project: &str, member: &str) -> Result<PermissionPlan> {
    let rules = parse(spec).map_err(|errs| config_error("plan bigquery IAM bindings", &errs))?;
    let statements = rules
        .iter()
        .map(|r| match &r.dataset {
            Some(ds) => format!("bq add-iam-policy-binding --member={member} --role={} {project}:{ds}", r.role),
            None => format!("gcloud projects add-iam-policy-binding {project} --member={member} --role={}", r.role),
        })
        .collect();
    Ok(PermissionPlan { principal: member.to_owned(), statements, current: Vec::new() })
}

#[async_trait]
impl PermissionProvisioner for BigQueryTool {
    async fn plan(&self) -> Result<PermissionPlan> {
        let spec = self.permissions.clone().unwrap_or_default();
        let member = match &spec.role {
            Some(m) => m.clone(),
            None => format!("serviceAccount:{}", self.api.account().await?.email),
        };
        plan(&spec, &self.api.config.project, &member)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_bindings_and_refuses_bad_rules() {
        let spec: PermissionsSpec = serde_json::from_value(json!({"rules": [
            {"role": "roles/bigquery.dataViewer", "dataset": "sales"},
            {"role": "roles/bigquery.jobUser"}
        ]}))
        .unwrap();
        let p = plan(&spec, "p-1", "serviceAccount:r@p-1.iam.gserviceaccount.com").unwrap();
        assert_eq!(
            p.statements,
            [
                "bq add-iam-policy-binding --member=serviceAccount:r@p-1.iam.gserviceaccount.com --role=roles/bigquery.dataViewer p-1:sales",
                "gcloud projects add-iam-policy-binding p-1 --member=serviceAccount:r@p-1.iam.gserviceaccount.com --role=roles/bigquery.jobUser"
            ]
        );
        let bad: PermissionsSpec = serde_json::from_value(json!({"mode": "enforce", "role": "bob", "rules": [
            {"role": "owner; rm -rf /", "dataset": "a b"}
        ]}))
        .unwrap();
        let paths: Vec<_> = validate(&bad).iter().map(|e| e.path.clone()).collect();
        assert_eq!(
            paths,
            [
                "spec.permissions.mode",
                "spec.permissions.role",
                "spec.permissions.rules[0].role",
                "spec.permissions.rules[0].dataset"
            ]
        );
    }
}
