//! Engine-native permissions: `spec.permissions.rules` rendered as one `ACL SETUSER`.
//!
//! Each rule is `{keys: ["app:*"], channels: ["events:*"], commands: ["+@read", "-@dangerous"]}`.
//! The statement first clears the user's key, channel and command permissions (passwords are
//! kept), then grants the first rule at the root and every further rule as a selector
//! (`(~other:* +get)`, Redis 7), so the user ends with exactly what the manifest declares.

use async_trait::async_trait;
use redis::Value as Reply;
use serde::Deserialize;
use toolkit_core::connector::{PermissionPlan, PermissionProvisioner};
use toolkit_core::model::{PermissionMode, PermissionsSpec};
use toolkit_core::validate::{FieldError, config_error};
use toolkit_core::{Error, ErrorKind, Result};

use crate::RedisTool;
use crate::connection::classify;

/// One rule of `spec.permissions.rules`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AclRule {
    /// Key patterns, granted as `~pattern`.
    #[serde(default)]
    pub keys: Vec<String>,
    /// Pub/sub channel patterns, granted as `&pattern`.
    #[serde(default)]
    pub channels: Vec<String>,
    /// Command rules such as `+@read`, `-@dangerous`, `+get`, `+config|get`.
    #[serde(default)]
    pub commands: Vec<String>,
}

/// The checked permissions of a tool.
#[derive(Clone, Debug, PartialEq)]
pub struct AclPlan {
    /// Whether the plan is applied.
    pub mode: PermissionMode,
    /// The ACL user.
    pub user: String,
    /// The rules.
    pub rules: Vec<AclRule>,
}

impl AclPlan {
    /// Reads and checks `spec.permissions`; `connection_user` is used when no role is named.
    pub fn from_spec(spec: &PermissionsSpec, connection_user: Option<&str>) -> Result<Self, Vec<FieldError>> {
        let mut errs = Vec::new();
        let user = spec.role.as_deref().or(connection_user).unwrap_or("default").to_owned();
        if !is_token(&user) {
            errs.push(FieldError::new("spec.permissions.role", format!("`{user}` is not an ACL user name")));
        }
        let mut rules = Vec::new();
        for (i, raw) in spec.rules.iter().enumerate() {
            let path = format!("spec.permissions.rules[{i}]");
            let rule: AclRule = match serde_json::from_value(raw.clone()) {
                Ok(r) => r,
                Err(e) => {
                    errs.push(FieldError::new(path, format!("{e}; a rule takes `keys`, `channels` and `commands`")));
                    continue;
                }
            };
            for (field, list) in [("keys", &rule.keys), ("channels", &rule.channels)] {
                for (j, p) in list.iter().enumerate() {
                    if !is_token(p) {
                        errs.push(FieldError::new(
                            format!("{path}.{field}[{j}]"),
                            format!("`{p}` is not a pattern: no spaces or parentheses"),
                        ));
                    }
                }
            }
            for (j, c) in rule.commands.iter().enumerate() {
                if !is_command_rule(c) {
                    errs.push(FieldError::new(
                        format!("{path}.commands[{j}]"),
                        format!(
                            "`{c}` is not a command rule; write e.g. `+@read`, `-@dangerous`, `+get` or `+config|get`"
                        ),
                    ));
                }
            }
            if rule.keys.is_empty() && rule.channels.is_empty() && rule.commands.is_empty() {
                errs.push(FieldError::new(path, "grants nothing; set `keys`, `channels` or `commands`"));
            }
            rules.push(rule);
        }
        if errs.is_empty() { Ok(Self { mode: spec.mode, user, rules }) } else { Err(errs) }
    }

    /// The `ACL SETUSER` command line.
    pub fn argv(&self) -> Vec<String> {
        let mut argv: Vec<String> =
            ["ACL", "SETUSER", self.user.as_str(), "on", "resetkeys", "resetchannels", "-@all", "clearselectors"]
                .map(str::to_owned)
                .to_vec();
        for (i, rule) in self.rules.iter().enumerate() {
            let tokens: Vec<String> = rule
                .keys
                .iter()
                .map(|k| format!("~{k}"))
                .chain(rule.channels.iter().map(|c| format!("&{c}")))
                .chain(rule.commands.iter().map(|c| c.to_ascii_lowercase()))
                .collect();
            if i == 0 {
                argv.extend(tokens);
            } else {
                argv.push(format!("({})", tokens.join(" ")));
            }
        }
        argv
    }

    /// The statement as shown in a plan; tokens hold no spaces, so it reads unambiguously.
    pub fn statement(&self) -> String {
        self.argv().join(" ")
    }
}

/// A single ACL token: printable, no spaces, no selector parentheses.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.chars().all(|c| c.is_ascii_graphic() && c != '(' && c != ')')
        && !s.starts_with(['>', '<', '#', '!'])
}

fn is_command_rule(s: &str) -> bool {
    let Some(body) = s.strip_prefix(['+', '-']) else { return false };
    let body = body.strip_prefix('@').unwrap_or(body);
    !body.is_empty() && body.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '|'))
}

