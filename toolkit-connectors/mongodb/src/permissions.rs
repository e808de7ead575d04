//! Engine-native permissions: `spec.permissions.rules` become one role of the tool, granted to
//! the tool's user.
//!
//! Each rule is `{db: "shop", collection: "orders", actions: ["find"]}` (no `collection`: every
//! collection of `db`). The plan is two commands run on the `admin` database and the user's
//! database: `createRole` of `toolkit_<user>` with exactly those privileges, then
//! `grantRolesToUser`. Applying it again updates the role (`updateRole`) instead.

use async_trait::async_trait;
use mongodb::bson::{Bson, Document, doc};
use serde::Deserialize;
use serde_json::{Value, json};
use toolkit_core::connector::{PermissionPlan, PermissionProvisioner};
use toolkit_core::model::{PermissionMode, PermissionsSpec};
use toolkit_core::validate::{FieldError, config_error};
use toolkit_core::{Error, ErrorKind, Result};

use crate::MongoTool;
use crate::config::is_database_name;

/// Where the role is created.
pub const ROLE_DB: &str = "admin";

/// Server error code of `createRole` for a role that exists.
const ROLE_EXISTS: i32 = 51002;

/// One rule of `spec.permissions.rules`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrivilegeRule {
    /// Database.
    pub db: String,
    /// Collection; every collection of `db` when omitted.
    #[serde(default)]
    pub collection: Option<String>,
    /// Privilege actions such as `find`, `insert`, `update`, `remove`, `listCollections`.
    pub actions: Vec<String>,
}

/// The checked permissions of a tool.
#[derive(Clone, Debug, PartialEq)]
pub struct RolePlan {
    /// Whether the plan is applied.
    pub mode: PermissionMode,
    /// The user the role is granted to.
    pub user: String,
    /// Database holding the user.
    pub user_db: String,
    /// The rules.
    pub rules: Vec<PrivilegeRule>,
}

impl RolePlan {
    /// Reads and checks `spec.permissions`; the connection user is used when no role is named.
    pub fn from_spec(
        spec: &PermissionsSpec,
        connection_user: Option<&str>,
        user_db: &str,
    ) -> Result<Self, Vec<FieldError>> {
        let mut errs = Vec::new();
        let user = spec.role.as_deref().or(connection_user).unwrap_or_default().to_owned();
        if user.is_empty() {
            errs.push(FieldError::new(
                "spec.permissions.role",
                "is required when the tool connects without a user: name the user to grant to",
            ));
        } else if !user.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '@')) {
            errs.push(FieldError::new("spec.permissions.role", format!("`{user}` is not a user name")));
        }
        if spec.rules.is_empty() {
            errs.push(FieldError::new(
                "spec.permissions.rules",
                "grants nothing; add `{db, collection, actions}` rules",
            ));
        }
        let mut rules = Vec::new();
        for (i, raw) in spec.rules.iter().enumerate() {
            let path = format!("spec.permissions.rules[{i}]");
            let rule: PrivilegeRule = match serde_json::from_value(raw.clone()) {
                Ok(r) => r,
                Err(e) => {
                    errs.push(FieldError::new(path, format!("{e}; a rule takes `db`, `collection` and `actions`")));
                    continue;
                }
            };
            if !is_database_name(&rule.db) {
                errs.push(FieldError::new(format!("{path}.db"), format!("`{}` is not a database name", rule.db)));
            }
            if let Some(c) = &rule.collection
                && (c.is_empty() || c.contains(['$', '\0']))
            {
                errs.push(FieldError::new(format!("{path}.collection"), format!("`{c}` is not a collection name")));
            }
            if rule.actions.is_empty() {
                errs.push(FieldError::new(format!("{path}.actions"), "grants nothing; list actions such as `find`"));
            }
            for (j, a) in rule.actions.iter().enumerate() {
                if a.is_empty() || !a.chars().all(|c| c.is_ascii_alphabetic()) {
                    errs.push(FieldError::new(
                        format!("{path}.actions[{j}]"),
                        format!("`{a}` is not a privilege action such as `find` or `insert`"),
                    ));
                }
            }
            rules.push(rule);
        }
        if errs.is_empty() { Ok(Self { mode: spec.mode, user, user_db: user_db.to_owned(), rules }) } else { Err(errs) }
    }

    /// The role's name: `toolkit_<user>`.
    pub fn role(&self) -> String {
        format!("toolkit_{}", self.user)
    }

    fn privileges(&self) -> Vec<Document> {
        self.rules
            .iter()
            .map(|r| {
                let actions: Vec<Bson> = r.actions.iter().map(|a| Bson::String(a.clone())).collect();
                doc! {
                    "resource": {"db": &r.db, "collection": r.collection.clone().unwrap_or_default()},
                    "actions": actions,
                }
            })
            .collect()
    }

    /// The `createRole` command, run on [`ROLE_DB`].
    pub fn create_role(&self) -> Document {
        doc! {"createRole": self.role(), "privileges": self.privileges(), "roles": []}
    }

    /// The `updateRole` command that replaces an existing role's privileges.
    pub fn update_role(&self) -> Document {
        doc! {"updateRole": self.role(), "privileges": self.privileges(), "roles": []}
    }

    /// The `grantRolesToUser` command, run on the user's database.
    pub fn grant(&self) -> Document {
        doc! {"grantRolesToUser": &self.user, "roles": [{"role": self.role(), "db": ROLE_DB}]}
    }

    /// The commands as mongosh statements, in the order they apply.
    pub fn statements(&self) -> Vec<String> {
        let show = |db: &str, cmd: Document| {
            let json = Bson::Document(cmd).into_relaxed_extjson();
            format!("db.getSiblingDB({}).runCommand({json})", json!(db))
        };
        vec![show(ROLE_DB, self.create_role()), show(&self.user_db, self.grant())]
    }
}

