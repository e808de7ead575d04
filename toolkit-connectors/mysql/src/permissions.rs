//! Engine-native grants from `spec.permissions`.
//!
//! A rule names a database, its tables (`["*"]` for every table) and privileges:
//!
//! ```yaml
//! permissions:
//!   mode: enforce
//!   role: reporting@%         # user@host; the host is `%` when omitted, the connection user when no role
//!   rules:
//!     - {database: shop, tables: ["*"], privileges: [SELECT]}
//! ```
//!
//! The plan is one `GRANT ... ON db.table TO 'user'@'host'` per rule; the current grants come
//! from `SHOW GRANTS FOR`. `enforce` mode applies the statements through the tool's own
//! connection, whose user must hold the privileges with `GRANT OPTION`. MySQL commits each
//! `GRANT` on its own, so a failure part-way leaves the earlier ones in place (the error says
//! which statement failed); applying again is harmless. Nothing is revoked.

use async_trait::async_trait;
use serde_json::Value;
use sqlx::mysql::MySqlDatabaseError;
use sqlx::{Executor, Row};
use toolkit_connector_sql::{GrantRule, Phase, RuleScope, RuleSyntax};
use toolkit_core::connector::{PermissionPlan, PermissionProvisioner};
use toolkit_core::validate::FieldError;
use toolkit_core::{Error, Result};

use crate::MysqlTool;
use crate::connect::classify;

/// How a mysql rule reads, and the table privileges it may grant.
const RULES: RuleSyntax = RuleSyntax {
    engine: "mysql",
    scope: RuleScope::Database,
    privileges: &[
        "SELECT",
        "INSERT",
        "UPDATE",
        "DELETE",
        "CREATE",
        "DROP",
        "INDEX",
        "ALTER",
        "REFERENCES",
        "TRIGGER",
        "CREATE VIEW",
        "SHOW VIEW",
        "ALL",
    ],
};

/// Checks the rules without planning them; paths are `spec.permissions.rules[i]...`.
pub(crate) fn validate_rules(rules: &[Value]) -> Vec<FieldError> {
    RULES.validate(rules)
}

/// A quoted identifier: names are used as written, never interpreted.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// `'user'@'host'` from `user@host` (the host `%` when there is none).
fn account(role: &str) -> Result<String> {
    let (user, host) = match role.rsplit_once('@') {
        Some((u, h)) if !u.is_empty() => (u, h),
        _ => (role, "%"),
    };
    // Refused rather than escaped: how a quote or backslash reads depends on the server's sql_mode.
    if [user, host].iter().any(|part| part.is_empty() || part.contains(['\'', '\\', '\0'])) {
        return Err(Error::config("plan mysql permissions")
            .with_context("role", role)
            .with_source("a user or host name is empty or holds a quote, backslash or NUL"));
    }
    Ok(format!("'{user}'@'{host}'"))
}

/// The GRANT statements for `account`, in the order they apply.
fn statements(account: &str, rules: &[GrantRule]) -> Vec<String> {
    let mut out = Vec::new();
    for rule in rules {
        let database = quote_ident(&rule.scope);
        let privileges = rule.privilege_list();
        if rule.all_tables() {
            out.push(format!("GRANT {privileges} ON {database}.* TO {account}"));
        } else {
            for t in &rule.tables {
                out.push(format!("GRANT {privileges} ON {database}.{} TO {account}", quote_ident(t)));
            }
        }
    }
    out
}

impl MysqlTool {
    /// The grantee and the statements of the declared permissions.
    async fn planned(&self) -> Result<(String, Vec<String>)> {
        let Some((role, rules)) = self.server.grant_rules(&RULES).await? else {
            return Ok((String::new(), Vec::new()));
        };
        let account = account(&role)?;
        let statements = statements(&account, &rules);
        Ok((account, statements))
    }
}

#[async_trait]
impl PermissionProvisioner for MysqlTool {
    async fn plan(&self) -> Result<PermissionPlan> {
        let (principal, statements) = self.planned().await?;
        if principal.is_empty() {
            return Ok(PermissionPlan::default());
        }
        let pool = self.server.pool().await?;
        let what = format!("read the grants of {principal}");
        // `principal` was checked by `account`: no quote can end its literals early.
        let show = format!("SHOW GRANTS FOR {principal}");
        let current = match pool.fetch_all(show.as_str()).await {
            // 1141: the account has no grants at all (or does not exist yet).
            // 1141: the account has no grants at all (or does not exist yet). 1044, 1142: reading
            // another account's grants needs SELECT on the `mysql` schema, which a user that may
            // grant need not have; the plan then shows no current grants.
            Err(sqlx::Error::Database(db))
                if db
                    .try_downcast_ref::<MySqlDatabaseError>()
                    .is_some_and(|e| matches!(e.number(), 1141 | 1044 | 1142)) =>
            {
                tracing::debug!(tool = %self.qualified_name(), account = %principal, "current grants not readable");
                Ok(Vec::new())
            }
            other => other,
        };
        let current = current
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
        let pool = self.server.pool().await?;
        for (i, statement) in statements.iter().enumerate() {
            pool.execute(statement.as_str()).await.map_err(|e| {
                classify(e, Phase::Query, format!("grant privileges to {principal}"))
                    .with_context("tool", self.qualified_name())
                    .with_context("statement", (i + 1).to_string())
            })?;
        }
        tracing::info!(tool = %self.qualified_name(), account = %principal, statements = statements.len(), "applied mysql grants");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn plans_grants_and_quotes_names() {
        let rules = RULES.parse(&[
            json!({"database": "shop", "tables": ["*"], "privileges": ["select"]}),
            json!({"database": "shop", "tables": ["orders", "we`ird"], "privileges": ["SELECT", "INSERT", "select"]}),
        ])
        .expect("valid rules");
        let reporter = account("reporter").expect("valid");
        assert_eq!(reporter, "'reporter'@'%'");
        assert_eq!(
            statements(&reporter, &rules),
            [
                "GRANT SELECT ON `shop`.* TO 'reporter'@'%'",
                "GRANT SELECT, INSERT ON `shop`.`orders` TO 'reporter'@'%'",
                "GRANT SELECT, INSERT ON `shop`.`we``ird` TO 'reporter'@'%'",
            ]
        );
        assert_eq!(account("app@10.0.0.%").expect("valid"), "'app'@'10.0.0.%'");
        assert!(account("x'y").is_err());
    }

    #[test]
    fn rule_errors_name_the_field() {
        let errs = validate_rules(&[
            json!({"database": "shop", "tables": ["*", "t"], "privileges": ["FLY"]}),
            json!({"schema": "public", "tables": ["t"]}),
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
