//! `spec.permissions.rules` of the SQL engines: a rule names a schema (postgres) or a database
//! (mysql), its tables (`["*"]` for every table) and table privileges. This module parses and
//! checks the rules and the request to apply a plan, and finds the privileges held now that no
//! rule declares ([`undeclared`]); each connector writes its own GRANT and REVOKE statements.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use toolkit_core::connector::PermissionPlan;
use toolkit_core::model::{PermissionMode, PermissionsSpec};
use toolkit_core::validate::FieldError;
use toolkit_core::{Error, ErrorKind, Result};

/// What a rule's tables live in, and so the key that names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleScope {
    /// `{schema, tables, privileges}`.
    Schema,
    /// `{database, tables, privileges}`.
    Database,
}

/// How one engine writes its rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RuleSyntax {
    /// The engine's name in messages, such as `mysql`.
    pub engine: &'static str,
    /// What a rule's tables live in.
    pub scope: RuleScope,
    /// Table privileges a rule may grant, upper case.
    pub privileges: &'static [&'static str],
}

/// One checked rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrantRule {
    /// The schema or database.
    pub scope: String,
    /// Table names, or just `*` for every table.
    pub tables: Vec<String>,
    /// Privileges as written.
    pub privileges: Vec<String>,
}

impl GrantRule {
    /// Whether the rule covers every table (`["*"]`).
    pub fn all_tables(&self) -> bool {
        self.tables.iter().any(|t| t == "*")
    }

    /// The privileges in upper case, each once, in the order written, joined by `, `.
    pub fn privilege_list(&self) -> String {
        let mut privileges: Vec<String> = Vec::new();
        for p in &self.privileges {
            let p = p.to_ascii_uppercase();
            if !privileges.contains(&p) {
                privileges.push(p);
            }
        }
        privileges.join(", ")
    }

    /// Whether the rule declares `privilege` (upper case) on `table` of `scope`, or with
    /// `table: None` on every table of `scope`, which only a `["*"]` rule does. `ALL` declares
    /// every privilege. Names compare exactly, as the engine stores them.
    pub fn declares(&self, scope: &str, table: Option<&str>, privilege: &str) -> bool {
        let on_table = match table {
            Some(t) => self.all_tables() || self.tables.iter().any(|name| name == t),
            None => self.all_tables(),
        };
        self.scope == scope
            && on_table
            && self.privileges.iter().any(|p| p.eq_ignore_ascii_case("ALL") || p.eq_ignore_ascii_case(privilege))
    }
}

/// A privilege the principal holds now, as the engine's catalog reports it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct HeldPrivilege {
    /// The schema or database.
    pub scope: String,
    /// The table, or `None` for a grant on the whole database (mysql's `db.*`).
    pub table: Option<String>,
    /// The privilege, upper case (`INSERT`, `LOCK TABLES`).
    pub privilege: String,
}

/// Privileges to revoke on one table, or with `table: None` on a whole database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revocation {
    /// The schema or database.
    pub scope: String,
    /// The table, or `None` for the database level.
    pub table: Option<String>,
    /// The privileges, sorted, each once.
    pub privileges: Vec<String>,
}

impl Revocation {
    /// The privileges joined by `, `.
    pub fn privilege_list(&self) -> String {
        self.privileges.join(", ")
    }
}

