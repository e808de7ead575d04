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
//! The plan converges the account's privileges to what is declared, within the databases the
//! rules name: one `GRANT ... ON db.table TO 'user'@'host'` per rule and table (`db.*` for
//! `["*"]`), in the order of the rules, then one `REVOKE ... FROM 'user'@'host'` per database
//! (`db.*`) and per table for the privileges the account holds there now
//! (`information_schema.SCHEMA_PRIVILEGES` and `TABLE_PRIVILEGES`) that no rule declares, sorted
//! by database, table (the database level first) and privilege. A `["*"]` rule declares its
//! privileges on the database and every table in it; `ALL` declares every privilege. Left alone:
//! privileges in databases no rule names, global, column and routine privileges, and the
//! `GRANT OPTION`. The current grants shown come from `SHOW GRANTS FOR`.
//!
//! Reading another account's privileges needs `SELECT` on the `mysql` schema. Without it the
//! plan shows no current grants and no REVOKE, and `apply` refuses: it could not converge.
//! `enforce` mode applies the statements through the tool's own connection, whose user must
//! hold the privileges with `GRANT OPTION`, after reading the grants again and refusing a plan
//! that is no longer the one the operator saw. MySQL commits each `GRANT` and `REVOKE` on its
//! own, so a failure part-way leaves the earlier ones in place (the error says which statement
//! failed); planning and applying again finishes the work.

use async_trait::async_trait;
use serde_json::Value;
use sqlx::mysql::{MySqlDatabaseError, MySqlPool};
use sqlx::{Executor, Row};
use toolkit_connector_sql::{GrantRule, HeldPrivilege, Phase, Revocation, RuleScope, RuleSyntax, undeclared};
use toolkit_core::connector::{PermissionPlan, PermissionProvisioner};
use toolkit_core::validate::FieldError;
use toolkit_core::{Error, ErrorKind, Result};

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

/// The GRANT statements for `account`, then the REVOKE statements, in the order they apply.
fn statements(account: &str, rules: &[GrantRule], revoke: &[Revocation]) -> Vec<String> {
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
    for r in revoke {
        let database = quote_ident(&r.scope);
        let table = r.table.as_deref().map_or_else(|| "*".to_owned(), quote_ident);
        out.push(format!("REVOKE {} ON {database}.{table} FROM {account}", r.privilege_list()));
    }
    out
}

/// A plan, and whether the account's privileges could be read (the REVOKEs depend on them).
struct Planned {
    plan: PermissionPlan,
    readable: bool,
}

impl MysqlTool {
    /// The plan of the declared permissions against the grants held now; `None` when the tool
    /// declares none.
    async fn planned(&self) -> Result<Option<Planned>> {
        let Some((role, rules)) = self.server.grant_rules(&RULES).await? else {
            return Ok(None);
        };
        let principal = account(&role)?;
        let pool = self.server.pool().await?;
        let fail = |e| {
            classify(e, Phase::Query, format!("read the grants of {principal}"))
                .with_context("tool", self.qualified_name())
        };
        // `principal` was checked by `account`: no quote can end its literals early.
        let show = format!("SHOW GRANTS FOR {principal}");
        let (current, readable) = match pool.fetch_all(show.as_str()).await {
            Ok(rows) => (rows.iter().filter_map(|row| row.try_get::<String, _>(0).ok()).collect(), true),
            // 1141: the account has no grants at all (or does not exist yet).
            Err(e) if error_number(&e) == Some(1141) => (Vec::new(), true),
            // 1044, 1142: reading another account's grants needs SELECT on the `mysql` schema,
            // which a user that may grant need not have; the plan then shows no current grants.
            Err(e) if matches!(error_number(&e), Some(1044 | 1142)) => {
                tracing::debug!(tool = %self.qualified_name(), account = %principal, "current grants not readable");
                (Vec::new(), false)
            }
            Err(e) => return Err(fail(e)),
        };
        let held = if readable { held_privileges(&pool, &principal).await.map_err(fail)? } else { Vec::new() };
        let statements = statements(&principal, &rules, &undeclared(&rules, &held));
        Ok(Some(Planned { plan: PermissionPlan { principal, statements, current }, readable }))
    }
}

/// The server's error number, for a database error.
fn error_number(e: &sqlx::Error) -> Option<u16> {
    match e {
        sqlx::Error::Database(db) => db.try_downcast_ref::<MySqlDatabaseError>().map(MySqlDatabaseError::number),
        _ => None,
    }
}