impl RedisTool {
    fn acl_plan(&self) -> Result<AclPlan> {
        let spec = self
            .permissions
            .as_ref()
            .ok_or_else(|| Error::unsupported("plan permissions: the tool declares no `spec.permissions`"))?;
        AclPlan::from_spec(spec, self.conn.config.username.as_deref())
            .map_err(|errs| config_error("plan permissions", &errs))
    }

    /// What `ACL GETUSER` says the user has now, without password hashes.
    async fn current(&self, user: &str) -> Result<Vec<String>> {
        let mut conn = self.conn.manager().await?;
        let reply: Reply = redis::cmd("ACL")
            .arg("GETUSER")
            .arg(user)
            .query_async(&mut conn)
            .await
            .map_err(|e| classify(e, "read the user's permissions (ACL GETUSER)"))?;
        let pairs: Vec<(Reply, Reply)> = match reply {
            Reply::Map(pairs) => pairs,
            Reply::Array(items) => {
                let mut it = items.into_iter();
                std::iter::from_fn(|| Some((it.next()?, it.next()?))).collect()
            }
            _ => return Ok(Vec::new()),
        };
        Ok(pairs
            .into_iter()
            .filter_map(|(k, v)| {
                let key = flat_text(&k);
                (key != "passwords").then(|| format!("{key}: {}", flat_text(&v)))
            })
            .collect())
    }
}

/// A reply flattened to one line: arrays joined with spaces, selectors in parentheses.
fn flat_text(v: &Reply) -> String {
    match v {
        Reply::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        Reply::SimpleString(s) | Reply::VerbatimString { text: s, .. } => s.clone(),
        Reply::Okay => "OK".into(),
        Reply::Int(i) => i.to_string(),
        Reply::Array(items) | Reply::Set(items) => items.iter().map(flat_text).collect::<Vec<_>>().join(" "),
        Reply::Map(pairs) => {
            let inner: Vec<String> = pairs.iter().map(|(k, v)| format!("{}: {}", flat_text(k), flat_text(v))).collect();
            format!("({})", inner.join(", "))
        }
        _ => String::new(),
    }
}

#[async_trait]
impl PermissionProvisioner for RedisTool {
    async fn plan(&self) -> Result<PermissionPlan> {
        let plan = self.acl_plan()?;
        let current = match self.current(&plan.user).await {
            Ok(c) => c,
            // Planning still works for a user who may not read ACLs; the gap is shown.
            Err(e) if e.kind() == ErrorKind::Denied => {
                vec!["unknown: the connection user may not run ACL GETUSER".into()]
            }
            Err(e) => return Err(e),
        };
        Ok(PermissionPlan { principal: plan.user.clone(), statements: vec![plan.statement()], current })
    }

    async fn apply(&self, plan: &PermissionPlan) -> Result<()> {
        let ours = self.acl_plan()?;
        if ours.mode != PermissionMode::Enforce {
            return Err(Error::new(
                ErrorKind::Denied,
                "apply permissions: `spec.permissions.mode` is `declare`; set `enforce` to apply",
            ));
        }
        if plan.principal != ours.user || plan.statements != [ours.statement()] {
            return Err(Error::invalid_input("apply permissions: the plan does not match the tool's spec; plan again"));
        }
        let argv = ours.argv();
        let mut cmd = redis::cmd("ACL");
        for a in argv.iter().skip(1) {
            cmd.arg(a);
        }
        let mut conn = self.conn.manager().await?;
        let _: Reply = cmd
            .query_async(&mut conn)
            .await
            .map_err(|e| classify(e, "apply permissions (ACL SETUSER)").with_context("user", &ours.user))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(rules: serde_json::Value) -> PermissionsSpec {
        PermissionsSpec {
            mode: PermissionMode::Enforce,
            role: Some("app".into()),
            rules: rules.as_array().cloned().unwrap(),
        }
    }

    #[test]
    fn renders_root_rule_and_selectors() {
        let plan = AclPlan::from_spec(
            &spec(json!([
                {"keys": ["app:*"], "commands": ["+@read", "-@dangerous"]},
                {"keys": ["jobs:*"], "channels": ["ev:*"], "commands": ["+LPUSH"]}
            ])),
            None,
        )
        .unwrap();
        assert_eq!(
            plan.statement(),
            "ACL SETUSER app on resetkeys resetchannels -@all clearselectors ~app:* +@read -@dangerous (~jobs:* &ev:* +lpush)"
        );
    }

    #[test]
    fn refuses_tokens_that_could_grant_more() {
        let errs = AclPlan::from_spec(
            &spec(json!([{"keys": ["a:* nopass"], "commands": ["+@read >pw", "allcommands"]}, {"users": []}])),
            Some("x"),
        )
        .unwrap_err();
        let paths: Vec<_> = errs.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "spec.permissions.rules[0].keys[0]",
                "spec.permissions.rules[0].commands[0]",
                "spec.permissions.rules[0].commands[1]",
                "spec.permissions.rules[1]"
            ]
        );
    }

    #[test]
    fn falls_back_to_the_connection_user() {
        let mut s = spec(json!([{"commands": ["+ping"]}]));
        s.role = None;
        assert_eq!(AclPlan::from_spec(&s, Some("svc")).unwrap().user, "svc");
        assert_eq!(AclPlan::from_spec(&s, None).unwrap().user, "default");
    }
}
