//! The resources calls may name: a fixed table of the common core, apps, batch, networking,
//! RBAC, autoscaling, policy and storage kinds, found by plural, singular, kind or short name.
//! A fixed table needs no discovery round trip and works against servers whose discovery is
//! partial; kinds outside it are refused with the list of known ones.

/// One resource of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResourceInfo {
    /// API group; empty for the core group.
    pub group: &'static str,
    /// API version.
    pub version: &'static str,
    /// Plural name used in URLs.
    pub plural: &'static str,
    /// Kind.
    pub kind: &'static str,
    /// Whether objects live in a namespace.
    pub namespaced: bool,
    /// Short names, as kubectl knows them.
    pub short: &'static [&'static str],
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

    /// Whether `name` (any case) names this resource.
    fn matches(&self, name: &str) -> bool {
        let singular = self.kind.to_ascii_lowercase();
        name == self.plural
            || name == singular
            || self.short.contains(&name)
            || name == format!("{}.{}", self.plural, self.group)
    }
}

const fn r(
    group: &'static str,
    version: &'static str,
    plural: &'static str,
    kind: &'static str,
    namespaced: bool,
    short: &'static [&'static str],
) -> ResourceInfo {
    ResourceInfo { group, version, plural, kind, namespaced, short }
}

/// Every resource calls may name.
pub const RESOURCES: &[ResourceInfo] = &[
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
];

/// The resource `name` names (`pods`, `pod`, `Pod`, `po`, `deployments.apps`).
pub fn find(name: &str) -> Option<&'static ResourceInfo> {
    let name = name.trim().to_ascii_lowercase();
    RESOURCES.iter().find(|r| r.matches(&name))
}

/// The plural names of the table, for error messages.
pub fn known() -> String {
    RESOURCES.iter().map(|r| r.plural).collect::<Vec<_>>().join(", ")
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
    }
}
