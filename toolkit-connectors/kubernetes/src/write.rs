//! Writes, on tools that are not `readOnly`: `apply` (server-side apply of an object, field
//! manager `toolkit`, conflicts forced as `kubectl apply --server-side --force-conflicts`
//! does), `patch` (a JSON merge patch), `delete`, `scale` (a merge patch of `spec.replicas`)
//! and `restart` (a merge patch of the pod template's `kubectl.kubernetes.io/restartedAt`, as
//! `kubectl rollout restart`). What the tool's token may do is the server's to decide: a 403 is
//! a `denied` error. `dryRun: true` has the server check a write without making it. The object
//! the server answers comes back as a read would (Secret values withheld).

use std::time::Instant;

use kube::core::Request;
use kube::core::params::{DeleteParams, Patch, PatchParams};
use serde_json::{Value, json};
use toolkit_core::connector::{CallLimits, InvokeOutput};
use toolkit_core::verdict::{Class, Reason, Verdict};
use toolkit_core::{Error, ErrorKind, Result};

use crate::KubeTool;
use crate::invoke::{Call, Operation, clean, fit, in_ns, remaining};
use crate::resources::ResourceInfo;

/// The field manager of server-side applies.
pub const FIELD_MANAGER: &str = "toolkit";

/// The annotation `kubectl rollout restart` sets.
const RESTARTED_AT: &str = "kubectl.kubernetes.io/restartedAt";

/// Resources whose deletion destroys more than one object's worth: a namespace and what is in
/// it, a node, a volume, a resource definition and every object of it.
const DESTRUCTIVE: &[&str] = &["namespaces", "nodes", "persistentvolumes", "customresourcedefinitions"];

/// What a call does, for approvals and `readOnly`: reads and dry runs read; writes write;
/// deleting a namespace, node, volume or resource definition is dangerous.
pub(crate) fn classify(call: &Call) -> Verdict {
    let op = call.operation;
    let (class, rule, message) = if !op.writes() {
        (Class::Read, "kubernetes.read", format!("`{}` reads", op.as_str()))
    } else if call.dry_run {
        (Class::Read, "kubernetes.dry-run", format!("`{}` with dryRun changes nothing", op.as_str()))
    } else if op == Operation::Delete && call.resource.as_deref().is_some_and(destructive) {
        (Class::Dangerous, "kubernetes.delete-destructive", "deleting it destroys everything it holds".to_owned())
    } else {
        (Class::Write, "kubernetes.write", format!("`{}` changes the cluster", op.as_str()))
    };
    Verdict::from_reasons(vec![Reason { class, part: op.as_str().into(), rule, message }])
}

/// Whether `resource` (any name of it) is one whose deletion destroys what it holds.
fn destructive(resource: &str) -> bool {
    let plural = crate::resources::find(resource).map_or_else(|| resource.to_ascii_lowercase(), |r| r.plural.clone());
    let plural = plural.split('.').next().unwrap_or_default();
    DESTRUCTIVE.contains(&plural)
}

impl KubeTool {
    /// Runs one write within `limits`.
    pub(crate) async fn write(&self, call: &Call, limits: &CallLimits, deadline: Instant) -> Result<InvokeOutput> {
        let op = call.operation;
        if self.read_only {
            return Err(Error::new(ErrorKind::Denied, format!("{} on a readOnly kubernetes tool", op.as_str()))
                .with_context("hint", "writes need a tool without readOnly: true"));
        }
        let (res, name, request) = match op {
            Operation::Apply => self.apply_request(call, deadline).await?,
            _ => {
                let resource = call.resource.as_deref().ok_or_else(|| {
                    Error::invalid_input(format!("{} an object: `resource` is required", op.as_str()))
                })?;
                let name = call
                    .name
                    .clone()
                    .ok_or_else(|| Error::invalid_input(format!("{} an object: `name` is required", op.as_str())))?;
                let res = self.discovered.resolve(&self.conn, resource, remaining(deadline)).await?;
                let request = change_request(call, &res, &name, self.call_namespace(call))?;
                (res, name, request)
            }
        };
        let ns = self.call_namespace(call).to_owned();
        let ns = call.object_namespace().unwrap_or(ns);
        let what = format!("{} {} {name}{}", op.as_str(), res.plural, in_ns(&res, &ns));
        let answer = self.conn.json(request, remaining(deadline), &what).await?;
        let (object, withheld) = clean(answer, &res);
        let (object, truncated) = fit(object, limits.max_output_bytes);
        let mut out = InvokeOutput::new(object);
        out.truncated = truncated;
        out.metadata.insert("operation".into(), json!(op.as_str()));
        out.metadata.insert("resource".into(), json!(res.plural));
        if call.dry_run {
            out.metadata.insert("dryRun".into(), json!(true));
        }
        if withheld {
            out.metadata.insert("secretDataWithheld".into(), json!(true));
        }
        Ok(out)
    }