impl MongoTool {
    fn role_plan(&self) -> Result<RolePlan> {
        let spec = self
            .permissions
            .as_ref()
            .ok_or_else(|| Error::unsupported("plan permissions: the tool declares no `spec.permissions`"))?;
        let c = &self.conn.config;
        RolePlan::from_spec(spec, c.username.as_deref(), &c.auth_source)
            .map_err(|errs| config_error("plan permissions", &errs))
    }

    /// The user's roles and the role's privileges, as the server reports them.
    async fn current(&self, plan: &RolePlan) -> Result<Vec<String>> {
        let limit = self.conn.config.connect_timeout * 2;
        let user_db = self.conn.database(&plan.user_db).await?;
        let users = user_db.run_command(doc! {"usersInfo": {"user": &plan.user, "db": &plan.user_db}});
        let users = self.conn.within(limit, "read the user's roles (usersInfo)", users).await?;
        let mut current = Vec::new();
        if let Ok(list) = users.get_array("users") {
            for u in list.iter().filter_map(Bson::as_document) {
                if let Ok(roles) = u.get_array("roles") {
                    let roles: Vec<String> = roles
                        .iter()
                        .filter_map(Bson::as_document)
                        .map(|r| format!("{}@{}", r.get_str("role").unwrap_or("?"), r.get_str("db").unwrap_or("?")))
                        .collect();
                    current.push(format!("roles of {}: {}", plan.user, roles.join(", ")));
                }
            }
        }
        let admin = self.conn.database(ROLE_DB).await?;
        let roles = admin.run_command(doc! {"rolesInfo": {"role": plan.role(), "db": ROLE_DB}, "showPrivileges": true});
        let roles = self.conn.within(limit, "read the role's privileges (rolesInfo)", roles).await?;
        if let Ok(list) = roles.get_array("roles") {
            for r in list.iter().filter_map(Bson::as_document) {
                if let Ok(privs) = r.get_array("privileges") {
                    let json = Bson::Array(privs.clone()).into_relaxed_extjson();
                    current.push(format!("privileges of {}: {json}", plan.role()));
                }
            }
        }
        Ok(current)
    }
}

