//! RBAC plans: `spec.permissions.rules` rendered as Kubernetes YAML, a ServiceAccount (when
//! `role` names one), a Role and RoleBinding for the namespaced rules and a ClusterRole and
//! ClusterRoleBinding for rules with `clusterScope: true` (or all rules, when the tool sets no
//! namespace). Built with k8s-openapi types and serialized with serde_yaml, one document per
//! statement. Plans are declared only: applying them is left to kubectl or the operator.

use std::collections::BTreeMap;

use async_trait::async_trait;
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Deserialize;
use toolkit_core::connector::{PermissionPlan, PermissionProvisioner};
use toolkit_core::model::PermissionsSpec;
use toolkit_core::validate::FieldError;
use toolkit_core::{Error, Result};

use crate::KubeTool;
use crate::config::is_dns_label;

/// The verbs Kubernetes RBAC knows.
pub const VERBS: &[&str] = &[
    "get",
    "list",
    "watch",
    "create",
    "update",
    "patch",
    "delete",
    "deletecollection",
    "impersonate",
    "bind",
    "escalate",
    "use",
    "approve",
    "sign",
    "proxy",
    "*",
];

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// One rule of `spec.permissions.rules`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RbacRule {
    /// API groups; the core group (`""`) when omitted.
    #[serde(default)]
    pub api_groups: Option<Vec<String>>,
    /// Resources, such as `pods` or `pods/log`.
    #[serde(default)]
    pub resources: Vec<String>,
    /// Verbs, such as `get`, `list`, `watch`.
    #[serde(default)]
    pub verbs: Vec<String>,
    /// Object names the rule is limited to.
    #[serde(default)]
    pub resource_names: Vec<String>,
    /// Grant across the cluster (a ClusterRole) instead of in the tool's namespace.
    #[serde(default)]
    pub cluster_scope: bool,
}

impl RbacRule {
    fn policy_rule(&self) -> PolicyRule {
        PolicyRule {
            api_groups: Some(self.api_groups.clone().unwrap_or_else(|| vec![String::new()])),
            resources: Some(self.resources.clone()),
            verbs: self.verbs.clone(),
            resource_names: (!self.resource_names.is_empty()).then(|| self.resource_names.clone()),
            non_resource_urls: None,
        }
    }
}

/// The plan of one tool, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct RbacPlan {
    /// Name of the Role, ClusterRole and bindings.
    pub name: String,
    /// Namespace of the Role, RoleBinding and ServiceAccount.
    pub namespace: String,
    /// The ServiceAccount bound, if `role` is set.
    pub service_account: Option<String>,
    /// Rules granted in the namespace.
    pub namespaced: Vec<RbacRule>,
    /// Rules granted across the cluster.
    pub cluster: Vec<RbacRule>,
}

impl RbacPlan {
    /// Reads and checks `spec.permissions`; `namespace` is the tool's, `None` when it sets none
    /// (every rule is then cluster-wide). Every problem names its field.
    pub fn from_spec(
        p: &PermissionsSpec,
        tool_name: &str,
        namespace: Option<&str>,
        default_namespace: &str,
    ) -> Result<Self, Vec<FieldError>> {
        let mut errs = Vec::new();
        let mut namespaced = Vec::new();
        let mut cluster = Vec::new();
        if p.rules.is_empty() {
            errs.push(FieldError::new("spec.permissions.rules", "needs at least one rule"));
        }
        for (i, raw) in p.rules.iter().enumerate() {
            let path = format!("spec.permissions.rules[{i}]");
            let rule: RbacRule = match serde_json::from_value(raw.clone()) {
                Ok(r) => r,
                Err(e) => {
                    errs.push(FieldError::new(
                        path,
                        format!(
                            "is not an RBAC rule ({{apiGroups, resources, verbs, resourceNames, clusterScope}}): {e}"
                        ),
                    ));
                    continue;
                }
            };
            if rule.resources.is_empty() || rule.resources.iter().any(|r| r.trim().is_empty()) {
                errs.push(FieldError::new(format!("{path}.resources"), "needs at least one non-empty resource"));
            }
            if rule.verbs.is_empty() {
                errs.push(FieldError::new(format!("{path}.verbs"), "needs at least one verb"));
            }
            for (j, v) in rule.verbs.iter().enumerate() {
                if !VERBS.contains(&v.as_str()) {
                    errs.push(FieldError::new(
                        format!("{path}.verbs[{j}]"),
                        format!("`{v}` is not a Kubernetes verb; known: {}", VERBS.join(", ")),
                    ));
                }
            }
            if rule.cluster_scope || namespace.is_none() {
                cluster.push(rule);
            } else {
                namespaced.push(rule);
            }
        }
        if let Some(role) = &p.role
            && !is_dns_label(role)
        {
            errs.push(FieldError::new(
                "spec.permissions.role",
                format!("`{role}` is not a ServiceAccount name (lowercase letters, digits and `-`)"),
            ));
        }
        if !errs.is_empty() {
            return Err(errs);
        }
        Ok(RbacPlan {
            name: object_name(tool_name),
            namespace: namespace.unwrap_or(default_namespace).to_owned(),
            service_account: p.role.clone(),
            namespaced,
            cluster,
        })
    }

