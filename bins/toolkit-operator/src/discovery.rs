//! What a `ToolRegistry` holds, and the status that follows: its inline tools and upstream MCP
//! servers (checked as `toolkit validate` checks them), the Services of its namespaces labelled
//! as tools, and the Tools carrying its `discovery.matchLabels`. Everything here is pure; the
//! registry reconciler lists the Services and Tools.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::Service;
use toolkit_core::ConnectorRegistry;
use toolkit_core::model::{
    Condition, MemberSource, RegistryMember, RegistryPhase, ToolPhase, ToolRegistrySpec, ToolRegistryStatus,
};
use toolkit_core::validate::{FieldError, validate_registry, validate_tool};

/// The label that makes a Service a tool.
pub const TOOL_LABEL: &str = "toolkit.dev/tool";
/// Omnia's label for the same.
pub const OMNIA_TOOL_LABEL: &str = "omnia.altairalabs.ai/tool";
/// The spec passes the checks of `toolkit validate`.
pub const VALIDATED: &str = "Validated";
/// At least one tool was found.
pub const TOOLS_DISCOVERED: &str = "ToolsDiscovered";
/// Every tool found is available.
pub const ALL_TOOLS_READY: &str = "AllToolsReady";

/// Annotations read on a tool Service, toolkit's first, then Omnia's.
const NAME_ANNOTATIONS: [&str; 2] = ["toolkit.dev/tool-name", "omnia.altairalabs.ai/tool-name"];
const PATH_ANNOTATIONS: [&str; 2] = ["toolkit.dev/tool-path", "omnia.altairalabs.ai/tool-path"];
const DESCRIPTION_ANNOTATIONS: [&str; 2] = ["toolkit.dev/tool-description", "omnia.altairalabs.ai/tool-description"];
const TYPE_ANNOTATIONS: [&str; 2] = ["toolkit.dev/tool-type", "omnia.altairalabs.ai/tool-type"];

/// The namespaces a registry in `namespace` discovers in.
pub fn namespaces(spec: &ToolRegistrySpec, namespace: &str) -> Vec<String> {
    match &spec.discovery {
        Some(d) if !d.namespaces.is_empty() => d.namespaces.clone(),
        _ => vec![namespace.to_owned()],
    }
}

/// Whether `labels` carry every label of `wanted`.
pub fn carries(labels: Option<&BTreeMap<String, String>>, wanted: &BTreeMap<String, String>) -> bool {
    wanted.iter().all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
}

/// Whether a Service is labelled as a tool (toolkit's label or Omnia's).
pub fn is_tool_service(labels: Option<&BTreeMap<String, String>>) -> bool {
    [TOOL_LABEL, OMNIA_TOOL_LABEL].iter().any(|k| labels.and_then(|l| l.get(*k)).is_some_and(|v| v == "true"))
}

/// The problems of a registry's own spec: its upstreams as the build's importer sees them, and
/// each inline tool, under their field paths.
pub fn problems(spec: &ToolRegistrySpec, connectors: &ConnectorRegistry) -> Vec<FieldError> {
    let mut errs = validate_registry(spec);
    for (i, up) in spec.upstreams.iter().enumerate() {
        let at = format!("spec.upstreams[{i}]");
        match connectors.importer() {
            Some(importer) => errs.extend(importer.validate(up, &at)),
            None => errs.push(FieldError::new(at, "upstream MCP servers are not supported by this build")),
        }
    }
    for (i, tool) in spec.tools.iter().enumerate() {
        for mut e in validate_tool(&tool.spec, connectors) {
            e.path = format!("spec.tools[{i}].{}", e.path);
            errs.push(e);
        }
    }
    errs
}

/// The inline tools and upstreams of `spec`; one with a problem under its path is unavailable.
pub fn declared(spec: &ToolRegistrySpec, problems: &[FieldError]) -> Vec<RegistryMember> {
    let first = |at: &str| problems.iter().find(|p| p.path.starts_with(at)).map(ToString::to_string);
    let inline = spec.tools.iter().enumerate().map(|(i, t)| {
        let message =
            first(&format!("spec.tools[{i}]")).or_else(|| (!t.spec.enabled).then(|| "spec.enabled is false".into()));
        member(&t.name, MemberSource::Inline, None, message)
    });
    let upstreams = spec.upstreams.iter().enumerate().map(|(i, u)| {
        let at = format!("spec.upstreams[{i}]");
        member(&u.name, MemberSource::Upstream, None, first(&at))
    });
    inline.chain(upstreams).collect()
}

