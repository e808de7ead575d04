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
//! The plan converges the role's table privileges to what is declared, within the schemas the
//! rules name: `GRANT USAGE ON SCHEMA` once per schema and the table grants, in the order of the
//! rules, then one `REVOKE ... ON TABLE "s"."t" FROM "role"` per table for the privileges the
//! role holds there now (`information_schema.table_privileges`) that no rule declares, sorted by
//! schema, table and privilege. A `["*"]` rule declares its privileges on every table of its
//! schema; `ALL` declares every privilege. Left alone: privileges in schemas no rule names,
//! schema, column, sequence and function privileges, the privileges a role has as a table's
//! owner, and grants the tool's user cannot see or revoke (made by another grantor).
//!
//! `enforce` mode applies the plan in one transaction through the tool's own connection, whose
//! user must be allowed to grant: inside it the grants are read again and the plan is refused
//! unless it is still the one the operator saw.

use std::collections::BTreeSet;

use async_trait::async_trait;
use serde_json::Value;
use sqlx::postgres::PgConnection;
use sqlx::{Executor, Row};
use toolkit_connector_sql::{GrantRule, HeldPrivilege, Phase, Revocation, RuleScope, RuleSyntax, undeclared};
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

/// The GRANT statements for `role`, then the REVOKE statements, in the order they apply.
fn statements(role: &str, rules: &[GrantRule], revoke: &[Revocation]) -> Vec<String> {
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
    for r in revoke {
        let schema = quote_ident(&r.scope);
        let on = match &r.table {
            Some(t) => format!("TABLE {schema}.{}", quote_ident(t)),
            None => format!("ALL TABLES IN SCHEMA {schema}"),
        };
        out.push(format!("REVOKE {} ON {on} FROM {grantee}", r.privilege_list()));
    }
    out
}

impl PostgresTool {
    /// The plan of the declared permissions against the grants `conn` reads now; `None` when
    /// the tool declares none.
    async fn planned(&self, conn: &mut PgConnection) -> Result<Option<PermissionPlan>> {
        let Some((role, rules)) = self.server.grant_rules(&RULES).await? else {
            return Ok(None);
        };
        let what = format!("read the grants of role `{role}`");
        // `information_schema.table_privileges` lists grants the connected user can see. A
        // table owner's own privileges are the rows whose grantor is the grantee.
        let query = sqlx::query(
            "select table_schema::text, table_name::text, privilege_type::text, grantor = grantee \
             from information_schema.table_privileges where grantee = $1 \
             order by table_schema, table_name, privilege_type",
        )
        .bind(&role);
        let rows = conn
            .fetch_all(query)
            .await
            .map_err(|e| classify(e, Phase::Query, what).with_context("tool", self.qualified_name()))?;
        let mut current = Vec::new();
        let mut held = Vec::new();
        for row in &rows {
            let (Ok(schema), Ok(table), Ok(privilege), Ok(owner)) = (
                row.try_get::<String, _>(0),
                row.try_get::<String, _>(1),
                row.try_get::<String, _>(2),
                row.try_get::<bool, _>(3),
            ) else {
                continue;
            };
            current.push(format!("{privilege} ON {schema}.{table}"));
            if !owner {
                held.push(HeldPrivilege { scope: schema, table: Some(table), privilege });
            }
        }
        current.dedup();
        let statements = statements(&role, &rules, &undeclared(&rules, &held));
        Ok(Some(PermissionPlan { principal: role, statements, current }))
    }
}

#[async_trait]
impl PermissionProvisioner for PostgresTool {
    async fn plan(&self) -> Result<PermissionPlan> {
        if self.server.permissions.is_none() {
            return Ok(PermissionPlan::default());
        }
        let mut conn = self.server.acquire().await?;
        Ok(self.planned(&mut conn).await?.unwrap_or_default())
    }

    async fn apply(&self, plan: &PermissionPlan) -> Result<()> {
        RULES.check_enforce(self.server.permissions.as_ref(), self.qualified_name())?;
        let what = || format!("apply the permissions of role `{}`", plan.principal);
        let fail = |e| classify(e, Phase::Query, what()).with_context("tool", self.qualified_name());
        let pool = self.server.pool().await?;
        let mut tx = pool.begin().await.map_err(fail)?;
        // Planned again inside the transaction: only statements this connector wrote, and only
        // the ones the operator saw, run with the tool's (privileged) connection.
        let now = self.planned(&mut tx).await?.unwrap_or_default();
        RULES.check_plan(self.qualified_name(), plan, &now.principal, &now.statements)?;
        if now.statements.is_empty() {
            return Ok(());
        }
        for statement in &now.statements {
            (&mut *tx).execute(statement.as_str()).await.map_err(fail)?;
        }
        tx.commit().await.map_err(fail)?;
        tracing::info!(tool = %self.qualified_name(), role = %now.principal, statements = now.statements.len(), "applied postgres permissions");
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
            statements("report\"er", &rules, &[]),
            [
                r#"GRANT USAGE ON SCHEMA "public" TO "report""er""#,
                r#"GRANT SELECT ON ALL TABLES IN SCHEMA "public" TO "report""er""#,
                r#"GRANT SELECT, INSERT ON TABLE "public"."orders", "public"."we""ird" TO "report""er""#,
            ]
        );
    }

    #[test]
    fn revokes_follow_the_grants_sorted_and_quoted() {
        let rules = RULES
            .parse(&[
                json!({"schema": "app", "tables": ["*"], "privileges": ["SELECT"]}),
                json!({"schema": "sales", "tables": ["we\"ird"], "privileges": ["ALL"]}),
            ])
            .expect("valid rules");
        let held = |schema: &str, table: &str, privilege: &str| HeldPrivilege {
            scope: schema.into(),
            table: Some(table.into()),
            privilege: privilege.into(),
        };
        let held = [
            held("sales", "orders", "SELECT"),
            held("app", "z\"t", "UPDATE"),
            held("app", "a", "SELECT"),
            held("app", "z\"t", "INSERT"),
            held("sales", "we\"ird", "DELETE"),
            held("public", "t", "INSERT"),
        ];
        assert_eq!(
            statements("r", &rules, &undeclared(&rules, &held)),
            [
                r#"GRANT USAGE ON SCHEMA "app" TO "r""#,
                r#"GRANT SELECT ON ALL TABLES IN SCHEMA "app" TO "r""#,
                r#"GRANT USAGE ON SCHEMA "sales" TO "r""#,
                r#"GRANT ALL ON TABLE "sales"."we""ird" TO "r""#,
                r#"REVOKE INSERT, UPDATE ON TABLE "app"."z""t" FROM "r""#,
                r#"REVOKE SELECT ON TABLE "sales"."orders" FROM "r""#,
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
