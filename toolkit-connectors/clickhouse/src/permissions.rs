//! GRANT plans: `spec.permissions.rules` such as `{privileges: [SELECT], on: "db.table"}`
//! rendered as `GRANT SELECT ON db.table TO user`. ClickHouse manages users with SQL only from
//! the 20 series on; an older server (18.16 here) keeps users in XML files, so applying a plan to
//! it is `unsupported`, naming the version. Newer servers run the statements.

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::Value;
use toolkit_core::connector::{CallLimits, PermissionPlan, PermissionProvisioner};
use toolkit_core::model::PermissionsSpec;
use toolkit_core::validate::{FieldError, config_error};
use toolkit_core::{Error, ErrorKind, Result};

use crate::ClickhouseTool;
use crate::probe::major;

/// The first major version with SQL access control (`GRANT`, `SHOW GRANTS`).
pub const FIRST_MAJOR_WITH_GRANTS: u32 = 20;

/// Privileges a rule may name (ClickHouse's names; `ALL` grants everything).
pub const PRIVILEGES: &[&str] = &[
    "SELECT",
    "INSERT",
    "ALTER",
    "CREATE",
    "DROP",
    "TRUNCATE",
    "OPTIMIZE",
    "SHOW",
    "KILL QUERY",
    "SYSTEM",
    "INTROSPECTION",
    "SOURCES",
    "dictGet",
    "ALL",
];

/// One rule of `spec.permissions.rules`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GrantRule {
    /// Privileges, such as `SELECT`.
    pub privileges: Vec<String>,
    /// `db.table`, `db.*` or `*.*`.
    pub on: String,
}

/// The plan of one tool, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct GrantPlan {
    /// The user the grants are for.
    pub user: String,
    /// The rules.
    pub rules: Vec<GrantRule>,
}

impl GrantPlan {
    /// Reads and checks `spec.permissions` for `user` (the connection user unless `role` is
    /// set); every problem names its field.
    pub fn from_spec(p: &PermissionsSpec, user: &str) -> Result<Self, Vec<FieldError>> {
        let mut errs = Vec::new();
        let user = p.role.clone().unwrap_or_else(|| user.to_owned());
        if !is_name(&user) {
            errs.push(FieldError::new("spec.permissions.role", format!("`{user}` is not a user name")));
        }
        if p.rules.is_empty() {
            errs.push(FieldError::new("spec.permissions.rules", "needs at least one rule"));
        }
        let mut rules = Vec::new();
        for (i, raw) in p.rules.iter().enumerate() {
            let path = format!("spec.permissions.rules[{i}]");
            let rule: GrantRule = match serde_json::from_value(raw.clone()) {
                Ok(r) => r,
                Err(e) => {
                    errs.push(FieldError::new(path, format!("is not a grant rule ({{privileges, on}}): {e}")));
                    continue;
                }
            };
            if rule.privileges.is_empty() {
                errs.push(FieldError::new(format!("{path}.privileges"), "needs at least one privilege"));
            }
            for (j, priv_) in rule.privileges.iter().enumerate() {
                if !PRIVILEGES.iter().any(|k| k.eq_ignore_ascii_case(priv_)) {
                    errs.push(FieldError::new(
                        format!("{path}.privileges[{j}]"),
                        format!("`{priv_}` is not a privilege; known: {}", PRIVILEGES.join(", ")),
                    ));
                }
            }
            if !is_target(&rule.on) {
                errs.push(FieldError::new(
                    format!("{path}.on"),
                    format!("`{}` is not `db.table`, `db.*` or `*.*`", rule.on),
                ));
            }
            rules.push(rule);
        }
        if errs.is_empty() { Ok(GrantPlan { user, rules }) } else { Err(errs) }
    }

    /// One `GRANT` per rule.
    pub fn statements(&self) -> Vec<String> {
        self.rules
            .iter()
            .map(|r| {
                let privileges: Vec<String> = r
                    .privileges
                    .iter()
                    .map(|p| {
                        PRIVILEGES.iter().find(|k| k.eq_ignore_ascii_case(p)).map_or(p.clone(), |k| (*k).to_owned())
                    })
                    .collect();
                format!("GRANT {} ON {} TO {}", privileges.join(", "), r.on, quote(&self.user))
            })
            .collect()
    }
}

fn is_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 128 && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

