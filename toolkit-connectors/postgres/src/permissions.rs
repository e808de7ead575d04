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
use serde_json::Value;
use sqlx::{Executor, Row};
use toolkit_connector_sql::{GrantRule, Phase, RuleScope, RuleSyntax};
use toolkit_core::Result;
use toolkit_core::connector::{PermissionPlan, PermissionProvisioner};
use toolkit_core::validate::FieldError;

use crate::PostgresTool;
use crate::connect::classify;

/// How a postgres rule reads, and the table privileges it may grant.
const RULES: RuleSyntax = RuleSyntax {
    engine: "postgres",
    scope: RuleScope::Schema,
    privileges: &["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER", "ALL"],
};

/// Checks the rules without planning them; paths are `spec.permissions.rules[i]...`.
pub(crate) fn validate_rules(rules: &[Value]) -> Vec<FieldError> {
    RULES.validate(rules)
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
        let schema = quote_ident(&rule.scope);
        if seen_schemas.insert(rule.scope.clone()) {
            out.push(format!("GRANT USAGE ON SCHEMA {schema} TO {grantee}"));
        }
        let privileges = rule.privilege_list();
        if rule.all_tables() {
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
        let Some((role, rules)) = self.server.grant_rules(&RULES).await? else {
            return Ok((String::new(), Vec::new()));
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
        let pool = self.server.pool().await?;
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
        RULES.check_enforce(self.server.permissions.as_ref(), self.qualified_name())?;
        let (principal, statements) = self.planned().await?;
        // Only statements this connector wrote are run with the tool's (privileged) connection.
        RULES.check_plan(self.qualified_name(), plan, &principal, &statements)?;
        if statements.is_empty() {
            return Ok(());
        }
        let what = || format!("grant privileges to role `{principal}`");
        let fail = |e| classify(e, Phase::Query, what()).with_context("tool", self.qualified_name());
        let pool = self.server.pool().await?;
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
        let rules = RULES.parse(&[
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
