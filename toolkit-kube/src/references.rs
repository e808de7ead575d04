//! References a Tool makes to other objects of the cluster, resolved into the fields its
//! connector reads, before the tool is validated:
//!
//! - an `mcp` tool's `spec.mcp.serverRef` names an ark `MCPServer`
//!   (`mcpservers.ark.mckinsey.com`); it becomes the server's URL (its `status.resolvedAddress`,
//!   else its `spec.address`: a value, a ConfigMap key or a Service) and transport;
//! - an `agent` tool named without `spec.agent.url` is reached through the Service that serves
//!   it: the one labelled `toolkit.dev/agent: NAME`, else the Service called `NAME`, on its port
//!   named `mcp` (MCP at `/mcp`), else `http`, else its first port; the annotation
//!   `toolkit.dev/agent-path` sets another path.
//!
//! A reference that does not resolve is an [`Unresolved`] naming the field and the object.

use k8s_openapi::api::core::v1::{ConfigMap, Service};
use kube::api::ListParams;
use kube::core::{ApiResource, DynamicObject};
use kube::{Api, Client};
use serde_json::{Value, json};

use crate::secrets::{Unresolved, api_error};

/// The label that names the agent a Service serves.
pub const AGENT_LABEL: &str = "toolkit.dev/agent";
/// The annotation with the path an agent is served at on its Service.
pub const AGENT_PATH_ANNOTATION: &str = "toolkit.dev/agent-path";

/// The `ApiResource` of ark's `MCPServer`.
pub fn mcp_server_resource() -> ApiResource {
    ApiResource {
        group: "ark.mckinsey.com".into(),
        version: "v1alpha1".into(),
        api_version: "ark.mckinsey.com/v1alpha1".into(),
        kind: "MCPServer".into(),
        plural: "mcpservers".into(),
    }
}

/// Whether the Tool object `tool` (JSON) names objects that [`resolve_references`] reads.
pub fn has_cluster_references(tool: &Value) -> bool {
    match tool.pointer("/spec/type").and_then(Value::as_str) {
        Some("mcp") => tool.pointer("/spec/mcp/serverRef").is_some_and(|r| !r.is_null()),
        Some("agent") => agent_without_url(tool).is_some(),
        _ => false,
    }
}

/// Resolves the in-cluster references of the Tool object `tool` (JSON, of `namespace`) in
/// place; returns one line per reference resolved (empty when it makes none).
pub async fn resolve_references(client: &Client, namespace: &str, tool: &mut Value) -> Result<Vec<String>, Unresolved> {
    match tool.pointer("/spec/type").and_then(Value::as_str) {
        Some("mcp") => {
            let Some(reference) = tool.pointer("/spec/mcp/serverRef").filter(|r| !r.is_null()).cloned() else {
                return Ok(Vec::new());
            };
            let (server, line) = mcp_server(client, namespace, &reference).await?;
            let spec = &mut tool["spec"];
            if let Some(mcp) = spec.get_mut("mcp").and_then(Value::as_object_mut) {
                mcp.remove("serverRef");
                mcp.insert("url".into(), json!(server.url));
                mcp.insert("transport".into(), json!(server.transport));
            }
            if spec.get("timeout").is_none_or(Value::is_null)
                && let Some(t) = server.timeout
            {
                spec["timeout"] = json!(t);
            }
            Ok(vec![line])
        }
        Some("agent") => {
            let Some(name) = agent_without_url(tool) else { return Ok(Vec::new()) };
            let (url, transport) = agent_service(client, namespace, &name).await?;
            let line = format!("spec.agent.name: agent {namespace}/{name} is served at {url}");
            if let Some(agent) = tool.pointer_mut("/spec/agent").and_then(Value::as_object_mut) {
                agent.insert("url".into(), json!(url));
                if let Some(t) = transport {
                    agent.insert("transport".into(), json!(t));
                }
            }
            Ok(vec![line])
        }
        _ => Ok(Vec::new()),
    }
}

fn agent_without_url(tool: &Value) -> Option<String> {
    let agent = tool.pointer("/spec/agent")?;
    if agent.get("url").is_some_and(|u| !u.is_null()) {
        return None;
    }
    agent.get("name").and_then(Value::as_str).filter(|n| !n.trim().is_empty()).map(str::to_owned)
}

/// An MCP server's address as a connector reads it.
struct McpServer {
    url: String,
    transport: &'static str,
    timeout: Option<String>,
}