fn is_ident_or_star(s: &str) -> bool {
    s == "*" || (!s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
}

fn is_target(on: &str) -> bool {
    matches!(on.split_once('.'), Some((db, table)) if is_ident_or_star(db) && is_ident_or_star(table) && !(db == "*" && table != "*"))
}

/// A user name as SQL: bare when it is a plain identifier, back-quoted otherwise.
fn quote(name: &str) -> String {
    if name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !name.starts_with(|c: char| c.is_ascii_digit()) {
        name.to_owned()
    } else {
        format!("`{}`", name.replace('`', "``"))
    }
}

#[async_trait]
impl PermissionProvisioner for ClickhouseTool {
    async fn plan(&self) -> Result<PermissionPlan> {
        let plan = self.grant_plan()?;
        let mut current = Vec::new();
        // Servers with access control say what is granted now; older ones have nothing to say.
        if let Ok(version) = self.server_version().await
            && major(&version).is_some_and(|m| m >= FIRST_MAJOR_WITH_GRANTS)
        {
            let out = self.run_admin(&format!("SHOW GRANTS FOR {}", quote(&plan.user))).await?;
            current = out
                .content
                .get("rows")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|r| r.as_object()?.values().next()?.as_str().map(str::to_owned))
                .collect();
        }
        Ok(PermissionPlan { principal: plan.user.clone(), statements: plan.statements(), current })
    }

    async fn apply(&self, plan: &PermissionPlan) -> Result<()> {
        let version = self.server_version().await?;
        if major(&version).is_none_or(|m| m < FIRST_MAJOR_WITH_GRANTS) {
            return Err(Error::unsupported(format!(
                "apply clickhouse grants: ClickHouse {version} has no SQL access control (it came in the \
                 {FIRST_MAJOR_WITH_GRANTS}.x series); users and their rights are set in the server's users.xml"
            )));
        }
        for statement in &plan.statements {
            self.run_admin(statement).await?;
        }
        Ok(())
    }
}

impl ClickhouseTool {
    pub(crate) fn grant_plan(&self) -> Result<GrantPlan> {
        let Some(p) = &self.permissions else {
            return Err(Error::config("plan permissions: the tool declares no spec.permissions"));
        };
        GrantPlan::from_spec(p, self.conn.config.user()).map_err(|errs| config_error("plan permissions", &errs))
    }

    /// Runs a statement of the plan itself (never readonly, never an agent's text).
    async fn run_admin(&self, sql: &str) -> Result<toolkit_core::connector::InvokeOutput> {
        let tool = ClickhouseTool { read_only: false, ..self.clone() };
        tool.run(sql, &[], &CallLimits::default()).await.map_err(|e| {
            if e.kind() == ErrorKind::InvalidInput { Error::new(ErrorKind::Upstream, e.to_string()) } else { e }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(rules: Value, role: Option<&str>) -> PermissionsSpec {
        PermissionsSpec {
            role: role.map(str::to_owned),
            rules: serde_json::from_value(rules).unwrap(),
            ..PermissionsSpec::default()
        }
    }

    #[test]
    fn renders_grants() {
        let p = spec(
            json!([{"privileges": ["select"], "on": "analytics.events"}, {"privileges": ["SELECT", "SHOW"], "on": "logs.*"}]),
            None,
        );
        let plan = GrantPlan::from_spec(&p, "agent").unwrap();
        assert_eq!(
            plan.statements(),
            ["GRANT SELECT ON analytics.events TO agent", "GRANT SELECT, SHOW ON logs.* TO agent"]
        );
        let plan = GrantPlan::from_spec(&p, "my-user").unwrap();
        assert!(plan.statements()[0].ends_with("TO `my-user`"));
    }

    #[test]
    fn validation_names_the_fields() {
        let p = spec(
            json!([{"privileges": ["STEAL"], "on": "db"}, {"privileges": [], "on": "*.t"}, {"on": "a.b"}]),
            Some("x y"),
        );
        let errs = GrantPlan::from_spec(&p, "u").unwrap_err();
        let paths: Vec<_> = errs.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "spec.permissions.role",
                "spec.permissions.rules[0].privileges[0]",
                "spec.permissions.rules[0].on",
                "spec.permissions.rules[1].privileges",
                "spec.permissions.rules[1].on",
                "spec.permissions.rules[2]"
            ]
        );
    }
}