    /// The engine identity: the ServiceAccount's user name.
    pub fn principal(&self) -> String {
        match &self.service_account {
            Some(sa) => format!("system:serviceaccount:{}:{sa}", self.namespace),
            None => "(none: set spec.permissions.role to bind the roles to a ServiceAccount)".into(),
        }
    }

    /// The objects as YAML documents, in the order they apply.
    pub fn statements(&self) -> Result<Vec<String>> {
        let mut docs = Vec::new();
        let subject = self.service_account.as_ref().map(|sa| Subject {
            kind: "ServiceAccount".into(),
            name: sa.clone(),
            namespace: Some(self.namespace.clone()),
            api_group: None,
        });
        if let Some(sa) = &self.service_account {
            docs.push(yaml(&ServiceAccount { metadata: self.meta(sa, true), ..ServiceAccount::default() })?);
        }
        if !self.namespaced.is_empty() {
            let rules = self.namespaced.iter().map(RbacRule::policy_rule).collect();
            docs.push(yaml(&Role { metadata: self.meta(&self.name, true), rules: Some(rules) })?);
            if let Some(s) = &subject {
                docs.push(yaml(&RoleBinding {
                    metadata: self.meta(&self.name, true),
                    role_ref: role_ref("Role", &self.name),
                    subjects: Some(vec![s.clone()]),
                })?);
            }
        }
        if !self.cluster.is_empty() {
            let rules = self.cluster.iter().map(RbacRule::policy_rule).collect();
            docs.push(yaml(&ClusterRole {
                metadata: self.meta(&self.name, false),
                rules: Some(rules),
                aggregation_rule: None,
            })?);
            if let Some(s) = &subject {
                docs.push(yaml(&ClusterRoleBinding {
                    metadata: self.meta(&self.name, false),
                    role_ref: role_ref("ClusterRole", &self.name),
                    subjects: Some(vec![s.clone()]),
                })?);
            }
        }
        Ok(docs)
    }

    fn meta(&self, name: &str, namespaced: bool) -> ObjectMeta {
        ObjectMeta {
            name: Some(name.to_owned()),
            namespace: namespaced.then(|| self.namespace.clone()),
            labels: Some(BTreeMap::from([("app.kubernetes.io/managed-by".to_owned(), "toolkit".to_owned())])),
            ..ObjectMeta::default()
        }
    }
}

fn role_ref(kind: &str, name: &str) -> RoleRef {
    RoleRef { api_group: RBAC_GROUP.into(), kind: kind.into(), name: name.into() }
}

fn yaml<T: serde::Serialize>(object: &T) -> Result<String> {
    serde_yaml::to_string(object).map_err(|e| Error::internal("render the rbac plan as yaml").with_source(e))
}

/// `toolkit-<tool>`, lowercased, with characters a name cannot hold turned into `-`.
fn object_name(tool: &str) -> String {
    let cleaned: String =
        tool.to_ascii_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    let name = format!("toolkit-{}", cleaned.trim_matches('-'));
    name.chars().take(63).collect::<String>().trim_end_matches('-').to_owned()
}

#[async_trait]
impl PermissionProvisioner for KubeTool {
    async fn plan(&self) -> Result<PermissionPlan> {
        let plan = self.rbac_plan()?;
        Ok(PermissionPlan { principal: plan.principal(), statements: plan.statements()?, current: Vec::new() })
    }

    async fn apply(&self, _plan: &PermissionPlan) -> Result<()> {
        Err(Error::unsupported(
            "apply kubernetes permissions: toolkit does not create RBAC objects yet; apply the plan's YAML with kubectl",
        ))
    }
}