async fn mcp_server(client: &Client, namespace: &str, reference: &Value) -> Result<(McpServer, String), Unresolved> {
    const AT: &str = "spec.mcp.serverRef";
    let name =
        reference.get("name").and_then(Value::as_str).filter(|n| !n.is_empty()).ok_or_else(|| {
            Unresolved::new("McpServerNotFound", format!("{AT}.name: is required: name the MCPServer"))
        })?;
    let ns = reference.get("namespace").and_then(Value::as_str).filter(|n| !n.is_empty()).unwrap_or(namespace);
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &mcp_server_resource());
    let found = api.get_opt(name).await.map_err(|e| Unresolved::api(AT, &api_error(e, "mcpserver", ns, name)))?;
    let Some(server) = found else {
        return Err(Unresolved::new(
            "McpServerNotFound",
            format!("{AT}: MCPServer {ns}/{name} (ark.mckinsey.com/v1alpha1) does not exist"),
        ));
    };
    let resolved = server.data.pointer("/status/resolvedAddress").and_then(Value::as_str).filter(|a| !a.is_empty());
    let url = match resolved {
        Some(a) => a.to_owned(),
        None => address(client, ns, name, server.data.pointer("/spec/address")).await?,
    };
    let transport = match server.data.pointer("/spec/transport").and_then(Value::as_str) {
        Some("sse") => "sse",
        _ => "streamableHttp",
    };
    let timeout = server.data.pointer("/spec/timeout").and_then(Value::as_str).map(str::to_owned);
    let mut line = format!("{AT}: MCPServer {ns}/{name} is served at {url}");
    if server.data.pointer("/spec/headers").and_then(Value::as_array).is_some_and(|h| !h.is_empty()) {
        line.push_str(" (its headers are not sent: declare the credential in spec.authentication)");
    }
    Ok((McpServer { url, transport, timeout }, line))
}

/// An ark `ValueSource` holding an address: a value, a ConfigMap key or a Service.
async fn address(client: &Client, ns: &str, server: &str, source: Option<&Value>) -> Result<String, Unresolved> {
    let at = format!("MCPServer {ns}/{server} spec.address");
    let source = source.ok_or_else(|| Unresolved::new("McpServerAddressInvalid", format!("{at}: is missing")))?;
    if let Some(v) = source.get("value").and_then(Value::as_str).filter(|v| !v.is_empty()) {
        return Ok(v.to_owned());
    }
    let from = source.get("valueFrom");
    if let Some(r) = from.and_then(|f| f.get("serviceRef")).filter(|r| !r.is_null()) {
        let name = r.get("name").and_then(Value::as_str).unwrap_or_default();
        let svc_ns = r.get("namespace").and_then(Value::as_str).filter(|n| !n.is_empty()).unwrap_or(ns);
        let port =
            r.get("port").and_then(|p| p.as_str().map(str::to_owned).or_else(|| p.as_i64().map(|n| n.to_string())));
        let path = r.get("path").and_then(Value::as_str).unwrap_or_default();
        let svc = service(client, svc_ns, name).await?.ok_or_else(|| {
            Unresolved::new(
                "ServiceNotFound",
                format!("{at}.valueFrom.serviceRef: service {svc_ns}/{name} does not exist"),
            )
        })?;
        let port = service_port(&svc, port.as_deref(), &[])
            .map_err(|m| Unresolved::new("ServicePortNotFound", format!("{at}.valueFrom.serviceRef: {m}")))?;
        return Ok(service_url(svc_ns, name, port.1, path));
    }
    if let Some(r) = from.and_then(|f| f.get("configMapKeyRef")).filter(|r| !r.is_null()) {
        let name = r.get("name").and_then(Value::as_str).unwrap_or_default();
        let key = r.get("key").and_then(Value::as_str).unwrap_or_default();
        let api: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
        let map = api.get_opt(name).await.map_err(|e| Unresolved::api(&at, &api_error(e, "configmap", ns, name)))?;
        return map.and_then(|m| m.data).and_then(|d| d.get(key).cloned()).ok_or_else(|| {
            Unresolved::new(
                "ConfigMapNotFound",
                format!("{at}.valueFrom.configMapKeyRef: configmap {ns}/{name} has no key `{key}`"),
            )
        });
    }
    if from.and_then(|f| f.get("secretKeyRef")).is_some_and(|r| !r.is_null()) {
        return Err(Unresolved::new(
            "McpServerAddressInvalid",
            format!("{at}.valueFrom.secretKeyRef: an address in a Secret is not read; give a value or a serviceRef"),
        ));
    }
    Err(Unresolved::new("McpServerAddressInvalid", format!("{at}: set `value` or `valueFrom`")))
}

