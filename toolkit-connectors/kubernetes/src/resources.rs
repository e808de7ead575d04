//! The resources calls may name, found by plural, singular, kind, short name or
//! `plural.group`: first in what the API server's discovery lists (`/api/v1`, `/apis` and the
//! preferred version of each group; custom resources included), kept per tool and asked again
//! when a name is not found (at most every [`REFRESH_FLOOR`]); then in a fixed table of the
//! common kinds, for servers whose discovery is partial or refused.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::Mutex;
use toolkit_core::{Error, Result};

use crate::client::Connection;

/// Discovery is asked again for an unknown name at most this often.
pub const REFRESH_FLOOR: Duration = Duration::from_secs(10);

/// One resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceInfo {
    /// API group; empty for the core group.
    pub group: String,
    /// API version.
    pub version: String,
    /// Plural name used in URLs.
    pub plural: String,
    /// Kind.
    pub kind: String,
    /// Whether objects live in a namespace.
    pub namespaced: bool,
    /// Short names, as kubectl knows them.
    pub short: Vec<String>,
}

impl ResourceInfo {
    /// `v1` or `group/version`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() { self.version.to_owned() } else { format!("{}/{}", self.group, self.version) }
    }

    /// The collection's URL path, in `namespace` when the resource is namespaced and one is given.
    pub fn url_path(&self, namespace: Option<&str>) -> String {
        let base = if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        };
        match namespace.filter(|_| self.namespaced) {
            Some(ns) => format!("{base}/namespaces/{ns}/{}", self.plural),
            None => format!("{base}/{}", self.plural),
        }
    }

    /// Whether `name` (lowercase) names this resource.
    fn matches(&self, name: &str) -> bool {
        name == self.plural
            || name == self.kind.to_ascii_lowercase()
            || self.short.iter().any(|s| s == name)
            || name.strip_prefix(self.plural.as_str()).and_then(|r| r.strip_prefix('.')) == Some(self.group.as_str())
    }
}

type Row = (&'static str, &'static str, &'static str, &'static str, bool, &'static [&'static str]);

/// The kinds known without discovery.
const TABLE: &[Row] = &[
    r("", "v1", "pods", "Pod", true, &["po"]),
    r("", "v1", "services", "Service", true, &["svc"]),
    r("", "v1", "configmaps", "ConfigMap", true, &["cm"]),
    r("", "v1", "secrets", "Secret", true, &[]),
    r("", "v1", "namespaces", "Namespace", false, &["ns"]),
    r("", "v1", "nodes", "Node", false, &["no"]),
    r("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", true, &["pvc"]),
    r("", "v1", "persistentvolumes", "PersistentVolume", false, &["pv"]),
    r("", "v1", "serviceaccounts", "ServiceAccount", true, &["sa"]),
    r("", "v1", "events", "Event", true, &["ev"]),
    r("", "v1", "endpoints", "Endpoints", true, &["ep"]),
    r("", "v1", "resourcequotas", "ResourceQuota", true, &["quota"]),
    r("", "v1", "limitranges", "LimitRange", true, &["limits"]),
    r("", "v1", "replicationcontrollers", "ReplicationController", true, &["rc"]),
    r("apps", "v1", "deployments", "Deployment", true, &["deploy"]),
    r("apps", "v1", "statefulsets", "StatefulSet", true, &["sts"]),
    r("apps", "v1", "daemonsets", "DaemonSet", true, &["ds"]),
    r("apps", "v1", "replicasets", "ReplicaSet", true, &["rs"]),
    r("batch", "v1", "jobs", "Job", true, &[]),
    r("batch", "v1", "cronjobs", "CronJob", true, &["cj"]),
    r("networking.k8s.io", "v1", "ingresses", "Ingress", true, &["ing"]),
    r("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", true, &["netpol"]),
    r("rbac.authorization.k8s.io", "v1", "roles", "Role", true, &[]),
    r("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", true, &[]),
    r("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", false, &[]),
    r("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", false, &[]),
    r("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", true, &["hpa"]),
    r("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", true, &["pdb"]),
    r("storage.k8s.io", "v1", "storageclasses", "StorageClass", false, &["sc"]),
    r("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", false, &["crd", "crds"]),
];