fn member(name: &str, source: MemberSource, namespace: Option<&str>, message: Option<String>) -> RegistryMember {
    RegistryMember {
        name: name.to_owned(),
        source,
        namespace: namespace.map(str::to_owned),
        endpoint: None,
        description: None,
        available: message.is_none(),
        message,
    }
}

/// A Service labelled as a tool, reached on the port named `port` (the first when `None`).
pub fn service(svc: &Service, port: Option<&str>) -> RegistryMember {
    let name = svc.metadata.name.clone().unwrap_or_default();
    let namespace = svc.metadata.namespace.clone().unwrap_or_default();
    let annotations = svc.metadata.annotations.as_ref();
    let annotation = |keys: [&str; 2]| keys.iter().find_map(|k| annotations.and_then(|a| a.get(*k)).cloned());
    let mut found = member(
        &annotation(NAME_ANNOTATIONS).unwrap_or_else(|| name.clone()),
        MemberSource::Service,
        Some(&namespace),
        None,
    );
    found.description = annotation(DESCRIPTION_ANNOTATIONS);
    match toolkit_kube::service_port(svc, port, &[]) {
        Ok((_, number)) => {
            let path = annotation(PATH_ANNOTATIONS).unwrap_or_default();
            let scheme = match annotation(TYPE_ANNOTATIONS).as_deref() {
                Some("grpc") => "grpc",
                _ => "http",
            };
            found.endpoint = Some(toolkit_kube::service_url_with(scheme, &namespace, &name, number, &path));
        }
        Err(message) => {
            found.available = false;
            found.message = Some(message);
        }
    }
    found
}

/// A member Tool in `phase`: available when `Ready`.
pub fn tool(name: &str, namespace: &str, phase: Option<ToolPhase>) -> RegistryMember {
    let message = match phase {
        Some(ToolPhase::Ready) => None,
        Some(other) => Some(format!("tool {namespace}/{name} is {other}")),
        None => Some(format!("tool {namespace}/{name} has not been reconciled yet")),
    };
    member(name, MemberSource::Tool, Some(namespace), message)
}