/// The database-level (`db.*`) and table-level privileges of `principal` (`'user'@'host'`, as
/// the `GRANTEE` columns write it).
async fn held_privileges(pool: &MySqlPool, principal: &str) -> Result<Vec<HeldPrivilege>, sqlx::Error> {
    let mut held = Vec::new();
    let databases =
        sqlx::query("SELECT TABLE_SCHEMA, PRIVILEGE_TYPE FROM information_schema.SCHEMA_PRIVILEGES WHERE GRANTEE = ?")
            .bind(principal);
    for row in pool.fetch_all(databases).await? {
        held.push(HeldPrivilege { scope: row.try_get(0)?, table: None, privilege: row.try_get(1)? });
    }
    let tables = sqlx::query(
        "SELECT TABLE_SCHEMA, TABLE_NAME, PRIVILEGE_TYPE FROM information_schema.TABLE_PRIVILEGES WHERE GRANTEE = ?",
    )
    .bind(principal);
    for row in pool.fetch_all(tables).await? {
        held.push(HeldPrivilege { scope: row.try_get(0)?, table: Some(row.try_get(1)?), privilege: row.try_get(2)? });
    }
    Ok(held)
}

#[async_trait]
impl PermissionProvisioner for MysqlTool {
    async fn plan(&self) -> Result<PermissionPlan> {
        Ok(self.planned().await?.map(|p| p.plan).unwrap_or_default())
    }

    async fn apply(&self, plan: &PermissionPlan) -> Result<()> {
        RULES.check_enforce(self.server.permissions.as_ref(), self.qualified_name())?;
        let Some(Planned { plan: now, readable }) = self.planned().await? else {
            return RULES.check_plan(self.qualified_name(), plan, "", &[]);
        };
        if !readable {
            return Err(Error::new(ErrorKind::Denied, format!("apply the permissions of {}", now.principal))
                .with_context("tool", self.qualified_name())
                .with_context("hint", "the tool's user cannot read the account's grants to revoke what is not declared; grant it SELECT on the mysql schema"));
        }
        // Only statements this connector wrote, and only the ones the operator saw, are run with
        // the tool's (privileged) connection.
        RULES.check_plan(self.qualified_name(), plan, &now.principal, &now.statements)?;
        let pool = self.server.pool().await?;
        for (i, statement) in now.statements.iter().enumerate() {
            pool.execute(statement.as_str()).await.map_err(|e| {
                classify(e, Phase::Query, format!("apply the permissions of {}", now.principal))
                    .with_context("tool", self.qualified_name())
                    .with_context("statement", (i + 1).to_string())
            })?;
        }
        tracing::info!(tool = %self.qualified_name(), account = %now.principal, statements = now.statements.len(), "applied mysql permissions");
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
            statements(&reporter, &rules, &[]),
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
    fn revokes_follow_the_grants_sorted_and_quoted() {
        let rules = RULES
            .parse(&[
                json!({"database": "shop", "tables": ["*"], "privileges": ["SELECT"]}),
                json!({"database": "we`ird", "tables": ["notes"], "privileges": ["insert"]}),
            ])
            .expect("valid rules");
        let held = |db: &str, table: Option<&str>, privilege: &str| HeldPrivilege {
            scope: db.into(),
            table: table.map(Into::into),
            privilege: privilege.into(),
        };
        let held = [
            held("we`ird", Some("no`tes"), "SELECT"),
            held("shop", Some("orders"), "UPDATE"),
            held("shop", None, "LOCK TABLES"),
            held("shop", Some("orders"), "SELECT"),
            held("shop", Some("orders"), "INSERT"),
            held("shop", None, "SELECT"),
            held("we`ird", None, "INSERT"),
            held("other", None, "DELETE"),
        ];
        let app = account("app@localhost").expect("valid");
        assert_eq!(
            statements(&app, &rules, &undeclared(&rules, &held)),
            [
                "GRANT SELECT ON `shop`.* TO 'app'@'localhost'",
                "GRANT INSERT ON `we``ird`.`notes` TO 'app'@'localhost'",
                "REVOKE LOCK TABLES ON `shop`.* FROM 'app'@'localhost'",
                "REVOKE INSERT, UPDATE ON `shop`.`orders` FROM 'app'@'localhost'",
                "REVOKE INSERT ON `we``ird`.* FROM 'app'@'localhost'",
                "REVOKE SELECT ON `we``ird`.`no``tes` FROM 'app'@'localhost'",
            ]
        );
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
