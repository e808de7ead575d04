//! Agent calls: `get`, `list`, `describe` and `logs` of any resource the API server lists, as
//! JSON, and, on tools that are not `readOnly`, `apply`, `patch`, `delete`, `scale` and
//! `restart` ([`crate::write`]). Secret values are never returned: a Secret read or written
//! comes back as its metadata, type and key names only.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use kube::core::Request;
use kube::core::params::{GetParams, ListParams};
use kube::core::subresource::LogParams;
use serde_json::{Map, Value, json};
use toolkit_core::connector::{CallLimits, Invocation, InvokeOutput, Invoker};
use toolkit_core::{Error, ErrorKind, Result};

use crate::KubeTool;
use crate::resources::{self, ResourceInfo};

/// What a call asks for, read from its arguments.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Call {
    pub(crate) operation: Operation,
    pub(crate) resource: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) namespace: Option<String>,
    pub(crate) label_selector: Option<String>,
    pub(crate) field_selector: Option<String>,
    pub(crate) container: Option<String>,
    pub(crate) tail_lines: Option<i64>,
    /// The object `apply` sends.
    pub(crate) object: Option<Map<String, Value>>,
    /// The JSON merge patch `patch` sends.
    pub(crate) patch: Option<Map<String, Value>>,
    /// The replica count `scale` sets.
    pub(crate) replicas: Option<i64>,
    /// Whether a write is only checked by the server (`dryRun=All`).
    pub(crate) dry_run: bool,
}

/// The read operations.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Operation {
    /// One object, or a list when no name is given.
    #[default]
    Get,
    /// Objects of a resource.
    List,
    /// One object with its events.
    Describe,
    /// A pod's log.
    Logs,
    /// Server-side apply of `object` (created or updated).
    Apply,
    /// A JSON merge patch of one object.
    Patch,
    /// Deletes one object.
    Delete,
    /// Sets `spec.replicas` of a deployment, statefulset or replicaset.
    Scale,
    /// Restarts the pods of a deployment, statefulset or daemonset, as `kubectl rollout restart`.
    Restart,
}

impl Operation {
    fn parse(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "get" => Ok(Self::Get),
            "list" => Ok(Self::List),
            "describe" => Ok(Self::Describe),
            "logs" | "log" => Ok(Self::Logs),
            "apply" => Ok(Self::Apply),
            "patch" => Ok(Self::Patch),
            "delete" => Ok(Self::Delete),
            "scale" => Ok(Self::Scale),
            "restart" | "rollout-restart" => Ok(Self::Restart),
            other => Err(Error::invalid_input(format!(
                "run `{other}`: kubernetes tools take get, list, describe, logs, apply, patch, delete, scale or restart"
            ))),
        }
    }

    /// Whether it changes the cluster.
    pub(crate) fn writes(self) -> bool {
        matches!(self, Self::Apply | Self::Patch | Self::Delete | Self::Scale | Self::Restart)
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::List => "list",
            Self::Describe => "describe",
            Self::Logs => "logs",
            Self::Apply => "apply",
            Self::Patch => "patch",
            Self::Delete => "delete",
            Self::Scale => "scale",
            Self::Restart => "restart",
        }
    }
}