/// The status of a registry that found `members`, with `problems` in its spec, over `old`:
/// conditions keep their transition time while their status stays.
pub fn status(
    old: &ToolRegistryStatus,
    problems: &[FieldError],
    mut members: Vec<RegistryMember>,
    generation: Option<i64>,
    now: DateTime<Utc>,
) -> ToolRegistryStatus {
    members.sort_by(|a, b| (a.source, &a.namespace, &a.name).cmp(&(b.source, &b.namespace, &b.name)));
    let found = u32::try_from(members.len()).unwrap_or(u32::MAX);
    let available = u32::try_from(members.iter().filter(|m| m.available).count()).unwrap_or(u32::MAX);
    let validated = match problems {
        [] => ("True", "Valid", "the spec passes the checks of `toolkit validate`".to_owned()),
        _ => ("False", "FieldInvalid", problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")),
    };
    let discovered = if found == 0 {
        ("False", "NoneFound", "no inline tool, upstream, labelled Service or member Tool".to_owned())
    } else {
        ("True", "Found", count_by_source(&members))
    };
    let unavailable: Vec<String> = members
        .iter()
        .filter(|m| !m.available)
        .take(3)
        .map(|m| format!("{}: {}", m.name, m.message.as_deref().unwrap_or("unavailable")))
        .collect();
    let all_ready = if available == found {
        ("True", "AllAvailable", format!("{available} of {found} available"))
    } else {
        let more = if found - available > 3 { "; ..." } else { "" };
        ("False", "SomeUnavailable", format!("{available} of {found} available; {}{more}", unavailable.join("; ")))
    };
    let phase = if !problems.is_empty() || (found > 0 && available == 0) {
        RegistryPhase::Failed
    } else if available < found {
        RegistryPhase::Degraded
    } else {
        RegistryPhase::Ready
    };
    let condition = |type_: &str, (status, reason, message): (&str, &str, String)| {
        let previous = old.conditions.iter().find(|c| c.type_ == type_);
        Condition {
            type_: type_.to_owned(),
            status: status.to_owned(),
            reason: Some(reason.to_owned()),
            message: Some(message),
            last_transition_time: match previous {
                Some(p) if p.status == status => p.last_transition_time,
                _ => now,
            },
            observed_generation: generation,
        }
    };
    ToolRegistryStatus {
        phase,
        discovered_tools: found,
        available_tools: available,
        tools: members,
        conditions: vec![
            condition(VALIDATED, validated),
            condition(TOOLS_DISCOVERED, discovered),
            condition(ALL_TOOLS_READY, all_ready),
        ],
        observed_generation: generation,
    }
}

fn count_by_source(members: &[RegistryMember]) -> String {
    let mut counts: BTreeMap<MemberSource, usize> = BTreeMap::new();
    for m in members {
        *counts.entry(m.source).or_default() += 1;
    }
    let parts: Vec<String> = counts
        .iter()
        .map(|(source, n)| {
            let what = match source {
                MemberSource::Inline => "inline",
                MemberSource::Upstream => "upstream",
                MemberSource::Service => "service",
                MemberSource::Tool => "member tool",
            };
            format!("{n} {what}")
        })
        .collect();
    format!("{} tools: {}", members.len(), parts.join(", "))
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::{ServicePort, ServiceSpec};
    use kube::api::ObjectMeta;

    use super::*;

    fn svc(labels: &[(&str, &str)], annotations: &[(&str, &str)], ports: &[(&str, i32)]) -> Service {
        let map = |kv: &[(&str, &str)]| Some(kv.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect());
        Service {
            metadata: ObjectMeta {
                name: Some("weather".into()),
                namespace: Some("tools".into()),
                labels: map(labels),
                annotations: map(annotations),
                ..ObjectMeta::default()
            },
            spec: Some(ServiceSpec {
                ports: Some(
                    ports
                        .iter()
                        .map(|(n, p)| ServicePort { name: Some((*n).into()), port: *p, ..ServicePort::default() })
                        .collect(),
                ),
                ..ServiceSpec::default()
            }),
            status: None,
        }
    }

    #[test]
    fn omnia_services_and_named_ports() {
        let s = svc(
            &[(OMNIA_TOOL_LABEL, "true")],
            &[("omnia.altairalabs.ai/tool-path", "/weather"), ("omnia.altairalabs.ai/tool-description", "Weather")],
            &[("metrics", 9090), ("http", 8080)],
        );
        assert!(is_tool_service(s.metadata.labels.as_ref()));
        let first = service(&s, None);
        assert_eq!(first.endpoint.as_deref(), Some("http://weather.tools.svc:9090/weather"));
        assert_eq!(first.description.as_deref(), Some("Weather"));
        let named = service(&s, Some("http"));
        assert_eq!(named.endpoint.as_deref(), Some("http://weather.tools.svc:8080/weather"));
        let missing = service(&s, Some("grpc"));
        assert!(!missing.available);
        assert_eq!(missing.message.as_deref(), Some("service tools/weather has no port named `grpc`"));
        assert!(!is_tool_service(svc(&[(TOOL_LABEL, "false")], &[], &[]).metadata.labels.as_ref()));
    }

    #[test]
    fn phase_follows_availability() {
        let t0 = DateTime::<Utc>::from_timestamp(1_000, 0).unwrap();
        let ready = tool("pg", "tools", Some(ToolPhase::Ready));
        let failed = tool("redis", "tools", Some(ToolPhase::Failed));
        let all = status(&ToolRegistryStatus::default(), &[], vec![ready.clone()], Some(1), t0);
        assert_eq!((all.phase, all.discovered_tools, all.available_tools), (RegistryPhase::Ready, 1, 1));
        let some = status(&all, &[], vec![ready, failed.clone()], Some(1), t0);
        assert_eq!((some.phase, some.available_tools), (RegistryPhase::Degraded, 1));
        assert_eq!(some.conditions[2].status, "False");
        assert!(some.conditions[2].message.as_deref().unwrap().contains("redis: tool tools/redis is Failed"));
        let none = status(&some, &[], vec![failed], Some(1), t0);
        assert_eq!(none.phase, RegistryPhase::Failed);
        let empty = status(&none, &[], Vec::new(), Some(1), t0);
        assert_eq!((empty.phase, empty.conditions[1].status.as_str()), (RegistryPhase::Ready, "False"));
        let invalid = status(&empty, &[FieldError::new("spec.upstreams[0].name", "bad")], Vec::new(), Some(2), t0);
        assert_eq!(invalid.phase, RegistryPhase::Failed);
    }
}
