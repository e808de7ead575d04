//! Engine-native grants from `spec.permissions`.
//!
//! A rule names a schema, its tables (`["*"]` for every table) and table privileges:
//!
//! ```yaml
//! permissions:
//!   mode: enforce
//!   role: reporting
//!   rules:
//!     - {schema: public, tables: ["*"], privileges: [SELECT]}
//! ```
//!
//! The plan is `GRANT USAGE ON SCHEMA` once per schema followed by the table grants. `enforce`
//! mode applies it in one transaction through the tool's own connection, whose user must be
//! allowed to grant. Nothing is revoked: statements only add privileges.

use std::collections::BTreeSet;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::Value;
use sqlx::{Executor, Row};
use toolkit_core::connector::{PermissionPlan, PermissionProvisioner};
use toolkit_core::model::PermissionMode;
use toolkit_core::validate::FieldError;
use toolkit_core::{Error, ErrorKind, Result};

use crate::PostgresTool;
use crate::connect::{Phase, classify};

/// Table privileges a rule may grant.
const PRIVILEGES: &[&str] = &["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER", "ALL"];

/// One rule of `spec.permissions.rules`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct GrantRule {
    schema: String,
    tables: Vec<String>,
    privileges: Vec<String>,
}

/// Checks the rules without planning them; paths are `spec.permissions.rules[i]...`.
pub(crate) fn validate_rules(rules: &[Value]) -> Vec<FieldError> {
    match parse_rules(rules) {
        Ok(_) => Vec::new(),
        Err(errs) => errs,
    }
}

fn parse_rules(rules: &[Value]) -> Result<Vec<GrantRule>, Vec<FieldError>> {
    let mut errs = Vec::new();
    let mut out = Vec::new();
    for (i, raw) in rules.iter().enumerate() {
        let p = format!("spec.permissions.rules[{i}]");
        let rule: GrantRule = match serde_json::from_value(raw.clone()) {
            Ok(r) => r,
            Err(e) => {
                errs.push(FieldError::new(&p, format!("{e}; a postgres rule is {{schema, tables, privileges}}")));
                continue;
            }
        };
        check_ident(&mut errs, &format!("{p}.schema"), &rule.schema);
        if rule.tables.is_empty() {
            errs.push(FieldError::new(format!("{p}.tables"), "list at least one table, or \"*\" for all"));
        }
        if rule.tables.len() > 1 && rule.tables.iter().any(|t| t == "*") {
            errs.push(FieldError::new(format!("{p}.tables"), "\"*\" already means every table; list it alone"));
        }
        for (j, t) in rule.tables.iter().enumerate() {
            if t != "*" {
                check_ident(&mut errs, &format!("{p}.tables[{j}]"), t);
            }
        }
        if rule.privileges.is_empty() {
            errs.push(FieldError::new(format!("{p}.privileges"), "list at least one privilege"));
        }
        for (j, priv_) in rule.privileges.iter().enumerate() {
            if !PRIVILEGES.contains(&priv_.to_ascii_uppercase().as_str()) {
                errs.push(FieldError::new(
                    format!("{p}.privileges[{j}]"),
                    format!("`{priv_}` is not a table privilege; use {}", PRIVILEGES.join(", ")),
                ));
            }
        }
        out.push(rule);
    }
    if errs.is_empty() { Ok(out) } else { Err(errs) }
}

fn check_ident(errs: &mut Vec<FieldError>, path: &str, name: &str) {
    if name.is_empty() {
        errs.push(FieldError::new(path, "must not be empty"));
    } else if name.contains('\0') {
        errs.push(FieldError::new(path, "must not contain NUL characters"));
    }
}

/// A quoted SQL identifier: names are used as written, never interpreted.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The GRANT statements for `role`, in the order they apply.
fn statements(role: &str, rules: &[GrantRule]) -> Vec<String> {
    let grantee = quote_ident(role);
    let mut seen_schemas = BTreeSet::new();
    let mut out = Vec::new();
    for rule in rules {
        let schema = quote_ident(&rule.schema);
        if seen_schemas.insert(rule.schema.clone()) {
            out.push(format!("GRANT USAGE ON SCHEMA {schema} TO {grantee}"));
        }
        let mut privileges: Vec<String> = Vec::new();
        for p in &rule.privileges {
            let p = p.to_ascii_uppercase();
            if !privileges.contains(&p) {
                privileges.push(p);
            }
        }
        let privileges = privileges.join(", ");
        if rule.tables.iter().any(|t| t == "*") {
            out.push(format!("GRANT {privileges} ON ALL TABLES IN SCHEMA {schema} TO {grantee}"));
        } else {
            let tables: Vec<String> = rule.tables.iter().map(|t| format!("{schema}.{}", quote_ident(t))).collect();
            out.push(format!("GRANT {privileges} ON TABLE {} TO {grantee}", tables.join(", ")));
        }
    }
    out
}