impl Call {
    /// Reads the arguments of a tool call.
    pub(crate) fn from_arguments(args: &Map<String, Value>) -> Result<Self> {
        let text = |key: &str| -> Result<Option<String>> {
            match args.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
                Some(_) => Err(Error::invalid_input(format!("read argument `{key}`: it must be a string"))),
            }
        };
        let operation = Operation::parse(&text("operation")?.unwrap_or_else(|| "get".into()))?;
        let tail_lines = match args.get("tailLines") {
            None | Some(Value::Null) => None,
            Some(v) => match v.as_i64() {
                Some(n) if n >= 0 => Some(n),
                _ => return Err(Error::invalid_input("read argument `tailLines`: it must be a whole number >= 0")),
            },
        };
        let object = |key: &str| -> Result<Option<Map<String, Value>>> {
            match args.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Object(o)) => Ok(Some(o.clone())),
                Some(_) => Err(Error::invalid_input(format!("read argument `{key}`: it must be a JSON object"))),
            }
        };
        let replicas = match args.get("replicas") {
            None | Some(Value::Null) => None,
            Some(v) => match v.as_i64() {
                Some(n) if (0..=100_000).contains(&n) => Some(n),
                _ => return Err(Error::invalid_input("read argument `replicas`: it must be a whole number from 0")),
            },
        };
        let dry_run = match args.get("dryRun") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(Error::invalid_input("read argument `dryRun`: it must be true or false")),
        };
        let call = Call {
            operation,
            object: object("object")?,
            patch: object("patch")?,
            replicas,
            dry_run,
            resource: text("resource")?,
            name: text("name")?,
            namespace: text("namespace")?,
            label_selector: text("labelSelector")?,
            field_selector: text("fieldSelector")?,
            container: text("container")?,
            tail_lines,
        };
        for (key, value) in [("name", &call.name), ("namespace", &call.namespace), ("container", &call.container)] {
            if let Some(v) = value
                && !is_object_name(v)
            {
                return Err(Error::invalid_input(format!("read argument `{key}`: `{v}` is not an object name")));
            }
        }
        Ok(call)
    }

    /// Reads a session command line: `OPERATION RESOURCE [NAME] [-n NS] [-l SEL] [-c CONTAINER]
    /// [--field-selector SEL] [--tail N]`, or `logs POD` for logs.
    pub(crate) fn from_argv(argv: &[String]) -> Result<Self> {
        let mut args = Map::new();
        let mut positional = Vec::new();
        let mut it = argv.iter();
        while let Some(a) = it.next() {
            let key = match a.as_str() {
                "-n" | "--namespace" => "namespace",
                "-l" | "--selector" => "labelSelector",
                "--field-selector" => "fieldSelector",
                "-c" | "--container" => "container",
                "--tail" => "tailLines",
                "--replicas" => "replicas",
                "--dry-run" => {
                    args.insert("dryRun".into(), json!(true));
                    continue;
                }
                s if s.starts_with('-') => {
                    return Err(Error::invalid_input(format!("read the command: option `{s}` is not known")));
                }
                _ => {
                    positional.push(a.clone());
                    continue;
                }
            };
            let Some(v) = it.next() else {
                return Err(Error::invalid_input(format!("read the command: `{a}` needs a value")));
            };
            let value = if matches!(key, "tailLines" | "replicas") {
                json!(
                    v.parse::<i64>()
                        .map_err(|_| Error::invalid_input(format!("read the command: {a} takes a number")))?
                )
            } else {
                json!(v)
            };
            args.insert(key.into(), value);
        }
        let mut pos = positional.into_iter();
        let Some(op) = pos.next() else {
            return Err(Error::invalid_input("read the command: it is empty (try `get pods`)"));
        };
        args.insert("operation".into(), json!(op));
        let rest: Vec<String> = pos.collect();
        let is_logs = Operation::parse(&op).is_ok_and(|o| o == Operation::Logs);
        match (is_logs, rest.as_slice()) {
            (true, [pod]) => {
                args.insert("name".into(), json!(pod));
            }
            (false, [resource]) => {
                args.insert("resource".into(), json!(resource));
            }
            (false, [resource, name]) => {
                args.insert("resource".into(), json!(resource));
                args.insert("name".into(), json!(name));
            }
            _ => {
                return Err(Error::invalid_input(
                    "read the command: expected `OPERATION RESOURCE [NAME]` (get, list, describe, patch, delete, scale, restart) or `logs POD`",
                ));
            }
        }
        Self::from_arguments(&args)
    }
}

/// Whether `s` can be an object name in a URL path.
pub(crate) fn is_object_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s != "."
        && s != ".."
        && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | ':'))
}

#[async_trait]
impl Invoker for KubeTool {
    async fn invoke(&self, call: Invocation) -> Result<InvokeOutput> {
        let parsed = Call::from_arguments(&call.arguments)?;
        self.run(&parsed, &call.limits).await
    }
}

impl KubeTool {
    /// Runs one read within `limits`.
    pub(crate) async fn run(&self, call: &Call, limits: &CallLimits) -> Result<InvokeOutput> {
        let deadline = Instant::now() + limits.timeout;
        match call.operation {
            op if op.writes() => self.write(call, limits, deadline).await,
            Operation::Logs => self.logs(call, limits, deadline).await,
            _ => {
                let name = call.resource.as_deref().ok_or_else(|| {
                    Error::invalid_input("read the resource: `resource` is required (pods, deployments...)")
                })?;
                let res = self.discovered.resolve(&self.conn, name, remaining(deadline)).await?;
                let res = &res;
                match (call.operation, &call.name) {
                    (Operation::List, Some(_)) => {
                        Err(Error::invalid_input("list objects: `name` does not apply; use get for one object"))
                    }
                    (Operation::Describe, None) => Err(Error::invalid_input("describe an object: `name` is required")),
                    (Operation::Describe, Some(n)) => self.describe(res, n, call, limits, deadline).await,
                    (_, Some(n)) => self.get(res, n, call, limits, deadline).await,
                    (_, None) => self.list(res, call, limits, deadline).await,
                }
            }
        }
    }