/// The privileges in `held` that no rule declares, within the schemas or databases the rules
/// name (privileges elsewhere are left alone), grouped per table and sorted by schema or
/// database, then table (the database level first), then privilege, so a plan reads the same
/// every time. A privilege name that is not upper-case letters and spaces is skipped: these
/// names go into statements unquoted.
pub fn undeclared(rules: &[GrantRule], held: &[HeldPrivilege]) -> Vec<Revocation> {
    let scopes: BTreeSet<&str> = rules.iter().map(|r| r.scope.as_str()).collect();
    let mut grouped: BTreeMap<(&str, Option<&str>), BTreeSet<&str>> = BTreeMap::new();
    for h in held {
        let plain = !h.privilege.is_empty() && h.privilege.bytes().all(|b| b.is_ascii_uppercase() || b == b' ');
        if !plain || !scopes.contains(h.scope.as_str()) {
            continue;
        }
        let table = h.table.as_deref();
        if !rules.iter().any(|r| r.declares(&h.scope, table, &h.privilege)) {
            grouped.entry((&h.scope, table)).or_default().insert(&h.privilege);
        }
    }
    grouped
        .into_iter()
        .map(|((scope, table), privileges)| Revocation {
            scope: scope.to_owned(),
            table: table.map(str::to_owned),
            privileges: privileges.into_iter().map(str::to_owned).collect(),
        })
        .collect()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SchemaRule {
    schema: String,
    tables: Vec<String>,
    privileges: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DatabaseRule {
    database: String,
    tables: Vec<String>,
    privileges: Vec<String>,
}

impl From<SchemaRule> for GrantRule {
    fn from(r: SchemaRule) -> Self {
        Self { scope: r.schema, tables: r.tables, privileges: r.privileges }
    }
}

impl From<DatabaseRule> for GrantRule {
    fn from(r: DatabaseRule) -> Self {
        Self { scope: r.database, tables: r.tables, privileges: r.privileges }
    }
}

fn parse_one<T: DeserializeOwned + Into<GrantRule>>(raw: &Value) -> Result<GrantRule, serde_json::Error> {
    serde_json::from_value::<T>(raw.clone()).map(Into::into)
}

impl RuleSyntax {
    /// The key naming a rule's schema or database.
    fn scope_key(&self) -> &'static str {
        match self.scope {
            RuleScope::Schema => "schema",
            RuleScope::Database => "database",
        }
    }

    /// Checks the rules without planning them; paths are `spec.permissions.rules[i]...`.
    pub fn validate(&self, rules: &[Value]) -> Vec<FieldError> {
        match self.parse(rules) {
            Ok(_) => Vec::new(),
            Err(errs) => errs,
        }
    }

    /// The rules, or every problem found with its field path.
    pub fn parse(&self, rules: &[Value]) -> Result<Vec<GrantRule>, Vec<FieldError>> {
        let key = self.scope_key();
        let mut errs = Vec::new();
        let mut out = Vec::new();
        for (i, raw) in rules.iter().enumerate() {
            let p = format!("spec.permissions.rules[{i}]");
            let parsed = match self.scope {
                RuleScope::Schema => parse_one::<SchemaRule>(raw),
                RuleScope::Database => parse_one::<DatabaseRule>(raw),
            };
            let rule = match parsed {
                Ok(r) => r,
                Err(e) => {
                    let engine = self.engine;
                    errs.push(FieldError::new(&p, format!("{e}; a {engine} rule is {{{key}, tables, privileges}}")));
                    continue;
                }
            };
            check_ident(&mut errs, &format!("{p}.{key}"), &rule.scope);
            if rule.tables.is_empty() {
                errs.push(FieldError::new(format!("{p}.tables"), "list at least one table, or \"*\" for all"));
            }
            if rule.tables.len() > 1 && rule.all_tables() {
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
                if !self.privileges.contains(&priv_.to_ascii_uppercase().as_str()) {
                    errs.push(FieldError::new(
                        format!("{p}.privileges[{j}]"),
                        format!("`{priv_}` is not a table privilege; use {}", self.privileges.join(", ")),
                    ));
                }
            }
            out.push(rule);
        }
        if errs.is_empty() { Ok(out) } else { Err(errs) }
    }

    /// The rules of `spec` for a plan; invalid rules are a `Config` error ("plan ENGINE
    /// permissions").
    pub fn plan_rules(&self, spec: &PermissionsSpec) -> Result<Vec<GrantRule>> {
        self.parse(&spec.rules).map_err(|errs| {
            let text: Vec<String> = errs.iter().map(ToString::to_string).collect();
            Error::config(format!("plan {} permissions", self.engine)).with_source(text.join("; "))
        })
    }

    /// Refuses to apply grants unless `spec.permissions.mode` is `enforce`.
    pub fn check_enforce(&self, spec: Option<&PermissionsSpec>, tool: &str) -> Result<()> {
        if spec.map(|p| p.mode).unwrap_or_default() == PermissionMode::Enforce {
            return Ok(());
        }
        Err(Error::new(ErrorKind::Denied, format!("apply {} permissions", self.engine))
            .with_context("tool", tool)
            .with_context("hint", "spec.permissions.mode is `declare`; set it to `enforce` to apply grants"))
    }

    /// Refuses to apply `plan` unless it is what the tool `tool` plans now (`principal`,
    /// `statements`, which depend on the grants held now): only statements the connector wrote
    /// run with the tool's (privileged) connection, and only the ones the operator saw.
    pub fn check_plan(&self, tool: &str, plan: &PermissionPlan, principal: &str, statements: &[String]) -> Result<()> {
        if plan.principal == principal && plan.statements == statements {
            return Ok(());
        }
        Err(Error::invalid_input(format!("apply {} permissions", self.engine)).with_context("tool", tool).with_context(
            "hint",
            "the plan differs from what spec.permissions and the grants held now give; plan again",
        ))
    }
}

fn check_ident(errs: &mut Vec<FieldError>, path: &str, name: &str) {
    if name.is_empty() {
        errs.push(FieldError::new(path, "must not be empty"));
    } else if name.contains('\0') {
        errs.push(FieldError::new(path, "must not contain NUL characters"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SCHEMAS: RuleSyntax =
        RuleSyntax { engine: "postgres", scope: RuleScope::Schema, privileges: &["SELECT", "INSERT", "ALL"] };
    const DATABASES: RuleSyntax = RuleSyntax { engine: "mysql", scope: RuleScope::Database, ..SCHEMAS };

    fn paths(errs: &[FieldError]) -> Vec<&str> {
        errs.iter().map(|e| e.path.as_str()).collect()
    }

    #[test]
    fn rules_parse_with_the_engines_key() {
        let rules = SCHEMAS
            .parse(&[json!({"schema": "public", "tables": ["a", "b"], "privileges": ["select", "INSERT", "SELECT"]})])
            .expect("valid");
        assert_eq!(rules[0].scope, "public");
        assert_eq!(rules[0].privilege_list(), "SELECT, INSERT");
        assert!(!rules[0].all_tables());
        let rules =
            DATABASES.parse(&[json!({"database": "shop", "tables": ["*"], "privileges": ["all"]})]).expect("valid");
        assert_eq!(rules[0].scope, "shop");
        assert!(rules[0].all_tables());
    }

    #[test]
    fn rule_errors_name_the_field() {
        let errs = DATABASES.validate(&[
            json!({"database": "shop", "tables": ["*", "t"], "privileges": ["FLY"]}),
            json!({"schema": "public", "tables": ["t"]}),
            json!({"database": "", "tables": [], "privileges": []}),
        ]);
        assert_eq!(
            paths(&errs),
            [
                "spec.permissions.rules[0].tables",
                "spec.permissions.rules[0].privileges[0]",
                "spec.permissions.rules[1]",
                "spec.permissions.rules[2].database",
                "spec.permissions.rules[2].tables",
                "spec.permissions.rules[2].privileges",
            ]
        );
        assert!(errs[2].message.ends_with("; a mysql rule is {database, tables, privileges}"), "{}", errs[2].message);
        let errs = SCHEMAS.validate(&[json!({"schema": "public", "table": ["t"]})]);
        assert!(errs[0].message.contains("unknown field `table`"), "{}", errs[0].message);
        assert!(errs[0].message.ends_with("; a postgres rule is {schema, tables, privileges}"), "{}", errs[0].message);
    }

    fn held(scope: &str, table: Option<&str>, privilege: &str) -> HeldPrivilege {
        HeldPrivilege { scope: scope.into(), table: table.map(Into::into), privilege: privilege.into() }
    }

    #[test]
    fn undeclared_privileges_in_the_named_scopes_are_revoked() {
        let rules = DATABASES
            .parse(&[
                json!({"database": "shop", "tables": ["*"], "privileges": ["select"]}),
                json!({"database": "shop", "tables": ["notes"], "privileges": ["INSERT"]}),
                json!({"database": "audit", "tables": ["log"], "privileges": ["ALL"]}),
            ])
            .expect("valid");
        let held = [
            held("shop", Some("orders"), "UPDATE"),
            held("shop", Some("orders"), "INSERT"),
            held("shop", Some("orders"), "SELECT"),
            held("shop", Some("notes"), "INSERT"),
            held("shop", None, "SELECT"),
            held("shop", None, "LOCK TABLES"),
            held("shop", None, "INSERT"),
            held("audit", Some("log"), "DELETE"),
            held("audit", Some("other"), "SELECT"),
            held("audit", None, "SELECT"),
            held("elsewhere", Some("t"), "DELETE"),
            held("shop", Some("orders"), "DROP; --"),
        ];
        let revoke = undeclared(&rules, &held);
        let shown: Vec<(&str, Option<&str>, String)> =
            revoke.iter().map(|r| (r.scope.as_str(), r.table.as_deref(), r.privilege_list())).collect();
        assert_eq!(
            shown,
            [
                ("audit", None, "SELECT".to_owned()),
                ("audit", Some("other"), "SELECT".to_owned()),
                ("shop", None, "INSERT, LOCK TABLES".to_owned()),
                ("shop", Some("orders"), "INSERT, UPDATE".to_owned()),
            ]
        );
        assert!(undeclared(&[], &held).is_empty());
    }

    #[test]
    fn applying_needs_enforce_and_the_same_plan() {
        let declare = PermissionsSpec::default();
        let e = SCHEMAS.check_enforce(Some(&declare), "ns/t").expect_err("declare");
        assert_eq!(e.kind(), ErrorKind::Denied);
        assert!(SCHEMAS.check_enforce(None, "ns/t").is_err());
        let enforce = PermissionsSpec { mode: PermissionMode::Enforce, ..declare };
        assert!(SCHEMAS.check_enforce(Some(&enforce), "ns/t").is_ok());
        let plan = PermissionPlan { principal: "r".into(), statements: vec!["GRANT".into()], current: Vec::new() };
        assert!(SCHEMAS.check_plan("ns/t", &plan, "r", &plan.statements).is_ok());
        let e = SCHEMAS.check_plan("ns/t", &plan, "other", &plan.statements).expect_err("changed");
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
    }
}