impl PostgresTool {
    /// The grantee and the statements of the declared permissions.
    async fn planned(&self) -> Result<(String, Vec<String>)> {
        let Some(spec) = &self.permissions else {
            return Ok((String::new(), Vec::new()));
        };
        let rules = parse_rules(&spec.rules).map_err(|errs| {
            let text: Vec<String> = errs.iter().map(ToString::to_string).collect();
            Error::config("plan postgres permissions").with_source(text.join("; "))
        })?;
        let role = match &spec.role {
            Some(r) => r.clone(),
            None => self.username().await?,
        };
        let statements = statements(&role, &rules);
        Ok((role, statements))
    }
}

#[async_trait]
impl PermissionProvisioner for PostgresTool {
    async fn plan(&self) -> Result<PermissionPlan> {
        let (principal, statements) = self.planned().await?;
        if principal.is_empty() {
            return Ok(PermissionPlan::default());
        }
        let pool = self.pool().await?;
        let what = format!("read the grants of role `{principal}`");
        // `information_schema.table_privileges` lists grants the connected user can see.
        let query = sqlx::query(
            "select privilege_type || ' ON ' || table_schema || '.' || table_name \
             from information_schema.table_privileges where grantee = $1 \
             order by table_schema, table_name, privilege_type",
        )
        .bind(&principal);
        let current = pool
            .fetch_all(query)
            .await
            .map_err(|e| classify(e, Phase::Query, what).with_context("tool", self.qualified_name()))?
            .iter()
            .filter_map(|row| row.try_get::<String, _>(0).ok())
            .collect();
        Ok(PermissionPlan { principal, statements, current })
    }

    async fn apply(&self, plan: &PermissionPlan) -> Result<()> {
        let mode = self.permissions.as_ref().map(|p| p.mode).unwrap_or_default();
        if mode != PermissionMode::Enforce {
            return Err(Error::new(ErrorKind::Denied, "apply postgres permissions")
                .with_context("tool", self.qualified_name())
                .with_context("hint", "spec.permissions.mode is `declare`; set it to `enforce` to apply grants"));
        }
        let (principal, statements) = self.planned().await?;
        // Only statements this connector wrote are run with the tool's (privileged) connection.
        if plan.principal != principal || plan.statements != statements {
            return Err(Error::invalid_input("apply postgres permissions")
                .with_context("tool", self.qualified_name())
                .with_context("hint", "the plan does not match spec.permissions; plan again"));
        }
        if statements.is_empty() {
            return Ok(());
        }
        let what = || format!("grant privileges to role `{principal}`");
        let fail = |e| classify(e, Phase::Query, what()).with_context("tool", self.qualified_name());
        let pool = self.pool().await?;
        let mut tx = pool.begin().await.map_err(fail)?;
        for statement in &statements {
            (&mut *tx).execute(statement.as_str()).await.map_err(fail)?;
        }
        tx.commit().await.map_err(fail)?;
        tracing::info!(tool = %self.qualified_name(), role = %principal, statements = statements.len(), "applied postgres grants");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn plans_schema_usage_once_and_quotes_names() {
        let rules = parse_rules(&[
            json!({"schema": "public", "tables": ["*"], "privileges": ["select"]}),
            json!({"schema": "public", "tables": ["orders", "we\"ird"], "privileges": ["SELECT", "INSERT", "select"]}),
        ])
        .expect("valid rules");
        assert_eq!(
            statements("report\"er", &rules),
            [
                r#"GRANT USAGE ON SCHEMA "public" TO "report""er""#,
                r#"GRANT SELECT ON ALL TABLES IN SCHEMA "public" TO "report""er""#,
                r#"GRANT SELECT, INSERT ON TABLE "public"."orders", "public"."we""ird" TO "report""er""#,
            ]
        );
    }

    #[test]
    fn rule_errors_name_the_field() {
        let errs = validate_rules(&[
            json!({"schema": "public", "tables": ["*", "t"], "privileges": ["DROP"]}),
            json!({"schema": "public", "table": ["t"]}),
        ]);
        let paths: Vec<&str> = errs.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "spec.permissions.rules[0].tables",
                "spec.permissions.rules[0].privileges[0]",
                "spec.permissions.rules[1]"
            ]
        );
    }
}