/// Where agent `name` of `namespace` is served: the Service labelled for it, else the Service
/// of its name; and the transport, when its port says MCP.
async fn agent_service(
    client: &Client,
    namespace: &str,
    name: &str,
) -> Result<(String, Option<&'static str>), Unresolved> {
    const AT: &str = "spec.agent.name";
    let api: Api<Service> = Api::namespaced(client.clone(), namespace);
    let labelled = api
        .list(&ListParams::default().labels(&format!("{AGENT_LABEL}={name}")))
        .await
        .map_err(|e| Unresolved::api(AT, &api_error(e, "services", namespace, "")))?;
    let svc = match labelled.items.into_iter().next() {
        Some(s) => s,
        None => service(client, namespace, name).await?.ok_or_else(|| {
            Unresolved::new(
                "AgentNotFound",
                format!(
                    "{AT}: no Service serves agent {namespace}/{name}: label the agent's Service \
                     `{AGENT_LABEL}: {name}` (or name it `{name}`), or give spec.agent.url"
                ),
            )
        })?,
    };
    let svc_name = svc.metadata.name.clone().unwrap_or_default();
    let (port_name, port) = service_port(&svc, None, &["mcp", "http"])
        .map_err(|m| Unresolved::new("ServicePortNotFound", format!("{AT}: {m}")))?;
    let annotated = svc.metadata.annotations.as_ref().and_then(|a| a.get(AGENT_PATH_ANNOTATION)).cloned();
    let mcp = port_name.as_deref() == Some("mcp");
    let path = annotated.unwrap_or_else(|| if mcp { "/mcp".into() } else { String::new() });
    Ok((service_url(namespace, &svc_name, port, &path), mcp.then_some("streamableHttp")))
}

async fn service(client: &Client, namespace: &str, name: &str) -> Result<Option<Service>, Unresolved> {
    let api: Api<Service> = Api::namespaced(client.clone(), namespace);
    api.get_opt(name).await.map_err(|e| Unresolved::api("service", &api_error(e, "service", namespace, name)))
}

/// The port of `svc` named (or numbered) `wanted`; without one, the first port named in
/// `preferred`, else the first port.
pub fn service_port(svc: &Service, wanted: Option<&str>, preferred: &[&str]) -> Result<(Option<String>, i32), String> {
    let ns = svc.metadata.namespace.as_deref().unwrap_or_default();
    let name = svc.metadata.name.as_deref().unwrap_or_default();
    let ports = svc.spec.as_ref().and_then(|s| s.ports.as_ref()).map(Vec::as_slice).unwrap_or_default();
    let chosen = match wanted {
        Some(w) => ports.iter().find(|p| p.name.as_deref() == Some(w) || p.port.to_string() == w),
        None => preferred
            .iter()
            .find_map(|n| ports.iter().find(|p| p.name.as_deref() == Some(*n)))
            .or_else(|| ports.first()),
    };
    chosen.map(|p| (p.name.clone(), p.port)).ok_or_else(|| match wanted {
        Some(w) => format!("service {ns}/{name} has no port named `{w}`"),
        None => format!("service {ns}/{name} has no port"),
    })
}

/// The in-cluster HTTP URL of a Service port, with `path` (a leading `/` added when missing).
pub fn service_url(namespace: &str, name: &str, port: i32, path: &str) -> String {
    service_url_with("http", namespace, name, port, path)
}

/// [`service_url`] with another scheme (`grpc`).
pub fn service_url_with(scheme: &str, namespace: &str, name: &str, port: i32, path: &str) -> String {
    let path = if path.is_empty() || path.starts_with('/') { path.to_owned() } else { format!("/{path}") };
    format!("{scheme}://{name}.{namespace}.svc:{port}{path}")
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::{ServicePort, ServiceSpec};
    use kube::api::ObjectMeta;

    use super::*;

    fn svc(ports: &[(&str, i32)]) -> Service {
        Service {
            metadata: ObjectMeta { name: Some("a".into()), namespace: Some("ns".into()), ..ObjectMeta::default() },
            spec: Some(ServiceSpec {
                ports: Some(
                    ports
                        .iter()
                        .map(|(n, p)| ServicePort { name: Some((*n).into()), port: *p, ..ServicePort::default() })
                        .collect(),
                ),
                ..ServiceSpec::default()
            }),
            ..Service::default()
        }
    }

    #[test]
    fn ports_by_name_number_and_preference() {
        let s = svc(&[("metrics", 9090), ("http", 8080), ("mcp", 8000)]);
        assert_eq!(service_port(&s, Some("http"), &[]).unwrap().1, 8080);
        assert_eq!(service_port(&s, Some("8000"), &[]).unwrap().1, 8000);
        assert_eq!(service_port(&s, None, &["mcp", "http"]).unwrap(), (Some("mcp".into()), 8000));
        assert_eq!(service_port(&s, None, &[]).unwrap().1, 9090);
        assert!(service_port(&s, Some("grpc"), &[]).unwrap_err().contains("no port named `grpc`"));
        assert_eq!(service_url("ns", "a", 80, "mcp"), "http://a.ns.svc:80/mcp");
    }

    #[test]
    fn which_tools_reference_the_cluster() {
        assert!(has_cluster_references(&json!({"spec": {"type": "mcp", "mcp": {"serverRef": {"name": "s"}}}})));
        assert!(!has_cluster_references(&json!({"spec": {"type": "mcp", "mcp": {"url": "http://x/mcp"}}})));
        assert!(has_cluster_references(&json!({"spec": {"type": "agent", "agent": {"name": "helper"}}})));
        assert!(!has_cluster_references(
            &json!({"spec": {"type": "agent", "agent": {"name": "h", "url": "http://x"}}})
        ));
        assert!(!has_cluster_references(&json!({"spec": {"type": "http"}})));
    }
}