    /// The server-side apply of `object`: its resource from `apiVersion` and `kind`, its name
    /// from `metadata.name`, its namespace from `metadata.namespace`, the call's or the tool's.
    async fn apply_request(
        &self,
        call: &Call,
        deadline: Instant,
    ) -> Result<(ResourceInfo, String, http::Request<Vec<u8>>)> {
        let mut object = call
            .object
            .clone()
            .ok_or_else(|| Error::invalid_input("apply an object: `object` (the manifest, as JSON) is required"))?;
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
        let (Some(api_version), Some(kind)) = (text(object.get("apiVersion")), text(object.get("kind"))) else {
            return Err(Error::invalid_input("apply an object: it needs `apiVersion` and `kind`"));
        };
        let name = text(object.get("metadata").and_then(|m| m.get("name")))
            .filter(|n| crate::invoke::is_object_name(n))
            .ok_or_else(|| Error::invalid_input("apply an object: it needs a valid `metadata.name`"))?;
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version.as_str()));
        let mut res = self.discovered.of_kind(&self.conn, group, &kind, remaining(deadline)).await?;
        res.version = version.to_owned();
        let ns = call.object_namespace().unwrap_or_else(|| self.call_namespace(call).to_owned());
        if res.namespaced
            && let Some(Value::Object(meta)) = object.get_mut("metadata")
        {
            meta.insert("namespace".into(), json!(ns));
        }
        let mut params = PatchParams::apply(FIELD_MANAGER).force();
        params.dry_run = call.dry_run;
        let request = Request::new(res.url_path(Some(&ns)))
            .patch(&name, &params, &Patch::Apply(Value::Object(object)))
            .map_err(|e| Error::invalid_input(format!("apply {kind} {name}")).with_source(e))?;
        Ok((res, name, request))
    }
}

/// The request of a patch, delete, scale or restart of `name` in `ns`.
fn change_request(call: &Call, res: &ResourceInfo, name: &str, ns: &str) -> Result<http::Request<Vec<u8>>> {
    let op = call.operation;
    let url = res.url_path(Some(ns));
    let what = format!("{} {} {name}", op.as_str(), res.plural);
    let built = |r: std::result::Result<http::Request<Vec<u8>>, kube::core::request::Error>| {
        r.map_err(|e| Error::invalid_input(what.clone()).with_source(e))
    };
    let params = PatchParams { dry_run: call.dry_run, ..PatchParams::default() };
    let merge = |patch: Value| built(Request::new(&url).patch(name, &params, &Patch::Merge(patch)));
    match op {
        Operation::Patch => {
            let patch = call
                .patch
                .clone()
                .ok_or_else(|| Error::invalid_input("patch an object: `patch` (a JSON merge patch) is required"))?;
            merge(Value::Object(patch))
        }
        Operation::Delete => {
            let params = DeleteParams { dry_run: call.dry_run, ..DeleteParams::background() };
            built(Request::new(&url).delete(name, &params))
        }
        Operation::Scale => {
            if !(res.group == "apps" && matches!(res.plural.as_str(), "deployments" | "statefulsets" | "replicasets")) {
                return Err(Error::invalid_input(format!(
                    "scale {}: only deployments, statefulsets and replicasets scale",
                    res.plural
                )));
            }
            let replicas =
                call.replicas.ok_or_else(|| Error::invalid_input("scale an object: `replicas` is required"))?;
            merge(json!({"spec": {"replicas": replicas}}))
        }
        Operation::Restart => {
            if !(res.group == "apps" && matches!(res.plural.as_str(), "deployments" | "statefulsets" | "daemonsets")) {
                return Err(Error::invalid_input(format!(
                    "restart {}: only deployments, statefulsets and daemonsets restart",
                    res.plural
                )));
            }
            let now = chrono_now();
            merge(json!({"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: now}}}}}))
        }
        _ => Err(Error::internal(format!("{} is not a change of one object", op.as_str()))),
    }
}

impl Call {
    /// `metadata.namespace` of the object `apply` sends, when it names one.
    fn object_namespace(&self) -> Option<String> {
        let meta = self.object.as_ref()?.get("metadata")?;
        meta.get("namespace").and_then(Value::as_str).filter(|n| crate::invoke::is_object_name(n)).map(str::to_owned)
    }
}

/// Now as RFC 3339 in UTC, seconds precision, as kubectl writes it.
fn chrono_now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(args: Value) -> Call {
        Call::from_arguments(args.as_object().unwrap()).unwrap()
    }

    #[test]
    fn dry_runs_reach_the_server_and_changes_are_merge_patches() {
        let deploy = crate::resources::find("deploy").unwrap();
        let r = change_request(&call(json!({"operation": "delete", "dryRun": true})), deploy, "web", "apps").unwrap();
        assert_eq!(r.method(), "DELETE");
        assert_eq!(r.uri().path(), "/apis/apps/v1/namespaces/apps/deployments/web");
        // A delete's options (and its dry run) ride in its body.
        let body: Value = serde_json::from_slice(r.body()).unwrap();
        assert_eq!(body["dryRun"], json!(["All"]), "{body}");
        assert_eq!(body["propagationPolicy"], "Background");
        let r =
            change_request(&call(json!({"operation": "patch", "patch": {}, "dryRun": true})), deploy, "web", "apps")
                .unwrap();
        assert!(r.uri().query().unwrap_or_default().contains("dryRun=All"), "{}", r.uri());
        let r = change_request(&call(json!({"operation": "scale", "replicas": 2})), deploy, "web", "apps").unwrap();
        assert_eq!(r.method(), "PATCH");
        assert_eq!(r.headers()["content-type"], "application/merge-patch+json");
        assert_eq!(serde_json::from_slice::<Value>(r.body()).unwrap(), json!({"spec": {"replicas": 2}}));
        assert!(r.uri().query().is_none_or(|q| !q.contains("dryRun")));
    }

    #[test]
    fn classes() {
        let class = |v: Value| classify(&call(v)).class;
        assert_eq!(class(json!({"operation": "get", "resource": "pods"})), Class::Read);
        assert_eq!(class(json!({"operation": "patch", "resource": "cm", "name": "a"})), Class::Write);
        assert_eq!(class(json!({"operation": "delete", "resource": "pods", "name": "a"})), Class::Write);
        for r in ["ns", "namespace", "nodes", "pv", "crd", "customresourcedefinitions.apiextensions.k8s.io"] {
            assert_eq!(class(json!({"operation": "delete", "resource": r, "name": "a"})), Class::Dangerous, "{r}");
        }
    }
}
