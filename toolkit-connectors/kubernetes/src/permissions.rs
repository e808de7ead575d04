//! RBAC plans: `spec.permissions.rules` rendered as Kubernetes YAML, a ServiceAccount (when
//! `role` names one), a Role and RoleBinding for the namespaced rules and a ClusterRole and
//! ClusterRoleBinding for rules with `clusterScope: true` (or all rules, when the tool sets no
//! namespace). Built with k8s-openapi types and serialized with serde_yaml, one document per
//! statement. `apply` (enforce mode: `toolkit tool permissions --apply`, the operator) applies
//! them with server-side apply through the tool's own connection and deletes the objects of the
//! tool's name that the plan no longer holds; what a plan reads as granted now is those objects.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use serde::Deserialize;
use toolkit_core::connector::{PermissionPlan, PermissionProvisioner};
use toolkit_core::model::{PermissionMode, PermissionsSpec};
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

/// The label every object of a plan carries; only objects with it are deleted by `apply`.
const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "toolkit");

/// The field manager of server-side apply.
const FIELD_MANAGER: &str = "toolkit";

/// How long one request of planning or applying may take.
const REQUEST_DEADLINE: Duration = Duration::from_secs(30);

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

    /// The objects of the plan, typed; absent ones are not part of it.
    pub fn objects(&self) -> RbacObjects {
        let subject = self.service_account.as_ref().map(|sa| Subject {
            kind: "ServiceAccount".into(),
            name: sa.clone(),
            namespace: Some(self.namespace.clone()),
            api_group: None,
        });
        let mut objects = RbacObjects {
            service_account: self
                .service_account
                .as_ref()
                .map(|sa| ServiceAccount { metadata: self.meta(sa, true), ..ServiceAccount::default() }),
            ..RbacObjects::default()
        };
        if !self.namespaced.is_empty() {
            let rules = self.namespaced.iter().map(RbacRule::policy_rule).collect();
            objects.role = Some(Role { metadata: self.meta(&self.name, true), rules: Some(rules) });
            objects.role_binding = subject.as_ref().map(|s| RoleBinding {
                metadata: self.meta(&self.name, true),
                role_ref: role_ref("Role", &self.name),
                subjects: Some(vec![s.clone()]),
            });
        }
        if !self.cluster.is_empty() {
            let rules = self.cluster.iter().map(RbacRule::policy_rule).collect();
            objects.cluster_role = Some(ClusterRole {
                metadata: self.meta(&self.name, false),
                rules: Some(rules),
                aggregation_rule: None,
            });
            objects.cluster_role_binding = subject.as_ref().map(|s| ClusterRoleBinding {
                metadata: self.meta(&self.name, false),
                role_ref: role_ref("ClusterRole", &self.name),
                subjects: Some(vec![s.clone()]),
            });
        }
        objects
    }

    /// The objects as YAML documents, in the order they apply.
    pub fn statements(&self) -> Result<Vec<String>> {
        let o = self.objects();
        let mut docs = Vec::new();
        if let Some(x) = &o.service_account {
            docs.push(yaml(x)?);
        }
        if let Some(x) = &o.role {
            docs.push(yaml(x)?);
        }
        if let Some(x) = &o.role_binding {
            docs.push(yaml(x)?);
        }
        if let Some(x) = &o.cluster_role {
            docs.push(yaml(x)?);
        }
        if let Some(x) = &o.cluster_role_binding {
            docs.push(yaml(x)?);
        }
        Ok(docs)
    }

    fn meta(&self, name: &str, namespaced: bool) -> ObjectMeta {
        ObjectMeta {
            name: Some(name.to_owned()),
            namespace: namespaced.then(|| self.namespace.clone()),
            labels: Some(BTreeMap::from([(MANAGED_BY.0.to_owned(), MANAGED_BY.1.to_owned())])),
            ..ObjectMeta::default()
        }
    }
}

/// The objects of one plan, or those of its names that a cluster holds.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RbacObjects {
    /// The ServiceAccount `spec.permissions.role`.
    pub service_account: Option<ServiceAccount>,
    /// The namespaced rules.
    pub role: Option<Role>,
    /// The Role bound to the ServiceAccount.
    pub role_binding: Option<RoleBinding>,
    /// The cluster-wide rules.
    pub cluster_role: Option<ClusterRole>,
    /// The ClusterRole bound to the ServiceAccount.
    pub cluster_role_binding: Option<ClusterRoleBinding>,
}