#[async_trait]
impl PermissionProvisioner for MongoTool {
    async fn plan(&self) -> Result<PermissionPlan> {
        let plan = self.role_plan()?;
        let current = match self.current(&plan).await {
            Ok(c) => c,
            // Planning still works for a user who may not read users and roles; the gap is shown.
            Err(e) if e.kind() == ErrorKind::Denied => {
                vec!["unknown: the connection user may not run usersInfo or rolesInfo".into()]
            }
            Err(e) => return Err(e),
        };
        Ok(PermissionPlan { principal: plan.user.clone(), statements: plan.statements(), current })
    }

    async fn apply(&self, plan: &PermissionPlan) -> Result<()> {
        let ours = self.role_plan()?;
        if ours.mode != PermissionMode::Enforce {
            return Err(Error::new(
                ErrorKind::Denied,
                "apply permissions: `spec.permissions.mode` is `declare`; set `enforce` to apply",
            ));
        }
        if plan.principal != ours.user || plan.statements != ours.statements() {
            return Err(Error::invalid_input("apply permissions: the plan does not match the tool's spec; plan again"));
        }
        let limit = self.conn.config.connect_timeout * 2;
        let admin = self.conn.database(ROLE_DB).await?;
        let created =
            self.conn.within(limit, "create the role (createRole)", admin.run_command(ours.create_role())).await;
        match created {
            Ok(_) => {}
            Err(e) if is_role_exists(&e) => {
                let update = admin.run_command(ours.update_role());
                self.conn.within(limit, "update the role (updateRole)", update).await?;
            }
            Err(e) => return Err(e.with_context("role", ours.role())),
        }
        let user_db = self.conn.database(&ours.user_db).await?;
        let grant = user_db.run_command(ours.grant());
        self.conn
            .within(limit, "grant the role (grantRolesToUser)", grant)
            .await
            .map_err(|e| e.with_context("user", &ours.user))?;
        Ok(())
    }
}

/// Whether `createRole` failed because the role exists (code 51002, or 11000 on old servers).
fn is_role_exists(e: &Error) -> bool {
    use std::error::Error as _;
    let Some(source) = e.source().and_then(|s| s.downcast_ref::<mongodb::error::Error>()) else { return false };
    matches!(source.kind.as_ref(), mongodb::error::ErrorKind::Command(c) if c.code == ROLE_EXISTS || c.code == 11000)
}

/// The JSON of a command, for tests and messages.
pub fn command_json(cmd: &Document) -> Value {
    Bson::Document(cmd.clone()).into_relaxed_extjson()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(rules: Value) -> PermissionsSpec {
        PermissionsSpec { mode: PermissionMode::Enforce, role: None, rules: rules.as_array().cloned().unwrap() }
    }

    #[test]
    fn renders_role_and_grant() {
        let plan = RolePlan::from_spec(
            &spec(json!([{"db": "shop", "collection": "orders", "actions": ["find"]}, {"db": "logs", "actions": ["find", "insert"]}])),
            Some("app"),
            "admin",
        )
        .unwrap();
        assert_eq!(
            command_json(&plan.create_role()),
            json!({"createRole": "toolkit_app", "privileges": [
                {"resource": {"db": "shop", "collection": "orders"}, "actions": ["find"]},
                {"resource": {"db": "logs", "collection": ""}, "actions": ["find", "insert"]}
            ], "roles": []})
        );
        assert_eq!(
            plan.statements()[1],
            r#"db.getSiblingDB("admin").runCommand({"grantRolesToUser":"app","roles":[{"role":"toolkit_app","db":"admin"}]})"#
        );
    }

    #[test]
    fn refuses_bad_rules_by_path() {
        let errs = RolePlan::from_spec(
            &spec(json!([{"db": "a.b", "actions": ["find()"]}, {"db": "x", "actions": []}, {"users": 1}])),
            None,
            "admin",
        )
        .unwrap_err();
        let paths: Vec<_> = errs.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "spec.permissions.role",
                "spec.permissions.rules[0].db",
                "spec.permissions.rules[0].actions[0]",
                "spec.permissions.rules[1].actions",
                "spec.permissions.rules[2]"
            ]
        );
    }
}