const fn r(
    group: &'static str,
    version: &'static str,
    plural: &'static str,
    kind: &'static str,
    namespaced: bool,
    short: &'static [&'static str],
) -> Row {
    (group, version, plural, kind, namespaced, short)
}

/// The kinds known without discovery.
pub fn builtin() -> &'static [ResourceInfo] {
    static BUILTIN: std::sync::LazyLock<Vec<ResourceInfo>> = std::sync::LazyLock::new(|| {
        TABLE
            .iter()
            .map(|(group, version, plural, kind, namespaced, short)| ResourceInfo {
                group: (*group).into(),
                version: (*version).into(),
                plural: (*plural).into(),
                kind: (*kind).into(),
                namespaced: *namespaced,
                short: short.iter().map(|s| (*s).to_owned()).collect(),
            })
            .collect()
    });
    &BUILTIN
}

/// The resource `name` names among `resources` (`pods`, `pod`, `Pod`, `po`, `deployments.apps`).
pub fn find_in<'a>(resources: &'a [ResourceInfo], name: &str) -> Option<&'a ResourceInfo> {
    let name = name.trim().to_ascii_lowercase();
    resources.iter().find(|r| r.matches(&name))
}

/// The resource `name` names among the kinds known without discovery.
pub fn find(name: &str) -> Option<&'static ResourceInfo> {
    find_in(builtin(), name)
}

/// What one tool's API server lists, kept between calls.
#[derive(Default)]
pub(crate) struct Discovered {
    listed: Mutex<Option<(Instant, Arc<Vec<ResourceInfo>>)>>,
}

impl Discovered {
    /// The resource `name` names: in what discovery listed (discovered on first use), else in
    /// the built-in table, else in what discovery lists when asked again (at most every
    /// [`REFRESH_FLOOR`]: a custom resource created since).
    pub(crate) async fn resolve(&self, conn: &Connection, name: &str, deadline: Duration) -> Result<ResourceInfo> {
        let lower = name.trim().to_ascii_lowercase();
        self.lookup(conn, deadline, name, |r| r.matches(&lower)).await
    }

    /// The resource of objects of `kind` in API `group` (an object's `apiVersion` and `kind`),
    /// found as [`resolve`](Self::resolve) finds names.
    pub(crate) async fn of_kind(
        &self,
        conn: &Connection,
        group: &str,
        kind: &str,
        deadline: Duration,
    ) -> Result<ResourceInfo> {
        let what = if group.is_empty() { kind.to_owned() } else { format!("{kind}.{group}") };
        self.lookup(conn, deadline, &what, |r| r.group == group && r.kind == kind).await
    }