impl RbacObjects {
    /// One line per grant, comparable between a plan and what a cluster holds: the
    /// ServiceAccount, each rule of the roles and each binding.
    pub fn grants(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(sa) = &self.service_account {
            out.push(format!("ServiceAccount {}", qualified(&sa.metadata)));
        }
        let rules = |out: &mut Vec<String>, kind: &str, meta: &ObjectMeta, rules: &Option<Vec<PolicyRule>>| {
            for r in rules.iter().flatten() {
                out.push(format!("{kind} {}: {}", qualified(meta), describe_rule(r)));
            }
        };
        if let Some(role) = &self.role {
            rules(&mut out, "Role", &role.metadata, &role.rules);
        }
        if let Some(b) = &self.role_binding {
            out.push(format!("RoleBinding {}: {}", qualified(&b.metadata), describe_binding(&b.role_ref, &b.subjects)));
        }
        if let Some(role) = &self.cluster_role {
            rules(&mut out, "ClusterRole", &role.metadata, &role.rules);
        }
        if let Some(b) = &self.cluster_role_binding {
            out.push(format!(
                "ClusterRoleBinding {}: {}",
                qualified(&b.metadata),
                describe_binding(&b.role_ref, &b.subjects)
            ));
        }
        out
    }
}

fn qualified(meta: &ObjectMeta) -> String {
    let name = meta.name.as_deref().unwrap_or_default();
    match &meta.namespace {
        Some(ns) => format!("{ns}/{name}"),
        None => name.to_owned(),
    }
}

/// `get,list on pods,deployments.apps [names: a,b]`.
fn describe_rule(rule: &PolicyRule) -> String {
    let groups = rule.api_groups.clone().unwrap_or_default();
    let mut resources = Vec::new();
    for resource in rule.resources.iter().flatten() {
        if groups.is_empty() {
            resources.push(resource.clone());
        }
        for g in &groups {
            resources.push(if g.is_empty() { resource.clone() } else { format!("{resource}.{g}") });
        }
    }
    let mut line = format!("{} on {}", rule.verbs.join(","), resources.join(","));
    if let Some(names) = rule.resource_names.as_ref().filter(|n| !n.is_empty()) {
        line.push_str(&format!(" [names: {}]", names.join(",")));
    }
    line
}

fn describe_binding(role: &RoleRef, subjects: &Option<Vec<Subject>>) -> String {
    let to: Vec<String> = subjects
        .iter()
        .flatten()
        .map(|s| match &s.namespace {
            Some(ns) => format!("{} {ns}/{}", s.kind, s.name),
            None => format!("{} {}", s.kind, s.name),
        })
        .collect();
    format!("{} {} to {}", role.kind, role.name, if to.is_empty() { "nobody".to_owned() } else { to.join(", ") })
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
    /// The plan's YAML, and the grants the objects of its names hold now. In `declare` mode a
    /// cluster the tool cannot read (or may not read RBAC in) leaves "granted now" empty: the
    /// plan is still printed for someone who may apply it.
    async fn plan(&self) -> Result<PermissionPlan> {
        let plan = self.rbac_plan()?;
        let current = match self.held(&plan).await {
            Ok(held) => held.grants(),
            Err(_) if self.permissions.as_ref().is_some_and(|p| p.mode == PermissionMode::Declare) => Vec::new(),
            Err(e) => return Err(e),
        };
        Ok(PermissionPlan { principal: plan.principal(), statements: plan.statements()?, current })
    }

    /// Applies each object of the plan (server-side apply, field manager `toolkit`), then
    /// deletes the Role, RoleBinding, ClusterRole and ClusterRoleBinding of the tool's name that
    /// the plan no longer holds and toolkit made. The ServiceAccount is never deleted.
    async fn apply(&self, plan: &PermissionPlan) -> Result<()> {
        let rbac = self.rbac_plan()?;
        if plan.principal != rbac.principal() || plan.statements != rbac.statements()? {
            return Err(Error::invalid_input("apply kubernetes permissions")
                .with_context("tool", &self.name)
                .with_context("hint", "the plan differs from what spec.permissions gives now; plan again"));
        }
        let held = self.held(&rbac).await?;
        let want = rbac.objects();
        let client = self.conn.client().await?;
        let ns = rbac.namespace.as_str();
        let apply = PatchParams::apply(FIELD_MANAGER).force();
        let r = async {
            if let Some(o) = &want.service_account {
                self.apply_object(Api::<ServiceAccount>::namespaced(client.clone(), ns), o, &apply).await?;
            }
            if let Some(o) = &want.role {
                self.apply_object(Api::<Role>::namespaced(client.clone(), ns), o, &apply).await?;
            }
            if let Some(o) = &want.role_binding {
                self.apply_object(Api::<RoleBinding>::namespaced(client.clone(), ns), o, &apply).await?;
            }
            if let Some(o) = &want.cluster_role {
                self.apply_object(Api::<ClusterRole>::all(client.clone()), o, &apply).await?;
            }
            if let Some(o) = &want.cluster_role_binding {
                self.apply_object(Api::<ClusterRoleBinding>::all(client.clone()), o, &apply).await?;
            }
            // Bindings go before the roles they name.
            if want.role_binding.is_none() && held.role_binding.as_ref().is_some_and(|o| managed(&o.metadata)) {
                self.delete_object(Api::<RoleBinding>::namespaced(client.clone(), ns), &rbac.name).await?;
            }
            if want.cluster_role_binding.is_none()
                && held.cluster_role_binding.as_ref().is_some_and(|o| managed(&o.metadata))
            {
                self.delete_object(Api::<ClusterRoleBinding>::all(client.clone()), &rbac.name).await?;
            }
            if want.role.is_none() && held.role.as_ref().is_some_and(|o| managed(&o.metadata)) {
                self.delete_object(Api::<Role>::namespaced(client.clone(), ns), &rbac.name).await?;
            }
            if want.cluster_role.is_none() && held.cluster_role.as_ref().is_some_and(|o| managed(&o.metadata)) {
                self.delete_object(Api::<ClusterRole>::all(client.clone()), &rbac.name).await?;
            }
            Ok(())
        }
        .await;
        self.conn.checked(r).await
    }
}