impl KubeTool {
    pub(crate) fn rbac_plan(&self) -> Result<RbacPlan> {
        let Some(p) = &self.permissions else {
            return Err(Error::config("plan permissions: the tool declares no spec.permissions"));
        };
        let cfg = &self.conn.config;
        RbacPlan::from_spec(p, &self.name, cfg.namespace_set.then_some(cfg.namespace.as_str()), &cfg.namespace).map_err(
            |errs| {
                let text: Vec<String> = errs.iter().map(ToString::to_string).collect();
                Error::config(format!("plan permissions: {}", text.join("; ")))
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(rules: serde_json::Value, role: Option<&str>) -> PermissionsSpec {
        PermissionsSpec {
            role: role.map(str::to_owned),
            rules: serde_json::from_value(rules).unwrap(),
            ..PermissionsSpec::default()
        }
    }

    #[test]
    fn renders_role_binding_and_cluster_role_that_parse_back() {
        let p = spec(
            json!([
                {"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["get", "list", "watch"]},
                {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get"], "clusterScope": true}
            ]),
            Some("agent-reader"),
        );
        let plan = RbacPlan::from_spec(&p, "Prod K8s", Some("apps"), "apps").unwrap();
        assert_eq!(plan.principal(), "system:serviceaccount:apps:agent-reader");
        let docs = plan.statements().unwrap();
        assert_eq!(docs.len(), 5);
        let sa: ServiceAccount = serde_yaml::from_str(&docs[0]).unwrap();
        assert_eq!(sa.metadata.name.as_deref(), Some("agent-reader"));
        let role: Role = serde_yaml::from_str(&docs[1]).unwrap();
        assert_eq!(role.metadata.name.as_deref(), Some("toolkit-prod-k8s"));
        assert_eq!(role.metadata.namespace.as_deref(), Some("apps"));
        let rules = role.rules.unwrap();
        assert_eq!(rules[0].resources.as_deref(), Some(&["pods".to_owned(), "pods/log".to_owned()][..]));
        assert_eq!(rules[0].verbs, ["get", "list", "watch"]);
        assert_eq!(rules[0].api_groups.as_deref(), Some(&[String::new()][..]));
        let binding: RoleBinding = serde_yaml::from_str(&docs[2]).unwrap();
        assert_eq!((binding.role_ref.kind.as_str(), binding.role_ref.name.as_str()), ("Role", "toolkit-prod-k8s"));
        let subject = &binding.subjects.unwrap()[0];
        assert_eq!((subject.kind.as_str(), subject.name.as_str()), ("ServiceAccount", "agent-reader"));
        assert_eq!(subject.namespace.as_deref(), Some("apps"));
        let cluster: ClusterRole = serde_yaml::from_str(&docs[3]).unwrap();
        assert_eq!(cluster.rules.unwrap()[0].resources.as_deref(), Some(&["nodes".to_owned()][..]));
        let cb: ClusterRoleBinding = serde_yaml::from_str(&docs[4]).unwrap();
        assert_eq!(cb.role_ref.kind, "ClusterRole");
        assert!(docs[1].starts_with("apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\n"), "{}", docs[1]);
    }

    #[test]
    fn without_a_namespace_everything_is_cluster_wide_and_unbound_without_a_role() {
        let p = spec(json!([{"resources": ["pods"], "verbs": ["list"]}]), None);
        let plan = RbacPlan::from_spec(&p, "k", None, "default").unwrap();
        let docs = plan.statements().unwrap();
        assert_eq!(docs.len(), 1);
        let cluster: ClusterRole = serde_yaml::from_str(&docs[0]).unwrap();
        assert_eq!(cluster.metadata.name.as_deref(), Some("toolkit-k"));
    }

    #[test]
    fn validation_names_the_fields() {
        let p = spec(
            json!([{"resources": [], "verbs": ["get", "steal"]}, {"resources": ["pods"], "verbs": ["get"], "x": 1}]),
            Some("Bad_Name"),
        );
        let errs = RbacPlan::from_spec(&p, "k", Some("a"), "a").unwrap_err();
        let paths: Vec<_> = errs.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "spec.permissions.rules[0].resources",
                "spec.permissions.rules[0].verbs[1]",
                "spec.permissions.rules[1]",
                "spec.permissions.role"
            ]
        );
    }
}