    /// The namespace a call addresses: its own, or the tool's.
    pub(crate) fn call_namespace<'a>(&'a self, call: &'a Call) -> &'a str {
        self.namespace_of(call)
    }

    fn namespace_of<'a>(&'a self, call: &'a Call) -> &'a str {
        call.namespace.as_deref().unwrap_or(&self.conn.config.namespace)
    }

    async fn get(
        &self,
        res: &ResourceInfo,
        name: &str,
        call: &Call,
        limits: &CallLimits,
        deadline: Instant,
    ) -> Result<InvokeOutput> {
        let ns = self.namespace_of(call);
        let what = format!("get {} {name}{}", res.plural, in_ns(res, ns));
        let request = Request::new(res.url_path(Some(ns)))
            .get(name, &GetParams::default())
            .map_err(|e| Error::invalid_input(what.clone()).with_source(e))?;
        let object = self.conn.json(request, remaining(deadline), &what).await?;
        let (object, withheld) = clean(object, res);
        let (object, truncated) = fit(object, limits.max_output_bytes);
        let mut out = InvokeOutput::new(object);
        out.truncated = truncated;
        out.metadata.insert("resource".into(), json!(res.plural));
        if withheld {
            out.metadata.insert("secretDataWithheld".into(), json!(true));
        }
        Ok(out)
    }

    async fn list(
        &self,
        res: &ResourceInfo,
        call: &Call,
        limits: &CallLimits,
        deadline: Instant,
    ) -> Result<InvokeOutput> {
        let ns = self.namespace_of(call);
        let what = format!("list {}{}", res.plural, in_ns(res, ns));
        let params = ListParams {
            label_selector: call.label_selector.clone(),
            field_selector: call.field_selector.clone(),
            // One more than the cap tells whether anything was left out.
            limit: Some(u32::try_from(limits.max_rows.saturating_add(1)).unwrap_or(u32::MAX)),
            ..ListParams::default()
        };
        let request = Request::new(res.url_path(Some(ns)))
            .list(&params)
            .map_err(|e| Error::invalid_input(what.clone()).with_source(e))?;
        let answer = self.conn.json(request, remaining(deadline), &what).await?;
        let more = answer.pointer("/metadata/continue").and_then(Value::as_str).is_some_and(|c| !c.is_empty());
        let items = match answer.get("items") {
            Some(Value::Array(items)) => items.clone(),
            Some(Value::Null) | None => Vec::new(),
            Some(_) => return Err(Error::new(ErrorKind::Upstream, format!("{what}: the answer has no item list"))),
        };
        let total = items.len();
        let mut kept = Vec::new();
        let mut bytes = 0usize;
        let mut truncated = more;
        let mut withheld = false;
        for item in items {
            if kept.len() >= limits.max_rows {
                truncated = true;
                break;
            }
            let (item, w) = clean(item, res);
            withheld |= w;
            let size = serde_json::to_string(&item).map_or(0, |s| s.len() + 1);
            if bytes.saturating_add(size) > limits.max_output_bytes {
                truncated = true;
                break;
            }
            bytes += size;
            kept.push(item);
        }
        let count = kept.len();
        let mut content = json!({
            "apiVersion": res.api_version(),
            "kind": format!("{}List", res.kind),
            "resource": res.plural,
            "items": kept,
            "itemCount": count,
            "truncated": truncated,
        });
        if res.namespaced {
            content["namespace"] = json!(ns);
        }
        let mut out = InvokeOutput::new(content);
        out.truncated = truncated;
        out.metadata.insert("rowCount".into(), json!(count));
        out.metadata.insert("itemsReceived".into(), json!(total));
        if withheld {
            out.metadata.insert("secretDataWithheld".into(), json!(true));
        }
        Ok(out)
    }