fn managed(meta: &ObjectMeta) -> bool {
    meta.labels.as_ref().and_then(|l| l.get(MANAGED_BY.0)).is_some_and(|v| v == MANAGED_BY.1)
}

/// The kind of a typed object, for messages.
fn kind_of<K: kube::Resource<DynamicType = ()>>() -> String {
    K::kind(&()).into_owned()
}

impl KubeTool {
    /// The objects of the plan's names that the cluster holds now.
    async fn held(&self, plan: &RbacPlan) -> Result<RbacObjects> {
        let client = self.conn.client().await?;
        let ns = plan.namespace.as_str();
        let r = async {
            Ok(RbacObjects {
                service_account: match &plan.service_account {
                    Some(sa) => self.read_object(Api::<ServiceAccount>::namespaced(client.clone(), ns), sa).await?,
                    None => None,
                },
                role: self.read_object(Api::<Role>::namespaced(client.clone(), ns), &plan.name).await?,
                role_binding: self.read_object(Api::<RoleBinding>::namespaced(client.clone(), ns), &plan.name).await?,
                cluster_role: self.read_object(Api::<ClusterRole>::all(client.clone()), &plan.name).await?,
                cluster_role_binding: self
                    .read_object(Api::<ClusterRoleBinding>::all(client.clone()), &plan.name)
                    .await?,
            })
        }
        .await;
        self.conn.checked(r).await
    }

    async fn read_object<K>(&self, api: Api<K>, name: &str) -> Result<Option<K>>
    where
        K: kube::Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
    {
        let action = format!("read {} {name}", kind_of::<K>());
        match tokio::time::timeout(REQUEST_DEADLINE, api.get_opt(name)).await {
            Ok(r) => r.map_err(|e| self.conn.classify(e, &action)),
            Err(_) => Err(self.conn.timeout(&action, REQUEST_DEADLINE)),
        }
    }

    async fn apply_object<K>(&self, api: Api<K>, object: &K, params: &PatchParams) -> Result<()>
    where
        K: kube::Resource<DynamicType = ()> + Clone + serde::Serialize + serde::de::DeserializeOwned + std::fmt::Debug,
    {
        let name = object.meta().name.clone().unwrap_or_default();
        let action = format!("apply {} {name}", kind_of::<K>());
        // Server-side apply needs apiVersion and kind in the body; typed objects omit them.
        let mut body =
            serde_json::to_value(object).map_err(|e| Error::internal(format!("{action}: serialize")).with_source(e))?;
        body["apiVersion"] = K::api_version(&()).into_owned().into();
        body["kind"] = K::kind(&()).into_owned().into();
        match tokio::time::timeout(REQUEST_DEADLINE, api.patch(&name, params, &Patch::Apply(&body))).await {
            Ok(r) => r.map(drop).map_err(|e| self.conn.classify(e, &action)),
            Err(_) => Err(self.conn.timeout(&action, REQUEST_DEADLINE)),
        }
    }

    async fn delete_object<K>(&self, api: Api<K>, name: &str) -> Result<()>
    where
        K: kube::Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
    {
        let action = format!("delete {} {name}", kind_of::<K>());
        match tokio::time::timeout(REQUEST_DEADLINE, api.delete(name, &DeleteParams::default())).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(kube::Error::Api(e))) if e.code == 404 => Ok(()),
            Ok(Err(e)) => Err(self.conn.classify(e, &action)),
            Err(_) => Err(self.conn.timeout(&action, REQUEST_DEADLINE)),
        }
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