    async fn lookup(
        &self,
        conn: &Connection,
        deadline: Duration,
        what: &str,
        matches: impl Fn(&ResourceInfo) -> bool,
    ) -> Result<ResourceInfo> {
        let mut listed = self.listed.lock().await;
        let mut failure = None;
        if listed.is_none() {
            match discover(conn, deadline).await {
                Ok(resources) => *listed = Some((Instant::now(), Arc::new(resources))),
                Err(e) => failure = Some(e),
            }
        }
        let known = |listed: &Option<(Instant, Arc<Vec<ResourceInfo>>)>| {
            listed.as_ref().and_then(|(_, r)| r.iter().find(|r| matches(r)).cloned())
        };
        if let Some(found) = known(&listed).or_else(|| builtin().iter().find(|r| matches(r)).cloned()) {
            return Ok(found);
        }
        if failure.is_none() && listed.as_ref().is_some_and(|(at, _)| at.elapsed() >= REFRESH_FLOOR) {
            match discover(conn, deadline).await {
                Ok(resources) => *listed = Some((Instant::now(), Arc::new(resources))),
                Err(e) => failure = Some(e),
            }
            if let Some(found) = known(&listed) {
                return Ok(found);
            }
        }
        if let Some(e) = failure {
            return Err(e.with_context("resource", what.to_owned()));
        }
        let mut names: Vec<&str> = listed.iter().flat_map(|(_, r)| r.iter()).map(|r| r.plural.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        Err(Error::invalid_input(format!("read the resource: `{what}` is not a resource of this cluster"))
            .with_context("known", names.join(", ")))
    }
}

/// Every resource the server lists: the core group's, then each group's preferred version's.
async fn discover(conn: &Connection, deadline: Duration) -> Result<Vec<ResourceInfo>> {
    let get = |path: String| async move {
        let request = http::Request::get(path.as_str())
            .body(Vec::new())
            .map_err(|e| Error::internal("build a discovery request").with_source(e))?;
        conn.json(request, deadline, &format!("discover the API ({path})")).await
    };
    let mut out = Vec::new();
    add_resources(&mut out, "", "v1", &get("/api/v1".into()).await?);
    let groups = get("/apis".into()).await?;
    for group in groups.get("groups").and_then(Value::as_array).into_iter().flatten() {
        let Some(name) = group.get("name").and_then(Value::as_str) else { continue };
        let Some(version) = group.pointer("/preferredVersion/version").and_then(Value::as_str) else { continue };
        match get(format!("/apis/{name}/{version}")).await {
            Ok(list) => add_resources(&mut out, name, version, &list),
            // An aggregated API that is down leaves its group out, not the whole discovery.
            Err(e) => tracing::debug!(group = name, "discovery skipped a group: {e}"),
        }
    }
    Ok(out)
}

/// The resources of one `APIResourceList`, without subresources (`pods/log`).
fn add_resources(out: &mut Vec<ResourceInfo>, group: &str, version: &str, list: &Value) {
    for r in list.get("resources").and_then(Value::as_array).into_iter().flatten() {
        let text = |key: &str| r.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
        let plural = text("name");
        if plural.is_empty() || plural.contains('/') {
            continue;
        }
        let short = r.get("shortNames").and_then(Value::as_array).into_iter().flatten();
        out.push(ResourceInfo {
            group: group.to_owned(),
            version: version.to_owned(),
            kind: text("kind"),
            namespaced: r.get("namespaced").and_then(Value::as_bool).unwrap_or(true),
            short: short.filter_map(Value::as_str).map(str::to_owned).collect(),
            plural,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_by_any_name_and_builds_paths() {
        for name in ["pods", "pod", "Pod", "po", "PODS"] {
            assert_eq!(find(name).unwrap().plural, "pods", "{name}");
        }
        let d = find("deployments.apps").unwrap();
        assert_eq!(d.url_path(Some("a")), "/apis/apps/v1/namespaces/a/deployments");
        assert_eq!(d.api_version(), "apps/v1");
        let ns = find("ns").unwrap();
        assert_eq!(ns.url_path(Some("a")), "/api/v1/namespaces");
        assert_eq!(find("cm").unwrap().url_path(None), "/api/v1/configmaps");
        assert!(find("widgets").is_none());
        assert!(find("deployments.").is_none() && find("deployments.batch").is_none());
    }

    #[test]
    fn discovery_lists_resources_without_subresources() {
        let list = serde_json::json!({"resources": [
            {"name": "tools", "kind": "Tool", "namespaced": true, "shortNames": ["tl"]},
            {"name": "tools/status", "kind": "Tool", "namespaced": true},
        ]});
        let mut out = Vec::new();
        add_resources(&mut out, "toolkit.dev", "v1alpha1", &list);
        assert_eq!(out.len(), 1);
        let tool = find_in(&out, "Tool").unwrap();
        assert_eq!(tool.url_path(Some("a")), "/apis/toolkit.dev/v1alpha1/namespaces/a/tools");
        assert!(find_in(&out, "tl").is_some() && find_in(&out, "tools.toolkit.dev").is_some());
    }
}