    async fn describe(
        &self,
        res: &ResourceInfo,
        name: &str,
        call: &Call,
        limits: &CallLimits,
        deadline: Instant,
    ) -> Result<InvokeOutput> {
        let object = self.get(res, name, call, limits, deadline).await?;
        let ns = self.namespace_of(call);
        let events_res = resources::find("events").expect("events are in the table");
        let what = format!("list the events of {} {name}{}", res.plural, in_ns(res, ns));
        let params = ListParams {
            field_selector: Some(format!("involvedObject.name={name},involvedObject.kind={}", res.kind)),
            ..ListParams::default()
        };
        let events = match Request::new(events_res.url_path(Some(ns))).list(&params) {
            Ok(request) => self.conn.json(request, remaining(deadline), &what).await,
            Err(e) => Err(Error::invalid_input(what.clone()).with_source(e)),
        };
        let mut content = json!({"object": object.content});
        let mut truncated = object.truncated;
        match events {
            Ok(answer) => {
                let mut rows: Vec<Value> = answer
                    .get("items")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter(|e| {
                        e.pointer("/involvedObject/name").and_then(Value::as_str) == Some(name)
                            && e.pointer("/involvedObject/kind").and_then(Value::as_str).is_none_or(|k| k == res.kind)
                    })
                    .map(event_row)
                    .collect();
                if rows.len() > limits.max_rows {
                    // The newest events are the ones kept.
                    rows.drain(..rows.len() - limits.max_rows);
                    truncated = true;
                }
                content["events"] = Value::Array(rows);
            }
            // A server without events (or a user who may not list them) still describes the object.
            Err(e) if matches!(e.kind(), ErrorKind::InvalidInput | ErrorKind::Denied) => {
                content["events"] = json!([]);
                content["eventsUnavailable"] = json!(e.message());
            }
            Err(e) => return Err(e),
        }
        let mut out = InvokeOutput::new(content);
        out.truncated = truncated;
        out.metadata = object.metadata;
        Ok(out)
    }

    async fn logs(&self, call: &Call, limits: &CallLimits, deadline: Instant) -> Result<InvokeOutput> {
        if let Some(r) = &call.resource
            && resources::find(r).is_none_or(|r| r.plural != "pods")
        {
            return Err(Error::invalid_input("read logs: they are read from pods (resource: pods)"));
        }
        let Some(pod) = &call.name else {
            return Err(Error::invalid_input("read logs: `name` (the pod) is required"));
        };
        let ns = self.namespace_of(call);
        let what = format!("read the log of pod {pod} in namespace {ns}");
        let params = LogParams {
            container: call.container.clone(),
            tail_lines: call.tail_lines,
            // One byte more than the cap tells whether anything was left out.
            limit_bytes: Some(i64::try_from(limits.max_output_bytes.saturating_add(1)).unwrap_or(i64::MAX)),
            ..LogParams::default()
        };
        let pods = resources::find("pods").expect("pods are in the table");
        let request = Request::new(pods.url_path(Some(ns)))
            .logs(pod, &params)
            .map_err(|e| Error::invalid_input(what.clone()).with_source(e))?;
        let mut text = self.conn.text(request, remaining(deadline), &what).await?;
        let truncated = text.len() > limits.max_output_bytes;
        if truncated {
            let mut cut = limits.max_output_bytes;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
        }
        let mut content =
            json!({"pod": pod, "namespace": ns, "log": text, "bytes": text.len(), "truncated": truncated});
        if let Some(c) = &call.container {
            content["container"] = json!(c);
        }
        let mut out = InvokeOutput::new(content);
        out.truncated = truncated;
        Ok(out)
    }
}

pub(crate) fn in_ns(res: &ResourceInfo, ns: &str) -> String {
    if res.namespaced { format!(" in namespace {ns}") } else { String::new() }
}

pub(crate) fn remaining(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now())
}

const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Strips what agents do not need (managed fields, the last-applied copy of the object) and,
/// for Secrets, everything but metadata, type and key names. Returns whether data was withheld.
pub(crate) fn clean(mut object: Value, res: &ResourceInfo) -> (Value, bool) {
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
        if let Some(Value::Object(ann)) = meta.get_mut("annotations") {
            ann.remove(LAST_APPLIED);
            if ann.is_empty() {
                meta.remove("annotations");
            }
        }
    }
    if res.plural != "secrets" {
        return (object, false);
    }
    let mut keys: Vec<String> = ["data", "stringData"]
        .iter()
        .filter_map(|f| object.get(*f).and_then(Value::as_object))
        .flat_map(|m| m.keys().cloned())
        .collect();
    keys.sort();
    keys.dedup();
    let mut out = Map::new();
    for field in ["apiVersion", "kind", "metadata", "type"] {
        if let Some(v) = object.get(field) {
            out.insert(field.into(), v.clone());
        }
    }
    out.insert("dataKeys".into(), json!(keys));
    out.insert("data".into(), json!("[withheld: secret values are not returned by kubernetes tools]"));
    (Value::Object(out), true)
}

/// An object within `max` bytes of JSON; a larger one is cut to its metadata.
pub(crate) fn fit(object: Value, max: usize) -> (Value, bool) {
    let size = serde_json::to_string(&object).map_or(0, |s| s.len());
    if size <= max {
        return (object, false);
    }
    let mut small = Map::new();
    for field in ["apiVersion", "kind", "metadata"] {
        if let Some(v) = object.get(field) {
            small.insert(field.into(), v.clone());
        }
    }
    small.insert("omitted".into(), json!(format!("the object is {size} bytes of JSON, over the cap of {max}")));
    (Value::Object(small), true)
}

/// The fields of an event that `kubectl describe` shows.
fn event_row(e: &Value) -> Value {
    let pick = |p: &str| e.pointer(p).cloned().unwrap_or(Value::Null);
    json!({
        "type": pick("/type"),
        "reason": pick("/reason"),
        "message": pick("/message"),
        "count": pick("/count"),
        "lastTimestamp": pick("/lastTimestamp"),
        "source": pick("/source/component"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_arguments_and_command_lines() {
        let args = json!({"operation": "logs", "name": "web-1", "tailLines": 5, "container": "main"});
        let call = Call::from_arguments(args.as_object().unwrap()).unwrap();
        assert_eq!((call.operation, call.tail_lines), (Operation::Logs, Some(5)));
        let argv: Vec<String> =
            ["get", "pods", "web-1", "-n", "apps", "-l", "app=web"].iter().map(|s| s.to_string()).collect();
        let call = Call::from_argv(&argv).unwrap();
        assert_eq!(call.resource.as_deref(), Some("pods"));
        assert_eq!(call.name.as_deref(), Some("web-1"));
        assert_eq!(call.namespace.as_deref(), Some("apps"));
        assert_eq!(call.label_selector.as_deref(), Some("app=web"));
        let bad = json!({"operation": "drain", "resource": "nodes"});
        let err = Call::from_arguments(bad.as_object().unwrap()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        let bad = json!({"operation": "get", "resource": "pods", "name": "../x"});
        assert!(Call::from_arguments(bad.as_object().unwrap()).is_err());
        let argv: Vec<String> =
            ["scale", "deploy", "web", "--replicas", "3", "--dry-run"].iter().map(|s| s.to_string()).collect();
        let call = Call::from_argv(&argv).unwrap();
        assert_eq!((call.operation, call.replicas, call.dry_run), (Operation::Scale, Some(3), true));
        for bad in [json!({"operation": "scale", "replicas": -1}), json!({"operation": "apply", "object": "x"})] {
            assert!(Call::from_arguments(bad.as_object().unwrap()).is_err(), "{bad}");
        }
    }

    #[test]
    fn secrets_keep_metadata_and_key_names_only() {
        let secret = json!({
            "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": "s", "managedFields": [{}],
                         "annotations": {LAST_APPLIED: "{\"data\":{\"p\":\"c2VjcmV0\"}}"}},
            "data": {"p": "c2VjcmV0"}, "stringData": {"q": "plain"}
        });
        let (out, withheld) = clean(secret, resources::find("secrets").unwrap());
        assert!(withheld);
        let text = out.to_string();
        assert!(!text.contains("c2VjcmV0") && !text.contains("plain") && !text.contains("managedFields"), "{text}");
        assert_eq!(out["dataKeys"], json!(["p", "q"]));
        assert_eq!(out["metadata"]["name"], "s");
    }

    #[test]
    fn large_objects_are_cut_to_metadata() {
        let big = json!({"kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"x": "y".repeat(1000)}});
        let (out, cut) = fit(big, 200);
        assert!(cut);
        assert!(out.get("data").is_none());
        assert_eq!(out["metadata"]["name"], "c");
    }
}
